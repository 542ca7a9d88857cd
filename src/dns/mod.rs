//! DNS: plain values, outcomes, the transport in front of hickory (with its per-server
//! pacing and cap), and the delegation walk. The only folder that imports hickory.

pub mod memo;
pub mod net_error;
pub mod outcome;
pub mod pacing;
pub mod ratelimit;
pub mod tcp;
pub mod transport;
pub mod types;
pub mod update;
pub mod walk;
pub mod world;

pub use net_error::NetError;
pub use outcome::{Brief, Ede, Exchange, Outcome, QueryFlags, Question, Rcode, Reply, TsigError};
pub use transport::{NetOptions, NetTransport, Transport};
pub use types::{Caa, Name, RData, Record, RecordType, Soa};

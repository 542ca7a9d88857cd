//! DNS: plain values, outcomes, the transport in front of hickory, and the delegation walk.

pub mod memo;
pub mod outcome;
pub mod ratelimit;
pub mod tcp;
pub mod transport;
pub mod types;
pub mod update;
pub mod walk;
pub mod world;

pub use outcome::{Ede, Exchange, Outcome, QueryFlags, Question, Rcode, Reply, TsigError};
pub use transport::{NetOptions, NetTransport, Transport};
pub use types::{Caa, Name, RData, Record, RecordType, Soa};

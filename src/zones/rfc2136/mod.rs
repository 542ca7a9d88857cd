//! RFC 2136 dynamic updates signed with TSIG: keys, publishing / removing the TXT value,
//! explaining a refusal, and probing whether a key can write more than it should.
//!
//! No hickory here: the wire part is [`super::update`].
//!
//! The parts: `key.rs` (TSIG keys and the key-file formats), `update.rs` (publishing,
//! removing and explaining one update) and `probe.rs` (the scope probe).

mod key;
mod probe;
mod update;

pub use key::{AlgorithmError, KeyError, Secret, SecretError, TsigAlgorithm, TsigKey};
pub use probe::{probe_scope, ScopeReport, ScopeVerdict};
pub use update::{
    clear_txt, finish_cleanups, maybe_applied, publish_txt, remove_txt, UndoOnDrop, UpdateReport,
};

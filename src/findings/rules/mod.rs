//! The rules, one file per family: pure functions from evidence to findings.
//! No I/O here: the engine gathers the evidence, these judge it.

pub mod chain;
pub mod diagnose;

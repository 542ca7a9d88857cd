//! The rules, one file per family: pure functions from evidence to findings.

pub mod chain;
pub mod diagnose;

//! acme-delegate: set up, prove and troubleshoot ACME DNS-01 CNAME delegation.
//!
//! The engine (everything here but the binary's command line) knows nothing of the
//! terminal: the headless commands and the TUI are two faces of it.

pub mod chain;
pub mod check;
pub mod clients;
pub mod config;
pub mod diagnose;
pub mod dns;
pub mod endpoint;
pub mod files;
pub mod findings;
pub mod memo;
pub mod name;
pub mod plan;
pub mod prove;
pub mod report;
pub mod tui;
pub mod views;
pub mod zones;

//! acme-delegate: set up, prove and troubleshoot ACME DNS-01 CNAME delegation.
//!
//! The engine (everything here but the binary's command line) knows nothing of the
//! terminal: the headless commands and the TUI are two faces of it. Layers, top down
//! (imports point down only):
//!
//! * faces: `tui` (the wizard and the troubleshooter, behind the default `tui` feature;
//!   the command line is the binary's);
//! * [`engine`]: orchestration the faces call: check, diagnose, prove, the live poll;
//! * services: [`zones`] (validation-zone kinds), [`clients`] (issuing-client configs),
//!   [`findings`] (the rules, pure), [`report`] (JSON, Prometheus);
//! * [`dns`]: the only code that knows hickory;
//! * [`model`]: plain data (names, config, the saved plan).

pub mod clients;
pub mod dns;
pub mod engine;
pub mod findings;
pub mod model;
pub mod report;
#[cfg(feature = "tui")]
pub mod tui;
pub mod zones;

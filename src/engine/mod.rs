//! The engine: what the faces (command line, TUI) call. Async, and the only layer that
//! orchestrates DNS questions, validation zones and rules into reports.

pub mod chain;
pub mod check;
pub mod diagnose;
pub mod endpoint;
#[allow(clippy::module_inception)]
pub mod engine;
pub mod events;
pub mod hook;
pub mod lego_probe;
pub mod poll;
pub mod prove;
pub mod setup;
pub mod views;
#[cfg(test)]
mod world_tests;
pub mod write;

pub use engine::{Engine, Run};

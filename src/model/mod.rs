//! Plain data: names in, the config, the saved plan, and the one atomic file write.
//! The bottom layer: it imports nothing else of this crate.

pub mod clock;
pub mod command;
pub mod config;
pub mod files;
pub mod name;
pub mod plan;
pub mod providers;

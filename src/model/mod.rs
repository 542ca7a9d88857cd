//! Plain data: names in, the config, the saved plan, and the one atomic file write.

pub mod clock;
pub mod config;
pub mod files;
pub mod name;
pub mod plan;
pub mod providers;

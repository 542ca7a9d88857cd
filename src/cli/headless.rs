//! The TUI faces in a binary built without the terminal (`--no-default-features`): the
//! wizard and the troubleshooter say so and exit 2; no subcommand prints the summary.

use super::usage;
use acme_delegate::model::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// What the wizard and the troubleshooter say in a headless build.
pub const NO_TERMINAL: &str = "this acme-delegate was built without the terminal (the `tui` feature), which the wizard and the troubleshooter need; use the headless commands (check, diagnose, plan, prove, write, hook), or build it with the default features";

/// Without the TUI, no subcommand prints the summary, as off a terminal.
pub fn interactive() -> bool {
    false
}

pub async fn wizard(
    _config: Config,
    _config_path: Option<PathBuf>,
    _plan_path: Option<PathBuf>,
) -> ExitCode {
    usage(format_args!("wizard: {NO_TERMINAL}"))
}

pub async fn troubleshoot(
    _config: Config,
    _plan_path: Option<PathBuf>,
    _names: Vec<String>,
) -> ExitCode {
    usage(format_args!("troubleshoot: {NO_TERMINAL}"))
}

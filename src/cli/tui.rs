//! The TUI faces: `wizard`, `troubleshoot`, and the wizard when no subcommand is given on
//! a terminal.

use super::usage;
use acme_delegate::engine::diagnose::DiagnoseOptions;
use acme_delegate::model::config::Config;
use acme_delegate::model::plan::Plan;
use acme_delegate::tui::{
    run_troubleshooter, run_wizard, Outcome, TroubleshootOptions, WizardOptions,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Both standard input and output are a terminal (the TUI needs one).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The wizard. An existing plan named with `--plan` opens at the live poll (a new file is
/// where the plan is saved); the default plan, when it exists, is offered for resuming.
pub async fn wizard(
    config: Config,
    config_path: Option<PathBuf>,
    plan_path: Option<PathBuf>,
) -> ExitCode {
    // A --plan FILE that does not exist yet is where the new plan is saved.
    let new_file = plan_path.as_ref().is_some_and(|p| !p.exists());
    let at_poll = plan_path.is_some() && !new_file;
    let plan = if new_file {
        None
    } else {
        match Plan::find(plan_path.clone(), false) {
            Ok(p) => p,
            Err(e) => return usage(e),
        }
    };
    let plan_path = plan_path.or_else(acme_delegate::model::plan::Plan::default_path);
    finish(
        run_wizard(WizardOptions {
            config,
            plan,
            plan_path,
            at_poll,
            mouse: true,
            config_path,
        })
        .await,
    )
}

pub async fn troubleshoot(
    config: Config,
    plan_path: Option<PathBuf>,
    names: Vec<String>,
) -> ExitCode {
    let plan = match Plan::find(plan_path, false) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // A bad name is bad input, as in `check`: what is wrong with it, exit 2.
    if let Err(e) = acme_delegate::model::name::parse_all(&names) {
        return usage(e);
    }
    if names.is_empty() && plan.is_none() {
        return usage(
            "troubleshoot: give the names (acme-delegate troubleshoot NAME...), or make a plan first",
        );
    }
    finish(
        run_troubleshooter(TroubleshootOptions {
            config,
            names,
            plan,
            diagnose: DiagnoseOptions::default(),
            mouse: true,
        })
        .await,
    )
}

fn finish<E: std::fmt::Display>(r: Result<Outcome, E>) -> ExitCode {
    match r {
        Ok(o) => {
            if let Some(s) = o.last_status {
                outln!("{s}");
            }
            for l in &o.summary {
                outln!("{l}");
            }
            ExitCode::from(o.exit_code)
        }
        Err(e) => usage(e),
    }
}

//! Opens the TUI before the command line wires it (`acme-delegate wizard` / `troubleshoot`
//! belong to main.rs):
//!   cargo run --example tui -- wizard [--plan FILE] [--at-poll]
//!   cargo run --example tui -- troubleshoot [--plan FILE] NAME...
//! The config comes from $ACME_DELEGATE_CONFIG or the user config file, as for the binary.

use acme_delegate::config::Config;
use acme_delegate::diagnose::DiagnoseOptions;
use acme_delegate::plan::Plan;
use acme_delegate::tui::{run_troubleshooter, run_wizard, TroubleshootOptions, WizardOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = if args.is_empty() {
        "wizard".to_string()
    } else {
        args.remove(0)
    };
    let mut plan_path: Option<PathBuf> = None;
    let mut at_poll = false;
    let mut names = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--plan" => plan_path = it.next().map(PathBuf::from),
            "--at-poll" => at_poll = true,
            _ => names.push(a),
        }
    }
    let config = match Config::load(None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let plan = plan_path
        .as_ref()
        .filter(|p| p.exists())
        .and_then(|p| Plan::load(p).ok());
    let r = if mode == "troubleshoot" {
        run_troubleshooter(TroubleshootOptions {
            config,
            names,
            plan,
            diagnose: DiagnoseOptions::default(),
            mouse: true,
        })
        .await
    } else {
        run_wizard(WizardOptions {
            config,
            plan,
            plan_path,
            at_poll,
            mouse: true,
        })
        .await
    };
    match r {
        Ok(o) => {
            if let Some(s) = o.last_status {
                println!("{s}");
            }
            ExitCode::from(o.exit_code)
        }
        Err(e) => {
            eprintln!("acme-delegate: {e}");
            ExitCode::from(2)
        }
    }
}

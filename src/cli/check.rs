//! `check` and `diagnose`: names in, the engine's report out (table, JSON, Prometheus).

use super::args::CheckArgs;
use super::{human, usage};
use acme_delegate::engine::check::{exit_code, CheckOptions, Engine};
use acme_delegate::engine::diagnose::DiagnoseOptions;
use acme_delegate::engine::endpoint::check_endpoints;
use acme_delegate::engine::setup;
use acme_delegate::model::config::Config;
use acme_delegate::model::files::write_atomic;
use acme_delegate::model::name::parse_all;
use acme_delegate::report::{prometheus, to_json};
use std::path::PathBuf;
use std::process::ExitCode;

pub async fn run(
    config: Config,
    plan_path: Option<PathBuf>,
    args: CheckArgs,
    diagnose: Option<(DiagnoseOptions, Vec<String>)>,
) -> ExitCode {
    let planned = match setup::load_plan(plan_path, false).await {
        Ok(p) => p
            .map(|p| p.names.into_iter().map(|n| (n.name, n.target)).collect())
            .unwrap_or_default(),
        Err(e) => return usage(e),
    };
    let names = match parse_all(&args.names) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("acme-delegate: {e}");
            return ExitCode::from(2);
        }
    };
    let expect_target = match args.expect_target.as_deref().map(|t| {
        acme_delegate::model::name::parse_target(t).map_err(|e| format!("--expect-target: {e}"))
    }) {
        Some(Err(e)) => {
            eprintln!("acme-delegate: {e}");
            return ExitCode::from(2);
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let command = if diagnose.is_some() {
        "diagnose"
    } else {
        "check"
    };
    let timeout = config.timeout;
    let mut report = {
        let engine = Engine::new(config);
        let check = CheckOptions {
            expect_target,
            planned,
        };
        match diagnose {
            Some((d, endpoints)) => {
                let mut report = engine
                    .diagnose(&names, &DiagnoseOptions { check, ..d })
                    .await;
                check_endpoints(&mut report, &endpoints, &names, timeout * 2).await;
                report
            }
            None => engine.check(&names, &check).await,
        }
    };
    report.settle();
    if let Some(path) = &args.prometheus_textfile {
        let text = prometheus::render(&report, command);
        if let Err(e) = write_atomic(path, text.as_bytes(), 0o644) {
            eprintln!(
                "acme-delegate: cannot write the Prometheus textfile {}: {e}; check that its directory exists and is writable",
                path.display()
            );
            return ExitCode::from(2);
        }
    }
    if args.json {
        println!("{}", to_json(&report));
    } else {
        let style = human::Style::detect();
        if command == "diagnose" {
            print!("{}", human::render_worst_first(&report, style));
        } else {
            print!("{}", human::render(&report, style));
        }
    }
    ExitCode::from(exit_code(&report) as u8)
}

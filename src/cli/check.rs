//! `check` (also `--wait`) and `diagnose`: names in, the engine's report out (table, JSON,
//! Prometheus textfile), with a progress bar or state lines on stderr while it works.

use super::args::{AskResolversArg, CheckArgs};
use super::{fail, human, live, usage_json};
use acme_delegate::engine::check::{AskResolvers, CheckOptions, CheckRequest};
use acme_delegate::engine::diagnose::{DiagnoseOptions, DiagnoseRequest};
use acme_delegate::engine::endpoint::{attach_endpoints, EndpointRequest};
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::poll::PollEnd;
use acme_delegate::engine::views::vantages;
use acme_delegate::engine::Engine;
use acme_delegate::model::config::Config;
use acme_delegate::model::files::{self, write_atomic};
use acme_delegate::model::name::{
    parse_all, parse_input, parse_target, split_names, unique_names, InputName,
};
use acme_delegate::model::plan::Plan;
use acme_delegate::report::{prometheus, Report, Taken, TakenReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The names and check options from the flags and the saved plan.
async fn check_inputs(
    plan_path: Option<PathBuf>,
    args: &CheckArgs,
) -> Result<(Vec<InputName>, CheckOptions), ExitCode> {
    let planned = match Plan::find(plan_path, false) {
        Ok(p) => p
            .map(|p| p.names.into_iter().map(|n| (n.name, n.target)).collect())
            .unwrap_or_default(),
        Err(e) => return Err(usage_json(args.json, e)),
    };
    let mut names = parse_all(&args.names).map_err(|e| usage_json(args.json, e))?;
    if let Some(path) = &args.names_from {
        let listed = names_from(path)
            .await
            .map_err(|e| usage_json(args.json, e))?;
        names = unique_names(names.into_iter().chain(listed).collect());
    }
    let expect_target = match args.expect_target.as_deref() {
        Some(t) => Some(
            parse_target(t).map_err(|e| usage_json(args.json, format!("--expect-target: {e}")))?,
        ),
        None => None,
    };
    Ok((
        names,
        CheckOptions {
            expect_target,
            planned,
            ask_resolvers: match args.ask_resolvers {
                AskResolversArg::Auto => AskResolvers::Auto,
                AskResolversArg::Always => AskResolvers::Always,
            },
        },
    ))
}

/// The names of `--names-from FILE` (`-`: standard input), each checked where it was
/// read: a bad one is named with its line.
async fn names_from(path: &Path) -> color_eyre::eyre::Result<Vec<InputName>> {
    use color_eyre::eyre::eyre;
    let shown = path.display().to_string();
    let path = path.to_path_buf();
    let text = tokio::task::spawn_blocking(move || {
        if path.as_os_str() == "-" {
            files::read_text_at_most(std::io::stdin().lock(), files::MAX_NAMES_BYTES)
        } else {
            files::read_text_at_most(files::open_regular(&path)?, files::MAX_NAMES_BYTES)
        }
    })
    .await
    .map_err(|e| eyre!("--names-from {shown}: {e}"))?
    .map_err(|e| eyre!("--names-from {shown}: {e}"))?;
    let names = split_names(&text)
        .map(|(line, token)| {
            parse_input(token).map_err(|e| eyre!("--names-from {shown} line {line}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        return Err(eyre!(
            "--names-from {shown}: no names in it (one or more per line; # starts a comment)"
        ));
    }
    Ok(names)
}

/// `check`, or `diagnose` when `diagnose` holds its options and the TLS endpoints.
pub async fn run(
    config: Config,
    plan_path: Option<PathBuf>,
    args: CheckArgs,
    diagnose: Option<(DiagnoseOptions, Vec<String>)>,
) -> ExitCode {
    let (names, check) = match check_inputs(plan_path, &args).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let command = if diagnose.is_some() {
        "diagnose"
    } else {
        "check"
    };
    let timeout = config.timeout;
    let bar = live::show_bar(names.len(), args.json);
    let cancel = CancellationToken::new();
    live::cancel_on_signals(cancel.clone());
    let (events, face) = live::progress(bar, names.len());
    let engine = Engine::new(config);
    let report = match diagnose {
        Some((d, endpoints)) => {
            let req = DiagnoseRequest {
                names,
                options: DiagnoseOptions { check, ..d },
            };
            let mut report = engine.diagnose(&req, &cancel, &events).await;
            if !cancel.is_cancelled() {
                let req = EndpointRequest {
                    endpoints,
                    names: req.names,
                    timeout: timeout * 2,
                    at: None,
                };
                let found = engine
                    .check_endpoints(&req, &cancel, &EventSink::none())
                    .await;
                attach_endpoints(&mut report, &found);
            }
            report
        }
        None => {
            let req = CheckRequest {
                names,
                options: check,
            };
            engine.check(&req, &cancel, &events).await
        }
    };
    drop(events);
    if let Some(face) = face {
        let _ = face.await;
    }
    if cancel.is_cancelled() {
        return fail(args.json, live::INTERRUPTED, "interrupted");
    }
    match output(report, &args, command, &engine.config) {
        Ok(report) => {
            let code = ExitCode::from(report.exit_code() as u8);
            // The process ends now: freeing a large report (10,000 names) first is only
            // lost time.
            std::mem::forget(report);
            code
        }
        Err(code) => code,
    }
}

/// `check --wait DURATION`: 0 as soon as every name works from every vantage point, 1
/// when the time runs out (with the last round's report), 130 on a signal.
pub async fn run_wait(
    config: Config,
    plan_path: Option<PathBuf>,
    args: CheckArgs,
    wait: &str,
) -> ExitCode {
    let timeout = match live::parse_wait(wait) {
        Ok(t) => t,
        Err(e) => return usage_json(args.json, e),
    };
    let (names, check) = match check_inputs(plan_path, &args).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(outcome) = live::wait(config.clone(), &names, check, timeout, args.json).await else {
        return fail(args.json, live::INTERRUPTED, "interrupted");
    };
    if outcome.end == PollEnd::TimedOut && !args.json {
        errln!(
            "acme-delegate: not every name works from every vantage point after {} ({} rounds); the last round:",
            wait.trim(),
            outcome.rounds
        );
    }
    // Blind: inconclusive, unless the resolvers' agreeing view shows an error (exit 1).
    let blind_code = match outcome.report.exit_code() {
        1 => 1,
        _ => 3,
    };
    if outcome.end == PollEnd::Blind && !args.json {
        errln!(
            "acme-delegate: the authoritative servers cannot be read from this network, so waiting cannot tell when the delegation works; stopped after round {} ({}):",
            outcome.rounds,
            if blind_code == 1 { "the resolvers show it wrong" } else { "inconclusive" }
        );
    }
    match output(outcome.report, &args, "check", &config) {
        Ok(_) if outcome.end == PollEnd::Works => ExitCode::SUCCESS,
        Ok(_) if outcome.end == PollEnd::Blind => ExitCode::from(blind_code as u8),
        Ok(_) => ExitCode::from(1),
        Err(code) => code,
    }
}

/// Settles `ok`, writes the Prometheus textfile, prints the table or the JSON.
fn output(
    mut report: Report,
    args: &CheckArgs,
    command: &str,
    config: &Config,
) -> Result<Report, ExitCode> {
    report.settle();
    if let Some(path) = &args.prometheus_textfile {
        let text = prometheus::render(&report, command);
        if let Err(e) = write_atomic(path, text.as_bytes(), 0o644) {
            return Err(usage_json(args.json, format!(
                "cannot write the Prometheus textfile {}: {e}; check that its directory exists and is writable",
                path.display()
            )));
        }
    }
    if args.json {
        let taken = Taken::now(
            &vantage_label(args.vantage_label.as_deref()),
            &vantages(config),
        );
        super::out::json(&TakenReport::new(&report, &taken));
    } else {
        let style = human::Style::detect();
        if command == "diagnose" {
            out!("{}", human::render_worst_first(&report, style));
        } else {
            out!("{}", human::render(&report, style));
        }
    }
    Ok(report)
}

/// `--vantage-label`, else the host name (else `unknown`).
pub fn vantage_label(given: Option<&str>) -> String {
    given.map(str::to_string).unwrap_or_else(|| {
        let h = gethostname::gethostname()
            .to_string_lossy()
            .trim()
            .to_string();
        if h.is_empty() {
            "unknown".into()
        } else {
            h
        }
    })
}

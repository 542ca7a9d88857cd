//! `prove`: publish a test TXT at each target, report when each vantage point sees it.

use super::args::ProveArgs;
use super::{kind_label, usage_json};
use acme_delegate::engine::events::{Event, EventSink};
use acme_delegate::engine::prove::{ProveOptions, ProveRequest};
use acme_delegate::engine::Engine;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::{parse_all, InputName};
use acme_delegate::model::plan::{Plan, PlanFileError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub async fn prove(config: Config, plan_path: Option<PathBuf>, args: ProveArgs) -> ExitCode {
    // The signal handlers first: a signal at any moment after this is a cancellation
    // (with the cleanup), never the default action that kills the process with a test TXT
    // published. A second signal stops the cleanup.
    let cancel = acme_delegate::engine::events::CancellationToken::new();
    let abort = acme_delegate::engine::events::CancellationToken::new();
    super::live::cancel_on_signals_twice(cancel.clone(), abort.clone());
    let plan = match Plan::find(plan_path, true) {
        Ok(Some(p)) => p,
        Ok(None) => return usage_json(args.json, PlanFileError::NoPlan),
        Err(e) => return usage_json(args.json, e),
    };
    let wanted: Vec<InputName> = if args.names.is_empty() {
        plan.inputs()
    } else {
        match parse_all(&args.names) {
            Ok(n) => n,
            Err(e) => return usage_json(args.json, e),
        }
    };
    let mut pairs = Vec::new();
    for n in &wanted {
        match plan.target_of(n) {
            Some(p) => pairs.push((n.clone(), p.target.clone())),
            None => {
                return usage_json(
                    args.json,
                    format!(
                        "{} is not in the plan; run `acme-delegate plan` for it first",
                        n.identifier
                    ),
                )
            }
        }
    }
    if !(1..=3600).contains(&args.timeout) {
        return usage_json(args.json, "--timeout must be 1 to 3600 seconds");
    }
    let json = args.json;
    let report = {
        let engine = Engine::new(config);
        let (sink, mut rx) = EventSink::channel();
        let printer = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                // JSON goes to stdout; failures, the cleanup and what it left are still
                // worth a line on stderr.
                if json
                    && !matches!(
                        ev,
                        Event::Failed { .. }
                            | Event::Removing { .. }
                            | Event::Left { .. }
                            | Event::LeftBehind { .. }
                    )
                {
                    continue;
                }
                match ev {
                    Event::Published { name, target } => {
                        errln!("{name}: test TXT published at {target}")
                    }
                    Event::Seen {
                        name,
                        vantage,
                        kind,
                        ms,
                    } => {
                        errln!(
                            "{name}: {} {vantage} sees it after {ms} ms",
                            kind_label(kind)
                        )
                    }
                    Event::Removing { name, target } => {
                        errln!("{name}: removing the test TXT at {target} (a second Ctrl-C stops)")
                    }
                    Event::Removed { name } => errln!("{name}: test TXT removed"),
                    Event::LeftBehind {
                        name,
                        target,
                        command,
                    } => errln!(
                        "{name}: the test TXT at {target} may be left behind; remove it with:\n  {command}"
                    ),
                    Event::Left { name, why } => errln!("{name}: {why}"),
                    Event::Failed { name, error } => errln!("{name}: {error}"),
                    _ => {}
                }
            }
        });
        let opts = ProveOptions {
            timeout: Duration::from_secs(args.timeout),
            ..ProveOptions::default()
        };
        let req = ProveRequest {
            zone: plan.zone.clone(),
            names: pairs,
            options: opts,
            abort,
        };
        let r = engine.prove(&req, &cancel, &sink).await;
        drop(sink);
        let _ = printer.await;
        match r {
            Ok(r) => r,
            Err(e) => return usage_json(args.json, e),
        }
    };
    if json {
        super::print_json(&report);
    } else {
        for n in &report.names {
            outln!(
                "{}  {}  {} -> {}",
                if n.ok { "OK  " } else { "FAIL" },
                n.name,
                n.challenge,
                n.target
            );
            for v in &n.vantages {
                outln!(
                    "  {:<22} {:<5} {:<22} {}",
                    v.vantage,
                    kind_label(v.kind),
                    v.server,
                    match v.seen_after_ms {
                        Some(ms) => format!("seen after {ms} ms"),
                        None => format!(
                            "NOT seen (last: {})",
                            v.last_outcome.clone().unwrap_or_default()
                        ),
                    }
                );
            }
            for f in &n.findings {
                outln!(
                    "  {} {}\n    {}\n    fix: {}",
                    f.severity,
                    f.code,
                    f.evidence,
                    f.fix
                );
            }
            if let Some(cmd) = &n.left_behind {
                outln!("  test TXT may be left behind: remove it with\n    {cmd}");
            } else if n.published {
                outln!("  {}", n.cleanup.words());
            }
        }
    }
    if cancel.is_cancelled() {
        return ExitCode::from(super::live::INTERRUPTED);
    }
    ExitCode::from(report.exit_code() as u8)
}

//! The headless faces of `plan` and `prove`: flags in, engine calls, text or JSON out.

use acme_delegate::dns::Name;
use acme_delegate::engine::check::Engine;
use acme_delegate::engine::prove::{self, ProveEvent, ProveOptions};
use acme_delegate::engine::views::VantageKind;
use acme_delegate::findings::{Finding, Severity};
use acme_delegate::model::config::Config;
use acme_delegate::model::files::write_atomic;
use acme_delegate::model::name::{parse_all, parse_target, InputName};
use acme_delegate::model::plan::{Plan, PlannedName, ZoneSpec};
use acme_delegate::zones::kinds::{open, ValidationZone};
use acme_delegate::zones::rfc2136::TsigKey;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub mod human;
pub mod live;

use super::{PlanArgs, ProveArgs, ZoneKindArg};

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("acme-delegate: {msg}");
    ExitCode::from(2)
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .ok()
}

/// The plan at `--plan`, else the default file if it exists. `required`: a missing plan is
/// an error (exit 2) instead of None.
pub fn load_plan(path: Option<&Path>, required: bool) -> Result<Option<Plan>, ExitCode> {
    let p = match path {
        Some(p) => p.to_path_buf(),
        None => match Plan::default_path().filter(|p| p.exists()) {
            Some(p) => p,
            None if required => return Err(usage(
                "no plan: run `acme-delegate plan --zone ... NAME...` first, or give --plan FILE",
            )),
            None => return Ok(None),
        },
    };
    match Plan::load(&p) {
        Ok(plan) => Ok(Some(plan)),
        Err(e) => Err(usage(e)),
    }
}

fn need<'a>(v: &'a Option<String>, flag: &str, kind: &str) -> Result<&'a str, ExitCode> {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| usage(format!("--zone {kind} needs {flag}")))
}

fn zone_name(s: &str, flag: &str) -> Result<Name, ExitCode> {
    parse_target(s).map_err(|e| usage(format!("{flag}: {e}")))
}

fn spec_from(args: &PlanArgs) -> Result<ZoneSpec, ExitCode> {
    Ok(match args.zone {
        ZoneKindArg::AcmeDns => ZoneSpec::AcmeDns {
            api: need(&args.api, "--api URL", "acme-dns")?.to_string(),
            storage: args.storage.clone(),
            allowfrom: args.allowfrom.clone(),
        },
        ZoneKindArg::Rfc2136 => ZoneSpec::Rfc2136 {
            server: need(&args.server, "--server ADDR", "rfc2136")?.to_string(),
            zone: zone_name(need(&args.domain, "--domain ZONE", "rfc2136")?, "--domain")?,
            key_file: match (&args.key_file, &args.key) {
                (Some(f), _) => f.clone(),
                (None, Some(k)) => store_key(k)?,
                (None, None) => {
                    return Err(usage(
                        "--zone rfc2136 needs --key-file FILE (or --key ALG:NAME:SECRET)",
                    ))
                }
            },
        },
        ZoneKindArg::Provider => ZoneSpec::Provider {
            provider: need(&args.provider, "--provider CODE", "provider")?.to_ascii_lowercase(),
            domain: zone_name(need(&args.domain, "--domain ZONE", "provider")?, "--domain")?,
        },
        ZoneKindArg::Hosted => ZoneSpec::Hosted {
            target: zone_name(need(&args.target, "--target T", "hosted")?, "--target")?,
        },
    })
}

/// Writes a key given as `ALG:NAME:SECRET` into a BIND key file (0600, in a 0700 folder of
/// the user data dir) and returns its path. The secret is validated and never printed.
fn store_key(spec: &str) -> Result<PathBuf, ExitCode> {
    let key = TsigKey::parse_kdig(spec).map_err(|e| usage(format!("--key: {e}")))?;
    let secret = spec.trim().rsplit(':').next().unwrap_or_default();
    let dir = directories::ProjectDirs::from("", "", "acme-delegate")
        .map(|d| d.data_dir().join("keys"))
        .ok_or_else(|| usage("--key: no user data dir to store the key in; use --key-file"))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| usage(format!("--key: cannot create {}: {e}", dir.display())))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    let file: String = key
        .name
        .without_dot()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{file}.key"));
    let text = format!(
        "key \"{}\" {{\n    algorithm {};\n    secret \"{secret}\";\n}};\n",
        key.name.without_dot(),
        key.algorithm.name()
    );
    write_atomic(&path, text.as_bytes(), 0o600)
        .map_err(|e| usage(format!("--key: cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[derive(Serialize)]
struct PlanOut<'a> {
    version: u32,
    kind: &'static str,
    plan_file: String,
    names: Vec<PlanNameOut<'a>>,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct PlanNameOut<'a> {
    name: &'a str,
    challenge: &'a Name,
    target: &'a Name,
    zone: Option<&'a Name>,
    record: String,
    relative_owner: Option<String>,
    zone_line: String,
}

pub fn plan(config: Config, plan_path: Option<PathBuf>, args: PlanArgs) -> ExitCode {
    let names = match parse_all(&args.names) {
        Ok(n) => n,
        Err(e) => return usage(e),
    };
    let spec = match spec_from(&args) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let path = match plan_path.or_else(Plan::default_path) {
        Some(p) => p,
        None => return usage("no config directory for the plan: give --plan FILE"),
    };
    let zone = match open(&spec, config.timeout) {
        Ok(z) => z,
        Err(e) => return usage(e),
    };
    let Some(rt) = runtime() else {
        return usage("cannot start the async runtime");
    };
    let engine = Engine::new(config);
    let result: Result<(Vec<PlannedName>, Vec<Finding>), String> = rt.block_on(async {
        let audit = zone.audit().await;
        if let Some(f) = audit.iter().find(|f| f.code == "ACMEDNS_UNHEALTHY") {
            return Err(format!(
                "{} {}: {}\n  fix: {}",
                f.severity, f.code, f.evidence, f.fix
            ));
        }
        let mut planned = Vec::new();
        for n in &names {
            let target = zone
                .target_for(n)
                .await
                .map_err(|e| format!("{}: {e}", n.identifier))?;
            let walk = engine.walker().zone_of(n.challenge.clone()).await;
            let zone_apex =
                (!walk.unresponsive && !walk.zone.apex.is_root()).then(|| walk.zone.apex.clone());
            planned.push(PlannedName {
                name: n.identifier.clone(),
                challenge: n.challenge.clone(),
                target,
                zone: zone_apex,
            });
        }
        let mut audit = audit;
        if matches!(spec, ZoneSpec::Hosted { .. }) {
            if let Some(p) = planned.first() {
                audit.extend(engine.target_zone_findings(&p.name, &p.target).await);
            }
        }
        Ok((planned, audit))
    });
    let (planned, findings) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("acme-delegate: {e}\nNothing was saved.");
            return ExitCode::from(1);
        }
    };
    let plan = Plan {
        version: 1,
        zone: spec.clone(),
        names: planned,
    };
    if let Err(e) = plan.save(&path) {
        return usage(e);
    }
    if args.json {
        let out = PlanOut {
            version: 1,
            kind: spec.kind(),
            plan_file: path.display().to_string(),
            names: plan
                .names
                .iter()
                .map(|p| PlanNameOut {
                    name: &p.name,
                    challenge: &p.challenge,
                    target: &p.target,
                    zone: p.zone.as_ref(),
                    record: p.fqdn_record(),
                    relative_owner: p.relative_owner(),
                    zone_line: p.zone_line(),
                })
                .collect(),
            findings: &findings,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serialises")
        );
    } else {
        for p in &plan.names {
            println!("{}", p.name);
            match &p.zone {
                Some(z) => println!("  publish in zone {z}:"),
                None => println!(
                    "  publish in the zone that holds {} (it could not be found from here):",
                    p.challenge
                ),
            }
            println!("    {}", p.fqdn_record());
            if let Some(rel) = p.relative_owner() {
                println!("  in a DNS panel that appends the zone, the name is:  {rel}");
                println!(
                    "    (pasting the full name there creates {}{}: the doubled-zone mistake)",
                    p.challenge,
                    p.zone.as_ref().map(|z| z.without_dot()).unwrap_or_default()
                );
            }
            println!("  zone file:  {}", p.zone_line());
            println!();
        }
        for f in &findings {
            println!(
                "{} {}: {}\n  fix: {}",
                f.severity, f.code, f.evidence, f.fix
            );
        }
        println!("plan saved to {}", path.display());
        println!(
            "next: publish the record(s) above, then run `acme-delegate check {}` and `acme-delegate prove`",
            names.iter().map(|n| n.identifier.as_str()).collect::<Vec<_>>().join(" ")
        );
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn prove(config: Config, plan_path: Option<PathBuf>, args: ProveArgs) -> ExitCode {
    let plan = match load_plan(plan_path.as_deref(), true) {
        Ok(Some(p)) => p,
        Ok(None) => return usage("no plan"),
        Err(c) => return c,
    };
    let wanted: Vec<InputName> = if args.names.is_empty() {
        plan.inputs()
    } else {
        match parse_all(&args.names) {
            Ok(n) => n,
            Err(e) => return usage(e),
        }
    };
    let mut pairs = Vec::new();
    for n in &wanted {
        match plan.target_of(n) {
            Some(p) => pairs.push((n.clone(), p.target.clone())),
            None => {
                return usage(format!(
                    "{} is not in the plan; run `acme-delegate plan` for it first",
                    n.identifier
                ))
            }
        }
    }
    if !(1..=3600).contains(&args.timeout) {
        return usage("--timeout must be 1 to 3600 seconds");
    }
    let zone: Arc<dyn ValidationZone> = match open(&plan.zone, config.timeout) {
        Ok(z) => Arc::from(z),
        Err(e) => return usage(e),
    };
    if let Err(e) = zone.publishable() {
        return usage(e);
    }
    let Some(rt) = runtime() else {
        return usage("cannot start the async runtime");
    };
    let json = args.json;
    let report = rt.block_on(async {
        let engine = Engine::new(config);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let printer = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                // JSON goes to stdout; failures are still worth a line on stderr.
                if json && !matches!(ev, ProveEvent::Failed { .. }) {
                    continue;
                }
                match ev {
                    ProveEvent::Published { name, target } => {
                        eprintln!("{name}: test TXT published at {target}")
                    }
                    ProveEvent::Seen {
                        name,
                        vantage,
                        kind,
                        ms,
                    } => {
                        eprintln!(
                            "{name}: {} {vantage} sees it after {ms} ms",
                            kind_label(kind)
                        )
                    }
                    ProveEvent::Removed { name } => eprintln!("{name}: test TXT removed"),
                    ProveEvent::Failed { name, message } => eprintln!("{name}: {message}"),
                }
            }
        });
        let opts = ProveOptions {
            timeout: Duration::from_secs(args.timeout),
            ..ProveOptions::default()
        };
        let cancel = acme_delegate::engine::events::CancellationToken::new();
        live::cancel_on_signals(cancel.clone());
        let r = engine.prove(zone, &pairs, &opts, Some(tx), &cancel).await;
        let _ = printer.await;
        r
    });
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialises")
        );
    } else {
        for n in &report.names {
            println!(
                "{}  {}  {} -> {}",
                if n.ok { "OK  " } else { "FAIL" },
                n.name,
                n.challenge,
                n.target
            );
            for v in &n.vantages {
                println!(
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
                println!(
                    "  {} {}\n    {}\n    fix: {}",
                    f.severity, f.code, f.evidence, f.fix
                );
            }
            if n.published {
                println!(
                    "  test TXT {}",
                    if n.removed {
                        "removed"
                    } else {
                        "NOT removed: delete it by hand"
                    }
                );
            }
        }
    }
    ExitCode::from(prove::exit_code(&report) as u8)
}

fn kind_label(k: VantageKind) -> &'static str {
    match k {
        VantageKind::Authoritative => "auth",
        VantageKind::Resolver => "res",
        VantageKind::System => "sys",
    }
}

//! `plan`: flags in, the engine's plan setup, the records to publish out (text or JSON).

use super::args::{PlanArgs, ZoneKindArg};
use super::{fail, usage_json};
use acme_delegate::dns::Name;
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::setup::{NsAlternative, PlanRequest, SetupError};
use acme_delegate::engine::Engine;
use acme_delegate::findings::{Finding, Severity};
use acme_delegate::model::command::Globals;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::{parse_all, parse_target, InputName};
use acme_delegate::model::plan::{Plan, ZoneSpec};
use acme_delegate::zones::keystore;
use color_eyre::eyre::{eyre, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn need<'a>(v: &'a Option<String>, flag: &str, kind: &str) -> Result<&'a str> {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| eyre!("--zone {kind} needs {flag}"))
}

fn zone_name(s: &str, flag: &str) -> Result<Name> {
    parse_target(s).map_err(|e| eyre!("{flag}: {e}"))
}

/// The kind-specific flags given that `--zone <kind>` does not take.
fn foreign_flags(args: &PlanArgs) -> Vec<&'static str> {
    use ZoneKindArg::*;
    let given: [(&str, bool, &[ZoneKindArg]); 8] = [
        ("--api", args.api.is_some(), &[AcmeDns, Provider]),
        ("--allowfrom", !args.allowfrom.is_empty(), &[AcmeDns]),
        ("--storage", args.storage.is_some(), &[AcmeDns]),
        ("--server", args.server.is_some(), &[Rfc2136]),
        ("--key-file", args.key_file.is_some(), &[Rfc2136, Provider]),
        ("--key", args.key.is_some(), &[Rfc2136, Provider]),
        (
            "--domain",
            args.domain.is_some(),
            &[AcmeDns, Rfc2136, Provider],
        ),
        ("--provider", args.provider.is_some(), &[Provider]),
    ];
    let mut out: Vec<&str> = given
        .iter()
        .filter(|(_, set, kinds)| *set && !kinds.contains(&args.zone))
        .map(|(flag, _, _)| *flag)
        .collect();
    if args.target.is_some() && args.zone != Hosted {
        out.push("--target");
    }
    out
}

fn kind_name(k: ZoneKindArg) -> &'static str {
    match k {
        ZoneKindArg::AcmeDns => "acme-dns",
        ZoneKindArg::Rfc2136 => "rfc2136",
        ZoneKindArg::Provider => "provider",
        ZoneKindArg::Hosted => "hosted",
    }
}

/// What `--zone <kind>` takes, for the message about a foreign flag.
fn kind_flags(k: ZoneKindArg) -> &'static str {
    match k {
        ZoneKindArg::AcmeDns => "--api URL [--allowfrom CIDR]... [--storage DIR]",
        ZoneKindArg::Rfc2136 => {
            "--server ADDR (--key-file FILE | --key ALG:NAME:SECRET) --domain ZONE"
        }
        ZoneKindArg::Provider => "--provider CODE --domain ZONE",
        ZoneKindArg::Hosted => "--target T",
    }
}

/// The zone spec from the flags, and the key file this run created for `--key` (None:
/// none, or an identical one was there already).
async fn spec_from(args: &PlanArgs) -> Result<(ZoneSpec, Option<PathBuf>)> {
    let mut created = None;
    let spec = spec_with_key(args, &mut created).await?;
    Ok((spec, created))
}

async fn spec_with_key(args: &PlanArgs, created: &mut Option<PathBuf>) -> Result<ZoneSpec> {
    let foreign = foreign_flags(args);
    if !foreign.is_empty() {
        return Err(eyre!(
            "{} {} not apply to --zone {}; it takes {}. Remove {}, or choose the zone kind {} belong{} to",
            foreign.join(", "),
            if foreign.len() == 1 { "does" } else { "do" },
            kind_name(args.zone),
            kind_flags(args.zone),
            if foreign.len() == 1 { "it" } else { "them" },
            if foreign.len() == 1 { "it" } else { "they" },
            if foreign.len() == 1 { "s" } else { "" },
        ));
    }
    Ok(match args.zone {
        ZoneKindArg::AcmeDns => ZoneSpec::AcmeDns {
            api: need(&args.api, "--api URL", "acme-dns")?.to_string(),
            storage: args.storage.clone(),
            allowfrom: args.allowfrom.clone(),
            domain: match &args.domain {
                Some(d) => Some(zone_name(d, "--domain")?),
                None => None,
            },
        },
        ZoneKindArg::Rfc2136 => ZoneSpec::Rfc2136 {
            server: need(&args.server, "--server ADDR", "rfc2136")?.to_string(),
            zone: zone_name(need(&args.domain, "--domain ZONE", "rfc2136")?, "--domain")?,
            key_file: match (&args.key_file, &args.key) {
                (Some(f), _) => f.clone(),
                (None, Some(k)) => {
                    let stored = keystore::store_tsig_key(k.clone()).await?;
                    if stored.created {
                        *created = Some(stored.path.clone());
                    }
                    stored.path
                }
                (None, None) => {
                    return Err(eyre!(
                        "--zone rfc2136 needs --key-file FILE (or --key ALG:NAME:SECRET)"
                    ))
                }
            },
        },
        ZoneKindArg::Provider => {
            let provider = acme_delegate::model::providers::known_provider(need(
                &args.provider,
                "--provider CODE",
                "provider",
            )?)?;
            let domain = zone_name(need(&args.domain, "--domain ZONE", "provider")?, "--domain")?;
            let key_file = match (&args.key_file, &args.key) {
                (Some(f), _) => Some(f.clone()),
                (None, Some(k)) => {
                    let stored =
                        keystore::store_api_key(provider.clone(), domain.clone(), k.clone())
                            .await?;
                    if stored.created {
                        *created = Some(stored.path.clone());
                    }
                    Some(stored.path)
                }
                (None, None) => None,
            };
            if args.api.is_some() != key_file.is_some() {
                return Err(eyre!(
                    "--zone provider: give both --api URL and --key-file FILE (or --key KEY) for acme-delegate to write the zone through the API ({}), or neither",
                    acme_delegate::zones::provider::DRIVEN.join(", ")
                ));
            }
            ZoneSpec::Provider {
                provider,
                domain,
                api: args.api.clone(),
                key_file,
            }
        }
        ZoneKindArg::Hosted => ZoneSpec::Hosted {
            target: zone_name(need(&args.target, "--target T", "hosted")?, "--target")?,
        },
    })
}

#[derive(Serialize)]
struct PlanOut<'a> {
    version: u32,
    kind: &'static str,
    plan_file: String,
    /// False when an error finding kept the plan from being saved.
    saved: bool,
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
    /// RFC 2136 only: delegating the challenge name by NS instead of the CNAME.
    #[serde(skip_serializing_if = "Option::is_none")]
    alternative: Option<NsAlternative>,
}

pub async fn plan(config: Config, plan_path: Option<PathBuf>, args: PlanArgs) -> ExitCode {
    let json = args.json;
    let names = match parse_all(&args.names) {
        Ok(n) => n,
        Err(e) => return usage_json(json, e),
    };
    // A key given with --key is stored before the zone can be opened with it; it is
    // removed again (when this run created it) unless the plan is saved.
    let (spec, new_key) = match spec_from(&args).await {
        Ok(s) => s,
        Err(msg) => return usage_json(json, msg),
    };
    let forget_key = |code: ExitCode| {
        if let Some(k) = &new_key {
            let _ = std::fs::remove_file(k);
        }
        code
    };
    let path = match Plan::save_path(plan_path) {
        Ok(p) => p,
        Err(e) => return forget_key(usage_json(json, e)),
    };
    let engine = Engine::new(config);
    let req = PlanRequest {
        zone: spec.clone(),
        names: names.clone(),
    };
    // A signal cancels the plan: the probes' records are deleted (main waits for that)
    // and nothing is saved; the exit status is 130, as for every command.
    let cancel = CancellationToken::new();
    super::live::cancel_on_signals(cancel.clone());
    let outcome = match engine.make_plan(&req, &cancel, &EventSink::none()).await {
        Ok(o) => o,
        Err(SetupError::Cancelled) => {
            return forget_key(fail(json, 130, "interrupted: nothing was saved"))
        }
        Err(e) if e.is_usage() => return forget_key(usage_json(json, e)),
        Err(e) => return forget_key(fail(json, 1, format!("{e}\nNothing was saved."))),
    };
    // The plan records where its acme-dns accounts are (the hook may run elsewhere).
    let spec = outcome.plan.zone.clone();
    let alternatives: Vec<NsAlternative> = outcome
        .plan
        .names
        .iter()
        .filter_map(|p| outcome.ns_alternative(&p.challenge))
        .collect();
    let findings = outcome.findings;
    let ns = alternatives.as_slice();
    // An error finding means nothing is saved, unless --force overrides it (named).
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if !errors.is_empty() && !args.force {
        let codes: Vec<&str> = errors.iter().map(|f| f.code.as_str()).collect();
        if json {
            print_json(&outcome.plan, &spec, ns, None, &findings);
        } else {
            print_text(
                engine.config.source.as_deref(),
                &outcome.plan,
                &spec,
                ns,
                &names,
                None,
                &findings,
            );
        }
        errln!(
            "acme-delegate: nothing was saved: {} (an error); fix it and run plan again, or save anyway with --force",
            codes.join(", ")
        );
        return forget_key(ExitCode::from(1));
    }
    if !errors.is_empty() {
        for f in &errors {
            errln!(
                "acme-delegate: --force: saving the plan despite the error {} ({})",
                f.code.as_str(),
                f.evidence
            );
        }
    }
    let plan = outcome.plan;
    if let Err(e) = plan.save(&path) {
        return forget_key(usage_json(json, e));
    }
    let path = Some(path.as_path());
    if json {
        print_json(&plan, &spec, ns, path, &findings);
    } else {
        print_text(
            engine.config.source.as_deref(),
            &plan,
            &spec,
            ns,
            &names,
            path,
            &findings,
        );
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The NS-delegation alternative `make_plan` gave for a challenge name (RFC 2136).
fn alternative(alternatives: &[NsAlternative], challenge: &Name) -> Option<NsAlternative> {
    alternatives.iter().find(|a| &a.zone == challenge).cloned()
}

fn print_json(
    plan: &Plan,
    spec: &ZoneSpec,
    alternatives: &[NsAlternative],
    path: Option<&Path>,
    findings: &[Finding],
) {
    let out = PlanOut {
        version: 1,
        kind: spec.kind(),
        plan_file: path.map(|p| p.display().to_string()).unwrap_or_default(),
        saved: path.is_some(),
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
                alternative: alternative(alternatives, &p.challenge),
            })
            .collect(),
        findings,
    };
    super::print_json(&out);
}

fn print_text(
    config: Option<&Path>,
    plan: &Plan,
    spec: &ZoneSpec,
    alternatives: &[NsAlternative],
    names: &[InputName],
    path: Option<&Path>,
    findings: &[Finding],
) {
    for p in &plan.names {
        outln!("{}", p.name);
        match &p.zone {
            Some(z) => outln!("  publish in zone {z}:"),
            None => outln!(
                "  publish in the zone that holds {} (it could not be found from here):",
                p.challenge
            ),
        }
        outln!("    {}", p.fqdn_record());
        if let Some([name, mistake]) = p.panel_hint() {
            outln!("  {name}");
            outln!("    {mistake}");
        }
        outln!("  zone file:  {}", p.zone_line());
        if let Some(alt) = alternative(alternatives, &p.challenge) {
            outln!("  or delegate the challenge name by NS (a zone cut):");
            for r in &alt.records {
                outln!("    {r}");
            }
            outln!("    ({})", alt.note);
        }
        outln!();
    }
    for f in findings {
        outln!(
            "{} {}: {}\n  fix: {}",
            f.severity,
            f.code,
            f.evidence,
            f.fix
        );
    }
    let Some(path) = path else {
        outln!("plan NOT saved (an error finding above)");
        return;
    };
    outln!("plan saved to {}", path.display());
    outln!("next: publish the record(s) above, then run:");
    let ids: Vec<&str> = names.iter().map(|n| n.identifier.as_str()).collect();
    for cmd in Globals::new(config, Some(path)).after_plan(spec, &ids) {
        outln!("  {cmd}");
    }
}

//! The headless faces of `write` (issuing-client configs) and `hook certbot-auth|cleanup`.

use acme_delegate::clients::write::{Client, ClientOutput, WriteOptions};
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::hook;
use acme_delegate::engine::write::{self as io, apply, client_files, ClientFiles, FilesRequest};
use acme_delegate::engine::Engine;
use acme_delegate::model::config::Config;
use acme_delegate::model::plan::{Plan, PlanFileError};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::usage;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClientArg {
    Lego,
    Certbot,
    #[value(name = "acme.sh")]
    AcmeSh,
    CertManager,
    Caddy,
    Traefik,
    Certmate,
}

impl ClientArg {
    fn client(self) -> Client {
        match self {
            ClientArg::Lego => Client::Lego,
            ClientArg::Certbot => Client::Certbot,
            ClientArg::AcmeSh => Client::AcmeSh,
            ClientArg::CertManager => Client::CertManager,
            ClientArg::Caddy => Client::Caddy,
            ClientArg::Traefik => Client::Traefik,
            ClientArg::Certmate => Client::CertMate,
        }
    }
}

#[derive(Args)]
pub struct WriteArgs {
    /// The issuing client; repeatable.
    #[arg(long = "client", required = true, value_name = "CLIENT")]
    clients: Vec<ClientArg>,
    /// Put every file under DIR instead of the client's default place.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Show what would be written, with a diff against the files on disk (secrets masked).
    #[arg(long)]
    dry_run: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The ACME account e-mail.
    #[arg(long, value_name = "ADDRESS")]
    email: Option<String>,
    /// The ACME directory URL (default: Let's Encrypt production).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Recursive resolvers (host:port) for clients that take them; repeatable.
    #[arg(long = "resolver", value_name = "HOST:PORT")]
    resolvers: Vec<String>,
    /// The validation zone's servers cannot be reached from where the client runs: skip
    /// the client's own authoritative propagation check (lego --dns.disable-cp, acme.sh
    /// --dnssleep 60).
    #[arg(long)]
    private_zone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    CertbotAuth,
    CertbotCleanup,
}

#[derive(Args)]
pub struct HookArgs {
    /// certbot-auth (--manual-auth-hook) or certbot-cleanup (--manual-cleanup-hook).
    kind: HookKind,
    /// How long the auth hook waits for every authoritative server to serve the TXT.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    timeout: u64,
}

fn plan_path(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(Plan::default_path)
        .unwrap_or_else(|| PathBuf::from("plan.toml"))
}

#[derive(Serialize)]
struct ClientReport<'a> {
    client: Client,
    #[serde(flatten)]
    output: &'a ClientOutput,
}

fn client_reports(outputs: &[(Client, ClientOutput)]) -> Vec<ClientReport<'_>> {
    outputs
        .iter()
        .map(|(c, o)| ClientReport {
            client: *c,
            output: o,
        })
        .collect()
}

pub async fn write(
    config_path: Option<PathBuf>,
    plan_arg: Option<PathBuf>,
    args: WriteArgs,
) -> ExitCode {
    // A signal from here on is caught: the write in progress ends (its temporary file is
    // renamed or removed, never left holding a secret), then the exit status is 130.
    let cancel = CancellationToken::new();
    super::live::cancel_on_signals(cancel.clone());
    let plan = match Plan::find(plan_arg.clone(), true) {
        Ok(Some(p)) => p,
        Ok(None) => return usage(PlanFileError::NoPlan),
        Err(e) => return usage(e),
    };
    let mut opts = WriteOptions::for_plan(&plan_path(plan_arg.as_deref()));
    opts.out = args.out;
    opts.email = args.email;
    opts.server = args.server;
    opts.resolvers = args.resolvers;
    opts.private_zone = args.private_zone;
    opts.config_path = config_path.map(|c| if c.is_absolute() { c } else { opts.cwd.join(c) });
    let now = time::OffsetDateTime::now_utc();
    // Every writer first: a client that cannot do the plan stops before anything is written.
    let req = FilesRequest {
        plan: &plan,
        options: opts.clone(),
        clients: args.clients.iter().map(|c| c.client()).collect(),
        preview: args.dry_run.then_some(now),
    };
    let ClientFiles {
        mut outputs,
        files,
        preview,
    } = match client_files(req) {
        Ok(f) => f,
        Err(e) => return usage(e),
    };
    for (c, o) in outputs.iter_mut() {
        if *c == Client::Lego {
            o.findings
                .extend(acme_delegate::engine::lego_probe::provider_finding(&plan).await);
        }
    }
    for (c, o) in &outputs {
        for f in &o.findings {
            errln!(
                "{c}: {} {}: {}\n  fix: {}",
                f.severity,
                f.code,
                f.evidence,
                f.fix
            );
        }
    }
    if let Some(preview) = preview {
        let pv = match preview {
            Ok(p) => p,
            Err(e) => return usage(e),
        };
        if args.json {
            let reports = client_reports(&outputs);
            let doc = serde_json::json!({ "dry_run": true, "files": pv, "clients": reports });
            outln!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("serialises")
            );
        } else {
            for p in &pv {
                outln!(
                    "{} {} (mode {}{})",
                    action_word(&p.action),
                    p.path.display(),
                    p.mode,
                    if p.secret { ", secret" } else { "" }
                );
                out!("{}", p.diff);
            }
            print_commands(&outputs);
        }
        return ExitCode::SUCCESS;
    }
    if cancel.is_cancelled() {
        errln!("acme-delegate: interrupted: nothing was written");
        return ExitCode::from(super::live::INTERRUPTED);
    }
    // Every path in full before anything is written (a default location is relative to
    // the current folder or the user's home).
    let defaults = opts.out.is_none();
    for f in &files {
        let full = if f.path.is_absolute() {
            f.path.clone()
        } else {
            opts.cwd.join(&f.path)
        };
        errln!(
            "acme-delegate: writing {}{}",
            full.display(),
            if defaults {
                " (default location; --out DIR puts it elsewhere)"
            } else {
                ""
            }
        );
    }
    let applied = tokio::task::spawn_blocking(move || apply(&files, now)).await;
    let written = match applied {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            errln!("acme-delegate: nothing was written: {e}");
            return ExitCode::from(1);
        }
        Err(e) => {
            errln!("acme-delegate: nothing was written: {e}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        let reports = client_reports(&outputs);
        let doc = serde_json::json!({ "written": written, "clients": reports });
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serialises")
        );
    } else {
        for (c, o) in &outputs {
            outln!("{c}:");
            for f in &o.files {
                let w = written.iter().find(|w| w.path == f.path);
                outln!(
                    "  {} {f}",
                    w.map(|w| action_word(&w.action)).unwrap_or("wrote")
                );
                if let Some(io::Action::Replace { backup }) = w.map(|w| &w.action) {
                    outln!("    (the old file is kept as {})", backup.display());
                }
                if let Some(note) = w.and_then(|w| w.note.as_ref()) {
                    outln!("    note: {note}");
                }
            }
        }
        print_commands(&outputs);
    }
    if cancel.is_cancelled() {
        errln!("acme-delegate: interrupted (the files above were written completely)");
        return ExitCode::from(super::live::INTERRUPTED);
    }
    ExitCode::SUCCESS
}

fn action_word(a: &io::Action) -> &'static str {
    match a {
        io::Action::Create => "create",
        io::Action::Unchanged => "unchanged",
        io::Action::Replace { .. } => "replace",
    }
}

fn print_commands(outputs: &[(Client, ClientOutput)]) {
    for (c, o) in outputs {
        outln!("\n{c}: next");
        for cmd in &o.next_commands {
            outln!("  {cmd}");
        }
        for n in &o.notes {
            outln!("  note: {n}");
        }
    }
}

pub async fn hook(config: Config, plan_arg: Option<PathBuf>, args: HookArgs) -> ExitCode {
    let plan = match Plan::find(plan_arg.clone(), true) {
        Ok(Some(p)) => p,
        Ok(None) => return usage(PlanFileError::NoPlan),
        Err(e) => return usage(e),
    };
    let auth = args.kind == HookKind::CertbotAuth;
    let (name, value) = match hook::from_env(|k| std::env::var(k).ok(), auth) {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    let Some(value) = value else {
        // certbot always sets it; without it there is nothing to remove.
        return usage(hook::HookError::NoValidation);
    };
    let req = hook::HookRequest {
        plan,
        plan_shown: plan_path(plan_arg.as_deref()).display().to_string(),
        name,
        value,
        timeout: Duration::from_secs(args.timeout),
    };
    let engine = Engine::new(config);
    let cancel = CancellationToken::new();
    let id = &req.name.identifier;
    let r = if auth {
        super::live::cancel_on_signals(cancel.clone());
        engine
            .hook_auth(&req, &cancel, &EventSink::none())
            .await
            .map(|done| {
                errln!(
                    "{id}: TXT published at {}, served by {}",
                    done.target,
                    done.servers.join(", ")
                )
            })
    } else {
        engine
            .hook_cleanup(&req, &cancel, &EventSink::none())
            .await
            .map(|done| {
                if done.deletes {
                    errln!("{id}: TXT removed from {}", done.target)
                } else {
                    errln!(
                        "{id}: the TXT at {}: {}",
                        done.target,
                        acme_delegate::zones::acme_dns::VALUE_STAYS
                    )
                }
            })
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_usage() => usage(e),
        Err(e @ hook::HookError::Cancelled { .. }) => {
            errln!("acme-delegate hook: {e}");
            ExitCode::from(super::live::INTERRUPTED)
        }
        Err(e) => {
            errln!("acme-delegate hook: {e}");
            ExitCode::from(1)
        }
    }
}

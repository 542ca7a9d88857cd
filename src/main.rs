//! The command line: parse (clap), install color-eyre, dispatch to a face of the engine.

mod faces;

use acme_delegate::check::{exit_code, CheckOptions, Engine};
use acme_delegate::config::Config;
use acme_delegate::diagnose::DiagnoseOptions;
use acme_delegate::endpoint::check_endpoint;
use acme_delegate::files::write_atomic;
use acme_delegate::findings::{Finding, Severity};
use acme_delegate::name::parse_all;
use acme_delegate::report::{human, prometheus, write_json, Report};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

const EXIT_CODES: &str = "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached";

#[derive(Parser)]
#[command(
    name = "acme-delegate",
    version,
    about = "Set up, prove and troubleshoot ACME DNS-01 CNAME delegation",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Config file (TOML); else $ACME_DELEGATE_CONFIG, else the user config file, else defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The saved plan (expected targets, the validation zone); default: plan.toml in the
    /// user config dir, when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    plan: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the _acme-challenge CNAME of each NAME from every authoritative server and
    /// every resolver.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Troubleshoot a failing renewal: everything `check` does, plus DNSSEC, CAA, wildcard
    /// capture, stale TXT, TTLs, acme-dns limits and the issuing client's config.
    #[command(after_help = EXIT_CODES)]
    Diagnose(DiagnoseArgs),
    /// Choose the validation zone and compute the exact CNAME to publish for every NAME;
    /// the plan is saved for check, diagnose and prove.
    Plan(PlanArgs),
    /// Prove the delegation: publish a test TXT at each target, wait until every
    /// authoritative server and then every resolver sees it through the CNAME, remove it.
    #[command(after_help = PROVE_EXIT_CODES)]
    Prove(ProveArgs),
}

const PROVE_EXIT_CODES: &str = "\
Exit status:
  0  every vantage point saw every test TXT through the CNAME
  1  a test TXT could not be published, or some vantage point never saw it
  2  bad input or usage (no plan, a kind that cannot publish, ...)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ZoneKindArg {
    #[value(name = "acme-dns")]
    AcmeDns,
    Rfc2136,
    Provider,
    Hosted,
}

#[derive(Args)]
struct PlanArgs {
    /// The kind of validation zone.
    #[arg(long, value_enum)]
    zone: ZoneKindArg,
    /// acme-dns: the API base URL.
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// acme-dns: CIDRs allowed to update (repeatable).
    #[arg(long, value_name = "CIDR")]
    allowfrom: Vec<String>,
    /// acme-dns: the directory for the account files (default: the user data dir).
    #[arg(long, value_name = "DIR")]
    storage: Option<PathBuf>,
    /// rfc2136: the primary server to send updates to (ip:port).
    #[arg(long, value_name = "ADDR")]
    server: Option<String>,
    /// rfc2136: the TSIG key file (BIND or knot format).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    key_file: Option<PathBuf>,
    /// rfc2136: the TSIG key as ALG:NAME:SECRET (kdig -y form); it is stored in a 0600 key
    /// file in the user data dir, which the plan names. Prefer --key-file: a secret on a
    /// command line is visible to other users of this machine.
    #[arg(long, value_name = "ALG:NAME:SECRET")]
    key: Option<String>,
    /// rfc2136 and provider: the validation zone (e.g. acme.example.net).
    #[arg(long, value_name = "ZONE")]
    domain: Option<String>,
    /// provider: lego's provider code (e.g. cloudflare).
    #[arg(long, value_name = "CODE")]
    provider: Option<String>,
    /// hosted: the target the service gave you.
    #[arg(long, value_name = "T")]
    target: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Host names or wildcards.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
}

#[derive(Args)]
struct ProveArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Names to prove (default: every name of the plan).
    #[arg(value_name = "NAME")]
    names: Vec<String>,
}

#[derive(Args)]
struct DiagnoseArgs {
    #[command(flatten)]
    check: CheckArgs,
    /// The CA's CAA issuer domain.
    #[arg(long, default_value = "letsencrypt.org", value_name = "DOMAIN")]
    ca: String,
    /// An issuing client's config (lego .env, certbot renewal conf, acme.sh domain conf,
    /// cert-manager Issuer YAML, Caddyfile, Traefik static config); repeatable.
    #[arg(long = "client-config", value_name = "PATH")]
    client_configs: Vec<PathBuf>,
    /// A TLS endpoint serving the certificate (HOST:PORT): expiry and names are checked.
    #[arg(long, value_name = "HOST:PORT")]
    endpoint: Vec<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// Print one JSON document (see docs/json.md) instead of the table.
    #[arg(long)]
    json: bool,
    /// The CNAME target every NAME must reach (e.g. d420c923.auth.acme-dns.io).
    #[arg(long, value_name = "T")]
    expect_target: Option<String>,
    /// Also write a Prometheus node_exporter textfile (atomically) for cron monitoring.
    #[arg(long, value_name = "PATH")]
    prometheus_textfile: Option<PathBuf>,
    /// Host names or wildcards (*.example.com is checked at _acme-challenge.example.com).
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
}

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("warning: cannot install the error reporter: {e}");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ACME_DELEGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("acme-delegate: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        None => {
            println!(
                "config: {}\nroots: {}\nresolvers: {}\nsystem: {}\n\nRun `acme-delegate check NAME...` (see --help).",
                config
                    .source
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "built-in defaults".into()),
                config.roots.len(),
                config
                    .resolvers
                    .iter()
                    .map(|r| format!("{} ({})", r.name, r.address))
                    .collect::<Vec<_>>()
                    .join(", "),
                config
                    .system
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ExitCode::SUCCESS
        }
        Some(Command::Plan(args)) => faces::plan(config, cli.plan, args),
        Some(Command::Prove(args)) => faces::prove(config, cli.plan, args),
        Some(Command::Check(args)) => run(config, cli.plan, args, None),
        Some(Command::Diagnose(d)) => {
            let opts = DiagnoseOptions {
                ca: d.ca.trim().trim_end_matches('.').to_ascii_lowercase(),
                client_configs: d.client_configs,
                ..DiagnoseOptions::default()
            };
            run(config, cli.plan, d.check, Some((opts, d.endpoint)))
        }
    }
}

fn run(
    config: Config,
    plan_path: Option<PathBuf>,
    args: CheckArgs,
    diagnose: Option<(DiagnoseOptions, Vec<String>)>,
) -> ExitCode {
    let planned = match faces::load_plan(plan_path.as_deref(), false) {
        Ok(p) => p
            .map(|p| p.names.into_iter().map(|n| (n.name, n.target)).collect())
            .unwrap_or_default(),
        Err(code) => return code,
    };
    let names = match parse_all(&args.names) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("acme-delegate: {e}");
            return ExitCode::from(2);
        }
    };
    let expect_target =
        match args.expect_target.as_deref().map(|t| {
            acme_delegate::name::parse_target(t).map_err(|e| format!("--expect-target: {e}"))
        }) {
            Some(Err(e)) => {
                eprintln!("acme-delegate: {e}");
                return ExitCode::from(2);
            }
            Some(Ok(t)) => Some(t),
            None => None,
        };
    // One thread: the work is waiting on the network; measured in the lab's bench, a second
    // worker costs more CPU in wake-ups (futex, context switches) than it saves, and the
    // name servers need those cores.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("acme-delegate: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let command = if diagnose.is_some() {
        "diagnose"
    } else {
        "check"
    };
    let timeout = config.timeout;
    let mut report = rt.block_on(async {
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
                for ep in &endpoints {
                    let r = check_endpoint(ep, None, &names, timeout * 2, SystemTime::now()).await;
                    attach_endpoint_findings(&mut report, r.findings);
                }
                report
            }
            None => engine.check(&names, &check).await,
        }
    });
    report.names.iter_mut().for_each(|n| {
        n.ok = n.ok && !n.findings.iter().any(|f| f.severity == Severity::Error);
    });
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
        if let Err(e) = write_json(&report, std::io::stdout().lock()) {
            eprintln!("acme-delegate: cannot write the report: {e}");
            return ExitCode::from(2);
        }
    } else {
        let style = human::Style::detect();
        if command == "diagnose" {
            print!("{}", human::render_worst_first(&report, style));
        } else {
            print!("{}", human::render(&report, style));
        }
    }
    let code = ExitCode::from(exit_code(&report) as u8);
    // The process ends now: freeing a large report (10,000 names) first is only lost time.
    std::mem::forget(report);
    code
}

/// Endpoint findings go to the names they concern: a name mismatch to that name, expiry and
/// reachability to every name served there.
fn attach_endpoint_findings(report: &mut Report, findings: Vec<Finding>) {
    for f in findings {
        for n in report.names.iter_mut() {
            if f.code == "CERT_NAME_MISMATCH" && f.name != n.name {
                continue;
            }
            let mut g = f.clone();
            g.name = n.name.clone();
            n.findings.push(g);
            n.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        }
    }
}

//! The command line's words: subcommands, flags, help texts (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached, the network answers DNS itself
     (DNS_INTERCEPTED), or no root server can be reached (AUTH_UNREACHABLE)";

#[derive(Parser)]
#[command(
    name = "acme-delegate",
    version,
    about = "Set up, prove and troubleshoot ACME DNS-01 CNAME delegation",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Config file (TOML); else $ACME_DELEGATE_CONFIG, else the user config file, else defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The saved plan (expected targets, the validation zone); default: plan.toml in the
    /// user config dir, when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check the _acme-challenge CNAME of each NAME from every authoritative server and
    /// every resolver.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(CheckCmd),
    /// Troubleshoot a failing renewal: everything `check` does, plus DNSSEC, CAA, wildcard
    /// capture, stale TXT, TTLs, acme-dns limits and the issuing client's config.
    #[command(after_help = DIAGNOSE_EXIT_CODES)]
    Diagnose(DiagnoseArgs),
    /// Choose the validation zone and compute the exact CNAME to publish for every NAME;
    /// the plan is saved for check, diagnose and prove.
    Plan(PlanArgs),
    /// Prove the delegation: publish a test TXT at each target, wait until every
    /// authoritative server and then every resolver sees it through the CNAME, remove it.
    #[command(after_help = PROVE_EXIT_CODES)]
    Prove(ProveArgs),
    /// Write the issuing client's configuration for the plan (files, then the next command).
    Write(super::write::WriteArgs),
    /// certbot's manual hooks: publish/remove the TXT at the name's target through the plan.
    Hook(super::write::HookArgs),
    /// The wizard (TUI): names, validation zone, the CNAME to publish, the live poll, the
    /// proof, the issuing client's config. With --plan FILE it opens at the live poll.
    Wizard,
    /// The troubleshooter (TUI): diagnose NAMEs (default: the saved plan's) live, findings
    /// worst first, each with its evidence and fix.
    Troubleshoot(TroubleshootArgs),
}

#[derive(Args)]
pub struct TroubleshootArgs {
    /// Host names or wildcards (default: every name of the saved plan).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

pub const DIAGNOSE_EXIT_CODES: &str = "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached, the network answers DNS itself
     (DNS_INTERCEPTED), or no root server can be reached (AUTH_UNREACHABLE)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)";

pub const CHECK_EXIT_CODES: &str = "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding (with --wait: the time ran out first)
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached, the network answers DNS itself
     (DNS_INTERCEPTED), or no root server can be reached (AUTH_UNREACHABLE)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)";

pub const PROVE_EXIT_CODES: &str = "\
Exit status:
  0  every vantage point saw every test TXT through the CNAME
  1  a test TXT could not be published, or some vantage point never saw it
  2  bad input or usage (no plan, a kind that cannot publish, ...)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ZoneKindArg {
    #[value(name = "acme-dns")]
    AcmeDns,
    Rfc2136,
    Provider,
    Hosted,
}

#[derive(Args)]
pub struct PlanArgs {
    /// The kind of validation zone.
    #[arg(long, value_enum)]
    pub zone: ZoneKindArg,
    /// acme-dns: the API base URL.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// acme-dns: CIDRs allowed to update (repeatable).
    #[arg(long, value_name = "CIDR")]
    pub allowfrom: Vec<String>,
    /// acme-dns: the directory for the account files (default: the user data dir).
    #[arg(long, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// rfc2136: the primary server to send updates to (ip:port).
    #[arg(long, value_name = "ADDR")]
    pub server: Option<String>,
    /// rfc2136: the TSIG key file (BIND or knot format).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// rfc2136: the TSIG key as ALG:NAME:SECRET (kdig -y form); it is stored in a 0600 key
    /// file in the user data dir, which the plan names. Prefer --key-file: a secret on a
    /// command line is visible to other users of this machine.
    #[arg(long, value_name = "ALG:NAME:SECRET")]
    pub key: Option<String>,
    /// rfc2136 and provider: the validation zone (e.g. acme.example.net).
    #[arg(long, value_name = "ZONE")]
    pub domain: Option<String>,
    /// provider: lego's provider code (e.g. cloudflare).
    #[arg(long, value_name = "CODE")]
    pub provider: Option<String>,
    /// hosted: the target the service gave you.
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Host names or wildcards.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct ProveArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Names to prove (default: every name of the plan).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// The CA's CAA issuer domain.
    #[arg(long, default_value = "letsencrypt.org", value_name = "DOMAIN")]
    pub ca: String,
    /// An issuing client's config (lego .env, certbot renewal conf, acme.sh domain conf,
    /// cert-manager Issuer YAML, Caddyfile, Traefik static config); repeatable.
    #[arg(long = "client-config", value_name = "PATH")]
    pub client_configs: Vec<PathBuf>,
    /// A TLS endpoint serving the certificate (HOST:PORT): expiry and names are checked.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Vec<String>,
}

#[derive(Args)]
pub struct CheckCmd {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Poll until every NAME works from every vantage point, for at most DURATION (90,
    /// 90s, 10m, 1h): the authoritative servers each round (config `poll_interval_ms`),
    /// a resolver only once they all give the right chain, and never before its cached
    /// answer expires. Prints the final report; exit 1 if the time runs out.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Print one JSON document (see docs/json.md) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The CNAME target every NAME must reach (e.g. d420c923.auth.acme-dns.io).
    #[arg(long, value_name = "T")]
    pub expect_target: Option<String>,
    /// Also write a Prometheus node_exporter textfile (atomically) for cron monitoring.
    #[arg(long, value_name = "PATH")]
    pub prometheus_textfile: Option<PathBuf>,
    /// Host names or wildcards (*.example.com is checked at _acme-challenge.example.com).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

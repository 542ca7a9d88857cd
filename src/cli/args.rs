//! The command line's words: subcommands, flags, help texts (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "acme-delegate",
    version,
    about = "Set up, prove and troubleshoot ACME DNS-01 CNAME delegation",
    after_help = TOP_HELP
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
    #[command(after_help = CHECK_HELP)]
    Check(CheckCmd),
    /// Troubleshoot a failing renewal: everything `check` does, plus DNSSEC, CAA, wildcard
    /// capture, stale TXT, TTLs, acme-dns limits and the issuing client's config.
    #[command(after_help = DIAGNOSE_HELP)]
    Diagnose(DiagnoseArgs),
    /// Choose the validation zone and compute the exact CNAME to publish for every NAME;
    /// the plan is saved for check, diagnose and prove.
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Prove the delegation: publish a test TXT at each target, wait until every
    /// authoritative server and then every resolver sees it through the CNAME, remove it.
    #[command(after_help = PROVE_HELP)]
    Prove(ProveArgs),
    /// Write the issuing client's configuration for the plan (files, then the next command).
    #[command(after_help = WRITE_HELP)]
    Write(super::write::WriteArgs),
    /// certbot's manual hooks: publish/remove the TXT at the name's target through the plan.
    #[command(after_help = HOOK_HELP)]
    Hook(super::write::HookArgs),
    /// The wizard (TUI): names, validation zone, the CNAME to publish, the live poll, the
    /// proof, the issuing client's config. With --plan FILE it opens at the live poll.
    #[command(after_help = WIZARD_HELP)]
    Wizard,
    /// The troubleshooter (TUI): diagnose NAMEs (default: the saved plan's) live, findings
    /// worst first, each with its evidence and fix.
    #[command(after_help = TROUBLESHOOT_HELP)]
    Troubleshoot(TroubleshootArgs),
    /// A Prometheus exporter (blackbox_exporter style): GET /probe?name=NAME checks the
    /// names and answers with the verdict as metrics; GET /metrics, GET /healthz.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Merge `check --json` reports of the same names taken on different networks into one
    /// verdict per name, as a CA that validates from several network perspectives.
    #[command(after_help = MERGE_HELP)]
    Merge(MergeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write one page per command into a folder.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on. The default is loopback only; any other address must be
    /// given here explicitly (put a reverse proxy with TLS in front).
    #[arg(long, default_value = "127.0.0.1:9612", value_name = "ADDR")]
    pub listen: String,
    /// The network this exporter sees from, put on every metric as `vantage` (default:
    /// the host name).
    #[arg(long, value_name = "LABEL", value_parser = parse_vantage_label)]
    pub vantage_label: Option<String>,
    /// The CNAME target every NAME must reach (else the plan's target for the name).
    #[arg(long, value_name = "T")]
    pub expect_target: Option<String>,
    /// Reuse a name's result for at most this many seconds (it is reused for the TTL of
    /// the delegation's records, and never longer than this).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub max_age: u64,
    /// Seconds a probe may take when the request has no X-Prometheus-Scrape-Timeout-Seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// The most names one probe may ask for.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_names: usize,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Perspectives (networks) a name may fail from and still work.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub quorum: usize,
    /// Print one JSON document (see docs/json.md) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Reports of `check --json` or `diagnose --json` (`-`: standard input), one per network.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
}

/// `--vantage-label`: printable, no spaces at the ends, at most 64 characters.
pub fn parse_vantage_label(s: &str) -> color_eyre::eyre::Result<String> {
    use color_eyre::eyre::eyre;
    if s.trim().is_empty() {
        return Err(eyre!("it is empty; give the network's name, e.g. eu-west"));
    }
    if s.trim() != s || s.chars().any(char::is_control) || s.chars().count() > 64 {
        return Err(eyre!(
            "{s:?} is not a label: at most 64 printable characters without spaces at the ends, e.g. eu-west"
        ));
    }
    Ok(s.to_string())
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write acme-delegate.1 and one page per command (acme-delegate-check.1, ...) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct TroubleshootArgs {
    /// Host names or wildcards (default: every name of the saved plan).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

pub const TOP_HELP: &str = "\
Examples:
  acme-delegate                                  the wizard (on a terminal)
  acme-delegate check www.example.com '*.example.com'
  acme-delegate plan --zone acme-dns --api https://auth.example.net www.example.com
  acme-delegate prove
  acme-delegate diagnose --client-config /etc/letsencrypt/renewal/www.example.com.conf \\
      www.example.com
  acme-delegate completions bash > ~/.local/share/bash-completion/completions/acme-delegate
  acme-delegate man | man -l -

Logging: ACME_DELEGATE_LOG or RUST_LOG (e.g. debug, acme_delegate=trace); secrets are
never logged.

Exit status (check, diagnose):
  0  every name works from every vantage point
  1  at least one error finding
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached, the network answers DNS itself
     (DNS_INTERCEPTED), or no root server can be reached (AUTH_UNREACHABLE);
     check --wait then stops after its first round. Then every resolver that
     answered showing the chain wrong (NXDOMAIN, a wrong target) is exit 1
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)";

pub const CHECK_HELP: &str = concat!(
    "\
Examples:
  acme-delegate check www.example.com
  acme-delegate check --expect-target d420c923.auth.acme-dns.io www.example.com
  acme-delegate check --json www.example.com '*.example.com' | jq .summary
  acme-delegate check --wait 10m www.example.com       after publishing the CNAME
  # cron, every 15 minutes, for node_exporter's textfile collector:
  */15 * * * * acme-delegate check --prometheus-textfile \\
      /var/lib/node_exporter/textfile/acme_delegate.prom www.example.com >/dev/null

",
    "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding (with --wait: the time ran out first)
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached, the network answers DNS itself
     (DNS_INTERCEPTED), or no root server can be reached (AUTH_UNREACHABLE);
     --wait then stops after its first round. Then every resolver that
     answered showing the chain wrong (NXDOMAIN, a wrong target) is exit 1
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)"
);

pub const DIAGNOSE_HELP: &str = concat!(
    "\
Examples:
  acme-delegate diagnose www.example.com
  acme-delegate diagnose --client-config /etc/letsencrypt/renewal/www.example.com.conf \\
      www.example.com
  acme-delegate diagnose --client-config ~/.lego/.env --endpoint www.example.com:443 \\
      --ca letsencrypt.org www.example.com
  acme-delegate diagnose --json '*.example.com' > report.json

",
    "\
Exit status:
  0  every name works from every vantage point
  1  at least one error finding
  2  bad input or usage (a name, a flag, the config file)
  3  inconclusive: no server could be reached
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)"
);

pub const PLAN_HELP: &str = "\
Examples:
  acme-delegate plan --zone acme-dns --api https://auth.acme-dns.io www.example.com \\
      '*.example.com'
  acme-delegate plan --zone rfc2136 --server 192.0.2.53:53 --key-file /etc/acme/tsig.key \\
      --domain acme.example.net www.example.com
  acme-delegate plan --zone provider --provider cloudflare --domain acme-example.net \\
      www.example.com
  acme-delegate --plan ./plan.toml plan --zone hosted --target x1.hosted.example www.example.com

acme-dns over plain http:// to a host that is not this machine is warned about: the
account password crosses the network in clear text.

Exit status:
  0  the plan is saved; the records to publish are printed
  1  a finding is an error (e.g. TSIG_OVERPRIVILEGED), or the zone cannot be used: nothing
     is saved (not even a key given with --key); --force saves the plan anyway and names
     the errors it overrides (still exit 1)
  2  bad input or usage (a name, a flag, the key, the config file)";

pub const PROVE_HELP: &str = concat!(
    "\
Examples:
  acme-delegate prove                        every name of the saved plan
  acme-delegate prove --timeout 300 www.example.com
  acme-delegate --plan ./plan.toml prove --json

",
    "\
Exit status:
  0  every vantage point saw every test TXT through the CNAME
  1  a test TXT could not be published, or some vantage point never saw it
  2  bad input or usage (no plan, a kind that cannot publish, ...)"
);

pub const WRITE_HELP: &str = "\
Examples:
  acme-delegate write --client lego --dry-run
  acme-delegate write --client certbot --email admin@example.com
  acme-delegate write --client cert-manager --client traefik --out ./deploy
  acme-delegate write --client acme.sh --private-zone --json

Exit status:
  0  the files are written (or, with --dry-run, shown); the next commands are printed
  1  a file could not be written: nothing was written
  2  bad input or usage (no plan, a flag, the config file)";

pub const HOOK_HELP: &str = "\
Examples (certbot calls these with CERTBOT_DOMAIN and CERTBOT_VALIDATION set):
  certbot certonly --manual --preferred-challenges dns -d www.example.com \\
      --manual-auth-hook 'acme-delegate hook certbot-auth' \\
      --manual-cleanup-hook 'acme-delegate hook certbot-cleanup'

Exit status:
  0  the TXT is published and served by every authoritative server (auth), or removed
     (cleanup)
  1  the TXT could not be published, served in time or removed
  2  bad input or usage (no plan, the name is not in the plan, no CERTBOT_VALIDATION)";

pub const WIZARD_HELP: &str = "\
Examples:
  acme-delegate wizard
  acme-delegate --plan ./plan.toml wizard        resume at the live poll

Exit status:
  0  the wizard reached its end
  1  it was left before the end
  2  bad input or usage (the plan or config file, no terminal)
  130  interrupted (SIGTERM, SIGHUP, SIGINT, SIGQUIT; the terminal is given back)";

pub const TROUBLESHOOT_HELP: &str = "\
Examples:
  acme-delegate troubleshoot www.example.com
  acme-delegate troubleshoot                     the saved plan's names

Exit status:
  0  no error finding
  1  an error finding, or the run did not finish
  2  bad input or usage (a name, no names and no plan, the config file)
  130  interrupted (SIGTERM, SIGHUP, SIGINT, SIGQUIT; the terminal is given back)";

pub const SERVE_HELP: &str = "\
Examples:
  acme-delegate serve                                  on 127.0.0.1:9612
  acme-delegate --plan /etc/acme-delegate/plan.toml serve --vantage-label eu-west
  acme-delegate serve --listen '[::]:9612'             every address: put a TLS proxy
                                                       in front (see README)
  curl 'http://127.0.0.1:9612/probe?name=www.example.com&name=*.example.com'

Prometheus (blackbox_exporter style relabelling, see contrib/prometheus/prometheus.yml):
  - job_name: acme-delegate
    metrics_path: /probe
    static_configs: [{targets: [www.example.com, '*.example.com']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_name}
      - {source_labels: [__param_name], target_label: instance}
      - {target_label: __address__, replacement: 127.0.0.1:9612}

Each probe is bounded by Prometheus's X-Prometheus-Scrape-Timeout-Seconds header (less
0.5 s); a name checked within the TTL of its CNAME records (at most --max-age) is
answered from that result. Bad parameters get HTTP 400 with the reason.

Exit status:
  0  stopped by SIGTERM or Ctrl-C (probes in flight are cancelled)
  2  bad input or usage (a flag, the config or plan file, the address cannot be bound)";

pub const MERGE_HELP: &str = "\
Examples:
  # on each network:
  acme-delegate check --json --vantage-label eu-west www.example.com > eu-west.json
  acme-delegate check --json --vantage-label us-east www.example.com > us-east.json
  # anywhere:
  acme-delegate merge eu-west.json us-east.json
  acme-delegate merge --quorum 1 --json eu-west.json us-east.json ap-south.json
  ssh probe1 acme-delegate check --json www.example.com | acme-delegate merge - us-east.json

A name works when at least one network sees it work and at most --quorum networks do not
(default 0: every network must agree). A name that works from some networks and not from
others gets PERSPECTIVES_DISAGREE (an error beyond the quorum, a warning within it).

Exit status:
  0  every name works (within the quorum)
  1  some name does not work
  2  bad input or usage (a file, two reports from one network, --quorum too large)
  3  inconclusive: no network could judge any name";

pub const COMPLETIONS_HELP: &str = "\
Examples:
  acme-delegate completions bash > ~/.local/share/bash-completion/completions/acme-delegate
  acme-delegate completions zsh > \"${fpath[1]}/_acme-delegate\"
  acme-delegate completions fish > ~/.config/fish/completions/acme-delegate.fish

Exit status:
  0  the script is printed
  2  an unknown shell";

pub const MAN_HELP: &str = "\
Examples:
  acme-delegate man | man -l -
  acme-delegate man --out-dir /usr/local/share/man/man1

Exit status:
  0  the page is printed (or the pages written)
  1  a page could not be written
  2  bad input or usage";

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
    /// acme-dns: the API base URL. provider (pdns): the provider's API base URL, e.g.
    /// http://127.0.0.1:8081; with --key-file, acme-delegate writes the zone itself.
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
    /// rfc2136: the TSIG key file (BIND or knot format). provider: the API key file (one
    /// line, mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// rfc2136: the TSIG key as ALG:NAME:SECRET (kdig -y form); it is stored in a 0600 key
    /// file in the user data dir, which the plan names. Prefer --key-file: a secret on a
    /// command line is visible to other users of this machine. provider: the API key, stored
    /// the same way.
    #[arg(long, value_name = "ALG:NAME:SECRET")]
    pub key: Option<String>,
    /// rfc2136 and provider: the validation zone (e.g. acme.example.net); acme-dns: the
    /// server's `domain`, which every registration's fulldomain must be under.
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
    /// Save the plan even when a finding is an error (e.g. TSIG_OVERPRIVILEGED); the
    /// errors it overrides are named.
    #[arg(long)]
    pub force: bool,
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
    /// The network this report is taken from, written in the JSON report (`vantage_label`)
    /// for `merge` (default: the host name).
    #[arg(long, value_name = "LABEL", value_parser = parse_vantage_label)]
    pub vantage_label: Option<String>,
    /// Also write a Prometheus node_exporter textfile (atomically) for cron monitoring.
    #[arg(long, value_name = "PATH")]
    pub prometheus_textfile: Option<PathBuf>,
    /// When to ask the resolvers: `auto` only once the authoritative servers serve the
    /// right chain (a resolver asked before caches the NXDOMAIN for the negative TTL, and
    /// the CA's may serve it later); `always` at once, whatever they cache.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub ask_resolvers: AskResolversArg,
    /// Host names or wildcards (*.example.com is checked at _acme-challenge.example.com).
    #[arg(required_unless_present = "names_from", value_name = "NAME")]
    pub names: Vec<String>,
    /// Also read names from FILE (`-`: standard input), one or more per line, separated
    /// by spaces or commas; `#` starts a comment. For more names than a command line
    /// holds (100,000 names need no larger stack limit).
    #[arg(long, value_name = "FILE")]
    pub names_from: Option<PathBuf>,
}

/// `--ask-resolvers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AskResolversArg {
    Auto,
    Always,
}

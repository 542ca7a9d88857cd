//! The command line: parse (clap), install color-eyre, dispatch to a face of the engine.

use acme_delegate::check::{exit_code, CheckOptions, Engine};
use acme_delegate::config::Config;

use acme_delegate::name::parse_all;
use acme_delegate::report::{human, to_json};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the _acme-challenge CNAME of each NAME from every authoritative server and
    /// every resolver.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// Print one JSON document (see docs/json.md) instead of the table.
    #[arg(long)]
    json: bool,
    /// The CNAME target every NAME must reach (e.g. d420c923.auth.acme-dns.io).
    #[arg(long, value_name = "T")]
    expect_target: Option<String>,
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
        Some(Command::Check(args)) => run_check(config, args),
    }
}

fn run_check(config: Config, args: CheckArgs) -> ExitCode {
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("acme-delegate: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = rt.block_on(async {
        let engine = Engine::new(config);
        engine.check(&names, &CheckOptions { expect_target }).await
    });
    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", human::render(&report, human::Style::detect()));
    }
    ExitCode::from(exit_code(&report) as u8)
}

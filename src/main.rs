//! The command line: parse (clap), install color-eyre and logging, start the one async
//! runtime, dispatch to a face of the engine. Nothing else.

mod cli;

use acme_delegate::engine::diagnose::DiagnoseOptions;
use acme_delegate::model::config::Config;
use clap::Parser;
use cli::args::{CheckCmd, Cli, Command};
use std::process::ExitCode;

/// See the `mimalloc` feature in Cargo.toml (a sixth of `check`'s CPU was malloc and free).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the process waits, at most, for the deletions of cancelled updates.
const CLEANUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("warning: cannot install the error reporter: {e}");
    }
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Generated from the flags alone: no config needed.
    match &cli.command {
        Some(Command::Completions(c)) => return cli::docs::completions(c),
        Some(Command::Man(m)) => return cli::docs::man(m),
        _ => {}
    }
    // Reports in, a verdict out: no config, no network.
    if let Some(Command::Merge(args)) = cli.command {
        return cli::merge::merge(args);
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return cli::usage(e),
    };
    // One thread: the work waits on the network. Measured in the lab's bench, a second
    // worker costs more CPU in wake-ups (futex, context switches) than it saves, and the name
    // servers need those cores. Blocking file work goes to tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cli::usage(format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        let code = dispatch(cli, config).await;
        // A cancelled update (a signal during `plan`, Esc in the wizard) may have been
        // applied: its deletion runs on a spawned task, which must end before we do.
        let left = acme_delegate::zones::rfc2136::finish_cleanups(CLEANUP_LIMIT).await;
        if left > 0 {
            cli::out::stderr(format_args!(
                "acme-delegate: {left} deletion(s) of a cancelled update did not finish within {}s; a test record may be left in the validation zone (`acme-delegate diagnose` names it)\n",
                CLEANUP_LIMIT.as_secs()
            ));
        }
        code
    });
    match cli::out::stdout_failure() {
        None => code,
        Some(why) => {
            cli::out::stderr(format_args!(
                "acme-delegate: cannot write the output to stdout: {why}\n"
            ));
            if code == ExitCode::SUCCESS {
                ExitCode::from(1)
            } else {
                code
            }
        }
    }
}

/// The log filter: `ACME_DELEGATE_LOG`, else `RUST_LOG`, else warnings only.
fn log_filter() -> tracing_subscriber::EnvFilter {
    ["ACME_DELEGATE_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn"))
}

async fn dispatch(cli: Cli, config: Config) -> ExitCode {
    match cli.command {
        None if cli::tui::interactive() => cli::tui::wizard(config, cli.config, cli.plan).await,
        None => cli::summary(&config),
        Some(Command::Wizard) => cli::tui::wizard(config, cli.config, cli.plan).await,
        Some(Command::Troubleshoot(t)) => cli::tui::troubleshoot(config, cli.plan, t.names).await,
        Some(Command::Plan(args)) => cli::plan::plan(config, cli.plan, args).await,
        Some(Command::Prove(args)) => cli::prove::prove(config, cli.plan, args).await,
        Some(Command::Write(args)) => cli::write::write(cli.config, cli.plan, args).await,
        Some(Command::Hook(args)) => cli::write::hook(config, cli.plan, args).await,
        Some(Command::Check(CheckCmd { check, wait: None })) => {
            cli::check::run(config, cli.plan, check, None).await
        }
        Some(Command::Check(CheckCmd {
            check,
            wait: Some(w),
        })) => cli::check::run_wait(config, cli.plan, check, &w).await,
        Some(Command::Serve(args)) => cli::serve::serve(config, cli.plan, args).await,
        Some(Command::Completions(c)) => cli::docs::completions(&c),
        Some(Command::Man(m)) => cli::docs::man(&m),
        Some(Command::Merge(args)) => cli::merge::merge(args),
        Some(Command::Diagnose(d)) => {
            let ca = match cli::ca_domain(&d.ca, d.check.json) {
                Ok(ca) => ca,
                Err(code) => return code,
            };
            let opts = DiagnoseOptions {
                ca,
                client_configs: d.client_configs,
                ..DiagnoseOptions::default()
            };
            cli::check::run(config, cli.plan, d.check, Some((opts, d.endpoint))).await
        }
    }
}

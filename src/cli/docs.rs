//! `completions SHELL` and `man`: generated from the clap definition, so they never drift
//! from the flags.

use super::args::{Cli, CompletionsArgs, ManArgs};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

const BIN: &str = "acme-delegate";

/// The completion script for `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> ExitCode {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, BIN, &mut out);
    emit(&out)
}

/// The main page on stdout, or every page into `--out-dir`.
pub fn man(args: &ManArgs) -> ExitCode {
    let cmd = Cli::command();
    if let Some(dir) = &args.out_dir {
        return match std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir))
        {
            Ok(()) => {
                eprintln!("manual pages written to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "acme-delegate: cannot write the manual pages in {}: {e}",
                    dir.display()
                );
                ExitCode::from(1)
            }
        };
    }
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        eprintln!("acme-delegate: cannot render the manual page: {e}");
        return ExitCode::from(1);
    }
    emit(&out)
}

/// Writes `bytes` to stdout; a closed pipe or a full disk is a message, not a panic.
fn emit(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acme-delegate: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

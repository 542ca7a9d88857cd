//! The headless faces: flags in, engine calls, text or JSON out. Only this layer (and the
//! TUI) prints.

/// `println!` that never panics (see [`out`]).
macro_rules! outln {
    () => { $crate::cli::out::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::out::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::stdout(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::out::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

pub mod args;
pub mod check;
pub mod docs;
pub mod human;
pub mod live;
pub mod merge;
pub mod out;
pub mod plan;
pub mod prove;
pub mod serve;
#[cfg(feature = "tui")]
pub mod tui;
/// Built without the terminal: the same functions, which say so.
#[cfg(not(feature = "tui"))]
#[path = "headless.rs"]
pub mod tui;
pub mod write;

use acme_delegate::engine::views::VantageKind;
use acme_delegate::model::config::Config;
use serde::Serialize;
use std::process::ExitCode;

/// Bad input or usage: the message on stderr, exit 2.
pub fn usage(msg: impl std::fmt::Display) -> ExitCode {
    errln!("acme-delegate: {msg}");
    ExitCode::from(2)
}

/// A failure; with `--json` also as the one JSON document the flag promises:
/// `{"version": 1, "error": {"exit": N, "message": "..."}}`. The message goes to stderr
/// either way.
pub fn fail(json: bool, code: u8, msg: impl std::fmt::Display) -> ExitCode {
    let msg = msg.to_string();
    errln!("acme-delegate: {msg}");
    if json {
        print_json(&serde_json::json!({
            "version": 1,
            "error": { "exit": code, "message": msg },
        }));
    }
    ExitCode::from(code)
}

/// [`usage`] that keeps the `--json` promise.
pub fn usage_json(json: bool, msg: impl std::fmt::Display) -> ExitCode {
    fail(json, 2, msg)
}

/// `--ca`: the CA's CAA issuer domain, lower case, without a trailing dot.
pub fn ca_domain(ca: &str, json: bool) -> Result<String, ExitCode> {
    match acme_delegate::model::name::parse_input(ca) {
        Ok(n) if !n.wildcard => Ok(n.identifier),
        _ => Err(usage_json(json, format!(
            "--ca {ca:?} is not a domain name; give the CA's CAA issuer domain as it appears in CAA records, e.g. --ca letsencrypt.org (or pki.goog, sectigo.com, digicert.com)"
        ))),
    }
}

/// One pretty JSON document on stdout.
pub fn print_json(value: &impl Serialize) {
    out::json(value);
}

/// With no subcommand: what the config says, and the hint.
pub fn summary(config: &Config) -> ExitCode {
    let join = |v: Vec<String>| v.join(", ");
    outln!(
        "config: {}\nroots: {}\nresolvers: {}\nsystem: {}\n\nRun `acme-delegate check NAME...` (see --help).",
        config
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in defaults".into()),
        config.roots.len(),
        join(config.resolvers.iter().map(|r| format!("{} ({})", r.name, r.address)).collect()),
        join(config.system.iter().map(|a| a.to_string()).collect()),
    );
    ExitCode::SUCCESS
}

pub fn kind_label(k: VantageKind) -> &'static str {
    match k {
        VantageKind::Authoritative => "auth",
        VantageKind::Resolver => "res",
        VantageKind::System => "sys",
    }
}

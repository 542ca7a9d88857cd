//! The headless faces: flags in, engine calls, text or JSON out. Only this layer (and the
//! TUI) prints.

pub mod args;
pub mod check;
pub mod docs;
pub mod human;
pub mod live;
pub mod plan;
pub mod prove;
pub mod tui;
pub mod write;

use acme_delegate::engine::views::VantageKind;
use acme_delegate::model::config::Config;
use serde::Serialize;
use std::process::ExitCode;

/// Bad input or usage: the message on stderr, exit 2.
pub fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("acme-delegate: {msg}");
    ExitCode::from(2)
}

/// One pretty JSON document on stdout.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("acme-delegate: cannot serialise the report: {e}"),
    }
}

/// With no subcommand: what the config says, and the hint.
pub fn summary(config: &Config) -> ExitCode {
    let join = |v: Vec<String>| v.join(", ");
    println!(
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

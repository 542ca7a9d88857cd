//! Checks one name with the library alone and prints the engine's events as they arrive,
//! one JSON object a line, then the verdict. The proof that a library user needs no
//! terminal: it builds with `--no-default-features`.
//!
//! ```sh
//! cargo run --no-default-features --example check_one -- www.example.com [CONFIG.toml]
//! ```
//!
//! Exit status: the `check` command's (0 works, 1 does not, 3 inconclusive; 2 bad input).

use acme_delegate::engine::check::{CheckOptions, CheckRequest};
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::Engine;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::parse_input;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(name), config) = (args.next(), args.next().map(PathBuf::from)) else {
        eprintln!("usage: check_one NAME [CONFIG.toml]");
        return ExitCode::from(2);
    };
    let input = match parse_input(&name) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("check_one: {name:?}: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("check_one: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("check_one: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async move {
        let engine = Engine::new(config);
        let (events, mut rx) = EventSink::channel();
        let printer = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                match serde_json::to_string(&event) {
                    Ok(line) => println!("{line}"),
                    Err(e) => eprintln!("check_one: an event that is not JSON: {e}"),
                }
            }
        });
        let req = CheckRequest {
            names: vec![input],
            options: CheckOptions::default(),
        };
        let report = engine.check(&req, &CancellationToken::new(), &events).await;
        drop(events); // the channel closes: the printer ends after the last event
        let _ = printer.await;
        for n in &report.names {
            println!(
                "{}: {}",
                n.name,
                if n.ok { "works" } else { "does not work" }
            );
        }
        report.exit_code()
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

//! The live side of the headless faces: signals that cancel a run, the progress bar
//! that `check` and `diagnose` show on a terminal, and `check --wait` on the live poll.

use acme_delegate::engine::check::CheckOptions;
use acme_delegate::engine::events::{CancellationToken, CellState, Event, EventSink};
use acme_delegate::engine::poll::{PollOptions, PollOutcome, PollRequest};
use acme_delegate::engine::Engine;
use acme_delegate::model::clock::rfc3339;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::InputName;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// Exit status after Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// More names than this get a progress bar (on a terminal).
const BAR_FROM: usize = 6;

/// Cancels `token` on Ctrl-C, SIGTERM or SIGHUP.
pub fn cancel_on_signals(token: CancellationToken) {
    cancel_on_signals_twice(token, CancellationToken::new());
}

/// Cancels `first` on the first Ctrl-C, SIGTERM or SIGHUP, and `second` on the next one
/// (e.g. to stop a cleanup that takes too long). The handlers are in place when this
/// returns: a signal that comes right after is never lost to the default action (which
/// would kill the process with work half done, e.g. a published test TXT).
pub fn cancel_on_signals_twice(first: CancellationToken, second: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::spawn(async move {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
        for token in [first, second] {
            tokio::select! {
                _ = next(&mut int) => {}
                _ = next(&mut term) => {}
                _ = next(&mut hup) => {}
            }
            token.cancel();
        }
    });
}

/// Whether a progress bar may be drawn: stderr is a terminal that can take one, the run
/// has more than a handful of names, and JSON does not go to a pipe.
pub fn show_bar(names: usize, json: bool) -> bool {
    names >= BAR_FROM
        && std::io::stderr().is_terminal()
        && (!json || std::io::stdout().is_terminal())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// A bar on stderr, without colours (so NO_COLOR holds) and in plain ASCII.
fn bar(len: usize, unit: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(&format!(
        "{{elapsed:>4}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{wide_msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr()).with_style(style)
}

/// The face of `check` and `diagnose`: a progress bar fed by the engine's events when
/// `shown`, else nothing listens (and the engine builds no events).
pub fn progress(shown: bool, names: usize) -> (EventSink, Option<JoinHandle<()>>) {
    if !shown {
        return (EventSink::none(), None);
    }
    let (sink, mut rx) = EventSink::channel();
    let pb = bar(names, "names");
    let face = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::NameDone { name, done, .. } => {
                    pb.set_position(done as u64);
                    pb.set_message(name);
                }
                Event::RunDone { .. } => break,
                _ => {}
            }
        }
        pb.finish_and_clear();
    });
    (sink, Some(face))
}

/// `90`, `90s`, `10m`, `1h` (seconds when no unit is given).
pub fn parse_wait(s: &str) -> color_eyre::eyre::Result<Duration> {
    use color_eyre::eyre::eyre;
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| eyre!("--wait {s:?}: give a number of seconds or 90s, 10m, 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(eyre!("--wait {s:?}: the unit must be s, m or h")),
    };
    if !(1..=7 * 86400).contains(&secs) {
        return Err(eyre!("--wait {s:?}: give 1 s to 7 days"));
    }
    Ok(Duration::from_secs(secs))
}

/// `check --wait`: polls until every name works from every vantage point, the time is
/// up, or a signal (None then). One line per state change on stderr, or a bar on a
/// terminal; with `json`, neither (only the final report, on stdout).
pub async fn wait(
    config: Config,
    names: &[InputName],
    check: CheckOptions,
    timeout: Duration,
    json: bool,
) -> Option<PollOutcome> {
    {
        let cancel = CancellationToken::new();
        cancel_on_signals(cancel.clone());
        let opts = PollOptions {
            check,
            interval: config.poll_interval,
            timeout,
        };
        let engine = Engine::new(config);
        let (sink, rx) = EventSink::channel();
        let face = match (show_bar(names.len(), json), json) {
            (true, _) => Some(tokio::spawn(poll_bar(rx, names.len()))),
            (false, false) => Some(tokio::spawn(poll_lines(rx))),
            (false, true) => None,
        };
        let sink = if face.is_some() {
            sink
        } else {
            EventSink::none()
        };
        let req = PollRequest {
            names: names.to_vec(),
            options: opts,
        };
        let outcome = engine.poll(&req, &cancel, &sink).await;
        drop(sink);
        if let Some(f) = face {
            let _ = f.await;
        }
        (!cancel.is_cancelled()).then_some(outcome)
    }
}

async fn poll_lines(mut rx: UnboundedReceiver<Event>) {
    while let Some(ev) = rx.recv().await {
        if let Event::Cell {
            name,
            vantage,
            state,
            ..
        } = ev
        {
            errln!("{name}: {vantage}: {}", cell_text(&state));
        }
    }
}

async fn poll_bar(mut rx: UnboundedReceiver<Event>, names: usize) {
    let pb = bar(names, "names work");
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Cell {
                name,
                vantage,
                state,
                ..
            } => pb.set_message(format!("{name}: {vantage}: {}", cell_text(&state))),
            Event::RoundDone { ok, .. } => pb.set_position(ok as u64),
            Event::RunDone { .. } => break,
            _ => {}
        }
    }
    pb.finish_and_clear();
}

fn at(t: &SystemTime) -> String {
    rfc3339(
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    )
}

/// One cell's state in words.
pub fn cell_text(s: &CellState) -> String {
    match s {
        CellState::Waiting => "waiting for the authoritative servers".into(),
        CellState::Ok => "ok".into(),
        CellState::Wrong { why } => {
            let why: Vec<String> = why.iter().map(ToString::to_string).collect();
            format!("not right yet ({})", why.join("; "))
        }
        CellState::Negative { until } => format!(
            "serves a cached negative answer until {}; not asked again before then",
            at(until)
        ),
        CellState::Stale { until } => format!(
            "serves an older cached chain until {}; not asked again before then",
            at(until)
        ),
        CellState::Failed { outcome } => format!("no usable answer ({outcome})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_durations() {
        assert_eq!(parse_wait("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_wait("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_wait("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_wait("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_wait(" 2m ").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_wait("10x").unwrap_err().to_string(),
            "--wait \"10x\": the unit must be s, m or h"
        );
        for bad in [
            "", "s", "10x", "1.5m", "-1", "0", "10 m", "8d", "200h", "m10",
        ] {
            assert!(parse_wait(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn cells_in_words() {
        let t = UNIX_EPOCH + Duration::from_secs(86400);
        assert!(cell_text(&CellState::Negative { until: t }).contains("1970-01-02T00:00:00Z"));
        assert!(cell_text(&CellState::Wrong {
            why: vec![acme_delegate::engine::events::Reason::Finding {
                code: acme_delegate::findings::Code::CnameMissing,
                evidence: String::new(),
            }]
        })
        .contains("CNAME_MISSING"));
    }
}

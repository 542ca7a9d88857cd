//! Tests of the pure `update` (every transition) and render snapshots at 80x24.

mod render;
mod update;

use crate::dns::Name;
use crate::engine::views::VantageKind;
use crate::findings::{Finding, Observation};
use crate::model::plan::{Plan, PlannedName, ZoneSpec};
use crate::tui::app::update;
use crate::tui::state::{Action, Effect, State};
use crate::tui::theme::Theme;
use crate::tui::widgets::poll_grid::{CellStatus, CellUpdate};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, SystemTime};

/// A fixed clock: 12:00:00 UTC on day 20000.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 12 * 3600)
}

pub fn at(secs: u64) -> SystemTime {
    t0() + Duration::from_secs(secs)
}

pub fn st() -> State {
    State::new(t0(), Theme { color: false })
}

pub fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Action {
    code(KeyCode::Char(c))
}

pub fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Applies actions in order; returns the state and every effect asked for.
pub fn run(mut s: State, actions: impl IntoIterator<Item = Action>) -> (State, Vec<Effect>) {
    let mut all = Vec::new();
    for a in actions {
        let (n, fx) = update(s, a);
        s = n;
        all.extend(fx);
    }
    (s, all)
}

pub fn typed(text: &str) -> Vec<Action> {
    text.chars().map(ch).collect()
}

pub fn plan() -> Plan {
    let pn = |name: &str, host: &str, target: &str| PlannedName {
        name: name.into(),
        challenge: Name::from_ascii(&format!("_acme-challenge.{host}")),
        target: Name::from_ascii(target),
        zone: Some(Name::from_ascii("example.test")),
    };
    Plan {
        version: 1,
        zone: ZoneSpec::Rfc2136 {
            server: "127.0.0.12:53".into(),
            zone: Name::from_ascii("acme.lab"),
            key_file: "/etc/acme-delegate/acme.key".into(),
        },
        names: vec![
            pn(
                "www.example.test",
                "www.example.test",
                "www-example-test-3f1a2c.acme.lab",
            ),
            pn(
                "*.example.test",
                "example.test",
                "example-test-9b0e41.acme.lab",
            ),
        ],
    }
}

pub fn cell(
    name: &str,
    vantage: &str,
    kind: VantageKind,
    status: CellStatus,
    short: &str,
    when: SystemTime,
) -> Action {
    Action::CellUpdate(CellUpdate {
        name: name.into(),
        vantage: vantage.into(),
        kind,
        status,
        short: short.into(),
        detail: format!("{short} (detail)"),
        at: when,
    })
}

pub fn finding(code: &'static str, name: &str, vantage: &str) -> Finding {
    Finding::new(
        crate::findings::Code::parse(code).expect("a catalog code"),
        name,
        format!("evidence of {code} seen at {vantage}"),
        format!("fix for {code}"),
    )
    .observe(Observation {
        vantage: vantage.into(),
        server: "127.0.0.53:53".into(),
        question: "_acme-challenge.www.example.test. TXT".into(),
        outcome: "NXDOMAIN".into(),
        ttl: Some(300),
        ms: 4,
    })
}

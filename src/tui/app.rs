//! The pure transition: [`update`] takes the [`State`] and an [`Action`] and answers
//! with the new state and the [`Effect`]s to run. It reads no clock, touches no terminal
//! and no network, so every transition is a unit test. The vocabulary lives in `state/`;
//! the screens' own transitions live beside their drawing in `screens/*.rs` and are
//! called from here.

use crate::tui::screens::{self, client, poll, proof, troubleshoot, zone};
use crate::tui::state::nav::{ask_quit, back, forward, go, quit_now};
use crate::tui::state::zone::Setup;
use crate::tui::state::{Action, Effect, Overlay, Purpose, Screen, State, Step};
use crate::tui::theme::Level;
use crate::tui::widgets::text_pane;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use std::time::{Duration, SystemTime};

/// The pure transition function.
pub fn update(mut s: State, a: Action) -> (State, Vec<Effect>) {
    let mut fx = Vec::new();
    s.dirty = true;
    let overlay_before = s.overlay.clone();
    match a {
        Action::Tick(now) => s.dirty = on_tick(&mut s, now, &mut fx),
        Action::Resize(w, h) => s.size = (w, h),
        Action::Key(k) => on_key(&mut s, k, &mut fx),
        Action::Paste(t) => on_paste(&mut s, &t),
        Action::Mouse(m) => on_mouse(&mut s, m, &mut fx),
        Action::PollStarted { columns } => poll::on_started(&mut s, columns),
        Action::CellUpdate(u) => poll::on_cell(&mut s, u),
        Action::ServerCells { name, cells } => poll::on_servers(&mut s, name, cells),
        Action::PollFinding { name, finding } => poll::on_finding(&mut s, name, *finding),
        Action::PollRound { round, ok, total } => poll::on_round(&mut s, round, ok, total),
        Action::PollEnded(end) => poll::on_ended(&mut s, end),
        Action::FindingsReady(f) => match f.purpose {
            Purpose::Poll => poll::on_findings(&mut s, f),
            Purpose::Troubleshoot => troubleshoot::on_findings(&mut s, f),
        },
        Action::DiagnoseProgress { done, total, last } => {
            troubleshoot::on_progress(&mut s, done, total, last)
        }
        Action::ProofUpdate(u) => proof::on_update(&mut s, u),
        Action::RegisterDone(r) => zone::on_setup_done(&mut s, r, &mut fx),
        Action::FilesPlanned(r) => client::on_planned(&mut s, r),
        Action::FilesWritten(r) => client::on_written(&mut s, r, &mut fx),
        Action::Copied(r) => match r {
            Ok(rep) => {
                let lvl = match rep.via {
                    crate::tui::clipboard::Via::System => Level::Ok,
                    crate::tui::clipboard::Via::Osc52 => Level::Info,
                };
                s.say(lvl, rep.line())
            }
            Err(e) => s.say(Level::Bad, format!("could not copy: {e}")),
        },
        Action::Saved(r) => match r {
            Ok(p) => {
                s.unsaved = false;
                s.plan_path = Some(p.clone());
                if s.status.as_ref().is_none_or(|st| st.level != Level::Ok) {
                    s.say(Level::Info, format!("plan saved to {}", p.display()));
                }
            }
            Err(e) => s.say(
                Level::Bad,
                format!("the plan was not saved: {e}; fix the path (--plan FILE) and go on"),
            ),
        },
        Action::EngineFailed(msg) => {
            s.say(Level::Bad, format!("internal error, leaving: {msg}"));
            quit_now(&mut s, &mut fx);
        }
        Action::Terminate => {
            s.interrupted = true;
            quit_now(&mut s, &mut fx);
        }
    }
    if s.overlay != overlay_before {
        // A new popup starts at its top.
        s.popup_pane = Default::default();
    }
    (s, fx)
}

/// How long the all-green grid stays on screen before the wizard moves on (only when the
/// user has not moved the selection since the poll started).
pub const ADVANCE_AFTER: Duration = Duration::from_secs(2);

/// Ticks move the spinner and the ages; they redraw only when something shows them.
fn on_tick(s: &mut State, now: SystemTime, fx: &mut Vec<Effect>) -> bool {
    let second_changed = secs(now) != secs(s.now);
    s.now = now;
    s.frame = s.frame.wrapping_add(1);
    if s.screen == Screen::Wizard(Step::Poll) {
        if let Some(at) = s.poll.all_green_at {
            if s.poll.held {
                if s.status
                    .as_ref()
                    .is_none_or(|st| st.text != poll::ALL_GREEN_HELD)
                {
                    s.say(Level::Ok, poll::ALL_GREEN_HELD);
                    return true;
                }
                return second_changed;
            }
            if now.duration_since(at).unwrap_or_default() >= ADVANCE_AFTER {
                go(s, Screen::Wizard(Step::Proof), fx);
                s.say(Level::Ok, poll::ALL_GREEN);
                return true;
            }
        }
        return second_changed;
    }
    s.busy()
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn is(k: &KeyEvent, code: KeyCode) -> bool {
    k.code == code && !k.modifiers.contains(KeyModifiers::CONTROL)
}

fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.code == KeyCode::Char(c) && k.modifiers.contains(KeyModifiers::CONTROL)
}

fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    if k.kind == KeyEventKind::Release {
        s.dirty = false;
        return;
    }
    if ctrl(&k, 'c') {
        quit_now(s, fx);
        return;
    }
    if let Some(o) = s.overlay.clone() {
        on_overlay_key(s, o, k, fx);
        return;
    }
    if k.code == KeyCode::F(1) || (is(&k, KeyCode::Char('?')) && !screens::typing_question(s)) {
        s.overlay = Some(Overlay::Help);
        s.popup_pane = Default::default();
        return;
    }
    if s.too_small() {
        if is(&k, KeyCode::Char('q')) || is(&k, KeyCode::Esc) {
            ask_quit(s, fx);
        }
        return;
    }
    if ctrl(&k, 'b') || k.code == KeyCode::PageUp && k.modifiers.contains(KeyModifiers::ALT) {
        back(s, fx);
        return;
    }
    if ctrl(&k, 'n') {
        forward(s, fx);
        return;
    }
    if screens::on_key(s, k, fx) {
        return;
    }
    let typing = screens::typing(s);
    match k.code {
        KeyCode::Esc if s.busy() => cancel_running(s, fx),
        // Esc goes back one step; only the first screen (and the troubleshooter's one)
        // quits on it. q quits everywhere.
        KeyCode::Esc => match s.screen {
            Screen::Wizard(Step::Names) | Screen::Troubleshoot => ask_quit(s, fx),
            Screen::Wizard(_) => back(s, fx),
        },
        KeyCode::Char('q') if !typing => ask_quit(s, fx),
        KeyCode::Char('b') if !typing => back(s, fx),
        KeyCode::Char('n') if !typing => forward(s, fx),
        _ => s.dirty = false,
    }
}

fn on_overlay_key(s: &mut State, o: Overlay, k: KeyEvent, fx: &mut Vec<Effect>) {
    match o {
        Overlay::Help => match text_pane::scroll(s.popup_pane, s.hits.popup_pane, &k) {
            // j/k, the arrows, PgUp/PgDn and the wheel scroll; any other key closes.
            Some(p) if !is(&k, KeyCode::Char(' ')) => s.popup_pane = p,
            _ => s.overlay = None,
        },
        Overlay::ConfirmQuit => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => quit_now(s, fx),
            _ => {
                s.overlay = None;
                s.say(Level::Info, "not quitting");
            }
        },
        Overlay::Finding(f) => match k.code {
            KeyCode::Char('c') => {
                fx.push(Effect::Copy {
                    what: format!("the fix for {}", f.code),
                    text: f.fix.clone(),
                });
            }
            KeyCode::Char('q') => {
                s.overlay = None;
                ask_quit(s, fx);
            }
            KeyCode::Esc | KeyCode::Enter | KeyCode::Backspace => s.overlay = None,
            _ => match text_pane::scroll(s.popup_pane, s.hits.popup_pane, &k) {
                Some(p) => s.popup_pane = p,
                None => s.dirty = false,
            },
        },
        Overlay::Resume => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                s.overlay = None;
                s.zone.result = s.plan.clone().map(|plan| Setup {
                    notes: vec![(Level::Info, "resumed from the saved plan".to_string())],
                    plan,
                    findings: vec![],
                    ns_alternatives: vec![],
                });
                go(s, Screen::Wizard(Step::Cname), fx);
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                s.overlay = None;
                s.plan = None;
                s.names = Default::default();
                s.zone = Default::default();
                s.say(
                    Level::Info,
                    "starting afresh; the saved plan is replaced once the zone step runs",
                );
            }
            _ => s.dirty = false,
        },
    }
}

fn on_paste(s: &mut State, text: &str) {
    if s.overlay.is_some() || s.too_small() {
        s.dirty = false;
        return;
    }
    if !screens::on_paste(s, text) {
        s.dirty = false;
    }
}

fn on_mouse(s: &mut State, m: MouseEvent, fx: &mut Vec<Effect>) {
    let (x, y) = (m.column, m.row);
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some((_, key)) = s
                .hits
                .keys
                .iter()
                .find(|(r, _)| r.contains(ratatui::layout::Position::new(x, y)))
                .cloned()
            {
                on_key(s, key, fx);
                return;
            }
            if s.overlay.is_some() {
                s.dirty = false;
                return;
            }
            if let Some(g) = s.hits.grid {
                if let Some((row, col)) = g.cell_at(x, y) {
                    poll::click(s, row, col, fx);
                    return;
                }
            }
            let hit = s
                .hits
                .lists
                .iter()
                .find_map(|(id, h)| h.index_at(x, y).map(|i| (*id, i)));
            match hit {
                Some((id, i)) => screens::click(s, id, i, fx),
                None => s.dirty = false,
            }
        }
        MouseEventKind::ScrollDown => {
            on_key(s, KeyEvent::new(KeyCode::Down, KeyModifiers::NONE), fx)
        }
        MouseEventKind::ScrollUp => on_key(s, KeyEvent::new(KeyCode::Up, KeyModifiers::NONE), fx),
        _ => s.dirty = false,
    }
}

/// Esc while engine work runs: cancel that work, stay here.
fn cancel_running(s: &mut State, fx: &mut Vec<Effect>) {
    if s.zone.running {
        s.zone.running = false;
        fx.push(Effect::CancelSetup);
        s.say(
            Level::Warn,
            "setup cancelled; change the form or press Enter to try again",
        );
    }
    if s.proof.running {
        fx.push(Effect::CancelProof);
        s.say(
            Level::Warn,
            "cancelling the proof: the test TXT records are being removed",
        );
    }
    if s.trouble.running {
        s.trouble.running = false;
        s.trouble.progress = None;
        fx.push(Effect::CancelDiagnose);
        s.say(Level::Warn, "diagnosis cancelled; r runs it again");
    }
    if s.client.busy {
        s.client.busy = false;
        s.say(Level::Warn, "stopped waiting for the files");
    }
}

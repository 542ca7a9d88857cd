//! The one event loop: crossterm's `EventStream`, the engine's actions, a tick and the
//! signals, `select!`ed. Every action goes through the pure `update`; the effects it
//! returns are handed to the runner. The screen is redrawn only when `update` says
//! something visible changed, and the loop never awaits the network.

use crate::tui::app::update;
use crate::tui::effects::Runner;
use crate::tui::screens;
use crate::tui::state::{Action, Effect, State};
use futures::StreamExt;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use ratatui::Terminal;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::Receiver;

/// How often the clock ticks (spinner, ages, the all-green pause).
pub const TICK: Duration = Duration::from_millis(250);

/// The most engine actions applied between two frames.
const COALESCE: usize = 512;

/// A terminal event as an action (None: nothing for the UI, e.g. a key release).
pub fn to_action(ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Action::Key(k)),
        Event::Paste(t) => Some(Action::Paste(t)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::Mouse(m) => Some(Action::Mouse(m)),
        _ => None,
    }
}

/// `ACME_DELEGATE_TUI_TRACE=FILE`: timings for the bench, one line each, appended to
/// FILE (never to the terminal): `first-frame MS` (from the start of the session to the
/// first frame on screen), `first-frame-since-exec MS` (from the process start, 10 ms
/// steps) and `key MS` (from reading a key to its frame on screen).
pub struct Trace {
    file: Option<std::fs::File>,
    started: Instant,
}

impl Trace {
    pub fn from_env(started: Instant) -> Trace {
        let file = std::env::var_os("ACME_DELEGATE_TUI_TRACE").and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        Trace { file, started }
    }

    /// How long this process has run (Linux: /proc, in USER_HZ ticks of 10 ms).
    fn process_age_ms() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Field 22 (starttime), counted after the `(comm)` that may hold spaces.
        let start: f64 = stat
            .rsplit(')')
            .next()?
            .split_whitespace()
            .nth(19)?
            .parse()
            .ok()?;
        let up: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some((up - start / 100.0) * 1000.0)
    }

    fn first_frame(&mut self) {
        self.line("first-frame", self.started);
        if let (Some(f), Some(age)) = (&mut self.file, Self::process_age_ms()) {
            let _ = writeln!(f, "first-frame-since-exec {age:.0}");
        }
    }

    fn line(&mut self, what: &str, since: Instant) {
        if self.file.is_none() {
            return;
        }
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{what} {:.3}", since.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

/// Applies one action and runs its effects (their quick results are applied in turn).
pub fn step<R: Runner>(state: State, action: Action, runner: &mut R) -> State {
    let mut queue = vec![action];
    let mut state = state;
    let mut dirty = false;
    while let Some(a) = queue.pop() {
        let (s, fx) = update(state, a);
        state = s;
        dirty |= state.dirty;
        for e in fx {
            if e != Effect::Quit {
                queue.extend(runner.run(e));
            }
        }
    }
    state.dirty = dirty;
    state
}

/// Runs the UI until it quits. `initial` are the effects of the starting state.
pub async fn run<B: Backend, R: Runner>(
    terminal: &mut Terminal<B>,
    mut state: State,
    initial: Vec<Effect>,
    runner: &mut R,
    rx: &mut Receiver<Action>,
    mut trace: Trace,
) -> Result<State, String>
where
    B::Error: std::fmt::Display,
{
    let size = terminal.size().map_err(|e| e.to_string())?;
    state.size = (size.width, size.height);
    // The first frame before any engine work starts.
    let mut hits = Default::default();
    terminal
        .draw(|f| hits = screens::render(&state, f))
        .map_err(|e| e.to_string())?;
    state.hits = hits;
    trace.first_frame();
    for e in initial {
        for a in runner.run(e) {
            state = step(state, a, runner);
        }
    }
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let sig = |k| signal(k).map_err(|e| format!("cannot watch signals: {e}"));
    // Every signal that would end the process: caught, so the terminal is given back
    // (SIGQUIT's default action left it raw, in the alternate screen).
    let (mut term, mut hup, mut int, mut quit) = (
        sig(SignalKind::terminate())?,
        sig(SignalKind::hangup())?,
        sig(SignalKind::interrupt())?,
        sig(SignalKind::quit())?,
    );
    state.dirty = true;
    let mut key_at: Option<Instant> = None;
    loop {
        if state.dirty {
            let mut hits = Default::default();
            terminal
                .draw(|f| hits = screens::render(&state, f))
                .map_err(|e| e.to_string())?;
            state.hits = hits;
            state.dirty = false;
            if let Some(at) = key_at.take() {
                trace.line("key", at);
            }
        }
        key_at = None;
        if state.quitting {
            return Ok(state);
        }
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => match to_action(ev) {
                    Some(a) => a,
                    None => continue,
                },
                Some(Err(e)) => return Err(format!("cannot read the terminal: {e}")),
                None => Action::Terminate,
            },
            Some(a) = rx.recv() => a,
            _ = tick.tick() => Action::Tick(SystemTime::now()),
            _ = term.recv() => Action::Terminate,
            _ = hup.recv() => Action::Terminate,
            _ = int.recv() => Action::Terminate,
            _ = quit.recv() => Action::Terminate,
        };
        if matches!(action, Action::Key(_)) {
            key_at = Some(Instant::now());
        }
        let was_dirty = state.dirty;
        state = step(state, action, runner);
        // Coalesce a burst of engine news into one frame.
        let mut n = 0;
        while n < COALESCE {
            let Ok(a) = rx.try_recv() else { break };
            let d = state.dirty;
            state = step(state, a, runner);
            state.dirty |= d;
            n += 1;
        }
        state.dirty |= was_dirty;
    }
}

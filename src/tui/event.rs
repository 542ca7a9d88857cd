//! The one event loop: the terminal's input (read on a thread of its own, see [`Input`]),
//! the engine's actions, a tick and the signals, `select!`ed. Every ready input event is
//! applied before the next frame. Every action goes through the pure `update`; the effects it
//! returns are handed to the runner. The screen is redrawn only when `update` says
//! something visible changed, and the loop never awaits the network.

use crate::tui::app::update;
use crate::tui::effects::Runner;
use crate::tui::screens;
use crate::tui::state::{Action, Effect, State};
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, KeyEventKind};
use ratatui::Terminal;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::Receiver;

/// How often the clock ticks (spinner, ages, the all-green pause).
pub const TICK: Duration = Duration::from_millis(250);

/// The most engine actions applied between two frames.
const COALESCE: usize = 512;

/// The most ready input events applied between two frames (a frame still comes at least
/// this often during an endless flood).
const DRAIN: usize = 100_000;

/// The terminal's input, read on a thread of its own with crossterm's blocking `poll` and
/// `read` and handed over on a channel, so that the loop can take every ready event at
/// once (`try_recv`). crossterm reads its input source level-triggered (the `use-dev-tty`
/// feature): its default source waits for epoll edges and left a burst of keys unread
/// until the next keypress (2,000 Down keys at once: about 1,060 handled).
pub struct Input {
    rx: tokio::sync::mpsc::UnboundedReceiver<std::io::Result<Event>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Input {
    pub fn start() -> Input {
        use std::sync::atomic::Ordering;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            use ratatui::crossterm::event::{poll, read};
            while !flag.load(Ordering::Relaxed) {
                match poll(Duration::from_millis(50)) {
                    Ok(false) => continue,
                    Ok(true) => {
                        let ev = read();
                        let failed = ev.is_err();
                        if tx.send(ev).is_err() || failed {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Input { rx, stop }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

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

/// Why the UI loop stopped before the user left.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    /// Sizing or drawing on the terminal failed (the backend's error).
    #[error("{0}")]
    Terminal(Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot watch signals: {0}")]
    Signals(std::io::Error),
    #[error("cannot read the terminal: {0}")]
    Input(std::io::Error),
}

/// Runs the UI until it quits. `initial` are the effects of the starting state.
pub async fn run<B: Backend, R: Runner>(
    terminal: &mut Terminal<B>,
    mut state: State,
    initial: Vec<Effect>,
    runner: &mut R,
    rx: &mut Receiver<Action>,
    mut trace: Trace,
) -> Result<State, LoopError>
where
    B::Error: Send + Sync + 'static,
{
    let drawing = |e: B::Error| LoopError::Terminal(Box::new(e));
    let size = terminal.size().map_err(drawing)?;
    state.size = (size.width, size.height);
    // The first frame before any engine work starts.
    let mut hits = Default::default();
    terminal
        .draw(|f| hits = screens::render(&state, f))
        .map_err(drawing)?;
    state.hits = hits;
    trace.first_frame();
    for e in initial {
        for a in runner.run(e) {
            state = step(state, a, runner);
        }
    }
    let mut input = Input::start();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let sig = |k| signal(k).map_err(LoopError::Signals);
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
                .map_err(drawing)?;
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
            ev = input.rx.recv() => match ev {
                Some(Ok(ev)) => match to_action(ev) {
                    Some(a) => a,
                    None => continue,
                },
                Some(Err(e)) => return Err(LoopError::Input(e)),
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
        // Every input event that is ready is handled before the next frame: a burst of
        // keys (or an unbracketed paste) never waits for the next keypress.
        let mut drained = 0;
        while !state.quitting && drained < DRAIN {
            match input.rx.try_recv() {
                Ok(Ok(ev)) => {
                    if let Some(a) = to_action(ev) {
                        let d = state.dirty;
                        state = step(state, a, runner);
                        state.dirty |= d;
                    }
                }
                Ok(Err(e)) => return Err(LoopError::Input(e)),
                Err(_) => break,
            }
            drained += 1;
        }
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

//! The TUI: the wizard (names → zone → CNAME → live poll → proof → client → done) and
//! the troubleshooter, on the engine. The library's other modules never print; this one
//! owns the terminal while it runs and gives it back on every exit path.
//!
//! - `state/`: State, Action, Effect, each screen's part of the state, moving between
//!   screens (`nav`); `app`: the pure `update`;
//! - `event`: the one `select!` loop; `effects`: runs effects on engine tasks;
//! - `screens/`: one file per screen; `widgets/`: the shared pieces.

pub mod app;
pub mod clipboard;
pub mod effects;
pub mod event;
pub mod screens;
pub mod state;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod tests;

use crate::engine::diagnose::DiagnoseOptions;
use crate::engine::Engine;
use crate::model::config::Config;
use crate::model::plan::Plan;
use effects::{EngineRunner, Runner};
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use state::{Effect, State};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

/// How the wizard starts.
pub struct WizardOptions {
    pub config: Config,
    /// A saved plan: the wizard offers to resume it (or opens at the poll, `at_poll`).
    pub plan: Option<Plan>,
    pub plan_path: Option<PathBuf>,
    /// `acme-delegate --plan FILE wizard`: straight to the live poll.
    pub at_poll: bool,
    /// Capture the mouse (clicks on list rows and keys); the terminal's own selection
    /// then needs Shift in most terminals.
    pub mouse: bool,
    /// The `--config` file, handed to the hooks the client writers set up.
    pub config_path: Option<PathBuf>,
}

/// How the troubleshooter starts.
pub struct TroubleshootOptions {
    pub config: Config,
    pub names: Vec<String>,
    /// The saved plan gives the expected targets (and the names, when none are given).
    pub plan: Option<Plan>,
    pub diagnose: DiagnoseOptions,
    pub mouse: bool,
}

/// The exit status after a signal (SIGTERM, SIGHUP, SIGINT, SIGQUIT), as every command's.
pub const INTERRUPTED: u8 = 130;

/// How a TUI session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// 0: the wizard reached its end / the troubleshooter found no error; 1 otherwise;
    /// [`INTERRUPTED`] after a signal.
    pub exit_code: u8,
    /// The last status line, for the shell.
    pub last_status: Option<String>,
    /// What the user leaves with (the wizard: verdict, plan, files, next commands).
    pub summary: Vec<String>,
}

/// Why the TUI could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the TUI needs a terminal on stdin and stdout; use `check`, `diagnose`, `plan` and `prove` in scripts")]
    NoTerminal,
    #[error("cannot set up the terminal: {0}")]
    Terminal(std::io::Error),
    #[error(transparent)]
    Loop(#[from] event::LoopError),
}

/// Opens the wizard.
pub async fn run_wizard(opts: WizardOptions) -> Result<Outcome, TuiError> {
    let theme = theme::Theme::from_env();
    let state = State::new(SystemTime::now(), theme);
    let (state, fx) = match opts.plan.clone() {
        Some(p) => state.with_plan(p, opts.plan_path.clone(), opts.at_poll),
        None => {
            let mut s = state;
            s.plan_path = opts.plan_path.clone();
            (s, vec![])
        }
    };
    let mut state = state;
    state.config_path = opts.config_path.clone();
    let plan = opts.plan;
    let plan_path = opts.plan_path;
    let config_path = opts.config_path;
    let end = session(opts.config, opts.mouse, state, fx, move |r| {
        r.plan = plan;
        r.plan_path = plan_path;
        r.config_path = config_path;
    })
    .await?;
    Ok(wizard_outcome(&end))
}

/// How the wizard ended: exit 0 only on the Done screen with the poll and the proof
/// passed for every name; the summary (verdict, plan, files, next commands, cron line)
/// is printed after the screen closes.
pub fn wizard_outcome(end: &State) -> Outcome {
    let done = end.screen == state::Screen::Wizard(state::Step::Done);
    let set_up = done && state::done::summary(end).set_up();
    Outcome {
        exit_code: if end.interrupted {
            INTERRUPTED
        } else {
            u8::from(!set_up)
        },
        last_status: end.status.as_ref().map(|s| s.text.clone()),
        summary: state::done::exit_summary(end),
    }
}

/// Opens the troubleshooter.
pub async fn run_troubleshooter(opts: TroubleshootOptions) -> Result<Outcome, TuiError> {
    let names = if opts.names.is_empty() {
        opts.plan
            .as_ref()
            .map(|p| p.names.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default()
    } else {
        opts.names.clone()
    };
    let state = State::new(SystemTime::now(), theme::Theme::from_env());
    let (state, fx) = state.troubleshooter(names);
    let (plan, diagnose) = (opts.plan, opts.diagnose);
    let end = session(opts.config, opts.mouse, state, fx, move |r| {
        r.plan = plan;
        r.diagnose = diagnose;
    })
    .await?;
    Ok(troubleshooter_outcome(end))
}

/// How the troubleshooter ended: 0 without an error finding, 1 with one (or when the run
/// did not finish), [`INTERRUPTED`] after a signal.
pub fn troubleshooter_outcome(end: State) -> Outcome {
    let errors = end
        .trouble
        .findings
        .iter()
        .any(|f| f.severity == crate::findings::Severity::Error);
    Outcome {
        exit_code: if end.interrupted {
            INTERRUPTED
        } else {
            u8::from(errors || end.trouble.checked_at.is_none())
        },
        last_status: end.status.map(|s| s.text),
        summary: vec![],
    }
}

/// Takes the terminal, runs the loop, gives the terminal back whatever happened.
async fn session(
    config: Config,
    mouse: bool,
    state: State,
    fx: Vec<Effect>,
    setup_runner: impl FnOnce(&mut EngineRunner<crate::dns::NetTransport>),
) -> Result<State, TuiError> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(TuiError::NoTerminal);
    }
    let trace = event::Trace::from_env(std::time::Instant::now());
    // The error reporter's panic hook must come first (ratatui's hook restores the
    // terminal, then calls it): the binary installs it at the top of main. Not again
    // here: a second install fails, and its error report resolves a backtrace, which
    // loads the debug symbols (tens of MB of memory for nothing).
    let mut terminal = ratatui::try_init().map_err(TuiError::Terminal)?;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(
            std::io::stdout(),
            DisableMouseCapture,
            DisableBracketedPaste
        );
        prev(info);
    }));
    let _ = execute!(std::io::stdout(), EnableBracketedPaste);
    if mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let engine = Engine::new(config);
    let mut runner = EngineRunner::new(engine, tx);
    setup_runner(&mut runner);
    let r = event::run(&mut terminal, state, fx, &mut runner, &mut rx, trace).await;
    runner.shutdown().await;
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste
    );
    ratatui::restore();
    r.map_err(TuiError::Loop)
}

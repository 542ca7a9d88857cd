//! Moving between screens: `go` stops what the old screen runs and starts what the new
//! one needs; `forward` and `back` walk the wizard's steps; `ask_quit` and `quit_now` leave.

use super::poll::PollState;
use super::{names, troubleshoot, zone};
use super::{Effect, Overlay, Screen, State, Step};
use crate::model::plan::Plan;
use crate::tui::theme::Level;
use crate::tui::widgets::poll_grid::Grid;
use std::path::PathBuf;

impl State {
    /// The wizard, on a saved plan: names and zone filled in, the plan's records ready.
    /// `at_poll` opens straight at the live poll (`--plan FILE wizard`); otherwise the
    /// user is asked whether to resume.
    pub fn with_plan(
        mut self,
        plan: Plan,
        path: Option<PathBuf>,
        at_poll: bool,
    ) -> (State, Vec<Effect>) {
        self.names = names::NamesState::from_plan(&plan);
        self.zone = zone::ZoneState::from_plan(&plan);
        self.plan = Some(plan);
        self.plan_path = path;
        let mut fx = Vec::new();
        if at_poll {
            go(&mut self, Screen::Wizard(Step::Poll), &mut fx);
        } else {
            self.overlay = Some(Overlay::Resume);
        }
        (self, fx)
    }

    /// The troubleshooter for these names; the first run starts at once.
    pub fn troubleshooter(mut self, names: Vec<String>) -> (State, Vec<Effect>) {
        self.trouble = troubleshoot::TroubleState::new(names);
        let mut fx = Vec::new();
        go(&mut self, Screen::Troubleshoot, &mut fx);
        (self, fx)
    }
}

/// Why the wizard cannot move on from a step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CannotLeave {
    #[error(transparent)]
    Names(#[from] names::NamesNotReady),
    #[error("set the zone up first: fill in the form and press Enter")]
    ZoneNotSet,
    #[error("this is the last step: press q to leave")]
    LastStep,
}

/// Can the wizard move on from here? Err says why not.
fn can_leave(s: &State, step: Step) -> Result<(), CannotLeave> {
    match step {
        Step::Names => names::ready(&s.names)
            .map(|_| ())
            .map_err(CannotLeave::from),
        Step::Zone if s.zone.result.is_none() => Err(CannotLeave::ZoneNotSet),
        Step::Done => Err(CannotLeave::LastStep),
        _ => Ok(()),
    }
}

pub fn forward(s: &mut State, fx: &mut Vec<Effect>) {
    let Screen::Wizard(step) = s.screen else {
        return;
    };
    if let Err(why) = can_leave(s, step) {
        s.say(Level::Bad, why.to_string());
        return;
    }
    if let Some(next) = step.next() {
        go(s, Screen::Wizard(next), fx);
    }
}

pub fn back(s: &mut State, fx: &mut Vec<Effect>) {
    match s.screen {
        Screen::Wizard(step) => match step.prev() {
            Some(p) => {
                go(s, Screen::Wizard(p), fx);
                // Back at the poll on purpose: it does not jump forward again by itself.
                s.poll.held = true;
            }
            None => s.say(Level::Info, "this is the first step"),
        },
        Screen::Troubleshoot => s.say(Level::Info, "the troubleshooter has one screen"),
    }
}

/// Moves to a screen: what the old one runs stops, what the new one needs starts.
pub fn go(s: &mut State, to: Screen, fx: &mut Vec<Effect>) {
    let from = s.screen;
    if from == Screen::Wizard(Step::Poll) && to != from {
        fx.push(Effect::CancelPoll);
        s.poll.all_green_at = None;
    }
    if from == Screen::Wizard(Step::Zone) && s.zone.running {
        fx.push(Effect::CancelSetup);
        s.zone.running = false;
    }
    if from == Screen::Wizard(Step::Proof) && s.proof.running {
        fx.push(Effect::CancelProof);
        s.proof.running = false;
    }
    s.screen = to;
    s.status = None;
    s.pane = Default::default();
    match to {
        Screen::Wizard(Step::Cname) => s.cname.selected = 0,
        Screen::Wizard(Step::Poll) => start_poll(s, fx),
        Screen::Wizard(Step::Done) => enter_done(s),
        Screen::Troubleshoot => run_diagnose(s, fx),
        _ => {}
    }
}

/// Starts (or restarts) the live poll, on a fresh grid.
pub fn start_poll(s: &mut State, fx: &mut Vec<Effect>) {
    let names = s.plan_names();
    s.poll = PollState {
        grid: Grid::with_names(&names),
        ..Default::default()
    };
    s.say(
        Level::Info,
        "polling: the authoritative servers first, then the resolvers",
    );
    fx.push(Effect::StartPoll { names });
}

/// The Done screen's status line: "all set" only once the poll and the proof passed
/// for every name.
pub fn enter_done(s: &mut State) {
    if super::done::summary(s).set_up() {
        s.say(Level::Ok, "all set: c copies the cron line, q leaves");
    } else {
        s.say(
            Level::Bad,
            "not verified (see above): b goes back, q leaves with exit status 1",
        );
    }
}

/// Starts (or restarts) the diagnosis.
pub fn run_diagnose(s: &mut State, fx: &mut Vec<Effect>) {
    if s.trouble.names.is_empty() {
        s.say(
            Level::Bad,
            "no names: give them on the command line, or save a plan with the wizard first",
        );
        return;
    }
    if s.trouble.running {
        return;
    }
    s.trouble.running = true;
    s.trouble.progress = Some((0, s.trouble.names.len()));
    s.trouble.last = None;
    s.say(Level::Info, "diagnosing on fresh answers… Esc cancels");
    fx.push(Effect::RunDiagnose {
        names: s.trouble.names.clone(),
    });
}

/// q/Esc: confirm first when something is unsaved or running.
pub fn ask_quit(s: &mut State, fx: &mut Vec<Effect>) {
    if s.unsaved || s.busy() {
        s.overlay = Some(Overlay::ConfirmQuit);
    } else {
        quit_now(s, fx);
    }
}

/// Leaves: everything running is cancelled first.
pub fn quit_now(s: &mut State, fx: &mut Vec<Effect>) {
    s.overlay = None;
    if s.screen == Screen::Wizard(Step::Poll) {
        fx.push(Effect::CancelPoll);
    }
    if s.zone.running {
        fx.push(Effect::CancelSetup);
    }
    if s.proof.running {
        fx.push(Effect::CancelProof);
    }
    if s.trouble.running {
        fx.push(Effect::CancelDiagnose);
    }
    fx.push(Effect::Quit);
    s.quitting = true;
}

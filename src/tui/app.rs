//! The TUI's model: [`State`], what happened ([`Action`]: keys, paste, resize, mouse,
//! ticks, engine results) and what to do ([`Effect`]: start or cancel engine work, copy,
//! save, quit). [`update`] is pure: it reads no clock, touches no terminal and no network,
//! so every transition is a unit test. The screens' own transitions live beside their
//! drawing in `screens/*.rs` and are called from here.

use crate::clients::write::Client;
use crate::engine::poll::PollEnd;
use crate::engine::prove::{ProveEvent, ProveReport};
use crate::engine::views::VantageKind;
use crate::findings::Finding;
use crate::model::plan::Plan;
use crate::tui::clipboard::CopyReport;
use crate::tui::screens::{self, client, cname, done, names, poll, proof, troubleshoot, zone};
use crate::tui::theme::{Level, Theme};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::poll_grid::GridHit;
use crate::zones::kinds::ZoneError;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use crate::tui::screens::zone::{KeyInput, Secret, ZoneInput};

/// The wizard's steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Names,
    Zone,
    Cname,
    Poll,
    Proof,
    Client,
    Done,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Names,
        Step::Zone,
        Step::Cname,
        Step::Poll,
        Step::Proof,
        Step::Client,
        Step::Done,
    ];

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    pub fn prev(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Names => "Names",
            Step::Zone => "Zone",
            Step::Cname => "CNAME",
            Step::Poll => "Poll",
            Step::Proof => "Proof",
            Step::Client => "Client",
            Step::Done => "Done",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Wizard(Step),
    Troubleshoot,
}

/// One cell of the live-poll grid, as the poller reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellStatus {
    /// Not asked yet, or waiting on something (the authoritative servers, a TTL).
    Waiting,
    /// Green: this vantage point sees the right CNAME.
    Ok,
    Warn,
    /// Red: wrong target, NXDOMAIN cached, SERVFAIL, timeout, ...
    Bad,
    /// An authoritative server that is not on this name's chain (another name's is).
    Off,
}

impl CellStatus {
    pub fn level(self) -> Level {
        match self {
            CellStatus::Waiting => Level::Waiting,
            CellStatus::Ok => Level::Ok,
            CellStatus::Warn => Level::Warn,
            CellStatus::Bad => Level::Bad,
            CellStatus::Off => Level::Info,
        }
    }
}

/// What one vantage point said about one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellUpdate {
    /// The identifier (`www.example.com`).
    pub name: String,
    /// The vantage point: an authoritative server's name, a resolver's name, `system`.
    pub vantage: String,
    pub kind: VantageKind,
    pub status: CellStatus,
    /// A few words for the cell: `CNAME ok`, `wrong target`, `NXDOMAIN`, `SERVFAIL`.
    pub short: String,
    /// The whole story: `NXDOMAIN cached until 12:03:10`, what it waits on.
    pub detail: String,
    /// When the answer came.
    pub at: SystemTime,
}

/// Who asked for findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Poll,
    Troubleshoot,
}

/// Findings per name, from a check round (poll) or a diagnose run (troubleshooter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Findings {
    pub purpose: Purpose,
    pub by_name: Vec<(String, Vec<Finding>)>,
    pub at: SystemTime,
}

/// The proof's progress.
#[derive(Clone, Debug)]
pub enum ProofUpdate {
    Event(ProveEvent),
    Done(ProveReport),
    /// This kind of zone cannot publish a test TXT itself (provider, hosted).
    Unavailable(ZoneError),
}

/// What the zone step asks the engine to set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupRequest {
    pub names: Vec<String>,
    pub zone: ZoneInput,
}

/// A finished setup: the plan (targets computed, accounts registered), the audit's
/// findings and lines worth showing (the scope probe's verdict, registrations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    pub plan: Plan,
    pub findings: Vec<Finding>,
    pub notes: Vec<(Level, String)>,
}

/// How a file would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    New,
    Changed,
    Same,
}

/// One line of a diff: `+`, `-` or ` `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// A file an issuing client needs, as previewed: secrets already masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    pub client: String,
    pub path: PathBuf,
    pub mode: u32,
    pub change: FileChange,
    pub diff: Vec<DiffLine>,
}

/// The files for the picked clients, and the command to run next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    pub files: Vec<PlannedFile>,
    pub next_command: Option<String>,
    /// What the writers want said before anything is written (warnings, notes).
    pub notes: Vec<String>,
}

/// Everything that can happen.
#[derive(Clone, Debug)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Mouse(MouseEvent),
    Tick(SystemTime),
    /// The live poll started: the grid's columns (the authoritative servers, then each
    /// vantage point), every cell waiting.
    PollStarted {
        columns: Vec<(String, VantageKind)>,
    },
    CellUpdate(CellUpdate),
    /// A polled name's cells for each authoritative server of each hop of its chain (the
    /// servers of other names' chains are off its chain).
    ServerCells {
        name: String,
        cells: Vec<CellUpdate>,
    },
    /// A finding about a polled name; it explains the name's authoritative cell (the
    /// findings that follow a changed authoritative cell replace the old ones).
    PollFinding {
        name: String,
        finding: Box<Finding>,
    },
    /// A poll round is over: `ok` of `total` names work from every vantage point.
    PollRound {
        round: u64,
        ok: usize,
        total: usize,
    },
    /// The poll stopped by itself (every name works, or its time ran out).
    PollEnded(PollEnd),
    FindingsReady(Findings),
    /// The troubleshooter's progress: names done of total, the last one done.
    DiagnoseProgress {
        done: usize,
        total: usize,
        last: Option<String>,
    },
    ProofUpdate(ProofUpdate),
    RegisterDone(Result<Setup, ZoneError>),
    FilesPlanned(Result<FilePlan, String>),
    FilesWritten(Result<Vec<PathBuf>, String>),
    Copied(Result<CopyReport, String>),
    Saved(Result<PathBuf, String>),
    /// An engine task died (a panic): the UI cannot go on honestly.
    EngineFailed(String),
    /// SIGTERM/SIGHUP/SIGINT: leave now (running work is cancelled, proofs cleaned up).
    Terminate,
}

/// Everything the UI asks for; the effects runner does it and answers with actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    StartPoll {
        names: Vec<String>,
    },
    CancelPoll,
    RunSetup(Box<SetupRequest>),
    CancelSetup,
    StartProof {
        names: Vec<String>,
    },
    CancelProof,
    RunDiagnose {
        names: Vec<String>,
    },
    CancelDiagnose,
    PlanFiles {
        clients: Vec<Client>,
    },
    /// Writes the files of the last `FilesPlanned` (the runner holds their real content).
    WriteFiles,
    Copy {
        what: String,
        text: String,
    },
    SaveState {
        plan: Box<Plan>,
    },
    Quit,
}

/// A popup over the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit,
    /// A finding's evidence and fix.
    Finding(Box<Finding>),
    /// A saved plan exists: resume it?
    Resume,
}

/// The status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub level: Level,
    pub text: String,
}

impl Status {
    pub fn new(level: Level, text: impl Into<String>) -> Status {
        Status {
            level,
            text: text.into(),
        }
    }
}

/// Which list a click landed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListId {
    Kinds,
    Fields,
    Records,
    Clients,
    Files,
    Findings,
}

/// Where the last frame drew its clickable parts (and the scroll offsets it used).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    pub keys: Vec<(Rect, KeyEvent)>,
    pub lists: Vec<(ListId, ListHit)>,
    pub grid: Option<GridHit>,
}

impl Hits {
    pub fn list(&self, id: ListId) -> Option<ListHit> {
        self.lists.iter().find(|(i, _)| *i == id).map(|(_, h)| *h)
    }

    /// The first row the list showed last time (its scroll offset).
    pub fn first(&self, id: ListId) -> usize {
        self.list(id).map(|h| h.first).unwrap_or(0)
    }
}

/// The whole UI state.
#[derive(Clone, Debug)]
pub struct State {
    pub screen: Screen,
    pub names: names::NamesState,
    pub zone: zone::ZoneState,
    pub cname: cname::CnameState,
    pub poll: poll::PollState,
    pub proof: proof::ProofState,
    pub client: client::ClientState,
    pub done: done::DoneState,
    pub trouble: troubleshoot::TroubleState,
    /// The plan as set up (or resumed).
    pub plan: Option<Plan>,
    pub plan_path: Option<PathBuf>,
    /// Something the user did is not saved yet (names typed, a plan not written).
    pub unsaved: bool,
    pub overlay: Option<Overlay>,
    pub status: Option<Status>,
    pub size: (u16, u16),
    /// The last tick's clock (ages of answers are shown against it).
    pub now: SystemTime,
    /// Spinner frame.
    pub frame: u64,
    pub theme: Theme,
    pub hits: Hits,
    /// The screen must be redrawn.
    pub dirty: bool,
    /// Quit was decided (the loop ends after running the effects).
    pub quitting: bool,
}

/// The smallest screen that works.
pub const MIN_SIZE: (u16, u16) = (80, 24);

impl State {
    pub fn new(now: SystemTime, theme: Theme) -> State {
        State {
            screen: Screen::Wizard(Step::Names),
            names: Default::default(),
            zone: Default::default(),
            cname: Default::default(),
            poll: Default::default(),
            proof: Default::default(),
            client: Default::default(),
            done: Default::default(),
            trouble: Default::default(),
            plan: None,
            plan_path: None,
            unsaved: false,
            overlay: None,
            status: None,
            size: MIN_SIZE,
            now,
            frame: 0,
            theme,
            hits: Hits::default(),
            dirty: true,
            quitting: false,
        }
    }

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

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_SIZE.0 || self.size.1 < MIN_SIZE.1
    }

    /// The plan's identifiers, in order.
    pub fn plan_names(&self) -> Vec<String> {
        self.plan
            .as_ref()
            .map(|p| p.names.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default()
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(Status::new(level, text));
    }

    /// Rows a full-height list gets on screen (the frame takes 4 rows around the body).
    pub fn body_rows(&self) -> usize {
        self.size.1.saturating_sub(6) as usize
    }

    /// Some engine work runs that Esc should cancel rather than quit.
    pub fn busy(&self) -> bool {
        self.zone.running || self.proof.running || self.trouble.running || self.client.busy
    }
}

/// The pure transition function.
pub fn update(mut s: State, a: Action) -> (State, Vec<Effect>) {
    let mut fx = Vec::new();
    s.dirty = true;
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
            Ok(rep) => s.say(Level::Ok, rep.line()),
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
        Action::Terminate => quit_now(&mut s, &mut fx),
    }
    (s, fx)
}

/// How long the all-green grid stays on screen before the wizard moves on.
pub const ADVANCE_AFTER: Duration = Duration::from_secs(2);

/// Ticks move the spinner and the ages; they redraw only when something shows them.
fn on_tick(s: &mut State, now: SystemTime, fx: &mut Vec<Effect>) -> bool {
    let second_changed = secs(now) != secs(s.now);
    s.now = now;
    s.frame = s.frame.wrapping_add(1);
    if s.screen == Screen::Wizard(Step::Poll) {
        if let Some(at) = s.poll.all_green_at {
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
        KeyCode::Esc => ask_quit(s, fx),
        KeyCode::Char('q') if !typing => ask_quit(s, fx),
        KeyCode::Char('b') if !typing => back(s, fx),
        KeyCode::Char('n') if !typing => forward(s, fx),
        _ => s.dirty = false,
    }
}

fn on_overlay_key(s: &mut State, o: Overlay, k: KeyEvent, fx: &mut Vec<Effect>) {
    match o {
        Overlay::Help => s.overlay = None,
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
            _ => s.overlay = None,
        },
        Overlay::Resume => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                s.overlay = None;
                s.zone.result = s.plan.clone().map(|plan| Setup {
                    notes: vec![(Level::Info, "resumed from the saved plan".to_string())],
                    plan,
                    findings: vec![],
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

/// Can the wizard move on from here? Err says why not.
fn can_leave(s: &State, step: Step) -> Result<(), String> {
    match step {
        Step::Names => names::ready(&s.names).map(|_| ()),
        Step::Zone if s.zone.result.is_none() => {
            Err("set the zone up first: fill in the form and press Enter".into())
        }
        Step::Done => Err("this is the last step: press q to leave".into()),
        _ => Ok(()),
    }
}

pub fn forward(s: &mut State, fx: &mut Vec<Effect>) {
    let Screen::Wizard(step) = s.screen else {
        return;
    };
    if let Err(why) = can_leave(s, step) {
        s.say(Level::Bad, why);
        return;
    }
    if let Some(next) = step.next() {
        go(s, Screen::Wizard(next), fx);
    }
}

pub fn back(s: &mut State, fx: &mut Vec<Effect>) {
    match s.screen {
        Screen::Wizard(step) => match step.prev() {
            Some(p) => go(s, Screen::Wizard(p), fx),
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
    match to {
        Screen::Wizard(Step::Cname) => s.cname.selected = 0,
        Screen::Wizard(Step::Poll) => poll::enter(s, fx),
        Screen::Wizard(Step::Done) => done::enter(s),
        Screen::Troubleshoot => troubleshoot::run(s, fx),
        _ => {}
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

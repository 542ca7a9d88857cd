//! The TUI's vocabulary, below the screens: the whole [`State`] (one part per screen,
//! in this folder's files), what happens ([`Action`]: keys, paste, resize, mouse, ticks,
//! engine results) and what to do ([`Effect`]: start or cancel engine work, copy, save,
//! quit). `nav` moves between screens. Nothing here draws.

pub mod client;
pub mod cname;
pub mod done;
pub mod names;
pub mod nav;
pub mod poll;
pub mod proof;
pub mod troubleshoot;
pub mod zone;

use crate::clients::write::Client;
use crate::engine::events::Event;
use crate::engine::poll::PollEnd;
use crate::engine::prove::ProveReport;
use crate::engine::views::VantageKind;
use crate::findings::Finding;
use crate::model::plan::Plan;
use crate::tui::clipboard::{CopyReport, Osc52Error};
use crate::tui::theme::{Level, Theme};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::poll_grid::{CellUpdate, GridHit};
use crate::tui::widgets::text_pane::{PaneHit, PaneState};
use crate::zones::kinds::ZoneError;
use client::FilePlan;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use zone::{Setup, SetupRequest};

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
    Event(Event),
    Done(ProveReport),
    /// This kind of zone cannot publish a test TXT itself (provider, hosted).
    Unavailable(ZoneError),
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
    FilesPlanned(Result<FilePlan, client::FilesError>),
    FilesWritten(Result<Vec<PathBuf>, client::FilesError>),
    Copied(Result<CopyReport, Arc<Osc52Error>>),
    Saved(Result<PathBuf, Arc<crate::model::plan::PlanFileError>>),
    /// An engine task died (a panic): the UI cannot go on honestly.
    EngineFailed(String),
    /// SIGTERM/SIGHUP/SIGINT/SIGQUIT: leave now (running work is cancelled, proofs cleaned
    /// up); the process exits 130.
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
        options: client::ClientOptions,
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
    /// The screen's scrolling text pane.
    pub pane: Option<PaneHit>,
    /// The popup's scrolling text.
    pub popup_pane: Option<PaneHit>,
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
    /// The `--config` file, named in the commands this session prints.
    pub config_path: Option<PathBuf>,
    /// Something the user did is not saved yet (names typed, a plan not written).
    pub unsaved: bool,
    pub overlay: Option<Overlay>,
    /// How far the screen's text pane is scrolled (back to the top on a new screen).
    pub pane: PaneState,
    /// How far the popup's text is scrolled (back to the top on a new popup).
    pub popup_pane: PaneState,
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
    /// Left on a signal (SIGTERM, SIGHUP, SIGINT, SIGQUIT): the process exits 130.
    pub interrupted: bool,
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
            config_path: None,
            unsaved: false,
            overlay: None,
            pane: PaneState::default(),
            popup_pane: PaneState::default(),
            status: None,
            size: MIN_SIZE,
            now,
            frame: 0,
            theme,
            hits: Hits::default(),
            dirty: true,
            quitting: false,
            interrupted: false,
        }
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

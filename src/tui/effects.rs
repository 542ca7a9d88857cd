//! Runs the [`Effect`]s `update` asks for, on engine tasks; results come back as
//! [`Action`]s on the loop's channel (or at once, for the quick ones: copy).
//!
//! Everything goes through the engine, nothing is copied here:
//! - setup: `zones::keystore::store_tsig_key`, `Engine::make_plan` (which opens the zone), `Plan::save`;
//! - the live poll: `Engine::poll`; its [`Event::Cell`]s become grid cells (the
//!   authoritative servers first, the resolvers only once those are right), and the
//!   findings that follow a changed authoritative cell explain it;
//! - the troubleshooter: `Engine::diagnose`, its `NameDone` events the progress;
//! - the proof: `Engine::prove`;
//! - client files: the writers (`clients::write::write`), then the one IO step
//!   (`engine::write`): `preview` (diff, secrets masked), then `apply`.

use crate::clients::write::{self as writers, Client, WriteOptions};
use crate::dns::{Name, Transport};
use crate::engine::check::CheckOptions;
use crate::engine::diagnose::{DiagnoseOptions, DiagnoseRequest};
use crate::engine::events::{CellState, Event, EventSink, Reason};
use crate::engine::poll::{PollOptions, PollRequest, AUTHORITATIVE};
use crate::engine::prove::{ProveOptions, ProveRequest};
use crate::engine::setup::{PlanRequest, SetupError};
use crate::engine::views::VantageKind;
use crate::engine::write as io;
use crate::engine::Engine;
use crate::findings::Code;
use crate::model::name::{parse_all, parse_target, InputName, NameError};
use crate::model::plan::{Plan, PlanFileError, ZoneSpec};
use crate::tui::clipboard::Clipboard;
use crate::tui::screens::troubleshoot::clock;
use crate::tui::state::client::{
    ClientNext, DiffLine, FileChange, FilePlan, FilesError, PlannedFile,
};
use crate::tui::state::zone::{KeyInput, Setup, SetupRequest, ZoneInput};
use crate::tui::state::{Action, Effect, Findings, ProofUpdate, Purpose};
use crate::tui::theme::Level;
use crate::tui::widgets::poll_grid::{CellStatus, CellUpdate};
use crate::zones::acme_dns::{storage_key, AccountStore};
use crate::zones::keystore::{self, KeyStoreError};
use crate::zones::kinds::ZoneError;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::{Sender, UnboundedReceiver};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// Runs effects. `run` must not block: long work goes to a task that answers on the
/// channel; quick results are returned.
pub trait Runner {
    fn run(&mut self, effect: Effect) -> Vec<Action>;
    /// Called once when the UI leaves: cancel everything, wait (bounded) for clean-ups.
    fn shutdown(&mut self) -> BoxFuture<'_, ()>;
}

/// The shortest pause between two poll rounds, whatever the config says.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(250);

// ---- the live poll's cells ---------------------------------------------------------------

/// A few words (at most 8 columns) for a reason of a wrong authoritative cell: a word
/// for the finding's code, or what the server answered (`TIMEOUT`).
fn short_why(why: &Reason) -> String {
    match why {
        Reason::NoCname => "no CNAME".into(),
        // One server's own fault.
        Reason::Lame { .. } => "lame".into(),
        Reason::Differs { .. } => "differs".into(),
        Reason::Server { outcome, .. } => outcome.label(),
        Reason::Finding { code, .. } => {
            let code = code.as_str();
            for (part, word) in [
                ("MISSING", "no CNAME"),
                ("WRONG", "wrong"),
                ("LOOP", "loop"),
            ] {
                if code.contains(part) {
                    return word.into();
                }
            }
            code.rsplit('_').next().unwrap_or(code).to_ascii_lowercase()
        }
    }
}

/// What to do about a wrong authoritative cell.
fn way_forward(why: &[Reason]) -> &'static str {
    if why.iter().any(Reason::is_server) {
        "a server of the chain does not answer as it should: start it or fix its address; \
         the poll goes on by itself"
    } else if why.iter().any(Reason::is_no_cname) {
        "publish the CNAME of step 3 in your DNS panel (b goes back to it); the poll sees \
         it by itself"
    } else {
        "Enter explains it and shows the fix; the poll goes on by itself"
    }
}

/// The reasons in a line, `; ` between them.
fn joined(why: &[Reason]) -> String {
    why.iter()
        .map(Reason::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One poll cell's state, as the grid shows it.
pub fn cell_update(
    name: String,
    vantage: String,
    kind: VantageKind,
    state: &CellState,
    at: SystemTime,
) -> CellUpdate {
    let auth = kind == VantageKind::Authoritative;
    let one_server = auth && vantage != AUTHORITATIVE;
    let (status, short, detail) = match state {
        CellState::Ok if one_server => (
            CellStatus::Ok,
            "CNAME ok".into(),
            "answers authoritatively, as the other servers do, and the chain is right".into(),
        ),
        CellState::Waiting if auth => (
            CellStatus::Waiting,
            "asking".to_string(),
            "asking every authoritative server of every hop".to_string(),
        ),
        CellState::Waiting => (
            CellStatus::Waiting,
            "waits".into(),
            "waits for the authoritative servers to be right (asked earlier, it would cache \
             a negative answer)"
                .into(),
        ),
        CellState::Ok if auth => (
            CellStatus::Ok,
            "CNAME ok".into(),
            "every authoritative server of every hop gives the right chain".into(),
        ),
        CellState::Ok => (
            CellStatus::Ok,
            "CNAME ok".into(),
            "gives the same chain as the authoritative servers".into(),
        ),
        CellState::Wrong { why } => (
            CellStatus::Bad,
            why.first().map(short_why).unwrap_or_else(|| "wrong".into()),
            format!("not right yet: {}; {}", joined(why), way_forward(why)),
        ),
        CellState::Negative { until } => (
            CellStatus::Waiting,
            "cached".into(),
            format!(
                "serves a cached negative answer until {}; not asked again before then \
                 (its negative TTL: lower the zone's SOA minimum to wait less next time)",
                clock(*until)
            ),
        ),
        CellState::Stale { until } => (
            CellStatus::Waiting,
            "stale".into(),
            format!(
                "serves an older cached chain until {}; not asked again before then",
                clock(*until)
            ),
        ),
        CellState::Failed { outcome } => (
            CellStatus::Bad,
            outcome.label(),
            format!(
                "no usable answer ({outcome}); asked again next round. If it stays, check \
                 that this {} is up and reachable from here",
                if auth { "name server" } else { "resolver" }
            ),
        ),
    };
    CellUpdate {
        name,
        vantage,
        kind,
        status,
        short,
        detail,
        at,
    }
}

/// A poll event as what the UI needs of it (None: nothing to show).
pub fn poll_action(ev: Event, at: SystemTime) -> Option<Action> {
    Some(match ev {
        Event::Cell {
            name,
            vantage,
            kind,
            state,
        } => Action::CellUpdate(cell_update(name, vantage, kind, &state, at)),
        Event::Servers { name, servers } => Action::ServerCells {
            cells: servers
                .iter()
                .map(|sc| {
                    let mut u = cell_update(
                        name.clone(),
                        sc.vantage(),
                        VantageKind::Authoritative,
                        &sc.state,
                        at,
                    );
                    u.detail = format!("a server of {}: {}", sc.zone, u.detail);
                    u
                })
                .collect(),
            name,
        },
        Event::Finding { name, finding } => Action::PollFinding {
            name,
            finding: Box::new(finding),
        },
        Event::RoundDone { round, ok, total } => Action::PollRound { round, ok, total },
        _ => return None,
    })
}

/// Forwards engine events as actions until the sink closes; drops them once `cancel`.
async fn forward(
    mut rx: UnboundedReceiver<Event>,
    tx: Sender<Action>,
    cancel: CancellationToken,
    map: impl Fn(Event) -> Option<Action>,
) {
    while let Some(ev) = rx.recv().await {
        if cancel.is_cancelled() {
            continue;
        }
        if let Some(a) = map(ev) {
            if tx.send(a).await.is_err() {
                return;
            }
        }
    }
}

// ---- setup ---------------------------------------------------------------------------

fn zerr(message: impl Into<String>, fix: impl Into<String>) -> ZoneError {
    ZoneError::new(message, fix)
}

/// A key typed in the zone step that could not be stored, with its way forward.
fn key_store_error(e: KeyStoreError) -> ZoneError {
    match e {
        KeyStoreError::Key(e) => zerr(
            format!("the key: {e}"),
            "check the key name, algorithm and secret",
        ),
        e => zerr(e.message(), "give a key file instead"),
    }
}

/// An engine setup error, with its way forward, for the zone step.
pub fn setup_error(e: SetupError) -> ZoneError {
    match e {
        SetupError::Zone(z) => z,
        SetupError::Unusable(f) => zerr(format!("{}: {}", f.code, f.evidence), f.fix.clone()),
        SetupError::Target { name, error } => zerr(format!("{name}: {}", error.message), error.fix),
        e => zerr(
            e.to_string(),
            "change the form and press Enter to try again",
        ),
    }
}

async fn spec_of(input: &ZoneInput) -> Result<ZoneSpec, ZoneError> {
    let dns = |s: &str, what: &str| {
        parse_target(s)
            .map_err(|e| zerr(format!("{what}: {}", e.reason), format!("fix the {what}")))
    };
    Ok(match input {
        ZoneInput::AcmeDns {
            api,
            allowfrom,
            storage,
            ..
        } => ZoneSpec::AcmeDns {
            api: api.clone(),
            storage: storage.clone(),
            allowfrom: allowfrom.clone(),
            domain: None,
        },
        ZoneInput::Rfc2136 { server, zone, key } => ZoneSpec::Rfc2136 {
            server: server.clone(),
            zone: dns(zone, "zone")?,
            key_file: match key {
                KeyInput::File(p) => p.clone(),
                KeyInput::Inline {
                    name,
                    algorithm,
                    secret,
                } => keystore::store_tsig_key(format!(
                    "{algorithm}:{name}:{}",
                    secret.expose().trim()
                ))
                .await
                .map(|k| k.path)
                .map_err(key_store_error)?,
            },
        },
        ZoneInput::Provider { provider, domain } => ZoneSpec::Provider {
            api: None,
            key_file: None,
            provider: provider.clone(),
            domain: dns(domain, "zone")?,
        },
        ZoneInput::Hosted { target } => ZoneSpec::Hosted {
            target: dns(target, "target")?,
        },
    })
}

/// "reuse existing accounts": every name must have one already.
async fn accounts_exist(storage: Option<PathBuf>, names: &[InputName]) -> Result<(), ZoneError> {
    let keys: Vec<String> = names.iter().map(storage_key).collect();
    let r = tokio::task::spawn_blocking(move || {
        let store = AccountStore::open(storage.as_deref())
            .map_err(|e| zerr(e.to_string(), "check the storage dir"))?;
        for key in keys {
            let found = store
                .get(&key)
                .map_err(|e| zerr(e.to_string(), "check the account file"))?;
            if found.is_none() {
                return Err(zerr(
                    format!("no acme-dns account for {key} in {}", store.dir().display()),
                    "switch accounts to 'register new', or give the storage dir that holds them",
                ));
            }
        }
        Ok(())
    })
    .await;
    r.unwrap_or_else(|e| Err(zerr(e.to_string(), "try again")))
}

/// The zone step, as `acme-delegate plan` does it: the engine opens the zone, audits it
/// (the RFC 2136 scope probe, acme-dns health), registers and computes the targets.
pub async fn setup<T: Transport>(
    engine: &Arc<Engine<T>>,
    req: SetupRequest,
) -> Result<Setup, ZoneError> {
    let names =
        parse_all(&req.names).map_err(|e| zerr(e.to_string(), "go back and fix the name"))?;
    let spec = spec_of(&req.zone).await?;
    if let ZoneInput::AcmeDns {
        register: false,
        storage,
        ..
    } = &req.zone
    {
        accounts_exist(storage.clone(), &names).await?;
    }
    let req = PlanRequest { zone: spec, names };
    let out = engine
        .make_plan(&req, &CancellationToken::new(), &EventSink::none())
        .await
        .map_err(setup_error)?;
    let mut notes = Vec::new();
    match &out.plan.zone {
        ZoneSpec::Rfc2136 { .. }
            if !out
                .findings
                .iter()
                .any(|f| f.code == Code::TsigOverprivileged) =>
        {
            notes.push((
                Level::Ok,
                "scope probe: the server refused an A record with this key, so it cannot \
                 write more than TXT (a key the server rejects looks the same: the proof \
                 step tells)"
                    .to_string(),
            ))
        }
        ZoneSpec::AcmeDns { .. } => notes.push((
            Level::Ok,
            format!(
                "acme-dns accounts ready for {} name(s)",
                out.plan.names.len()
            ),
        )),
        _ => {}
    }
    let ns_alternatives = out
        .plan
        .names
        .iter()
        .filter_map(|p| out.ns_alternative(&p.challenge))
        .collect();
    Ok(Setup {
        ns_alternatives,
        plan: out.plan,
        findings: out.findings,
        notes,
    })
}

// ---- client files --------------------------------------------------------------------

/// The lines of a unified diff, without its headers.
fn diff_lines(diff: &str) -> Vec<DiffLine> {
    // The `---`/`+++` file header comes before the first hunk; inside a hunk every line is
    // content: a removed line `-- x` reads `--- x`.
    let mut in_hunk = false;
    diff.lines()
        .filter(|l| {
            if l.starts_with("@@") {
                in_hunk = true;
                return false;
            }
            in_hunk || !(l.starts_with("---") || l.starts_with("+++"))
        })
        .map(|l| {
            let mut c = l.chars();
            let sign = c.next().filter(|s| matches!(s, '+' | '-')).unwrap_or(' ');
            DiffLine {
                sign,
                text: c.as_str().to_string(),
            }
        })
        .collect()
}

/// Runs the writers for `clients` and previews their files (masked diffs). The files
/// with their real content are returned for `apply`.
pub fn plan_files(
    plan: &Plan,
    opts: WriteOptions,
    clients: &[Client],
    now: time::OffsetDateTime,
) -> Result<(FilePlan, Vec<writers::PlannedFile>), FilesError> {
    let req = io::FilesRequest {
        plan,
        options: opts,
        clients: clients.to_vec(),
        preview: Some(now),
    };
    let io::ClientFiles {
        outputs,
        files,
        preview,
    } = io::client_files(req)?;
    let mut owners: Vec<Client> = Vec::new();
    let mut next = Vec::new();
    let mut notes = Vec::new();
    for (c, out) in &outputs {
        next.push(ClientNext {
            client: c.to_string(),
            commands: out.next_commands.clone(),
            notes: out.notes.clone(),
        });
        notes.extend(
            out.findings
                .iter()
                .map(|f| format!("{c}: {} {}: {}", f.severity, f.code, f.evidence)),
        );
        notes.extend(out.notes.iter().map(|n| format!("{c}: {n}")));
        owners.extend(std::iter::repeat_n(*c, out.files.len()));
    }
    let previews = preview
        .unwrap_or_else(|| Ok(vec![]))
        .map_err(|e| FilesError::Preview(Arc::new(e)))?;
    let shown = previews
        .iter()
        .zip(&owners)
        .zip(&files)
        .map(|((p, c), f)| PlannedFile {
            client: c.to_string(),
            path: p.path.clone(),
            mode: f.mode,
            change: match p.action {
                io::Action::Create => FileChange::New,
                io::Action::Unchanged => FileChange::Same,
                io::Action::Replace { .. } => FileChange::Changed,
            },
            diff: diff_lines(&p.diff),
        })
        .collect();
    Ok((
        FilePlan {
            files: shown,
            next,
            notes,
        },
        files,
    ))
}

// ---- the runner ----------------------------------------------------------------------

/// The runner on the real engine.
pub struct EngineRunner<T: Transport> {
    pub engine: Arc<Engine<T>>,
    pub tx: Sender<Action>,
    pub diagnose: DiagnoseOptions,
    pub prove: ProveOptions,
    pub plan: Option<Plan>,
    pub plan_path: Option<PathBuf>,
    /// The `--config` file, handed to the hooks the writers set up.
    pub config_path: Option<PathBuf>,
    /// The longest the live poll runs before it stops by itself (r restarts it).
    pub poll_timeout: Duration,
    pub clipboard: Clipboard,
    poll: Option<CancellationToken>,
    setup: Option<AbortHandle>,
    diagnosis: Option<CancellationToken>,
    proof: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// The files of the last preview, with their real content.
    /// The files of the last preview, with the plan they were made from: Enter writes
    /// them only while that is still the plan (a new plan needs a new preview).
    writes: Arc<Mutex<(Option<Plan>, Vec<writers::PlannedFile>)>>,
}

impl<T: Transport + 'static> EngineRunner<T> {
    pub fn new(engine: Arc<Engine<T>>, tx: Sender<Action>) -> Self {
        EngineRunner {
            engine,
            tx,
            diagnose: DiagnoseOptions::default(),
            prove: ProveOptions::default(),
            plan: None,
            plan_path: None,
            config_path: None,
            poll_timeout: Duration::from_secs(24 * 3600),
            clipboard: Clipboard::from_env(),
            poll: None,
            setup: None,
            diagnosis: None,
            proof: None,
            writes: Arc::new(Mutex::new((None, Vec::new()))),
        }
    }

    /// Spawns engine work; a panic in it is reported as `EngineFailed` (fatal for the UI).
    /// The handle returned ends when the work ends.
    fn spawn(
        &self,
        fut: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let tx = self.tx.clone();
        let h = tokio::spawn(fut);
        tokio::spawn(async move {
            if let Err(e) = h.await {
                if e.is_panic() {
                    let _ = tx
                        .send(Action::EngineFailed(format!(
                            "an engine task panicked: {e}"
                        )))
                        .await;
                }
            }
        })
    }

    fn spawn_abortable(
        &self,
        fut: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> AbortHandle {
        let tx = self.tx.clone();
        let h = tokio::spawn(fut);
        let abort = h.abort_handle();
        tokio::spawn(async move {
            if let Err(e) = h.await {
                if e.is_panic() {
                    let _ = tx
                        .send(Action::EngineFailed(format!(
                            "an engine task panicked: {e}"
                        )))
                        .await;
                }
            }
        });
        abort
    }

    fn planned(&self) -> BTreeMap<String, Name> {
        self.plan
            .as_ref()
            .map(|p| {
                p.names
                    .iter()
                    .map(|n| (n.name.clone(), n.target.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn inputs(&self, names: &[String]) -> Result<Vec<InputName>, NameError> {
        parse_all(names)
    }

    fn stop_poll(&mut self) {
        if let Some(t) = self.poll.take() {
            t.cancel();
        }
    }

    /// The live poll on the engine's poller; answers `PollStarted` with the grid's
    /// columns at once, then cells as they change.
    fn start_poll(&mut self, names: Vec<String>) -> Vec<Action> {
        self.stop_poll();
        let inputs = match self.inputs(&names) {
            Ok(n) => n,
            Err(e) => return vec![Action::EngineFailed(e.to_string())],
        };
        let columns: Vec<(String, VantageKind)> =
            std::iter::once((AUTHORITATIVE.to_string(), VantageKind::Authoritative))
                .chain(
                    self.engine
                        .vantages()
                        .iter()
                        .map(|v| (v.name.clone(), v.kind)),
                )
                .collect();
        let opts = PollOptions {
            check: CheckOptions {
                expect_target: None,
                planned: self.planned(),
                ..Default::default()
            },
            interval: self.engine.config.poll_interval.max(MIN_POLL_INTERVAL),
            timeout: self.poll_timeout,
        };
        let token = CancellationToken::new();
        let (sink, rx) = EventSink::channel();
        let fwd = tokio::spawn(forward(rx, self.tx.clone(), token.clone(), |ev| {
            poll_action(ev, SystemTime::now())
        }));
        let (engine, tx, cancel) = (self.engine.clone(), self.tx.clone(), token.clone());
        self.spawn(async move {
            let req = PollRequest {
                names: inputs,
                options: opts,
            };
            let out = engine.poll(&req, &cancel, &sink).await;
            drop(sink);
            let _ = fwd.await;
            if !cancel.is_cancelled() {
                let _ = tx.send(Action::PollEnded(out.end)).await;
            }
        });
        self.poll = Some(token);
        vec![Action::PollStarted { columns }]
    }

    fn start_diagnose(&mut self, names: Vec<String>) -> Vec<Action> {
        if let Some(t) = self.diagnosis.take() {
            t.cancel();
        }
        let names = match self.inputs(&names) {
            Ok(n) => n,
            Err(e) => return vec![Action::EngineFailed(e.to_string())],
        };
        let mut opts = self.diagnose.clone();
        if opts.check.planned.is_empty() {
            opts.check.planned = self.planned();
        }
        let token = CancellationToken::new();
        let (sink, rx) = EventSink::channel();
        let fwd = tokio::spawn(forward(rx, self.tx.clone(), token.clone(), |ev| match ev {
            Event::NameDone {
                name, done, total, ..
            } => Some(Action::DiagnoseProgress {
                done,
                total,
                last: Some(name),
            }),
            _ => None,
        }));
        let (engine, tx, cancel) = (self.engine.clone(), self.tx.clone(), token.clone());
        self.spawn(async move {
            let req = DiagnoseRequest {
                names,
                options: opts,
            };
            let report = engine.diagnose(&req, &cancel, &sink).await;
            drop(sink);
            let _ = fwd.await;
            if cancel.is_cancelled() {
                return;
            }
            let _ = tx
                .send(Action::FindingsReady(Findings {
                    purpose: Purpose::Troubleshoot,
                    by_name: report
                        .names
                        .into_iter()
                        .map(|n| (n.name, n.findings))
                        .collect(),
                    at: SystemTime::now(),
                }))
                .await;
        });
        self.diagnosis = Some(token);
        vec![]
    }

    fn write_options(&self) -> WriteOptions {
        let plan_path = self
            .plan_path
            .clone()
            .or_else(Plan::default_path)
            .unwrap_or_else(|| PathBuf::from("plan.toml"));
        let mut opts = WriteOptions::for_plan(&plan_path);
        opts.config_path =
            self.config_path
                .clone()
                .map(|c| if c.is_absolute() { c } else { opts.cwd.join(c) });
        opts
    }

    fn start_plan_files(
        &mut self,
        clients: Vec<Client>,
        options: crate::tui::state::client::ClientOptions,
    ) -> Vec<Action> {
        let Some(plan) = self.plan.clone() else {
            return vec![Action::FilesPlanned(Err(FilesError::NoPlan))];
        };
        let mut opts = self.write_options();
        // The client step's fields, as `write`'s flags.
        opts.server = options.server;
        opts.email = options.email;
        opts.out = options
            .out
            .map(|o| if o.is_absolute() { o } else { opts.cwd.join(o) });
        opts.resolvers = options.resolvers;
        let (tx, writes) = (self.tx.clone(), self.writes.clone());
        self.spawn(async move {
            let made_from = plan.clone();
            let r = tokio::task::spawn_blocking(move || {
                plan_files(&plan, opts, &clients, time::OffsetDateTime::now_utc())
            })
            .await
            .unwrap_or_else(|e| Err(FilesError::Task(Arc::new(e))));
            let r = r.map(|(preview, files)| {
                *writes.lock().unwrap_or_else(|p| p.into_inner()) = (Some(made_from), files);
                preview
            });
            let _ = tx.send(Action::FilesPlanned(r)).await;
        });
        vec![]
    }

    fn start_write(&mut self) -> Vec<Action> {
        let (made_from, files) = self
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if files.is_empty() {
            return vec![Action::FilesWritten(Err(FilesError::NothingPreviewed))];
        }
        if made_from != self.plan {
            // The preview is of an earlier plan: its files are never written for this one.
            self.writes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .1
                .clear();
            return vec![Action::FilesWritten(Err(FilesError::StalePreview))];
        }
        let tx = self.tx.clone();
        self.spawn(async move {
            let r = tokio::task::spawn_blocking(move || {
                io::apply(&files, time::OffsetDateTime::now_utc())
            })
            .await
            .map_err(|e| FilesError::Task(Arc::new(e)))
            .and_then(|r| r.map_err(|e| FilesError::NotWritten(Arc::new(e))))
            .map(|w| w.into_iter().map(|w| w.path).collect());
            let _ = tx.send(Action::FilesWritten(r)).await;
        });
        vec![]
    }

    fn save(&mut self, plan: Plan) -> Vec<Action> {
        self.plan = Some(plan.clone());
        let path = match Plan::save_path(self.plan_path.clone()) {
            Ok(p) => p,
            Err(e) => return vec![Action::Saved(Err(Arc::new(e)))],
        };
        self.plan_path = Some(path.clone());
        let tx = self.tx.clone();
        self.spawn(async move {
            // Off the async workers: the plan is written and synced atomically.
            let r = tokio::task::spawn_blocking(move || plan.save(&path).map(|()| path))
                .await
                .map_err(|e| PlanFileError::Task(e.to_string()))
                .and_then(|r| r.map_err(PlanFileError::Plan))
                .map_err(Arc::new);
            let _ = tx.send(Action::Saved(r)).await;
        });
        vec![]
    }
}

impl<T: Transport + 'static> Runner for EngineRunner<T> {
    fn run(&mut self, effect: Effect) -> Vec<Action> {
        match effect {
            Effect::StartPoll { names } => return self.start_poll(names),
            Effect::CancelPoll => self.stop_poll(),
            Effect::RunSetup(req) => {
                if let Some(h) = self.setup.take() {
                    h.abort();
                }
                let engine = self.engine.clone();
                let tx = self.tx.clone();
                self.setup = Some(self.spawn_abortable(async move {
                    let r = setup(&engine, *req).await;
                    let _ = tx.send(Action::RegisterDone(r)).await;
                }));
            }
            Effect::CancelSetup => {
                if let Some(h) = self.setup.take() {
                    h.abort();
                }
            }
            Effect::StartProof { names } => return self.start_proof(names),
            Effect::CancelProof => {
                if let Some((t, _)) = &self.proof {
                    t.cancel();
                }
            }
            Effect::RunDiagnose { names } => return self.start_diagnose(names),
            Effect::CancelDiagnose => {
                if let Some(t) = self.diagnosis.take() {
                    t.cancel();
                }
            }
            Effect::PlanFiles { clients, options } => {
                return self.start_plan_files(clients, options)
            }
            Effect::WriteFiles => return self.start_write(),
            Effect::Copy { what, text } => {
                let copied = self
                    .clipboard
                    .copy(&what, &text, &mut std::io::stdout())
                    .map_err(Arc::new);
                return vec![Action::Copied(copied)];
            }
            Effect::SaveState { plan } => return self.save(*plan),
            Effect::Quit => {}
        }
        vec![]
    }

    fn shutdown(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.stop_poll();
            if let Some(h) = self.setup.take() {
                h.abort();
            }
            if let Some(t) = self.diagnosis.take() {
                t.cancel();
            }
            if let Some((t, h)) = self.proof.take() {
                t.cancel();
                // The proof removes its test TXT records before it ends: give it time.
                let _ = tokio::time::timeout(Duration::from_secs(30), h).await;
            }
        })
    }
}

impl<T: Transport + 'static> EngineRunner<T> {
    fn start_proof(&mut self, names: Vec<String>) -> Vec<Action> {
        let Some(plan) = self.plan.clone() else {
            return vec![Action::ProofUpdate(ProofUpdate::Unavailable(zerr(
                "no plan yet",
                "run the zone step first",
            )))];
        };
        let mut pairs = Vec::new();
        for n in self.inputs(&names).unwrap_or_default() {
            if let Some(p) = plan.target_of(&n) {
                pairs.push((n.clone(), p.target.clone()));
            }
        }
        let token = CancellationToken::new();
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        let opts = self.prove.clone();
        let cancel = token.clone();
        let h = self.spawn(async move {
            let (sink, mut erx) = EventSink::channel();
            let fwd_tx = tx.clone();
            let forward = tokio::spawn(async move {
                while let Some(ev) = erx.recv().await {
                    let _ = fwd_tx
                        .send(Action::ProofUpdate(ProofUpdate::Event(ev)))
                        .await;
                }
            });
            let req = ProveRequest {
                zone: plan.zone.clone(),
                names: pairs,
                options: opts,
                abort: CancellationToken::new(),
            };
            let report = engine.prove(&req, &cancel, &sink).await;
            drop(sink);
            let _ = forward.await;
            let update = match report {
                Ok(report) => ProofUpdate::Done(report),
                Err(e) => ProofUpdate::Unavailable(setup_error(e)),
            };
            let _ = tx.send(Action::ProofUpdate(update)).await;
        });
        self.proof = Some((token, h));
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::Config;

    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(12 * 3600)
    }

    fn cell(kind: VantageKind, state: CellState) -> CellUpdate {
        cell_update("www.example.test".into(), "v".into(), kind, &state, at())
    }

    #[test]
    fn poll_cells_say_what_they_wait_on_and_the_way_forward() {
        let c = cell(VantageKind::Resolver, CellState::Waiting);
        assert_eq!(c.status, CellStatus::Waiting);
        assert!(c.detail.contains("waits for the authoritative servers"));
        let c = cell(VantageKind::Authoritative, CellState::Ok);
        assert_eq!((c.status, c.short.as_str()), (CellStatus::Ok, "CNAME ok"));
        let c = cell(
            VantageKind::Authoritative,
            CellState::Wrong {
                why: vec![Reason::Finding {
                    code: Code::CnameMissing,
                    evidence: String::new(),
                }],
            },
        );
        assert_eq!((c.status, c.short.as_str()), (CellStatus::Bad, "no CNAME"));
        assert!(
            c.detail.contains("publish the CNAME of step 3"),
            "{}",
            c.detail
        );
        // A server killed mid-poll: the reason and what to do, in place.
        let c = cell(
            VantageKind::Authoritative,
            CellState::Wrong {
                why: vec![Reason::Server {
                    server: Name::from_ascii("ns1.acme.lab."),
                    addr: "127.0.0.12:53".parse().unwrap(),
                    outcome: crate::dns::Brief::Timeout,
                }],
            },
        );
        assert_eq!(c.short, "TIMEOUT");
        assert!(
            c.detail.contains("start it or fix its address"),
            "{}",
            c.detail
        );
        let c = cell(
            VantageKind::Resolver,
            CellState::Failed {
                outcome: crate::dns::Brief::Timeout,
            },
        );
        assert_eq!((c.status, c.short.as_str()), (CellStatus::Bad, "TIMEOUT"));
        assert!(c.detail.contains("up and reachable"), "{}", c.detail);
        // A SERVFAIL with its EDE: the word in the cell, the detail in the line below.
        let c = cell(
            VantageKind::Resolver,
            CellState::Failed {
                outcome: crate::dns::Brief::ServFail {
                    ede: Some(crate::dns::Ede {
                        code: 9,
                        text: "DNSKEY missing".into(),
                    }),
                },
            },
        );
        assert_eq!(c.short, "SERVFAIL");
        assert!(
            c.detail
                .contains("no usable answer (SERVFAIL (EDE 9 DNSKEY missing)); asked again"),
            "{}",
            c.detail
        );
        let c = cell(
            VantageKind::Authoritative,
            CellState::Wrong {
                why: vec![Reason::Server {
                    server: Name::from_ascii("ns1.acme.lab."),
                    addr: "127.0.0.12:53".parse().unwrap(),
                    outcome: crate::dns::Brief::Network(crate::dns::NetError::Refused {
                        server: "127.0.0.12:53".parse().unwrap(),
                        tcp: true,
                    }),
                }],
            },
        );
        assert_eq!(c.short, "NETWORK");
        assert!(
            c.detail
                .contains("not right yet: ns1.acme.lab. (127.0.0.12:53) NETWORK; a server"),
            "{}",
            c.detail
        );
        let c = cell(
            VantageKind::Resolver,
            CellState::Negative {
                until: at() + Duration::from_secs(70),
            },
        );
        assert_eq!(c.status, CellStatus::Waiting);
        assert!(c.detail.contains("until 12:01:10 UTC"), "{}", c.detail);
        for c in [
            cell(VantageKind::Resolver, CellState::Waiting),
            cell(VantageKind::Authoritative, CellState::Waiting),
        ] {
            assert!(c.short.chars().count() <= 8, "{}", c.short);
        }
    }

    #[test]
    fn poll_events_become_actions() {
        let a = poll_action(
            Event::RoundDone {
                round: 2,
                ok: 1,
                total: 3,
            },
            at(),
        );
        assert!(matches!(
            a,
            Some(Action::PollRound {
                round: 2,
                ok: 1,
                total: 3
            })
        ));
        assert!(poll_action(Event::RoundStarted { round: 1 }, at()).is_none());
    }

    #[test]
    fn unified_diffs_lose_their_headers() {
        let d = diff_lines("--- /dev/null\n+++ /x\n@@ -0,0 +1,2 @@\n+A=1\n+B=****\n same\n-old\n");
        let signs: String = d.iter().map(|l| l.sign).collect();
        assert_eq!(signs, "++ -");
        assert_eq!(d[1].text, "B=****");
    }

    /// A removed (or added) line that itself starts with `--` (or `++`) is content, not a
    /// header: main hid it.
    #[test]
    fn removed_lines_starting_with_dashes_are_shown() {
        let d = diff_lines(
            "--- /x\n+++ /x\n@@ -1,3 +1,3 @@\n--- a yaml document start\n+++ plus\n same\n@@ -9 +9 @@\n-z\n",
        );
        let signs: String = d.iter().map(|l| l.sign).collect();
        assert_eq!(signs, "-+ -");
        assert_eq!(d[0].text, "-- a yaml document start");
        assert_eq!(d[1].text, "++ plus");
    }

    #[test]
    fn lego_files_for_an_rfc2136_plan_are_previewed_masked_then_written_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ad-tui-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("k.key");
        std::fs::write(
            &key,
            "key \"acme-key.\" {\n algorithm hmac-sha256;\n secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n",
        )
        .unwrap();
        let mut plan = crate::tui::tests::plan();
        if let ZoneSpec::Rfc2136 { key_file, .. } = &mut plan.zone {
            *key_file = key.clone();
        }
        let mut opts = WriteOptions::for_plan(&dir.join("plan.toml"));
        opts.out = Some(dir.join("out"));
        let (shown, files) = plan_files(
            &plan,
            opts,
            &[Client::Lego],
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(!shown.files.is_empty());
        assert!(shown.next[0].commands[0].contains("lego"));
        let all: String = shown
            .files
            .iter()
            .flat_map(|f| f.diff.iter().map(|d| d.text.clone()))
            .collect();
        assert!(all.contains("RFC2136_TSIG_SECRET=****"), "{all}");
        assert!(!all.contains("c2VjcmV0c2VjcmV0"), "a secret in the preview");
        let written = io::apply(&files, time::OffsetDateTime::now_utc()).unwrap();
        let env = written
            .iter()
            // Named after the plan, as `write` names it (issue 16 item 4).
            .find(|w| {
                w.path.ends_with(format!(
                    "rfc2136-{}.env",
                    crate::clients::write::plan_id(&dir.join("plan.toml"))
                ))
            })
            .expect("the env file");
        let mode = std::fs::metadata(&env.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The preview is tied to the plan it was made from: after a new plan, Enter (write)
    /// refuses the earlier preview's files (main wrote the previous plan's files).
    #[tokio::test]
    async fn a_preview_of_an_earlier_plan_is_never_written() {
        let dir = std::env::temp_dir().join(format!("ad-tui-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let old_plan = crate::tui::tests::plan();
        let mut new_plan = old_plan.clone();
        new_plan.names[0].target = Name::from_ascii("other-target.acme.lab");
        let file = writers::PlannedFile::public(dir.join("out/x.env"), "A=1\n".into());
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let mut runner = EngineRunner::new(Engine::new(Config::defaults()), tx);
        *runner.writes.lock().unwrap() = (Some(old_plan.clone()), vec![file.clone()]);
        runner.plan = Some(new_plan);
        let a = runner.run(Effect::WriteFiles);
        let [Action::FilesWritten(Err(e))] = a.as_slice() else {
            panic!("{a:?}")
        };
        assert!(matches!(e, FilesError::StalePreview), "{e:?}");
        assert!(e.to_string().contains("earlier plan"), "{e}");
        assert!(!dir.join("out/x.env").exists(), "nothing written");
        // The preview of the current plan is written.
        *runner.writes.lock().unwrap() = (Some(old_plan.clone()), vec![file]);
        runner.plan = Some(old_plan);
        assert!(runner.run(Effect::WriteFiles).is_empty());
        let done = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(done, Action::FilesWritten(Ok(_))), "{done:?}");
        assert!(dir.join("out/x.env").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn an_unreachable_acme_dns_api_is_a_reason_with_a_fix() {
        let dir = std::env::temp_dir().join(format!("ad-tui-api-{}", std::process::id()));
        let engine = Engine::new(Config::defaults());
        let r = setup(
            &engine,
            SetupRequest {
                names: vec!["www.example.test".into()],
                zone: ZoneInput::AcmeDns {
                    // A closed port on loopback: connection refused at once.
                    api: "http://127.0.0.1:9".into(),
                    register: true,
                    allowfrom: vec![],
                    storage: Some(dir.clone()),
                },
            },
        );
        let e = tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .expect("bounded")
            .expect_err("an unreachable API");
        assert!(e.message.contains("ACMEDNS_UNHEALTHY"), "{}", e.message);
        assert!(!e.fix.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_bad_inline_key_is_refused_before_anything_is_stored() {
        let r = spec_of(&ZoneInput::Rfc2136 {
            server: "127.0.0.12:53".into(),
            zone: "acme.lab".into(),
            key: KeyInput::Inline {
                name: "k.".into(),
                algorithm: "hmac-sha256".into(),
                secret: crate::tui::state::zone::Secret::new("not base64 !!"),
            },
        })
        .await;
        let e = r.expect_err("not base64");
        assert!(e.message.starts_with("the key:"), "{}", e.message);
        assert!(e.fix.contains("secret"));
    }
}

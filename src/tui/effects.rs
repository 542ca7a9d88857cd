//! Runs the [`Effect`]s `update` asks for, on engine tasks; results come back as
//! [`Action`]s on the loop's channel (or at once, for the quick ones: copy, save).
//!
//! What today's engine allows is wired here: a poll round is `Engine::check` (repeated
//! until cancelled), the troubleshooter is `Engine::diagnose`, the proof is
//! `Engine::prove`, setup mirrors `acme-delegate plan`. The seams for what is being built
//! elsewhere are traits: [`Poller`] (the live poller streams cells as they come, asking
//! resolvers only once the authoritative servers are right) and [`ClientFiles`] (the
//! issuing-client writers).

use crate::clients::read::ClientKind;
use crate::dns::{Name, Transport};
use crate::engine::check::{CheckOptions, Engine};
use crate::engine::diagnose::DiagnoseOptions;
use crate::engine::prove::ProveOptions;
use crate::engine::views::VantageKind;
use crate::findings::{Finding, Severity};
use crate::model::config::parse_addr;
use crate::model::name::{parse_all, parse_target, InputName};
use crate::model::plan::{Plan, PlannedName, ZoneSpec};
use crate::report::{NameReport, Report, View};
use crate::tui::app::{
    Action, CellStatus, CellUpdate, Effect, FilePlan, Findings, KeyInput, ProofUpdate, Purpose,
    Setup, SetupRequest, ZoneInput,
};
use crate::tui::clipboard::Clipboard;
use crate::tui::theme::Level;
use crate::zones::acme_dns::{storage_key, AccountStore};
use crate::zones::kinds::{open, ValidationZone, ZoneError};
use crate::zones::rfc2136::{probe_scope, ScopeVerdict, TsigKey};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::Sender;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// Runs effects. `run` must not block: long work goes to a task that answers on the
/// channel; quick results are returned.
pub trait Runner {
    fn run(&mut self, effect: Effect) -> Vec<Action>;
    /// Called once when the UI leaves: cancel everything, wait (bounded) for clean-ups.
    fn shutdown(&mut self) -> BoxFuture<'_, ()>;
}

/// The live poll: sends `CellUpdate`s (and `FindingsReady` for red cells) until cancelled.
pub trait Poller: Send + Sync {
    fn poll(
        &self,
        names: Vec<InputName>,
        planned: BTreeMap<String, Name>,
        tx: Sender<Action>,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ()>;
}

/// A file to write, with its real content (the preview shows it masked).
#[derive(Clone)]
pub struct FileWrite {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// The issuing-client writers: files for a plan, previewed, then written.
pub trait ClientFiles: Send + Sync {
    fn plan(
        &self,
        plan: &Plan,
        clients: &[ClientKind],
    ) -> Result<(FilePlan, Vec<FileWrite>), String>;
}

/// Until the writers land: says so, in place, with the way forward.
pub struct NoClientWriters;

impl ClientFiles for NoClientWriters {
    fn plan(&self, _: &Plan, clients: &[ClientKind]) -> Result<(FilePlan, Vec<FileWrite>), String> {
        Err(format!(
            "this build cannot write {} files yet; configure the client by hand with the \
             records of step 3 (n goes on)",
            clients
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Today's poller: a full `check` round every `every`, each view turned into a cell.
pub struct CheckPoller<T: Transport> {
    pub engine: Arc<Engine<T>>,
    pub every: Duration,
}

impl<T: Transport + 'static> Poller for CheckPoller<T> {
    fn poll(
        &self,
        names: Vec<InputName>,
        planned: BTreeMap<String, Name>,
        tx: Sender<Action>,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let engine = self.engine.clone();
        let every = self.every;
        Box::pin(async move {
            let opts = CheckOptions {
                expect_target: None,
                planned,
            };
            loop {
                let report = tokio::select! {
                    r = engine.check(&names, &opts) => r,
                    _ = cancel.cancelled() => return,
                };
                let at = SystemTime::now();
                let (cells, findings) = cells_from_report(&report, &opts.planned, at);
                for c in cells {
                    if tx.send(Action::CellUpdate(c)).await.is_err() {
                        return;
                    }
                }
                let _ = tx
                    .send(Action::FindingsReady(Findings {
                        purpose: Purpose::Poll,
                        by_name: findings,
                        at,
                    }))
                    .await;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        })
    }
}

/// `HH:MM:SS UTC` of `at + ttl`.
fn until(at: SystemTime, ttl: u32) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let t = crate::engine::endpoint::rfc3339(secs + ttl as i64);
    format!("{} UTC", t.get(11..19).unwrap_or(&t))
}

fn cell(
    name: &str,
    v: &View,
    status: CellStatus,
    short: &str,
    detail: String,
    at: SystemTime,
) -> CellUpdate {
    CellUpdate {
        name: name.to_string(),
        vantage: v.vantage.clone(),
        kind: v.kind,
        status,
        short: short.to_string(),
        detail,
        at,
    }
}

/// One view of a check report as a grid cell.
pub fn cell_of(n: &NameReport, v: &View, expected: Option<&Name>, at: SystemTime) -> CellUpdate {
    let finding = n
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .filter(|f| f.observed.iter().any(|o| o.vantage == v.vantage))
        .max_by_key(|f| f.severity);
    let outcome = v.outcome.as_str();
    let failed = !matches!(outcome, "NOERROR" | "NXDOMAIN" | "NODATA" | "REFERRAL");
    if failed {
        let detail = v.detail.clone().unwrap_or_else(|| outcome.to_string());
        return cell(
            &n.name,
            v,
            CellStatus::Bad,
            outcome,
            format!("{detail} from {}", v.server),
            at,
        );
    }
    let last_cname = v.chain.iter().rev().find(|e| e.rtype == "CNAME");
    if v.kind == VantageKind::Authoritative {
        // The first hop's CNAME: where the authoritative chain ends must be the target.
        let at_challenge = v
            .chain
            .iter()
            .any(|e| e.rtype == "CNAME" && e.owner == n.challenge);
        if let (true, Some(exp), Some(end)) = (at_challenge, expected, n.target.as_ref()) {
            if end != exp {
                return cell(
                    &n.name,
                    v,
                    CellStatus::Bad,
                    "wrong target",
                    format!("the chain ends at {end}, expected {exp}"),
                    at,
                );
            }
        }
    } else {
        let negative = v
            .chain
            .iter()
            .find(|e| e.rtype == "NXDOMAIN" || e.rtype == "NODATA");
        match (last_cname, expected) {
            (Some(c), Some(exp))
                if c.data.as_deref().map(Name::from_ascii).as_ref() != Some(exp) =>
            {
                return cell(
                    &n.name,
                    v,
                    CellStatus::Bad,
                    "wrong target",
                    format!(
                        "the CNAME points at {}, expected {exp}",
                        c.data.clone().unwrap_or_default()
                    ),
                    at,
                );
            }
            (None, _) => {
                if let Some(neg) = negative {
                    let when = neg
                        .ttl
                        .map(|t| format!(" cached until {}", until(at, t)))
                        .unwrap_or_default();
                    return cell(
                        &n.name,
                        v,
                        CellStatus::Bad,
                        &neg.rtype,
                        format!("{}{when}: no CNAME at {} yet", neg.rtype, n.challenge),
                        at,
                    );
                }
            }
            _ => {}
        }
    }
    if let Some(f) = finding {
        let status = if f.severity == Severity::Error {
            CellStatus::Bad
        } else {
            CellStatus::Warn
        };
        let short = f
            .code
            .as_str()
            .split('_')
            .next_back()
            .unwrap_or(f.code.as_str())
            .to_lowercase();
        return cell(
            &n.name,
            v,
            status,
            &short,
            format!("{}: {}", f.code, f.evidence),
            at,
        );
    }
    let (short, detail) = match last_cname {
        Some(c) => (
            "CNAME ok",
            format!("CNAME to {}", c.data.clone().unwrap_or_default()),
        ),
        None if v.kind == VantageKind::Authoritative => (
            "answers",
            format!("{outcome}: answers authoritatively for its hop"),
        ),
        None => ("answers", outcome.to_string()),
    };
    cell(&n.name, v, CellStatus::Ok, short, detail, at)
}

/// A check round as cells (one per view) and findings per name.
pub fn cells_from_report(
    r: &Report,
    planned: &BTreeMap<String, Name>,
    at: SystemTime,
) -> (Vec<CellUpdate>, Vec<(String, Vec<Finding>)>) {
    let mut cells = Vec::new();
    for n in &r.names {
        let expected = planned.get(&n.name).or(n.target.as_ref());
        let mut row: Vec<CellUpdate> = n
            .views
            .iter()
            .map(|v| cell_of(n, v, expected, at))
            .collect();
        // Bad news first: a half-sent round must never look all green.
        row.sort_by_key(|c| c.status == CellStatus::Ok);
        cells.extend(row);
        if n.views.is_empty() {
            let why = n
                .findings
                .first()
                .map(|f| f.evidence.clone())
                .unwrap_or_else(|| "no server answered".into());
            cells.push(CellUpdate {
                name: n.name.clone(),
                vantage: "check".into(),
                kind: VantageKind::System,
                status: CellStatus::Bad,
                short: "no answer".into(),
                detail: why,
                at,
            });
        }
    }
    let findings = r
        .names
        .iter()
        .map(|n| (n.name.clone(), n.findings.clone()))
        .collect();
    (cells, findings)
}

fn zerr(message: impl Into<String>, fix: impl Into<String>) -> ZoneError {
    ZoneError {
        message: message.into(),
        fix: fix.into(),
    }
}

/// Writes a typed-in TSIG key as a BIND key file (0600, in a 0700 folder of the user data
/// dir), as `acme-delegate plan --key` does. The secret is never shown.
fn store_key(name: &str, algorithm: &str, secret: &str) -> Result<PathBuf, ZoneError> {
    let key = TsigKey::parse_kdig(&format!("{algorithm}:{name}:{secret}"))
        .map_err(|e| zerr(e.to_string(), "check the key name, algorithm and secret"))?;
    let dir = directories::ProjectDirs::from("", "", "acme-delegate")
        .map(|d| d.data_dir().join("keys"))
        .ok_or_else(|| {
            zerr(
                "no user data dir to store the key in",
                "give a key file instead",
            )
        })?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        zerr(
            format!("cannot create {}: {e}", dir.display()),
            "give a key file instead",
        )
    })?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    let file: String = key
        .name
        .without_dot()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{file}.key"));
    let text = format!(
        "key \"{}\" {{\n    algorithm {};\n    secret \"{}\";\n}};\n",
        key.name.without_dot(),
        key.algorithm.name(),
        secret.trim()
    );
    crate::model::files::write_atomic(&path, text.as_bytes(), 0o600).map_err(|e| {
        zerr(
            format!("cannot write {}: {e}", path.display()),
            "give a key file instead",
        )
    })?;
    Ok(path)
}

fn spec_of(input: &ZoneInput) -> Result<ZoneSpec, ZoneError> {
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
                } => store_key(name, algorithm, secret.expose())?,
            },
        },
        ZoneInput::Provider { provider, domain } => ZoneSpec::Provider {
            provider: provider.clone(),
            domain: dns(domain, "zone")?,
        },
        ZoneInput::Hosted { target } => ZoneSpec::Hosted {
            target: dns(target, "target")?,
        },
    })
}

/// The zone step: what `acme-delegate plan` does, as one engine task.
pub async fn setup<T: Transport>(
    engine: &Engine<T>,
    req: SetupRequest,
) -> Result<Setup, ZoneError> {
    let names =
        parse_all(&req.names).map_err(|e| zerr(e.to_string(), "go back and fix the name"))?;
    let spec = spec_of(&req.zone)?;
    let timeout = engine.config.timeout;
    if let ZoneInput::AcmeDns {
        register: false,
        storage,
        ..
    } = &req.zone
    {
        let store = AccountStore::open(storage.as_deref())
            .map_err(|e| zerr(e.to_string(), "check the storage dir"))?;
        for n in &names {
            let key = storage_key(n);
            if store
                .get(&key)
                .map_err(|e| zerr(e.to_string(), "check the account file"))?
                .is_none()
            {
                return Err(zerr(
                    format!("no acme-dns account for {key} in {}", store.dir().display()),
                    "switch accounts to 'register new', or give the storage dir that holds them",
                ));
            }
        }
    }
    let zone = open(&spec, timeout)?;
    let mut notes: Vec<(Level, String)> = Vec::new();
    let mut findings = Vec::new();
    if let ZoneSpec::Rfc2136 {
        server,
        zone: apex,
        key_file,
    } = &spec
    {
        let key = TsigKey::from_file(key_file)
            .map_err(|e| zerr(e.to_string(), "give a BIND or knot key file"))?;
        let addr = parse_addr(server)
            .ok_or_else(|| zerr(format!("{server:?} is not ip:port"), "e.g. 192.0.2.53:53"))?;
        let r = probe_scope(addr, apex, &key, timeout.max(Duration::from_secs(10))).await;
        match r.verdict {
            ScopeVerdict::Scoped => notes.push((
                Level::Ok,
                format!("scope probe: the server refused an A record with key {}: it is limited", key.name),
            )),
            ScopeVerdict::Overprivileged => findings.push(Finding::new(
                crate::findings::Code::TsigOverprivileged,
                apex.without_dot(),
                format!(
                    "the key {} may write more than TXT records in {apex}: the server accepted an A record at {}{}",
                    key.name,
                    r.probe_owner,
                    if r.left_behind() { " and it could NOT be removed: delete it by hand" } else { " (removed again)" }
                ),
                format!(
                    "limit the key to TXT updates: knot `acl: update-type: TXT`; BIND `update-policy {{ grant {} zonesub TXT; }};`",
                    key.name.without_dot()
                ),
            )),
            ScopeVerdict::Inconclusive => notes.push((
                Level::Warn,
                format!(
                    "scope probe inconclusive: {} ({})",
                    r.attempt.label(),
                    r.attempt.explain()
                ),
            )),
        }
    } else {
        let audit = zone.audit().await;
        if let Some(f) = audit.iter().find(|f| f.code == "ACMEDNS_UNHEALTHY") {
            return Err(zerr(f.evidence.clone(), f.fix.clone()));
        }
        findings.extend(audit);
    }
    let mut planned = Vec::new();
    for n in &names {
        let target = zone
            .target_for(n)
            .await
            .map_err(|e| zerr(format!("{}: {}", n.identifier, e.message), e.fix))?;
        let walk = engine.walker().zone_of(n.challenge.clone()).await;
        planned.push(PlannedName {
            name: n.identifier.clone(),
            challenge: n.challenge.clone(),
            target,
            zone: (!walk.unresponsive && !walk.zone.apex.is_root()).then(|| walk.zone.apex.clone()),
        });
    }
    match &spec {
        ZoneSpec::AcmeDns { .. } => notes.push((
            Level::Ok,
            format!("acme-dns accounts ready for {} name(s)", planned.len()),
        )),
        ZoneSpec::Hosted { .. } => {
            if let Some(p) = planned.first() {
                findings.extend(engine.target_zone_findings(&p.name, &p.target).await);
            }
        }
        _ => {}
    }
    Ok(Setup {
        plan: Plan {
            version: 1,
            zone: spec,
            names: planned,
        },
        findings,
        notes,
    })
}

/// The runner on the real engine.
pub struct EngineRunner<T: Transport> {
    pub engine: Arc<Engine<T>>,
    pub tx: Sender<Action>,
    pub poller: Arc<dyn Poller>,
    pub files: Arc<dyn ClientFiles>,
    pub diagnose: DiagnoseOptions,
    pub prove: ProveOptions,
    pub plan: Option<Plan>,
    pub plan_path: Option<PathBuf>,
    pub clipboard: Clipboard,
    poll: Option<CancellationToken>,
    setup: Option<AbortHandle>,
    diagnosis: Option<AbortHandle>,
    proof: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    writes: Vec<FileWrite>,
}

impl<T: Transport + 'static> EngineRunner<T> {
    pub fn new(engine: Arc<Engine<T>>, tx: Sender<Action>) -> Self {
        EngineRunner {
            poller: Arc::new(CheckPoller {
                engine: engine.clone(),
                every: Duration::from_secs(5),
            }),
            engine,
            tx,
            files: Arc::new(NoClientWriters),
            diagnose: DiagnoseOptions::default(),
            prove: ProveOptions::default(),
            plan: None,
            plan_path: None,
            clipboard: Clipboard::from_env(),
            poll: None,
            setup: None,
            diagnosis: None,
            proof: None,
            writes: vec![],
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

    fn inputs(&self, names: &[String]) -> Result<Vec<InputName>, String> {
        parse_all(names).map_err(|e| e.to_string())
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
}

impl<T: Transport + 'static> Runner for EngineRunner<T> {
    fn run(&mut self, effect: Effect) -> Vec<Action> {
        match effect {
            Effect::StartPoll { names } => {
                if let Some(t) = self.poll.take() {
                    t.cancel();
                }
                let names = match self.inputs(&names) {
                    Ok(n) => n,
                    Err(e) => return vec![Action::EngineFailed(e)],
                };
                let token = CancellationToken::new();
                let fut = self
                    .poller
                    .poll(names, self.planned(), self.tx.clone(), token.clone());
                self.spawn_abortable(fut);
                self.poll = Some(token);
            }
            Effect::CancelPoll => {
                if let Some(t) = self.poll.take() {
                    t.cancel();
                }
            }
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
            Effect::RunDiagnose { names } => {
                if let Some(h) = self.diagnosis.take() {
                    h.abort();
                }
                let names = match self.inputs(&names) {
                    Ok(n) => n,
                    Err(e) => return vec![Action::EngineFailed(e)],
                };
                let mut opts = self.diagnose.clone();
                if opts.check.planned.is_empty() {
                    opts.check.planned = self.planned();
                }
                let engine = self.engine.clone();
                let tx = self.tx.clone();
                self.diagnosis = Some(self.spawn_abortable(async move {
                    let report = engine.diagnose(&names, &opts).await;
                    let total = names.len();
                    let _ = tx
                        .send(Action::DiagnoseProgress { done: total, total })
                        .await;
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
                }));
            }
            Effect::CancelDiagnose => {
                if let Some(h) = self.diagnosis.take() {
                    h.abort();
                }
            }
            Effect::PlanFiles { clients } => {
                let r = match &self.plan {
                    None => Err("no plan yet: the zone step has not run".to_string()),
                    Some(p) => self.files.plan(p, &clients),
                };
                return vec![Action::FilesPlanned(r.map(|(preview, writes)| {
                    self.writes = writes;
                    preview
                }))];
            }
            Effect::WriteFiles => {
                let mut done = Vec::new();
                for w in &self.writes {
                    if let Err(e) = crate::model::files::write_atomic(&w.path, &w.bytes, w.mode) {
                        return vec![Action::FilesWritten(Err(format!(
                            "{}: {e} (written before it: {})",
                            w.path.display(),
                            done.len()
                        )))];
                    }
                    done.push(w.path.clone());
                }
                return vec![Action::FilesWritten(Ok(done))];
            }
            Effect::Copy { what, text } => {
                return vec![Action::Copied(self.clipboard.copy(
                    &what,
                    &text,
                    &mut std::io::stdout(),
                ))];
            }
            Effect::SaveState { plan } => {
                let path = self.plan_path.clone().or_else(Plan::default_path);
                self.plan = Some((*plan).clone());
                let r = match path {
                    None => Err("no config dir for the plan: give --plan FILE".to_string()),
                    Some(p) => plan.save(&p).map(|_| p).map_err(|e| e.to_string()),
                };
                if let Ok(p) = &r {
                    self.plan_path = Some(p.clone());
                }
                return vec![Action::Saved(r)];
            }
            Effect::Quit => {}
        }
        vec![]
    }

    fn shutdown(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(t) = self.poll.take() {
                t.cancel();
            }
            for h in self.setup.take().into_iter().chain(self.diagnosis.take()) {
                h.abort();
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
        let zone: Arc<dyn ValidationZone> = match open(&plan.zone, self.engine.config.timeout) {
            Ok(z) => Arc::from(z),
            Err(e) => return vec![Action::ProofUpdate(ProofUpdate::Unavailable(e))],
        };
        if let Err(e) = zone.publishable() {
            return vec![Action::ProofUpdate(ProofUpdate::Unavailable(e))];
        }
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
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            let fwd_tx = tx.clone();
            let forward = tokio::spawn(async move {
                while let Some(ev) = erx.recv().await {
                    let _ = fwd_tx
                        .send(Action::ProofUpdate(ProofUpdate::Event(ev)))
                        .await;
                }
            });
            let report = engine.prove(zone, &pairs, &opts, Some(etx), &cancel).await;
            let _ = forward.await;
            let _ = tx
                .send(Action::ProofUpdate(ProofUpdate::Done(report)))
                .await;
        });
        self.proof = Some((token, h));
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ChainEntry;

    fn view(vantage: &str, kind: VantageKind, outcome: &str, chain: Vec<ChainEntry>) -> View {
        View {
            vantage: vantage.into(),
            kind,
            server: "127.0.0.1:53".into(),
            zone: None,
            question: "_acme-challenge.www.example.test. TXT".into(),
            outcome: outcome.into(),
            detail: None,
            authoritative: kind == VantageKind::Authoritative,
            chain,
            ms: 3,
        }
    }

    fn entry(rtype: &str, data: Option<&str>, ttl: Option<u32>) -> ChainEntry {
        ChainEntry {
            owner: Name::from_ascii("_acme-challenge.www.example.test"),
            rtype: rtype.into(),
            data: data.map(String::from),
            ttl,
            server: None,
            zone: None,
        }
    }

    fn report(views: Vec<View>, findings: Vec<Finding>) -> NameReport {
        NameReport {
            name: "www.example.test".into(),
            challenge: Name::from_ascii("_acme-challenge.www.example.test"),
            target: None,
            ok: false,
            inconclusive: false,
            chain: vec![],
            views,
            findings,
        }
    }

    #[test]
    fn views_become_cells_with_what_they_saw() {
        let exp = Name::from_ascii("t.acme.lab");
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(12 * 3600);
        let ok = view(
            "cloudflare",
            VantageKind::Resolver,
            "NOERROR",
            vec![entry("CNAME", Some("t.acme.lab."), Some(300))],
        );
        let wrong = view(
            "google",
            VantageKind::Resolver,
            "NOERROR",
            vec![entry("CNAME", Some("old.acme.lab."), Some(300))],
        );
        let nx = view(
            "system",
            VantageKind::System,
            "NXDOMAIN",
            vec![entry("NXDOMAIN", None, Some(70))],
        );
        let fail = view("quad9", VantageKind::Resolver, "SERVFAIL", vec![]);
        let n = report(
            vec![ok.clone(), wrong.clone(), nx.clone(), fail.clone()],
            vec![],
        );
        let c = cell_of(&n, &ok, Some(&exp), at);
        assert_eq!((c.status, c.short.as_str()), (CellStatus::Ok, "CNAME ok"));
        let c = cell_of(&n, &wrong, Some(&exp), at);
        assert_eq!(c.status, CellStatus::Bad);
        assert!(
            c.detail.contains("old.acme.lab.") && c.detail.contains("t.acme.lab."),
            "{}",
            c.detail
        );
        let c = cell_of(&n, &nx, Some(&exp), at);
        assert_eq!(c.status, CellStatus::Bad);
        assert!(
            c.detail.contains("cached until 12:01:10 UTC"),
            "{}",
            c.detail
        );
        let c = cell_of(&n, &fail, Some(&exp), at);
        assert_eq!((c.status, c.short.as_str()), (CellStatus::Bad, "SERVFAIL"));
    }

    #[test]
    fn an_authoritative_cname_to_the_wrong_end_is_red_and_bad_news_comes_first() {
        let exp = Name::from_ascii("t.acme.lab");
        let mut e = entry("CNAME", Some("www-label.acme.lab."), Some(300));
        e.owner = Name::from_ascii("_acme-challenge.www.example.test");
        let auth = view(
            "ns1.example.test.",
            VantageKind::Authoritative,
            "NOERROR",
            vec![e],
        );
        let res = view("r", VantageKind::Resolver, "SERVFAIL", vec![]);
        let mut n = report(vec![auth.clone(), res], vec![]);
        n.target = Some(Name::from_ascii("www-label.acme.lab"));
        let c = cell_of(&n, &auth, Some(&exp), SystemTime::UNIX_EPOCH);
        assert_eq!(
            (c.status, c.short.as_str()),
            (CellStatus::Bad, "wrong target")
        );
        n.target = Some(exp.clone());
        let mut planned = BTreeMap::new();
        planned.insert(n.name.clone(), exp);
        let (cells, _) = cells_from_report(
            &Report {
                version: 1,
                names: vec![n],
            },
            &planned,
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(cells[0].status, CellStatus::Bad, "{cells:?}");
        assert_eq!(cells[1].status, CellStatus::Ok);
    }

    #[test]
    fn a_finding_that_observed_a_vantage_colours_its_cell() {
        let auth = view(
            "ns1.example.test.",
            VantageKind::Authoritative,
            "NOERROR",
            vec![],
        );
        let f = Finding::new(
            crate::findings::Code::TtlHigh,
            "www.example.test",
            "negative TTL 86400".into(),
            "lower it".into(),
        )
        .observe(crate::findings::Observation {
            vantage: "ns1.example.test.".into(),
            server: "x".into(),
            question: "q".into(),
            outcome: "NOERROR".into(),
            ttl: None,
            ms: 1,
        });
        let n = report(vec![auth.clone()], vec![f]);
        let c = cell_of(&n, &auth, None, SystemTime::UNIX_EPOCH);
        assert_eq!(c.status, CellStatus::Warn);
        assert!(c.detail.starts_with("TTL_HIGH"), "{}", c.detail);
        let (cells, by_name) = cells_from_report(
            &Report {
                version: 1,
                names: vec![report(vec![], vec![])],
            },
            &BTreeMap::new(),
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(cells[0].status, CellStatus::Bad);
        assert_eq!(by_name.len(), 1);
    }
}

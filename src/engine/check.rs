//! `check`: for each name, the chain as every authoritative server and every resolver sees
//! it, the findings, and a verdict. All names run concurrently (the transport bounds the
//! queries in flight); the walk below shared zones is done once.

use crate::dns::transport::DEAD_AFTER_TIMEOUTS;
use crate::dns::walk::is_infrastructure;
use crate::dns::{Exchange, Name, Outcome, QueryFlags, Question, RData, RecordType, Transport};
use crate::engine::chain::{self, Chain, End};
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, Event, EventSink};
use crate::engine::views::{ask_resolver, ResolverView, Vantage};
use crate::findings::rules::chain::{blinds, rules, NameEvidence, ParentCname, TargetDoubled};
use crate::findings::Code;
use crate::findings::{Finding, Severity};
use crate::model::name::InputName;
use crate::report::{self, NameReport, Report};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// When `check` and `diagnose` ask the resolvers (`--ask-resolvers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AskResolvers {
    /// Only once the authoritative view of the name is right, so that no question puts a
    /// negative or wrong answer into a resolver's cache (the default).
    #[default]
    Auto,
    /// Always, at once with the authoritative servers (a resolver may then cache what it
    /// finds: an NXDOMAIN for the negative TTL).
    Always,
}

pub use crate::findings::evidence::NOT_ASKED;

/// Why the resolvers are not asked yet (None: the authoritative view is right): no CNAME
/// yet, or an error about the chain.
pub(crate) fn not_ready(ev: &NameEvidence) -> Option<String> {
    let findings = rules(ev);
    // No authoritative view from this network: the resolvers are the only view left.
    if findings.iter().any(|f| blinds(f.code)) {
        return None;
    }
    let errors: Vec<String> = findings
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code.to_string())
        .collect();
    if ev.chain.hops.is_empty() && !ev.challenge_is_cut() {
        let what = match &ev.chain.end {
            End::NxDomain { .. } => "the NXDOMAIN",
            End::NoData { .. } => "the negative answer (NODATA)",
            _ => "the answer without the CNAME",
        };
        return Some(format!(
            "not asked: the authoritative servers have no CNAME yet; asking now would cache {what}"
        ));
    }
    (!errors.is_empty()).then(|| {
        format!(
            "not asked: the authoritative view is not right yet ({}); asking now would cache what the resolvers find there, for up to its TTL",
            errors.join(", ")
        )
    })
}

/// The plan's target for a name (names compare case-insensitively: `WWW.Example.COM` is
/// planned as `www.example.com`).
pub(crate) fn planned_target(opts: &CheckOptions, identifier: &str) -> Option<Name> {
    opts.planned.get(identifier).cloned().or_else(|| {
        opts.planned
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(identifier))
            .map(|(_, t)| t.clone())
    })
}

/// What to check: the names, and how.
#[derive(Clone, Debug, Default)]
pub struct CheckRequest {
    pub names: Vec<InputName>,
    pub options: CheckOptions,
}

/// Options of one check run.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The CNAME target every name should reach (`--expect-target`).
    pub expect_target: Option<Name>,
    /// Per-name targets (from the saved plan), used when `expect_target` is not given.
    pub planned: std::collections::BTreeMap<String, Name>,
    /// When to ask the resolvers (`--ask-resolvers`).
    pub ask_resolvers: AskResolvers,
}

impl<T: Transport> Run<T> {
    /// Gathers the evidence for one name: the authoritative chain and every vantage
    /// point, telling `events` each answer as it arrives and each hop.
    ///
    /// No poisoning: by default ([`AskResolvers::Auto`]) a resolver is asked only once the
    /// authoritative view of the name is right (a CNAME or a zone cut, and no error about
    /// it), as the live poll does: a question before that would make the resolver cache
    /// the negative (or wrong) answer, and the CA's resolver would serve it later. The
    /// resolvers not asked are named with the reason ([`NameEvidence::not_asked`]).
    pub(crate) async fn evidence(
        &self,
        input: &InputName,
        opts: &CheckOptions,
        events: &EventSink,
    ) -> NameEvidence {
        let id = input.identifier.as_str();
        let (dead_tx, dead_rx) = tokio::sync::watch::channel::<Option<Vec<SocketAddr>>>(None);
        let chain = async {
            let chain = chain::follow(self.walker(), &input.challenge, events, id).await;
            let _ = dead_tx.send(Some(self.dead_servers(&chain)));
            chain
        };
        let (chain, resolvers) = match opts.ask_resolvers {
            // The chain and the resolvers at once: a server that stopped answering costs
            // the name one timeout, not the chain's and then the resolver's.
            AskResolvers::Always => {
                tokio::join!(chain, self.ask_resolvers(input, events, dead_rx.clone()))
            }
            AskResolvers::Auto => (chain.await, vec![]),
        };
        let mut ev = self.authoritative_evidence(input, opts, chain).await;
        if opts.ask_resolvers == AskResolvers::Always {
            ev.resolvers = resolvers;
        } else {
            match not_ready(&ev) {
                None => ev.resolvers = self.ask_resolvers(input, events, dead_rx).await,
                Some(why) => {
                    for v in self.vantages() {
                        events.emit(|| Event::Vantage {
                            name: id.to_string(),
                            vantage: v.name.clone(),
                            kind: v.kind,
                            server: v.addr,
                            outcome: crate::dns::Brief::NotAsked,
                            ms: 0,
                        });
                    }
                    ev.not_asked = Some((self.vantages().to_vec(), why));
                }
            }
        }
        self.note_hanging(&ev.chain, &ev.resolvers);
        ev
    }

    /// The evidence without the resolvers: the chain and the lookups around it.
    async fn authoritative_evidence(
        &self,
        input: &InputName,
        opts: &CheckOptions,
        chain: Chain,
    ) -> NameEvidence {
        let expect_target = opts
            .expect_target
            .clone()
            .or_else(|| planned_target(opts, &input.identifier));
        let (doubled, parent_cname, parent_zone, target_doubled) = tokio::join!(
            self.doubled_lookup(input, &chain),
            self.parent_cname_lookup(input, &chain),
            self.parent_zone_lookup(input, &chain),
            self.target_doubled_lookup(&chain, expect_target.as_ref())
        );
        NameEvidence {
            observed_at: std::time::SystemTime::now(),
            input: input.clone(),
            chain,
            resolvers: vec![],
            not_asked: None,
            doubled,
            expect_target,
            parent_cname,
            parent_zone,
            target_doubled,
            system_client: None,
        }
    }

    /// Every vantage point asked at once. Once the chain is known (`dead_rx`), a resolver
    /// known to wait out a dead server of it is not waited for.
    async fn ask_resolvers(
        &self,
        input: &InputName,
        events: &EventSink,
        dead_rx: tokio::sync::watch::Receiver<Option<Vec<SocketAddr>>>,
    ) -> Vec<ResolverView> {
        let transport = self.walker().transport().clone();
        let id = input.identifier.as_str();
        futures::future::join_all(self.vantages().iter().map(|v| {
            let transport = transport.clone();
            let mut dead_rx = dead_rx.clone();
            async move {
                let ask = ask_resolver(transport.as_ref(), v, &input.challenge);
                let skip = async {
                    let dead = dead_rx
                        .wait_for(Option::is_some)
                        .await
                        .map(|d| d.clone().unwrap_or_default());
                    let Ok(dead) = dead else {
                        return std::future::pending().await;
                    };
                    self.hangs(v, &dead).await
                };
                let asked_at = std::time::Instant::now();
                let rv = tokio::select! {
                    biased;
                    rv = ask => rv,
                    (took, dead) = skip => ResolverView::not_waited(v, &input.challenge, took, dead),
                };
                // The transport found the resolver dead (it ended the question before its
                // own timeout): when the chain passes a dead server, the resolver was
                // waiting for that server, and is said not to have been waited for.
                let ended_early = matches!(rv.exchange.outcome, Outcome::Timeout)
                    && rv.not_waited.is_none()
                    && asked_at.elapsed() + Duration::from_millis(50) < rv.exchange.elapsed
                    && transport.is_dead(v.addr);
                let rv = if ended_early {
                    // The chain's dead servers, once the chain is known.
                    let dead = dead_rx
                        .wait_for(Option::is_some)
                        .await
                        .map(|d| d.clone().unwrap_or_default())
                        .unwrap_or_default();
                    match dead.first() {
                        Some(d) => ResolverView::not_waited(
                            v,
                            &input.challenge,
                            rv.exchange.elapsed,
                            *d,
                        ),
                        None => rv,
                    }
                } else {
                    rv
                };
                events.emit(|| vantage_event(id, &rv));
                rv
            }
        }))
        .await
    }

    /// The servers of the chain that stopped answering in this run.
    fn dead_servers(&self, chain: &Chain) -> Vec<SocketAddr> {
        let t = self.walker().transport();
        let mut v: Vec<SocketAddr> = chain
            .steps
            .iter()
            .flat_map(|s| s.exchanges.iter())
            .filter(|(_, e)| matches!(e.outcome, Outcome::Timeout) && t.is_dead(e.server))
            .map(|(_, e)| e.server)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// A resolver that timed out on a name whose chain passes a dead server waits for that
    /// server: counted per (resolver, dead server) for the run.
    fn note_hanging(&self, chain: &Chain, resolvers: &[ResolverView]) {
        let dead = self.dead_servers(chain);
        if dead.is_empty() {
            return;
        }
        let mut hanging = self.hanging.lock().unwrap_or_else(|e| e.into_inner());
        for rv in resolvers {
            if matches!(rv.exchange.outcome, Outcome::Timeout) {
                for d in &dead {
                    let e = hanging
                        .entry((rv.vantage.addr, *d))
                        .or_insert((0, rv.exchange.elapsed));
                    e.0 += 1;
                    e.1 = rv.exchange.elapsed;
                }
            }
        }
        drop(hanging);
        self.hanging_changed.notify_waiters();
    }

    /// Resolves (with the time its timeouts took, and the dead server) as soon as
    /// resolver `v` has timed out [`DEAD_AFTER_TIMEOUTS`] times in this run on names whose
    /// chain passes one of the `dead` servers of this chain: waiting for it again would
    /// only wait out the same timeout.
    /// Never resolves otherwise.
    async fn hangs(&self, v: &Vantage, dead: &[SocketAddr]) -> (Duration, SocketAddr) {
        if dead.is_empty() {
            return std::future::pending().await;
        }
        loop {
            let changed = self.hanging_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let known = {
                let hanging = self.hanging.lock().unwrap_or_else(|e| e.into_inner());
                dead.iter()
                    .filter_map(|d| hanging.get(&(v.addr, *d)).map(|h| (h, *d)))
                    .find(|((n, _), _)| *n >= DEAD_AFTER_TIMEOUTS)
                    .map(|((_, took), d)| (*took, d))
            };
            if let Some(took) = known {
                return took;
            }
            changed.await;
        }
    }

    /// When `_acme-challenge.<name>` has no CNAME (and is no zone of its own): the nearest
    /// `_acme-challenge.<parent>` up to the apex of the zone holding the name that has one.
    pub(crate) async fn parent_cname_lookup(
        &self,
        input: &InputName,
        chain: &Chain,
    ) -> Option<ParentCname> {
        if !chain.hops.is_empty() || !matches!(chain.end, End::NxDomain { .. } | End::NoData { .. })
        {
            return None;
        }
        let step = chain.steps.first()?;
        if step.zone.apex == input.challenge || step.zone.apex.is_root() {
            return None;
        }
        let mut host = input.host.clone();
        while host != step.zone.apex && host.is_subdomain_of(&step.zone.apex) {
            host = host.parent();
            let owner = host.prepend(crate::model::name::CHALLENGE_LABEL);
            let walk = self.walker().zone_of(owner.clone()).await;
            let q = Question::new(owner.clone(), RecordType::TXT);
            let Some(ex) = self
                .walker()
                .first_authoritative(&walk.zone.servers, &q)
                .await
            else {
                continue;
            };
            let target = ex.outcome.reply().and_then(|r| {
                r.answers.iter().find_map(|a| match &a.data {
                    RData::CNAME(t) if a.name == owner => Some(t.clone()),
                    _ => None,
                })
            });
            if let Some(target) = target {
                return Some(ParentCname {
                    owner,
                    target,
                    exchange: ex,
                });
            }
        }
        None
    }

    /// When `_acme-challenge.<name>` has no CNAME and lies in a zone that a zone of the
    /// user (not the root, not a TLD) delegates: that delegating zone.
    pub(crate) async fn parent_zone_lookup(
        &self,
        input: &InputName,
        chain: &Chain,
    ) -> Option<Name> {
        let apex = &chain.steps.first()?.zone.apex;
        if !chain.hops.is_empty() || *apex == input.challenge || is_infrastructure(apex) {
            return None;
        }
        let parent = self.walker().zone_of(apex.parent()).await.zone.apex.clone();
        (!is_infrastructure(&parent)).then_some(parent)
    }

    /// The first CNAME's target with its owner's zone appended
    /// (`label.acme.example.net.example.com.`): the part before the zone is the expected
    /// target, or a name in a delegated zone (not the root or a TLD).
    pub(crate) async fn target_doubled_lookup(
        &self,
        chain: &Chain,
        expect: Option<&Name>,
    ) -> Option<TargetDoubled> {
        // Any hop: a later hop's target written without its trailing dot is doubled the
        // same way (differential seed 733).
        for hop in &chain.hops {
            let Some(zone) = hop.zone.clone().filter(|z| !z.is_root()) else {
                continue;
            };
            let Some(head) = hop
                .target
                .as_str()
                .strip_suffix(zone.as_str())
                .and_then(|h| h.strip_suffix('.'))
            else {
                continue;
            };
            let meant = Name::from_ascii(head);
            if meant.label_count() < 2 {
                continue;
            }
            let why = if expect == Some(&meant) {
                "the expected target".to_string()
            } else {
                // A delegation is enough: the meant zone exists even when its servers do
                // not answer (differential seed 923), and the client writes there.
                let walk = self.walker().zone_of(meant.clone()).await;
                let apex = &walk.zone.apex;
                if is_infrastructure(apex) || !meant.is_subdomain_of(apex) {
                    continue;
                }
                format!("a name in the delegated zone {apex}")
            };
            return Some(TargetDoubled {
                owner: hop.owner.clone(),
                published: hop.target.clone(),
                zone,
                meant,
                why,
            });
        }
        None
    }

    /// When the real owner has no CNAME, asks for the owner with the zone appended twice.
    pub(crate) async fn doubled_lookup(
        &self,
        input: &InputName,
        chain: &Chain,
    ) -> Option<(Name, Exchange)> {
        if !chain.hops.is_empty()
            || !matches!(
                chain.end,
                End::NxDomain { .. } | End::NoData { .. } | End::Txt { .. }
            )
        {
            return None;
        }
        let step = chain.steps.first()?;
        if step.zone.apex.is_root() {
            return None;
        }
        let doubled = Name::from_ascii(&format!(
            "{}.{}",
            input.challenge.without_dot(),
            step.zone.apex
        ));
        let q = Question::new(doubled.clone(), RecordType::TXT);
        let ex = self
            .walker()
            .first_authoritative(&step.zone.servers, &q)
            .await?;
        let has = ex.outcome.reply().is_some_and(|r| {
            r.answers
                .iter()
                .any(|a| a.name == doubled && matches!(a.data, RData::CNAME(_) | RData::TXT(_)))
        });
        has.then_some((doubled, ex))
    }

    /// Does the zone of a CNAME target exist and answer? (for a hosted target, before any
    /// CNAME is published): `TARGET_ZONE_UNDELEGATED` / `TARGET_ZONE_LAME` findings.
    pub async fn target_zone_findings(&self, id: &str, target: &Name) -> Vec<Finding> {
        let walk = self.walker().zone_of(target.clone()).await;
        if let Some(m) = walk.missing_at.as_ref().filter(|m| *m != target) {
            return vec![Finding::new(
                Code::TargetZoneUndelegated,
                id,
                format!(
                    "the target {target} is not in any delegated zone: {} says {m} does not exist (NXDOMAIN)",
                    walk.zone.apex
                ),
                "check the target the service gave you (a typo?), or ask the service to delegate its zone".into(),
            )];
        }
        let q = Question::new(walk.zone.apex.clone(), RecordType::SOA);
        let mut answered = false;
        let mut tried = Vec::new();
        for s in &walk.zone.servers {
            let ex = self
                .walker()
                .transport()
                .ask(s.addr, &q, QueryFlags::authoritative())
                .await;
            answered |=
                ex.outcome.is_usable() && ex.outcome.reply().is_some_and(|r| r.authoritative);
            tried.push(format!(
                "{} ({}) {}",
                s.name,
                s.addr,
                crate::findings::rules::chain::outcome_text(&ex.outcome)
            ));
        }
        if walk.unresponsive || !answered || walk.zone.apex.is_root() {
            return vec![Finding::new(
                Code::TargetZoneLame,
                id,
                format!(
                    "no server of {}, the zone of the target {target}, answers authoritatively: {}",
                    walk.zone.apex,
                    if tried.is_empty() {
                        "no servers found".to_string()
                    } else {
                        tried.join("; ")
                    }
                ),
                format!(
                    "ask the service to fix the name servers of {}",
                    walk.zone.apex
                ),
            )];
        }
        vec![]
    }

    /// Checks one name in this run, telling `events` what it learns (answers, hops,
    /// findings).
    pub(crate) async fn check_one(
        &self,
        input: &InputName,
        opts: &CheckOptions,
        events: &EventSink,
    ) -> NameReport {
        let ev = self.evidence(input, opts, events).await;
        let findings = rules(&ev);
        events.findings(&input.identifier, &findings);
        report::name_report(&ev, findings)
    }

    /// Checks every name concurrently in this run, telling `events` what it learns while
    /// it works, until `cancel` (then the names not done yet say so, as `CHECK_FAILED`);
    /// the report keeps the input order.
    pub async fn check(
        self: &Arc<Self>,
        req: &CheckRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Report {
        let (names, opts) = (&req.names, &req.options);
        events.emit(|| Event::RunStarted { names: names.len() });
        let done = Arc::new(AtomicUsize::new(0));
        let total = names.len();
        let shared = Arc::new(shared_walks(names));
        let out = self
            .per_name(names, cancel, |me, n| {
                let opts = opts.clone();
                let events = events.clone();
                let done = done.clone();
                let shared = shared.clone();
                async move {
                    let r = me.check_one(&n, &opts, &events).await;
                    if !shared.contains(&n.host) {
                        // No other name of the run walks through this one: its own walks
                        // (the challenge and the host) go, the zones above them stay.
                        me.walker().forget([&n.challenge, &n.host]);
                    }
                    name_done(&events, &done, total, &r.name, r.ok);
                    r
                }
            })
            .await;
        let names: Vec<NameReport> = out
            .into_iter()
            .zip(names)
            .map(|(r, n)| r.unwrap_or_else(|| unfinished(n, cancel, "checking")))
            .collect();
        run_done(events, &names, cancel);
        Report { version: 1, names }
    }
}

/// The names whose walks more than one name of a run needs: every name above a host
/// (the zones and the names that hosts share), and a host given twice (`example.com` and
/// `*.example.com` share their challenge). The walks of any other host and of its
/// challenge serve that name alone, so the run forgets them once the name is judged.
fn shared_walks(names: &[InputName]) -> HashSet<Name> {
    let mut hosts = HashSet::new();
    let mut shared = HashSet::new();
    for n in names {
        if !hosts.insert(&n.host) {
            shared.insert(n.host.clone());
        }
        let mut up = n.host.clone();
        while !up.is_root() {
            up = up.parent();
            if !shared.insert(up.clone()) {
                break; // and so are the names above it
            }
        }
    }
    shared
}

/// The report of a name whose task did not finish: cancelled, or an internal error.
pub(crate) fn unfinished(n: &InputName, cancel: &CancellationToken, doing: &str) -> NameReport {
    if cancel.is_cancelled() {
        report::failed_name(n, "the run was cancelled before this name was done")
    } else {
        report::failed_name(n, &format!("internal error while {doing} this name"))
    }
}

pub(crate) fn name_done(
    events: &EventSink,
    done: &AtomicUsize,
    total: usize,
    name: &str,
    ok: bool,
) {
    let done = done.fetch_add(1, Ordering::SeqCst) + 1;
    events.emit(|| Event::NameDone {
        name: name.to_string(),
        ok,
        done,
        total,
    });
}

pub(crate) fn run_done(events: &EventSink, names: &[NameReport], cancel: &CancellationToken) {
    events.emit(|| Event::RunDone {
        total: names.len(),
        ok: names.iter().filter(|n| n.ok).count(),
        cancelled: cancel.is_cancelled(),
    });
}

/// A resolver's answer as an event.
pub(crate) fn vantage_event(name: &str, rv: &crate::engine::views::ResolverView) -> Event {
    Event::Vantage {
        name: name.to_string(),
        vantage: rv.vantage.name.clone(),
        kind: rv.vantage.kind,
        server: rv.exchange.server,
        outcome: rv.exchange.outcome.brief(),
        ms: rv.exchange.ms(),
    }
}

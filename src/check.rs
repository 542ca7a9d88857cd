//! `check`: for each name, the chain as every authoritative server and every resolver sees
//! it, the findings, and a verdict. All names run concurrently (the transport bounds the
//! queries in flight); the walk below shared zones is done once.

use crate::chain::{self, Chain, End};
use crate::config::Config;
use crate::dns::walk::Walker;
use crate::dns::{
    Exchange, Name, NetOptions, NetTransport, QueryFlags, Question, RData, RecordType, Transport,
};
use crate::findings::chain::{rules, NameEvidence};
use crate::findings::diagnose::ZoneSigning;
use crate::findings::{Finding, Severity};
use crate::memo::Memo;
use crate::name::InputName;
use crate::report::{self, NameReport, Report};
use crate::views::{ask_resolver, vantages, Vantage};
use std::sync::Arc;

/// Options of one check run.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The CNAME target every name should reach (`--expect-target`).
    pub expect_target: Option<Name>,
    /// Per-name targets (from the saved plan), used when `expect_target` is not given.
    pub planned: std::collections::BTreeMap<String, Name>,
}

/// The engine: configuration, transport and the memoised delegation walk.
pub struct Engine<T: Transport> {
    pub config: Config,
    walker: Walker<T>,
    vantages: Vec<Vantage>,
    /// CAA answers per node at the CA's stand-in resolver (names share their parents).
    pub(crate) caa_nodes: Memo<Name, Exchange>,
    /// DNSSEC signing status per target zone.
    pub(crate) signing: Memo<Name, ZoneSigning>,
}

impl Engine<NetTransport> {
    /// An engine on the real network, as configured.
    pub fn new(config: Config) -> Arc<Self> {
        let t = NetTransport::new(NetOptions {
            timeout: config.timeout,
            attempts: config.attempts,
            max_inflight: config.max_inflight,
            max_qps_per_server: config.max_qps_per_server,
        });
        Engine::with_transport(config, t)
    }
}

impl<T: Transport> Engine<T> {
    pub fn with_transport(config: Config, transport: T) -> Arc<Self> {
        let walker = Walker::new(Arc::new(transport), config.roots.clone(), config.timeout);
        Arc::new(Engine {
            vantages: vantages(&config),
            config,
            walker,
            caa_nodes: Memo::default(),
            signing: Memo::default(),
        })
    }

    pub fn walker(&self) -> &Walker<T> {
        &self.walker
    }

    /// The resolvers asked, configured ones first, then the system's.
    pub fn vantages(&self) -> &[Vantage] {
        &self.vantages
    }

    /// Gathers the evidence for one name: the authoritative chain and every vantage point.
    pub async fn evidence(&self, input: &InputName, opts: &CheckOptions) -> NameEvidence {
        let transport = self.walker.transport().clone();
        let resolvers = futures::future::join_all(
            self.vantages
                .iter()
                .map(|v| ask_resolver(transport.as_ref(), v, &input.challenge)),
        );
        let (chain, resolvers) =
            tokio::join!(chain::follow(&self.walker, &input.challenge), resolvers);
        let doubled = self.doubled_lookup(input, &chain).await;
        NameEvidence {
            observed_at: std::time::SystemTime::now(),
            input: input.clone(),
            chain,
            resolvers,
            doubled,
            expect_target: opts
                .expect_target
                .clone()
                .or_else(|| opts.planned.get(&input.identifier).cloned()),
        }
    }

    /// When the real owner has no CNAME, asks for the owner with the zone appended twice.
    async fn doubled_lookup(&self, input: &InputName, chain: &Chain) -> Option<(Name, Exchange)> {
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
            .walker
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
        let walk = self.walker.zone_of(target.clone()).await;
        if let Some(m) = walk.missing_at.as_ref().filter(|m| *m != target) {
            return vec![Finding::new(
                "TARGET_ZONE_UNDELEGATED",
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
                .walker
                .transport()
                .ask(s.addr, &q, QueryFlags::authoritative())
                .await;
            answered |=
                ex.outcome.is_usable() && ex.outcome.reply().is_some_and(|r| r.authoritative);
            tried.push(format!(
                "{} ({}) {}",
                s.name,
                s.addr,
                crate::findings::chain::outcome_text(&ex.outcome)
            ));
        }
        if walk.unresponsive || !answered || walk.zone.apex.is_root() {
            return vec![Finding::new(
                "TARGET_ZONE_LAME",
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

    /// Checks one name.
    pub async fn check_one(&self, input: &InputName, opts: &CheckOptions) -> NameReport {
        let ev = self.evidence(input, opts).await;
        let findings = rules(&ev);
        report::name_report(&ev, findings)
    }

    /// Runs `f` for every name on its own task; results keep the input order, None where a
    /// task failed. At most [`Self::names_at_once`] names run at a time (the transport
    /// bounds the queries in flight): a name's evidence lives only while it is checked, and
    /// names finish one after the other instead of all at the end.
    pub async fn per_name<R, F, Fut>(self: &Arc<Self>, names: &[InputName], f: F) -> Vec<Option<R>>
    where
        R: Send + 'static,
        F: Fn(Arc<Self>, InputName) -> Fut,
        Fut: std::future::Future<Output = R> + Send + 'static,
    {
        let mut set = tokio::task::JoinSet::new();
        let mut todo = names.iter().enumerate();
        let mut spawn_next = |set: &mut tokio::task::JoinSet<(usize, R)>| {
            if let Some((i, n)) = todo.next() {
                let fut = f(self.clone(), n.clone());
                set.spawn(async move { (i, fut.await) });
            }
        };
        for _ in 0..self.names_at_once() {
            spawn_next(&mut set);
        }
        let mut out: Vec<Option<R>> = (0..names.len()).map(|_| None).collect();
        while let Some(r) = set.join_next().await {
            spawn_next(&mut set);
            match r {
                Ok((i, rep)) => out[i] = Some(rep),
                Err(e) => tracing::error!("a task for one name failed: {e}"),
            }
        }
        out
    }

    /// Names checked at once: enough to keep `max_inflight` queries busy (a name asks a
    /// few at a time), few enough that the work and memory stay proportional to it.
    pub fn names_at_once(&self) -> usize {
        self.config.max_inflight.max(1) * 2
    }

    /// Checks every name concurrently; the report keeps the input order.
    pub async fn check(self: &Arc<Self>, names: &[InputName], opts: &CheckOptions) -> Report {
        let out = self
            .per_name(names, |me, n| {
                let opts = opts.clone();
                async move { me.check_one(&n, &opts).await }
            })
            .await;
        let names = out
            .into_iter()
            .zip(names)
            .map(|(r, n)| {
                r.unwrap_or_else(|| {
                    report::failed_name(n, "internal error while checking this name")
                })
            })
            .collect();
        Report { version: 1, names }
    }
}

/// Exit status of `check`/`diagnose`: 0 every name works from every vantage point, 1 at
/// least one error finding, 3 inconclusive (no server could be reached at all).
pub fn exit_code(report: &Report) -> i32 {
    if !report.names.is_empty() && report.names.iter().all(|n| n.inconclusive) {
        return 3;
    }
    if report.names.iter().any(|n| {
        n.findings
            .iter()
            .any(|f: &Finding| f.severity == Severity::Error)
    }) {
        return 1;
    }
    0
}

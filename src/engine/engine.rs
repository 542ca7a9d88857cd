//! The engine's one home: [`Engine`] (what lives as long as the program: the
//! configuration, the transport, the vantage points) and [`Run`] (what one call learns
//! and forgets when it ends: the memoised walks, CAA and signing answers, the dead
//! servers, the resolvers that hang on them).
//!
//! Each entry point of the engine creates its own [`Run`]: two calls on one engine, at
//! the same time, never see or reset each other's memos or dead servers.

use crate::dns::memo::Memo;
use crate::dns::walk::Walker;
use crate::dns::{Exchange, Name, NetOptions, NetTransport, Transport};
use crate::engine::check::CheckRequest;
use crate::engine::diagnose::DiagnoseRequest;
use crate::engine::endpoint::{EndpointReport, EndpointRequest};
use crate::engine::events::{CancellationToken, EventSink};
use crate::engine::hook::{Cleaned, HookError, HookRequest, Published};
use crate::engine::poll::{PollOutcome, PollRequest};
use crate::engine::prove::{ProveReport, ProveRequest};
use crate::engine::setup::{PlanOutcome, PlanRequest, SetupError};
use crate::engine::views::{vantages, Vantage};
use crate::findings::rules::diagnose::{ZoneHealth, ZoneSigning};
use crate::model::config::Config;
use crate::model::name::InputName;
use crate::report::Report;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The engine: configuration, transport and vantage points, shared by every run.
pub struct Engine<T: Transport> {
    pub config: Config,
    transport: Arc<T>,
    vantages: Vec<Vantage>,
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
        Arc::new(Engine {
            vantages: vantages(&config),
            config,
            transport: Arc::new(transport),
        })
    }

    /// The resolvers asked, configured ones first, then the system's.
    pub fn vantages(&self) -> &[Vantage] {
        &self.vantages
    }

    /// The transport every run shares (sockets, in-flight permits, pacing).
    pub fn transport(&self) -> &Arc<T> {
        &self.transport
    }

    /// Names checked at once: enough to keep `max_inflight` queries busy (a name asks a
    /// few at a time), few enough that the work and memory stay proportional to it.
    pub fn names_at_once(&self) -> usize {
        self.config.max_inflight.max(1) * 2
    }

    /// A new run: nothing memoised yet, no server known dead. Every entry point makes
    /// its own; a caller that spans one run over many calls (the exporter's round) keeps
    /// one.
    pub fn run(self: &Arc<Self>) -> Arc<Run<T>> {
        Arc::new(Run::new(self.clone()))
    }

    /// Checks every name of `req` concurrently in a run of its own, telling `events`
    /// what it learns while it works, until `cancel` (then the names not done yet say
    /// so, as `CHECK_FAILED`); the report keeps the input order.
    pub async fn check(
        self: &Arc<Self>,
        req: &CheckRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Report {
        self.run().check(req, cancel, events).await
    }

    /// Diagnoses every name of `req` concurrently in a run of its own (names keep the
    /// input order), telling `events` what it learns, until `cancel`.
    pub async fn diagnose(
        self: &Arc<Self>,
        req: &DiagnoseRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Report {
        self.run().diagnose(req, cancel, events).await
    }

    /// Polls the names of `req` round after round (see [`crate::engine::poll`]), each
    /// round a run of its own, until every name works from every vantage point, the
    /// poll's timeout runs out, or `cancel`.
    pub async fn poll(
        self: &Arc<Self>,
        req: &PollRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> PollOutcome {
        crate::engine::poll::poll(self, req, cancel, events).await
    }

    /// Proves every (name, target) pair of `req` in a run of its own (see
    /// [`crate::engine::prove`]), through the plan's zone, which it opens first (an
    /// error when it cannot be opened or cannot publish); `cancel` (e.g. Ctrl-C) stops
    /// early — the tokens published so far are removed either way.
    pub async fn prove(
        self: &Arc<Self>,
        req: &ProveRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<ProveReport, SetupError> {
        self.run().prove(req, cancel, events).await
    }

    /// Computes the plan of `req` in a run of its own (see [`Run::make_plan`]), until
    /// `cancel`.
    pub async fn make_plan(
        self: &Arc<Self>,
        req: &PlanRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<PlanOutcome, SetupError> {
        self.run().make_plan(req, cancel, events).await
    }

    /// certbot's auth hook in a run of its own (see [`Run::hook_auth`]): opens the plan's
    /// zone, publishes, waits until every authoritative server serves the value, until
    /// `cancel`.
    pub async fn hook_auth(
        self: &Arc<Self>,
        req: &HookRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<Published, HookError> {
        self.run().hook_auth(req, cancel, events).await
    }

    /// certbot's cleanup hook in a run of its own (see [`Run::hook_cleanup`]): opens the
    /// plan's zone and removes the value, until `cancel`.
    pub async fn hook_cleanup(
        self: &Arc<Self>,
        req: &HookRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<Cleaned, HookError> {
        self.run().hook_cleanup(req, cancel, events).await
    }

    /// Checks the TLS endpoints of `req` (see [`crate::engine::endpoint`]), until
    /// `cancel`; file their findings into a report with
    /// [`crate::engine::endpoint::attach_endpoints`].
    pub async fn check_endpoints(
        &self,
        req: &EndpointRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Vec<EndpointReport> {
        crate::engine::endpoint::check_endpoints(req, cancel, events).await
    }
}

/// What one run learns: memoised walks, CAA answers, signing status and zone health,
/// the servers found dead (in the run's handle on the transport), and which resolvers
/// hang on them. Dropped when the run ends; another run never sees it.
pub struct Run<T: Transport> {
    engine: Arc<Engine<T>>,
    walker: Walker<T>,
    /// CAA answers per node at the CA's stand-in resolver (names share their parents).
    pub(crate) caa_nodes: Memo<Name, Exchange>,
    /// DNSSEC signing status per target zone.
    pub(crate) signing: Memo<Name, ZoneSigning>,
    /// Delegation health per zone on a chain (diagnose).
    pub(crate) health: Memo<Name, ZoneHealth>,
    /// (resolver, dead authoritative server) -> how often the resolver timed out on a
    /// name whose chain passes that server, and how long the last timeout took.
    pub(crate) hanging: std::sync::Mutex<HashMap<(SocketAddr, SocketAddr), (u32, Duration)>>,
    pub(crate) hanging_changed: tokio::sync::Notify,
}

impl<T: Transport> std::ops::Deref for Run<T> {
    type Target = Engine<T>;

    fn deref(&self) -> &Engine<T> {
        &self.engine
    }
}

impl<T: Transport> Run<T> {
    fn new(engine: Arc<Engine<T>>) -> Self {
        let transport = T::for_run(&engine.transport);
        let walker = Walker::new(
            transport,
            engine.config.roots.clone(),
            engine.config.timeout,
        );
        let epoch = walker.epoch().clone();
        Run {
            caa_nodes: Memo::new(epoch.clone(), exchange_ttl),
            signing: Memo::new(epoch.clone(), |_| None),
            health: Memo::new(epoch, |_| None),
            hanging: Default::default(),
            hanging_changed: tokio::sync::Notify::new(),
            walker,
            engine,
        }
    }

    /// The engine this run belongs to.
    pub fn engine(&self) -> &Arc<Engine<T>> {
        &self.engine
    }

    /// The run's memoising walker, on the run's handle of the transport.
    pub fn walker(&self) -> &Walker<T> {
        &self.walker
    }

    /// Runs `f` for every name on its own task, until `cancel`: then every task is
    /// stopped (and waited for) and the names not done yet are None. Results keep the
    /// input order, None where a task failed. At most [`Engine::names_at_once`] names run
    /// at a time (the transport bounds the queries in flight): a name's evidence lives
    /// only while it is checked, and names finish one after the other instead of all at
    /// the end.
    pub(crate) async fn per_name<R, F, Fut>(
        self: &Arc<Self>,
        names: &[InputName],
        cancel: &CancellationToken,
        f: F,
    ) -> Vec<Option<R>>
    where
        R: Send + 'static,
        F: Fn(Arc<Self>, InputName) -> Fut,
        Fut: std::future::Future<Output = R> + Send + 'static,
    {
        let mut set = tokio::task::JoinSet::new();
        let mut todo = names.iter().enumerate();
        let mut spawn_next = |set: &mut tokio::task::JoinSet<(usize, R)>| {
            if let Some((i, n)) = todo.next() {
                // Boxed: the name's future (kilobytes) is then moved into its task as a
                // pointer, not copied.
                let fut = Box::pin(f(self.clone(), n.clone()));
                set.spawn(async move { (i, fut.await) });
            }
        };
        for _ in 0..self.names_at_once() {
            spawn_next(&mut set);
        }
        let mut out: Vec<Option<R>> = (0..names.len()).map(|_| None).collect();
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        loop {
            let r = tokio::select! {
                biased;
                _ = &mut cancelled => {
                    set.shutdown().await;
                    break;
                }
                r = set.join_next() => r,
            };
            if r.is_some() {
                spawn_next(&mut set);
            }
            match r {
                None => break,
                Some(Ok((i, rep))) => out[i] = Some(rep),
                Some(Err(e)) => tracing::error!("a task for one name failed: {e}"),
            }
        }
        out
    }
}

/// How long an answer may be reused: its smallest record TTL, or its negative TTL; a
/// failed exchange only for the current run.
fn exchange_ttl(ex: &Exchange) -> Option<Duration> {
    let r = ex.outcome.reply().filter(|_| ex.outcome.is_usable())?;
    let ttl = r.answers.iter().map(|a| a.ttl).min().or(r.negative_ttl())?;
    Some(Duration::from_secs(ttl.into()))
}

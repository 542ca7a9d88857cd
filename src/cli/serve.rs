//! `serve`: a Prometheus exporter in the blackbox_exporter style (axum).
//!
//! ```text
//! Prometheus --GET /probe?name=www.example.com--> serve --> Engine (one, shared)
//!            <-- acme_delegate_ok{vantage} 1 ---          \-> per-name results, reused
//!                                                              within their TTL
//! ```
//!
//! - `GET /probe?name=NAME[&name=...]`: checks the names (the plan, config and resolvers
//!   of the command line) and answers with the textfile's series plus `acme_delegate_ok`
//!   and the probe's duration, each labelled `vantage`. Bounded by the request's
//!   `X-Prometheus-Scrape-Timeout-Seconds` (less 0.5 s): when it runs out, the probe's
//!   cancel token stops the engine's work and the names not done are `CHECK_FAILED`.
//! - `GET /metrics`: the exporter's own counters. `GET /healthz`: `ok`.

use super::args::ServeArgs;
use super::{live, usage};
use acme_delegate::dns::NetTransport;
use acme_delegate::engine::check::{CheckOptions, CheckRequest};
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::{Engine, Run};
use acme_delegate::model::config::Config;
use acme_delegate::model::name::{parse_input, parse_target, unique_names, InputName};
use acme_delegate::model::plan::Plan;
use acme_delegate::report::prometheus::{escape, render_probe};
use acme_delegate::report::{failed_name, NameReport, Report};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

/// The header Prometheus sends with the scrape's timeout.
const TIMEOUT_HEADER: &str = "X-Prometheus-Scrape-Timeout-Seconds";
/// Taken off the scrape timeout, so that the answer arrives before Prometheus gives up.
const TIMEOUT_OFFSET: f64 = 0.5;
/// The engine forgets servers it found dead (and its memos) this often.
const ROUND: Duration = Duration::from_secs(60);
/// The exposition format's content type.
const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Buckets of the probe-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// A name's result, and until when it may be reused.
#[derive(Clone)]
struct Checked {
    report: Arc<NameReport>,
    until: Instant,
}

/// Per name: its result, or the check in flight that all probes of it wait for.
struct Cache {
    map: HashMap<String, Arc<OnceCell<Checked>>>,
    /// Expired entries are swept when the map reaches this size.
    sweep_at: usize,
}

#[derive(Default)]
struct Stats {
    probes_ok: AtomicU64,
    probes_failed: AtomicU64,
    probes_timed_out: AtomicU64,
    bad_requests: AtomicU64,
    in_flight: AtomicI64,
    checked: AtomicU64,
    reused: AtomicU64,
    /// Per bucket (and +Inf last) the count, then the sum of seconds.
    durations: Mutex<([u64; BUCKETS.len() + 1], f64)>,
}

/// The exporter's state, shared by every request.
pub struct Exporter {
    /// The engine's current run: names checked within one [`ROUND`] share its memos and
    /// what it learnt of dead servers.
    run: Mutex<Arc<Run<NetTransport>>>,
    opts: CheckOptions,
    vantage: String,
    max_age: Duration,
    default_timeout: Duration,
    max_names: usize,
    cache: Mutex<Cache>,
    stats: Stats,
    started: SystemTime,
    last_round: Mutex<Instant>,
    /// Cancelled on SIGTERM/Ctrl-C: every probe's token is a child of it.
    shutdown: CancellationToken,
}

/// A bad request: HTTP 400 with the reason.
#[derive(Debug, PartialEq, Eq)]
struct BadRequest(String);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub async fn serve(config: Config, plan_path: Option<PathBuf>, args: ServeArgs) -> ExitCode {
    let listen: SocketAddr = match args.listen.parse() {
        Ok(a) => a,
        Err(_) => {
            return usage(format!(
                "--listen {:?} is not an address: give IP:PORT, e.g. 127.0.0.1:9612 or [::]:9612",
                args.listen
            ))
        }
    };
    if args.max_age > 86_400 {
        return usage(format!(
            "--max-age {}: at most 86400 seconds (a day)",
            args.max_age
        ));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        return usage(format!(
            "--timeout {}: give seconds between 0 and 3600, e.g. 10",
            args.timeout
        ));
    }
    if args.max_names == 0 {
        return usage("--max-names 0 would refuse every probe; give 1 or more");
    }
    let planned = match Plan::find(plan_path, false) {
        Ok(p) => p
            .map(|p| p.names.into_iter().map(|n| (n.name, n.target)).collect())
            .unwrap_or_default(),
        Err(e) => return usage(e),
    };
    let expect_target = match args.expect_target.as_deref().map(parse_target) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return usage(format!("--expect-target: {e}")),
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            return usage(format!(
                "cannot listen on {listen}: {e}; is another exporter running there? (--listen ADDR)"
            ))
        }
    };
    let shutdown = CancellationToken::new();
    live::cancel_on_signals(shutdown.clone());
    let exporter = Arc::new(Exporter {
        run: Mutex::new(Engine::new(config).run()),
        opts: CheckOptions {
            expect_target,
            planned,
            // A watcher must never fill the caches it reports on.
            ask_resolvers: Default::default(),
        },
        vantage: super::check::vantage_label(args.vantage_label.as_deref()),
        max_age: Duration::from_secs(args.max_age),
        default_timeout: Duration::from_secs_f64(args.timeout),
        max_names: args.max_names,
        cache: Mutex::new(Cache {
            map: HashMap::new(),
            sweep_at: 1024,
        }),
        stats: Stats::default(),
        started: SystemTime::now(),
        last_round: Mutex::new(Instant::now()),
        shutdown: shutdown.clone(),
    });
    let bound = listener.local_addr().unwrap_or(listen);
    if !bound.ip().is_loopback() {
        errln!(
            "acme-delegate serve: {bound} is reachable from other hosts, in plain HTTP: put a reverse proxy with TLS in front and let only Prometheus through (see README)"
        );
    }
    errln!(
        "acme-delegate serve: listening on http://{bound} (vantage {:?}): /probe?name=NAME, /metrics, /healthz",
        exporter.vantage
    );
    let app = router(exporter);
    let stop = shutdown.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    match served {
        Ok(()) => {
            errln!("acme-delegate serve: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(false, 1, format!("the server failed: {e}")),
    }
}

pub fn router(exporter: Arc<Exporter>) -> Router {
    Router::new()
        .route("/probe", get(probe))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(index))
        .with_state(exporter)
}

async fn index() -> &'static str {
    "acme-delegate exporter\n\n/probe?name=NAME[&name=NAME...]  the names' verdicts as metrics\n/metrics                          the exporter's own metrics\n/healthz                          ok when the exporter runs\n"
}

async fn healthz(State(x): State<Arc<Exporter>>) -> Response {
    if x.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn metrics(State(x): State<Arc<Exporter>>) -> Response {
    ([(header::CONTENT_TYPE, METRICS_TYPE)], x.own_metrics()).into_response()
}

async fn probe(
    State(x): State<Arc<Exporter>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let started = Instant::now();
    let parsed = query
        .map_err(|e| BadRequest(format!("the query string cannot be read: {e}")))
        .and_then(|Query(q)| x.parse_request(&headers, &q));
    let (names, budget) = match parsed {
        Ok(p) => p,
        Err(BadRequest(why)) => {
            x.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
        }
    };
    let report = x.probe_names(&names, budget).await;
    let took = started.elapsed();
    x.record(&report, took);
    let body = render_probe(&report, &x.vantage, took);
    ([(header::CONTENT_TYPE, METRICS_TYPE)], body).into_response()
}

/// Counts a probe in flight while it lives.
struct InFlight<'a>(&'a AtomicI64);

impl<'a> InFlight<'a> {
    fn new(c: &'a AtomicI64) -> Self {
        c.fetch_add(1, Ordering::Relaxed);
        InFlight(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Exporter {
    /// The names (each parsed, given once) and the time the probe may take.
    fn parse_request(
        &self,
        headers: &HeaderMap,
        query: &[(String, String)],
    ) -> Result<(Vec<InputName>, Duration), BadRequest> {
        let mut names = Vec::new();
        for (k, v) in query {
            match k.as_str() {
                // `target` too: what blackbox-style tools (the Prometheus Operator's Probe)
                // send.
                "name" | "target" => names.push(
                    parse_input(v).map_err(|e| BadRequest(format!("{k}={v:?}: {e}")))?,
                ),
                other => {
                    return Err(BadRequest(format!(
                        "unknown parameter {other:?}: /probe takes name=NAME (or target=NAME), repeatable"
                    )))
                }
            }
        }
        if names.is_empty() {
            return Err(BadRequest(
                "no name: give /probe?name=NAME (repeatable), e.g. /probe?name=www.example.com"
                    .into(),
            ));
        }
        let names = unique_names(names);
        if names.len() > self.max_names {
            return Err(BadRequest(format!(
                "{} names in one probe, at most {} (--max-names): probe them in several targets",
                names.len(),
                self.max_names
            )));
        }
        Ok((names, self.budget(headers)?))
    }

    /// The probe's time: the scrape timeout less [`TIMEOUT_OFFSET`] (at least half of
    /// it), else `--timeout`.
    fn budget(&self, headers: &HeaderMap) -> Result<Duration, BadRequest> {
        let Some(v) = headers.get(TIMEOUT_HEADER) else {
            return Ok(self.default_timeout);
        };
        let bad = || {
            BadRequest(format!(
                "{TIMEOUT_HEADER}: {:?} is not a number of seconds above 0",
                String::from_utf8_lossy(v.as_bytes())
            ))
        };
        let secs: f64 = v
            .to_str()
            .map_err(|_| bad())?
            .trim()
            .parse()
            .map_err(|_| bad())?;
        if !(secs.is_finite() && secs > 0.0) {
            return Err(bad());
        }
        let secs = (secs - TIMEOUT_OFFSET).max(secs / 2.0).min(3600.0);
        Ok(Duration::from_secs_f64(secs))
    }

    /// Checks `names` within `budget`: each from a result still fresh, or by the engine;
    /// when the time runs out the probe's token cancels the work, and the names not done
    /// are `CHECK_FAILED`.
    async fn probe_names(&self, names: &[InputName], budget: Duration) -> Report {
        let _in_flight = InFlight::new(&self.stats.in_flight);
        self.maybe_new_round();
        let cancel = self.shutdown.child_token();
        let timer = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(budget).await;
                cancel.cancel();
            })
        };
        let why = format!(
            "the probe's time ({:.1} s: {TIMEOUT_HEADER} less {TIMEOUT_OFFSET} s, or --timeout) ran out before this name was checked; raise the scrape_timeout",
            budget.as_secs_f64()
        );
        let reports = futures::future::join_all(
            names
                .iter()
                .map(|n| self.name_report(n, &cancel, why.as_str())),
        )
        .await;
        timer.abort();
        let timed_out = cancel.is_cancelled();
        cancel.cancel();
        if timed_out {
            self.stats.probes_timed_out.fetch_add(1, Ordering::Relaxed);
        }
        let mut report = Report {
            version: 1,
            names: reports,
        };
        report.settle();
        report
    }

    /// One name: a fresh result, the check in flight, or a new check.
    async fn name_report(
        &self,
        n: &InputName,
        cancel: &CancellationToken,
        why: &str,
    ) -> NameReport {
        let cell = self.cell(&n.identifier);
        let ran = AtomicBool::new(false);
        let checked = cell.get_or_init(|| async {
            ran.store(true, Ordering::Relaxed);
            let run = lock(&self.run).clone();
            let req = CheckRequest {
                names: vec![n.clone()],
                options: self.opts.clone(),
            };
            let never = CancellationToken::new();
            let mut r = run.check(&req, &never, &EventSink::none()).await;
            let r = r.names.remove(0);
            let until = Instant::now() + reuse_for(&r, self.max_age);
            Checked {
                report: Arc::new(r),
                until,
            }
        });
        tokio::select! {
            biased;
            c = checked => {
                let counter = if ran.load(Ordering::Relaxed) {
                    &self.stats.checked
                } else {
                    &self.stats.reused
                };
                counter.fetch_add(1, Ordering::Relaxed);
                (*c.report).clone()
            }
            _ = cancel.cancelled() => failed_name(n, why),
        }
    }

    /// The cell of `id`: its fresh result or check in flight, else a new empty one.
    fn cell(&self, id: &str) -> Arc<OnceCell<Checked>> {
        let now = Instant::now();
        let mut c = lock(&self.cache);
        if let Some(cell) = c.map.get(id) {
            if cell.get().is_none_or(|v| v.until > now) {
                return cell.clone();
            }
        }
        if c.map.len() >= c.sweep_at {
            c.map
                .retain(|_, cell| cell.get().is_none_or(|v| v.until > now));
            c.sweep_at = (c.map.len() * 2).max(1024);
        }
        let cell = Arc::new(OnceCell::new());
        c.map.insert(id.to_string(), cell.clone());
        cell
    }

    /// Every [`ROUND`], a new run: the engine forgets the servers it found dead and what it
    /// memoised.
    fn maybe_new_round(&self) {
        let mut last = lock(&self.last_round);
        if last.elapsed() >= ROUND {
            *last = Instant::now();
            let next = lock(&self.run).engine().run();
            *lock(&self.run) = next;
        }
    }

    fn record(&self, report: &Report, took: Duration) {
        let ok = report.names.iter().all(|n| n.ok);
        let c = if ok {
            &self.stats.probes_ok
        } else {
            &self.stats.probes_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let mut d = lock(&self.stats.durations);
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        d.0[i] += 1;
        d.1 += secs;
    }

    /// `GET /metrics`: the exporter's own series, each labelled `vantage`.
    fn own_metrics(&self) -> String {
        let v = format!("vantage=\"{}\"", escape(&self.vantage));
        let s = &self.stats;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "acme_delegate_exporter_probes_total",
            "counter",
            "Probes answered, by result: ok (every name checked out), failed (some name did not; timed-out probes included).",
        );
        for (result, n) in [
            ("ok", load(&s.probes_ok)),
            ("failed", load(&s.probes_failed)),
        ] {
            let _ = writeln!(
                out,
                "acme_delegate_exporter_probes_total{{result=\"{result}\",{v}}} {n}"
            );
        }
        head(
            &mut out,
            "acme_delegate_exporter_probe_errors_total",
            "counter",
            "Probes that ran out of time (timeout) and requests refused with HTTP 400 (bad_request).",
        );
        for (reason, n) in [
            ("timeout", load(&s.probes_timed_out)),
            ("bad_request", load(&s.bad_requests)),
        ] {
            let _ = writeln!(
                out,
                "acme_delegate_exporter_probe_errors_total{{reason=\"{reason}\",{v}}} {n}"
            );
        }
        head(
            &mut out,
            "acme_delegate_exporter_probes_in_flight",
            "gauge",
            "Probes being answered now.",
        );
        let _ = writeln!(
            out,
            "acme_delegate_exporter_probes_in_flight{{{v}}} {}",
            s.in_flight.load(Ordering::Relaxed)
        );
        head(
            &mut out,
            "acme_delegate_exporter_names_total",
            "counter",
            "Names answered, by source: checked (the engine asked the servers) or reused (a result still within its TTL, or a check another probe had in flight).",
        );
        for (source, n) in [("checked", load(&s.checked)), ("reused", load(&s.reused))] {
            let _ = writeln!(
                out,
                "acme_delegate_exporter_names_total{{source=\"{source}\",{v}}} {n}"
            );
        }
        head(
            &mut out,
            "acme_delegate_exporter_cached_names",
            "gauge",
            "Names whose result is kept (fresh or expired, until swept) or being checked.",
        );
        let _ = writeln!(
            out,
            "acme_delegate_exporter_cached_names{{{v}}} {}",
            lock(&self.cache).map.len()
        );
        head(
            &mut out,
            "acme_delegate_exporter_probe_duration_seconds",
            "histogram",
            "How long probes took.",
        );
        let (counts, sum) = *lock(&s.durations);
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += counts[i];
            let _ = writeln!(
                out,
                "acme_delegate_exporter_probe_duration_seconds_bucket{{le=\"{b}\",{v}}} {cum}"
            );
        }
        cum += counts[BUCKETS.len()];
        let _ = writeln!(
            out,
            "acme_delegate_exporter_probe_duration_seconds_bucket{{le=\"+Inf\",{v}}} {cum}"
        );
        let _ = writeln!(
            out,
            "acme_delegate_exporter_probe_duration_seconds_sum{{{v}}} {sum}"
        );
        let _ = writeln!(
            out,
            "acme_delegate_exporter_probe_duration_seconds_count{{{v}}} {cum}"
        );
        head(
            &mut out,
            "acme_delegate_exporter_start_time_seconds",
            "gauge",
            "Unix time the exporter started.",
        );
        let _ = writeln!(
            out,
            "acme_delegate_exporter_start_time_seconds{{{v}}} {}",
            self.started
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        );
        out
    }
}

/// How long a name's result is reused: the smallest TTL of the delegation's records on
/// the authoritative chain (the NS of a challenge zone, the CNAMEs; without any, the TTL
/// of the chain's end: the TXT, or the negative TTL of an NXDOMAIN/NODATA), at most
/// `max_age`. Resolvers cannot see a change sooner. An inconclusive result, or one
/// without any TTL, is not reused.
fn reuse_for(r: &NameReport, max_age: Duration) -> Duration {
    if r.inconclusive {
        return Duration::ZERO;
    }
    let records = r
        .chain
        .iter()
        .filter(|e| e.rtype == "CNAME" || e.rtype == "NS")
        .filter_map(|e| e.ttl)
        .min();
    let ttl = records.or_else(|| r.chain.last().and_then(|e| e.ttl));
    ttl.map_or(Duration::ZERO, |t| {
        Duration::from_secs(t.into()).min(max_age)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use acme_delegate::report::ChainEntry;

    fn exporter(root: SocketAddr) -> Arc<Exporter> {
        let mut config = Config::defaults();
        config.roots = vec![root];
        config.resolvers = vec![];
        config.system = vec![];
        config.timeout = Duration::from_millis(200);
        config.attempts = 1;
        Arc::new(Exporter {
            run: Mutex::new(Engine::new(config).run()),
            opts: CheckOptions::default(),
            vantage: "lab \"west\"".into(),
            max_age: Duration::from_secs(60),
            default_timeout: Duration::from_secs(5),
            max_names: 3,
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                sweep_at: 1024,
            }),
            stats: Stats::default(),
            started: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            last_round: Mutex::new(Instant::now()),
            shutdown: CancellationToken::new(),
        })
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn headers(timeout: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = timeout {
            h.insert(TIMEOUT_HEADER, t.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn requests_are_parsed_or_refused_with_the_reason() {
        let x = exporter("127.0.0.1:9".parse().unwrap());
        let (names, budget) = x
            .parse_request(
                &headers(Some("10")),
                &q(&[("name", "www.example.com"), ("name", "WWW.example.com.")]),
            )
            .unwrap();
        assert_eq!(names.len(), 1, "a name given twice is checked once");
        assert_eq!(budget, Duration::from_millis(9500));
        // No header: --timeout. A tiny timeout: half of it, never nothing.
        assert_eq!(
            x.parse_request(&headers(None), &q(&[("name", "a.example.com")]))
                .unwrap()
                .1,
            Duration::from_secs(5)
        );
        assert_eq!(
            x.parse_request(&headers(Some("0.4")), &q(&[("name", "a.example.com")]))
                .unwrap()
                .1,
            Duration::from_millis(200)
        );
        let refused = |h: Option<&str>, p: &[(&str, &str)]| {
            x.parse_request(&headers(h), &q(p)).unwrap_err().0
        };
        assert!(refused(None, &[]).contains("no name"));
        assert!(refused(None, &[("name", "192.0.2.1")]).contains("name=\"192.0.2.1\""));
        assert!(refused(None, &[("target", "192.0.2.1")]).contains("target=\"192.0.2.1\""));
        let (names, _) = x
            .parse_request(
                &headers(None),
                &q(&[("target", "a.example.com"), ("name", "b.example.com")]),
            )
            .unwrap();
        assert_eq!(
            names.len(),
            2,
            "target= is name= (the Probe resource sends it)"
        );
        assert!(refused(None, &[("module", "x")]).contains("unknown parameter \"module\""));
        assert!(refused(
            None,
            &[
                ("name", "a.example.com"),
                ("name", "b.example.com"),
                ("name", "c.example.com"),
                ("name", "d.example.com")
            ]
        )
        .contains("at most 3"));
        for bad in ["abc", "-1", "0", "NaN", "inf"] {
            assert!(
                refused(Some(bad), &[("name", "a.example.com")]).contains(TIMEOUT_HEADER),
                "{bad}"
            );
        }
    }

    #[test]
    fn results_are_reused_for_their_smallest_ttl_at_most_max_age() {
        let mut r = failed_name(&parse_input("www.example.com").unwrap(), "x");
        let max = Duration::from_secs(60);
        assert_eq!(reuse_for(&r, max), Duration::ZERO, "inconclusive");
        r.inconclusive = false;
        assert_eq!(reuse_for(&r, max), Duration::ZERO, "no TTL seen");
        let entry = |ttl| ChainEntry {
            owner: acme_delegate::dns::Name::from_ascii("a."),
            rtype: if ttl == 5 { "NXDOMAIN" } else { "CNAME" }.into(),
            data: None,
            ttl: Some(ttl),
            server: None,
            zone: None,
        };
        r.chain = vec![entry(300), entry(30)];
        assert_eq!(reuse_for(&r, max), Duration::from_secs(30));
        r.chain = vec![entry(3000)];
        assert_eq!(reuse_for(&r, max), max);
        // The CNAMEs count, not the negative TTL at their target ...
        r.chain = vec![entry(45), entry(5)];
        assert_eq!(reuse_for(&r, max), Duration::from_secs(45));
        // ... which counts when there is no CNAME at all.
        r.chain = vec![entry(5)];
        assert_eq!(reuse_for(&r, max), Duration::from_secs(5));
    }

    /// Two probes of one name at once share one check; the timeout cancels the work and
    /// says why; the counters and the histogram follow.
    #[tokio::test]
    async fn probes_share_checks_and_are_bounded() {
        // Nothing listens on the discard port of loopback: every query fails at once.
        let x = exporter("127.0.0.1:9".parse().unwrap());
        let name = parse_input("www.example.com").unwrap();
        let budget = Duration::from_secs(5);
        let (a, b) = tokio::join!(
            x.probe_names(std::slice::from_ref(&name), budget),
            x.probe_names(std::slice::from_ref(&name), budget)
        );
        assert_eq!(a.names.len(), 1);
        assert!(!a.names[0].ok && !b.names[0].ok);
        assert_eq!(x.stats.checked.load(Ordering::Relaxed), 1, "one check");
        assert_eq!(x.stats.reused.load(Ordering::Relaxed), 1, "one shared");
        assert_eq!(x.stats.in_flight.load(Ordering::Relaxed), 0);
        // A root that reads and never answers: the check outlasts a 50 ms budget.
        let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let x = exporter(hole.local_addr().unwrap());
        let started = Instant::now();
        let r = x
            .probe_names(
                &[parse_input("slow.example.com").unwrap()],
                Duration::from_millis(50),
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(2));
        let f = &r.names[0].findings[0];
        assert_eq!(f.code.as_str(), "CHECK_FAILED");
        assert!(f.evidence.contains("ran out"), "{}", f.evidence);
        assert_eq!(x.stats.probes_timed_out.load(Ordering::Relaxed), 1);
        x.record(&r, Duration::from_millis(70));
        let m = x.own_metrics();
        assert!(m.contains(
            "acme_delegate_exporter_probes_total{result=\"failed\",vantage=\"lab \\\"west\\\"\"} 1\n"
        ), "{m}");
        assert!(m.contains("acme_delegate_exporter_probe_duration_seconds_bucket{le=\"0.05\",vantage=\"lab \\\"west\\\"\"} 0\n"), "{m}");
        assert!(m.contains("acme_delegate_exporter_probe_duration_seconds_bucket{le=\"0.1\",vantage=\"lab \\\"west\\\"\"} 1\n"), "{m}");
        assert!(m.contains("acme_delegate_exporter_probe_errors_total{reason=\"timeout\",vantage=\"lab \\\"west\\\"\"} 1\n"), "{m}");
    }
}

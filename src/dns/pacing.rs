//! Adaptive pacing per server, as TCP's congestion control does it: fast by default,
//! polite by feedback (docs/config.md, "Pacing", documents the algorithm and constants).
//!
//! Each server has a **window** of queries outstanding at once. It starts at
//! [`START_WINDOW`] and grows by one per clean answer (slow start) up to [`MAX_WINDOW`].
//! On a sign of pressure it halves (at most once per [`CUT_GAP`]) and then grows back
//! slowly, by one per window of clean answers (congestion avoidance):
//!
//! * a **loss** (a UDP attempt that got no answer within the timeout) and an **RRL slip**
//!   (a truncated UDP answer with an empty answer section) also set a **rate**: half of
//!   what was sent to that server in the last second, never below [`MIN_RATE`]. Queries
//!   then start at most that often; the rate grows by [`RATE_GROWTH`] of itself per second
//!   of clean answers (at least [`MIN_RATE_STEP`] per second), and is dropped once it is
//!   above [`FREE_RATE`];
//! * **REFUSED** and a run of [`SERVFAIL_RUN`] SERVFAILs halve the window only.
//!
//! Public resolvers listed in the defaults have a fixed [`ceiling`] below their published
//! per-client limits. The hard cap `max_qps_per_server` ([`super::ratelimit`]) stays apart.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The window a server starts with (queries outstanding at once).
pub const START_WINDOW: f64 = 32.0;
/// The largest window.
pub const MAX_WINDOW: f64 = 512.0;
/// The smallest window.
pub const MIN_WINDOW: f64 = 1.0;
/// After a cut, signs of pressure within this time are the same episode: no second cut.
pub const CUT_GAP: Duration = Duration::from_millis(100);
/// SERVFAILs in a row (no other answer between) that count as pressure.
pub const SERVFAIL_RUN: u32 = 8;
/// The lowest rate a cut sets (queries per second).
pub const MIN_RATE: f64 = 10.0;
/// How fast a rate grows back: this share of itself per second of clean answers.
pub const RATE_GROWTH: f64 = 0.10;
/// ... and at least this many queries per second, per second.
pub const MIN_RATE_STEP: f64 = 2.0;
/// A rate above this is no rate: the window alone paces again.
pub const FREE_RATE: f64 = 20_000.0;
/// Queries per second toward a public resolver of the defaults, below its published
/// per-client limit (Google Public DNS: 1,500 per second per client address; Cloudflare
/// and Quad9 publish none, and get the same).
pub const PUBLIC_CEILING: f64 = 1_000.0;

/// The fixed ceiling (queries per second) of a public resolver listed in the defaults.
pub fn ceiling(server: SocketAddr) -> Option<f64> {
    const PUBLIC: [&str; 12] = [
        "1.1.1.1",
        "1.0.0.1",
        "2606:4700:4700::1111",
        "2606:4700:4700::1001",
        "8.8.8.8",
        "8.8.4.4",
        "2001:4860:4860::8888",
        "2001:4860:4860::8844",
        "9.9.9.9",
        "149.112.112.112",
        "2620:fe::fe",
        "2620:fe::9",
    ];
    PUBLIC
        .iter()
        .any(|p| p.parse::<IpAddr>().ok() == Some(server.ip()))
        .then_some(PUBLIC_CEILING)
}

/// What one exchange told about the server's load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// An answer (not REFUSED, not SERVFAIL).
    Clean,
    /// A UDP attempt got no answer in time.
    Lost,
    /// A truncated UDP answer with an empty answer section: response-rate limiting.
    Slip,
    Refused,
    ServFail,
}

/// The pacing state of every server asked.
#[derive(Debug, Default)]
pub struct Pacing {
    servers: Mutex<HashMap<SocketAddr, Arc<Server>>>,
    /// Off: no window, no rate, no ceiling (benchmarks measure what pacing costs).
    off: bool,
}

/// The environment variable that turns the pacing off for a benchmark (`off`).
pub const PACING_ENV: &str = "ACME_DELEGATE_PACING";

#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    off: bool,
    state: Mutex<State>,
    /// Told when a window slot is free.
    freed: Notify,
}

#[derive(Debug)]
struct State {
    window: f64,
    /// Above it the window grows by one per answer, below by one per window of answers.
    threshold: f64,
    inflight: u32,
    /// Queries per second once a loss or slip set it; `ceiling` always applies.
    rate: Option<f64>,
    ceiling: Option<f64>,
    /// The next start time free under the rate.
    next_start: Instant,
    last_cut: Option<Instant>,
    last_growth: Instant,
    servfails: u32,
    /// Start times of the last second (the measured sending rate).
    recent: VecDeque<Instant>,
    /// Counters for the log and the tests.
    slips: u64,
    losses: u64,
    cuts: u64,
}

/// A window slot toward one server, held while the exchange runs (dropping it frees it).
#[derive(Debug)]
pub struct Ticket {
    server: Arc<Server>,
}

/// What a server's pacing did so far (for logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    pub window: f64,
    pub rate: Option<f64>,
    pub slips: u64,
    pub losses: u64,
    pub cuts: u64,
}

impl Pacing {
    pub fn new() -> Self {
        Pacing::default()
    }

    /// On, unless `ACME_DELEGATE_PACING=off` (for benchmarks only).
    pub fn from_env() -> Self {
        let off = std::env::var_os(PACING_ENV).is_some_and(|v| v == "off");
        Pacing {
            off,
            ..Pacing::default()
        }
    }

    fn server(&self, addr: SocketAddr) -> Arc<Server> {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .entry(addr)
            .or_insert_with(|| {
                let now = Instant::now();
                Arc::new(Server {
                    addr,
                    off: self.off,
                    freed: Notify::new(),
                    state: Mutex::new(State {
                        window: START_WINDOW,
                        threshold: MAX_WINDOW,
                        inflight: 0,
                        rate: None,
                        ceiling: ceiling(addr),
                        next_start: now,
                        last_cut: None,
                        last_growth: now,
                        servfails: 0,
                        recent: VecDeque::new(),
                        slips: 0,
                        losses: 0,
                        cuts: 0,
                    }),
                })
            })
            .clone()
    }

    /// Waits for a window slot toward `server`, then for its turn under the rate.
    pub async fn acquire(&self, server: SocketAddr) -> Ticket {
        let s = self.server(server);
        if s.off {
            return Ticket { server: s };
        }
        loop {
            let freed = s.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut st = s.lock();
                if f64::from(st.inflight) < st.window.floor().max(MIN_WINDOW) {
                    st.inflight += 1;
                    break;
                }
            }
            freed.await;
        }
        let ticket = Ticket { server: s };
        ticket.turn().await;
        ticket
    }

    /// What `server`'s pacing did so far (None: never asked).
    pub fn stats(&self, server: SocketAddr) -> Option<Stats> {
        let s = self
            .servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&server)
            .cloned()?;
        let st = s.lock();
        Some(Stats {
            window: st.window,
            rate: st.rate,
            slips: st.slips,
            losses: st.losses,
            cuts: st.cuts,
        })
    }

    /// Slipped answers seen from every server so far.
    pub fn slips(&self) -> u64 {
        let servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers.values().map(|s| s.lock().slips).sum()
    }
}

impl Server {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ticket {
    /// Waits until a query (or a retry) may start under the server's rate, and counts it.
    pub async fn turn(&self) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let at = {
            let mut st = self.server.lock();
            let rate = match (st.rate, st.ceiling) {
                (Some(r), Some(c)) => Some(r.min(c)),
                (r, c) => r.or(c),
            };
            let at = match rate {
                Some(r) => {
                    let at = st.next_start.max(now);
                    st.next_start = at + Duration::from_secs_f64(1.0 / r);
                    at
                }
                None => now,
            };
            st.trim(now);
            st.recent.push_back(at);
            at
        };
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Tells the pacing what an exchange (or one attempt of it) showed.
    pub fn signal(&self, signal: Signal) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let freed = {
            let mut st = self.server.lock();
            st.record(signal, now, self.server.addr)
        };
        for _ in 0..freed {
            self.server.freed.notify_one();
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.server.off {
            return;
        }
        {
            let mut st = self.server.lock();
            st.inflight = st.inflight.saturating_sub(1);
        }
        self.server.freed.notify_one();
    }
}

impl State {
    /// Applies one signal; returns how many more window slots opened.
    fn record(&mut self, signal: Signal, now: Instant, addr: SocketAddr) -> u32 {
        let before = self.window.floor();
        match signal {
            Signal::Clean => {
                self.servfails = 0;
                self.grow(now);
            }
            Signal::ServFail => {
                self.servfails += 1;
                if self.servfails >= SERVFAIL_RUN {
                    self.servfails = 0;
                    self.cut(now, false, addr, signal);
                }
            }
            Signal::Refused => self.cut(now, false, addr, signal),
            Signal::Lost => {
                self.losses += 1;
                self.cut(now, true, addr, signal);
            }
            Signal::Slip => {
                self.slips += 1;
                tracing::debug!(server = %addr, "slipped answer (truncated, empty answer section)");
                self.cut(now, true, addr, signal);
            }
        }
        let after = self.window.floor();
        if after > before {
            (after - before) as u32
        } else {
            0
        }
    }

    fn grow(&mut self, now: Instant) {
        self.window = if self.window < self.threshold {
            self.window + 1.0
        } else {
            self.window + 1.0 / self.window
        }
        .min(MAX_WINDOW);
        let dt = now
            .saturating_duration_since(self.last_growth)
            .as_secs_f64();
        self.last_growth = now;
        if let Some(r) = self.rate {
            let r = r + (r * RATE_GROWTH).max(MIN_RATE_STEP) * dt;
            self.rate = (r <= FREE_RATE).then_some(r);
        }
    }

    /// Halves the window (and, for a loss or a slip, sets the rate to half the measured
    /// sending rate), once per [`CUT_GAP`].
    fn cut(&mut self, now: Instant, set_rate: bool, addr: SocketAddr, why: Signal) {
        if self
            .last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < CUT_GAP)
        {
            return;
        }
        self.last_cut = Some(now);
        self.last_growth = now;
        self.cuts += 1;
        self.window = (self.window / 2.0).max(MIN_WINDOW);
        self.threshold = self.window;
        if set_rate {
            self.trim(now);
            let sent = self.recent.len() as f64;
            let measured = self.rate.map_or(sent, |r| r.min(sent.max(MIN_RATE)));
            self.rate = Some((measured / 2.0).max(MIN_RATE));
        }
        tracing::debug!(server = %addr, ?why, window = self.window, rate = ?self.rate, "pacing cut");
    }
}

impl State {
    /// Forgets start times older than a second (they only measure the sending rate).
    fn trim(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 53))
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_starts_with_32_outstanding_and_a_free_slot_lets_the_next_in() {
        let p = Arc::new(Pacing::new());
        let mut held = Vec::new();
        for _ in 0..32 {
            held.push(p.acquire(addr(1)).await);
        }
        let waiting = tokio::spawn({
            let p = p.clone();
            async move { p.acquire(addr(1)).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "a 33rd query waits for a slot");
        // Another server has its own window.
        let _other = p.acquire(addr(2)).await;
        held.pop();
        let t = tokio::time::timeout(Duration::from_millis(1), waiting).await;
        assert!(t.is_ok(), "a freed slot lets the waiting query in");
    }

    #[tokio::test(start_paused = true)]
    async fn clean_answers_grow_the_window_and_a_loss_halves_it_and_sets_a_rate() {
        let p = Pacing::new();
        for _ in 0..100 {
            p.acquire(addr(1)).await.signal(Signal::Clean);
        }
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.window, 132.0, "slow start: one per clean answer");
        assert_eq!(s.rate, None);
        // 100 queries in the last second, then a loss: half the window, half the rate.
        p.acquire(addr(1)).await.signal(Signal::Lost);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.window, 66.0);
        assert_eq!(s.rate, Some(50.5));
        assert_eq!((s.losses, s.cuts), (1, 1));
        // The same episode (within 100 ms): no second cut.
        p.acquire(addr(1)).await.signal(Signal::Lost);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!((s.window, s.losses, s.cuts), (66.0, 2, 1));
        // Under the rate, 10 queries take 9 intervals of 1/50.5 s.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        for _ in 0..10 {
            drop(p.acquire(addr(1)).await);
        }
        let took = t0.elapsed().as_secs_f64();
        assert!((took - 9.0 / 50.5).abs() < 0.01, "{took}");
        // After the cut the window grows by one per window of clean answers.
        for _ in 0..66 {
            p.acquire(addr(1)).await.signal(Signal::Clean);
        }
        let w = p.stats(addr(1)).unwrap().window;
        assert!((w - 67.0).abs() < 0.1, "{w}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_grows_back_slowly_and_a_slip_halves_it_again() {
        let p = Pacing::new();
        for _ in 0..400 {
            drop(p.acquire(addr(1)).await);
        }
        p.acquire(addr(1)).await.signal(Signal::Slip);
        assert_eq!(
            p.stats(addr(1)).unwrap().rate,
            Some(200.5),
            "401 sent: half"
        );
        assert_eq!(p.slips(), 1);
        // Ten seconds of clean answers: about 10 % a second, compounded.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.acquire(addr(1)).await.signal(Signal::Clean);
        }
        let r = p.stats(addr(1)).unwrap().rate.unwrap();
        assert!((500.0..560.0).contains(&r), "{r}");
        // A slip: half the measured sending rate (10 per second now), floored at 10.
        p.acquire(addr(1)).await.signal(Signal::Slip);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.rate, Some(MIN_RATE));
        assert_eq!(s.slips, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn refused_and_a_run_of_servfails_halve_the_window_only() {
        let p = Pacing::new();
        p.acquire(addr(1)).await.signal(Signal::Refused);
        assert_eq!(p.stats(addr(1)).unwrap().window, 16.0);
        tokio::time::sleep(CUT_GAP).await;
        for _ in 0..SERVFAIL_RUN - 1 {
            p.acquire(addr(1)).await.signal(Signal::ServFail);
        }
        assert_eq!(p.stats(addr(1)).unwrap().window, 16.0, "not a run yet");
        p.acquire(addr(1)).await.signal(Signal::ServFail);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!((s.window, s.rate), (8.0, None));
        // An answer between SERVFAILs ends the run.
        tokio::time::sleep(CUT_GAP).await;
        for _ in 0..3 {
            for _ in 0..SERVFAIL_RUN - 1 {
                p.acquire(addr(1)).await.signal(Signal::ServFail);
            }
            p.acquire(addr(1)).await.signal(Signal::Clean);
        }
        assert_eq!(p.stats(addr(1)).unwrap().cuts, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn public_resolvers_of_the_defaults_keep_a_ceiling() {
        let google: SocketAddr = "8.8.8.8:53".parse().unwrap();
        assert_eq!(ceiling(google), Some(PUBLIC_CEILING));
        assert_eq!(
            ceiling("[2606:4700:4700::1111]:53".parse().unwrap()),
            Some(1000.0)
        );
        assert_eq!(ceiling(addr(53)), None);
        let p = Pacing::new();
        let t0 = Instant::now();
        for _ in 0..2001 {
            drop(p.acquire(google).await);
        }
        // 2,001 queries at 1,000 a second: 2 s, never a burst above the ceiling.
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        let t0 = Instant::now();
        for _ in 0..2001 {
            drop(p.acquire(addr(53)).await);
        }
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "a lab server is not held back"
        );
    }
}

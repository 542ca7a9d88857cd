//! Adaptive pacing per server, as TCP's congestion control does it: fast by default,
//! polite by feedback (docs/config.md, "Pacing", documents the algorithm and constants).
//!
//! Each server has a **window** of queries outstanding at once. It starts at
//! [`START_WINDOW`] and grows by one per clean answer (slow start) up to [`MAX_WINDOW`].
//! On a sign of pressure it halves and then grows back slowly, by one per window of clean
//! answers (congestion avoidance). Signs about queries sent before the last cut settled
//! (see *calm* below) belong to that cut's **episode**: one episode, one cut, however many
//! of its queries time out afterwards.
//!
//! * A **loss** (a UDP attempt that got no answer within the timeout) or an **RRL slip**
//!   (a truncated UDP answer with an empty answer section) also sets a **rate**. Its
//!   **mark** is what we sent to that server in the second before the lost (or slipped)
//!   query left: the rate the server could not take. The rate restarts at [`BETA`] of the
//!   mark (never below [`CLEAN_SHARE`] of the clean answers of the last second, nor below
//!   [`MIN_RATE`]). Nothing is sent until what the server saw of us in its last second has
//!   fallen to [`MARK_SHARE`] of the mark (at most a second: the **calm**), then the rate
//!   climbs back fast, reaching [`MARK_SHARE`] of the mark after [`RECOVER`], and then
//!   probes past it slowly, as CUBIC does: `rate = target * (1 + ((t - RECOVER) / PROBE)^3)`.
//!   Above [`FREE_RATE`] the rate is dropped.
//! * **REFUSED** and a run of [`SERVFAIL_RUN`] SERVFAILs halve the window only (at most
//!   once per [`CUT_GAP`]).
//!
//! Public resolvers listed in the defaults have a fixed [`ceiling`] below their published
//! per-client limits. The hard cap `max_qps_per_server` ([`super::ratelimit`]) stays apart.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
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
/// After a cut for REFUSED or SERVFAILs, signs within this time are the same episode.
pub const CUT_GAP: Duration = Duration::from_millis(100);
/// SERVFAILs in a row (no other answer between) that count as pressure.
pub const SERVFAIL_RUN: u32 = 8;
/// After a loss or a slip the rate restarts at this share of the mark.
pub const BETA: f64 = 0.7;
/// ... and never below this share of the clean answers of the last second.
pub const CLEAN_SHARE: f64 = 0.5;
/// ... nor below this (queries per second).
pub const MIN_RATE: f64 = 10.0;
/// The rate climbs back to this share of the mark, and the server must see no more than
/// that of us in a second before the climb starts.
pub const MARK_SHARE: f64 = 0.9;
/// How long the climb back to [`MARK_SHARE`] of the mark takes (fast first, then flat).
pub const RECOVER: Duration = Duration::from_secs(2);
/// Past it, the rate probes upward as `(t / PROBE)^3` of itself: it passes the mark after
/// about half of it (7 s), doubles after all of it, is nine times after twice it.
pub const PROBE: Duration = Duration::from_secs(15);
/// A rate above this is no rate: the window alone paces again.
pub const FREE_RATE: f64 = 20_000.0;
/// Queries per second toward a public resolver of the defaults, below its published
/// per-client limit (Google Public DNS: 1,500 per second per client address; Cloudflare
/// and Quad9 publish none, and get the same).
pub const PUBLIC_CEILING: f64 = 1_000.0;

/// The send history is kept in slices of this length ...
const SLICE: Duration = Duration::from_millis(100);
/// ... this many of them (a second) make the rate a server sees ...
const SLICES_PER_SECOND: u64 = 10;
/// ... and this many are kept (a lost query is looked up when its timeout ends).
const SLICES: usize = 80;

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

/// The rate after a loss or a slip, as a function of the time since the calm.
#[derive(Clone, Copy, Debug)]
struct Curve {
    /// What we sent in the second before the lost query left.
    mark: f64,
    /// The rate it restarts at.
    start: f64,
    /// When the server has seen the last of our excess: the climb starts.
    calm: Instant,
}

impl Curve {
    /// The rate at `now` (None: above [`FREE_RATE`], no rate any more).
    fn rate(&self, now: Instant) -> Option<f64> {
        let target = (MARK_SHARE * self.mark).max(self.start);
        let t = now.saturating_duration_since(self.calm).as_secs_f64();
        let k = RECOVER.as_secs_f64();
        let r = if t < k {
            // Concave: most of the way back in the first half.
            target - (target - self.start) * (1.0 - t / k).powi(3)
        } else {
            target * (1.0 + ((t - k) / PROBE.as_secs_f64()).powi(3))
        };
        (r <= FREE_RATE).then_some(r)
    }
}

/// Queries sent and clean answers received in one slice of time.
#[derive(Clone, Copy, Debug, Default)]
struct Slice {
    /// Which slice (counted from the server's first query) the counts are of.
    at: u64,
    /// Queries sent to the server before this slice began (its first query's number - 1).
    before: u64,
    sent: u32,
    clean: u32,
}

#[derive(Debug)]
struct State {
    window: f64,
    /// Above it the window grows by one per answer, below by one per window of answers.
    threshold: f64,
    inflight: u32,
    /// The rate once a loss or a slip set it; `ceiling` always applies.
    curve: Option<Curve>,
    ceiling: Option<f64>,
    /// The next start time free under the rate.
    next_start: Instant,
    last_cut: Option<Instant>,
    /// Signs about queries sent before this belong to the last cut's episode.
    calm: Option<Instant>,
    servfails: u32,
    /// The send history (the rate the server sees of us) and the clean answers.
    origin: Instant,
    slices: Box<[Slice; SLICES]>,
    /// Queries sent so far (the number of the last one).
    sent_total: u64,
    /// Counters for the log and the tests.
    slips: u64,
    losses: u64,
    cuts: u64,
}

/// A window slot toward one server, held while the exchange runs (dropping it frees it).
#[derive(Debug)]
pub struct Ticket {
    server: Arc<Server>,
    /// When its latest attempt left and its number among the queries sent to the server
    /// (what a loss or a slip is dated by).
    sent: Mutex<(Instant, u64)>,
    /// The start time its latest turn under the rate was given.
    turn: Mutex<Instant>,
    /// A loss or a slip was seen in this exchange: its final answer is not clean pace.
    pressured: AtomicBool,
}

/// What a server's pacing did so far (for logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    pub window: f64,
    /// The rate in force now (None: the window alone paces).
    pub rate: Option<f64>,
    /// The rate the last loss or slip was seen at.
    pub mark: Option<f64>,
    /// Queries sent in the last second.
    pub sent_last_second: u32,
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
                        curve: None,
                        ceiling: ceiling(addr),
                        next_start: now,
                        last_cut: None,
                        calm: None,
                        servfails: 0,
                        origin: now,
                        slices: Box::new([Slice::default(); SLICES]),
                        sent_total: 0,
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
        let ticket = |server| Ticket {
            server,
            sent: Mutex::new((Instant::now(), 0)),
            turn: Mutex::new(Instant::now()),
            pressured: AtomicBool::new(false),
        };
        if s.off {
            return ticket(s);
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
        let ticket = ticket(s);
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
        let now = Instant::now();
        let st = s.lock();
        Some(Stats {
            window: st.window,
            rate: st.curve.and_then(|c| c.rate(now)),
            mark: st.curve.map(|c| c.mark),
            sent_last_second: st.second(st.slice(now), |s| s.sent),
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
    /// Waits until a query (or a retry) may start under the server's rate.
    pub async fn turn(&self) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let at = {
            let mut st = self.server.lock();
            let rate = st.rate(now);
            let at = st.next_start.max(now);
            if let Some(r) = rate {
                st.next_start = at + Duration::from_secs_f64(1.0 / r);
            }
            at
        };
        *self.turn.lock().unwrap_or_else(|e| e.into_inner()) = at;
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }

    /// After a wait for something else (an in-flight permit): a query whose turn has long
    /// passed takes a new one, so that queries held back together do not leave together.
    pub async fn recheck(&self) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let turn = *self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let late = self
            .server
            .lock()
            .rate(now)
            .is_some_and(|r| now.saturating_duration_since(turn).as_secs_f64() > 1.0 / r);
        if late {
            self.turn().await;
        }
    }

    /// Whether the server has slipped to us (a truncated, empty UDP answer: response-rate
    /// limiting) in this process: its UDP answers may be dropped whatever our pace.
    pub fn slipped(&self) -> bool {
        self.server.lock().slips > 0
    }

    /// Counts a UDP attempt leaving now: the rate the server sees of us.
    pub fn sending(&self) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let n = self.server.lock().count_sent(now);
        *self.sent.lock().unwrap_or_else(|e| e.into_inner()) = (now, n);
    }

    /// Tells the pacing what an exchange (or one attempt of it) showed.
    pub fn signal(&self, signal: Signal) {
        if self.server.off {
            return;
        }
        let now = Instant::now();
        let sent = *self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let pressured = match signal {
            Signal::Lost | Signal::Slip => {
                self.pressured.store(true, Ordering::Relaxed);
                true
            }
            _ => self.pressured.load(Ordering::Relaxed),
        };
        let freed = {
            let mut st = self.server.lock();
            st.record(signal, now, sent, pressured, self.server.addr)
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
    /// The rate in force at `now`: the curve's, under the ceiling.
    fn rate(&mut self, now: Instant) -> Option<f64> {
        let curve = self.curve.and_then(|c| c.rate(now));
        if curve.is_none() && self.curve.is_some_and(|c| now >= c.calm) {
            self.curve = None; // climbed past FREE_RATE
        }
        match (curve, self.ceiling) {
            (Some(r), Some(c)) => Some(r.min(c)),
            (r, c) => r.or(c),
        }
    }

    /// Applies one signal about a query sent at `sent`; returns how many more window
    /// slots opened.
    fn record(
        &mut self,
        signal: Signal,
        now: Instant,
        sent: (Instant, u64),
        pressured: bool,
        addr: SocketAddr,
    ) -> u32 {
        let before = self.window.floor();
        match signal {
            Signal::Clean => {
                self.servfails = 0;
                self.grow();
                if !pressured {
                    self.slice_mut(now).clean += 1;
                }
            }
            Signal::ServFail => {
                self.servfails += 1;
                if self.servfails >= SERVFAIL_RUN {
                    self.servfails = 0;
                    self.cut(now, None, addr, signal);
                }
            }
            Signal::Refused => self.cut(now, None, addr, signal),
            Signal::Lost => {
                self.losses += 1;
                self.cut(now, Some(sent), addr, signal);
            }
            Signal::Slip => {
                self.slips += 1;
                tracing::debug!(server = %addr, "slipped answer (truncated, empty answer section)");
                self.cut(now, Some(sent), addr, signal);
            }
        }
        let after = self.window.floor();
        if after > before {
            (after - before) as u32
        } else {
            0
        }
    }

    fn grow(&mut self) {
        self.window = if self.window < self.threshold {
            self.window + 1.0
        } else {
            self.window + 1.0 / self.window
        }
        .min(MAX_WINDOW);
    }

    /// Halves the window, once per episode. For a loss or a slip (`sent`: when the query
    /// left) also sets the rate's curve and the calm: the episode then holds every query
    /// sent before the calm.
    fn cut(&mut self, now: Instant, sent: Option<(Instant, u64)>, addr: SocketAddr, why: Signal) {
        let same_episode = match sent {
            Some((sent, _)) => self.calm.is_some_and(|calm| sent < calm),
            None => self
                .last_cut
                .is_some_and(|t| now.saturating_duration_since(t) < CUT_GAP),
        };
        if same_episode {
            // One cut per episode, but its mark is the lowest rate any of its queries was
            // lost at (losses of one burst end in no particular order).
            if let (Some((sent, number)), Some(c)) = (sent, self.curve) {
                let mark = self.sent_up_to(sent, number, self.slice(now));
                if mark < c.mark {
                    let start = (BETA * mark).max(MIN_RATE).min(c.start);
                    self.curve = Some(Curve {
                        mark: mark.max(start),
                        start,
                        ..c
                    });
                }
            }
            return;
        }
        self.last_cut = Some(now);
        self.cuts += 1;
        self.window = (self.window / 2.0).max(MIN_WINDOW);
        self.threshold = self.window;
        let Some((sent, number)) = sent else {
            self.calm = Some(self.calm.map_or(now, |c| c.max(now)));
            tracing::debug!(server = %addr, ?why, window = self.window, "pacing cut");
            return;
        };
        let here = self.slice(now);
        let mark = self.sent_up_to(sent, number, here);
        let clean = f64::from(self.second(here, |s| s.clean));
        let start = (BETA * mark).max(CLEAN_SHARE * clean).max(MIN_RATE);
        let mark = mark.max(start);
        // The calm: until the server's last second of us has fallen to MARK_SHARE of the
        // mark, counting what the new rate sends meanwhile.
        let slices = (0..=SLICES_PER_SECOND)
            .find(|&k| {
                let old: u32 = (k..SLICES_PER_SECOND)
                    .filter_map(|i| (here + i + 1).checked_sub(SLICES_PER_SECOND))
                    .map(|at| self.count(at, |s| s.sent))
                    .sum();
                let new = start * k as f64 / SLICES_PER_SECOND as f64;
                f64::from(old) + new <= MARK_SHARE * mark
            })
            .unwrap_or(SLICES_PER_SECOND);
        let calm = now + SLICE * slices as u32;
        self.calm = Some(calm);
        self.next_start = self.next_start.max(calm);
        self.curve = Some(Curve { mark, start, calm });
        tracing::debug!(
            server = %addr, ?why, window = self.window, rate = start, mark,
            calm_ms = (calm - now).as_millis() as u64, "pacing cut"
        );
    }

    /// What the server saw of us in the second before the query numbered `number` left
    /// at `sent`, up to it (a query older than the history: the last second before
    /// slice `here`).
    fn sent_up_to(&self, sent: Instant, number: u64, here: u64) -> f64 {
        let at = self.slice(sent);
        if here.saturating_sub(at) + SLICES_PER_SECOND < SLICES as u64 && number > 0 {
            let first = (at.saturating_sub(SLICES_PER_SECOND - 1)..=at)
                .map(|i| (i, &self.slices[(i % SLICES as u64) as usize]))
                .find(|(i, s)| s.at == *i && s.sent > 0)
                .map_or(number - 1, |(_, s)| s.before);
            number.saturating_sub(first) as f64
        } else {
            f64::from(self.second(here, |s| s.sent))
        }
        .max(1.0)
    }

    /// The slice `t` falls in (counted from the server's first query).
    fn slice(&self, t: Instant) -> u64 {
        (t.saturating_duration_since(self.origin).as_nanos() / SLICE.as_nanos()) as u64
    }

    fn slice_mut(&mut self, t: Instant) -> &mut Slice {
        let at = self.slice(t);
        let before = self.sent_total;
        let s = &mut self.slices[(at % SLICES as u64) as usize];
        if s.at != at {
            *s = Slice {
                at,
                before,
                ..Slice::default()
            };
        }
        s
    }

    /// Counts a query sent at `t`; returns its number.
    fn count_sent(&mut self, t: Instant) -> u64 {
        self.slice_mut(t).sent += 1;
        self.sent_total += 1;
        self.sent_total
    }

    /// One count of slice `at` (0 once forgotten).
    fn count(&self, at: u64, f: impl Fn(&Slice) -> u32) -> u32 {
        let s = &self.slices[(at % SLICES as u64) as usize];
        if s.at == at {
            f(s)
        } else {
            0
        }
    }

    /// A count over the second that ends with slice `at`.
    fn second(&self, at: u64, f: impl Fn(&Slice) -> u32 + Copy) -> u32 {
        (at.saturating_sub(SLICES_PER_SECOND - 1)..=at)
            .map(|i| self.count(i, f))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 53))
    }

    /// A query that gets its slot and turn, and leaves.
    async fn send(p: &Pacing, server: SocketAddr) -> Ticket {
        let t = p.acquire(server).await;
        t.sending();
        t
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_starts_with_32_outstanding_and_a_free_slot_lets_the_next_in() {
        let p = Arc::new(Pacing::new());
        let mut held = Vec::new();
        for _ in 0..32 {
            held.push(send(&p, addr(1)).await);
        }
        let waiting = tokio::spawn({
            let p = p.clone();
            async move { send(&p, addr(1)).await }
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
            send(&p, addr(1)).await.signal(Signal::Clean);
        }
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.window, 132.0, "slow start: one per clean answer");
        assert_eq!(s.rate, None);
        // 100 queries in the last second, then two more; the first of them is lost: half
        // the window; the mark is the 101 sent in the second up to it (the one after it
        // does not count), the rate restarts at 70 % of that.
        let first = send(&p, addr(1)).await;
        let second = send(&p, addr(1)).await;
        first.signal(Signal::Lost);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.window, 66.0);
        assert_eq!(s.mark, Some(101.0));
        assert!((s.rate.unwrap() - 70.7).abs() < 1e-9, "{s:?}");
        assert_eq!((s.losses, s.cuts), (1, 1));
        // A loss of a query sent before the cut settled is the same episode: no second cut.
        second.signal(Signal::Lost);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!((s.window, s.losses, s.cuts), (66.0, 2, 1));
        drop((first, second));
        // The calm: nothing leaves until the 102 queries of this instant have aged out of
        // the server's second (they are above 90 % of the mark) ...
        let t0 = Instant::now();
        let ticket = send(&p, addr(1)).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        // ... then the rate starts at 70.7 and climbs: 10 more take about 10 / 70.7 s.
        let t0 = Instant::now();
        for _ in 0..10 {
            drop(send(&p, addr(1)).await);
        }
        let took = t0.elapsed().as_secs_f64();
        assert!((0.12..0.1401).contains(&took), "{took}");
        // After the cut the window grows by one per window of clean answers.
        ticket.signal(Signal::Clean);
        for _ in 0..65 {
            send(&p, addr(1)).await.signal(Signal::Clean);
        }
        let w = p.stats(addr(1)).unwrap().window;
        assert!((w - 67.0).abs() < 0.1, "{w}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_climbs_back_fast_to_near_the_mark_then_probes_past_it_slowly() {
        let p = Pacing::new();
        for _ in 0..400 {
            drop(send(&p, addr(1)).await);
        }
        send(&p, addr(1)).await.signal(Signal::Slip);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.mark, Some(401.0), "401 sent in the second before");
        assert_eq!(p.slips(), 1);
        // The whole second must age first (401 > 90 % of 401): the calm is a second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rate = || p.stats(addr(1)).unwrap().rate.unwrap();
        assert!((rate() - 0.7 * 401.0).abs() < 1e-6, "{}", rate());
        // Half of RECOVER: most of the way back; all of it: at 90 % of the mark.
        tokio::time::sleep(RECOVER / 2).await;
        assert!((340.0..361.0).contains(&rate()), "{}", rate());
        tokio::time::sleep(RECOVER / 2).await;
        assert!((rate() - 360.9).abs() < 0.01, "{}", rate());
        // Then slowly: below the mark for a fifth of PROBE, doubled after PROBE.
        tokio::time::sleep(PROBE / 5).await;
        assert!(rate() < 401.0, "{}", rate());
        tokio::time::sleep(PROBE * 4 / 5).await;
        assert!((rate() - 2.0 * 360.9).abs() < 0.01, "{}", rate());
        // A slip now: the mark is what was sent in the second before (nothing: at least
        // MIN_RATE), and the rate restarts at MIN_RATE.
        send(&p, addr(1)).await.signal(Signal::Slip);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.rate, Some(MIN_RATE));
        assert_eq!(s.slips, 2);
        // Far past the mark the rate is dropped: the window alone paces again.
        tokio::time::sleep(PROBE * 30).await;
        drop(send(&p, addr(1)).await);
        assert_eq!(p.stats(addr(1)).unwrap().rate, None);
    }

    #[tokio::test(start_paused = true)]
    async fn clean_answers_of_the_last_second_floor_the_rate_after_a_loss() {
        let p = Pacing::new();
        // 300 clean answers in the last second (to queries sent long ago), then the loss
        // of a query that left when nothing else did.
        let earlier = Ticket {
            server: p.server(addr(1)),
            sent: Mutex::new((Instant::now(), 0)),
            turn: Mutex::new(Instant::now()),
            pressured: AtomicBool::new(false),
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        for _ in 0..300 {
            earlier.signal(Signal::Clean);
        }
        let lone = send(&p, addr(1)).await;
        lone.signal(Signal::Lost);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!(s.mark, Some(CLEAN_SHARE * 300.0), "{s:?}");
        assert_eq!(s.rate, Some(CLEAN_SHARE * 300.0));
    }

    /// A server that drops every other query while it has seen more than `limit` in the
    /// last second (as tests/lab/tools/dropper.py does), and the pacing in front of it:
    /// 200 workers ask as fast as the pacing lets them, two attempts of a 2 s timeout each.
    /// Returns the queries the server saw in each second.
    async fn against_a_dropper(limit: usize, seconds: u64) -> Vec<usize> {
        struct Dropper {
            arrivals: VecDeque<Instant>,
            drop_next: bool,
            per_second: Vec<usize>,
        }
        let p = Arc::new(Pacing::new());
        let start = Instant::now();
        let d = Arc::new(Mutex::new(Dropper {
            arrivals: VecDeque::new(),
            drop_next: false,
            per_second: vec![0; seconds as usize],
        }));
        let arrive = {
            let d = d.clone();
            move || {
                let now = Instant::now();
                let mut d = d.lock().unwrap();
                let sec = (now - start).as_secs() as usize;
                if let Some(n) = d.per_second.get_mut(sec) {
                    *n += 1;
                }
                d.arrivals.push_back(now);
                while d
                    .arrivals
                    .front()
                    .is_some_and(|t| now - *t > Duration::from_secs(1))
                {
                    d.arrivals.pop_front();
                }
                if d.arrivals.len() > limit {
                    d.drop_next = !d.drop_next;
                    d.drop_next
                } else {
                    false
                }
            }
        };
        let end = start + Duration::from_secs(seconds);
        let workers: Vec<_> = (0..200)
            .map(|_| {
                let p = p.clone();
                let arrive = arrive.clone();
                tokio::spawn(async move {
                    while Instant::now() < end {
                        let ticket = p.acquire(addr(1)).await;
                        for attempt in 0..2 {
                            if attempt > 0 {
                                ticket.turn().await;
                            }
                            ticket.sending();
                            if arrive() {
                                tokio::time::sleep(Duration::from_secs(2)).await;
                                ticket.signal(Signal::Lost);
                            } else {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                                ticket.signal(Signal::Clean);
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let d = d.lock().unwrap();
        d.per_second.clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_drops_above_100_qps_settles_near_100_from_us() {
        let seen = against_a_dropper(100, 40).await;
        // After the first losses (a timeout late) and the climb back: every second
        // between 70 and 110 queries, and not above 130 at any time after the first 5 s.
        eprintln!("queries the dropper saw per second: {seen:?}");
        let late = &seen[15..];
        let mean = late.iter().sum::<usize>() as f64 / late.len() as f64;
        assert!((70.0..=110.0).contains(&mean), "mean {mean}: {seen:?}");
        assert!(seen[5..].iter().all(|&n| n <= 130), "{seen:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refused_and_a_run_of_servfails_halve_the_window_only() {
        let p = Pacing::new();
        send(&p, addr(1)).await.signal(Signal::Refused);
        assert_eq!(p.stats(addr(1)).unwrap().window, 16.0);
        tokio::time::sleep(CUT_GAP).await;
        for _ in 0..SERVFAIL_RUN - 1 {
            send(&p, addr(1)).await.signal(Signal::ServFail);
        }
        assert_eq!(p.stats(addr(1)).unwrap().window, 16.0, "not a run yet");
        send(&p, addr(1)).await.signal(Signal::ServFail);
        let s = p.stats(addr(1)).unwrap();
        assert_eq!((s.window, s.rate), (8.0, None));
        // An answer between SERVFAILs ends the run.
        tokio::time::sleep(CUT_GAP).await;
        for _ in 0..3 {
            for _ in 0..SERVFAIL_RUN - 1 {
                send(&p, addr(1)).await.signal(Signal::ServFail);
            }
            send(&p, addr(1)).await.signal(Signal::Clean);
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

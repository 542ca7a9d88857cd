//! The one place that knows hickory: our [`Transport`] trait and its UDP/TCP implementation.
//!
//! `ask(server, question, flags)` sends one query and returns an [`Exchange`] whose
//! [`Outcome`] is a value (NXDOMAIN, SERVFAIL, timeout, ...), never an error.

use super::net_error::{NetError, Step};
use super::outcome::{Ede, Exchange, Outcome, QueryFlags, Question, Rcode, Reply};
use super::pacing::{Pacing, Signal, Ticket};
use super::ratelimit::RateLimit;
use super::types::{Caa, Name, RData, Record, Soa};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name as HName, RData as HRData, Record as HRecord, RecordType as HType};
use hickory_proto::ProtoError;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

/// Ask one server one question.
pub trait Transport: Send + Sync + 'static {
    fn ask(
        &self,
        server: SocketAddr,
        question: &Question,
        flags: QueryFlags,
    ) -> impl Future<Output = Exchange> + Send;

    /// The handle one run uses: it shares what every run shares (sockets, in-flight
    /// permits, pacing) and keeps what one run learns about servers (which ones stopped
    /// answering) to itself, so that two runs at once never see or reset each other's.
    /// By default the same transport (one that learns nothing per run).
    fn for_run(this: &Arc<Self>) -> Arc<Self>
    where
        Self: Sized,
    {
        this.clone()
    }

    /// Whether `server` stopped answering in this run (see [`NetTransport`]).
    fn is_dead(&self, _server: SocketAddr) -> bool {
        false
    }
}

/// Questions that timed out since a server's last answer after which it counts as dead for
/// the rest of the run (an authoritative server or a resolver), provided it also gave no
/// answer for at least one full attempt timeout while questions were outstanding (since
/// its last answer, or since the first question if it never answered). A question counts
/// once, as soon as one attempt timed out: whether it is still in flight (waiting for its
/// next attempt) or ended. Both conditions are needed: a frozen server meets them after
/// one attempt timeout, while a lossy server that drops many queries but still answers
/// others (a count of timeouts in a row is reached at once under concurrency) never goes
/// a full timeout without an answer, and so is never found dead. Any answer resets both.
pub const DEAD_AFTER_TIMEOUTS: u32 = 3;

/// A server, and whether the questions are asked without EDNS: a server that drops EDNS
/// queries looks dead to them but answers plain ones (the fallback of RFC 6891), so each
/// kind is judged on its own; a server that answers neither is dead to both.
type HealthKey = (SocketAddr, bool);

/// What this run learnt about the servers: which stopped answering.
#[derive(Debug, Default)]
struct Health {
    /// Per server and kind: its last answer, and how many questions timed out since.
    silence: std::collections::HashMap<HealthKey, Silence>,
    /// Servers that stopped answering, with how long their last timeout took.
    dead: std::collections::HashMap<HealthKey, Duration>,
}

/// A server's silence since its last answer.
#[derive(Clone, Copy, Debug, Default)]
struct Silence {
    /// When it last answered (`None`: never, in this run).
    last_answer: Option<Instant>,
    /// Questions that timed out since (each counted at its first attempt that timed out).
    timeouts: u32,
}

/// Settings of the network transport.
#[derive(Clone, Debug)]
pub struct NetOptions {
    /// Per attempt.
    pub timeout: Duration,
    /// UDP attempts before giving up with [`Outcome::Timeout`] (at least 1).
    pub attempts: u32,
    /// Queries in flight at once, over all tasks, for each kind of server: the
    /// authoritative servers (RD off) and the resolvers (RD on) have a cap each, so
    /// resolvers that wait out a dead server never hold up the authoritative questions
    /// that would find it dead.
    pub max_inflight: usize,
    /// Queries started per second toward one server (0: no cap): a hard cap over the
    /// adaptive pacing ([`super::pacing`]).
    pub max_qps_per_server: u32,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            timeout: Duration::from_millis(2000),
            attempts: 2,
            max_inflight: 64,
            max_qps_per_server: 0,
        }
    }
}

/// UDP first, TCP when the answer is truncated. EDNS0 with a 1232-octet buffer.
///
/// The dead-server rule, for authoritative servers and resolvers alike: a server is
/// remembered as dead for the run once (1) it gave no answer for at least one full
/// attempt timeout while questions were outstanding: an attempt sent at or after its last
/// answer (any attempt, if it never answered) timed out, so the time since its last
/// answer, or since its first question, is at least the per-attempt timeout; and (2) at
/// least [`DEAD_AFTER_TIMEOUTS`] questions timed out since its last answer (each counted
/// at its first attempt that timed out, in flight or ended). The questions
/// still waiting on it then end at once, and later questions to it end at once, as
/// [`Outcome::Timeout`] (with the time the timeout that found it dead took). A server that
/// dies at any moment of a 1,000-name run so costs about one timeout (one attempt's), not
/// one per name or per wave of names; a lossy server that still answers some of its
/// queries is never found dead (its lost queries time out one by one, and are retried).
/// Any answer from it resets both conditions; a new run ([`Transport::for_run`]) starts
/// without any of it.
#[derive(Clone)]
pub struct NetTransport {
    opts: NetOptions,
    /// In-flight permits for questions to authoritative servers (RD off).
    permits: Arc<Semaphore>,
    /// In-flight permits for questions to resolvers (RD on).
    recursive_permits: Arc<Semaphore>,
    rate: Arc<RateLimit>,
    /// The adaptive window (and, after pressure, rate) per server.
    pacing: Arc<Pacing>,
    sockets: Arc<UdpPool>,
    health: Arc<std::sync::Mutex<Health>>,
    /// Told when a server is found dead: the questions still waiting on it end at once.
    died: Arc<tokio::sync::Notify>,
}

impl NetTransport {
    pub fn new(opts: NetOptions) -> Self {
        let permits = Arc::new(Semaphore::new(opts.max_inflight.max(1)));
        let recursive_permits = Arc::new(Semaphore::new(opts.max_inflight.max(1)));
        let rate = Arc::new(RateLimit::per_second(opts.max_qps_per_server));
        NetTransport {
            opts,
            permits,
            recursive_permits,
            rate,
            pacing: Arc::new(Pacing::from_env()),
            sockets: Arc::default(),
            health: Arc::default(),
            died: Arc::default(),
        }
    }
}

impl NetTransport {
    /// The adaptive pacing per server (its counters: slipped answers, losses, cuts).
    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }

    /// Resolves, with the time its last real timeout took, once `server` is found dead.
    async fn found_dead(&self, server: HealthKey) -> Duration {
        loop {
            let told = self.died.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            if let Some(took) = dead(&self.health, server) {
                return took;
            }
            told.await;
        }
    }
}

/// The time the dead server's last timeout took, if it is dead.
fn dead(health: &std::sync::Mutex<Health>, server: HealthKey) -> Option<Duration> {
    health
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .dead
        .get(&server)
        .copied()
}

/// An attempt sent at `sent` timed out: counts its question (if `first`: its first attempt
/// that timed out), and declares the server dead (telling `died`) when the attempt was sent
/// at or after the server's last answer (the server then gave no answer for a full attempt
/// timeout while that attempt was outstanding) and enough questions timed out since.
/// Judging the silence by the attempt's whole wait, not by the clock at the timeout, keeps
/// a burst of questions, half of them lost, from looking silent for a timeout minus the
/// moment it took the other half to be answered (see [`NetTransport`]).
fn record_timeout(
    health: &std::sync::Mutex<Health>,
    died: &tokio::sync::Notify,
    server: HealthKey,
    sent: Instant,
    first: bool,
) {
    let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
    let s = h.silence.entry(server).or_default();
    if first {
        s.timeouts += 1;
    }
    let silent = s.last_answer.is_none_or(|a| sent >= a);
    if silent && s.timeouts >= DEAD_AFTER_TIMEOUTS && !h.dead.contains_key(&server) {
        h.dead.insert(server, sent.elapsed());
        drop(h);
        died.notify_waiters();
    }
}

/// An answer (any reply, or a truncated one) resets the server's silence: its last answer
/// is now, with no timeouts counted since.
fn record_answer(health: &std::sync::Mutex<Health>, server: HealthKey, outcome: &Outcome) {
    if outcome.responded() || matches!(outcome, Outcome::Truncated) {
        let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
        h.silence.insert(
            server,
            Silence {
                last_answer: Some(Instant::now()),
                timeouts: 0,
            },
        );
    }
}

/// A UDP socket kept for reuse, with its receive buffer.
struct PooledUdp {
    sock: UdpSocket,
    buf: Box<[u8]>,
}

/// Idle UDP sockets, each still connected to the server it last asked. Binding, connecting,
/// registering and closing a socket for every query costs more than the query itself. At
/// most [`UdpPool::IDLE`] are kept (the oldest goes first). A socket goes back only after an
/// exchange that ended with its matching answer: one that timed out or met an error is
/// closed, so no late answer or pending error is left on a reused socket (and a stray
/// datagram that is still queued fails the source, ID and question checks).
#[derive(Default)]
struct UdpPool {
    idle: Mutex<VecDeque<(SocketAddr, PooledUdp)>>,
}

impl UdpPool {
    const IDLE: usize = 256;

    /// An idle socket connected to `server`, or a new one.
    async fn take(&self, server: SocketAddr) -> std::io::Result<PooledUdp> {
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.iter()
                .rposition(|(to, _)| *to == server)
                .and_then(|i| idle.remove(i))
        };
        if let Some((_, s)) = reused {
            return Ok(s);
        }
        let bind: SocketAddr = if server.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(bind).await?;
        sock.connect(server).await?;
        Ok(PooledUdp {
            sock,
            buf: vec![0u8; 4096].into_boxed_slice(),
        })
    }

    fn put(&self, server: SocketAddr, s: PooledUdp) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= Self::IDLE {
            idle.pop_front();
        }
        idle.push_back((server, s));
    }
}

impl Transport for NetTransport {
    fn ask(
        &self,
        server: SocketAddr,
        question: &Question,
        flags: QueryFlags,
    ) -> impl Future<Output = Exchange> + Send {
        let question = question.clone();
        let me = self.clone();
        // A question without EDNS to a server found dead to EDNS questions is the fallback
        // of RFC 6891 (a server that drops EDNS queries looks dead): it is sent, and plain
        // questions are judged on their own (a server that answers neither is dead to
        // them too: they must not each wait out a timeout). Resolvers are judged like
        // authoritative servers (issue 18).
        let authoritative = !flags.recursion_desired;
        let judged = true;
        let key: HealthKey = (server, flags.no_edns);
        // Boxed: the question's future (about 2 KB) is then moved as a pointer through the
        // joins and selects of its callers, not copied at each (memmove was a tenth of the
        // CPU of a 10,000-name check).
        Box::pin(async move {
            let failed_fast = |took: Duration| Exchange {
                server,
                question: question.clone(),
                flags,
                elapsed: took,
                outcome: Outcome::Timeout,
            };
            if let Some(took) = dead(&me.health, key).filter(|_| judged) {
                return failed_fast(took);
            }
            // The cap first: a query waiting for its server's turn holds no in-flight permit.
            me.rate.wait(server).await;
            // Then the server's pacing window and rate (a server found dead meanwhile ends
            // the wait).
            let ticket = if judged {
                // `biased`: polled in order, no random draw per question.
                tokio::select! {
                    biased;
                    t = me.pacing.acquire(server) => t,
                    took = me.found_dead(key) => return failed_fast(took),
                }
            } else {
                me.pacing.acquire(server).await
            };
            let permits = if authoritative {
                &me.permits
            } else {
                &me.recursive_permits
            };
            let _permit = permits.acquire().await.ok();
            // Queries that waited for a permit together must not leave together.
            ticket.recheck().await;
            // It may have been found dead while this question waited for its turn.
            if let Some(took) = dead(&me.health, key).filter(|_| judged) {
                return failed_fast(took);
            }
            let start = Instant::now();
            // The question counts as timed out at its first attempt that times out; every
            // attempt that times out is judged (sent after the server's last answer?).
            let counted = std::sync::atomic::AtomicBool::new(false);
            let timed_out = |sent: Instant| {
                if judged {
                    let first = !counted.swap(true, std::sync::atomic::Ordering::Relaxed);
                    record_timeout(&me.health, &me.died, key, sent, first);
                }
            };
            let asked = exchange(
                server,
                &question,
                flags,
                &me.opts,
                &me.sockets,
                &ticket,
                &timed_out,
            );
            let outcome = if judged {
                // Found dead by other questions while this one waits: it ends now, as the
                // questions asked after that do (questions that passed the check above just
                // before the last timeout was counted would otherwise wait a whole one).
                tokio::select! {
                    biased;
                    outcome = asked => outcome,
                    took = me.found_dead(key) => return failed_fast(took),
                }
            } else {
                asked.await
            };
            let elapsed = start.elapsed();
            match &outcome {
                Outcome::Refused(_) => ticket.signal(Signal::Refused),
                Outcome::ServFail(_) => ticket.signal(Signal::ServFail),
                o if o.responded() => ticket.signal(Signal::Clean),
                _ => {}
            }
            drop(ticket);
            if judged {
                record_answer(&me.health, key, &outcome);
            }
            tracing::trace!(%server, %question, outcome = %outcome.label(), "dns exchange");
            Exchange {
                server,
                question,
                flags,
                elapsed,
                outcome,
            }
        })
    }

    fn for_run(this: &Arc<Self>) -> Arc<Self> {
        Arc::new(NetTransport {
            health: Arc::default(),
            died: Arc::default(),
            ..(**this).clone()
        })
    }

    fn is_dead(&self, server: SocketAddr) -> bool {
        dead(&self.health, (server, false)).is_some()
    }
}

/// One question, every attempt; `timed_out` is told of each attempt that timed out (with
/// when it was sent).
async fn exchange(
    server: SocketAddr,
    q: &Question,
    flags: QueryFlags,
    opts: &NetOptions,
    sockets: &UdpPool,
    pace: &Ticket,
    timed_out: &(dyn Fn(Instant) + Sync),
) -> Outcome {
    let id: u16 = rand::random();
    let sent = if flags.mixed_case {
        mixed_case(q.name.as_str())
    } else {
        q.name.as_str().to_string()
    };
    let (wire, qname) = match encode_query(id, &sent, q, flags) {
        Ok(w) => w,
        Err(e) => {
            return Outcome::Network(NetError::EncodeQuery {
                question: q.to_string(),
                detail: e.to_string(),
            })
        }
    };
    let ours = |msg: &Message| matches(msg, id, &qname, q);
    // Boxed, as below: the rare TCP exchange does not widen every UDP question's future.
    let over_tcp = || {
        Box::pin(tcp_attempt(
            server, &wire, &ours, flags, &sent, opts, pace, timed_out,
        ))
    };
    if flags.tcp {
        return over_tcp().await;
    }
    let mut last = Outcome::Timeout;
    let attempts = opts.attempts.max(1);
    for attempt in 0..attempts {
        if attempt > 0 {
            // A retry waits for its turn under the server's rate, which the loss may have set.
            pace.turn().await;
            if attempt + 1 == attempts && pace.slipped() {
                // The server rate-limits our UDP answers (it slipped to us): with slip 2, RRL
                // drops every other answer it limits, so both UDP attempts can be lost. The
                // last attempt goes over TCP, which response-rate limiting does not limit.
                return over_tcp().await;
            }
        }
        let asked_at = Instant::now();
        pace.sending();
        match tokio::time::timeout(opts.timeout, udp_once(server, &wire, &ours, sockets)).await {
            Ok(Ok(msg)) => {
                if msg.metadata.truncation {
                    if msg.answers.is_empty() {
                        // An RRL slip looks like this (so does an answer too big for UDP
                        // from a server that sends no partial answer): pressure.
                        pace.signal(Signal::Slip);
                    }
                    let tcp = Box::pin(tcp_once(server, &wire, &ours));
                    return match tokio::time::timeout(opts.timeout, tcp).await {
                        Ok(Ok(m)) => Outcome::classify(finish(m, true, flags, &sent)),
                        _ => Outcome::Truncated,
                    };
                }
                let out = Outcome::classify(finish(msg, false, flags, &sent));
                if edns_refused(&out) && !flags.no_edns && !flags.strict_edns {
                    // As resolvers do: the same question once more, without EDNS.
                    let plain = QueryFlags {
                        no_edns: true,
                        ..flags
                    };
                    return Box::pin(exchange(server, q, plain, opts, sockets, pace, timed_out))
                        .await;
                }
                return out;
            }
            Ok(Err(e)) => return Outcome::Network(NetError::io(Step::Udp, server, &e)),
            Err(_) => {
                timed_out(asked_at);
                pace.signal(Signal::Lost);
                last = Outcome::Timeout;
            }
        }
    }
    last
}

/// One attempt over TCP (the question asked for TCP, or the last attempt to a server that
/// rate-limits our UDP answers); a timeout counts as a loss, as over UDP.
#[allow(clippy::too_many_arguments)]
async fn tcp_attempt(
    server: SocketAddr,
    wire: &[u8],
    ours: &impl Fn(&Message) -> bool,
    flags: QueryFlags,
    sent: &str,
    opts: &NetOptions,
    pace: &Ticket,
    timed_out: &(dyn Fn(Instant) + Sync),
) -> Outcome {
    let asked_at = Instant::now();
    match tokio::time::timeout(opts.timeout, tcp_once(server, wire, ours)).await {
        Ok(Ok(m)) => Outcome::classify(finish(m, true, flags, sent)),
        Ok(Err(e)) => Outcome::Network(e.into_net(server)),
        Err(_) => {
            timed_out(asked_at);
            pace.signal(Signal::Lost);
            Outcome::Timeout
        }
    }
}

/// FORMERR or NOTIMP: what an old server answers to a query with an OPT record.
fn edns_refused(o: &Outcome) -> bool {
    matches!(o, Outcome::OtherRcode(r) if matches!(r.rcode, Rcode::FormErr | Rcode::NotImp))
}

/// The name with every other letter in capitals (`_AcMe-ChAlLeNgE.ExAmPlE.CoM.`), as a
/// resolver using 0x20 randomisation may send it.
fn mixed_case(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                upper = !upper;
                if upper {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// The reply, with what only the sender knows: whether the question kept its case.
fn finish(msg: Message, via_tcp: bool, flags: QueryFlags, sent: &str) -> Reply {
    // Only a mixed-case question needs the echo of its name (spelt out).
    let echo = flags
        .mixed_case
        .then(|| msg.queries.first().map(|hq| hq.name().to_ascii()))
        .flatten();
    let mut r = to_reply(msg, via_tcp);
    if flags.mixed_case {
        r.qname_case_kept =
            Some(echo.is_some_and(|e| e.trim_end_matches('.') == sent.trim_end_matches('.')));
    }
    r
}

/// The name a query asked for, to match its answer against: the labels of a plain name
/// (letters, digits, `-` and `_`, as nearly every name the engine asks is), or hickory's
/// name for any other.
enum AskedName {
    Plain(String),
    Parsed(HName),
}

impl AskedName {
    /// Whether the question of an answer names it (names compare without case).
    fn is(&self, echo: &HName) -> bool {
        match self {
            AskedName::Parsed(n) => echo == n,
            AskedName::Plain(s) => {
                let mut labels = s.trim_end_matches('.').split('.');
                echo.is_fqdn()
                    && echo.iter().all(|l| {
                        labels
                            .next()
                            .is_some_and(|m| l.eq_ignore_ascii_case(m.as_bytes()))
                    })
                    && labels.next().is_none()
            }
        }
    }
}

/// The query in wire format (the name as `name` spells it), and the name to match the
/// answer against.
///
/// A query is built here on the hot path of every question (a 10,000-name check sends
/// 90,000): a plain name (see [`AskedName`]) is written straight into the buffer, in the
/// exact bytes hickory writes (a test compares both); any other name (escapes, a label
/// too long) is encoded by hickory, which also reports what is wrong with it.
fn encode_query(
    id: u16,
    name: &str,
    q: &Question,
    flags: QueryFlags,
) -> Result<(Vec<u8>, AskedName), ProtoError> {
    if let Some(wire) = encode_plain_query(id, name, q, flags) {
        return Ok((wire, AskedName::Plain(name.to_string())));
    }
    let (wire, name) = encode_query_hickory(id, name, q, flags)?;
    Ok((wire, AskedName::Parsed(name)))
}

/// [`encode_query`] for a plain absolute name (`None` for any other).
fn encode_plain_query(id: u16, name: &str, q: &Question, flags: QueryFlags) -> Option<Vec<u8>> {
    let body = name.strip_suffix('.')?;
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if body.is_empty() || body.len() > 253 || !body.bytes().all(|b| plain(b) || b == b'.') {
        return None;
    }
    let mut wire = Vec::with_capacity(12 + body.len() + 2 + 4 + 11);
    wire.extend_from_slice(&id.to_be_bytes());
    // QR 0, OPCODE 0 (QUERY), AA 0, TC 0, RD; RA 0, Z 0, AD 0, CD, RCODE 0.
    wire.push(u8::from(flags.recursion_desired));
    wire.push(if flags.checking_disabled { 0x10 } else { 0 });
    let additional = u16::from(!flags.no_edns);
    for count in [1, 0, 0, additional] {
        wire.extend_from_slice(&u16::to_be_bytes(count));
    }
    for label in body.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire.extend_from_slice(&q.rtype.code().to_be_bytes());
    wire.extend_from_slice(&1u16.to_be_bytes()); // class IN
    if !flags.no_edns {
        // OPT: root owner, type 41, the UDP payload size as class, extended RCODE 0,
        // version 0, the DO bit, no options.
        wire.push(0);
        wire.extend_from_slice(&41u16.to_be_bytes());
        wire.extend_from_slice(&1232u16.to_be_bytes());
        wire.extend_from_slice(&[0, 0]);
        wire.extend_from_slice(&u16::to_be_bytes(if flags.dnssec_ok { 0x8000 } else { 0 }));
        wire.extend_from_slice(&[0, 0]);
    }
    Some(wire)
}

/// The query as hickory encodes it, and its name as hickory's.
fn encode_query_hickory(
    id: u16,
    name: &str,
    q: &Question,
    flags: QueryFlags,
) -> Result<(Vec<u8>, HName), ProtoError> {
    let name = HName::from_ascii(name)?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = flags.recursion_desired;
    msg.metadata.checking_disabled = flags.checking_disabled;
    msg.add_query(Query::query(name.clone(), HType::from(q.rtype.code())));
    if !flags.no_edns {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(flags.dnssec_ok);
        msg.set_edns(edns);
    }
    let wire = msg.to_vec()?;
    Ok((wire, name))
}

/// Our answer: the ID, a response, and the question we asked (names compare without case).
fn matches(msg: &Message, id: u16, qname: &AskedName, q: &Question) -> bool {
    msg.metadata.id == id
        && msg.metadata.message_type == MessageType::Response
        && msg
            .queries
            .first()
            .is_none_or(|hq| u16::from(hq.query_type()) == q.rtype.code() && qname.is(hq.name()))
}

async fn udp_once(
    server: SocketAddr,
    wire: &[u8],
    ours: &impl Fn(&Message) -> bool,
    sockets: &UdpPool,
) -> std::io::Result<Message> {
    let mut s = sockets.take(server).await?;
    // A reused socket still reads as ready from its last answer: forget that, so the
    // receive below waits for the next datagram instead of first failing with EAGAIN (every
    // datagram that arrives after this point wakes it again).
    let _ = s.sock.try_io(tokio::io::Interest::READABLE, || {
        Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
    });
    s.sock.send(wire).await?;
    loop {
        let (n, from) = s.sock.recv_from(&mut s.buf).await?;
        // An answer that does not parse or is not ours is ignored (RFC 5452): keep waiting.
        if (from.ip(), from.port()) != (server.ip(), server.port()) {
            continue;
        }
        if let Ok(msg) = Message::from_vec(&s.buf[..n]) {
            if ours(&msg) {
                sockets.put(server, s);
                return Ok(msg);
            }
        }
    }
}

/// Why a question over TCP got no answer of ours.
#[derive(Debug, thiserror::Error)]
enum TcpAnswerError {
    #[error(transparent)]
    Exchange(#[from] super::tcp::TcpError),
    #[error("malformed answer over TCP: {0}")]
    Malformed(hickory_proto::serialize::binary::DecodeError),
    #[error("TCP answer does not match the question")]
    NotOurs,
}

impl TcpAnswerError {
    fn into_net(self, server: SocketAddr) -> NetError {
        match self {
            TcpAnswerError::Exchange(e) => e.into(),
            TcpAnswerError::Malformed(e) => NetError::MalformedTcpAnswer {
                server,
                detail: e.to_string(),
            },
            TcpAnswerError::NotOurs => NetError::TcpAnswerMismatch { server },
        }
    }
}

async fn tcp_once(
    server: SocketAddr,
    wire: &[u8],
    ours: &impl Fn(&Message) -> bool,
) -> Result<Message, TcpAnswerError> {
    let buf = super::tcp::exchange(server, wire).await?;
    let msg = Message::from_vec(&buf).map_err(TcpAnswerError::Malformed)?;
    if ours(&msg) {
        Ok(msg)
    } else {
        Err(TcpAnswerError::NotOurs)
    }
}

/// Decodes a raw DNS message into the outcome the engine acts on (`via_tcp`: it came over
/// TCP after a truncated UDP answer); `None` when it does not parse. The id and question
/// are not checked here (see `matches`). Never panics, whatever the bytes.
pub fn decode_outcome(wire: &[u8], via_tcp: bool) -> Option<Outcome> {
    let msg = Message::from_vec(wire).ok()?;
    Some(Outcome::classify(to_reply(msg, via_tcp)))
}

fn to_reply(msg: Message, via_tcp: bool) -> Reply {
    let ede = msg
        .edns
        .as_ref()
        .map(|e| {
            e.options()
                .options
                .iter()
                .filter_map(|(_, o)| match o {
                    EdnsOption::Unknown(15, data) if data.len() >= 2 => Some(Ede {
                        code: u16::from_be_bytes([data[0], data[1]]),
                        text: String::from_utf8_lossy(&data[2..]).into_owned(),
                    }),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let conv = |rs: &[HRecord]| rs.iter().filter_map(to_record).collect::<Vec<_>>();
    let cname_case = msg
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            HRData::CNAME(t) => {
                // Capitals are looked for in the raw labels (hickory escapes no letter):
                // only a record with some is spelt out.
                let caps = |n: &HName| n.iter().flatten().any(|b| b.is_ascii_uppercase());
                (caps(&r.name) || caps(&t.0)).then(|| {
                    let (o, t) = (r.name.to_ascii(), t.0.to_ascii());
                    (name(&r.name), format!("{o} {} IN CNAME {t}", r.ttl))
                })
            }
            _ => None,
        })
        .collect();
    Reply {
        rcode: msg.metadata.response_code,
        authoritative: msg.metadata.authoritative,
        authentic_data: msg.metadata.authentic_data,
        recursion_available: msg.metadata.recursion_available,
        answers: conv(&msg.answers),
        authority: conv(&msg.authorities),
        additional: conv(&msg.additionals),
        edns: msg.edns.is_some(),
        ede,
        via_tcp,
        qname_case_kept: None,
        cname_case,
    }
}

/// Our name for a name read off the wire: hickory's presentation text, lower-cased.
/// A name of plain labels (letters, digits, `_`, and `-` after the first byte: what
/// hickory writes unescaped) is spelt out directly, without hickory's escaping writer
/// (a tenth of the decoding time); any other is hickory's `to_ascii` (a test compares
/// both).
fn name(n: &HName) -> Name {
    let plain = |l: &[u8]| {
        l.first().is_some_and(|b| *b != b'-')
            && l.iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    if n.is_fqdn() && n.num_labels() > 0 && n.iter().all(plain) {
        let mut s = String::with_capacity(n.len() + 1);
        for l in n.iter() {
            s.extend(l.iter().map(|b| char::from(b.to_ascii_lowercase())));
            s.push('.');
        }
        return Name::from_ascii_owned(s);
    }
    Name::from_ascii_owned(n.to_ascii())
}

pub(crate) fn to_record(r: &HRecord) -> Option<Record> {
    let data = match &r.data {
        HRData::A(a) => RData::A(a.0),
        HRData::AAAA(a) => RData::AAAA(a.0),
        HRData::NS(n) => RData::NS(name(&n.0)),
        HRData::CNAME(n) => RData::CNAME(name(&n.0)),
        HRData::SOA(s) => RData::SOA(Soa {
            mname: name(&s.mname),
            rname: name(&s.rname),
            serial: s.serial,
            refresh: s.refresh as u32,
            retry: s.retry as u32,
            expire: s.expire as u32,
            minimum: s.minimum,
        }),
        HRData::TXT(t) => RData::TXT(
            t.txt_data
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
        ),
        HRData::CAA(c) => RData::CAA(Caa {
            critical: c.issuer_critical,
            tag: c.tag.to_string(),
            value: String::from_utf8_lossy(&c.value).into_owned(),
        }),
        HRData::OPT(_) => return None,
        other => RData::Other {
            rtype: u16::from(other.record_type()),
            text: other.to_string(),
        },
    };
    Some(Record {
        name: name(&r.name),
        ttl: r.ttl,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordType;

    #[test]
    fn query_round_trips_through_the_wire_format() {
        let q = Question::new(
            Name::from_ascii("_acme-challenge.example.com"),
            RecordType::TXT,
        );
        let flags = QueryFlags {
            recursion_desired: true,
            dnssec_ok: true,
            checking_disabled: true,
            ..Default::default()
        };
        let (wire, _) = encode_query(4242, q.name.as_str(), &q, flags).unwrap();
        let msg = Message::from_vec(&wire).unwrap();
        assert_eq!(msg.metadata.id, 4242);
        assert!(msg.metadata.recursion_desired);
        assert!(msg.metadata.checking_disabled);
        assert!(msg.edns.as_ref().unwrap().flags().dnssec_ok);
        assert_eq!(
            msg.queries[0].name().to_ascii(),
            "_acme-challenge.example.com."
        );
        assert_eq!(u16::from(msg.queries[0].query_type()), 16);
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_value() {
        // A bound UDP socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(100),
            attempts: 2,
            max_inflight: 4,
            ..Default::default()
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert_eq!(ex.outcome, Outcome::Timeout);
        assert!(ex.elapsed >= Duration::from_millis(190), "{:?}", ex.elapsed);
        assert!(ex.elapsed < Duration::from_secs(2));
    }

    /// A server that stops answering is given up after a few full timeouts: the next
    /// questions to it end at once, until the next run.
    #[tokio::test]
    async fn a_dead_server_fails_fast_for_the_rest_of_the_run() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(100),
            attempts: 1,
            max_inflight: 64,
            max_qps_per_server: 0,
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        for _ in 0..DEAD_AFTER_TIMEOUTS {
            let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
            assert!(ex.elapsed >= Duration::from_millis(90));
        }
        let start = Instant::now();
        for _ in 0..50 {
            let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
            assert_eq!(ex.outcome, Outcome::Timeout);
            assert!(
                ex.elapsed >= Duration::from_millis(90),
                "reports the real timeout"
            );
        }
        assert!(
            start.elapsed() < Duration::from_millis(50),
            "{:?}",
            start.elapsed()
        );
        // A new run asks it again; the old run still knows it dead.
        let old = Arc::new(t);
        let t = Transport::for_run(&old);
        assert!(old.is_dead(addr) && !t.is_dead(addr));
        let start = Instant::now();
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert!(start.elapsed() >= Duration::from_millis(90));
        assert_eq!(ex.outcome, Outcome::Timeout);
    }

    /// The rule holds for resolvers too (asked with RD on): a resolver that never answers
    /// is given up after a few questions, and a question counts as soon as one attempt
    /// timed out: with 2 attempts of 200 ms, 20 questions in flight at once to a
    /// blackholed resolver all end after about one attempt (200 ms), not two (400 ms);
    /// the next ones at once. Before, resolvers were never judged: each waited 400 ms.
    #[tokio::test]
    async fn a_silent_resolver_is_dead_after_one_attempt_of_a_few_questions() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(200),
            attempts: 2,
            max_inflight: 64,
            max_qps_per_server: 0,
        });
        let start = Instant::now();
        let asks = (0..20).map(|i| {
            let q = Question::new(
                Name::from_ascii(&format!("n{i}.example.com")),
                RecordType::TXT,
            );
            let t = t.clone();
            async move { t.ask(addr, &q, QueryFlags::recursive()).await }
        });
        let done = futures::future::join_all(asks).await;
        let took = start.elapsed();
        assert!(done.iter().all(|e| e.outcome == Outcome::Timeout));
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_millis(350),
            "{took:?}"
        );
        assert!(t.is_dead(addr));
        let start = Instant::now();
        let q = Question::new(Name::from_ascii("later.example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::recursive()).await;
        assert_eq!(ex.outcome, Outcome::Timeout);
        assert!(start.elapsed() < Duration::from_millis(50));
        assert!(
            ex.elapsed >= Duration::from_millis(190),
            "reports the real timeout"
        );
        // One question alone is not a dead server.
        let t = Transport::for_run(&Arc::new(t));
        let ex = t.ask(addr, &q, QueryFlags::recursive()).await;
        assert_eq!(ex.outcome, Outcome::Timeout);
        assert!(!t.is_dead(addr), "one question is not a dead server");
        drop(silent);
    }

    /// A lossy server that still answers is never found dead: one that drops every other
    /// query (by arrival) loses many questions' first attempts at once when 24 are asked
    /// together, 3 timeouts in a row and more, but it answers others meanwhile. No question
    /// fails fast (a timeout waited out both attempts), the server is not dead, and every
    /// question the server answered got its answer. Before, the first attempts' timeouts
    /// found it dead and the retries ended at once (some after the server had answered).
    #[tokio::test]
    async fn a_server_that_drops_every_other_query_is_not_dead() {
        use std::collections::HashSet;
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let answered = Arc::new(Mutex::new(HashSet::<String>::new()));
        let dropped = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (seen, lost) = (answered.clone(), dropped.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            for n in 0u64.. {
                let (len, peer) = server.recv_from(&mut buf).await.unwrap();
                if n % 2 == 1 {
                    lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                let q = Message::from_vec(&buf[..len]).unwrap();
                let name = q.queries[0].name().to_ascii().to_ascii_lowercase();
                seen.lock()
                    .unwrap()
                    .insert(name.trim_end_matches('.').to_string());
                let a = txt_answer(&buf[..len], "x", None);
                server.send_to(&a, peer).await.unwrap();
            }
        });
        let timeout = Duration::from_millis(300);
        let t = NetTransport::new(NetOptions {
            timeout,
            attempts: 2,
            max_inflight: 64,
            max_qps_per_server: 0,
        });
        let wave = |w: usize, flags: QueryFlags| {
            let t = t.clone();
            let asks = (0..24).map(move |i| {
                let name = format!("w{w}-n{i}.example.com");
                let t = t.clone();
                async move {
                    let q = Question::new(Name::from_ascii(&name), RecordType::TXT);
                    let start = Instant::now();
                    let ex = t.ask(addr, &q, flags).await;
                    (name, ex.outcome, start.elapsed())
                }
            });
            futures::future::join_all(asks)
        };
        let run = async {
            let mut done = wave(0, QueryFlags::authoritative()).await;
            // Later questions, to resolvers as well (the same rule): none fails fast either.
            done.extend(wave(1, QueryFlags::recursive()).await);
            done
        };
        let done = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .expect("bounded");
        let answered = answered.lock().unwrap().clone();
        let mut answers = 0;
        for (name, outcome, took) in &done {
            match outcome {
                Outcome::Answer(_) => answers += 1,
                Outcome::Timeout => {
                    assert!(
                        *took >= 2 * timeout - Duration::from_millis(10),
                        "{name} failed fast after {took:?}"
                    );
                    assert!(!answered.contains(name), "{name}: answered, yet a timeout");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(!t.is_dead(addr), "a server that answers half is not dead");
        assert_eq!(
            answers,
            answered.len(),
            "every answered question is answered"
        );
        assert!(
            dropped.load(std::sync::atomic::Ordering::Relaxed) >= DEAD_AFTER_TIMEOUTS,
            "the server dropped queries"
        );
        // Both attempts are lost for some questions at most: most are answered.
        assert!(answers >= done.len() / 2, "{answers} of {}", done.len());
    }

    /// A plain name is written by hand in exactly the bytes hickory writes, for every
    /// combination of flags; a name that is not plain is hickory's to encode (and to
    /// refuse); the answer's name matches without case, and only the name asked.
    #[test]
    fn a_plain_query_is_encoded_as_hickory_does() {
        let names = [
            "example.com.",
            "_acme-challenge.n0001.bench.test.",
            "_AcMe-ChAlLeNgE.ExAmPlE.CoM.",
            "a.",
            "xn--bcher-kva.example.",
            &format!("{}.example.", "a".repeat(63)),
        ];
        for name in names {
            for rtype in [RecordType::TXT, RecordType::NS, RecordType::SOA] {
                let q = Question::new(Name::from_ascii(name), rtype);
                for bits in 0u8..16 {
                    let flags = QueryFlags {
                        recursion_desired: bits & 1 != 0,
                        dnssec_ok: bits & 2 != 0,
                        checking_disabled: bits & 4 != 0,
                        no_edns: bits & 8 != 0,
                        ..QueryFlags::authoritative()
                    };
                    let (ours, asked) = encode_query(0xbeef, name, &q, flags).unwrap();
                    let (theirs, hname) = encode_query_hickory(0xbeef, name, &q, flags).unwrap();
                    assert!(matches!(asked, AskedName::Plain(_)), "{name}");
                    assert_eq!(ours, theirs, "{name} {rtype:?} {flags:?}");
                    assert!(asked.is(&hname));
                    let upper = HName::from_ascii(name.to_ascii_uppercase()).unwrap();
                    assert!(asked.is(&upper), "no case: {name}");
                }
            }
        }
        let asked = |n: &str| {
            let q = Question::new(Name::from_ascii(n), RecordType::TXT);
            encode_query(1, n, &q, QueryFlags::authoritative()).map(|(_, a)| a)
        };
        let plain = asked("a.example.com.").unwrap();
        for other in [
            "example.com.",
            "b.example.com.",
            "x.a.example.com.",
            "a.example.com",
        ] {
            assert!(!plain.is(&HName::from_ascii(other).unwrap()), "{other}");
        }
        // Not plain: hickory encodes it, or says why not.
        assert!(matches!(asked(r"a\.b.example."), Ok(AskedName::Parsed(_))));
        assert!(!matches!(asked("a b.example."), Ok(AskedName::Plain(_))));
        assert!(asked(&format!("{}.example.", "a".repeat(64))).is_err());
    }

    /// A name read off the wire is spelt as hickory's `to_ascii` spells it (lower-cased),
    /// plain or not.
    #[test]
    fn names_off_the_wire_are_spelt_as_hickory_does() {
        let wire_name = |labels: &[&[u8]]| {
            let mut n = HName::root();
            for l in labels.iter().rev() {
                n = n.prepend_label(*l).unwrap();
            }
            n
        };
        let cases: [&[&[u8]]; 10] = [
            &[],
            &[b"com"],
            &[b"_acme-challenge", b"WWW", b"Example", b"com"],
            &[b"-lead", b"example"],
            &[b"a-", b"b_c", b"x9"],
            &[b"*", b"example"],
            &[b"a b", b"example"],
            &[b"a.b", b"example"],
            &[b"caf\xc3\xa9", b"example"],
            &[b"xn--bcher-kva", b"example"],
        ];
        for labels in cases {
            let n = wire_name(labels);
            assert_eq!(name(&n), Name::from_ascii_owned(n.to_ascii()), "{labels:?}");
        }
        let relative = HName::from_ascii("a.example").unwrap();
        assert_eq!(name(&relative), Name::from_ascii_owned(relative.to_ascii()));
    }

    #[test]
    fn mixed_case_changes_only_letters_and_keeps_the_name() {
        let m = mixed_case("_acme-challenge.example.com.");
        assert_ne!(m, "_acme-challenge.example.com.");
        assert!(m.chars().any(|c| c.is_ascii_uppercase()));
        assert_eq!(m.to_ascii_lowercase(), "_acme-challenge.example.com.");
        assert_eq!(mixed_case("1-2.3."), "1-2.3.");
    }

    /// A server that answers FORMERR to EDNS: the plain retry is the outcome, unless the
    /// question is asked with `strict_edns`; and the question's case is checked.
    #[tokio::test]
    async fn formerr_to_edns_is_retried_plain_and_case_is_checked() {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
                let q = Message::from_vec(&buf[..n]).unwrap();
                let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
                r.metadata.authoritative = true;
                let lower = Query::query(
                    HName::from_ascii(q.queries[0].name().to_ascii().to_ascii_lowercase()).unwrap(),
                    q.queries[0].query_type(),
                );
                r.add_query(lower);
                if q.edns.is_some() {
                    r.metadata.response_code = hickory_proto::op::ResponseCode::FormErr;
                }
                udp.send_to(&r.to_vec().unwrap(), peer).await.unwrap();
            }
        });
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_secs(2),
            attempts: 1,
            max_inflight: 4,
            max_qps_per_server: 0,
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::SOA);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        let Outcome::NoData(r) = &ex.outcome else {
            panic!("{:?}", ex.outcome)
        };
        assert!(!r.edns);
        let strict = QueryFlags {
            strict_edns: true,
            ..QueryFlags::authoritative()
        };
        let ex = t.ask(addr, &q, strict).await;
        assert_eq!(ex.outcome.label(), "FORMERR");
        let mixed = QueryFlags {
            mixed_case: true,
            no_edns: true,
            ..QueryFlags::authoritative()
        };
        let ex = t.ask(addr, &q, mixed).await;
        assert_eq!(ex.outcome.reply().unwrap().qname_case_kept, Some(false));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_network_value() {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        drop(sock);
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(500),
            attempts: 1,
            max_inflight: 4,
            ..Default::default()
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert!(
            matches!(ex.outcome, Outcome::Network(_)),
            "{:?}",
            ex.outcome
        );
    }

    /// Builds an authoritative answer to `query` with one TXT record (`id` overrides the ID).
    fn txt_answer(query: &[u8], text: &str, id: Option<u16>) -> Vec<u8> {
        use hickory_proto::rr::rdata::TXT;
        let q = Message::from_vec(query).unwrap();
        let mut r = Message::new(
            id.unwrap_or(q.metadata.id),
            MessageType::Response,
            OpCode::Query,
        );
        r.metadata.authoritative = true;
        r.add_query(q.queries[0].clone());
        r.add_answer(HRecord::from_rdata(
            q.queries[0].name().clone(),
            60,
            HRData::TXT(TXT::new(vec![text.into()])),
        ));
        r.to_vec().unwrap()
    }

    /// Sockets are reused per server; a duplicate of an earlier answer or an answer with a
    /// wrong ID that waits on a reused socket is not taken for the next question's answer.
    #[tokio::test]
    async fn a_reused_socket_ignores_stale_answers() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let peers = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut peers = Vec::new();
            for i in 0..3 {
                let (n, peer) = server.recv_from(&mut buf).await.unwrap();
                peers.push(peer);
                let text = format!("answer-{i}");
                // the answer, sent twice; then one with a wrong ID
                let a = txt_answer(&buf[..n], &text, None);
                server.send_to(&a, peer).await.unwrap();
                server.send_to(&a, peer).await.unwrap();
                let wrong = txt_answer(&buf[..n], "wrong-id", Some(0));
                server.send_to(&wrong, peer).await.unwrap();
            }
            peers
        });
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_secs(2),
            attempts: 1,
            max_inflight: 1,
            ..Default::default()
        });
        for i in 0..3 {
            let q = Question::new(
                Name::from_ascii(&format!("q{i}.example.com")),
                RecordType::TXT,
            );
            let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
            let Outcome::Answer(r) = ex.outcome else {
                panic!("{:?}", ex.outcome)
            };
            assert_eq!(r.answers[0].data, RData::TXT(vec![format!("answer-{i}")]));
            assert_eq!(r.answers[0].name, q.name);
        }
        let peers = peers.await.unwrap();
        assert!(
            peers.windows(2).all(|w| w[0] == w[1]),
            "one socket: {peers:?}"
        );
    }

    /// A question already waiting on a server when other questions find it dead ends at
    /// once: it does not wait out a timeout of its own (it started just before the third
    /// timeout was counted).
    #[tokio::test]
    async fn questions_waiting_on_a_server_found_dead_end_at_once() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(600),
            attempts: 1,
            max_inflight: 64,
            max_qps_per_server: 0,
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        let ask = |t: &NetTransport| {
            let (t, q) = (t.clone(), q.clone());
            tokio::spawn(async move { t.ask(addr, &q, QueryFlags::authoritative()).await })
        };
        let start = Instant::now();
        let first: Vec<_> = (0..DEAD_AFTER_TIMEOUTS).map(|_| ask(&t)).collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let late = ask(&t);
        for f in first {
            assert_eq!(f.await.unwrap().outcome, Outcome::Timeout);
        }
        let ex = late.await.unwrap();
        assert_eq!(ex.outcome, Outcome::Timeout);
        // It ended when the server was found dead (about 600 ms), not at its own timeout
        // (about 900 ms).
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "{:?}",
            start.elapsed()
        );
        assert!(
            ex.elapsed >= Duration::from_millis(550),
            "reports the real timeout"
        );
        drop(silent);
    }

    /// Resolvers and authoritative servers have an in-flight cap each: with room for one
    /// question, a resolver that never answers does not hold up an authoritative server
    /// that does (a resolver waiting out a dead server must not keep the chain from
    /// finding it dead).
    #[tokio::test]
    async fn a_hanging_resolver_does_not_hold_up_an_authoritative_question() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (silent_addr, addr) = (silent.local_addr().unwrap(), server.local_addr().unwrap());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, peer) = server.recv_from(&mut buf).await.unwrap();
            let a = txt_answer(&buf[..n], "x", None);
            server.send_to(&a, peer).await.unwrap();
        });
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_secs(3),
            attempts: 1,
            max_inflight: 1,
            max_qps_per_server: 0,
        });
        let q = Question::new(Name::from_ascii("h.example.com"), RecordType::TXT);
        let hanging = {
            let (t, q) = (t.clone(), q.clone());
            tokio::spawn(async move { t.ask(silent_addr, &q, QueryFlags::recursive()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert!(matches!(ex.outcome, Outcome::Answer(_)), "{:?}", ex.outcome);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        assert!(!hanging.is_finished(), "the resolver question still waits");
        hanging.abort();
        drop(silent);
    }

    /// The transport applies `max_qps_per_server`: 5 questions at 5 per second take at
    /// least 4 intervals of 200 ms; without a cap they do not wait.
    #[tokio::test]
    async fn the_per_server_cap_spaces_queries() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let (n, peer) = server.recv_from(&mut buf).await.unwrap();
                let a = txt_answer(&buf[..n], "x", None);
                server.send_to(&a, peer).await.unwrap();
            }
        });
        for (qps, at_least, below) in [(5, 800, 3000), (0, 0, 500)] {
            let t = NetTransport::new(NetOptions {
                timeout: Duration::from_secs(2),
                attempts: 1,
                max_inflight: 8,
                max_qps_per_server: qps,
            });
            let start = Instant::now();
            let asks = (0..5).map(|i| {
                let q = Question::new(
                    Name::from_ascii(&format!("r{i}.example.com")),
                    RecordType::TXT,
                );
                let t = t.clone();
                async move { t.ask(addr, &q, QueryFlags::authoritative()).await }
            });
            let done = futures::future::join_all(asks).await;
            let took = start.elapsed();
            assert!(done.iter().all(|e| matches!(e.outcome, Outcome::Answer(_))));
            assert!(
                took >= Duration::from_millis(at_least) && took < Duration::from_millis(below),
                "qps {qps}: {took:?}"
            );
        }
    }

    /// A UDP answer with TC set is asked again over TCP, and the TCP answer is the outcome.
    #[tokio::test]
    async fn a_truncated_answer_is_retried_over_tcp() {
        use hickory_proto::rr::rdata::TXT;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).await.unwrap();
        let answer = |query: &[u8], truncated: bool| {
            let q = Message::from_vec(query).unwrap();
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            r.metadata.authoritative = true;
            r.metadata.truncation = truncated;
            r.add_query(q.queries[0].clone());
            if !truncated {
                r.add_answer(HRecord::from_rdata(
                    q.queries[0].name().clone(),
                    60,
                    HRData::TXT(TXT::new(vec!["over-tcp".into()])),
                ));
            }
            r.to_vec().unwrap()
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
            udp.send_to(&answer(&buf[..n], true), peer).await.unwrap();
        });
        tokio::spawn(async move {
            let (mut s, _) = tcp.accept().await.unwrap();
            let mut len = [0u8; 2];
            s.read_exact(&mut len).await.unwrap();
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut q).await.unwrap();
            let a = answer(&q, false);
            s.write_all(&(a.len() as u16).to_be_bytes()).await.unwrap();
            s.write_all(&a).await.unwrap();
        });
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_secs(2),
            attempts: 1,
            max_inflight: 4,
            ..Default::default()
        });
        let q = Question::new(Name::from_ascii("big.example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        let Outcome::Answer(r) = ex.outcome else {
            panic!("{:?}", ex.outcome)
        };
        assert!(r.via_tcp);
        assert_eq!(r.answers[0].data, RData::TXT(vec!["over-tcp".into()]));
    }

    /// A server that rate-limits us (RRL: it slipped a truncated, empty answer once) and
    /// then drops our UDP queries still answers: the question's last attempt goes over TCP,
    /// which RRL does not limit. Before, both UDP attempts were lost: SERVER_TIMEOUT.
    #[tokio::test]
    async fn the_last_attempt_to_a_server_that_slipped_goes_over_tcp() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).await.unwrap();
        let udp_seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = udp_seen.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            // The first query gets a slip; every later one is dropped.
            let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            r.metadata.truncation = true;
            r.add_query(q.queries[0].clone());
            udp.send_to(&r.to_vec().unwrap(), peer).await.unwrap();
            loop {
                let _ = udp.recv_from(&mut buf).await.unwrap();
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        tokio::spawn(async move {
            loop {
                let (mut s, _) = tcp.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut len = [0u8; 2];
                    s.read_exact(&mut len).await.unwrap();
                    let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                    s.read_exact(&mut q).await.unwrap();
                    let a = txt_answer(&q, "over-tcp", None);
                    s.write_all(&(a.len() as u16).to_be_bytes()).await.unwrap();
                    s.write_all(&a).await.unwrap();
                });
            }
        });
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(300),
            attempts: 2,
            max_inflight: 4,
            ..Default::default()
        });
        let ask = |name: &str| {
            let q = Question::new(Name::from_ascii(name), RecordType::TXT);
            let t = t.clone();
            async move {
                tokio::time::timeout(
                    Duration::from_secs(5),
                    t.ask(addr, &q, QueryFlags::authoritative()),
                )
                .await
                .expect("bounded")
                .outcome
            }
        };
        // The slip: retried over TCP at once, as any truncated answer.
        assert!(matches!(ask("first.example.com").await, Outcome::Answer(r) if r.via_tcp));
        // The next question's UDP attempt is dropped; its last attempt goes over TCP.
        let Outcome::Answer(r) = ask("second.example.com").await else {
            panic!("the second question got no answer")
        };
        assert!(r.via_tcp);
        assert_eq!(r.answers[0].data, RData::TXT(vec!["over-tcp".into()]));
        assert_eq!(
            udp_seen.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "one UDP attempt per question, the second question's retry over TCP"
        );
        assert_eq!(t.pacing().slips(), 1);
    }
}

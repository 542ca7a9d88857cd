//! RFC 2136 dynamic updates signed with TSIG (RFC 8945): the wire part.
//!
//! Besides `transport.rs`, this is the only file that knows hickory. [`send_update`] builds
//! one UPDATE message for a zone, signs it, sends it over TCP with a time bound, checks
//! the TSIG of the reply and returns an [`UpdateResult`] whose [`UpdateOutcome`] is a value:
//! a refusal by the server is never an error here.

use crate::dns::types::{Name, RecordType};
use crate::dns::{NetError, Rcode, TsigError};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm as HAlg;
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::ProtoError;

use hickory_proto::rr::{
    DNSClass, Name as HName, RData as HRData, Record as HRecord, RecordType as HType, TSigner,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The TSIG fudge we sign with (seconds of clock difference the server tolerates).
pub const FUDGE: u16 = 300;

/// The algorithm names (RFC 8945 §6) this module can sign with.
pub const SUPPORTED_ALGORITHMS: &[&str] = &["hmac-sha256", "hmac-sha384", "hmac-sha512"];

/// One change in the update section (RFC 2136 §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOp {
    /// Add a TXT value to the rrset at `owner` (§2.5.1).
    AddTxt {
        owner: Name,
        value: String,
        ttl: u32,
    },
    /// Delete one TXT value from the rrset at `owner` (§2.5.4).
    DeleteTxt { owner: Name, value: String },
    /// Delete the whole rrset of `rtype` at `owner` (§2.5.2).
    DeleteRrset { owner: Name, rtype: RecordType },
    /// Add an A record (used by the scope probe).
    AddA {
        owner: Name,
        addr: Ipv4Addr,
        ttl: u32,
    },
}

impl UpdateOp {
    pub fn owner(&self) -> &Name {
        match self {
            UpdateOp::AddTxt { owner, .. }
            | UpdateOp::DeleteTxt { owner, .. }
            | UpdateOp::DeleteRrset { owner, .. }
            | UpdateOp::AddA { owner, .. } => owner,
        }
    }
}

/// The TSIG key as plain bytes (the caller owns the secret).
#[derive(Clone, Copy)]
pub struct WireKey<'a> {
    /// The key name as the server knows it (`acme-update.`).
    pub name: &'a Name,
    /// The algorithm name, e.g. `hmac-sha256` (one of [`SUPPORTED_ALGORITHMS`]).
    pub algorithm: &'a str,
    pub secret: &'a [u8],
}

impl std::fmt::Debug for WireKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WireKey({} {} ****)", self.name, self.algorithm)
    }
}

/// One update to send.
#[derive(Clone, Debug)]
pub struct UpdateRequest<'a> {
    pub server: SocketAddr,
    pub zone: &'a Name,
    pub ops: &'a [UpdateOp],
    pub key: WireKey<'a>,
    /// For the whole exchange (connect, send, receive).
    pub timeout: Duration,
    /// The TSIG time to sign with (seconds since the epoch); `None` = now. Only tests and
    /// clock diagnostics set it.
    pub sign_time: Option<u64>,
}

/// What came of one update, as a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// NOERROR with a reply whose TSIG verified.
    Applied,
    /// The server answered with an error.
    Rejected {
        /// The RCODE of the reply (NOTAUTH, REFUSED, ...).
        rcode: Rcode,
        /// The TSIG error of the reply's TSIG record, if it had one and it was not 0
        /// (BADSIG, BADKEY, BADTIME).
        tsig_error: Option<TsigError>,
        /// The reply carried a TSIG MAC and it verified with our key.
        reply_signed: bool,
        /// On BADTIME: the server's clock (RFC 8945 §5.2.3: the "other data" of its TSIG,
        /// else its TSIG time), seconds since the epoch.
        server_time: Option<u64>,
    },
    /// No reply within the timeout.
    Timeout,
    /// Connecting, sending or reading failed, or the reply did not parse / did not match.
    Network(NetError),
    /// The reply's TSIG did not verify with our key, or a NOERROR reply was not signed:
    /// it cannot be trusted.
    BadReplySignature,
}

/// One update to one server and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateResult {
    pub server: SocketAddr,
    pub zone: Name,
    pub elapsed: Duration,
    /// The time we signed with (seconds since the epoch).
    pub signed_at: u64,
    pub outcome: UpdateOutcome,
}

impl UpdateResult {
    /// On BADTIME: server clock minus our clock, in seconds (positive = the server is ahead).
    pub fn clock_skew_secs(&self) -> Option<i64> {
        match self.outcome {
            UpdateOutcome::Rejected {
                server_time: Some(t),
                ..
            } => Some(t as i64 - self.signed_at as i64),
            _ => None,
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sends one signed UPDATE over TCP and returns what came of it.
///
/// Updates started at the same moment (in one turn of the scheduler, as `join_all` starts
/// them) for one server, zone and key go out together in one UPDATE message, one after the
/// other (a group commit): the server applies (and signs) the zone once for all of them,
/// and sees one TCP connection from us instead of one per update. A hundred
/// updates at once would otherwise each open a connection, and a server whose listen
/// backlog is shorter (knot's is 10) drops the connections beyond it: each dropped one
/// costs a TCP retransmission timeout (1 s, then 3 s, 7 s, ... in all), which is what made
/// `prove` of 100 names take 2 s or 9 s at random. An UPDATE is applied whole or not at
/// all, so when a combined message is not applied (rejected, an unverified reply, a
/// network error) each update is sent again on its own ([`ALONE_AT_ONCE`] at a time) and
/// gets its own outcome; a timeout is every update's. An update signed at a given time
/// (`sign_time`: tests, clock diagnostics) is always sent alone.
pub async fn send_update(req: &UpdateRequest<'_>) -> UpdateResult {
    if req.sign_time.is_some() {
        return send_alone(req).await;
    }
    let start = Instant::now();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let lane: LaneKey = (req.server, req.zone.clone(), req.key.name.clone());
    let first = {
        let mut lanes = lanes().lock().unwrap_or_else(|e| e.into_inner());
        let l = lanes.entry(lane.clone()).or_default();
        l.queue.push_back(Waiting {
            ops: req.ops.to_vec(),
            algorithm: req.key.algorithm.to_string(),
            secret: req.key.secret.to_vec(),
            timeout: req.timeout,
            done: tx,
        });
        !std::mem::replace(&mut l.busy, true)
    };
    if first {
        tokio::spawn(drain(lane));
    }
    match rx.await {
        Ok(mut r) => {
            r.elapsed = start.elapsed();
            r
        }
        // The lane's task ended without an answer (the runtime is shutting down): alone.
        Err(_) => send_alone(req).await,
    }
}

/// Most updates in one combined message (100 TXT values of 43 octets make about 10 KB).
pub const MAX_BATCH_OPS: usize = 100;
/// Updates of a combined message that was not applied, sent again alone, at once.
pub const ALONE_AT_ONCE: usize = 4;

/// One server, zone and key name: the updates that may share a message.
type LaneKey = (SocketAddr, Name, Name);

/// An update waiting for its lane's next message.
struct Waiting {
    ops: Vec<UpdateOp>,
    algorithm: String,
    secret: Vec<u8>,
    timeout: Duration,
    done: tokio::sync::oneshot::Sender<UpdateResult>,
}

impl Waiting {
    /// Whether `other` may go in the same message (the same key and time bound).
    fn joins(&self, other: &Waiting) -> bool {
        self.algorithm == other.algorithm
            && self.secret == other.secret
            && self.timeout == other.timeout
    }
}

/// The updates waiting for one lane, and whether its task is sending.
#[derive(Default)]
struct Lane {
    queue: std::collections::VecDeque<Waiting>,
    busy: bool,
}

fn lanes() -> &'static std::sync::Mutex<std::collections::HashMap<LaneKey, Lane>> {
    static LANES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<LaneKey, Lane>>> =
        std::sync::OnceLock::new();
    LANES.get_or_init(Default::default)
}

/// Forgets a lane when its task ends, however it ends (a panic included: the updates still
/// queued are then told nothing, and their callers send them alone).
struct LaneGuard(LaneKey);

impl Drop for LaneGuard {
    fn drop(&mut self) {
        let mut lanes = lanes().lock().unwrap_or_else(|e| e.into_inner());
        lanes.remove(&self.0);
    }
}

/// Sends a lane's waiting updates, as many at a time as may share a message, until none
/// is left. Each message is sent on its own task: an update that hangs (a silent server)
/// holds up none started after it (such as the deletion sent when it is cancelled).
async fn drain(lane: LaneKey) {
    let guard = LaneGuard(lane);
    // The updates started at the same moment as the first join it.
    tokio::task::yield_now().await;
    loop {
        let batch = {
            let mut lanes = lanes().lock().unwrap_or_else(|e| e.into_inner());
            let Some(l) = lanes.get_mut(&guard.0) else {
                return;
            };
            let mut batch: Vec<Waiting> = Vec::new();
            let mut ops = 0;
            let mut i = 0;
            while i < l.queue.len() && ops < MAX_BATCH_OPS {
                if batch.first().is_none_or(|f| f.joins(&l.queue[i])) {
                    let w = l.queue.remove(i).expect("in range");
                    ops += w.ops.len();
                    batch.push(w);
                } else {
                    i += 1;
                }
            }
            if batch.is_empty() {
                return; // the guard forgets the lane
            }
            batch
        };
        tokio::spawn(send_batch(guard.0.clone(), batch));
    }
}

/// The request of `w`'s updates (`ops`) in `lane`.
fn request<'a>(lane: &'a LaneKey, w: &'a Waiting, ops: &'a [UpdateOp]) -> UpdateRequest<'a> {
    UpdateRequest {
        server: lane.0,
        zone: &lane.1,
        ops,
        key: WireKey {
            name: &lane.2,
            algorithm: &w.algorithm,
            secret: &w.secret,
        },
        timeout: w.timeout,
        sign_time: None,
    }
}

/// Sends the updates of `batch` in one message (each alone again if it was not applied)
/// and tells each caller its outcome.
async fn send_batch(lane: LaneKey, mut batch: Vec<Waiting>) {
    use futures::StreamExt;
    let lane = &lane;
    if batch.len() == 1 {
        let w = batch.pop().expect("one");
        let r = send_alone(&request(lane, &w, &w.ops)).await;
        let _ = w.done.send(r);
        return;
    }
    let ops: Vec<UpdateOp> = batch.iter().flat_map(|w| w.ops.iter().cloned()).collect();
    let r = send_alone(&request(lane, &batch[0], &ops)).await;
    if matches!(r.outcome, UpdateOutcome::Applied | UpdateOutcome::Timeout) {
        for w in batch {
            let _ = w.done.send(r.clone());
        }
        return;
    }
    futures::stream::iter(batch)
        .for_each_concurrent(ALONE_AT_ONCE, |w| async move {
            let r = send_alone(&request(lane, &w, &w.ops)).await;
            let _ = w.done.send(r);
        })
        .await;
}

/// Sends one signed UPDATE (these ops, in one message) over TCP.
async fn send_alone(req: &UpdateRequest<'_>) -> UpdateResult {
    let start = Instant::now();
    let signed_at = req.sign_time.unwrap_or_else(now_secs);
    let outcome = match build_signed(req, signed_at) {
        Err(e) => UpdateOutcome::Network(NetError::EncodeUpdate {
            detail: e.to_string(),
        }),
        Ok((id, wire, signer, request_mac)) => {
            match tokio::time::timeout(req.timeout, super::tcp::exchange(req.server, &wire)).await {
                Err(_) => UpdateOutcome::Timeout,
                Ok(Err(e)) => UpdateOutcome::Network(e.into()),
                Ok(Ok(reply)) => judge_reply(req.server, &reply, id, &signer, &request_mac),
            }
        }
    };
    // The key by name only: never the secret.
    tracing::debug!(
        server = %req.server,
        zone = %req.zone,
        key = %req.key.name,
        ops = req.ops.len(),
        outcome = ?outcome,
        "dns update"
    );
    UpdateResult {
        server: req.server,
        zone: req.zone.clone(),
        elapsed: start.elapsed(),
        signed_at,
        outcome,
    }
}

/// Why an update could not be built or signed (before anything is sent).
#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error("bad name {name}: {source}")]
    BadName { name: Name, source: ProtoError },
    #[error("TSIG algorithm {algorithm} is not supported (supported: {})", SUPPORTED_ALGORITHMS.join(", "))]
    UnsupportedAlgorithm { algorithm: String },
    /// The key cannot sign.
    #[error(transparent)]
    Key(#[from] hickory_proto::dnssec::DnsSecError),
    /// Signing or encoding failed.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    #[error("the message was not signed")]
    NotSigned,
}

fn hname(n: &Name) -> Result<HName, BuildError> {
    HName::from_ascii(n.as_str()).map_err(|source| BuildError::BadName {
        name: n.clone(),
        source,
    })
}

fn signer(key: &WireKey<'_>) -> Result<TSigner, BuildError> {
    let alg = match key
        .algorithm
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .as_str()
    {
        "hmac-sha256" => HAlg::HmacSha256,
        "hmac-sha384" => HAlg::HmacSha384,
        "hmac-sha512" => HAlg::HmacSha512,
        other => {
            return Err(BuildError::UnsupportedAlgorithm {
                algorithm: other.to_string(),
            })
        }
    };
    Ok(TSigner::new(
        key.secret.to_vec(),
        alg,
        hname(key.name)?,
        FUDGE,
    )?)
}

/// TXT character-strings are at most 255 octets: longer values are split.
fn txt_rdata(value: &str) -> HRData {
    let chunks: Vec<&[u8]> = if value.is_empty() {
        vec![&[][..]]
    } else {
        value.as_bytes().chunks(255).collect()
    };
    HRData::TXT(TXT::from_bytes(chunks))
}

fn update_record(op: &UpdateOp) -> Result<HRecord, BuildError> {
    let owner = hname(op.owner())?;
    let mut rec = match op {
        UpdateOp::AddTxt { value, ttl, .. } => HRecord::from_rdata(owner, *ttl, txt_rdata(value)),
        UpdateOp::DeleteTxt { value, .. } => {
            let mut r = HRecord::from_rdata(owner, 0, txt_rdata(value));
            r.dns_class = DNSClass::NONE;
            r
        }
        UpdateOp::DeleteRrset { rtype, .. } => {
            let mut r = HRecord::update0(owner, 0, HType::from(rtype.code()));
            r.dns_class = DNSClass::ANY;
            r
        }
        UpdateOp::AddA { addr, ttl, .. } => HRecord::from_rdata(owner, *ttl, HRData::A(A(*addr))),
    };
    if matches!(op, UpdateOp::AddTxt { .. } | UpdateOp::AddA { .. }) {
        rec.dns_class = DNSClass::IN;
    }
    Ok(rec)
}

/// Builds and signs the message: (id, wire bytes, signer, request MAC).
fn build_signed(
    req: &UpdateRequest<'_>,
    time: u64,
) -> Result<(u16, Vec<u8>, TSigner, Vec<u8>), BuildError> {
    let signer = signer(&req.key)?;
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Update);
    let mut zone = Query::new();
    zone.set_name(hname(req.zone)?)
        .set_query_type(HType::SOA)
        .set_query_class(DNSClass::IN);
    msg.add_query(zone);
    for op in req.ops {
        msg.add_authority(update_record(op)?);
    }
    msg.finalize(&signer, time)?;
    let mac = msg
        .signature
        .as_ref()
        .map(|s| s.data.mac.clone())
        .ok_or(BuildError::NotSigned)?;
    let wire = msg.to_vec()?;
    Ok((id, wire, signer, mac))
}

/// Reads a reply: checks it matches, verifies its TSIG, classifies it.
fn judge_reply(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    signer: &TSigner,
    request_mac: &[u8],
) -> UpdateOutcome {
    let msg = match Message::from_vec(wire) {
        Ok(m) => m,
        Err(e) => {
            return UpdateOutcome::Network(NetError::MalformedUpdateReply {
                server,
                detail: e.to_string(),
            })
        }
    };
    if msg.metadata.id != id || msg.metadata.message_type != MessageType::Response {
        return UpdateOutcome::Network(NetError::UpdateReplyMismatch { server });
    }
    let rcode = msg.metadata.response_code;
    let tsig = msg.signature().map(|r| r.data.clone());
    let tsig_error = tsig
        .as_ref()
        .and_then(|t| t.error)
        .filter(|&e| e != TsigError::Unknown(0));
    let has_mac = tsig.as_ref().is_some_and(|t| !t.mac.is_empty());
    let reply_signed = if has_mac {
        match signer.verify_message_byte(wire, Some(request_mac), true) {
            Ok(_) => true,
            Err(_) => return UpdateOutcome::BadReplySignature,
        }
    } else {
        false
    };
    if rcode == Rcode::NoError && tsig_error.is_none() {
        if !reply_signed {
            return UpdateOutcome::BadReplySignature;
        }
        return UpdateOutcome::Applied;
    }
    let server_time = match (&tsig, tsig_error) {
        (Some(t), Some(TsigError::BadTime)) => Some(if t.other.len() == 6 {
            t.other
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        } else {
            t.time
        }),
        _ => None,
    };
    UpdateOutcome::Rejected {
        rcode,
        tsig_error,
        reply_signed,
        server_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn key_name() -> Name {
        Name::from_ascii("acme-update.")
    }

    #[test]
    fn the_update_is_signed_and_has_the_rfc2136_classes() {
        let zone = Name::from_ascii("acme.lab.");
        let owner = Name::from_ascii("x-label.acme.lab.");
        let ops = vec![
            UpdateOp::AddTxt {
                owner: owner.clone(),
                value: "a".repeat(300),
                ttl: 60,
            },
            UpdateOp::DeleteTxt {
                owner: owner.clone(),
                value: "old".into(),
            },
            UpdateOp::DeleteRrset {
                owner: owner.clone(),
                rtype: RecordType::TXT,
            },
            UpdateOp::AddA {
                owner: owner.clone(),
                addr: Ipv4Addr::LOCALHOST,
                ttl: 60,
            },
        ];
        let name = key_name();
        let secret = b"0123456789abcdef0123456789abcdef".to_vec();
        let req = UpdateRequest {
            server: "127.0.0.1:53".parse().unwrap(),
            zone: &zone,
            ops: &ops,
            key: WireKey {
                name: &name,
                algorithm: "hmac-sha256",
                secret: &secret,
            },
            timeout: Duration::from_secs(1),
            sign_time: Some(1_700_000_000),
        };
        let (id, wire, signer, _) = build_signed(&req, 1_700_000_000).unwrap();
        let msg = Message::from_vec(&wire).unwrap();
        assert_eq!(msg.metadata.id, id);
        assert_eq!(msg.metadata.op_code, OpCode::Update);
        assert_eq!(msg.queries[0].name().to_ascii(), "acme.lab.");
        assert_eq!(msg.queries[0].query_type(), HType::SOA);
        let classes: Vec<DNSClass> = msg.authorities.iter().map(|r| r.dns_class).collect();
        assert_eq!(
            classes,
            vec![DNSClass::IN, DNSClass::NONE, DNSClass::ANY, DNSClass::IN]
        );
        match &msg.authorities[0].data {
            HRData::TXT(t) => assert_eq!(t.txt_data.len(), 2),
            other => panic!("{other:?}"),
        }
        let sig = msg.signature().unwrap();
        assert_eq!(sig.name.to_ascii(), "acme-update.");
        assert_eq!(sig.data.time, 1_700_000_000);
        // The request verifies with the same key (as a server would check it).
        signer.verify_message_byte(&wire, None, true).unwrap();
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        let name = key_name();
        let e = signer(&WireKey {
            name: &name,
            algorithm: "hmac-md5",
            secret: b"x",
        })
        .err()
        .unwrap();
        assert!(
            matches!(&e, BuildError::UnsupportedAlgorithm { algorithm } if algorithm == "hmac-md5"),
            "{e}"
        );
        assert!(e.to_string().contains("hmac-sha256"), "{e}");
    }

    /// A TCP server that reads one UPDATE per connection, tells its number of update
    /// records, and answers REFUSED (unsigned) or never.
    async fn counting_server(
        answer: bool,
    ) -> (
        SocketAddr,
        tokio::sync::mpsc::UnboundedReceiver<usize>,
        tokio::task::JoinHandle<()>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut len = [0u8; 2];
                    s.read_exact(&mut len).await.unwrap();
                    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
                    s.read_exact(&mut buf).await.unwrap();
                    let msg = Message::from_vec(&buf).unwrap();
                    let _ = tx.send(msg.authorities.len());
                    if !answer {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    let mut reply =
                        Message::new(msg.metadata.id, MessageType::Response, OpCode::Update);
                    reply.metadata.response_code = Rcode::Refused;
                    let wire = reply.to_vec().unwrap();
                    let mut out = (wire.len() as u16).to_be_bytes().to_vec();
                    out.extend_from_slice(&wire);
                    s.write_all(&out).await.unwrap();
                });
            }
        });
        (addr, rx, task)
    }

    /// `n` TXT additions at once to `server`, each its own call.
    async fn at_once(server: SocketAddr, n: usize) -> Vec<UpdateResult> {
        let zone = Name::from_ascii("acme.lab.");
        let name = key_name();
        let ops: Vec<Vec<UpdateOp>> = (0..n)
            .map(|i| {
                vec![UpdateOp::AddTxt {
                    owner: Name::from_ascii(&format!("n{i}.acme.lab.")),
                    value: "token".into(),
                    ttl: 1,
                }]
            })
            .collect();
        let calls = ops.iter().map(|ops| {
            let req = UpdateRequest {
                server,
                zone: &zone,
                ops,
                key: WireKey {
                    name: &name,
                    algorithm: "hmac-sha256",
                    secret: b"secret",
                },
                timeout: Duration::from_millis(300),
                sign_time: None,
            };
            async move { send_update(&req).await }
        });
        futures::future::join_all(calls).await
    }

    #[tokio::test]
    async fn updates_started_at_once_share_one_message() {
        let (addr, mut seen, server) = counting_server(false).await;
        let results = at_once(addr, 40).await;
        assert!(results.iter().all(|r| r.outcome == UpdateOutcome::Timeout));
        server.abort();
        let mut messages = Vec::new();
        while let Ok(n) = seen.try_recv() {
            messages.push(n);
        }
        assert_eq!(messages.iter().sum::<usize>(), 40, "{messages:?}");
        assert!(
            messages.len() <= 2,
            "40 updates took {} connections",
            messages.len()
        );
    }

    #[tokio::test]
    async fn a_combined_message_that_is_refused_is_sent_again_update_by_update() {
        let (addr, mut seen, server) = counting_server(true).await;
        let results = at_once(addr, 10).await;
        for r in &results {
            assert!(
                matches!(
                    r.outcome,
                    UpdateOutcome::Rejected {
                        rcode: Rcode::Refused,
                        ..
                    }
                ),
                "{r:?}"
            );
        }
        server.abort();
        let mut messages = Vec::new();
        while let Ok(n) = seen.try_recv() {
            messages.push(n);
        }
        // The combined message(s), then each update on its own.
        assert!(
            messages.iter().filter(|&&n| n == 1).count() >= 10,
            "{messages:?}"
        );
        assert!(messages.iter().any(|&n| n > 1), "{messages:?}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout_and_a_closed_port_a_network_value() {
        let zone = Name::from_ascii("acme.lab.");
        let name = key_name();
        let ops = vec![UpdateOp::DeleteRrset {
            owner: zone.clone(),
            rtype: RecordType::TXT,
        }];
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut req = UpdateRequest {
            server: addr,
            zone: &zone,
            ops: &ops,
            key: WireKey {
                name: &name,
                algorithm: "hmac-sha256",
                secret: b"secret",
            },
            timeout: Duration::from_millis(200),
            sign_time: None,
        };
        let r = send_update(&req).await;
        assert_eq!(r.outcome, UpdateOutcome::Timeout);
        assert!(r.elapsed < Duration::from_secs(2));
        drop(listener);
        req.timeout = Duration::from_secs(2);
        let r = send_update(&req).await;
        assert!(matches!(r.outcome, UpdateOutcome::Network(_)), "{r:?}");
    }
}

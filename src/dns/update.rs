//! RFC 2136 dynamic updates signed with TSIG (RFC 8945): the wire part.
//!
//! Besides `transport.rs`, this is the only file that knows hickory. [`send_update`] builds
//! one UPDATE message for a zone, signs it, sends it over TCP with a time bound, checks
//! the TSIG of the reply and returns an [`UpdateResult`] whose [`UpdateOutcome`] is a value:
//! a refusal by the server is never an error here.

use crate::dns::types::{Name, RecordType};
use crate::dns::{Rcode, TsigError};
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
    Network(String),
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
pub async fn send_update(req: &UpdateRequest<'_>) -> UpdateResult {
    let start = Instant::now();
    let signed_at = req.sign_time.unwrap_or_else(now_secs);
    let outcome = match build_signed(req, signed_at) {
        Err(e) => UpdateOutcome::Network(format!("cannot build the update: {e}")),
        Ok((id, wire, signer, request_mac)) => {
            match tokio::time::timeout(req.timeout, super::tcp::exchange(req.server, &wire)).await {
                Err(_) => UpdateOutcome::Timeout,
                Ok(Err(e)) => UpdateOutcome::Network(e.to_string()),
                Ok(Ok(reply)) => judge_reply(&reply, id, &signer, &request_mac),
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
fn judge_reply(wire: &[u8], id: u16, signer: &TSigner, request_mac: &[u8]) -> UpdateOutcome {
    let msg = match Message::from_vec(wire) {
        Ok(m) => m,
        Err(e) => return UpdateOutcome::Network(format!("malformed reply: {e}")),
    };
    if msg.metadata.id != id || msg.metadata.message_type != MessageType::Response {
        return UpdateOutcome::Network("the reply does not match the update (id)".into());
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

//! The one place that knows hickory: our [`Transport`] trait and its UDP/TCP implementation.
//!
//! `ask(server, question, flags)` sends one query and returns an [`Exchange`] whose
//! [`Outcome`] is a value (NXDOMAIN, SERVFAIL, timeout, ...), never an error.

use super::outcome::{Ede, Exchange, Outcome, QueryFlags, Question, Rcode, Reply};
use super::types::{Caa, Name, RData, Record, Soa};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name as HName, RData as HRData, Record as HRecord, RecordType as HType};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
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
}

/// Settings of the network transport.
#[derive(Clone, Debug)]
pub struct NetOptions {
    /// Per attempt.
    pub timeout: Duration,
    /// UDP attempts before giving up with [`Outcome::Timeout`] (at least 1).
    pub attempts: u32,
    /// Queries in flight at once, over all tasks.
    pub max_inflight: usize,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            timeout: Duration::from_millis(2000),
            attempts: 2,
            max_inflight: 64,
        }
    }
}

/// UDP first, TCP when the answer is truncated. EDNS0 with a 1232-octet buffer.
#[derive(Clone)]
pub struct NetTransport {
    opts: NetOptions,
    permits: Arc<Semaphore>,
}

impl NetTransport {
    pub fn new(opts: NetOptions) -> Self {
        let permits = Arc::new(Semaphore::new(opts.max_inflight.max(1)));
        NetTransport { opts, permits }
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
        let opts = self.opts.clone();
        let permits = self.permits.clone();
        async move {
            let _permit = permits.acquire_owned().await.ok();
            let start = Instant::now();
            let outcome = exchange(server, &question, flags, &opts).await;
            Exchange {
                server,
                question,
                flags,
                elapsed: start.elapsed(),
                outcome,
            }
        }
    }
}

async fn exchange(
    server: SocketAddr,
    q: &Question,
    flags: QueryFlags,
    opts: &NetOptions,
) -> Outcome {
    let id: u16 = rand::random();
    let sent = if flags.mixed_case {
        mixed_case(q.name.as_str())
    } else {
        q.name.as_str().to_string()
    };
    let wire = match encode_query(id, &sent, q, flags) {
        Ok(w) => w,
        Err(e) => return Outcome::Network(format!("cannot encode {q}: {e}")),
    };
    if flags.tcp {
        return match tokio::time::timeout(opts.timeout, tcp_once(server, &wire, id, q)).await {
            Ok(Ok(m)) => Outcome::classify(finish(m, true, flags, &sent)),
            Ok(Err(e)) => Outcome::Network(e),
            Err(_) => Outcome::Timeout,
        };
    }
    let mut last = Outcome::Timeout;
    for _ in 0..opts.attempts.max(1) {
        match tokio::time::timeout(opts.timeout, udp_once(server, &wire, id, q)).await {
            Ok(Ok(msg)) => {
                if msg.metadata.truncation {
                    return match tokio::time::timeout(opts.timeout, tcp_once(server, &wire, id, q))
                        .await
                    {
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
                    return Box::pin(exchange(server, q, plain, opts)).await;
                }
                return out;
            }
            Ok(Err(e)) => return Outcome::Network(e),
            Err(_) => last = Outcome::Timeout,
        }
    }
    last
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
    let echo = msg.queries.first().map(|hq| hq.name().to_ascii());
    let mut r = to_reply(msg, via_tcp);
    if flags.mixed_case {
        r.qname_case_kept =
            Some(echo.is_some_and(|e| e.trim_end_matches('.') == sent.trim_end_matches('.')));
    }
    r
}

fn encode_query(id: u16, name: &str, q: &Question, flags: QueryFlags) -> Result<Vec<u8>, String> {
    let name = HName::from_ascii(name).map_err(|e| e.to_string())?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = flags.recursion_desired;
    msg.metadata.checking_disabled = flags.checking_disabled;
    msg.add_query(Query::query(name, HType::from(q.rtype.code())));
    if !flags.no_edns {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(flags.dnssec_ok);
        msg.set_edns(edns);
    }
    msg.to_vec().map_err(|e| e.to_string())
}

fn matches(msg: &Message, id: u16, q: &Question) -> bool {
    msg.metadata.id == id
        && msg.metadata.message_type == MessageType::Response
        && msg.queries.first().is_none_or(|hq| {
            u16::from(hq.query_type()) == q.rtype.code()
                && Name::from_ascii(&hq.name().to_ascii()) == q.name
        })
}

async fn udp_once(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    q: &Question,
) -> Result<Message, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    sock.send(wire).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
        // An answer that does not parse or is not ours is ignored (RFC 5452): keep waiting.
        if let Ok(msg) = Message::from_vec(&buf[..n]) {
            if matches(&msg, id, q) {
                return Ok(msg);
            }
        }
    }
}

async fn tcp_once(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    q: &Question,
) -> Result<Message, String> {
    let buf = super::tcp::exchange(server, wire).await?;
    let msg = Message::from_vec(&buf).map_err(|e| format!("malformed answer over TCP: {e}"))?;
    if matches(&msg, id, q) {
        Ok(msg)
    } else {
        Err("TCP answer does not match the question".into())
    }
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
                let (o, t) = (r.name.to_ascii(), t.0.to_ascii());
                let caps = |s: &str| s.chars().any(|c| c.is_ascii_uppercase());
                (caps(&o) || caps(&t))
                    .then(|| (name(&r.name), format!("{o} {} IN CNAME {t}", r.ttl)))
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

fn name(n: &HName) -> Name {
    Name::from_ascii(&n.to_ascii())
}

fn to_record(r: &HRecord) -> Option<Record> {
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
        let wire = encode_query(4242, q.name.as_str(), &q, flags).unwrap();
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
    async fn a_silent_server_is_a_timeout_value() {
        // A bound UDP socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let t = NetTransport::new(NetOptions {
            timeout: Duration::from_millis(100),
            attempts: 2,
            max_inflight: 4,
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert_eq!(ex.outcome, Outcome::Timeout);
        assert!(ex.elapsed >= Duration::from_millis(190), "{:?}", ex.elapsed);
        assert!(ex.elapsed < Duration::from_secs(2));
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
        });
        let q = Question::new(Name::from_ascii("example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        assert!(
            matches!(ex.outcome, Outcome::Network(_)),
            "{:?}",
            ex.outcome
        );
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
        });
        let q = Question::new(Name::from_ascii("big.example.com"), RecordType::TXT);
        let ex = t.ask(addr, &q, QueryFlags::authoritative()).await;
        let Outcome::Answer(r) = ex.outcome else {
            panic!("{:?}", ex.outcome)
        };
        assert!(r.via_tcp);
        assert_eq!(r.answers[0].data, RData::TXT(vec!["over-tcp".into()]));
    }
}

//! What one server said to one question, as a value: DNS results are never errors here.

use super::net_error::NetError;
use super::types::{Name, RData, Record, RecordType, Soa};
pub use hickory_proto::op::ResponseCode as Rcode;
pub use hickory_proto::rr::rdata::tsig::TsigError;
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// A question: name and type (class IN).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Question {
    pub name: Name,
    pub rtype: RecordType,
}

impl Question {
    pub fn new(name: Name, rtype: RecordType) -> Self {
        Question { name, rtype }
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.rtype)
    }
}

/// Header bits we set on a query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueryFlags {
    /// RD: ask a resolver to recurse. Off for authoritative servers.
    pub recursion_desired: bool,
    /// DO: ask for DNSSEC records.
    pub dnssec_ok: bool,
    /// CD: ask a validating resolver not to validate.
    pub checking_disabled: bool,
    /// Over TCP only (no UDP first).
    pub tcp: bool,
    /// Without EDNS (no OPT record).
    pub no_edns: bool,
    /// The query name in mixed case (0x20), to see whether the server keeps it.
    pub mixed_case: bool,
    /// Report a FORMERR/NOTIMP to a query with EDNS as it is, instead of asking again
    /// without EDNS as resolvers do (RFC 6891 section 7).
    pub strict_edns: bool,
}

impl QueryFlags {
    /// Flags for asking an authoritative server (no recursion).
    pub fn authoritative() -> Self {
        QueryFlags::default()
    }
    /// Flags for asking a recursive resolver.
    pub fn recursive() -> Self {
        QueryFlags {
            recursion_desired: true,
            ..Default::default()
        }
    }
}

/// An RFC 8914 Extended DNS Error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ede {
    pub code: u16,
    pub text: String,
}

/// A decoded response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    #[serde(serialize_with = "rcode_number")]
    pub rcode: Rcode,
    pub authoritative: bool,
    pub authentic_data: bool,
    pub recursion_available: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    pub ede: Vec<Ede>,
    /// The UDP answer was truncated and this one came over TCP.
    pub via_tcp: bool,
    /// The answer carried an OPT record (EDNS).
    pub edns: bool,
    /// Asked with a mixed-case name: did the answer's question keep that case exactly?
    pub qname_case_kept: Option<bool>,
    /// CNAME records of the answer section whose owner or target was published with
    /// capitals: (owner, the record as published).
    pub cname_case: Vec<(Name, String)>,
}

impl Reply {
    /// The SOA in the authority section, with its owner (the zone).
    pub fn soa(&self) -> Option<(&Name, &Soa, u32)> {
        self.authority.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some((&r.name, s, r.ttl)),
            _ => None,
        })
    }

    /// RFC 2308: a negative answer is cached for min(SOA TTL, SOA MINIMUM).
    pub fn negative_ttl(&self) -> Option<u32> {
        self.soa().map(|(_, s, ttl)| ttl.min(s.minimum))
    }

    /// NS records in the authority section (a referral), as (zone, name server).
    pub fn referral(&self) -> Vec<(&Name, &Name)> {
        self.authority
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some((&r.name, ns)),
                _ => None,
            })
            .collect()
    }

    /// Records of the answer section with this owner and type.
    pub fn answers_of(&self, name: &Name, rtype: RecordType) -> Vec<&Record> {
        self.answers
            .iter()
            .filter(|r| &r.name == name && r.rtype() == rtype)
            .collect()
    }
}

/// What came of one question to one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "reply")]
pub enum Outcome {
    /// NOERROR with records in the answer section (data or a CNAME chain).
    Answer(Reply),
    /// NOERROR, no answer records, not a referral (RFC 2308 NODATA).
    NoData(Reply),
    /// NXDOMAIN (the answer section may still hold the CNAME chain that led there).
    NxDomain(Reply),
    /// No answer, not authoritative, NS records in the authority section.
    Referral(Reply),
    ServFail(Reply),
    Refused(Reply),
    /// FORMERR, NOTIMP, NOTAUTH, ... by number.
    OtherRcode(Reply),
    /// No answer within the timeout (all attempts).
    Timeout,
    /// The UDP answer was truncated and the TCP retry failed.
    Truncated,
    /// The network said no (port unreachable, no route, ...), or the answer did not parse.
    Network(NetError),
}

impl Outcome {
    /// A short label for tables and JSON: `NOERROR`, `NXDOMAIN`, `NODATA`, `SERVFAIL`, ...
    pub fn label(&self) -> String {
        self.brief().label()
    }

    /// What the server said, without the records: the kind of answer, the first EDE of a
    /// SERVFAIL, the network error (see [`Brief`]).
    pub fn brief(&self) -> Brief {
        match self {
            Outcome::Answer(_) => Brief::NoError,
            Outcome::NoData(_) => Brief::NoData,
            Outcome::NxDomain(_) => Brief::NxDomain,
            Outcome::Referral(_) => Brief::Referral,
            Outcome::ServFail(r) => Brief::ServFail {
                ede: r.ede.first().cloned(),
            },
            Outcome::Refused(_) => Brief::Refused,
            Outcome::OtherRcode(r) => Brief::Rcode(r.rcode),
            Outcome::Timeout => Brief::Timeout,
            Outcome::Truncated => Brief::Truncated,
            Outcome::Network(e) => Brief::Network(e.clone()),
        }
    }

    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Outcome::Answer(r)
            | Outcome::NoData(r)
            | Outcome::NxDomain(r)
            | Outcome::Referral(r)
            | Outcome::ServFail(r)
            | Outcome::Refused(r)
            | Outcome::OtherRcode(r) => Some(r),
            Outcome::Timeout | Outcome::Truncated | Outcome::Network(_) => None,
        }
    }

    /// True when some server answered at all (any rcode).
    pub fn responded(&self) -> bool {
        self.reply().is_some()
    }

    /// True when the server answered with data or a clean negative answer, authoritatively
    /// or not: the kinds of answer a chain can be read from.
    pub fn is_usable(&self) -> bool {
        matches!(
            self,
            Outcome::Answer(_) | Outcome::NoData(_) | Outcome::NxDomain(_)
        )
    }

    /// Classifies a decoded reply.
    pub fn classify(reply: Reply) -> Outcome {
        match reply.rcode {
            Rcode::NoError => {
                if !reply.answers.is_empty() {
                    Outcome::Answer(reply)
                } else if !reply.authoritative && !reply.referral().is_empty() {
                    Outcome::Referral(reply)
                } else {
                    Outcome::NoData(reply)
                }
            }
            Rcode::ServFail => Outcome::ServFail(reply),
            Rcode::NXDomain => Outcome::NxDomain(reply),
            Rcode::Refused => Outcome::Refused(reply),
            _ => Outcome::OtherRcode(reply),
        }
    }
}

/// What one server said to one question, without the records: the data that events and
/// reports carry. `Display` gives the label with its useful detail (`NOERROR`,
/// `SERVFAIL (EDE 9 DNSKEY missing)`, `NETWORK (connection refused)`, `TIMEOUT`), and
/// serialises as that text; [`Brief::label`] gives the label alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Brief {
    /// NOERROR with records in the answer section.
    NoError,
    /// NOERROR, no answer records, not a referral.
    NoData,
    NxDomain,
    Referral,
    /// SERVFAIL, with the first Extended DNS Error it carried.
    ServFail {
        ede: Option<Ede>,
    },
    Refused,
    /// Any other RCODE (FORMERR, NOTIMP, NOTAUTH, ...).
    Rcode(Rcode),
    Timeout,
    Truncated,
    /// The network said no, or the answer did not parse.
    Network(NetError),
    /// The question was not put to this server (a resolver is asked only once the
    /// authoritative chain is ready): `NOT_ASKED`.
    NotAsked,
}

impl Brief {
    /// The short label: `NOERROR`, `NXDOMAIN`, `NODATA`, `SERVFAIL`, `TIMEOUT`, ...
    pub fn label(&self) -> String {
        match self {
            Brief::NoError => "NOERROR".into(),
            Brief::NoData => "NODATA".into(),
            Brief::NxDomain => "NXDOMAIN".into(),
            Brief::Referral => "REFERRAL".into(),
            Brief::ServFail { .. } => "SERVFAIL".into(),
            Brief::Refused => "REFUSED".into(),
            Brief::Rcode(r) => rcode_name(*r),
            Brief::Timeout => "TIMEOUT".into(),
            Brief::Truncated => "TRUNCATED".into(),
            Brief::Network(_) => "NETWORK".into(),
            Brief::NotAsked => "NOT_ASKED".into(),
        }
    }
}

impl fmt::Display for Brief {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Brief::Network(e) => write!(f, "NETWORK ({e})"),
            Brief::ServFail { ede: Some(e) } => {
                write!(f, "SERVFAIL (EDE {} {})", e.code, e.text.trim())
            }
            b => f.write_str(&b.label()),
        }
    }
}

/// A `Brief` equals its text: `Brief::NxDomain == "NXDOMAIN"`.
impl PartialEq<str> for Brief {
    fn eq(&self, other: &str) -> bool {
        let text = self.to_string();
        text == other
    }
}

impl PartialEq<&str> for Brief {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Serialize for Brief {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The mnemonic of an RCODE or TSIG error (RFC 6895 registry): `NXDOMAIN`, `BADKEY`, ...
/// (hickory's `Display` gives the long description instead).
pub fn rcode_name(rcode: Rcode) -> String {
    match rcode {
        Rcode::NoError => "NOERROR".into(),
        Rcode::FormErr => "FORMERR".into(),
        Rcode::ServFail => "SERVFAIL".into(),
        Rcode::NXDomain => "NXDOMAIN".into(),
        Rcode::NotImp => "NOTIMP".into(),
        Rcode::Refused => "REFUSED".into(),
        Rcode::YXDomain => "YXDOMAIN".into(),
        Rcode::YXRRSet => "YXRRSET".into(),
        Rcode::NXRRSet => "NXRRSET".into(),
        Rcode::NotAuth => "NOTAUTH".into(),
        Rcode::NotZone => "NOTZONE".into(),
        Rcode::BADSIG => "BADSIG".into(),
        Rcode::BADKEY => "BADKEY".into(),
        Rcode::BADTIME => "BADTIME".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The mnemonic of a TSIG error (RFC 8945): `BADSIG`, `BADKEY`, `BADTIME`, `BADTRUNC`.
pub fn tsig_error_name(e: TsigError) -> String {
    match e {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(n) => format!("TSIG-ERROR{n}"),
    }
}

/// JSON keeps the RCODE as its number.
fn rcode_number<S: serde::Serializer>(r: &Rcode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(u16::from(*r))
}

/// One question to one server and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub server: SocketAddr,
    pub question: Question,
    pub flags: QueryFlags,
    pub elapsed: Duration,
    pub outcome: Outcome,
}

impl Exchange {
    pub fn ms(&self) -> u64 {
        self.elapsed.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(rcode: u16, aa: bool) -> Reply {
        Reply {
            rcode: rcode.into(),
            authoritative: aa,
            authentic_data: false,
            recursion_available: false,
            answers: vec![],
            authority: vec![],
            additional: vec![],
            ede: vec![],
            via_tcp: false,
            edns: true,
            qname_case_kept: None,
            cname_case: vec![],
        }
    }

    #[test]
    fn classify_referral_nodata_and_negative_ttl() {
        let mut r = reply(0, false);
        r.authority.push(Record {
            name: Name::from_ascii("example.com"),
            ttl: 300,
            data: RData::NS(Name::from_ascii("ns1.example.com")),
        });
        assert!(matches!(Outcome::classify(r.clone()), Outcome::Referral(_)));
        r.authoritative = true;
        assert!(matches!(Outcome::classify(r), Outcome::NoData(_)));

        let mut nx = reply(3, true);
        nx.authority.push(Record {
            name: Name::from_ascii("example.com"),
            ttl: 3600,
            data: RData::SOA(Soa {
                mname: Name::from_ascii("ns1.example.com"),
                rname: Name::from_ascii("h.example.com"),
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 86400,
            }),
        });
        assert_eq!(nx.negative_ttl(), Some(3600));
        let o = Outcome::classify(nx);
        assert_eq!(o.label(), "NXDOMAIN");
        assert!(o.is_usable());
        assert_eq!(Outcome::classify(reply(5, false)).label(), "REFUSED");
        assert_eq!(Outcome::classify(reply(9, false)).label(), "NOTAUTH");
    }

    #[test]
    fn a_brief_shows_and_serialises_as_the_outcome_text() {
        let mut sf = reply(2, false);
        sf.ede.push(Ede {
            code: 9,
            text: " DNSKEY missing ".into(),
        });
        let cases = [
            (
                Outcome::ServFail(sf),
                "SERVFAIL (EDE 9 DNSKEY missing)",
                "SERVFAIL",
            ),
            (Outcome::ServFail(reply(2, false)), "SERVFAIL", "SERVFAIL"),
            (Outcome::NxDomain(reply(3, true)), "NXDOMAIN", "NXDOMAIN"),
            (Outcome::OtherRcode(reply(4, true)), "NOTIMP", "NOTIMP"),
            (Outcome::OtherRcode(reply(23, true)), "RCODE23", "RCODE23"),
            (Outcome::Timeout, "TIMEOUT", "TIMEOUT"),
            (
                Outcome::Network(NetError::io(
                    crate::dns::net_error::Step::Udp,
                    "192.0.2.1:53".parse().unwrap(),
                    &std::io::Error::from_raw_os_error(111),
                )),
                "NETWORK (Connection refused (os error 111))",
                "NETWORK",
            ),
            (
                Outcome::Network(NetError::Refused {
                    server: "192.0.2.1:53".parse().unwrap(),
                    tcp: false,
                }),
                "NETWORK (connection refused (no server at this address))",
                "NETWORK",
            ),
        ];
        for (o, text, label) in cases {
            let b = o.brief();
            assert_eq!(b.to_string(), text);
            assert_eq!(b.label(), label);
            assert_eq!(o.label(), label);
            assert_eq!(serde_json::to_value(&b).unwrap(), text);
            assert!(b == text);
        }
        assert_eq!(Brief::NotAsked.to_string(), "NOT_ASKED");
    }
}

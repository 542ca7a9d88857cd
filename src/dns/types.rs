//! Plain DNS values: [`RecordType`], [`Record`], [`RData`] (names are [`Name`], in `model`).
//!
//! These are ours, not hickory's, so the rest of the engine never sees the wire library.

use serde::Serialize;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use crate::model::name::Name;

/// The record types the engine asks for or reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RecordType {
    A,
    AAAA,
    NS,
    CNAME,
    SOA,
    TXT,
    CAA,
    DS,
    DNSKEY,
    /// Any other type, by number.
    Other(u16),
}

impl RecordType {
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::NS => 2,
            RecordType::CNAME => 5,
            RecordType::SOA => 6,
            RecordType::TXT => 16,
            RecordType::AAAA => 28,
            RecordType::DS => 43,
            RecordType::DNSKEY => 48,
            RecordType::CAA => 257,
            RecordType::Other(n) => n,
        }
    }

    pub fn from_code(n: u16) -> Self {
        match n {
            1 => RecordType::A,
            2 => RecordType::NS,
            5 => RecordType::CNAME,
            6 => RecordType::SOA,
            16 => RecordType::TXT,
            28 => RecordType::AAAA,
            43 => RecordType::DS,
            48 => RecordType::DNSKEY,
            257 => RecordType::CAA,
            n => RecordType::Other(n),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::Other(46) => f.write_str("RRSIG"),
            RecordType::Other(47) => f.write_str("NSEC"),
            RecordType::Other(50) => f.write_str("NSEC3"),
            RecordType::Other(n) => write!(f, "TYPE{n}"),
            t => write!(f, "{t:?}"),
        }
    }
}

/// The start of authority of a zone (RFC 1035 3.3.13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Soa {
    pub mname: Name,
    pub rname: Name,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// A CAA property (RFC 8659).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Caa {
    pub critical: bool,
    pub tag: String,
    pub value: String,
}

/// Record data the engine understands; everything else is kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum RData {
    A(Ipv4Addr),
    AAAA(Ipv6Addr),
    NS(Name),
    CNAME(Name),
    SOA(Soa),
    /// The character-strings of one TXT record, each as (lossy) UTF-8.
    TXT(Vec<String>),
    CAA(Caa),
    Other {
        rtype: u16,
        text: String,
    },
}

impl RData {
    pub fn record_type(&self) -> RecordType {
        match self {
            RData::A(_) => RecordType::A,
            RData::AAAA(_) => RecordType::AAAA,
            RData::NS(_) => RecordType::NS,
            RData::CNAME(_) => RecordType::CNAME,
            RData::SOA(_) => RecordType::SOA,
            RData::TXT(_) => RecordType::TXT,
            RData::CAA(_) => RecordType::CAA,
            RData::Other { rtype, .. } => RecordType::from_code(*rtype),
        }
    }

    /// Zone-file presentation of the data.
    pub fn to_text(&self) -> String {
        match self {
            RData::A(a) => a.to_string(),
            RData::AAAA(a) => a.to_string(),
            RData::NS(n) | RData::CNAME(n) => n.to_string(),
            RData::SOA(s) => format!(
                "{} {} {} {} {} {} {}",
                s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
            ),
            RData::TXT(parts) => parts
                .iter()
                .map(|p| format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" "),
            RData::CAA(c) => format!(
                "{} {} \"{}\"",
                if c.critical { 128 } else { 0 },
                c.tag,
                c.value
            ),
            RData::Other { text, .. } => text.clone(),
        }
    }
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    pub name: Name,
    pub ttl: u32,
    pub data: RData,
}

impl Record {
    pub fn rtype(&self) -> RecordType {
        self.data.record_type()
    }

    /// `owner TTL IN TYPE data`, as in a zone file.
    pub fn to_zone_line(&self) -> String {
        format!(
            "{} {} IN {} {}",
            self.name,
            self.ttl,
            self.rtype(),
            self.data.to_text()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_basics() {
        let n = Name::from_ascii("WWW.Example.COM");
        assert_eq!(n.as_str(), "www.example.com.");
        assert_eq!(n.parent().as_str(), "example.com.");
        assert_eq!(n.label_count(), 3);
        assert!(n.is_subdomain_of(&Name::from_ascii("example.com.")));
        assert!(!n.is_subdomain_of(&Name::from_ascii("ample.com.")));
        assert_eq!(
            n.ancestors_top_down()
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>(),
            vec!["com.", "example.com.", "www.example.com."]
        );
        assert!(Name::root().parent().is_root());
        assert_eq!(Name::root().prepend("com").as_str(), "com.");
    }

    #[test]
    fn txt_presentation_escapes() {
        let d = RData::TXT(vec!["a\"b".into(), "c".into()]);
        assert_eq!(d.to_text(), "\"a\\\"b\" \"c\"");
    }
}

//! Plain DNS values (RFC 1035 names): [`Name`], [`RecordType`], [`Record`], [`RData`].
//!
//! These are ours, not hickory's, so the rest of the engine never sees the wire library.

use serde::Serialize;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A fully-qualified, lower-case domain name in presentation form with a trailing dot
/// (`_acme-challenge.example.com.`); the root is `.`. Immutable and shared: a clone (a name
/// is copied into every hop, view and report entry) costs a reference count, not a copy.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Name(Arc::from("."))
    }

    /// Builds a name from presentation text that is already valid ASCII (as read off the
    /// wire or produced by [`crate::name::parse_input`]). Adds the trailing dot, lower-cases.
    pub fn from_ascii(s: &str) -> Self {
        let s = s.trim();
        if s.is_empty() || s == "." {
            return Self::root();
        }
        let mut out = String::with_capacity(s.len() + 1);
        out.push_str(s);
        Self::from_ascii_owned(out)
    }

    /// [`Name::from_ascii`] for a string the caller owns (no copy when it is already clean).
    pub fn from_ascii_owned(mut s: String) -> Self {
        if s.trim().len() != s.len() {
            return Self::from_ascii(&s);
        }
        if s.is_empty() || s == "." {
            return Self::root();
        }
        s.make_ascii_lowercase();
        if !s.ends_with('.') {
            s.push('.');
        }
        Name(Arc::from(s))
    }

    /// The text with its trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text without the trailing dot (the root stays `.`).
    pub fn without_dot(&self) -> &str {
        if self.is_root() {
            "."
        } else {
            &self.0[..self.0.len() - 1]
        }
    }

    pub fn is_root(&self) -> bool {
        &*self.0 == "."
    }

    /// Number of labels (the root has 0).
    pub fn label_count(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.without_dot().split('.').count()
        }
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Vec<&str> {
        if self.is_root() {
            Vec::new()
        } else {
            self.without_dot().split('.').collect()
        }
    }

    /// The parent name (the root's parent is the root).
    pub fn parent(&self) -> Name {
        match self.without_dot().split_once('.') {
            Some((_, rest)) if !self.is_root() => Name(format!("{rest}.").into()),
            _ => Name::root(),
        }
    }

    /// `label.self`.
    pub fn prepend(&self, label: &str) -> Name {
        if self.is_root() {
            Name(format!("{}.", label.to_ascii_lowercase()).into())
        } else {
            Name(format!("{}.{}", label.to_ascii_lowercase(), self.0).into())
        }
    }

    /// True when `self` is `other` or below it.
    pub fn is_subdomain_of(&self, other: &Name) -> bool {
        other.is_root()
            || self == other
            || self
                .0
                .strip_suffix(&*other.0)
                .is_some_and(|head| head.ends_with('.'))
    }

    /// The ancestors from the top (excluding the root) down to and including `self`:
    /// `www.example.com.` -> `com.`, `example.com.`, `www.example.com.`.
    pub fn ancestors_top_down(&self) -> Vec<Name> {
        let labels = self.labels();
        (0..labels.len())
            .rev()
            .map(|i| Name(format!("{}.", labels[i..].join(".")).into()))
            .collect()
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.contains(char::is_whitespace) || s.contains("..") {
            return Err(serde::de::Error::custom(format!(
                "{s:?} is not a domain name"
            )));
        }
        Ok(Name::from_ascii(&s))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({})", self.0)
    }
}

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
        assert!(n.is_subdomain_of(&n) && n.is_subdomain_of(&Name::root()));
        assert!(!Name::from_ascii("example.com").is_subdomain_of(&n));
    }

    #[test]
    fn owned_text_becomes_the_same_name() {
        for text in [
            "WWW.Example.COM",
            "www.example.com.",
            " www.example.com ",
            ".",
            "",
            "  ",
        ] {
            let owned = Name::from_ascii_owned(text.to_string());
            assert_eq!(owned, Name::from_ascii(text), "{text:?}");
        }
        assert_eq!(Name::from_ascii_owned("A.B".into()).as_str(), "a.b.");
        assert_eq!(
            serde_json::to_string(&Name::from_ascii("x.y")).unwrap(),
            "\"x.y.\""
        );
    }

    #[test]
    fn txt_presentation_escapes() {
        let d = RData::TXT(vec!["a\"b".into(), "c".into()]);
        assert_eq!(d.to_text(), "\"a\\\"b\" \"c\"");
    }
}

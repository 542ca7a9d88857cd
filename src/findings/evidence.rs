//! The evidence the rules read: the chain as the authoritative servers see it, and each
//! vantage point's view. Produced by the engine ([`crate::engine::chain`],
//! [`crate::engine::views`]), read by the rules and the report; plain data.

use crate::dns::walk::Zone;
use crate::dns::{Exchange, Name, Question};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// The outcome shown for a resolver that was not asked (no poisoning: `check` and
/// `diagnose` ask a resolver only once the authoritative view is right).
pub const NOT_ASKED: &str = "NOT_ASKED";

/// Validating resolvers give up at about this many CNAME hops.
pub const MAX_HOPS: usize = 32;

/// One CNAME record of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub owner: Name,
    pub target: Name,
    pub ttl: u32,
    /// The server that said it, and the zone it spoke for (None for a resolver's answer).
    pub server: SocketAddr,
    pub zone: Option<Name>,
    /// The record as published, when its owner or target has capitals (names compare
    /// case-insensitively; this is only shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

/// How the chain ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum End {
    /// TXT records at the end (the CA would read these).
    Txt {
        owner: Name,
        values: Vec<String>,
        ttl: u32,
    },
    /// The last name does not exist; `negative_ttl` is how long resolvers may cache that.
    NxDomain {
        owner: Name,
        zone: Option<Name>,
        negative_ttl: Option<u32>,
    },
    /// The last name exists without a TXT.
    NoData {
        owner: Name,
        zone: Option<Name>,
        negative_ttl: Option<u32>,
    },
    /// A hop points back at a name already in the chain.
    Loop { at: Name },
    /// More than [`MAX_HOPS`] hops.
    TooLong,
    /// No server of the zone gave a usable answer (see the exchanges).
    Failed { owner: Name, zone: Option<Name> },
}

impl End {
    /// The name the chain ends at, if any.
    pub fn owner(&self) -> Option<&Name> {
        match self {
            End::Txt { owner, .. }
            | End::NxDomain { owner, .. }
            | End::NoData { owner, .. }
            | End::Failed { owner, .. } => Some(owner),
            End::Loop { at } => Some(at),
            End::TooLong => None,
        }
    }
}

/// The servers of one zone asked one question.
#[derive(Clone, Debug)]
pub struct Step {
    pub zone: Arc<Zone>,
    pub question: Question,
    /// Each server's exchange, in the zone's server order.
    pub exchanges: Vec<(Name, Exchange)>,
    /// The authoritative servers that answered gave different data.
    pub disagree: bool,
    /// The first ancestor the walk found missing (NXDOMAIN), if any.
    pub missing_at: Option<Name>,
    /// No server answered with the AA bit; the chain was read from an answer without it,
    /// as unbound (the CA's resolver) does.
    pub lame: bool,
}

/// The chain as the authoritative servers see it.
#[derive(Clone, Debug)]
pub struct Chain {
    pub start: Name,
    pub hops: Vec<Hop>,
    pub end: End,
    pub steps: Vec<Step>,
}

impl Chain {
    /// The last CNAME target (where the TXT must be written).
    pub fn target(&self) -> Option<&Name> {
        self.hops.last().map(|h| &h.target)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VantageKind {
    Authoritative,
    Resolver,
    System,
}

/// A recursive resolver to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vantage {
    pub name: String,
    pub kind: VantageKind,
    pub addr: SocketAddr,
    /// The resolver the CA uses (config `ca = true`).
    pub ca: bool,
}

/// What one resolver answered, read as a chain.
#[derive(Clone, Debug)]
pub struct ResolverView {
    pub vantage: Vantage,
    pub exchange: Exchange,
    pub hops: Vec<Hop>,
    /// None when the answer did not settle the chain (SERVFAIL, timeout, ...).
    pub end: Option<End>,
    /// Asked but not waited for: in this run the resolver already timed out, again and
    /// again, waiting for this dead authoritative server of the chain (the exchange is
    /// then a timeout as long as its last real one).
    pub not_waited: Option<std::net::SocketAddr>,
}

//! The iterative delegation walk from the root hints: zone cuts and their servers (with
//! glue, IPv4 and IPv6), asked directly, with no resolver cache in the way.
//!
//! Cuts are found label by label (an `NS` question per ancestor, as with QNAME
//! minimisation), which also finds a child zone served by its parent's own server; the
//! chain skips the last of them when its own TXT question already settles it
//! (`engine::chain::settles_walk`). Every
//! result is memoised, so a thousand names under one zone cost one walk of the shared part;
//! a walk lives no longer than the smallest TTL it rests on and the current run or poll
//! round ([`Walker::epoch`]).

use super::outcome::{Exchange, Outcome, QueryFlags, Question};
use super::transport::Transport;
use super::types::{Name, RData, RecordType};
use crate::dns::memo::{Epoch, Memo};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// One address of one name server of a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub name: Name,
    pub addr: SocketAddr,
}

/// A zone: its apex and the addresses of its name servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub apex: Name,
    pub servers: Vec<Server>,
    /// NS names for which no address could be found.
    pub unresolved: Vec<Name>,
    /// The NS names the parent's referral gave (empty for the root hints).
    pub parent_ns: Vec<Name>,
    /// The glue addresses the parent's referral gave, per NS name.
    pub glue: Vec<(Name, IpAddr)>,
}

/// Where the walk for one name ended.
#[derive(Clone, Debug)]
pub struct Walk {
    /// The deepest zone found at or above the name.
    pub zone: Arc<Zone>,
    /// The first ancestor (or the name itself) that the zone says does not exist.
    pub missing_at: Option<Name>,
    /// No server of `zone` gave a usable answer while looking below it.
    pub unresponsive: bool,
    /// The failed exchanges (timeouts, refusals, SERVFAIL, ...) met on the way.
    pub failures: Vec<Exchange>,
    /// The smallest TTL of the records the walk rests on (None: no record, e.g. the
    /// root hints or a walk that met only failures).
    pub ttl: Option<u32>,
}

fn walk_ttl(w: &Arc<Walk>) -> Option<Duration> {
    w.ttl.map(|t| Duration::from_secs(t.into()))
}

fn min_ttl(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The smallest TTL of a reply's records (a negative answer counts as its negative TTL).
fn reply_ttl(r: &super::outcome::Reply) -> Option<u32> {
    let records = r
        .answers
        .iter()
        .chain(r.additional.iter())
        .chain(
            r.authority
                .iter()
                .filter(|a| !matches!(a.data, RData::SOA(_))),
        )
        .map(|a| a.ttl)
        .min();
    min_ttl(records, r.negative_ttl())
}

/// The root and the top-level zones: infrastructure, not the user's to fix.
pub fn is_infrastructure(apex: &Name) -> bool {
    apex.label_count() <= 1
}

/// An answer that no real root or TLD server gives, asked as one (RD off): data or a
/// negative answer without the AA bit (where a referral or an authoritative answer must
/// be), or an NXDOMAIN/NODATA without the SOA of the zone. Seen when the network answers
/// DNS itself (a transparent proxy, a captive portal, a filtering middlebox).
pub fn forged_by_network(apex: &Name, ex: &Exchange) -> bool {
    if !is_infrastructure(apex) || ex.flags.recursion_desired {
        return false;
    }
    match &ex.outcome {
        Outcome::Answer(r) => !r.authoritative,
        Outcome::NoData(r) | Outcome::NxDomain(r) => !r.authoritative || r.soa().is_none(),
        Outcome::Referral(_) => referral_loops(apex, ex),
        _ => false,
    }
}

/// A referral that leads nowhere, asked of a server of `apex`: it refers to `apex` itself
/// or to a zone above it (a referral must go down), or its glue names the very server
/// that gave it as a server of the child (which would only refer again: a server of the
/// child answers for it authoritatively). Following it would loop, so the walk never
/// does: it is no usable answer, and never the way to an authoritative one.
pub fn referral_loops(apex: &Name, ex: &Exchange) -> bool {
    let Outcome::Referral(r) = &ex.outcome else {
        return false;
    };
    let cuts = r.referral();
    let upward = cuts
        .iter()
        .any(|(owner, _)| *owner == apex || !owner.is_subdomain_of(apex));
    let to_itself = r.additional.iter().any(|g| {
        let ip = match g.data {
            RData::A(a) => IpAddr::V4(a),
            RData::AAAA(a) => IpAddr::V6(a),
            _ => return false,
        };
        SocketAddr::new(ip, 53) == ex.server && cuts.iter().any(|(_, ns)| **ns == g.name)
    });
    upward || to_itself
}

/// The memoising walker.
pub struct Walker<T: Transport> {
    transport: Arc<T>,
    roots: Vec<SocketAddr>,
    walks: Memo<Name, Arc<Walk>>,
    /// Per server and run: whether it drops queries with EDNS but answers plain ones,
    /// learnt at the first contact, as resolvers remember it.
    edns_broken: Memo<SocketAddr, bool>,
    timeout: Duration,
}

impl<T: Transport> Walker<T> {
    /// `timeout` bounds the lookup of name-server addresses that came without glue.
    pub fn new(transport: Arc<T>, roots: Vec<SocketAddr>, timeout: Duration) -> Self {
        let walks = Memo::new(Epoch::default(), walk_ttl);
        let edns_broken = Memo::new(walks.epoch().clone(), |_| None);
        Walker {
            transport,
            roots,
            walks,
            edns_broken,
            timeout,
        }
    }

    pub fn transport(&self) -> &Arc<T> {
        &self.transport
    }

    /// Asks an authoritative server (RD off) as a resolver does: a server that drops
    /// queries with EDNS but answers plain ones is asked without EDNS (RFC 6891 section 7
    /// fallback); the exchange then has `no_edns` set, which the rules report as
    /// `SERVER_EDNS_BROKEN` instead of a dead server.
    ///
    /// What a server does is learnt once per run, at its first contact, by one probe (the
    /// question with and without EDNS) that runs beside the caller's own question: a dead
    /// server costs no second timeout, and later questions to it still fail fast.
    pub async fn ask_auth(&self, server: SocketAddr, q: &Question) -> Exchange {
        let plain = QueryFlags {
            no_edns: true,
            ..QueryFlags::authoritative()
        };
        let probe = q.clone();
        let t = &self.transport;
        let (ex, broken) = futures::future::join(
            t.ask(server, q, QueryFlags::authoritative()),
            self.edns_broken.get_or_init(server, || async move {
                let (with, without) = futures::future::join(
                    t.ask(server, &probe, QueryFlags::authoritative()),
                    t.ask(server, &probe, plain),
                )
                .await;
                matches!(with.outcome, Outcome::Timeout) && without.outcome.responded()
            }),
        )
        .await;
        if broken && matches!(ex.outcome, Outcome::Timeout) {
            return t.ask(server, q, plain).await;
        }
        ex
    }

    /// The run or round the memoised walks belong to; advance it to walk again.
    pub fn epoch(&self) -> &Epoch {
        self.walks.epoch()
    }

    /// Forgets the walks of `names` (see [`Memo::forget`]): the walks above them, the
    /// zone cuts that other names share, stay.
    pub fn forget<'a>(&self, names: impl IntoIterator<Item = &'a Name>) {
        for n in names {
            self.walks.forget(n);
        }
    }

    /// Whether the walk of `name` is memoised.
    #[cfg(test)]
    pub fn holds(&self, name: &Name) -> bool {
        self.walks.holds(name)
    }

    /// The zone that holds `name`.
    pub fn zone_of(&self, name: Name) -> BoxFuture<'_, Arc<Walk>> {
        async move {
            self.walks
                .get_or_init(name.clone(), || self.compute(name))
                .await
        }
        .boxed()
    }

    async fn compute(&self, name: Name) -> Arc<Walk> {
        if name.is_root() {
            return Arc::new(Walk {
                zone: Arc::new(Zone {
                    apex: Name::root(),
                    servers: self
                        .roots
                        .iter()
                        .map(|a| Server {
                            name: Name::from_ascii("root-hint"),
                            addr: *a,
                        })
                        .collect(),
                    unresolved: vec![],
                    parent_ns: vec![],
                    glue: vec![],
                }),
                missing_at: None,
                unresponsive: false,
                failures: vec![],
                ttl: None,
            });
        }
        let parent = self.zone_of(name.parent()).await;
        if parent.missing_at.is_some() || parent.unresponsive {
            return parent;
        }
        let zone = parent.zone.clone();
        let q = Question::new(name.clone(), RecordType::NS);
        let (found, failures) = self.ask_zone(&zone, &q).await;
        let Some(ex) = found else {
            // Only answers without the AA bit: a validating resolver such as unbound (the
            // CA's) still accepts a non-referral answer with data, so the name is read as
            // lying in this zone; the chain then reports the servers as lame.
            let non_aa = failures.iter().any(|e| {
                matches!(e.outcome, Outcome::Answer(_) | Outcome::NoData(_))
                    && e.outcome.reply().is_some_and(|r| r.referral().is_empty())
            });
            return Arc::new(Walk {
                zone,
                missing_at: None,
                unresponsive: !non_aa,
                failures,
                ttl: parent.ttl,
            });
        };
        let reply = ex.outcome.reply().expect("usable outcome has a reply");
        let ttl = min_ttl(parent.ttl, reply_ttl(reply));
        let ns_records: Vec<Name> = match &ex.outcome {
            Outcome::Referral(r) => r
                .referral()
                .into_iter()
                .filter(|(owner, _)| **owner == name)
                .map(|(_, ns)| ns.clone())
                .collect(),
            Outcome::Answer(r) => r
                .answers
                .iter()
                .filter(|rec| rec.name == name)
                .filter_map(|rec| match &rec.data {
                    RData::NS(ns) => Some(ns.clone()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        // An alias is not a cut, and an NXDOMAIN that came after a CNAME at the name is
        // about the CNAME's target, not about the name.
        let is_alias = reply
            .answers
            .iter()
            .any(|r| r.name == name && matches!(r.data, RData::CNAME(_)));
        if matches!(ex.outcome, Outcome::NxDomain(_)) && !is_alias {
            return Arc::new(Walk {
                zone,
                missing_at: Some(name),
                unresponsive: false,
                failures,
                ttl,
            });
        }
        if ns_records.is_empty() {
            // No cut here: the name lives in the parent's zone.
            return Arc::new(Walk {
                zone,
                missing_at: None,
                unresponsive: false,
                failures,
                ttl,
            });
        }
        // A cut: collect addresses from glue, else look them up (out of bailiwick only).
        let mut servers = Vec::new();
        let mut unresolved = Vec::new();
        let mut glue_seen = Vec::new();
        let parent_ns = dedup(ns_records);
        for ns in parent_ns.clone() {
            let glue: Vec<IpAddr> = reply
                .additional
                .iter()
                .chain(reply.answers.iter())
                .filter(|r| r.name == ns)
                .filter_map(|r| match r.data {
                    RData::A(a) => Some(IpAddr::V4(a)),
                    RData::AAAA(a) => Some(IpAddr::V6(a)),
                    _ => None,
                })
                .collect();
            glue_seen.extend(glue.iter().map(|ip| (ns.clone(), *ip)));
            let addrs = if !glue.is_empty() {
                glue
            } else if ns.is_subdomain_of(&name) {
                vec![] // in bailiwick without glue: cannot be found without the zone itself
            } else {
                tokio::time::timeout(self.timeout * 4, self.addresses_of(ns.clone()))
                    .await
                    .unwrap_or_default()
            };
            if addrs.is_empty() {
                unresolved.push(ns.clone());
            }
            for ip in addrs {
                servers.push(Server {
                    name: ns.clone(),
                    addr: SocketAddr::new(ip, 53),
                });
            }
        }
        Arc::new(Walk {
            zone: Arc::new(Zone {
                apex: name,
                servers,
                unresolved,
                parent_ns,
                glue: glue_seen,
            }),
            missing_at: None,
            unresponsive: false,
            failures,
            ttl,
        })
    }

    /// Asks the zone's servers `q` until one gives a usable answer (a referral, or an
    /// authoritative answer): the first server alone, then, if it fails, all the others at
    /// once (so that a zone with dead servers, or the 26 root addresses on a network
    /// without a route, costs about one timeout, not one per server). Returns that answer
    /// and the failed exchanges, in server order. An answer forged by the network
    /// ([`forged_by_network`]) stops the search: it is returned among the failures.
    async fn ask_zone(&self, zone: &Zone, q: &Question) -> (Option<Exchange>, Vec<Exchange>) {
        let usable = |ex: &Exchange| match &ex.outcome {
            _ if forged_by_network(&zone.apex, ex) => false,
            Outcome::Referral(_) => !referral_loops(&zone.apex, ex),
            Outcome::Answer(r) | Outcome::NoData(r) | Outcome::NxDomain(r) => r.authoritative,
            _ => false,
        };
        let ask = |s: &Server| self.ask_auth(s.addr, q);
        let Some((first, rest)) = zone.servers.split_first() else {
            return (None, vec![]);
        };
        let ex = ask(first).await;
        if usable(&ex) {
            return (Some(ex), vec![]);
        }
        let mut failures = vec![ex];
        if forged_by_network(&zone.apex, &failures[0]) {
            return (None, failures);
        }
        let others = futures::future::join_all(rest.iter().map(ask)).await;
        let mut found = None;
        for ex in others {
            if found.is_none() && usable(&ex) {
                found = Some(ex);
            } else if found.is_none() {
                let forged = forged_by_network(&zone.apex, &ex);
                failures.push(ex);
                if forged {
                    return (None, failures);
                }
            }
        }
        (found, failures)
    }

    /// Asks a resolver `q` again with checking disabled (CD): a SERVFAIL that turns into an
    /// answer this way is a DNSSEC validation failure.
    pub async fn ask_checking_disabled(&self, resolver: SocketAddr, q: &Question) -> Exchange {
        let flags = QueryFlags {
            checking_disabled: true,
            ..QueryFlags::recursive()
        };
        self.transport.ask(resolver, q, flags).await
    }

    /// Asks the servers in turn until one answers authoritatively; that exchange.
    pub async fn first_authoritative(&self, servers: &[Server], q: &Question) -> Option<Exchange> {
        for s in servers {
            let ex = self.ask_auth(s.addr, q).await;
            if ex.outcome.reply().is_some_and(|r| r.authoritative) {
                return Some(ex);
            }
        }
        None
    }

    /// A and AAAA of a host name, asked of its own zone's servers.
    pub async fn addresses_of(&self, host: Name) -> Vec<IpAddr> {
        let walk = self.zone_of(host.clone()).await;
        if walk.missing_at.is_some() {
            return vec![];
        }
        let mut out = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            let q = Question::new(host.clone(), rtype);
            if let Some(ex) = self.first_authoritative(&walk.zone.servers, &q).await {
                let r = ex.outcome.reply().expect("authoritative has a reply");
                out.extend(r.answers.iter().filter(|a| a.name == host).filter_map(
                    |a| match a.data {
                        RData::A(ip) => Some(IpAddr::V4(ip)),
                        RData::AAAA(ip) => Some(IpAddr::V6(ip)),
                        _ => None,
                    },
                ));
            }
        }
        out
    }
}

fn dedup(mut v: Vec<Name>) -> Vec<Name> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|n| seen.insert(n.clone()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::outcome::{Rcode, Reply};
    use crate::dns::types::Record;

    fn referral(server: &str, apex_asked: &str, owner: &str, glue: &str) -> Exchange {
        let rec = |name: &str, data: RData| Record {
            name: Name::from_ascii(name),
            ttl: 3600,
            data,
        };
        let reply = Reply {
            rcode: Rcode::NoError,
            authoritative: false,
            authentic_data: false,
            recursion_available: false,
            answers: vec![],
            authority: vec![rec(owner, RData::NS(Name::from_ascii("ns.evil")))],
            additional: vec![rec("ns.evil", RData::A(glue.parse().unwrap()))],
            ede: vec![],
            via_tcp: false,
            edns: true,
            qname_case_kept: None,
            cname_case: vec![],
        };
        Exchange {
            server: server.parse().unwrap(),
            question: Question::new(Name::from_ascii(apex_asked), RecordType::NS),
            flags: QueryFlags::authoritative(),
            elapsed: Duration::from_millis(1),
            outcome: Outcome::Referral(reply),
        }
    }

    /// A referral to the zone asked or above it, or with glue naming the server that gave
    /// it, loops; a referral down to other servers does not. At the root or a TLD a looping
    /// referral is what no real server gives (the network's doing).
    #[test]
    fn referral_loops_upward_or_back_to_the_same_server() {
        let root = Name::root();
        let tld = Name::from_ascii("test");
        let up = referral("127.0.0.81:53", "test", ".", "127.0.0.81");
        assert!(referral_loops(&root, &up));
        assert!(referral_loops(&tld, &up));
        assert!(forged_by_network(&root, &up));
        let same = referral("127.0.0.5:53", "example.test", "test", "127.0.0.9");
        assert!(referral_loops(&tld, &same), "to the zone asked");
        let to_itself = referral("127.0.0.81:53", "test", "test", "127.0.0.81");
        assert!(referral_loops(&root, &to_itself));
        let down = referral("127.0.0.10:53", "test", "test", "127.0.0.11");
        assert!(!referral_loops(&root, &down));
        assert!(!forged_by_network(&root, &down));
        let deeper = referral(
            "127.0.0.11:53",
            "example.test",
            "example.test",
            "127.0.0.12",
        );
        assert!(!referral_loops(&tld, &deeper));
    }
}

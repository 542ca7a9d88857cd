//! An in-memory DNS world behind our [`Transport`]: zones built from zone text, servers
//! that serve them (with faults), and resolvers that recurse in the world. Nothing is sent
//! on the network; 127.x addresses are only identities. Walk, chain, check, diagnose and
//! the rules get fast tests from it, and a generator of setups can drive it.
//!
//! It is a second opinion, not the truth: where it disagrees with a real validating
//! resolver (unbound in the lab), the real resolver wins and this world gets fixed.
//!
//! An authoritative server answers like knot: the deepest zone it serves that holds the
//! name; a referral (AA off, glue in the additional section) below a cut; CNAMEs chased
//! only within that zone (across every zone it serves with [`Fault::CrossZone`], as
//! PowerDNS does with `resolve-across-zones=yes`); NXDOMAIN and NODATA with the SOA;
//! wildcards (RFC 4592) and DNAME (RFC 6672); REFUSED for a name in no zone it serves.
//! A resolver resolves iteratively from the roots, believes a record only from the
//! servers of the zone it belongs to, retries without EDNS, may keep negative answers
//! (until [`World::flush`]) and may "validate": a zone marked bogus on the way gives
//! SERVFAIL (EDE 6) unless asked with CD.

use super::net_error::NetError;
use super::outcome::{Ede, Exchange, Outcome, QueryFlags, Question, Rcode, Reply};
use super::transport::Transport;
use super::types::{Name, RData, Record, RecordType};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// The restarts a resolver of the world allows (one per CNAME hop): unbound's and BIND's
/// `max-query-restarts` default.
const RESTARTS: usize = 11;

/// How a server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Answers every question REFUSED.
    Refused,
    /// Never answers.
    Timeout,
    /// Answers every question SERVFAIL.
    ServFail,
    /// Answers, but without the AA bit.
    NoAa,
    /// Drops every query that carries EDNS; answers the ones without.
    DropsEdns,
    /// Truncates every UDP answer (TC): the answer needs TCP.
    Truncates,
    /// Does not answer over TCP.
    NoTcp,
    /// A resolver still busy when first asked: its first question times out, the later
    /// ones are answered (it went on resolving, as unbound does behind a dead server).
    TimeoutOnce,
    /// Answers from every zone it serves, across zones, as PowerDNS does with
    /// `resolve-across-zones=yes`: a CNAME into another of its zones is followed, and
    /// the target's records come in the same answer.
    CrossZone,
    /// Answers every question with a referral to the root, `. NS a.root.evil.`, whose glue
    /// is this server itself (a hostile root: the walk never gets anywhere).
    SelfReferral,
}

/// How a resolver of the world behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolverOptions {
    /// Keeps negative answers (NXDOMAIN, NODATA) until [`World::flush`].
    pub negative_cache: bool,
    /// Fails (SERVFAIL, EDE 6) on a zone marked bogus, unless asked with CD.
    pub validating: bool,
    /// Its SERVFAIL carries no Extended DNS Error (no zone named).
    pub no_ede: bool,
}

/// A zone text that did not parse.
#[derive(Debug, thiserror::Error)]
#[error("zone {origin}: {message}")]
pub struct WorldError {
    pub origin: String,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
struct ZoneData {
    /// Records by owner (lower case).
    records: BTreeMap<Name, Vec<Record>>,
    /// DNAME targets by owner.
    dnames: BTreeMap<Name, Name>,
}

impl ZoneData {
    fn at(&self, name: &Name, rtype: RecordType) -> Vec<Record> {
        self.records
            .get(name)
            .map(|v| v.iter().filter(|r| r.rtype() == rtype).cloned().collect())
            .unwrap_or_default()
    }

    fn cname(&self, name: &Name) -> Option<Record> {
        self.at(name, RecordType::CNAME).into_iter().next()
    }

    /// The name exists: it owns records, or names below it do (an empty non-terminal).
    fn exists(&self, name: &Name) -> bool {
        self.dnames.contains_key(name) || self.records.keys().any(|k| k.is_subdomain_of(name))
    }
}

#[derive(Clone, Debug, Default)]
struct ServerConf {
    zones: BTreeSet<Name>,
    faults: HashSet<Fault>,
}

#[derive(Default)]
struct State {
    /// (resolver, question) -> the negative answer it keeps.
    negative: HashMap<(IpAddr, Question), Outcome>,
    /// Every question asked, in order: (server, question, flags).
    log: Vec<(SocketAddr, Question, QueryFlags)>,
}

/// The world. Build it, then hand it to `Engine::with_transport` (it is the transport).
#[derive(Default)]
pub struct World {
    zones: BTreeMap<Name, ZoneData>,
    servers: HashMap<IpAddr, ServerConf>,
    resolvers: HashMap<IpAddr, ResolverOptions>,
    bogus: BTreeSet<Name>,
    /// What a timeout costs (reported as the exchange's elapsed time; nothing waits).
    pub timeout: Duration,
    state: Mutex<State>,
}

fn ip(addr: &str) -> IpAddr {
    addr.parse()
        .unwrap_or_else(|_| panic!("world: {addr} is not an IP address"))
}

impl World {
    pub fn new() -> Self {
        World {
            timeout: Duration::from_millis(2000),
            ..Default::default()
        }
    }

    /// Adds a zone from zone text (`$TTL` defaults to 300; `@` and relative names are
    /// relative to `origin`). DNAME records are read too.
    pub fn zone(mut self, origin: &str, text: &str) -> Result<Self, WorldError> {
        let origin_name = Name::from_ascii(origin);
        let err = |message: String| WorldError {
            origin: origin_name.to_string(),
            message,
        };
        // hickory's zone parser does not read DNAME: take those lines out first.
        let mut dnames = BTreeMap::new();
        let mut rest = String::from("$TTL 300\n");
        for line in text.lines() {
            let words: Vec<&str> = line
                .split(';')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("DNAME")) {
                let (Some(owner), Some(target)) = (words.first(), words.get(i + 1)) else {
                    return Err(err(format!("a DNAME line without owner or target: {line}")));
                };
                dnames.insert(
                    absolute(owner, &origin_name),
                    absolute(target, &origin_name),
                );
            } else {
                rest.push_str(line);
                rest.push('\n');
            }
        }
        let horigin = hickory_proto::rr::Name::from_ascii(origin_name.as_str())
            .map_err(|e| err(e.to_string()))?;
        let (_, sets) = hickory_proto::serialize::txt::Parser::new(rest, None, Some(horigin))
            .parse()
            .map_err(|e| err(e.to_string()))?;
        let mut data = ZoneData {
            dnames,
            ..Default::default()
        };
        for set in sets.values() {
            for r in set.records_without_rrsigs() {
                if let Some(rec) = super::transport::to_record(r) {
                    data.records.entry(rec.name.clone()).or_default().push(rec);
                }
            }
        }
        if data.at(&origin_name, RecordType::SOA).is_empty() {
            return Err(err("no SOA record at the apex".into()));
        }
        self.zones.insert(origin_name, data);
        Ok(self)
    }

    /// `addr` serves these zones (authoritatively).
    pub fn serve(mut self, addr: &str, zones: &[&str]) -> Self {
        let s = self.servers.entry(ip(addr)).or_default();
        s.zones.extend(zones.iter().map(|z| Name::from_ascii(z)));
        self
    }

    /// `addr` (a server) misbehaves so (a resolver: only [`Fault::Timeout`] and
    /// [`Fault::TimeoutOnce`]).
    pub fn fault(mut self, addr: &str, fault: Fault) -> Self {
        self.servers
            .entry(ip(addr))
            .or_default()
            .faults
            .insert(fault);
        self
    }

    /// `addr` is a resolver.
    pub fn resolver(mut self, addr: &str, opts: ResolverOptions) -> Self {
        self.resolvers.insert(ip(addr), opts);
        self
    }

    /// A validating resolver fails on this zone (a broken chain of trust).
    pub fn bogus(mut self, zone: &str) -> Self {
        self.bogus.insert(Name::from_ascii(zone));
        self
    }

    /// The servers of the root zone, as root hints.
    pub fn roots(&self) -> Vec<SocketAddr> {
        let root = Name::root();
        let mut v: Vec<SocketAddr> = self
            .servers
            .iter()
            .filter(|(_, s)| s.zones.contains(&root))
            .map(|(ip, _)| SocketAddr::new(*ip, 53))
            .collect();
        v.sort();
        v
    }

    /// Resolver `addr` keeps an NXDOMAIN for `TXT name` (as if asked before the record
    /// was published), until [`World::flush`].
    pub fn cache_nxdomain(&self, addr: &str, name: &str) {
        let q = Question::new(Name::from_ascii(name), RecordType::TXT);
        let mut r = empty(Rcode::NXDomain);
        r.recursion_available = true;
        self.lock()
            .negative
            .insert((ip(addr), q), Outcome::NxDomain(r));
    }

    /// Forgets every negative answer the resolvers keep.
    pub fn flush(&self) {
        self.lock().negative.clear();
    }

    /// Whether resolver `addr` keeps a negative answer for `name` (any type).
    pub fn has_negative(&self, addr: &str, name: &str) -> bool {
        let (ip, name) = (ip(addr), Name::from_ascii(name));
        self.lock()
            .negative
            .keys()
            .any(|(r, q)| *r == ip && q.name == name)
    }

    /// The questions asked of `addr` so far.
    pub fn asked(&self, addr: &str) -> Vec<Question> {
        let ip = ip(addr);
        self.lock()
            .log
            .iter()
            .filter(|(s, _, _)| s.ip() == ip)
            .map(|(_, q, _)| q.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `server` answers to `q`, with `flags`.
    pub fn answer(&self, server: SocketAddr, q: &Question, flags: QueryFlags) -> Outcome {
        if let Some(opts) = self.resolvers.get(&server.ip()) {
            let faults = self.servers.get(&server.ip()).map(|s| &s.faults);
            let has = |f| faults.is_some_and(|fs| fs.contains(&f));
            let first = || {
                self.lock()
                    .log
                    .iter()
                    .filter(|(s, _, _)| s.ip() == server.ip())
                    .count()
                    == 1
            };
            if has(Fault::Timeout) || (has(Fault::TimeoutOnce) && first()) {
                return Outcome::Timeout;
            }
            return self.resolve(server.ip(), *opts, q, flags);
        }
        let Some(conf) = self.servers.get(&server.ip()) else {
            return Outcome::Network(NetError::Refused { server, tcp: false });
        };
        let has = |f| conf.faults.contains(&f);
        if has(Fault::Timeout) || (has(Fault::DropsEdns) && !flags.no_edns) {
            return Outcome::Timeout;
        }
        if flags.tcp && has(Fault::NoTcp) {
            return Outcome::Network(NetError::Refused { server, tcp: true });
        }
        let mut reply = if has(Fault::SelfReferral) {
            let host = Name::from_ascii("a.root.evil.");
            let mut r = empty(Rcode::NoError);
            r.authority.push(Record {
                name: Name::root(),
                ttl: 3600,
                data: RData::NS(host.clone()),
            });
            r.additional.push(Record {
                name: host,
                ttl: 3600,
                data: match server.ip() {
                    IpAddr::V4(a) => RData::A(a),
                    IpAddr::V6(a) => RData::AAAA(a),
                },
            });
            r
        } else if has(Fault::Refused) {
            empty(Rcode::Refused)
        } else if has(Fault::ServFail) {
            empty(Rcode::ServFail)
        } else {
            self.authoritative(conf, q)
        };
        if has(Fault::NoAa) {
            reply.authoritative = false;
        }
        if has(Fault::Truncates) && !flags.tcp {
            if has(Fault::NoTcp) {
                return Outcome::Truncated;
            }
            reply.via_tcp = true;
        }
        reply.edns = !flags.no_edns;
        reply.qname_case_kept = flags.mixed_case.then_some(true);
        Outcome::classify(reply)
    }

    /// The deepest zone of `zones` that holds `name`.
    fn zone_for<'a>(&self, zones: impl Iterator<Item = &'a Name>, name: &Name) -> Option<Name> {
        zones
            .filter(|z| name.is_subdomain_of(z) && self.zones.contains_key(*z))
            .max_by_key(|z| z.label_count())
            .cloned()
    }

    fn authoritative(&self, conf: &ServerConf, q: &Question) -> Reply {
        let cross = conf.faults.contains(&Fault::CrossZone);
        let Some(mut apex) = self.zone_for(conf.zones.iter(), &q.name) else {
            return empty(Rcode::Refused);
        };
        let mut reply = empty(Rcode::NoError);
        reply.authoritative = true;
        let mut name = q.name.clone();
        let mut seen = HashSet::new();
        loop {
            let zone = &self.zones[&apex];
            if let Some(cut) = cut_above(zone, &apex, &name, q.rtype) {
                if reply.answers.is_empty() {
                    reply.authoritative = false;
                }
                let ns = zone.at(&cut, RecordType::NS);
                for r in &ns {
                    if let RData::NS(host) = &r.data {
                        reply.additional.extend(self.glue(zone, host));
                    }
                }
                reply.authority.extend(ns);
                return reply;
            }
            // DNAME above the name: the DNAME and a synthesized CNAME.
            if let Some((owner, target)) = zone
                .dnames
                .iter()
                .find(|(o, _)| name != **o && name.is_subdomain_of(o))
            {
                let rel = name.as_str()[..name.as_str().len() - owner.as_str().len()].to_string();
                let new = Name::from_ascii(&format!("{rel}{target}"));
                reply.answers.push(Record {
                    name: owner.clone(),
                    ttl: 300,
                    data: RData::Other {
                        rtype: 39,
                        text: target.to_string(),
                    },
                });
                reply.answers.push(Record {
                    name: name.clone(),
                    ttl: 300,
                    data: RData::CNAME(new.clone()),
                });
                if !seen.insert(name.clone()) {
                    return reply;
                }
                name = new;
            } else {
                let (owner, wild) = match self.lookup_owner(zone, &name) {
                    Some(o) => o,
                    None => {
                        reply.rcode = Rcode::NXDomain;
                        reply.authority.extend(soa(zone, &apex));
                        return reply;
                    }
                };
                let rename = |mut r: Record| {
                    if wild {
                        r.name = name.clone();
                    }
                    r
                };
                let data = zone.at(&owner, q.rtype);
                if !data.is_empty() {
                    reply.answers.extend(data.into_iter().map(rename));
                    return reply;
                }
                let Some(c) = zone.cname(&owner).filter(|_| q.rtype != RecordType::CNAME) else {
                    reply.authority.extend(soa(zone, &apex));
                    return reply;
                };
                let RData::CNAME(target) = c.data.clone() else {
                    unreachable!()
                };
                reply.answers.push(rename(c));
                if !seen.insert(name.clone()) {
                    return reply;
                }
                name = target;
            }
            // Chase only inside this zone (or any zone served, across zones).
            let next = if cross {
                self.zone_for(conf.zones.iter(), &name)
            } else {
                name.is_subdomain_of(&apex).then(|| apex.clone())
            };
            match next {
                Some(z) => apex = z,
                None => return reply,
            }
        }
    }

    /// The owner whose records answer `name`: itself, or the wildcard of its closest
    /// encloser (the bool says so). None: NXDOMAIN.
    fn lookup_owner(&self, zone: &ZoneData, name: &Name) -> Option<(Name, bool)> {
        if zone.exists(name) {
            return Some((name.clone(), false));
        }
        let mut encloser = name.parent();
        while !zone.exists(&encloser) && !encloser.is_root() {
            encloser = encloser.parent();
        }
        let wild = encloser.prepend("*");
        zone.records.contains_key(&wild).then_some((wild, true))
    }

    /// A and AAAA of `host` from the zone's data (glue or in-zone addresses).
    fn glue(&self, zone: &ZoneData, host: &Name) -> Vec<Record> {
        let mut v = zone.at(host, RecordType::A);
        v.extend(zone.at(host, RecordType::AAAA));
        v
    }

    /// Iterative resolution from the roots, as a resolver does.
    fn resolve(
        &self,
        me: IpAddr,
        opts: ResolverOptions,
        q: &Question,
        flags: QueryFlags,
    ) -> Outcome {
        let key = (me, q.clone());
        if let Some(o) = self.lock().negative.get(&key) {
            return o.clone();
        }
        let mut answers = Vec::new();
        let mut name = q.name.clone();
        let mut touched = Vec::new();
        let mut result = None;
        for _ in 0..16 {
            let Some((apex, reply)) = self.iterate(&name, q.rtype, 0) else {
                return servfail(vec![]);
            };
            touched.push(apex.clone());
            // Believe only what is in the zone that answered; follow CNAMEs in it.
            let mut cur = name.clone();
            let mut next = None;
            loop {
                let data: Vec<Record> = reply
                    .answers
                    .iter()
                    .filter(|r| r.name == cur && r.name.is_subdomain_of(&apex))
                    .cloned()
                    .collect();
                if data.iter().any(|r| r.rtype() == q.rtype) {
                    answers.extend(data.into_iter().filter(|r| r.rtype() == q.rtype));
                    result = Some(Rcode::NoError);
                    break;
                }
                let Some(c) = data.into_iter().find(|r| matches!(r.data, RData::CNAME(_))) else {
                    break;
                };
                let RData::CNAME(t) = c.data.clone() else {
                    unreachable!()
                };
                answers.push(c);
                // unbound restarts at every hop (as with the chain in its cache) and gives
                // up at the 12th restart (`max-query-restarts` 11), as BIND does.
                if answers.len() > RESTARTS {
                    return servfail(vec![]);
                }
                cur = t;
                if !cur.is_subdomain_of(&apex) {
                    next = Some(cur.clone());
                    break;
                }
            }
            if result.is_some() {
                break;
            }
            if let Some(n) = next {
                name = n;
                continue;
            }
            // A negative answer about `cur`.
            let rcode = if cur == reply_tail(&reply, &name) {
                reply.rcode
            } else {
                Rcode::NoError
            };
            let mut r = empty(rcode);
            r.recursion_available = true;
            r.answers = answers.clone();
            r.authority = reply
                .authority
                .iter()
                .filter(|a| a.rtype() == RecordType::SOA)
                .cloned()
                .collect();
            let o = Outcome::classify(r);
            if opts.validating && !flags.checking_disabled && self.is_bogus(&touched) {
                return servfail(self.bogus_ede(opts, q, &touched));
            }
            if opts.negative_cache && matches!(o, Outcome::NxDomain(_) | Outcome::NoData(_)) {
                self.lock().negative.insert(key, o.clone());
            }
            return o;
        }
        if result.is_none() {
            return servfail(vec![]);
        }
        if opts.validating && !flags.checking_disabled && self.is_bogus(&touched) {
            return servfail(self.bogus_ede(opts, q, &touched));
        }
        let mut r = empty(Rcode::NoError);
        r.recursion_available = true;
        r.answers = answers;
        Outcome::classify(r)
    }

    fn is_bogus(&self, zones: &[Name]) -> bool {
        zones
            .iter()
            .any(|z| self.bogus.iter().any(|b| z.is_subdomain_of(b)))
    }

    /// Unbound's EDE for a validation failure, naming the zone whose key fails.
    fn bogus_ede(&self, opts: ResolverOptions, q: &Question, zones: &[Name]) -> Vec<Ede> {
        if opts.no_ede {
            return vec![];
        }
        let z = zones
            .iter()
            .find_map(|z| self.bogus.iter().find(|b| z.is_subdomain_of(b)))
            .cloned()
            .unwrap_or_else(Name::root);
        vec![Ede {
            code: 6,
            text: format!(
                "validation failure <{} {} IN>: signature expired for key {z} while building chain of trust",
                q.name, q.rtype
            ),
        }]
    }

    /// Asks from the roots down for `name`/`rtype`: the zone that answered and its
    /// answer (None: no server answered usably).
    fn iterate(&self, name: &Name, rtype: RecordType, depth: u32) -> Option<(Name, Reply)> {
        if depth > 4 {
            return None;
        }
        let mut servers: Vec<SocketAddr> = self.roots();
        let mut apex = Name::root();
        for _ in 0..32 {
            let reply = servers
                .iter()
                .find_map(|s| self.ask_as_resolver(*s, name, rtype))?;
            let referral: Vec<(Name, Name)> = reply
                .referral()
                .into_iter()
                .filter(|(z, _)| name.is_subdomain_of(z) && z.is_subdomain_of(&apex) && **z != apex)
                .map(|(z, ns)| (z.clone(), ns.clone()))
                .collect();
            if reply.authoritative || referral.is_empty() || !reply.answers.is_empty() {
                return Some((apex, reply));
            }
            let child = referral[0].0.clone();
            let mut next = Vec::new();
            for (_, ns) in &referral {
                let glue: Vec<IpAddr> = reply
                    .additional
                    .iter()
                    .filter(|r| r.name == *ns && ns.is_subdomain_of(&apex))
                    .filter_map(|r| match r.data {
                        RData::A(a) => Some(IpAddr::V4(a)),
                        RData::AAAA(a) => Some(IpAddr::V6(a)),
                        _ => None,
                    })
                    .collect();
                let addrs = if glue.is_empty() && !ns.is_subdomain_of(&child) {
                    self.iterate(ns, RecordType::A, depth + 1)
                        .map(|(_, r)| {
                            r.answers
                                .iter()
                                .filter_map(|a| match a.data {
                                    RData::A(a) => Some(IpAddr::V4(a)),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                } else {
                    glue
                };
                next.extend(addrs.into_iter().map(|a| SocketAddr::new(a, 53)));
            }
            servers = next;
            apex = child;
        }
        None
    }

    /// One authoritative answer as a resolver reads it: None for a failure (next
    /// server). No retry without EDNS after a timeout: resolvers stopped that on the DNS
    /// Flag Day 2019 (unbound, the lab's truth, gives no answer).
    fn ask_as_resolver(&self, server: SocketAddr, name: &Name, rtype: RecordType) -> Option<Reply> {
        let q = Question::new(name.clone(), rtype);
        let o = self.answer(server, &q, QueryFlags::authoritative());
        match o {
            Outcome::Answer(r)
            | Outcome::NoData(r)
            | Outcome::NxDomain(r)
            | Outcome::Referral(r) => Some(r),
            _ => None,
        }
    }
}

/// The name a negative answer is about: the last CNAME target in the answer, or `name`.
fn reply_tail(reply: &Reply, name: &Name) -> Name {
    let mut cur = name.clone();
    for _ in 0..=reply.answers.len() {
        match reply.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(t) if r.name == cur => Some(t.clone()),
            _ => None,
        }) {
            Some(t) => cur = t,
            None => break,
        }
    }
    cur
}

/// The deepest delegation (NS below the apex) at or above `name` in `zone`; at the cut
/// itself a DS question is the parent's to answer.
fn cut_above(zone: &ZoneData, apex: &Name, name: &Name, rtype: RecordType) -> Option<Name> {
    let mut n = name.clone();
    let mut found = None;
    while n != *apex && n.is_subdomain_of(apex) {
        let is_cut = !zone.at(&n, RecordType::NS).is_empty();
        if is_cut && !(n == *name && rtype == RecordType::DS) {
            found = Some(n.clone());
        }
        n = n.parent();
    }
    found
}

fn soa(zone: &ZoneData, apex: &Name) -> Vec<Record> {
    zone.at(apex, RecordType::SOA)
}

fn absolute(s: &str, origin: &Name) -> Name {
    if s == "@" {
        origin.clone()
    } else if s.ends_with('.') {
        Name::from_ascii(s)
    } else {
        Name::from_ascii(&format!("{s}.{origin}"))
    }
}

fn empty(rcode: Rcode) -> Reply {
    Reply {
        rcode,
        authoritative: false,
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

fn servfail(ede: Vec<Ede>) -> Outcome {
    let mut r = empty(Rcode::ServFail);
    r.recursion_available = true;
    r.ede = ede;
    Outcome::ServFail(r)
}

impl Transport for World {
    fn ask(
        &self,
        server: SocketAddr,
        question: &Question,
        flags: QueryFlags,
    ) -> impl Future<Output = Exchange> + Send {
        self.lock().log.push((server, question.clone(), flags));
        let outcome = self.answer(server, question, flags);
        let elapsed = if matches!(outcome, Outcome::Timeout) {
            self.timeout
        } else {
            Duration::from_millis(1)
        };
        std::future::ready(Exchange {
            server,
            question: question.clone(),
            flags,
            elapsed,
            outcome,
        })
    }
}

/// A shared world: a test keeps a handle to look into it (what was asked, what the
/// resolvers cache) after the engine ran.
impl Transport for std::sync::Arc<World> {
    fn ask(
        &self,
        server: SocketAddr,
        question: &Question,
        flags: QueryFlags,
    ) -> impl Future<Output = Exchange> + Send {
        self.as_ref().ask(server, question, flags)
    }
}

/// A small world for tests: the root, `com.` and `net.` (one server), `example.com.`
/// (127.0.0.10), `example.net.` (127.0.0.20) and the validation zone `acme.example.net.`
/// (127.0.0.30); resolvers `lab-unbound` 127.0.0.53 (validating) and `unbound2`
/// 127.0.0.54 (keeps negative answers). `example_com` and `acme` are the bodies of the
/// two zones (SOA and NS are added).
#[cfg(test)]
pub mod fixture {
    use super::*;
    use crate::model::config::{Config, Resolver};

    pub const SOA: &str = "@ 300 IN SOA ns.invalid. h.invalid. 1 60 60 600 60\n";

    pub fn zone_text(ns: &[(&str, &str)], body: &str) -> String {
        let mut t = String::from(SOA);
        for (host, _) in ns {
            t.push_str(&format!("@ IN NS {host}\n"));
        }
        t.push_str(body);
        t
    }

    pub fn base() -> World {
        World::new()
            .zone(
                ".",
                &zone_text(
                    &[("a.root-servers.invalid.", "")],
                    "a.root-servers.invalid. IN A 127.0.0.1\n\
                     com. IN NS ns.tld.invalid.\nnet. IN NS ns.tld.invalid.\n\
                     ns.tld.invalid. IN A 127.0.0.2\n",
                ),
            )
            .unwrap()
            .zone(
                "com.",
                &zone_text(
                    &[("ns.tld.invalid.", "")],
                    "example.com. IN NS ns1.example.com.\nns1.example.com. IN A 127.0.0.10\n",
                ),
            )
            .unwrap()
            .zone(
                "net.",
                &zone_text(
                    &[("ns.tld.invalid.", "")],
                    "example.net. IN NS ns1.example.net.\nns1.example.net. IN A 127.0.0.20\n",
                ),
            )
            .unwrap()
            .serve("127.0.0.1", &["."])
            .serve("127.0.0.2", &["com.", "net."])
            .serve("127.0.0.10", &["example.com."])
            .serve("127.0.0.20", &["example.net."])
            .serve("127.0.0.30", &["acme.example.net."])
            .resolver(
                "127.0.0.53",
                ResolverOptions {
                    validating: true,
                    negative_cache: false,
                    no_ede: false,
                },
            )
            .resolver(
                "127.0.0.54",
                ResolverOptions {
                    validating: true,
                    negative_cache: true,
                    no_ede: false,
                },
            )
    }

    /// The base world with these bodies for `example.com.` and `acme.example.net.`.
    pub fn world(example_com: &str, acme: &str) -> World {
        base()
            .zone(
                "example.com.",
                &zone_text(
                    &[("ns1.example.com.", "")],
                    &format!("ns1 IN A 127.0.0.10\n{example_com}"),
                ),
            )
            .unwrap()
            .zone(
                "example.net.",
                &zone_text(
                    &[("ns1.example.net.", "")],
                    "ns1 IN A 127.0.0.20\nacme IN NS ns.acme.example.net.\nns.acme IN A 127.0.0.30\n",
                ),
            )
            .unwrap()
            .zone(
                "acme.example.net.",
                &zone_text(
                    &[("ns.acme.example.net.", "")],
                    &format!("ns IN A 127.0.0.30\n{acme}"),
                ),
            )
            .unwrap()
    }

    /// A config naming the world's roots and its two resolvers (no system resolver).
    pub fn config(w: &World) -> Config {
        let resolver = |name: &str, a: &str| Resolver {
            name: name.into(),
            address: a.parse().unwrap(),
            ca: false,
        };
        Config {
            source: None,
            roots: w.roots(),
            timeout: Duration::from_millis(200),
            attempts: 1,
            max_inflight: 16,
            poll_interval: Duration::from_secs(1),
            max_qps_per_server: 0,
            resolvers: vec![
                resolver("lab-unbound", "127.0.0.53:53"),
                resolver("unbound2", "127.0.0.54:53"),
            ],
            system: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;

    fn q(name: &str, t: RecordType) -> Question {
        Question::new(Name::from_ascii(name), t)
    }

    fn at(a: &str) -> SocketAddr {
        format!("{a}:53").parse().unwrap()
    }

    const DELEGATED: &str = "_acme-challenge.www IN CNAME abc.acme.example.net.\n";
    const TOKEN: &str = "abc IN TXT \"token\"\n";

    #[test]
    fn referrals_carry_glue_and_no_aa() {
        let w = world(DELEGATED, TOKEN);
        let o = w.answer(
            at("127.0.0.2"),
            &q("www.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        let Outcome::Referral(r) = o else {
            panic!("{o:?}")
        };
        assert!(!r.authoritative);
        assert_eq!(r.referral()[0].1.as_str(), "ns1.example.com.");
        assert_eq!(
            r.additional[0].data,
            RData::A("127.0.0.10".parse().unwrap())
        );
    }

    #[test]
    fn authoritative_answers_negatives_and_cname_within_the_zone() {
        let w = world(
            &format!("{DELEGATED}a IN CNAME b\nb IN TXT \"x\"\n*.wild IN TXT \"w\"\n"),
            TOKEN,
        );
        let s = at("127.0.0.10");
        let o = w.answer(
            s,
            &q("_acme-challenge.www.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        let Outcome::Answer(r) = &o else {
            panic!("{o:?}")
        };
        assert!(r.authoritative);
        assert_eq!(
            r.answers.len(),
            1,
            "a CNAME out of the zone is not chased: {r:?}"
        );
        let o = w.answer(
            s,
            &q("a.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        assert_eq!(
            o.reply().unwrap().answers.len(),
            2,
            "chased inside the zone"
        );
        let o = w.answer(
            s,
            &q("nope.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        assert!(
            matches!(&o, Outcome::NxDomain(r) if r.soa().is_some()),
            "{o:?}"
        );
        let o = w.answer(
            s,
            &q("ns1.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        assert!(
            matches!(&o, Outcome::NoData(r) if r.soa().is_some()),
            "{o:?}"
        );
        let o = w.answer(
            s,
            &q("x.y.wild.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        assert_eq!(
            o.reply().unwrap().answers[0].name.as_str(),
            "x.y.wild.example.com."
        );
        let o = w.answer(s, &q("example.org", RecordType::TXT), QueryFlags::default());
        assert_eq!(o.label(), "REFUSED");
    }

    #[test]
    fn dname_is_synthesized() {
        let w = world("old IN DNAME acme.example.net.\n", TOKEN);
        let o = w.answer(
            at("127.0.0.10"),
            &q("abc.old.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        let r = o.reply().unwrap();
        assert_eq!(
            r.answers[1].data,
            RData::CNAME(Name::from_ascii("abc.acme.example.net"))
        );
    }

    #[test]
    fn resolvers_recurse_and_keep_negative_answers() {
        let w = world(DELEGATED, TOKEN);
        let o = w.answer(
            at("127.0.0.53"),
            &q("_acme-challenge.www.example.com", RecordType::TXT),
            QueryFlags::recursive(),
        );
        let r = o.reply().unwrap();
        assert_eq!(r.answers.len(), 2, "{o:?}");
        assert_eq!(r.answers[1].data, RData::TXT(vec!["token".into()]));
        let name = "_acme-challenge.mail.example.com";
        let o = w.answer(
            at("127.0.0.54"),
            &q(name, RecordType::TXT),
            QueryFlags::recursive(),
        );
        assert_eq!(o.label(), "NXDOMAIN");
        assert!(w.has_negative("127.0.0.54", name));
        assert!(!w.has_negative("127.0.0.53", name));
        w.flush();
        assert!(!w.has_negative("127.0.0.54", name));
    }

    #[test]
    fn faults() {
        let w = world(DELEGATED, TOKEN)
            .fault("127.0.0.30", Fault::DropsEdns)
            .fault("127.0.0.10", Fault::Truncates)
            .fault("127.0.0.10", Fault::NoTcp);
        let name = "abc.acme.example.net";
        let o = w.answer(
            at("127.0.0.30"),
            &q(name, RecordType::TXT),
            QueryFlags::default(),
        );
        assert_eq!(o, Outcome::Timeout);
        let no_edns = QueryFlags {
            no_edns: true,
            ..Default::default()
        };
        let o = w.answer(at("127.0.0.30"), &q(name, RecordType::TXT), no_edns);
        assert!(matches!(&o, Outcome::Answer(r) if !r.edns), "{o:?}");
        let o = w.answer(
            at("127.0.0.10"),
            &q("ns1.example.com", RecordType::A),
            QueryFlags::default(),
        );
        assert_eq!(o, Outcome::Truncated);
        // No retry without EDNS (DNS Flag Day 2019): the zone cannot be resolved.
        let o = w.answer(
            at("127.0.0.53"),
            &q(name, RecordType::TXT),
            QueryFlags::recursive(),
        );
        assert_eq!(o.label(), "SERVFAIL", "{o:?}");
    }

    #[test]
    fn cross_zone_answers_and_a_bailiwick_resolver() {
        // One server hosts both zones and answers across them; the validation zone's
        // real delegation is broken (its own server is dead).
        let w = world(DELEGATED, TOKEN)
            .serve("127.0.0.10", &["acme.example.net."])
            .fault("127.0.0.10", Fault::CrossZone)
            .fault("127.0.0.30", Fault::Timeout);
        let o = w.answer(
            at("127.0.0.10"),
            &q("_acme-challenge.www.example.com", RecordType::TXT),
            QueryFlags::default(),
        );
        assert_eq!(
            o.reply().unwrap().answers.len(),
            2,
            "the target's TXT in the first answer"
        );
        let o = w.answer(
            at("127.0.0.53"),
            &q("_acme-challenge.www.example.com", RecordType::TXT),
            QueryFlags::recursive(),
        );
        assert_eq!(
            o.label(),
            "SERVFAIL",
            "a resolver does not believe the out-of-zone TXT: {o:?}"
        );
    }

    #[test]
    fn a_validating_resolver_fails_on_a_bogus_zone_unless_cd() {
        let w = world(DELEGATED, TOKEN).bogus("acme.example.net.");
        let question = q("_acme-challenge.www.example.com", RecordType::TXT);
        let o = w.answer(at("127.0.0.53"), &question, QueryFlags::recursive());
        assert!(
            matches!(&o, Outcome::ServFail(r) if r.ede[0].text.contains("acme.example.net")),
            "{o:?}"
        );
        let cd = QueryFlags {
            checking_disabled: true,
            ..QueryFlags::recursive()
        };
        assert_eq!(w.answer(at("127.0.0.53"), &question, cd).label(), "NOERROR");
    }
}

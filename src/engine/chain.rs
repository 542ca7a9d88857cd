//! Follow the CNAME chain from `_acme-challenge.<name>` hop by hop, across zones: each
//! zone's own authoritative servers are asked (all of them), every hop keeps its TTL and
//! the server that said it. Loops are detected; at most [`MAX_HOPS`] hops are followed.

use crate::dns::walk::{is_infrastructure, Walker, Zone};
use crate::dns::{Exchange, Name, Outcome, Question, RData, Rcode, RecordType, Reply, Transport};
use crate::engine::events::{Event, EventSink};
use crate::findings::evidence::VantageKind;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::findings::evidence::{Chain, End, Hop, Step, MAX_HOPS};

/// Reads CNAME hops and the end from one reply, starting at `start`. Returns the hops, the
/// name reached, and the end if the reply settles it. With `zone` (an authoritative
/// answer), only records for names in that zone are read.
pub(crate) fn read_reply(
    start: &Name,
    reply: &Reply,
    server: SocketAddr,
    zone: Option<&Name>,
    seen: &mut HashSet<Name>,
    hops: &mut Vec<Hop>,
) -> (Name, Option<End>) {
    let mut cur = start.clone();
    loop {
        // Bailiwick: a record is believed only from the servers of the zone it belongs
        // to. A server that hosts several zones may answer across them (PowerDNS with
        // `resolve-across-zones=yes`); as resolvers do, that data is ignored here and the
        // name's own zone is asked next.
        if zone.is_some_and(|z| !cur.is_subdomain_of(z)) {
            break;
        }
        if let Some(txt) = txt_at(reply, &cur) {
            return (cur, Some(txt));
        }
        let cname = reply.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(t) if r.name == cur => Some((t.clone(), r.ttl)),
            _ => None,
        });
        let Some((target, ttl)) = cname else { break };
        let published = reply
            .cname_case
            .iter()
            .find(|(o, _)| *o == cur)
            .map(|(_, rec)| rec.clone());
        hops.push(Hop {
            owner: cur.clone(),
            target: target.clone(),
            ttl,
            server,
            zone: zone.cloned(),
            published,
        });
        if !seen.insert(target.clone()) {
            return (target.clone(), Some(End::Loop { at: target }));
        }
        if hops.len() > MAX_HOPS {
            return (target, Some(End::TooLong));
        }
        cur = target;
    }
    // No more data for `cur` in this reply: a negative answer settles it when it speaks
    // for `cur` (the name is inside the zone that answered, or the reply is a resolver's).
    let speaks_for_cur = match zone {
        None => true,
        Some(z) => cur.is_subdomain_of(z),
    };
    let neg_zone = reply.soa().map(|(n, _, _)| n.clone());
    let end = match reply.rcode {
        Rcode::NXDomain if speaks_for_cur => Some(End::NxDomain {
            owner: cur.clone(),
            zone: neg_zone,
            negative_ttl: reply.negative_ttl(),
        }),
        Rcode::NoError if speaks_for_cur && (zone.is_none() || reply.soa().is_some()) => {
            Some(End::NoData {
                owner: cur.clone(),
                zone: neg_zone,
                negative_ttl: reply.negative_ttl(),
            })
        }
        _ => None,
    };
    (cur, end)
}

fn txt_at(reply: &Reply, name: &Name) -> Option<End> {
    let txts: Vec<_> = reply
        .answers
        .iter()
        .filter(|r| &r.name == name && r.rtype() == RecordType::TXT)
        .collect();
    if txts.is_empty() {
        return None;
    }
    Some(End::Txt {
        owner: name.clone(),
        values: txts.iter().map(|r| r.data.to_text()).collect(),
        ttl: txts.iter().map(|r| r.ttl).min().unwrap_or(0),
    })
}

/// What an authoritative answer says, for comparing servers (TTLs ignored). With `zone`,
/// only what the zone has a say on counts (bailiwick: a server that also answers across
/// zones adds data the others have no say on): the records of the chain from the name
/// asked for as long as it stays in the zone. Once a CNAME leaves the zone, the rest of
/// the answer is another zone's, even where the chain comes back into this one later
/// (`a.zone -> b.other -> c.zone`: `c.zone` is asked on its own, as a resolver does:
/// unbound's scrubber keeps only the records of the name asked for, differential seed 911).
pub(crate) fn fingerprint(o: &Outcome, zone: Option<&Name>) -> Option<(Rcode, Vec<String>)> {
    let r = o.reply()?;
    if !r.authoritative || !o.is_usable() {
        return None;
    }
    let in_chain = zone.map(|z| in_zone_chain(r, z));
    let mut data: Vec<String> = r
        .answers
        .iter()
        .filter(|a| zone.is_none_or(|z| a.name.is_subdomain_of(z)))
        .filter(|a| in_chain.as_ref().is_none_or(|c| c.contains(&a.name)))
        .map(|a| format!("{} {} {}", a.name, a.rtype(), a.data.to_text()))
        .collect();
    data.sort();
    // An answer whose CNAME leaves the zone: its RCODE is about the name out of the zone
    // (a server answering across zones says NXDOMAIN there), not the zone's to say.
    let leaves = zone.is_some_and(|z| {
        r.answers.iter().any(|a| {
            a.name.is_subdomain_of(z)
                && in_chain.as_ref().is_none_or(|c| c.contains(&a.name))
                && matches!(&a.data, RData::CNAME(t) if !t.is_subdomain_of(z))
        })
    });
    let rcode = if leaves { Rcode::NoError } else { r.rcode };
    Some((rcode, data))
}

/// The names of `r`'s answer that are on the chain from the name asked for (the name no
/// CNAME of the answer points at) while it stays inside `zone`, and the DNAME owners above
/// them. An answer without such a start (a loop) keeps every name of the zone.
fn in_zone_chain(r: &Reply, zone: &Name) -> HashSet<Name> {
    const DNAME: RecordType = RecordType::Other(39);
    let cname = |n: &Name| {
        r.answers.iter().find_map(|a| match &a.data {
            RData::CNAME(t) if &a.name == n => Some(t.clone()),
            _ => None,
        })
    };
    let targets: HashSet<&Name> = r
        .answers
        .iter()
        .filter_map(|a| match &a.data {
            RData::CNAME(t) => Some(t),
            _ => None,
        })
        .collect();
    let starts: Vec<&Name> = r
        .answers
        .iter()
        .filter(|a| a.rtype() != DNAME && !targets.contains(&a.name))
        .map(|a| &a.name)
        .collect();
    if starts.is_empty() {
        return r.answers.iter().map(|a| a.name.clone()).collect();
    }
    let mut names = HashSet::new();
    for start in starts {
        let mut cur = start.clone();
        while cur.is_subdomain_of(zone) && names.insert(cur.clone()) {
            match cname(&cur) {
                Some(t) => cur = t,
                None => break,
            }
        }
    }
    let dnames: Vec<Name> = r
        .answers
        .iter()
        .filter(|a| {
            a.rtype() == DNAME
                && names
                    .iter()
                    .any(|n| n != &a.name && n.is_subdomain_of(&a.name))
        })
        .map(|a| a.name.clone())
        .collect();
    names.extend(dnames);
    names
}

/// No authoritative answer: the answer without the AA bit that a resolver (unbound) still
/// takes, to read the chain from. Data counts; so does a negative answer (NXDOMAIN, or
/// NOERROR without data) from a server that does not offer recursion: unbound takes that
/// as the answer too, so a target zone whose servers drop the AA bit still works for the
/// CA (a warning, `step.lame`, not a failed chain). A referral or a failure is no answer.
fn lame_answer(exchanges: &[(Name, Exchange)]) -> Option<Exchange> {
    exchanges
        .iter()
        .find(|(_, e)| match &e.outcome {
            Outcome::Answer(r) => !r.authoritative,
            Outcome::NxDomain(r) | Outcome::NoData(r) => !r.authoritative && !r.recursion_available,
            _ => false,
        })
        .map(|(_, e)| e.clone())
}

/// The zone of `cur`, the first ancestor the walk found missing, and every server's answer
/// to `question` (TXT `cur`), told to `events` (for the name `name`).
///
/// The walk asks `NS cur` of the parent zone's first server before the TXT question is
/// asked of its servers, to find a zone cut at `cur`. That question is skipped when the
/// parent zone's first server, asked the TXT question, answers in a way that settles it
/// ([`settles_walk`]): the step is then the one the walk would have led to, with one
/// question less per name and hop (a 10,000-name check sent 90,000 questions, 20,000 of
/// them such `NS` questions). Any other answer (a referral, data at `cur`, no answer, a
/// negative answer of another zone) and the walk asks as before; its answers to the TXT
/// question are reused when the walk ends in the same zone.
async fn ask_step<T: Transport>(
    walker: &Walker<T>,
    cur: &Name,
    question: &Question,
    events: &EventSink,
    name: &str,
) -> (Arc<Zone>, Option<Name>, Vec<(Name, Exchange)>) {
    let parent = if cur.is_root() {
        None
    } else {
        Some(walker.zone_of(cur.parent()).await)
    };
    // A parent zone the walk could settle `cur` in: the walk stops at a missing or
    // silent parent (asking nothing), and the root and the TLDs are judged for answers
    // forged by the network.
    let parent = parent.filter(|p| {
        p.missing_at.is_none()
            && !p.unresponsive
            && !is_infrastructure(&p.zone.apex)
            && !p.zone.servers.is_empty()
    });
    let mut early = None;
    if let Some(p) = parent {
        let asked = ask_all(walker, &p.zone, question).await;
        if let Some(missing_at) = settles_walk(&p.zone.apex, cur, &asked[0].1) {
            tell_all(&asked, events, name);
            return (p.zone.clone(), missing_at, asked);
        }
        early = Some((p.zone.clone(), asked));
    }
    let walk = walker.zone_of(cur.clone()).await;
    let zone = walk.zone.clone();
    let exchanges: Vec<(Name, Exchange)> = if walk.unresponsive {
        walk.failures
            .iter()
            .map(|e| {
                let ns = zone
                    .servers
                    .iter()
                    .find(|s| s.addr == e.server)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(Name::root);
                (ns, e.clone())
            })
            .collect()
    } else {
        match early {
            Some((z, asked)) if Arc::ptr_eq(&z, &zone) => {
                tell_all(&asked, events, name);
                asked
            }
            _ => {
                let asks = zone.servers.iter().map(|s| async move {
                    let ex = walker.ask_auth(s.addr, question).await;
                    tell(&s.name, &ex, events, name);
                    (s.name.clone(), ex)
                });
                futures::future::join_all(asks).await
            }
        }
    };
    (zone, walk.missing_at.clone(), exchanges)
}

/// Every server of `zone` asked `question` at once, in the zone's server order.
async fn ask_all<T: Transport>(
    walker: &Walker<T>,
    zone: &Zone,
    question: &Question,
) -> Vec<(Name, Exchange)> {
    let asks = zone.servers.iter().map(|s| async move {
        let ex = walker.ask_auth(s.addr, question).await;
        (s.name.clone(), ex)
    });
    futures::future::join_all(asks).await
}

fn tell_all(asked: &[(Name, Exchange)], events: &EventSink, name: &str) {
    for (ns, ex) in asked {
        tell(ns, ex, events, name);
    }
}

/// An authoritative server's answer, as an event.
fn tell(ns: &Name, ex: &Exchange, events: &EventSink, name: &str) {
    events.emit(|| Event::Vantage {
        name: name.to_string(),
        vantage: ns.to_string(),
        kind: VantageKind::Authoritative,
        server: ex.server,
        outcome: ex.outcome.brief(),
        ms: ex.ms(),
    });
}

/// Whether the answer `ex` of a server of the zone `apex` to `TXT cur` (`cur` below
/// `apex`, in no zone cut the walk found) settles what the walk's `NS cur` question would
/// find at the same server: no zone cut at `cur`, and whether `cur` is missing. Then
/// `Some(missing_at)`. An authoritative server answers from the deepest zone it holds
/// and refers at a cut it knows (RFC 1034 4.3.2), and so it settles it when:
/// - its answer has the AA bit and a CNAME at `cur`: a name with a CNAME has no other
///   data (RFC 2181 10.1), so it is neither a zone apex nor a delegation (no SOA, no NS),
///   and the walk reads a CNAME as no cut, not missing (an alias);
/// - or it is an authoritative negative answer (NXDOMAIN, or NOERROR without data) whose
///   SOA is `apex`'s own: it came from zone `apex` itself, which has no cut at `cur` (it
///   would refer), and the server holds no zone at `cur` (it would answer from it). An
///   NXDOMAIN then says `cur` is missing, as `NS cur` does.
///
/// A referral, data at `cur`, a negative answer without the SOA of `apex` (another zone's,
/// or none), or no answer: not settled, the walk asks.
fn settles_walk(apex: &Name, cur: &Name, ex: &Exchange) -> Option<Option<Name>> {
    let r = ex.outcome.reply()?;
    if !r.authoritative || !ex.outcome.is_usable() {
        return None;
    }
    let alias = r
        .answers
        .iter()
        .any(|a| a.name == *cur && matches!(a.data, RData::CNAME(_)));
    if alias {
        return Some(None);
    }
    let negative = matches!(ex.outcome, Outcome::NxDomain(_) | Outcome::NoData(_));
    let own_soa = r.soa().is_some_and(|(owner, _, _)| owner == apex);
    let data_at_cur = r.answers.iter().any(|a| a.name == *cur);
    if !negative || !own_soa || data_at_cur {
        return None;
    }
    match ex.outcome {
        Outcome::NxDomain(_) => Some(Some(cur.clone())),
        _ => Some(None),
    }
}

/// Follows the chain from `start` (a TXT question, as the CA asks), telling `events` each
/// server's answer as it arrives and each hop (for the name `name`).
pub(crate) async fn follow<T: Transport>(
    walker: &Walker<T>,
    start: &Name,
    events: &EventSink,
    name: &str,
) -> Chain {
    let mut hops = Vec::new();
    let mut steps = Vec::new();
    let mut seen = HashSet::from([start.clone()]);
    let mut cur = start.clone();
    // Each round settles at least one hop or ends; bound the rounds anyway.
    for _ in 0..=MAX_HOPS + 2 {
        let question = Question::new(cur.clone(), RecordType::TXT);
        let (zone, missing_at, exchanges) = ask_step(walker, &cur, &question, events, name).await;
        let prints: Vec<_> = exchanges
            .iter()
            .filter_map(|(_, e)| fingerprint(&e.outcome, Some(&zone.apex)))
            .collect();
        let disagree = prints.windows(2).any(|w| w[0] != w[1]);
        let chosen_aa = exchanges
            .iter()
            .find(|(_, e)| fingerprint(&e.outcome, None).is_some())
            .map(|(_, e)| e.clone());
        let lame_answer = lame_answer(&exchanges);
        let lame = chosen_aa.is_none() && lame_answer.is_some();
        let chosen = chosen_aa.or(lame_answer);
        steps.push(Step {
            zone: zone.clone(),
            question,
            exchanges,
            disagree,
            missing_at,
            lame,
        });
        let Some(ex) = chosen else {
            return Chain {
                start: start.clone(),
                hops,
                end: End::Failed {
                    owner: cur,
                    zone: Some(zone.apex.clone()),
                },
                steps,
            };
        };
        let reply = ex.outcome.reply().expect("chosen has a reply");
        let before = hops.len();
        let (next, end) = read_reply(
            &cur,
            reply,
            ex.server,
            Some(&zone.apex),
            &mut seen,
            &mut hops,
        );
        for h in &hops[before..] {
            events.emit(|| Event::Hop {
                name: name.to_string(),
                owner: h.owner.clone(),
                target: h.target.clone(),
                ttl: h.ttl,
                server: h.server,
                zone: h.zone.clone(),
            });
        }
        if let Some(end) = end {
            return Chain {
                start: start.clone(),
                hops,
                end,
                steps,
            };
        }
        if hops.len() == before && next == cur {
            // An authoritative NOERROR that neither answers nor denies: nothing to follow.
            return Chain {
                start: start.clone(),
                hops,
                end: End::NoData {
                    owner: cur,
                    zone: Some(zone.apex.clone()),
                    negative_ttl: None,
                },
                steps,
            };
        }
        cur = next;
    }
    Chain {
        start: start.clone(),
        hops,
        end: End::TooLong,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn exchange(rcode: u16, aa: bool, ra: bool) -> (Name, Exchange) {
        let reply = Reply {
            rcode: rcode.into(),
            authoritative: aa,
            authentic_data: false,
            recursion_available: ra,
            answers: vec![],
            authority: vec![],
            additional: vec![],
            ede: vec![],
            via_tcp: false,
            edns: true,
            qname_case_kept: None,
            cname_case: vec![],
        };
        let ex = Exchange {
            server: "127.0.0.1:53".parse().unwrap(),
            question: Question::new(Name::from_ascii("x.example.net"), RecordType::TXT),
            flags: crate::dns::QueryFlags::authoritative(),
            elapsed: Duration::ZERO,
            outcome: Outcome::classify(reply),
        };
        (Name::from_ascii("ns1.example.net"), ex)
    }

    /// Differential seed 33: the validation zone's only server answers NXDOMAIN without
    /// the AA bit. unbound takes it (and later the TXT) from that server, so the chain
    /// ends there (lame: a warning), not in a failure (TARGET_ZONE_LAME error).
    #[test]
    fn a_negative_answer_without_aa_is_read_like_unbound_does() {
        let nx = exchange(3, false, false);
        assert!(matches!(nx.1.outcome, Outcome::NxDomain(_)));
        assert!(lame_answer(&[nx]).is_some());
        // a resolver's (RA) negative answer is a cache talking, not the zone
        assert!(lame_answer(&[exchange(3, false, true)]).is_none());
        // REFUSED is never an answer
        assert!(lame_answer(&[exchange(5, false, false)]).is_none());
    }
}

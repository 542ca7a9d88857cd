//! The rules of `check`: the chain, the zones along it, the servers, and what each
//! vantage point sees. Input is evidence already gathered; these functions do no I/O.

use crate::dns::walk::{forged_by_network, is_infrastructure};
use crate::dns::{Exchange, Name, Outcome};
use crate::findings::evidence::{Chain, End, MAX_HOPS};
use crate::findings::evidence::{ResolverView, VantageKind};
use crate::findings::Code;
use crate::findings::{Finding, Observation, Severity};
use crate::model::name::InputName;

/// More hops than this draws a warning: some clients follow only the first hop.
pub const WARN_HOPS: usize = 8;

/// The query restarts a validating resolver allows while following CNAME and DNAME
/// records before it gives up with SERVFAIL: unbound's `max-query-restarts` (default 11
/// since 1.13.2, `MAX_RESTART_COUNT` 8 before; the 1.17.1 Debian 12 ships, the lab's CA
/// resolver, has 11; Let's Encrypt's resolver is unbound) and BIND's `max-query-restarts`
/// (default 11 since 9.18.29). unbound checks `query_restart_count > max` each time it
/// starts on a new name, so 11 restarts pass and the 12th fails.
pub const MAX_RESTARTS: usize = 11;

/// The restarts a resolver needs to follow `chain`: one per hop, wherever the hop's
/// target lies. unbound keeps only the records of the name it asked for from each answer
/// (`scrub_sanitize`: "remainders of CNAME chains are cut off and resolved by iterator"),
/// so a chain that stays in one zone costs one restart per CNAME like any other; a CNAME
/// it already has in its cache costs one too ("this *is* a query restart, even if it is
/// a cheap one"), and a DNAME's synthesized CNAME is one more hop of the chain (one more
/// restart). Differential seeds 212 (12 hops) and 607 (11 CNAMEs and a DNAME).
pub fn restarts(chain: &Chain) -> usize {
    chain.hops.len()
}

/// Everything known about one name.
#[derive(Clone, Debug)]
pub struct NameEvidence {
    pub input: InputName,
    pub chain: Chain,
    pub resolvers: Vec<ResolverView>,
    /// Why the resolvers were not asked (`check`/`diagnose` ask them only once the
    /// authoritative view is right; see `AskResolvers`), if they were not.
    /// (the vantage points not asked, why)
    pub not_asked: Option<(Vec<crate::findings::evidence::Vantage>, String)>,
    /// The doubled owner (`_acme-challenge.www.example.com.example.com.`) and what its
    /// zone's server said about it, when the real owner had no CNAME.
    pub doubled: Option<(Name, Exchange)>,
    pub expect_target: Option<Name>,
    /// When the evidence was gathered (cache expiries are given as times from here).
    pub observed_at: std::time::SystemTime,
    /// When `_acme-challenge.<name>` has no CNAME: the nearest parent challenge name that
    /// has one (it does not cover child names).
    pub parent_cname: Option<ParentCname>,
    /// The zone that delegates the zone holding the challenge name, when that is not the
    /// root or a TLD: a CNAME put there below the cut is never seen.
    pub parent_zone: Option<Name>,
    /// The first CNAME's target has the owner's zone appended (see [`TargetDoubled`]).
    pub target_doubled: Option<TargetDoubled>,
    /// The issuing client known to check with the system resolver (lego, cert-manager),
    /// when its config was read: then a fault of the system view is an error.
    pub system_client: Option<String>,
}

/// A CNAME target with the owner's zone appended: `published` is `meant` + `zone`.
#[derive(Clone, Debug)]
pub struct TargetDoubled {
    /// The CNAME's owner.
    pub owner: Name,
    /// The target as published.
    pub published: Name,
    /// The zone of the owner (appended to the target).
    pub zone: Name,
    /// The target meant: the published one without the appended zone.
    pub meant: Name,
    /// Why `meant` is taken for the target meant ("the expected target", "a name in zone
    /// acme.example.net.").
    pub why: String,
}

/// A CNAME at `_acme-challenge.<parent>` of a name that has none.
#[derive(Clone, Debug)]
pub struct ParentCname {
    pub owner: Name,
    pub target: Name,
    pub exchange: Exchange,
}

impl NameEvidence {
    /// `_acme-challenge.<name>` is the apex of a zone of its own (delegated by NS).
    pub fn challenge_is_cut(&self) -> bool {
        self.chain
            .steps
            .first()
            .is_some_and(|s| s.zone.apex == self.input.challenge)
    }
}

pub fn observe(vantage: &str, ex: &Exchange) -> Observation {
    Observation {
        vantage: vantage.to_string(),
        server: ex.server.to_string(),
        question: ex.question.to_string(),
        outcome: outcome_text(&ex.outcome),
        ttl: ex.outcome.reply().and_then(|r| {
            r.answers
                .first()
                .map(|a| a.ttl)
                .or_else(|| r.negative_ttl())
        }),
        ms: ex.ms(),
    }
}

/// The outcome with its useful detail (EDE text, network error).
pub fn outcome_text(o: &Outcome) -> String {
    o.brief().to_string()
}

fn describe_end(end: &End) -> String {
    match end {
        End::Txt { owner, values, ttl } => {
            format!("TXT {} at {owner} (ttl {ttl})", values.join(" "))
        }
        End::NxDomain {
            owner,
            negative_ttl,
            ..
        } => format!(
            "NXDOMAIN at {owner}{}",
            negative_ttl
                .map(|t| format!(" (negative ttl {t})"))
                .unwrap_or_default()
        ),
        End::NoData { owner, .. } => format!("no TXT at {owner} (NODATA)"),
        End::Loop { at } => format!("a loop back to {at}"),
        End::TooLong => format!("more than {MAX_HOPS} hops"),
        End::Failed { owner, .. } => format!("no usable answer for {owner}"),
    }
}

/// `at + ttl` as an RFC 3339 UTC time.
fn expiry(at: std::time::SystemTime, ttl: u32) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::model::clock::rfc3339(secs + ttl as i64)
}

/// The CNAME record to publish, in zone-file form.
fn cname_line(challenge: &Name, target: &str) -> String {
    format!("{challenge} 300 IN CNAME {target}")
}

fn target_hint(ev: &NameEvidence) -> String {
    ev.expect_target
        .as_ref()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "<label>.<validation zone>.".to_string())
}

/// What the resolvers said, in a few words (for findings about the authoritative view).
fn resolvers_say(ev: &NameEvidence) -> String {
    if ev.resolvers.is_empty() {
        return "no resolver is configured".into();
    }
    ev.resolvers
        .iter()
        .map(|rv| {
            format!(
                "{} {}",
                rv.vantage.name,
                rv.end
                    .as_ref()
                    .map(describe_end)
                    .unwrap_or_else(|| outcome_text(&rv.exchange.outcome))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The authoritative view cannot be had from this network: the network forges the
/// answers of root or TLD servers (`DNS_INTERCEPTED`), or no root server answers at all
/// (`AUTH_UNREACHABLE`). Then this one finding is all that can be said about the name.
fn no_authoritative_view(ev: &NameEvidence) -> Option<Finding> {
    let id = ev.input.identifier.as_str();
    let forged: Vec<(&Name, &Exchange, &Name)> = ev
        .chain
        .steps
        .iter()
        .flat_map(|s| s.exchanges.iter().map(move |(ns, e)| (ns, e, &s.zone.apex)))
        .filter(|(_, e, apex)| forged_by_network(apex, e))
        .collect();
    if let Some((ns, ex, apex)) = forged.first() {
        let r = ex.outcome.reply();
        let why = match &ex.outcome {
            Outcome::Referral(_) => {
                "a referral that loops (back to the zone asked or above it, or to the very server that gave it), where a real one refers down to other servers or answers"
            }
            Outcome::NxDomain(r) | Outcome::NoData(r) if r.authoritative => {
                "with the AA bit but without the SOA every authoritative negative answer carries"
            }
            _ => "without the AA bit where a real one gives a referral or an authoritative answer",
        };
        let what = if apex.is_root() {
            "root server"
        } else {
            "TLD server"
        };
        let mut f = Finding::new(
            Code::DnsIntercepted,
            id,
            format!(
                "this network answers DNS queries itself: {ns} ({}), asked as a {what} of {apex}, answered {} with {}{} {why}, which no {what} does; the authoritative view cannot be read from this network, so the verdict is inconclusive; the resolvers say: {}",
                ex.server,
                ex.question,
                ex.outcome.label(),
                if r.is_some_and(|r| r.recursion_available) { " (recursion available)" } else { "" },
                resolvers_say(ev)
            ),
            "run the check from another network (a server, a CI runner, a phone hotspot), or log in to the captive portal first; with a VPN, make sure DNS goes through it".into(),
        );
        for (ns, e, _) in &forged {
            f = f.observe(observe(ns.as_str(), e));
        }
        for rv in &ev.resolvers {
            f = f.observe(observe(&rv.vantage.name, &rv.exchange));
        }
        return Some(f);
    }
    let root = ev.chain.steps.iter().find(|s| s.zone.apex.is_root())?;
    let unreachable = !root.exchanges.is_empty()
        && root
            .exchanges
            .iter()
            .all(|(_, e)| matches!(e.outcome, Outcome::Timeout | Outcome::Network(_)));
    if !unreachable {
        return refused_by_network(ev, root);
    }
    let mut f = Finding::new(
        Code::AuthUnreachable,
        id,
        format!(
            "no root server could be reached from here ({}): only the resolvers' view is available, so the verdict is inconclusive; the resolvers say: {}",
            root.exchanges
                .iter()
                .map(|(_, e)| format!("{} {}", e.server, outcome_text(&e.outcome)))
                .collect::<Vec<_>>()
                .join("; "),
            resolvers_say(ev)
        ),
        "allow outgoing DNS (UDP and TCP port 53) to the internet from this host, or run the check where that is allowed; the `roots` key of the config names the servers asked".into(),
    );
    for (ns, e) in &root.exchanges {
        f = f.observe(observe(ns.as_str(), e));
    }
    for rv in &ev.resolvers {
        f = f.observe(observe(&rv.vantage.name, &rv.exchange));
    }
    Some(f)
}

/// Every root server answered, but only SERVFAIL or REFUSED (or nothing): no real root
/// server refuses or fails a plain question, the network in between does (a firewall, a
/// filtering proxy). Like an interception, the authoritative view cannot be read from
/// here: `DNS_INTERCEPTED`, inconclusive, not errors that blame the root hints.
fn refused_by_network(
    ev: &NameEvidence,
    root: &crate::findings::evidence::Step,
) -> Option<Finding> {
    let refusing = |o: &Outcome| matches!(o, Outcome::ServFail(_) | Outcome::Refused(_));
    let no_view = !root.exchanges.is_empty()
        && root.exchanges.iter().all(|(_, e)| {
            refusing(&e.outcome) || matches!(e.outcome, Outcome::Timeout | Outcome::Network(_))
        })
        && root.exchanges.iter().any(|(_, e)| refusing(&e.outcome));
    if !no_view {
        return None;
    }
    let id = ev.input.identifier.as_str();
    let mut f = Finding::new(
        Code::DnsIntercepted,
        id,
        format!(
            "this network answers DNS queries itself: every root server asked refused or failed the question ({}), which no root server does; the authoritative view cannot be read from this network, so the verdict is inconclusive; the resolvers say: {}",
            root.exchanges
                .iter()
                .map(|(_, e)| format!("{} {} {}", e.server, e.question, outcome_text(&e.outcome)))
                .collect::<Vec<_>>()
                .join("; "),
            resolvers_say(ev)
        ),
        "run the check from another network (a server, a CI runner, a phone hotspot), or allow outgoing DNS (UDP and TCP port 53) from this host; the `roots` key of the config names the servers asked".into(),
    );
    for (ns, e) in &root.exchanges {
        f = f.observe(observe(ns.as_str(), e));
    }
    for rv in &ev.resolvers {
        f = f.observe(observe(&rv.vantage.name, &rv.exchange));
    }
    Some(f)
}

/// When the authoritative view cannot be had (`DNS_INTERCEPTED`, `AUTH_UNREACHABLE`), the
/// resolvers' agreeing answers decide: when every resolver that answered gives the same
/// chain and that chain is wrong, that is the usual error (`CNAME_MISSING` for an NXDOMAIN
/// at the challenge name, `CNAME_WRONG_TARGET` for a chain that never reaches the expected
/// target), its evidence saying that it comes from the resolvers. None when no resolver
/// answered, when they disagree, or when what they show is right or cannot be judged
/// without the authoritative servers (no CNAME but the name exists: it may be a zone of its
/// own, `CHALLENGE_ZONE_CUT`): the name stays inconclusive, never OK.
fn resolvers_decide(ev: &NameEvidence, blind: Code) -> Option<Finding> {
    let id = ev.input.identifier.as_str();
    let challenge = &ev.input.challenge;
    // A negative answer without the SOA every real one carries (RFC 2308) was made up by
    // the network (see `DNS_INTERCEPTED`): no resolver's view, like a failure.
    let answered: Vec<&ResolverView> = ev
        .resolvers
        .iter()
        .filter(|rv| match &rv.end {
            Some(End::NxDomain { negative_ttl, .. } | End::NoData { negative_ttl, .. }) => {
                negative_ttl.is_some()
            }
            end => end.is_some(),
        })
        .filter(|rv| rv.exchange.outcome.is_usable())
        .collect();
    let first = answered.first()?;
    let targets = |rv: &ResolverView| rv.hops.iter().map(|h| h.target.clone()).collect::<Vec<_>>();
    let seen = targets(first);
    let nxdomain_here = |rv: &ResolverView| matches!(&rv.end, Some(End::NxDomain { owner, .. }) if owner == challenge);
    let agree = answered.iter().all(|rv| {
        targets(rv) == seen && (!seen.is_empty() || nxdomain_here(rv) == nxdomain_here(first))
    });
    if !agree {
        return None;
    }
    let who = answered
        .iter()
        .map(|rv| format!("{} ({})", rv.vantage.name, rv.exchange.server))
        .collect::<Vec<_>>()
        .join(", ");
    let failed = ev.resolvers.len() - answered.len();
    let source = format!(
        "said by every resolver that answered ({who}{}), because the authoritative servers could not be reached from this network (see {})",
        if failed > 0 {
            format!("; {failed} more gave no usable answer, or one made up by the network")
        } else {
            String::new()
        },
        blind
    );
    let f = if seen.is_empty() {
        if !nxdomain_here(first) {
            return None;
        }
        Finding::new(
            Code::CnameMissing,
            id,
            format!("{challenge} does not exist (NXDOMAIN), so it has no CNAME: {source}"),
            format!(
                "publish in the zone holding {challenge}: {}",
                cname_line(challenge, &target_hint(ev))
            ),
        )
    } else {
        let expect = ev.expect_target.as_ref()?;
        if seen.contains(expect) {
            return None;
        }
        Finding::new(
            Code::CnameWrongTarget,
            id,
            format!(
                "{challenge} points to {}, and the chain never reaches the expected target {expect}: {source}",
                seen[0]
            ),
            format!("replace the record with: {}", cname_line(challenge, expect.as_str())),
        )
    };
    Some(answered.iter().fold(f, |f, rv| {
        f.observe(observe(&rv.vantage.name, &rv.exchange))
    }))
}

/// The codes that leave a name without an authoritative view: inconclusive.
pub fn blinds(code: Code) -> bool {
    matches!(code, Code::DnsIntercepted | Code::AuthUnreachable)
}

/// Every rule `check` applies to one name's evidence, worst first.
pub fn rules(ev: &NameEvidence) -> Vec<Finding> {
    if let Some(mut f) = no_authoritative_view(ev) {
        // The resolvers' agreeing view may still show the chain wrong: that error first,
        // and the verdict is no longer inconclusive.
        let decided = resolvers_decide(ev, f.code);
        if let Some(d) = &decided {
            f.evidence = f.evidence.replace(
                "so the verdict is inconclusive",
                &format!(
                    "so the resolvers' view decides, and it shows the chain wrong ({})",
                    d.code
                ),
            );
        }
        return decided.into_iter().chain([f]).collect();
    }
    let mut out = Vec::new();
    server_rules(ev, &mut out);
    chain_rules(ev, &mut out);
    target_rules(ev, &mut out);
    vantage_rules(ev, &mut out);
    let mut out = merge_same(out);
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// The authoritative servers along the chain: dead, refusing, failing, lame, disagreeing.
fn server_rules(ev: &NameEvidence, out: &mut Vec<Finding>) {
    let id = ev.input.identifier.as_str();
    let chain = &ev.chain;
    // --- the servers along the chain -------------------------------------------------
    for step in &chain.steps {
        let total = step.exchanges.len();
        let answered = |e: &Exchange| {
            e.outcome.is_usable() && e.outcome.reply().is_some_and(|r| r.authoritative)
        };
        // A root or TLD server that fails while another of its zone answered is not a
        // finding: it is not the user's to fix, and the CA's resolver retries elsewhere.
        if is_infrastructure(&step.zone.apex) && step.exchanges.iter().any(|(_, e)| answered(e)) {
            continue;
        }
        let failed = step
            .exchanges
            .iter()
            .filter(|(_, e)| {
                !(e.outcome.is_usable() && e.outcome.reply().is_some_and(|r| r.authoritative))
            })
            .count();
        // A server that answered without the AA bit still answered for the CA: unbound
        // takes that answer (`step.lame`, TARGET_ZONE_LAME as a warning), so the others'
        // failures are not the whole zone's (differential seed 552).
        let all_failed = failed == total && !step.lame;
        for (ns, ex) in &step.exchanges {
            let vantage = ns.to_string();
            let sev = if all_failed {
                Severity::Error
            } else {
                Severity::Warning
            };
            let zone = &step.zone.apex;
            let others = if all_failed {
                "no other server of the zone answered either, so the CA cannot read the chain"
                    .to_string()
            } else {
                "other servers answered, but the CA may ask this one and fail at random".to_string()
            };
            let f = match &ex.outcome {
                Outcome::Timeout => Some(Finding::new(
                    Code::ServerTimeout,
                    id,
                    format!("{vantage} ({}) did not answer {} for zone {zone} within {} ms; {others}", ex.server, ex.question, ex.ms()),
                    format!("make {} answer on port 53 (UDP and TCP), or remove it from the NS set of {zone} (and the glue in the parent zone)", ex.server),
                )),
                Outcome::Refused(_) => Some(Finding::new(
                    Code::ServerRefused,
                    id,
                    format!("{vantage} ({}) answered REFUSED to {} although it is listed as a server of {zone}; {others}", ex.server, ex.question),
                    format!("configure zone {zone} on {} (or fix the NS records and glue of {zone} in its parent zone)", ex.server),
                )),
                Outcome::ServFail(_) => Some(Finding::new(
                    Code::ServerServfail,
                    id,
                    format!("{vantage} ({}) answered SERVFAIL to {} (asked as a server of {zone}): the zone holding {} is probably not loaded there (check the server's log); {others}", ex.server, ex.question, ex.question.name),
                    format!("fix the zone holding {} on {} until it loads (`knotc zone-check`, `named-checkzone`) and reload it", ex.question.name, ex.server),
                )),
                Outcome::Network(e) => Some(Finding::new(
                    Code::ServerUnreachable,
                    id,
                    format!("{vantage} ({}) could not be reached for {}: {e}; {others}", ex.server, ex.question),
                    format!("start the name server on {} or correct the address of {vantage} (glue) for zone {zone}", ex.server),
                )),
                Outcome::Truncated | Outcome::OtherRcode(_) => Some(Finding::new(
                    Code::ServerUnreachable,
                    id,
                    format!("{vantage} ({}) gave no usable answer to {}: {}; {others}", ex.server, ex.question, outcome_text(&ex.outcome)),
                    format!("check that {} serves zone {zone} over UDP and TCP", ex.server),
                )),
                o if o.is_usable() && !o.reply().is_some_and(|r| r.authoritative) => Some(Finding::new(
                    Code::ServerLame,
                    id,
                    format!("{vantage} ({}) answered {} without the AA bit: it is listed for {zone} but does not serve it", ex.server, ex.question),
                    format!("load zone {zone} on {}, or remove that server from the NS set of {zone}", ex.server),
                )),
                _ => None,
            };
            if ex.flags.no_edns && ex.outcome.responded() {
                // Asked again without EDNS after the query with EDNS went unanswered (the
                // walker's fallback): not dead, but EDNS-broken. Resolvers since the DNS
                // Flag Day 2019 (the CA's too) do not retry without EDNS: when no server of
                // the zone answers with EDNS, the CA cannot read the chain.
                // An answer without the AA bit from a server that offers no recursion counts:
                // unbound takes it (as for TARGET_ZONE_LAME; differential seed 3769).
                let edns_ok = step.exchanges.iter().any(|(_, e)| {
                    !e.flags.no_edns
                        && e.outcome.is_usable()
                        && e.outcome
                            .reply()
                            .is_some_and(|r| r.authoritative || !r.recursion_available)
                });
                let (sev, consequence) = if edns_ok {
                    (Severity::Warning, "another server of the zone answers with EDNS, but the CA may ask this one and fail at random")
                } else {
                    (Severity::Error, "no server of the zone answers a query with EDNS, so the CA's resolver cannot read the chain")
                };
                out.push(
                    Finding::new(
                        Code::ServerEdnsBroken,
                        id,
                        format!(
                            "{vantage} ({}), a server of {zone}, drops every query with EDNS but answers without it ({} without EDNS: {}): it is not dead, but resolvers since the DNS Flag Day 2019 (the CA's too) no longer retry without EDNS and treat it as dead; {consequence} (RFC 6891)",
                            ex.server,
                            ex.question,
                            outcome_text(&ex.outcome)
                        ),
                        format!("upgrade or fix the software on {} so that it answers EDNS queries with EDNS (RFC 6891)", ex.server),
                    )
                    .severity(sev)
                    .observe(observe(&vantage, ex)),
                );
            }
            if let Some(f) = f {
                let mut f = if f.code == Code::ServerLame {
                    f
                } else {
                    f.severity(sev)
                };
                if is_infrastructure(zone) {
                    // Never advise fixing a root or TLD server: the path to it is the problem.
                    f.fix = format!(
                        "{} is a server of {zone}, which its operator runs, not you: check this network's path to it (firewall, proxy, a missing IPv6 route), or try again later",
                        ex.server
                    );
                }
                out.push(f.observe(observe(&vantage, ex)));
            }
        }
        if step.lame {
            let mut f = Finding::new(
                Code::TargetZoneLame,
                id,
                format!(
                    "no server of {} answers {} with the AA bit: the zone is lame. The CA's resolver (unbound) still accepts the non-authoritative answer, so validation succeeds as long as that answer is right; stricter resolvers (BIND) treat the servers as lame and fail",
                    step.zone.apex, step.question
                ),
                format!(
                    "load zone {} on its name servers (or fix its NS records and glue in the parent zone) so that they answer authoritatively",
                    step.zone.apex
                ),
            )
            .severity(Severity::Warning);
            for (ns, e) in &step.exchanges {
                f = f.observe(observe(ns.as_str(), e));
            }
            out.push(f);
        }
        if step.disagree {
            let mut f = Finding::new(
                Code::AuthDisagree,
                id,
                format!(
                    "the servers of {} give different answers to {}: {}; the CA asks one of them at random",
                    step.zone.apex,
                    step.question,
                    step.exchanges
                        .iter()
                        .map(|(ns, e)| format!("{ns} ({}) says {}", e.server, summarize(e)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                format!(
                    "make every server of {} serve the same zone: fix zone transfers (NOTIFY/AXFR) or the hidden primary, compare SOA serials (`dig +nssearch {}`)",
                    step.zone.apex,
                    step.zone.apex.without_dot()
                ),
            );
            for (ns, e) in &step.exchanges {
                f = f.observe(observe(ns.as_str(), e));
            }
            out.push(f);
        }
    }
}

/// The chain itself: missing or doubled CNAME, loops, length, the expected target.
fn chain_rules(ev: &NameEvidence, out: &mut Vec<Finding>) {
    let id = ev.input.identifier.as_str();
    let chain = &ev.chain;
    let challenge = &ev.input.challenge;
    // --- the chain itself ---------------------------------------------------------------
    // The zone of the challenge name answered: authoritatively, or only without the AA bit
    // (`lame`), which unbound takes as the answer all the same (an NXDOMAIN without AA is
    // the CA's NXDOMAIN: differential seed 541).
    let first_step_ok = chain.steps.first().is_some_and(|s| {
        s.lame
            || s.exchanges.iter().any(|(_, e)| {
                e.outcome.is_usable() && e.outcome.reply().is_some_and(|r| r.authoritative)
            })
    });
    if chain.hops.is_empty() && first_step_ok {
        let what = describe_end(&chain.end);
        let zone = chain
            .steps
            .first()
            .map(|s| s.zone.apex.clone())
            .unwrap_or_else(Name::root);
        let relative = challenge.relative_to(&zone);
        if ev.challenge_is_cut() {
            let first = &chain.steps[0];
            out.push(Finding::new(
                Code::ChallengeZoneCut,
                id,
                format!(
                    "{challenge} is a zone of its own: its parent delegates it by NS ({}) instead of a CNAME, and its servers ({}) answer for it: {what}. A supported setup: the CA reads the TXT there, and every check here ran against that zone's servers",
                    first.zone.parent_ns.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
                    first.zone.servers.iter().map(|s| format!("{} {}", s.name, s.addr)).collect::<Vec<_>>().join(", ")
                ),
                format!(
                    "none needed: the client must write the TXT in zone {challenge} (lego and certbot-dns-rfc2136 find it by their SOA lookup; cert-manager releases before the fix of its issue #3055 do not)"
                ),
            ));
        } else if let Some((doubled, ex)) = &ev.doubled {
            // A record at the doubled name is more specific than "a parent has one".
            out.push(
                Finding::new(
                    Code::CnameDoubledZone,
                    id,
                    format!(
                        "{challenge} has no CNAME ({what}), but {doubled} has one: the DNS panel appended the zone {zone} to a name that already ended in it"
                    ),
                    format!(
                        "delete the record at {doubled} and publish the CNAME with the owner \"{relative}\" (relative, as the panel expects) or the full name with a trailing dot: {}",
                        cname_line(challenge, &doubled_target(ex).unwrap_or_else(|| target_hint(ev)))
                    ),
                )
                .observe(observe("authoritative", ex)),
            );
        } else {
            // Nothing more specific is true: CNAME_MISSING, with what is known around it
            // (a parent's CNAME, a zone cut above the name) as context.
            let mut evidence =
                format!("the authoritative servers of {zone} have no CNAME at {challenge}: {what}");
            let mut target = target_hint(ev);
            if let Some(p) = &ev.parent_cname {
                evidence.push_str(&format!(
                    "; {} has one (CNAME {}), but a CNAME covers only its own name, never the names below it",
                    p.owner, p.target
                ));
                if ev.expect_target.is_none() {
                    target = p.target.to_string();
                }
            }
            if let Some(parent) = &ev.parent_zone {
                let servers = chain.steps[0]
                    .zone
                    .servers
                    .iter()
                    .map(|s| format!("{} {}", s.name, s.addr))
                    .collect::<Vec<_>>()
                    .join(", ");
                evidence.push_str(&format!(
                    "; {challenge} is in zone {zone}, which {parent} delegates (a zone cut): the CA asks only the servers of {zone} ({servers}), so a CNAME published in zone {parent} below that cut is never seen"
                ));
            }
            let shared = if ev.parent_cname.is_some() && ev.expect_target.is_none() {
                " (the parent's target, if the client writes there for this name too; or a target of its own)"
            } else {
                ""
            };
            let mut f = Finding::new(
                Code::CnameMissing,
                id,
                evidence,
                format!(
                    "publish in zone {zone}: {}{shared} (in a DNS panel that appends the zone, the owner is \"{relative}\"){}",
                    cname_line(challenge, &target),
                    if matches!(chain.end, End::Txt { .. }) { "; and delete the TXT record that sits there now" } else { "" }
                ),
            );
            if let Some(p) = &ev.parent_cname {
                f = f.observe(observe("authoritative", &p.exchange));
                out.push(
                    Finding::new(
                        Code::CnameParentOnly,
                        id,
                        format!(
                            "{} has a CNAME (to {}), but it does not cover {challenge}: a CNAME covers only its own name (see CNAME_MISSING)",
                            p.owner, p.target
                        ),
                        "none on its own: the fix of CNAME_MISSING publishes the child's CNAME".into(),
                    )
                    .severity(Severity::Info),
                );
            }
            out.push(f);
        }
    }
    target_doubled_rule(ev, out);
    match &chain.end {
        End::Loop { at } => out.push(Finding::new(
            Code::ChainLoop,
            id,
            format!(
                "the chain comes back to {at}: {}",
                chain.hops.iter().map(|h| format!("{} -> {}", h.owner, h.target)).collect::<Vec<_>>().join(", ")
            ),
            format!("point {challenge} straight at the validation target: {}", cname_line(challenge, &target_hint(ev))),
        )),
        End::TooLong => out.push(
            Finding::new(
                Code::ChainTooLong,
                id,
                format!("the chain has more than {MAX_HOPS} hops (followed {}); resolvers give up and the CA fails", chain.hops.len()),
                format!("replace the chain with one CNAME: {}", cname_line(challenge, &target_hint(ev))),
            )
            .severity(Severity::Error),
        ),
        _ if restarts(chain) > MAX_RESTARTS => out.push(
            Finding::new(
                Code::ChainTooLong,
                id,
                format!(
                    "the chain has {} hops (CNAMEs, and the CNAMEs a DNAME synthesizes): a validating resolver restarts its query at each hop and gives up after {MAX_RESTARTS} restarts (unbound, as Let's Encrypt uses it, and BIND), so the CA gets SERVFAIL",
                    restarts(chain)
                ),
                format!(
                    "point {challenge} straight at the end of the chain: {}",
                    cname_line(challenge, chain.target().map(|t| t.as_str()).unwrap_or("<target>."))
                ),
            )
            .severity(Severity::Error),
        ),
        _ if chain.hops.len() > WARN_HOPS => out.push(Finding::new(
            Code::ChainTooLong,
            id,
            format!(
                "the chain has {} hops (more than {WARN_HOPS}): the CA follows it, but clients that follow only the first hop write the TXT in the wrong place, and some give up early",
                chain.hops.len()
            ),
            format!(
                "point {challenge} straight at the end of the chain: {}",
                cname_line(challenge, chain.target().map(|t| t.as_str()).unwrap_or("<target>."))
            ),
        )),
        _ => {}
    }
    for h in chain.hops.iter().filter(|h| h.published.is_some()) {
        out.push(Finding::new(
            Code::NameCaseDiffers,
            id,
            format!(
                "{} ({}) publishes the record as `{}`: DNS names compare case-insensitively, so this is {} CNAME {} and the chain is read on; clients that compare names case-sensitively (acme-dns-client, cert-manager) may report a mismatch",
                h.server,
                h.zone.as_ref().map(|z| z.to_string()).unwrap_or_default(),
                h.published.as_deref().unwrap_or_default(),
                h.owner,
                h.target
            ),
            format!(
                "none needed for the CA; for clients that compare case-sensitively, publish it in lower case: {} 300 IN CNAME {}",
                h.owner, h.target
            ),
        ));
    }
    let doubled_expected = ev
        .target_doubled
        .as_ref()
        .is_some_and(|d| Some(&d.meant) == ev.expect_target.as_ref());
    if let (Some(expect), false, false) =
        (&ev.expect_target, chain.hops.is_empty(), doubled_expected)
    {
        if !chain.hops.iter().any(|h| &h.target == expect) {
            let first = &chain.hops[0];
            out.push(Finding::new(
                Code::CnameWrongTarget,
                id,
                format!(
                    "{} points to {} (said by {}), and the chain never reaches the expected target {expect}",
                    first.owner, first.target, first.server
                ),
                format!("replace the record with: {}", cname_line(challenge, expect.as_str())),
            ));
        }
    }
}

/// Target-side doubling: a CNAME target written without its trailing dot in a panel that
/// appends the zone (`label.acme.example.net.example.com.`). The CA follows it into the
/// owner's zone, where no client writes.
fn target_doubled_rule(ev: &NameEvidence, out: &mut Vec<Finding>) {
    let Some(d) = &ev.target_doubled else {
        return;
    };
    let id = ev.input.identifier.as_str();
    let fix = format!(
        "replace the record with: {} (with the trailing dot; in a DNS panel that appends the zone to names without one, enter the target as \"{}\" with the dot at the end)",
        cname_line(&d.owner, d.meant.as_str()),
        d.meant
    );
    // The zone appended is not the zone of the challenge name (a later hop inside the
    // validation zone: `lbl.acme.example.net.acme.example.net.`, or in another zone the
    // chain passes): the doubled name is the end of the chain in that zone, and a client
    // that follows the chain to its end (lego, certbot) writes the TXT there when its key
    // covers that zone, as for any chain, and the CA finds it (differential seeds 165 and
    // 4971). In the challenge name's own zone no client writes (keeping the key out of
    // that zone is what the delegation is for: seeds 733, 4284), and a client set up with
    // the meant target (a plan, `--expect-target`, acme-dns) writes at the meant name.
    let own_zone = ev.chain.steps.first().map(|s| &s.zone.apex);
    if own_zone.is_some_and(|z| *z != d.zone) && ev.expect_target.is_none() {
        out.push(
            Finding::new(
                Code::CnameTargetDoubled,
                id,
                format!(
                    "{} points to {}: the target ends with the zone {} of its owner and its leading part is {}, {}; the DNS panel appended the zone to a target written without its trailing dot. The doubled name is the end of the chain in zone {}: a client that follows the CNAME chain writes the TXT there (if its key covers that zone) and the CA finds it, but a client set up with the target {} writes where the CA does not look",
                    d.owner, d.published, d.zone, d.meant, d.why, d.zone, d.meant
                ),
                fix,
            )
            .severity(Severity::Warning),
        );
        return;
    }
    out.push(Finding::new(
        Code::CnameTargetDoubled,
        id,
        format!(
            "{} points to {}: the target ends with the zone {} of its owner and its leading part is {}, {}; the DNS panel appended the zone to a target written without its trailing dot, so the CA looks for the TXT at {} (in {}), where the client does not write",
            d.owner, d.published, d.zone, d.meant, d.why, d.published, d.zone
        ),
        fix,
    ));
}

/// The zone at the end of the chain: undelegated, or no server answers for it.
fn target_rules(ev: &NameEvidence, out: &mut Vec<Finding>) {
    let id = ev.input.identifier.as_str();
    let chain = &ev.chain;
    if !chain.hops.is_empty() {
        let last = chain.steps.last();
        match &chain.end {
            End::NxDomain { owner, .. } => {
                if let Some(missing) = last
                    .and_then(|s| s.missing_at.as_ref())
                    .filter(|m| *m != owner && owner.is_subdomain_of(m))
                {
                    let zone = last.map(|s| s.zone.apex.to_string()).unwrap_or_default();
                    out.push(Finding::new(
                        Code::TargetZoneUndelegated,
                        id,
                        format!(
                            "the target {owner} is not in any delegated zone: {zone} says {missing} does not exist (NXDOMAIN), so no server will ever hold the TXT"
                        ),
                        format!(
                            "create the validation zone and delegate it from its parent ({} NS <your server>. plus glue), or correct the CNAME target",
                            owner.parent()
                        ),
                    ));
                }
            }
            End::Failed { owner, zone } => {
                let z = zone.clone().unwrap_or_else(Name::root);
                let mut f = Finding::new(
                    Code::TargetZoneLame,
                    id,
                    format!("no server of {z}, the zone of the target {owner}, answered authoritatively; the CA cannot read the TXT"),
                    format!("make the servers named in the NS records of {z} serve the zone (or fix the NS records and glue in the parent of {z})"),
                );
                if let Some(s) = last {
                    for (ns, e) in &s.exchanges {
                        f = f.observe(observe(ns.as_str(), e));
                    }
                }
                out.push(f);
            }
            _ => {}
        }
    }
}

/// Each resolver's view, compared with the authoritative chain hop by hop.
fn vantage_rules(ev: &NameEvidence, out: &mut Vec<Finding>) {
    let id = ev.input.identifier.as_str();
    let chain = &ev.chain;
    let challenge = &ev.input.challenge;
    // --- the vantage points -------------------------------------------------------------
    // The authoritative servers serve the right chain when nothing above is an error: then
    // a resolver's fault is that resolver's alone, and the CA (which resolves for itself)
    // is not affected by it.
    let auth_ok = !out.iter().any(|f| f.severity == Severity::Error)
        && (!chain.hops.is_empty() || ev.challenge_is_cut())
        && matches!(
            chain.end,
            End::Txt { .. } | End::NxDomain { .. } | End::NoData { .. }
        );
    let auth_t: Vec<&Name> = chain.hops.iter().map(|h| &h.target).collect();
    fn targets(rv: &ResolverView) -> Vec<&Name> {
        rv.hops.iter().map(|h| &h.target).collect()
    }
    let sees_right = |rv: &ResolverView| rv.exchange.outcome.is_usable() && targets(rv) == auth_t;
    let outside = |rv: &&ResolverView| rv.vantage.kind == VantageKind::Resolver;
    let grade = |rv: &ResolverView, cache: bool| -> (Severity, String) {
        if !auth_ok {
            return (Severity::Error, String::new());
        }
        // The CA's own resolver timing out: it was asked twice (see `ask_resolver`), with
        // the patience the CA has, and did not answer either time. A server of the chain
        // that does not answer while another of its zone does is no excuse: a resolver
        // held up by it answers the second question, and one that still does not answer
        // cannot end its resolution (a zone whose DNSSEC fails validation makes unbound
        // retry every server, the dead one too: differential seeds 906 and 1792).
        if rv.vantage.ca && matches!(rv.exchange.outcome, Outcome::Timeout) {
            let how = if rv.not_waited.is_some() {
                "it hung on this dead server before in this run"
            } else {
                "it was asked twice and answered neither time"
            };
            return (
                Severity::Error,
                format!("; this is the CA's own resolver (`ca = true`): {how}, so the CA's validation times out (a resolver held up only by a dead server answers a second question; one that does not may be retrying every server of a zone whose DNSSEC fails validation)"),
            );
        }
        if rv.vantage.ca {
            return (
                Severity::Error,
                "; this is the CA's own resolver (`ca = true` in the config): the CA gets this answer, so its validation fails".into(),
            );
        }
        if rv.vantage.kind == VantageKind::System {
            return match &ev.system_client {
                Some(c) => (
                    Severity::Error,
                    format!("; {c} checks with this resolver, so it will not see the right record and its validation fails"),
                ),
                None => (
                    Severity::Warning,
                    "; the CA does not use this resolver, but a client that checks with it (lego, cert-manager) waits for the wrong answer".into(),
                ),
            };
        }
        let others_right = ev
            .resolvers
            .iter()
            .filter(outside)
            .any(|o| o.vantage != rv.vantage && sees_right(o));
        if cache || others_right {
            (
                Severity::Warning,
                "; every authoritative server serves the right chain and the CA does its own resolution, so the CA is not affected".into(),
            )
        } else {
            (Severity::Error, String::new())
        }
    };
    for rv in &ev.resolvers {
        let ex = &rv.exchange;
        let who = format!("{} ({})", rv.vantage.name, ex.server);
        let obs = observe(&rv.vantage.name, ex);
        let (sev, note) = grade(rv, false);
        let f = match &ex.outcome {
            Outcome::Timeout => Some(Finding::new(
                Code::ServerTimeout,
                id,
                match rv.not_waited {
                    Some(dead) => format!("resolver {who} was asked {} but not waited for: in this run it already timed out again and again (the last time after {} ms) on names whose chain passes {dead}, a server that stopped answering, and this chain passes it too{note}", ex.question, ex.ms()),
                    None => format!("resolver {who} did not answer {} within {} ms: it could not resolve the chain in time{note}", ex.question, ex.ms()),
                },
                "look for an authoritative server along the chain that does not answer (see the other findings); a resolver waits for it".to_string(),
            )),
            Outcome::Refused(_) => Some(Finding::new(
                Code::ServerRefused,
                id,
                format!("resolver {who} answered REFUSED: it does not serve this client{note}"),
                format!("allow this host in the resolver's access control, or remove {} from the config", rv.vantage.name),
            )),
            Outcome::ServFail(r) => Some(Finding::new(
                Code::ServerServfail,
                id,
                format!(
                    "resolver {who} answered SERVFAIL to {}{}: the chain cannot be resolved from there (a loop, a lame or dead zone, or broken DNSSEC){note}",
                    ex.question,
                    r.ede.first().map(|e| format!(" (EDE {}: {})", e.code, e.text.trim())).unwrap_or_default()
                ),
                "fix the zone the other findings name; for DNSSEC, compare `dig +cd` with `dig` at this resolver".to_string(),
            )),
            Outcome::Network(e) => Some(Finding::new(
                Code::ServerUnreachable,
                id,
                format!("resolver {who} could not be reached: {e}{note}"),
                format!("check the address of {} in the config", rv.vantage.name),
            )),
            _ => None,
        };
        if let Some(f) = f {
            out.push(f.severity(sev).observe(obs));
            continue;
        }
        // Compare the whole chain hop by hop; the authoritative side must be readable.
        if chain.hops.is_empty()
            || matches!(
                chain.end,
                End::Failed { .. } | End::Loop { .. } | End::TooLong
            )
        {
            continue; // no CNAME or a broken chain: the findings above say why
        }
        let seen_t = targets(rv);
        if seen_t == auth_t {
            continue;
        }
        let i = (0..=auth_t.len().max(seen_t.len()))
            .find(|&i| seen_t.get(i) != auth_t.get(i))
            .unwrap_or(0);
        let at = if i == 0 {
            challenge.clone()
        } else {
            auth_t[i - 1].clone()
        };
        let auth_txt = auth_t
            .get(i)
            .map(|t| format!("CNAME {t}"))
            .unwrap_or_else(|| describe_end(&chain.end));
        let seen_txt = seen_t
            .get(i)
            .map(|t| format!("CNAME {t}"))
            .unwrap_or_else(|| {
                rv.end
                    .as_ref()
                    .map(describe_end)
                    .unwrap_or_else(|| "nothing".into())
            });
        let negative_ttl = rv.end.as_ref().and_then(|e| match e {
            End::NxDomain { negative_ttl, .. } | End::NoData { negative_ttl, .. } => *negative_ttl,
            _ => None,
        });
        let negative = seen_t.get(i).is_none()
            && matches!(rv.end, Some(End::NxDomain { .. } | End::NoData { .. }));
        let expires = |t: u32| format!(" that expires in {t} s (at {})", expiry(ev.observed_at, t));
        // The inside view differs by itself only when it comes from a resolver of its own
        // and no cache explains the difference (a negative answer, or the same old record
        // an outside resolver still serves).
        let split = rv.vantage.kind == VantageKind::System
            && !negative
            && !ev
                .resolvers
                .iter()
                .filter(outside)
                .any(|o| o.vantage.addr == rv.vantage.addr || targets(o) == seen_t);
        let (sev, note) = grade(rv, true);
        let f = if split {
            Finding::new(
                Code::SplitHorizon,
                id,
                format!(
                    "the system resolver {who} sees {seen_txt} at {at}, the authoritative servers and every outside resolver say {auth_txt}: the inside view differs (an internal override), and the CA sees only the outside{note}"
                ),
                format!(
                    "remove the internal override of {at} (or publish the same record inside); clients that check propagation with this resolver wait for the wrong record"
                ),
            )
        } else if negative {
            Finding::new(
                Code::NegativeCached,
                id,
                format!(
                    "resolver {who} answers {seen_txt} for {at}, but the authoritative servers have {auth_txt}: it serves a cached negative answer{}{note}",
                    negative_ttl.map(expires).unwrap_or_default()
                ),
                format!(
                    "wait {} for the cache to expire (or flush it: `unbound-control flush {}`); next time publish the CNAME before anything looks the name up",
                    negative_ttl.map(|t| format!("{t} s")).unwrap_or_else(|| "the negative TTL (SOA minimum)".into()),
                    at.without_dot()
                ),
            )
        } else {
            let ttl = rv.hops.get(i).map(|h| h.ttl).unwrap_or(0);
            Finding::new(
                Code::ResolverStale,
                id,
                format!(
                    "resolver {who} sees {seen_txt} at {at}, the authoritative servers say {auth_txt}: it serves an old cached record{}{note}",
                    expires(ttl)
                ),
                format!("wait {ttl} s for the cache to expire, or flush {} at that resolver", at.without_dot()),
            )
        };
        out.push(f.severity(sev).observe(obs));
    }
}

/// Findings with the same code, severity and fix become one, with all the evidence
/// (three resolvers timing out is one problem seen three times).
pub fn merge_same(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.code == f.code && o.severity == f.severity && o.fix == f.fix)
        {
            Some(o) => {
                o.evidence = format!("{}; {}", o.evidence, f.evidence);
                o.observed.extend(f.observed);
            }
            None => out.push(f),
        }
    }
    out
}

/// What an answer says, in a few words (for comparing servers).
pub(crate) fn summarize(e: &Exchange) -> String {
    match e.outcome.reply() {
        Some(r) if !r.answers.is_empty() => r
            .answers
            .iter()
            .map(|a| format!("{} {}", a.rtype(), a.data.to_text()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => outcome_text(&e.outcome),
    }
}

fn doubled_target(ex: &Exchange) -> Option<String> {
    ex.outcome
        .reply()?
        .answers
        .iter()
        .find_map(|r| match &r.data {
            crate::dns::RData::CNAME(t) => Some(t.to_string()),
            _ => None,
        })
}

//! The troubleshooter's extra rules (on top of `check`'s): DNSSEC, CAA (RFC 8659/8657),
//! wildcard capture, stale TXT, conflicting records, TTLs, acme-dns's two values.
//! Pure functions over gathered evidence.

use super::chain::{observe, outcome_text, summarize, NameEvidence};
use crate::dns::walk::Zone;
use crate::dns::{Caa, Exchange, Name, Outcome, RData, Rcode};
use crate::findings::evidence::End;
use crate::findings::Code;
use crate::findings::{Finding, Severity};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Above this many seconds a negative answer (or the TXT) lives long enough in caches that
/// one early lookup delays validation noticeably.
pub const TTL_HIGH_SECS: u32 = 120;

/// The CAA record set that applies to an identifier, found by climbing the tree.
#[derive(Clone, Debug, Default)]
pub struct CaaLookup {
    /// The resolver asked (the CA's stand-in).
    pub vantage: String,
    /// The node whose CAA set applies, and the set (None: no CAA anywhere up the tree).
    pub relevant: Option<(Name, Vec<Caa>)>,
    /// A lookup that failed (SERVFAIL, timeout): the CA refuses to issue.
    pub failed: Option<Exchange>,
    pub exchanges: Vec<Exchange>,
}

/// A validating resolver answered SERVFAIL and the same question with CD set succeeded.
#[derive(Clone, Debug)]
pub struct CdRetry {
    pub vantage: String,
    pub servfail: Exchange,
    pub with_cd: Exchange,
    /// The zone where the chain of trust breaks, when the EDE does not name it: the first
    /// zone on the chain whose SOA the same resolver fails to validate.
    pub broken_zone: Option<Name>,
}

/// DNSSEC status of the target's zone.
#[derive(Clone, Debug)]
pub struct ZoneSigning {
    pub zone: Name,
    pub has_dnskey: bool,
    pub has_ds: bool,
}

/// One server of a zone on the chain, asked the zone's SOA the ways a resolver may ask.
#[derive(Clone, Debug)]
pub struct ServerProbe {
    pub ns: Name,
    pub addr: SocketAddr,
    /// Over UDP, with EDNS.
    pub udp: Exchange,
    /// Over TCP.
    pub tcp: Exchange,
    /// Over UDP without EDNS (asked when `udp` failed or came without OPT).
    pub no_edns: Option<Exchange>,
    /// Over UDP with the name in mixed case (0x20).
    pub mixed: Exchange,
}

/// The delegation of one zone on the chain, as its parent and its own servers give it.
#[derive(Clone, Debug)]
pub struct ZoneHealth {
    pub zone: Arc<Zone>,
    /// The zone's own NS set, from its first server that answered authoritatively.
    pub child_ns: Option<Vec<Name>>,
    /// The zone's own A/AAAA for its name servers that came with glue.
    pub child_addrs: Vec<(Name, Vec<IpAddr>)>,
    pub servers: Vec<ServerProbe>,
}

/// Another type than TXT asked of the target's servers, at the end of the chain.
#[derive(Clone, Debug)]
pub struct TypeProbe {
    pub owner: Name,
    /// (name server, its answer to `A <owner>`), for the servers whose TXT answer said the
    /// name exists.
    pub asked: Vec<(Name, Exchange)>,
}

/// The zone a client finds with an SOA walk from a resolver (lego's and cert-manager's
/// `FindZoneByFqdn`): SOA of the name, then of each parent, until an answer holds an SOA.
#[derive(Clone, Debug)]
pub struct SoaWalk {
    pub resolver: String,
    pub start: Name,
    pub asked: Vec<Exchange>,
    /// The owner of the SOA found (None: none was found).
    pub found: Option<Name>,
}

/// Everything `diagnose` knows about one name.
#[derive(Clone, Debug)]
pub struct DiagnoseEvidence {
    pub base: NameEvidence,
    pub ca: String,
    pub caa: CaaLookup,
    pub cd_retries: Vec<CdRetry>,
    /// The answer for a random sibling of `_acme-challenge` at the same host.
    pub wildcard_probe: Option<Exchange>,
    /// The zones the client writes in: those of the expected target and of the plan's
    /// targets (the name's other delegations). A wildcard's target there is fine.
    pub write_zones: Vec<Name>,
    /// The zone of the first hop's target (when a wildcard may have made the hop).
    pub first_target_zone: Option<Name>,
    pub signing: Option<ZoneSigning>,
    /// The delegation of every zone on the chain.
    pub health: Vec<ZoneHealth>,
    pub type_probe: Option<TypeProbe>,
    pub soa_walk: Option<SoaWalk>,
    /// The issuing client, among the configs read, that finds its zone with an SOA walk
    /// from the system resolver (cert-manager, lego with a provider other than rfc2136:
    /// lego's rfc2136 asks its own server).
    pub walk_client: Option<String>,
}

/// CAA property tags a CA knows (RFC 8659, 8657, 9495 and the contact tags).
const KNOWN_TAGS: &[&str] = &[
    "issue",
    "issuewild",
    "iodef",
    "contactemail",
    "contactphone",
    "issuemail",
    "issuevmc",
];

/// Splits an `issue` value into the issuer domain and its parameters.
pub fn parse_issue(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let issuer = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    (issuer, params)
}

pub fn caa_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let id = ev.base.input.identifier.as_str();
    let host = &ev.base.input.host;
    let ca = ev.ca.to_ascii_lowercase();
    let mut out = Vec::new();
    if let Some(ex) = &ev.caa.failed {
        out.push(
            Finding::new(
                Code::CaaLookupFailed,
                id,
                format!(
                    "the CAA lookup for {} at {} failed ({}): a CA must refuse to issue when it cannot read CAA (RFC 8659 section 5.4)",
                    ex.question.name,
                    ev.caa.vantage,
                    super::chain::outcome_text(&ex.outcome)
                ),
                format!(
                    "make CAA queries for {} and its parents answer (NOERROR, even empty): fix the zone or the alias target that fails",
                    host
                ),
            )
            .observe(observe(&ev.caa.vantage, ex)),
        );
        return out;
    }
    let Some((node, set)) = &ev.caa.relevant else {
        return out;
    };
    for c in set.iter().filter(|c| c.critical) {
        if !KNOWN_TAGS.contains(&c.tag.to_ascii_lowercase().as_str()) {
            out.push(Finding::new(
                Code::CaaCriticalUnknown,
                id,
                format!(
                    "{node} has CAA 128 {} \"{}\": the critical flag on a property the CA does not know forbids issuance (RFC 8659 section 4.1)",
                    c.tag, c.value
                ),
                format!("remove the record, or clear its critical flag: {node} CAA 0 {} \"{}\"", c.tag, c.value),
            ));
        }
    }
    let wanted =
        if ev.base.input.wildcard && set.iter().any(|c| c.tag.eq_ignore_ascii_case("issuewild")) {
            "issuewild"
        } else {
            "issue"
        };
    let props: Vec<&Caa> = set
        .iter()
        .filter(|c| c.tag.eq_ignore_ascii_case(wanted))
        .collect();
    if props.is_empty() {
        return out; // no issue/issuewild: any CA may issue
    }
    let matching: Vec<(&Caa, Vec<(String, String)>)> = props
        .iter()
        .filter_map(|c| {
            let (issuer, params) = parse_issue(&c.value);
            (issuer == ca).then_some((*c, params))
        })
        .collect();
    let shown = props
        .iter()
        .map(|c| {
            format!(
                "CAA {} {} \"{}\"",
                if c.critical { 128 } else { 0 },
                c.tag,
                c.value
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if matching.is_empty() {
        out.push(Finding::new(
            Code::CaaForbidsCa,
            id,
            format!(
                "the CAA set at {node} applies to {id} and allows only: {shown}; {ca} is not among them{}",
                if wanted == "issuewild" { " (wildcards use issuewild)" } else { "" }
            ),
            format!("add at {node}: {node} CAA 0 {wanted} \"{ca}\""),
        ));
        return out;
    }
    let allows_dns01 = matching.iter().any(|(_, params)| {
        params
            .iter()
            .find(|(k, _)| k == "validationmethods")
            .is_none_or(|(_, v)| {
                v.split(',')
                    .any(|m| m.trim().eq_ignore_ascii_case("dns-01"))
            })
    });
    if !allows_dns01 {
        out.push(Finding::new(
            Code::CaaForbidsDns01,
            id,
            format!(
                "the CAA record for {ca} at {node} limits validation methods ({shown}); dns-01 is not allowed (RFC 8657)"
            ),
            format!("add dns-01 to validationmethods: {node} CAA 0 {wanted} \"{ca}; validationmethods=dns-01\" (keep the other methods you use)"),
        ));
    }
    for (c, params) in &matching {
        if let Some((_, uri)) = params.iter().find(|(k, _)| k == "accounturi") {
            out.push(
                Finding::new(
                    Code::CaaAccounturi,
                    id,
                    format!(
                        "{node} CAA {} \"{}\" pins issuance to the ACME account {uri}: a renewal from any other account is refused",
                        c.tag, c.value
                    ),
                    format!("renew with the account {uri}, or add a record for the new account's URI"),
                )
                .severity(Severity::Info),
            );
        }
    }
    out
}

/// Extracts the zone named in unbound's EDE text ("... for key bogus.lab. while ...").
fn zone_from_ede(text: &str) -> Option<String> {
    let i = text.find("for key ")?;
    text[i + 8..]
        .split_whitespace()
        .next()
        .map(|s| s.to_string())
}

pub fn dnssec_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let id = ev.base.input.identifier.as_str();
    let mut out = Vec::new();
    let target_zone = ev
        .base
        .chain
        .steps
        .last()
        .map(|s| s.zone.apex.to_string())
        .unwrap_or_else(|| ".".into());
    for r in &ev.cd_retries {
        let ede = r
            .servfail
            .outcome
            .reply()
            .and_then(|x| x.ede.first().cloned());
        // Only the zone where the chain of trust breaks is named: the EDE's, else the one
        // the resolver fails on, else (nothing known) the target's.
        let zone = ede
            .as_ref()
            .and_then(|e| zone_from_ede(&e.text))
            .or_else(|| r.broken_zone.as_ref().map(|z| z.to_string()))
            .unwrap_or_else(|| target_zone.clone());
        out.push(
            Finding::new(
                Code::DnssecBogus,
                id,
                format!(
                    "resolver {} answers SERVFAIL for {}{}, but with checking disabled (CD) it answers {}: DNSSEC validation fails in zone {zone} (its signatures, its DNSKEY or the DS in its parent)",
                    r.vantage,
                    r.servfail.question,
                    ede.map(|e| format!(" (EDE {}: {})", e.code, e.text.trim())).unwrap_or_default(),
                    r.with_cd.outcome.label()
                ),
                format!(
                    "re-sign {zone} or fix its DS in the parent zone (compare `dig DS {zone}` with `dig DNSKEY {zone}`); to stop validating it, remove the DS from the parent"
                ),
            )
            .observe(observe(&r.vantage, &r.servfail))
            .observe(observe(&format!("{} +cd", r.vantage), &r.with_cd)),
        );
    }
    if let Some(s) = &ev.signing {
        if s.has_dnskey && !s.has_ds {
            out.push(
                Finding::new(
                    Code::DnssecInsecureDelegation,
                    id,
                    format!(
                        "zone {} publishes DNSKEY records but its parent has no DS for it: the zone is signed, yet resolvers treat it as insecure (unvalidated)",
                        s.zone
                    ),
                    format!("publish the DS of {} in its parent zone (`keymgr {} ds`, `dnssec-dsfromkey`), or stop signing it", s.zone, s.zone.without_dot()),
                )
                .severity(Severity::Info),
            );
        }
    }
    out
}

pub fn chain_extra_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let base = &ev.base;
    let id = base.input.identifier.as_str();
    let challenge = &base.input.challenge;
    let mut out = Vec::new();
    // A TXT sits where the CNAME should be.
    if let (true, End::Txt { values, ttl, .. }) = (base.chain.hops.is_empty(), &base.chain.end) {
        out.push(Finding::new(
            Code::StaleTxt,
            id,
            format!(
                "a TXT record sits at {challenge} ({}, ttl {ttl}) where the CNAME should be: the CA reads this stale value, not the one in the validation zone",
                values.join(" ")
            ),
            format!("delete the TXT record(s) at {challenge} and publish the CNAME in their place"),
        ));
    }
    // A server returns a CNAME together with other data at one owner.
    for step in &base.chain.steps {
        for (ns, ex) in &step.exchanges {
            let Some(r) = ex.outcome.reply() else {
                continue;
            };
            let mut by_owner: BTreeMap<&Name, (bool, Vec<String>)> = BTreeMap::new();
            for a in &r.answers {
                let e = by_owner.entry(&a.name).or_default();
                match &a.data {
                    RData::CNAME(_) => e.0 = true,
                    other => e.1.push(other.record_type().to_string()),
                }
            }
            for (owner, (cname, others)) in by_owner {
                if cname && !others.is_empty() {
                    out.push(
                        Finding::new(
                            Code::ConflictingRecords,
                            id,
                            format!(
                                "{ns} ({}) returns a CNAME at {owner} together with {}: a CNAME must be alone at its name (RFC 1034 3.6.2, RFC 2181 10.1); resolvers and the CA may pick either",
                                ex.server,
                                others.join(", ")
                            ),
                            format!("delete the {} record(s) at {owner}, keep only the CNAME", others.join("/")),
                        )
                        .observe(observe(ns.as_str(), ex)),
                    );
                }
            }
        }
    }
    // A wildcard CNAME synthesises the answer.
    if let (Some(probe), Some(first)) = (&ev.wildcard_probe, base.chain.hops.first()) {
        let synthesized = probe.outcome.reply().and_then(|r| {
            r.answers.iter().find_map(|a| match &a.data {
                RData::CNAME(t) if a.name == probe.question.name => Some(t.clone()),
                _ => None,
            })
        });
        let shared = ev
            .first_target_zone
            .as_ref()
            .filter(|z| ev.write_zones.contains(z));
        if let (true, Some(zone)) = (synthesized.as_ref() == Some(&first.target), shared) {
            // The client writes exactly there: the CA finds the TXT. Context only.
            out.push(
                Finding::new(
                    Code::WildcardCnameCapture,
                    id,
                    format!(
                        "{challenge} has no CNAME of its own: a wildcard CNAME answers for it (a random name beside it, {}, also gets CNAME {}); its target is in {zone}, the zone the client writes in, so every name under the wildcard shares the target {}",
                        probe.question.name, first.target, first.target
                    ),
                    format!(
                        "none needed; to give this name a target of its own, publish an explicit record, which takes precedence over the wildcard: {challenge} 300 IN CNAME <label>.{zone}"
                    ),
                )
                .severity(Severity::Info)
                .observe(observe("authoritative", probe)),
            );
        } else if synthesized.as_ref() == Some(&first.target) {
            out.push(
                Finding::new(
                    Code::WildcardCnameCapture,
                    id,
                    format!(
                        "{challenge} has no CNAME of its own: a wildcard CNAME answers for it (a random name beside it, {}, also gets CNAME {}): a client that follows CNAMEs writes the TXT into {}'s zone, and the CA reads it there",
                        probe.question.name, first.target, first.target
                    ),
                    format!(
                        "publish an explicit record, which takes precedence over the wildcard: {challenge} 300 IN CNAME <label>.<validation zone>."
                    ),
                )
                .observe(observe("authoritative", probe)),
            );
        }
    }
    // Long negative TTL or TXT TTL at the end of the chain.
    let (what, ttl) = match &base.chain.end {
        End::NxDomain { negative_ttl: Some(t), owner, zone } | End::NoData { negative_ttl: Some(t), owner, zone } => (
            format!(
                "the negative TTL of {} (from its SOA) is {t} s: a lookup of {owner} before the TXT exists makes resolvers answer NXDOMAIN for up to {}",
                zone.as_ref().map(|z| z.to_string()).unwrap_or_else(|| "the target's zone".into()),
                human_secs(*t)
            ),
            *t,
        ),
        End::Txt { ttl, owner, .. } => (
            format!("the TXT at {owner} has TTL {ttl} s: a resolver keeps an old token for up to {}", human_secs(*ttl)),
            *ttl,
        ),
        _ => (String::new(), 0),
    };
    if ttl > TTL_HIGH_SECS && (!base.chain.hops.is_empty() || base.challenge_is_cut()) {
        out.push(Finding::new(
            Code::TtlHigh,
            id,
            what,
            format!(
                "lower the SOA minimum and SOA TTL of the validation zone (and the TXT TTL) to {TTL_HIGH_SECS} s or less (acme-dns: its NXDOMAIN uses 86400 unless configured); never query the target before the TXT is published"
            ),
        ));
    }
    out
}

/// The SOA serial in an answer.
fn serial(ex: &Exchange) -> Option<u32> {
    ex.outcome
        .reply()?
        .answers
        .iter()
        .find_map(|a| match &a.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
}

fn names(v: &[Name]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The delegation health of every zone on the chain (the Zonemaster/DNSViz checks that
/// matter for one DNS-01 lookup): NS sets, glue, NS names without address, TCP, EDNS,
/// 0x20 case, SOA serials.
pub fn delegation_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let id = ev.base.input.identifier.as_str();
    let mut out = Vec::new();
    for h in &ev.health {
        let z = &h.zone;
        let apex = &z.apex;
        if let Some(child) = &h.child_ns {
            let parent: BTreeSet<&Name> = z.parent_ns.iter().collect();
            let own: BTreeSet<&Name> = child.iter().collect();
            if !z.parent_ns.is_empty() && parent != own {
                let only_parent: Vec<Name> =
                    parent.difference(&own).map(|n| (*n).clone()).collect();
                let only_child: Vec<Name> = own.difference(&parent).map(|n| (*n).clone()).collect();
                out.push(Finding::new(
                    Code::DelegationNsMismatch,
                    id,
                    format!(
                        "the parent of {apex} delegates it to {}, but the zone's own NS records say {}{}{}: resolvers use one set or the other, and a server only one side knows may not serve the zone",
                        names(&z.parent_ns),
                        names(child),
                        if only_parent.is_empty() { String::new() } else { format!("; only in the parent: {}", names(&only_parent)) },
                        if only_child.is_empty() { String::new() } else { format!("; only in the zone: {}", names(&only_child)) },
                    ),
                    format!("make the NS records of {apex} the same in its parent zone (the delegation) and at its apex"),
                ));
            }
        }
        for ns in &z.unresolved {
            out.push(Finding::new(
                Code::NsNameUnresolved,
                id,
                format!(
                    "{ns}, a name server of {apex}, has no address (no A/AAAA, or its name does not exist): resolvers that pick it lose a query and time; if it were the only one, the zone would be dead"
                ),
                format!("remove {ns} from the NS records of {apex} (in the parent and at the apex), or give it an address"),
            ));
        }
        for (ns, own) in &h.child_addrs {
            let glue: BTreeSet<IpAddr> = z
                .glue
                .iter()
                .filter(|(n, _)| n == ns)
                .map(|(_, ip)| *ip)
                .collect();
            let own_set: BTreeSet<IpAddr> = own.iter().copied().collect();
            if !glue.is_empty() && glue != own_set {
                let show = |s: &BTreeSet<IpAddr>| {
                    if s.is_empty() {
                        "none".to_string()
                    } else {
                        s.iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                out.push(Finding::new(
                    Code::DelegationGlueMismatch,
                    id,
                    format!(
                        "the parent of {apex} gives the glue {ns} = {}, but the zone itself says {ns} = {}: resolvers that trust the zone's own records (after the first answer) go to another address than the delegation",
                        show(&glue),
                        show(&own_set)
                    ),
                    format!("make the glue for {ns} in the parent zone and its A/AAAA records in {apex} the same"),
                ));
            }
        }
        let mut serials: Vec<(String, u32)> = Vec::new();
        for p in &h.servers {
            let who = format!("{} ({})", p.ns, p.addr);
            let udp_ok = p.udp.outcome.is_usable();
            if udp_ok && !p.tcp.outcome.is_usable() {
                out.push(
                    Finding::new(
                        Code::ServerNoTcp,
                        id,
                        format!(
                            "{who}, a server of {apex}, answers over UDP but not over TCP ({}): an answer too large for UDP (many TXT values, DNSSEC) is truncated and cannot be fetched, and the validation then fails",
                            outcome_text(&p.tcp.outcome)
                        ),
                        format!("allow DNS over TCP (port 53) to {} in the server and the firewall", p.addr),
                    )
                    .observe(observe(p.ns.as_str(), &p.tcp)),
                );
            }
            let no_opt = p.udp.outcome.reply().is_some_and(|r| !r.edns) && udp_ok;
            let plain_ok = p.no_edns.as_ref().is_some_and(|e| e.outcome.is_usable());
            if (!udp_ok && plain_ok) || no_opt {
                let what = if no_opt {
                    "answers a query with EDNS without an OPT record".to_string()
                } else {
                    format!(
                        "answers a query with EDNS with {} but a plain query normally",
                        outcome_text(&p.udp.outcome)
                    )
                };
                let mut f = Finding::new(
                    Code::ServerEdnsBroken,
                    id,
                    format!(
                        "{who}, a server of {apex}, {what}: resolvers (the CA's too) retry without EDNS or give the server up, which is slow and loses DNSSEC and large answers (RFC 6891; the DNS Flag Day 2019 ended the workarounds)"
                    ),
                    format!("upgrade or fix the software on {} so that it answers EDNS queries with EDNS (RFC 6891)", p.addr),
                )
                .observe(observe(p.ns.as_str(), &p.udp));
                if let Some(e) = &p.no_edns {
                    f = f.observe(observe(&format!("{} (no EDNS)", p.ns), e));
                }
                out.push(f);
            }
            if p.mixed.outcome.is_usable()
                && p.mixed.outcome.reply().and_then(|r| r.qname_case_kept) == Some(false)
            {
                out.push(
                    Finding::new(
                        Code::ServerCaseFolded,
                        id,
                        format!(
                            "{who}, a server of {apex}, does not keep the case of the query name ({} asked, answered in other case): resolvers that randomise the case (0x20, as the CA's may) drop such answers as spoofed or fall back to slower queries",
                            p.mixed.question.name
                        ),
                        format!("upgrade or fix the software on {}: the question section of an answer must copy the query name octet for octet", p.addr),
                    )
                    .observe(observe(p.ns.as_str(), &p.mixed)),
                );
            }
            if let Some(s) = serial(&p.udp).or_else(|| p.no_edns.as_ref().and_then(serial)) {
                serials.push((who, s));
            }
        }
        let distinct: BTreeSet<u32> = serials.iter().map(|(_, s)| *s).collect();
        if distinct.len() > 1 {
            let step = ev.base.chain.steps.iter().find(|s| s.zone.apex == *apex);
            let content = match step {
                Some(s) if s.disagree => format!(
                    "and the content differs: to {} {}",
                    s.question,
                    s.exchanges
                        .iter()
                        .map(|(ns, e)| format!("{ns} ({}) says {}", e.server, summarize(e)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(s) => format!(
                    "but their answers to {} are the same, so the difference lies elsewhere in the zone (or only the serial differs)",
                    s.question
                ),
                None => String::new(),
            };
            out.push(Finding::new(
                Code::SoaSerialMismatch,
                id,
                format!(
                    "the servers of {apex} give different SOA serials: {}; {content}: a server that missed an update (NOTIFY/transfer) may answer without the new TXT",
                    serials.iter().map(|(w, s)| format!("{w} {s}")).collect::<Vec<_>>().join(", ")
                ),
                format!(
                    "make every server of {apex} load the same version: check NOTIFY and zone transfers from the primary (`dig +nssearch {}`)",
                    apex.without_dot()
                ),
            ));
        }
    }
    out
}

/// Clients and resolvers known to ask another type than TXT first.
const OTHER_TYPE_FIRST: &str = "cert-manager (it asks for the CNAME/A of the name before the TXT when it checks propagation, cert-manager issue #5826), lego and certbot-dns-rfc2136 (their SOA lookup asks SOA at the target), and resolvers that apply one NXDOMAIN to every type of a name (RFC 8020: systemd-resolved, dnsmasq, some public resolvers)";

/// The target's servers answer NXDOMAIN to a non-TXT question at a name with a TXT.
pub fn type_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let id = ev.base.input.identifier.as_str();
    let Some(p) = &ev.type_probe else {
        return vec![];
    };
    let nx: Vec<&(Name, Exchange)> = p
        .asked
        .iter()
        .filter(|(_, e)| matches!(e.outcome, Outcome::NxDomain(_)))
        .collect();
    let Some((_, first)) = nx.first() else {
        return vec![];
    };
    let neg = first.outcome.reply().and_then(|r| r.negative_ttl());
    let mut f = Finding::new(
        Code::TargetTypeNxdomain,
        id,
        format!(
            "the servers of the target answer {} TXT with data (the name exists) but {} A with NXDOMAIN{}: an NXDOMAIN denies the whole name, so a resolver or client that asks another type first caches \"does not exist\" for {} and then misses the TXT; known to ask another type first: {OTHER_TYPE_FIRST}",
            p.owner,
            p.owner,
            neg.map(|t| format!(" (negative TTL {t} s, {})", human_secs(t))).unwrap_or_default(),
            neg.map(|t| format!("up to {}", human_secs(t))).unwrap_or_else(|| "the negative TTL".into()),
        ),
        format!(
            "make the target's server answer NOERROR with no data (NODATA) for other types at {} (acme-dns: a release with the fix, or put the target behind a server that does); meanwhile lower the SOA minimum of its zone",
            p.owner
        ),
    );
    for (ns, e) in nx {
        f = f.observe(observe(ns.as_str(), e));
    }
    vec![f]
}

/// The zone a client that walks SOA from the system resolver will update.
pub fn soa_walk_rule(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let id = ev.base.input.identifier.as_str();
    let Some(w) = &ev.soa_walk else {
        return vec![];
    };
    let chain = &ev.base.chain;
    let real = if chain.hops.is_empty() {
        chain.steps.first().map(|s| s.zone.apex.clone())
    } else {
        chain.steps.last().map(|s| s.zone.apex.clone())
    };
    let Some(real) = real.filter(|r| !r.is_root()) else {
        return vec![];
    };
    // A walk that ended on a failure (SERVFAIL, timeout) is the resolver's fault, which
    // the other findings report.
    let failed = w.found.is_none() && w.asked.last().is_some_and(|e| !e.outcome.is_usable());
    if w.found.as_ref() == Some(&real) || failed {
        return vec![];
    }
    let why = w
        .asked
        .iter()
        .map(|e| {
            let said = match e.outcome.reply() {
                Some(r) if e.outcome.is_usable() => {
                    if r.answers.iter().any(|a| matches!(a.data, RData::SOA(_))) {
                        format!("the SOA of {}", e.question.name)
                    } else if r.answers.iter().any(|a| matches!(a.data, RData::CNAME(_))) {
                        "a CNAME (skipped)".to_string()
                    } else if r.rcode == Rcode::NXDomain {
                        "NXDOMAIN".to_string()
                    } else {
                        "no SOA in the answer".to_string()
                    }
                }
                _ => outcome_text(&e.outcome),
            };
            format!("SOA {} -> {said}", e.question.name)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let lands = match &w.found {
        Some(z) => format!("lands in zone {z}"),
        None => "finds no zone at all (\"could not find the start of authority\")".to_string(),
    };
    let (sev, who) = match &ev.walk_client {
        Some(c) => (
            Severity::Error,
            format!("{c}, whose config was read, does this"),
        ),
        None => (
            Severity::Warning,
            "lego and cert-manager do this unless their zone is pinned".to_string(),
        ),
    };
    let mut f = Finding::new(
        Code::ClientZoneWalk,
        id,
        format!(
            "a client that finds the zone of {} with an SOA walk from the system resolver {} {lands}, not in {real}, the zone that holds it ({why}): it would send its update for the wrong zone, and the server refuses it; {who}. The resolver hides the SOA of {real} (a split-horizon or filtering resolver)",
            w.start, w.resolver
        ),
        format!(
            "let the system resolver answer SOA {real} (remove the override or filter), or pin the zone in the client (lego: RFC2136 with the zone, cert-manager: the solver's zone) to {real}"
        ),
    )
    .severity(sev);
    for e in &w.asked {
        f = f.observe(observe(&w.resolver, e));
    }
    vec![f]
}

/// A TTL in words: `1day`, `1h 30m`, `45s` (humantime).
fn human_secs(s: u32) -> String {
    humantime::format_duration(std::time::Duration::from_secs(s.into())).to_string()
}

/// A label that looks like an acme-dns subdomain (a UUID).
pub fn looks_like_acme_dns(target: &Name) -> bool {
    let l = target.labels().first().copied().unwrap_or("");
    let parts: Vec<&str> = l.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Names of one order whose chains end at the same acme-dns record: acme-dns keeps only the
/// two newest TXT values, so a third validation overwrites the first.
pub fn two_values_rule(all: &[DiagnoseEvidence]) -> BTreeMap<String, Finding> {
    let mut by_target: BTreeMap<Name, Vec<&DiagnoseEvidence>> = BTreeMap::new();
    for ev in all {
        if let Some(t) = ev.base.chain.target() {
            if looks_like_acme_dns(t) {
                by_target.entry(t.clone()).or_default().push(ev);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (target, evs) in by_target {
        if evs.len() > 2 {
            let ids: Vec<&str> = evs
                .iter()
                .map(|e| e.base.input.identifier.as_str())
                .collect();
            for e in &evs {
                out.insert(
                    e.base.input.identifier.clone(),
                    Finding::new(
                        Code::AcmednsTwoValues,
                        &e.base.input.identifier,
                        format!(
                            "{} names of one order ({}) all point to the acme-dns record {target}; acme-dns keeps only the two newest TXT values, so the third validation overwrites the first and the order fails",
                            ids.len(),
                            ids.join(", ")
                        ),
                        "give each name (apex and its wildcard may share) its own acme-dns registration and CNAME, or split the order into certificates of at most two names per record".to_string(),
                    ),
                );
            }
        }
    }
    out
}

/// Does this exchange hold usable data (for the CD retry)?
pub fn usable(ex: &Exchange) -> bool {
    matches!(
        ex.outcome,
        Outcome::Answer(_) | Outcome::NoData(_) | Outcome::NxDomain(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_values_and_uuid_labels() {
        let (i, p) =
            parse_issue("LetsEncrypt.org; validationmethods=http-01 ; accounturi=https://x/acct/1");
        assert_eq!(i, "letsencrypt.org");
        assert_eq!(p[0], ("validationmethods".into(), "http-01".into()));
        assert_eq!(p[1].0, "accounturi");
        let (i, p) = parse_issue(";");
        assert_eq!(i, "");
        assert!(p.is_empty());
        assert!(looks_like_acme_dns(&Name::from_ascii(
            "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b.auth.example.org"
        )));
        assert!(!looks_like_acme_dns(&Name::from_ascii(
            "www-label.acme.lab"
        )));
        assert_eq!(
            zone_from_ede(
                "DS hash mismatches key from 127.0.0.12 for key bogus.lab. while building"
            )
            .as_deref(),
            Some("bogus.lab.")
        );
        assert_eq!(human_secs(86400), "1day");
        assert_eq!(human_secs(5400), "1h 30m");
        assert_eq!(human_secs(300), "5m");
        assert_eq!(human_secs(0), "0s");
    }
}

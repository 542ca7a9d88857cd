//! The troubleshooter's extra rules (on top of `check`'s): DNSSEC, CAA (RFC 8659/8657),
//! wildcard capture, stale TXT, conflicting records, TTLs, acme-dns's two values.
//! Pure functions over gathered evidence.

use super::chain::{observe, NameEvidence};
use crate::dns::{Caa, Exchange, Name, Outcome, RData};
use crate::findings::evidence::End;
use crate::findings::Code;
use crate::findings::{Finding, Severity};
use std::collections::BTreeMap;

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
}

/// DNSSEC status of the target's zone.
#[derive(Clone, Debug)]
pub struct ZoneSigning {
    pub zone: Name,
    pub has_dnskey: bool,
    pub has_ds: bool,
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
    pub signing: Option<ZoneSigning>,
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
        let zone = ede
            .as_ref()
            .and_then(|e| zone_from_ede(&e.text))
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
        if synthesized.as_ref() == Some(&first.target) {
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
    if ttl > TTL_HIGH_SECS && !base.chain.hops.is_empty() {
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

fn human_secs(s: u32) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3600.0),
    }
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
        assert_eq!(human_secs(86400), "24.0 h");
    }
}

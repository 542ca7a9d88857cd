//! Findings about an issuing client's config: will the TXT land where the CNAME points?

use super::{ClientConfigError, ClientKind, ClientWrite, CnameFollow, Located};
use crate::dns::Name;
use crate::findings::Code;
use crate::findings::Finding;
use crate::model::name::InputName;
use std::path::Path;

/// Where the client writes, as far as its config tells.
enum Spot {
    /// acme-dns: the account decides; (domain key, fulldomain) when known.
    AcmeDns(Option<(String, Name)>),
    /// acme-dns, the account known by its subdomain only: (domain key, subdomain).
    AcmeDnsSub(String, Located<String>),
    /// An exact record name.
    At(Name),
    /// Follows the CNAME: the end of the chain (the target when known).
    Follows,
    /// Cannot tell (a hook decides).
    Unknown(String),
}

fn account_for(w: &ClientWrite, name: &InputName) -> Option<(String, Name)> {
    let key = name.host.without_dot();
    w.acme_dns_accounts
        .iter()
        .find(|(k, _)| k == key)
        .or_else(|| w.acme_dns_accounts.iter().find(|(k, _)| k.is_empty()))
        .cloned()
}

fn subdomain_for(w: &ClientWrite, name: &InputName) -> Option<(String, Located<String>)> {
    let key = name.host.without_dot();
    w.acme_dns_subdomains
        .iter()
        .find(|(k, _)| k == key)
        .or_else(|| w.acme_dns_subdomains.iter().find(|(k, _)| k.is_empty()))
        .cloned()
}

/// Is `t` the fulldomain of the account with this subdomain (`<subdomain>.<zone>`)?
fn is_account_of(t: &Name, sub: &str) -> bool {
    t.labels()
        .first()
        .is_some_and(|l| l.eq_ignore_ascii_case(sub.trim()))
}

fn spot(w: &ClientWrite, name: &InputName) -> Spot {
    if w.method == "acme-dns" {
        return match (account_for(w, name), subdomain_for(w, name)) {
            (Some(a), _) => Spot::AcmeDns(Some(a)),
            (None, Some((k, s))) => Spot::AcmeDnsSub(k, s),
            (None, None) => Spot::AcmeDns(None),
        };
    }
    if let Some(a) = &w.alias {
        return Spot::At(a.value.clone());
    }
    match &w.follows_cname {
        CnameFollow::Yes => Spot::Follows,
        CnameFollow::No { .. } => Spot::At(name.challenge.clone()),
        CnameFollow::Unknown { why } => Spot::Unknown(why.clone()),
    }
}

/// Whether this config applies to `name`: it names the domain, a zone holding it, or no
/// domains at all (then it is taken to apply to every name).
pub fn applies_to(w: &ClientWrite, name: &InputName) -> bool {
    if w.domains.is_empty() && w.domain_zones.is_empty() {
        return true;
    }
    let host = name.host.without_dot();
    w.domains.iter().any(|d| d == &name.identifier || d == host)
        || w.domain_zones
            .iter()
            .any(|z| name.host.is_subdomain_of(&Name::from_ascii(z)))
}

fn who(w: &ClientWrite) -> String {
    format!("{} ({}, {})", w.client, w.method, w.source.display())
}

fn via(w: &ClientWrite) -> String {
    match &w.server {
        Some(s) if w.method == "acme-dns" => format!(
            " through the acme-dns API {} ({})",
            s.value,
            s.place(&w.source)
        ),
        Some(s) => format!(" through the server {} ({})", s.value, s.place(&w.source)),
        None => String::new(),
    }
}

/// One plain sentence: where this client will write the TXT for `name` (zone, name, server)
/// and whether the CA will find it there.
pub fn where_it_writes(
    w: &ClientWrite,
    name: &InputName,
    target: Option<&Name>,
    target_zone: Option<&Name>,
) -> String {
    let s = where_raw(w, name, target, target_zone);
    match s.strip_suffix("..") {
        Some(t) => format!("{t}."),
        None => s,
    }
}

fn where_raw(
    w: &ClientWrite,
    name: &InputName,
    target: Option<&Name>,
    target_zone: Option<&Name>,
) -> String {
    let ch = &name.challenge;
    let zone_txt = |z: Option<&Name>| z.map(|z| format!(" in zone {z}")).unwrap_or_default();
    let pinned = w.zone.as_ref().map(|z| &z.value);
    let verdict = |rec: &Name| match target {
        Some(t) if t == rec => "; the CA will find it there".to_string(),
        Some(t) => format!("; the CA will NOT find it there: it follows {ch} to {t}"),
        None if rec == ch => "; that is where the CA looks (no CNAME target is known)".to_string(),
        None => format!("; the CA looks at {ch} and no CNAME target is known to compare"),
    };
    match spot(w, name) {
        Spot::AcmeDns(Some((key, fd))) => {
            let acct = if key.is_empty() { "the configured account".to_string() } else { format!("the account for {key}") };
            format!(
                "{} will post the TXT for {}{}, which serves it at {fd} ({acct}){}.",
                who(w),
                name.identifier,
                via(w),
                verdict(&fd)
            )
        }
        Spot::AcmeDnsSub(key, sub) => {
            let acct = if key.is_empty() { "the configured account".to_string() } else { format!("the account for {key}") };
            let verdict = match target {
                Some(t) if is_account_of(t, &sub.value) => format!("; {ch} points at {t}, that account's name: the CA will find it there"),
                Some(t) => format!("; the CA will NOT find it there: {ch} points at {t}, not at a name of subdomain {}", sub.value),
                None => "; no CNAME target is known to compare".to_string(),
            };
            format!(
                "{} will post the TXT for {}{} to {acct}, subdomain {} ({}), which serves it at {}.<the acme-dns domain>{verdict}.",
                who(w),
                name.identifier,
                via(w),
                sub.value,
                sub.place(&w.source),
                sub.value,
            )
        }
        Spot::AcmeDns(None) => format!(
            "{} will post the TXT for {}{}; the acme-dns account (its fulldomain) is not in the config or a \
             readable storage file, so acme-delegate cannot tell whether {ch} points at it.",
            who(w),
            name.identifier,
            via(w)
        ),
        Spot::At(rec) => {
            let z = pinned.or(if target == Some(&rec) { target_zone } else { None });
            let zone = match z {
                Some(z) => zone_txt(Some(z)),
                None if rec == *ch => " in the zone that holds it".to_string(),
                None => String::new(),
            };
            format!("{} will write the TXT at {rec}{zone}{}{}.", who(w), via(w), verdict(&rec))
        }
        Spot::Follows => match target {
            Some(t) if pinned.is_some_and(|z| !t.is_subdomain_of(z)) => format!(
                "{} follows the CNAME to {t}, but sends the update for zone {}{}, which does not hold {t}: the update fails and the CA finds nothing.",
                who(w),
                pinned.map(|z| z.to_string()).unwrap_or_default(),
                via(w)
            ),
            Some(t) => format!(
                "{} follows the CNAME and will write the TXT at {t}{}{}; the CA will find it there.",
                who(w),
                zone_txt(pinned.or(target_zone)),
                via(w)
            ),
            None => format!(
                "{} follows the CNAME from {ch} and will write the TXT at the end of the chain{}{}.",
                who(w),
                zone_txt(pinned),
                via(w)
            ),
        },
        Spot::Unknown(why) => format!(
            "{}: {why}; acme-delegate cannot tell from the config whether the CA will find the TXT{}.",
            who(w),
            target.map(|t| format!(" at {t}")).unwrap_or_default()
        ),
    }
}

fn setting_place(w: &ClientWrite) -> String {
    match &w.cname_setting {
        Some(s) => s.place(&w.source),
        None => w.source.display().to_string(),
    }
}

fn no_follow_fix(w: &ClientWrite, name: &InputName, t: &Name) -> String {
    let at = setting_place(w);
    let setting = w
        .cname_setting
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or("");
    match w.client {
        ClientKind::Lego | ClientKind::Traefik => {
            format!("remove `{setting}` at {at} (lego follows the CNAME by default)")
        }
        ClientKind::CertManager if setting.starts_with("cnameStrategy") => {
            format!("change `{setting}` to `cnameStrategy: Follow` at {at}")
        }
        ClientKind::CertManager => format!("add `cnameStrategy: Follow` under `dns01:` at {at}"),
        ClientKind::AcmeSh => format!(
            "reissue with `--domain-alias {}` after `-d {}` (acme.sh stores it as Le_ChallengeAlias='={},' in {}; \
             --challenge-alias would add another _acme-challenge. label), e.g. `acme.sh --issue --dns dns_{} -d {} \
             --domain-alias {}`",
            t.without_dot(),
            name.identifier,
            t.without_dot(),
            w.source.display(),
            if w.method == "rfc2136" { "nsupdate".to_string() } else { w.method.clone() },
            name.identifier,
            t.without_dot()
        ),
        ClientKind::Certbot => format!(
            "certbot's dns-{} plugin cannot follow the CNAME: replace `{setting}` at {at} by the manual \
             authenticator with an auth hook that updates {t} (certbot certonly --cert-name <lineage> --manual \
             --preferred-challenges dns --manual-auth-hook <hook> --manual-cleanup-hook <hook> -d {})",
            w.method, name.identifier
        ),
        ClientKind::Caddy => format!(
            "add `dns_challenge_override_domain {}` inside the tls block at {at}",
            t.without_dot()
        ),
        ClientKind::CertMate => format!(
            "set `domain_alias` in {} so that _acme-challenge.<domain_alias> is {t} (CertMate puts _acme-challenge. in front)",
            w.source.display()
        ),
    }
}

#[cfg(unix)]
fn mode_of(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_p: &Path) -> Option<u32> {
    None
}

/// The findings for one client config and one name. `target` is where the CNAME chain of
/// `_acme-challenge.<name>` ends, `target_zone` the zone holding it, `challenge_zone` the
/// zone holding `_acme-challenge.<name>` itself.
pub fn client_findings(
    w: &ClientWrite,
    name: &InputName,
    target: Option<&Name>,
    target_zone: Option<&Name>,
    challenge_zone: Option<&Name>,
) -> Vec<Finding> {
    let id = name.identifier.as_str();
    let mut out = vec![Finding::new(
        Code::ClientWhere,
        id,
        where_it_writes(w, name, target, target_zone),
        "none needed if the CA will find it there".to_string(),
    )];
    let ch = &name.challenge;

    // The client writes at _acme-challenge.<name> although the CNAME points elsewhere.
    if let (Spot::At(rec), Some(t)) = (spot(w, name), target) {
        if w.alias.is_none() && rec == *ch && t != ch {
            let why = match &w.follows_cname {
                CnameFollow::No { why } => why.clone(),
                _ => String::new(),
            };
            let zone = challenge_zone
                .map(|z| format!(" in the production zone {z}"))
                .unwrap_or_else(|| " in the production zone".to_string());
            out.push(Finding::new(
                Code::ClientNoCnameFollow,
                id,
                format!(
                    "{}: {why}; it will write the TXT at {ch}{zone} instead of {t}",
                    who(w)
                ),
                no_follow_fix(w, name, t),
            ));
        }
    }

    // A pinned zone that is not the target's zone.
    if let (Some(z), Some(t)) = (&w.zone, target) {
        let wrong = match target_zone {
            Some(tz) => tz != &z.value,
            None => !t.is_subdomain_of(&z.value),
        };
        if wrong {
            let tz = target_zone
                .map(|tz| tz.to_string())
                .unwrap_or_else(|| "another zone".into());
            out.push(Finding::new(
                Code::ClientWrongZone,
                id,
                format!(
                    "{} pins the zone {} at {}, but the CNAME target {t} is in {tz}",
                    who(w),
                    z.value,
                    z.place(&w.source)
                ),
                format!(
                    "set the zone at {} to {}",
                    z.place(&w.source),
                    target_zone.unwrap_or(&t.parent())
                ),
            ));
        }
    }

    // An alias that is not the CNAME target.
    if let (Some(a), Some(t)) = (&w.alias, target) {
        if &a.value != t && w.method != "acme-dns" {
            let fix = match w.client {
                ClientKind::Caddy => format!(
                    "set `dns_challenge_override_domain {}` at {}",
                    t.without_dot(),
                    a.place(&w.source)
                ),
                ClientKind::AcmeSh => format!(
                    "reissue with `--domain-alias {}` for -d {} (now Le_ChallengeAlias at {})",
                    t.without_dot(),
                    name.identifier,
                    a.place(&w.source)
                ),
                _ => format!("make the alias at {} write at {t}", a.place(&w.source)),
            };
            out.push(Finding::new(
                Code::ClientWrongZone,
                id,
                format!(
                    "{} writes the TXT at the alias {} ({}), but {ch} points at {t}",
                    who(w),
                    a.value,
                    a.place(&w.source)
                ),
                fix,
            ));
        }
    }

    // An acme-dns account whose fulldomain is not the CNAME target.
    if let (Spot::AcmeDns(Some((key, fd))), Some(t)) = (spot(w, name), target) {
        if &fd != t {
            let key = if key.is_empty() {
                "the configured account".to_string()
            } else {
                format!("the account for {key}")
            };
            out.push(Finding::new(
                Code::ClientWrongZone,
                id,
                format!("{}: {key} has fulldomain {fd}, but {ch} points at {t}", who(w)),
                format!("point the CNAME at the account: `{ch} CNAME {fd}`, or use the account whose fulldomain is {t}"),
            ));
        }
    }

    // An acme-dns account, known by its subdomain, whose name is not the CNAME target.
    if let (Spot::AcmeDnsSub(key, sub), Some(t)) = (spot(w, name), target) {
        if !is_account_of(t, &sub.value) {
            let key = if key.is_empty() {
                "the configured account".to_string()
            } else {
                format!("the account for {key}")
            };
            out.push(Finding::new(
                Code::ClientWrongZone,
                id,
                format!(
                    "{}: {key} has subdomain {} ({}), so acme-dns serves its TXT at {}.<its domain>, but {ch} points at {t}",
                    who(w),
                    sub.value,
                    sub.place(&w.source),
                    sub.value
                ),
                format!(
                    "use the account whose subdomain is {} (its username, password and subdomain together) at {}, or point {ch} at this account's fulldomain",
                    t.labels().first().copied().unwrap_or_default(),
                    sub.place(&w.source)
                ),
            ));
        }
    }

    // Secrets readable by group or others.
    for f in &w.credential_files {
        if let Some(mode) = mode_of(f) {
            if mode & 0o077 != 0 {
                out.push(Finding::new(
                    Code::SecretFileMode,
                    id,
                    format!(
                        "{} holds secrets for {} and has mode {:04o}: group or others have access to it",
                        f.display(),
                        who(w),
                        mode
                    ),
                    format!("chmod 600 {}", f.display()),
                ));
            }
        }
    }
    out
}

/// The finding for a config that could not be parsed.
pub fn unreadable_finding(err: &ClientConfigError, name: &InputName) -> Finding {
    Finding::new(
        Code::ClientConfigUnreadable,
        &name.identifier,
        format!("cannot use the client config: {err}"),
        format!(
            "check that {} is the issuing client's config (lego env file, certbot renewal conf, acme.sh domain \
             conf, cert-manager Issuer, Caddyfile, Traefik static config) and is readable",
            err.file.display()
        ),
    )
}

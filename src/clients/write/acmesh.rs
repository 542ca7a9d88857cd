//! acme.sh: `dns_acmedns` (one account per certificate, so one certificate per account)
//! or `dns_nsupdate` with `--domain-alias TARGET` per name (`--challenge-alias` would add
//! `_acme-challenge.` in front of the target). acme.sh saves these variables in its own
//! confs on the first run; the env files here are what that first run reads.

use super::{
    account, acme_dns_api, bare, env_file, groups, server_addr, sh_line, tsig, tsig_secret_b64,
    with_env, Client, ClientOutput, PlannedFile, WriteError, WriteOptions,
};
use crate::model::plan::{Plan, ZoneSpec};
use crate::zones::rfc2136::TsigKey;

/// The BIND key file name `NSUPDATE_KEY` points at.
pub const KEY_FILE: &str = "acme-delegate-nsupdate.key";

/// What the env file's command issues, for `diagnose --client-config` (acme.sh ignores
/// these; it stores the same as `Le_Domain`/`Le_Alt`, `Le_Webroot` and
/// `Le_ChallengeAlias` in the domain conf after the first run).
pub const VAR_DOMAINS: &str = "ACME_DELEGATE_DOMAINS";
pub const VAR_DNS: &str = "ACME_DELEGATE_DNS";
pub const VAR_ALIASES: &str = "ACME_DELEGATE_ALIASES";

/// The note for a validation zone that public resolvers may not see.
const DNSSLEEP_NOTE: &str = "acme.sh checks propagation over public DNS-over-HTTPS resolvers (for up to 20 minutes); for a validation zone that is not public, add `--dnssleep 60` (a fixed wait instead)";

/// `acme.sh --issue --server S --dns HOOK`, and `--dnssleep 60` for a private zone (its
/// default waits on public DNS-over-HTTPS resolvers).
fn issue_words(server: String, hook: &str, private_zone: bool) -> Vec<String> {
    let mut words: Vec<String> = ["acme.sh", "--issue", "--server"]
        .into_iter()
        .map(String::from)
        .collect();
    words.extend([server, "--dns".into(), hook.into()]);
    if private_zone {
        words.extend(["--dnssleep".into(), "60".into()]);
    }
    words
}

/// `-d NAME --domain-alias TARGET` for each name, and the three `ACME_DELEGATE_*` lines
/// that say the same: acme.sh never follows the CNAME, so every name gets its alias.
fn names_and_aliases<'a>(
    names: impl Iterator<Item = (&'a str, String)>,
    hook: &str,
    words: &mut Vec<String>,
) -> Vec<(&'static str, String)> {
    let (mut ds, mut als) = (Vec::new(), Vec::new());
    for (name, target) in names {
        words.push("-d".into());
        words.push(name.to_string());
        words.push("--domain-alias".into());
        words.push(target.clone());
        ds.push(name.to_string());
        als.push(format!("={target}"));
    }
    vec![
        (VAR_DOMAINS, ds.join(",")),
        (VAR_DNS, hook.to_string()),
        (VAR_ALIASES, als.join(",")),
    ]
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let base = opts.base(opts.home.join(".acme.sh").join("acme-delegate"));
    let mut out = ClientOutput::default();
    let server = opts.server().to_string();
    // A PowerDNS plan with its API and key: acme.sh's dns_pdns hook writes through it.
    let pdns = super::provider_api(plan, opts).filter(|p| p.0 == "pdns");
    match &plan.zone {
        ZoneSpec::AcmeDns { .. } => {
            let api = acme_dns_api(plan).unwrap_or_default().to_string();
            for g in groups(plan) {
                let a = account(opts, &g.key)?;
                let env = opts.file(&base, &format!("acmedns-{}.env", g.key));
                let mut words = issue_words(server.clone(), "dns_acmedns", opts.private_zone);
                // The alias is the account's fulldomain: acme.sh then checks the TXT
                // there instead of at _acme-challenge.<name>.
                let fd = a.fulldomain.trim_end_matches('.').to_string();
                let what = names_and_aliases(
                    g.identifiers.iter().map(|n| (n.as_str(), fd.clone())),
                    "dns_acmedns",
                    &mut words,
                );
                let mut vars = vec![
                    ("ACMEDNS_BASE_URL", api.clone()),
                    ("ACMEDNS_USERNAME", a.username.clone()),
                    ("ACMEDNS_PASSWORD", a.password.expose().to_string()),
                    ("ACMEDNS_SUBDOMAIN", a.subdomain.clone()),
                ];
                vars.extend(what);
                let text = env_file(
                    &format!("acme.sh dns_acmedns account for {} (holds the password)", g.key),
                    &vars,
                )?;
                out.files.push(PlannedFile::secret(
                    env.clone(),
                    text,
                    vec![a.password.expose().to_string()],
                ));
                out.next_commands.push(with_env(&env, &sh_line(&words)?)?);
            }
            out.notes.push(
                "dns_acmedns keeps one acme-dns account per certificate, so each account (a name and its wildcard) gets its own certificate".into(),
            );
            out.notes.push(DNSSLEEP_NOTE.into());
        }
        ZoneSpec::Rfc2136 { server: ns, zone, .. } => {
            let key = tsig(opts)?;
            let addr = server_addr(ns)?;
            let secret = tsig_secret_b64(key);
            let key_path = opts.file(&base, KEY_FILE);
            out.files.push(PlannedFile::secret(
                key_path.clone(),
                bind_key(key, &secret),
                vec![secret],
            ));
            let env = opts.file(&base, "nsupdate.env");
            let mut words = issue_words(server, "dns_nsupdate", opts.private_zone);
            let what = names_and_aliases(
                plan.names.iter().map(|p| (p.name.as_str(), bare(&p.target))),
                "dns_nsupdate",
                &mut words,
            );
            let mut vars = vec![
                ("NSUPDATE_SERVER", addr.ip().to_string()),
                ("NSUPDATE_SERVER_PORT", addr.port().to_string()),
                ("NSUPDATE_KEY", key_path.to_string_lossy().into_owned()),
                ("NSUPDATE_ZONE", bare(zone)),
            ];
            vars.extend(what);
            let text = env_file(
                "acme.sh dns_nsupdate settings (NSUPDATE_KEY names the key file)",
                &vars,
            )?;
            out.files.push(PlannedFile::public(env.clone(), text));
            out.next_commands.push(with_env(&env, &sh_line(&words)?)?);
            out.notes.push(
                "acme.sh keeps the nsupdate settings in account.conf: one server, key and zone per acme.sh home".into(),
            );
            out.notes.push(DNSSLEEP_NOTE.into());
        }
        ZoneSpec::Provider { .. } if pdns.is_some() => {
            let (_, api, key) = pdns.unwrap_or_default();
            let env = opts.file(&base, "pdns.env");
            let mut words = issue_words(server, "dns_pdns", opts.private_zone);
            let what = names_and_aliases(
                plan.names.iter().map(|p| (p.name.as_str(), bare(&p.target))),
                "dns_pdns",
                &mut words,
            );
            let mut vars = vec![
                ("PDNS_Url", api.to_string()),
                ("PDNS_ServerId", "localhost".to_string()),
                ("PDNS_Token", key.to_string()),
                ("PDNS_Ttl", "60".to_string()),
            ];
            vars.extend(what);
            let text = env_file(
                "acme.sh dns_pdns settings (holds the PowerDNS API key)",
                &vars,
            )?;
            out.files
                .push(PlannedFile::secret(env.clone(), text, vec![key.to_string()]));
            out.next_commands.push(with_env(&env, &sh_line(&words)?)?);
            out.notes.push(
                "acme.sh keeps the PowerDNS settings in account.conf: one API and key per acme.sh home".into(),
            );
            out.notes.push(DNSSLEEP_NOTE.into());
        }
        ZoneSpec::Provider { provider, .. } => {
            return Err(WriteError::unsupported(
                Client::AcmeSh,
                plan,
                &format!("acme-delegate does not know acme.sh's dnsapi hook and credential names for {provider}"),
                &format!("use lego or Traefik with `--dns {provider}` (they follow the CNAME), or run acme.sh with the {provider} hook and `--domain-alias TARGET` yourself"),
            ))
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::AcmeSh,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    }
    out.notes.push(
        "acme.sh saves these settings on the first run; its cron job (`acme.sh --cron`) renews with them".into(),
    );
    Ok(out)
}

/// A BIND key file (`tsig-keygen` layout), as `nsupdate -k` reads it.
pub fn bind_key(key: &TsigKey, secret_b64: &str) -> String {
    format!(
        "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
        key.name.without_dot(),
        key.algorithm.name(),
        secret_b64
    )
}

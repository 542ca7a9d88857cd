//! lego (CLI, v4 flags): an env file per provider and, for acme-dns, the account file lego
//! reads (`ACME_DNS_STORAGE_PATH`, keyed by NAME). lego follows the `_acme-challenge`
//! CNAME itself (on by default since v4.9.0): `LEGO_DISABLE_CNAME_SUPPORT` is never set.

use super::{
    bare, env_file, goacmedns_json, identifiers, server_addr, sh_line, tsig, tsig_secret_b64,
    with_env, Client, ClientOutput, PlannedFile, WriteError, WriteOptions,
};
use crate::model::plan::{Plan, ZoneSpec};
use std::path::{Path, PathBuf};

/// The account file name lego is pointed at.
pub const ACCOUNTS: &str = "acme-dns-accounts.json";

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let base = opts.base(opts.cwd.join(".lego"));
    let mut out = ClientOutput::default();
    // A PowerDNS plan with its API and key: lego's pdns provider writes through it.
    let pdns = super::provider_api(plan, opts).filter(|p| p.0 == "pdns");
    let (env_path, provider) = match &plan.zone {
        ZoneSpec::AcmeDns { api, .. } => {
            let accounts = opts.file(&base, ACCOUNTS);
            let (json, masks) = goacmedns_json(plan, opts)?;
            out.files
                .push(PlannedFile::secret(accounts.clone(), json, masks));
            let env = opts.file(&base, "acme-dns.env");
            let text = env_file(
                "lego acme-dns settings (written by acme-delegate write)",
                &[
                    ("ACME_DNS_API_BASE", api.trim_end_matches('/').to_string()),
                    (
                        "ACME_DNS_STORAGE_PATH",
                        accounts.to_string_lossy().into_owned(),
                    ),
                ],
            )?;
            out.files.push(PlannedFile::public(env.clone(), text));
            out.notes.push(
                "the account file holds an entry for every name (the key is the name without `*.`); without one lego would register a new acme-dns account and stop with \"CNAME required\"".into(),
            );
            out.notes.push(
                "Debian's lego 4.9.1 lists acme-dns in `lego dnshelp` but says `unrecognized DNS provider: acme-dns` when it runs: use an upstream lego release (github.com/go-acme/lego/releases), or `--client certbot`".into(),
            );
            (Some(env), "acme-dns".to_string())
        }
        ZoneSpec::Rfc2136 { server, .. } => {
            let key = tsig(opts)?;
            let addr = server_addr(server)?;
            let secret = tsig_secret_b64(key);
            let env = opts.file(&base, "rfc2136.env");
            let text = env_file(
                "lego RFC 2136 settings (written by acme-delegate write); holds the TSIG secret",
                &[
                    ("RFC2136_NAMESERVER", addr.to_string()),
                    ("RFC2136_TSIG_KEY", key.name.as_str().to_string()),
                    (
                        "RFC2136_TSIG_ALGORITHM",
                        format!("{}.", key.algorithm.name()),
                    ),
                    ("RFC2136_TSIG_SECRET", secret.clone()),
                    ("RFC2136_PROPAGATION_TIMEOUT", "180".into()),
                    ("RFC2136_TTL", "60".into()),
                ],
            )?;
            out.files
                .push(PlannedFile::secret(env.clone(), text, vec![secret]));
            (Some(env), "rfc2136".to_string())
        }
        ZoneSpec::Provider { .. } if pdns.is_some() => {
            let (_, api, key) = pdns.unwrap_or_default();
            let env = opts.file(&base, "pdns.env");
            let text = env_file(
                "lego PowerDNS settings (written by acme-delegate write); holds the API key",
                &[
                    ("PDNS_API_URL", api.to_string()),
                    ("PDNS_API_KEY", key.to_string()),
                    ("PDNS_TTL", "60".into()),
                    ("PDNS_PROPAGATION_TIMEOUT", "180".into()),
                ],
            )?;
            out.files.push(PlannedFile::secret(
                env.clone(),
                text,
                vec![key.to_string()],
            ));
            (Some(env), "pdns".to_string())
        }
        ZoneSpec::Provider {
            provider, domain, ..
        } => {
            out.notes.push(format!(
                "set the {provider} credentials in the environment first (`lego dnshelp -c {provider}` lists them); lego follows the CNAME into {}",
                bare(domain)
            ));
            (None, provider.clone())
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::Lego,
                plan,
                "the hosted service writes the TXT records itself, so no client writes there",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    };
    let run = command(plan, opts, &base, &provider, &["run"])?;
    let renew = command(plan, opts, &base, &provider, &["renew", "--days", "30"])?;
    let wrap = |c: String| match &env_path {
        Some(e) => with_env(e, &c),
        None => Ok(c),
    };
    out.next_commands.push(wrap(run)?);
    out.notes
        .push(format!("renew (e.g. daily from cron): {}", wrap(renew)?));
    if opts.email.is_none() {
        out.notes
            .push("set EMAIL to the ACME account's e-mail address before running lego".into());
    }
    out.notes.push(
        "written for lego v4 (Debian 12 ships 4.9.1); lego v5 renames the providers (acmedns, dnsupdate) and moves the flags after `run`".into(),
    );
    Ok(out)
}

/// The lego command line (v4 layout: global flags, then the action).
fn command(
    plan: &Plan,
    opts: &WriteOptions,
    base: &Path,
    provider: &str,
    action: &[&str],
) -> Result<String, WriteError> {
    let mut words: Vec<String> = vec!["lego".into(), "--accept-tos".into()];
    words.push("--server".into());
    words.push(opts.server().into());
    words.push("--path".into());
    words.push(PathBuf::from(base).to_string_lossy().into_owned());
    words.push("--dns".into());
    words.push(provider.into());
    for r in &opts.resolvers {
        words.push("--dns.resolvers".into());
        words.push(r.clone());
    }
    if opts.private_zone {
        // v4 flag (deprecated at v4.19 in favour of --dns.propagation-disable-ans).
        words.push("--dns.disable-cp".into());
    }
    for n in identifiers(plan) {
        words.push("--domains".into());
        words.push(n);
    }
    let mut line = sh_line(&words)?;
    // The e-mail goes in front of the action: a literal, or the EMAIL variable.
    match &opts.email {
        Some(e) => {
            line.push_str(" --email ");
            line.push_str(&super::sh_word(e)?);
        }
        None => line.push_str(" --email \"$EMAIL\""),
    }
    line.push(' ');
    line.push_str(&sh_line(action)?);
    Ok(line)
}

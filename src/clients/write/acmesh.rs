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

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let base = opts.base(opts.home.join(".acme.sh").join("acme-delegate"));
    let mut out = ClientOutput::default();
    let server = opts.server().to_string();
    match &plan.zone {
        ZoneSpec::AcmeDns { .. } => {
            let api = acme_dns_api(plan).unwrap_or_default().to_string();
            for g in groups(plan) {
                let a = account(opts, &g.key)?;
                let env = base.join(format!("acmedns-{}.env", g.key));
                let text = env_file(
                    &format!("acme.sh dns_acmedns account for {} (holds the password)", g.key),
                    &[
                        ("ACMEDNS_BASE_URL", api.clone()),
                        ("ACMEDNS_USERNAME", a.username.clone()),
                        ("ACMEDNS_PASSWORD", a.password.expose().to_string()),
                        ("ACMEDNS_SUBDOMAIN", a.subdomain.clone()),
                    ],
                )?;
                out.files.push(PlannedFile::secret(
                    env.clone(),
                    text,
                    vec![a.password.expose().to_string()],
                ));
                let mut words: Vec<String> = vec![
                    "acme.sh".into(),
                    "--issue".into(),
                    "--server".into(),
                    server.clone(),
                    "--dns".into(),
                    "dns_acmedns".into(),
                ];
                for n in &g.identifiers {
                    words.push("-d".into());
                    words.push(n.clone());
                }
                out.next_commands.push(with_env(&env, &sh_line(&words)?)?);
            }
            out.notes.push(
                "dns_acmedns keeps one acme-dns account per certificate, so each account (a name and its wildcard) gets its own certificate".into(),
            );
        }
        ZoneSpec::Rfc2136 { server: ns, zone, .. } => {
            let key = tsig(opts)?;
            let addr = server_addr(ns)?;
            let secret = tsig_secret_b64(key);
            let key_path = base.join(KEY_FILE);
            out.files.push(PlannedFile::secret(
                key_path.clone(),
                bind_key(key, &secret),
                vec![secret],
            ));
            let env = base.join("nsupdate.env");
            let text = env_file(
                "acme.sh dns_nsupdate settings (NSUPDATE_KEY names the key file)",
                &[
                    ("NSUPDATE_SERVER", addr.ip().to_string()),
                    ("NSUPDATE_SERVER_PORT", addr.port().to_string()),
                    ("NSUPDATE_KEY", key_path.to_string_lossy().into_owned()),
                    ("NSUPDATE_ZONE", bare(zone)),
                ],
            )?;
            out.files.push(PlannedFile::public(env.clone(), text));
            let mut words: Vec<String> = vec![
                "acme.sh".into(),
                "--issue".into(),
                "--server".into(),
                server,
                "--dns".into(),
                "dns_nsupdate".into(),
            ];
            if opts.private_zone {
                words.push("--dnssleep".into());
                words.push("60".into());
            }
            for p in &plan.names {
                words.push("-d".into());
                words.push(p.name.clone());
                words.push("--domain-alias".into());
                words.push(bare(&p.target));
            }
            out.next_commands.push(with_env(&env, &sh_line(&words)?)?);
            out.notes.push(
                "acme.sh keeps the nsupdate settings in account.conf: one server, key and zone per acme.sh home".into(),
            );
            out.notes.push(
                "acme.sh checks propagation over public DNS-over-HTTPS; for a validation zone that is not public, add `--dnssleep 60`".into(),
            );
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

//! Caddy (a build with caddy-dns/acmedns or caddy-dns/rfc2136): one site block per
//! challenge name (an apex and its wildcard share one), each with its own `tls { dns … }`
//! policy. CertMagic does not follow the CNAME, so RFC 2136 sites name the target with
//! `dns_challenge_override_domain`; acme-dns does not need it (the account decides).
//! Secrets stay out of the Caddyfile: it reads them with `{env.…}` from an env file.

use super::{
    account, acme_dns_api, bare, env_file, groups, server_addr, sh_line, tsig, tsig_secret_b64,
    Client, ClientOutput, PlannedFile, WriteError, WriteOptions,
};
use crate::model::plan::{Plan, ZoneSpec};
use std::fmt::Write as _;
use std::path::PathBuf;

pub const CADDYFILE: &str = "acme-delegate.Caddyfile";
pub const ENV: &str = "acme-delegate-caddy.env";
pub const TSIG_VAR: &str = "ACME_DELEGATE_TSIG_SECRET";

/// One Caddyfile token: no white space, quotes or braces (none of the values we write
/// needs them; anything else is refused rather than mis-quoted).
fn token(s: &str) -> Result<&str, WriteError> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || "\"{}`#".contains(c)) {
        return Err(WriteError::Unrepresentable {
            what: format!("{s:?} cannot be one Caddyfile token"),
            fix: "use a value without spaces, quotes, braces or #".into(),
        });
    }
    Ok(s)
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let module = match &plan.zone {
        ZoneSpec::AcmeDns { .. } => "acmedns",
        ZoneSpec::Rfc2136 { .. } => "rfc2136",
        ZoneSpec::Provider { provider, .. } => {
            return Err(WriteError::unsupported(
                Client::Caddy,
                plan,
                &format!("Caddy needs the caddy-dns/{provider} module, whose settings acme-delegate does not write"),
                &format!("build Caddy with `xcaddy build --with github.com/caddy-dns/{provider}` and add `dns {provider} …` plus `dns_challenge_override_domain TARGET` to the site's tls block yourself, or use lego/Traefik"),
            ))
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::Caddy,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    };
    let default = if opts.root && opts.out.is_none() {
        PathBuf::from("/etc/caddy")
    } else {
        opts.cwd.join("caddy")
    };
    let base = opts.base(default);
    let mut env: Vec<(String, String)> = Vec::new();
    let mut masks = Vec::new();
    let mut cf = String::from(
        "# Caddy sites for acme-delegate's CNAME delegation. Needs a Caddy built with the\n",
    );
    let _ = writeln!(
        cf,
        "# caddy-dns/{module} module (xcaddy build --with github.com/caddy-dns/{module}).\n# Secrets come from the env file ({}).\n{{\n\tacme_ca {}",
        super::tagged(ENV, &opts.plan_id),
        token(opts.server())?
    );
    if let Some(e) = &opts.email {
        let _ = writeln!(cf, "\temail {}", token(e)?);
    }
    cf.push_str("}\n");
    for (i, g) in groups(plan).iter().enumerate() {
        let sites: Result<Vec<&str>, WriteError> = g.identifiers.iter().map(|n| token(n)).collect();
        let _ = writeln!(cf, "\n{} {{\n\ttls {{", sites?.join(", "));
        match &plan.zone {
            ZoneSpec::AcmeDns { .. } => {
                let a = account(opts, &g.key)?;
                let var = format!("ACME_DELEGATE_ACMEDNS_PASSWORD_{}", i + 1);
                env.push((var.clone(), a.password.expose().to_string()));
                masks.push(a.password.expose().to_string());
                let _ = writeln!(
                    cf,
                    "\t\tdns acmedns {{\n\t\t\tusername {}\n\t\t\tpassword {{env.{var}}}\n\t\t\tsubdomain {}\n\t\t\tserver_url {}\n\t\t}}",
                    token(&a.username)?,
                    token(&a.subdomain)?,
                    token(a.server_url.as_deref().unwrap_or(acme_dns_api(plan).unwrap_or_default()))?
                );
            }
            ZoneSpec::Rfc2136 { server, .. } => {
                let key = tsig(opts)?;
                let addr = server_addr(server)?;
                if env.is_empty() {
                    let s = tsig_secret_b64(key);
                    masks.push(s.clone());
                    env.push((TSIG_VAR.into(), s));
                }
                let target = g.names.first().map(|p| bare(&p.target)).unwrap_or_default();
                let _ = writeln!(
                    cf,
                    "\t\tdns rfc2136 {{\n\t\t\tkey_name {}\n\t\t\tkey_alg {}\n\t\t\tkey {{env.{TSIG_VAR}}}\n\t\t\tserver {}\n\t\t}}\n\t\tdns_challenge_override_domain {}",
                    token(key.name.without_dot())?,
                    key.algorithm.name(),
                    addr,
                    token(&target)?
                );
            }
            _ => unreachable!("checked above"),
        }
        if !opts.resolvers.is_empty() {
            let r: Result<Vec<&str>, WriteError> =
                opts.resolvers.iter().map(|r| token(r)).collect();
            let _ = writeln!(cf, "\t\tresolvers {}", r?.join(" "));
        }
        cf.push_str("\t}\n\trespond \"acme-delegate: replace this with the site\"\n}\n");
    }
    let env_refs: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let env_text = env_file(
        "Caddy secrets for acme-delegate's sites (caddy --envfile)",
        &env_refs,
    )?;
    let cf_path = opts.file(&base, CADDYFILE);
    let env_path = opts.file(&base, ENV);
    let mut out = ClientOutput::default();
    out.files.push(PlannedFile::public(cf_path.clone(), cf));
    out.files
        .push(PlannedFile::secret(env_path.clone(), env_text, masks));
    let cf_s = cf_path.to_string_lossy().into_owned();
    let env_s = env_path.to_string_lossy().into_owned();
    out.next_commands.push(format!(
        "caddy list-modules | grep -x dns.providers.{module}"
    ));
    for verb in ["validate", "run"] {
        out.next_commands.push(sh_line(&[
            "caddy",
            verb,
            "--adapter",
            "caddyfile",
            "--config",
            &cf_s,
            "--envfile",
            &env_s,
        ])?);
    }
    out.notes.push(format!(
        "a stock Caddy (Debian's too) has no DNS providers: if the first command prints nothing, build one with `xcaddy build --with github.com/caddy-dns/{module}`"
    ));
    if module == "rfc2136" {
        out.notes.push(
            "CertMagic does not follow the CNAME: dns_challenge_override_domain names the target, per site block (it applies to every name in that block)".into(),
        );
    }
    out.notes.push(format!(
        "merge the site blocks into your Caddyfile (or `import {cf_s}`) and keep the env file's variables in Caddy's environment"
    ));
    Ok(out)
}

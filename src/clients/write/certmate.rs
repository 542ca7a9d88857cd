//! CertMate (drives certbot through its own alias hook): a DNS account for its
//! multi-account API and one certificate-create request per name, posted with curl.
//!
//! CertMate's alias always gets `_acme-challenge.` in front (`domain_alias: X` writes
//! `_acme-challenge.X`), so an RFC 2136 target works only when it starts with that label.
//! With acme-dns, `domain_alias` must equal the account's `subdomain`.

use super::{
    account, acme_dns_api, bare, groups, server_addr, tsig, tsig_secret_b64, Client, ClientOutput,
    PlannedFile, WriteError, WriteOptions,
};
use crate::model::name::CHALLENGE_LABEL;
use crate::model::plan::{Plan, ZoneSpec};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct AccountRequest<'a, C: Serialize> {
    account_id: &'a str,
    config: C,
}

#[derive(Serialize)]
struct AcmeDnsConfig<'a> {
    api_url: &'a str,
    username: &'a str,
    password: &'a str,
    subdomain: &'a str,
}

#[derive(Serialize)]
struct Rfc2136Config {
    nameserver: String,
    tsig_key: String,
    tsig_secret: String,
    tsig_algorithm: String,
}

#[derive(Serialize)]
struct CreateRequest<'a> {
    domain: &'a str,
    dns_provider: &'a str,
    account_id: &'a str,
    domain_alias: String,
}

fn json<T: Serialize>(v: &T) -> Result<String, WriteError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| WriteError::Unrepresentable {
            what: format!("the CertMate request does not serialise: {e}"),
            fix: "report this as a bug".into(),
        })
}

/// A file-name-safe form of an identifier.
fn slug(n: &str) -> String {
    n.replace("*.", "wildcard.").replace(['.', '*'], "-")
}

/// `curl` posting a JSON file to CertMate's API ($CERTMATE_URL, $CERTMATE_TOKEN).
fn post(path: &str, file: &Path) -> Result<String, WriteError> {
    Ok(format!(
        "curl -fsS -X POST -H \"Authorization: Bearer $CERTMATE_TOKEN\" -H 'Content-Type: application/json' --data @{} \"$CERTMATE_URL{path}\"",
        super::sh_word(&file.to_string_lossy())?
    ))
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let base = opts.base(opts.cwd.join("certmate"));
    let mut out = ClientOutput::default();
    let (provider, accounts) = match &plan.zone {
        ZoneSpec::AcmeDns { .. } => ("acme-dns", acme_dns_accounts(plan, opts, &base, &mut out)?),
        ZoneSpec::Rfc2136 { .. } => ("rfc2136", rfc2136_account(plan, opts, &base, &mut out)?),
        ZoneSpec::Provider { provider, .. } => {
            return Err(WriteError::unsupported(
                Client::CertMate,
                plan,
                &format!("CertMate's alias writes _acme-challenge.<alias>, and acme-delegate holds no {provider} API token"),
                &format!("use lego or Traefik with `--dns {provider}` (they follow the CNAME)"),
            ))
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::CertMate,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    };
    for (file, _) in &accounts {
        out.next_commands
            .push(post(&format!("/api/dns/{provider}/accounts"), file)?);
    }
    for p in &plan.names {
        let key = super::key_of(p);
        let (account_id, domain_alias) = match &plan.zone {
            ZoneSpec::AcmeDns { .. } => (key.clone(), account(opts, &key)?.subdomain.clone()),
            _ => (
                "acme-delegate".to_string(),
                challenge_alias(plan, &p.target)?,
            ),
        };
        let req = CreateRequest {
            domain: &p.name,
            dns_provider: provider,
            account_id: &account_id,
            domain_alias,
        };
        let f = opts.file(&base, &format!("certmate-create-{}.json", slug(&p.name)));
        out.files.push(PlannedFile::public(f.clone(), json(&req)?));
        out.next_commands
            .push(post("/api/certificates/create", &f)?);
    }
    out.notes.push(
        "set CERTMATE_URL (e.g. http://localhost:8000) and CERTMATE_TOKEN (the API bearer token) before running the commands".into(),
    );
    out.notes.push(
        "CertMate allows one alias per certificate, so each name is its own certificate".into(),
    );
    Ok(out)
}

/// One CertMate acme-dns account per acme-dns account (an apex and its wildcard share one).
fn acme_dns_accounts(
    plan: &Plan,
    opts: &WriteOptions,
    base: &Path,
    out: &mut ClientOutput,
) -> Result<Vec<(PathBuf, Vec<String>)>, WriteError> {
    let api = acme_dns_api(plan).unwrap_or_default();
    let mut files = Vec::new();
    for g in groups(plan) {
        let a = account(opts, &g.key)?;
        let req = AccountRequest {
            account_id: &g.key,
            config: AcmeDnsConfig {
                api_url: api,
                username: &a.username,
                password: a.password.expose(),
                subdomain: &a.subdomain,
            },
        };
        let f = opts.file(
            base,
            &format!("certmate-account-acme-dns-{}.json", slug(&g.key)),
        );
        out.files.push(PlannedFile::secret(
            f.clone(),
            json(&req)?,
            vec![a.password.expose().to_string()],
        ));
        files.push((f, g.identifiers.clone()));
    }
    out.notes.push(
        "with acme-dns, CertMate's domain_alias is the account's subdomain (its hook posts that label to /update)".into(),
    );
    Ok(files)
}

/// The one RFC 2136 account; every target must start with `_acme-challenge.`.
fn rfc2136_account(
    plan: &Plan,
    opts: &WriteOptions,
    base: &Path,
    out: &mut ClientOutput,
) -> Result<Vec<(PathBuf, Vec<String>)>, WriteError> {
    let ZoneSpec::Rfc2136 { server, .. } = &plan.zone else {
        unreachable!("called for RFC 2136 plans")
    };
    for p in &plan.names {
        challenge_alias(plan, &p.target)?;
    }
    let key = tsig(opts)?;
    let addr = server_addr(server)?;
    let secret = tsig_secret_b64(key);
    let req = AccountRequest {
        account_id: "acme-delegate",
        config: Rfc2136Config {
            nameserver: addr.to_string(),
            tsig_key: key.name.without_dot().to_string(),
            tsig_secret: secret.clone(),
            tsig_algorithm: key.algorithm.name().to_ascii_uppercase(),
        },
    };
    let f = opts.file(base, "certmate-account-rfc2136.json");
    out.files
        .push(PlannedFile::secret(f.clone(), json(&req)?, vec![secret]));
    Ok(vec![(f, super::identifiers(plan))])
}

/// CertMate's `domain_alias` for a target: the target without its leading
/// `_acme-challenge.` label (CertMate puts it back).
fn challenge_alias(plan: &Plan, target: &crate::dns::Name) -> Result<String, WriteError> {
    let t = bare(target);
    t.strip_prefix(&format!("{CHALLENGE_LABEL}."))
        .map(str::to_string)
        .ok_or_else(|| {
            WriteError::unsupported(
                Client::CertMate,
                plan,
                &format!("CertMate writes the TXT at _acme-challenge.<alias>, but the plan's target {t} does not start with _acme-challenge., so no alias reaches it"),
                "use lego, acme.sh (--domain-alias) or certbot with acme-delegate's hook for this plan, or point the CNAME at _acme-challenge.<label>.<zone> and plan with that target",
            )
        })
}

//! Traefik: a certificate resolver whose `dnsChallenge.provider` is lego's provider code
//! (Traefik embeds lego, which follows the CNAME), and the lego environment for the
//! Traefik process. The provider settings are process-wide environment variables.

use super::{
    bare, env_file, goacmedns_json, server_addr, sh_line, tsig, tsig_secret_b64, with_env, Client,
    ClientOutput, PlannedFile, WriteError, WriteOptions,
};
use crate::model::plan::{Plan, ZoneSpec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const RESOLVER: &str = "acme-delegate";
pub const STATIC: &str = "acme-delegate-traefik.yml";
pub const ENV: &str = "acme-delegate-traefik.env";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Static {
    certificates_resolvers: BTreeMap<&'static str, Resolver>,
}

#[derive(Serialize)]
struct Resolver {
    acme: Acme,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Acme {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    storage: String,
    ca_server: String,
    dns_challenge: DnsChallenge,
}

#[derive(Serialize)]
struct DnsChallenge {
    provider: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resolvers: Vec<String>,
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let default = if opts.root && opts.out.is_none() {
        PathBuf::from("/etc/traefik")
    } else {
        opts.cwd.join("traefik")
    };
    let base = opts.base(default);
    let mut out = ClientOutput::default();
    let env_path = base.join(ENV);
    let provider = match &plan.zone {
        ZoneSpec::AcmeDns { api, .. } => {
            let accounts = base.join("acme-dns-accounts.json");
            let (json, masks) = goacmedns_json(plan, opts)?;
            out.files
                .push(PlannedFile::secret(accounts.clone(), json, masks));
            let text = env_file(
                "lego settings for Traefik's acme-dns provider (process-wide)",
                &[
                    ("ACME_DNS_API_BASE", api.trim_end_matches('/').to_string()),
                    (
                        "ACME_DNS_STORAGE_PATH",
                        accounts.to_string_lossy().into_owned(),
                    ),
                ],
            )?;
            out.files.push(PlannedFile::public(env_path.clone(), text));
            out.notes.push(
                "the account file is pre-seeded with every name: Traefik cannot answer lego's \"CNAME required\" stop; keep it persistent and writable".into(),
            );
            "acme-dns".to_string()
        }
        ZoneSpec::Rfc2136 { server, .. } => {
            let key = tsig(opts)?;
            let addr = server_addr(server)?;
            let secret = tsig_secret_b64(key);
            let text = env_file(
                "lego settings for Traefik's rfc2136 provider (process-wide); holds the TSIG secret",
                &[
                    ("RFC2136_NAMESERVER", addr.to_string()),
                    ("RFC2136_TSIG_KEY", key.name.as_str().to_string()),
                    ("RFC2136_TSIG_ALGORITHM", format!("{}.", key.algorithm.name())),
                    ("RFC2136_TSIG_SECRET", secret.clone()),
                    ("RFC2136_PROPAGATION_TIMEOUT", "180".into()),
                ],
            )?;
            out.files
                .push(PlannedFile::secret(env_path.clone(), text, vec![secret]));
            "rfc2136".to_string()
        }
        ZoneSpec::Provider {
            provider, domain, ..
        } => {
            out.notes.push(format!(
                "put the {provider} credentials (lego's variable names, `lego dnshelp -c {provider}`) in Traefik's environment; lego follows the CNAME into {}",
                bare(domain)
            ));
            provider.clone()
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::Traefik,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    };
    let doc = Static {
        certificates_resolvers: BTreeMap::from([(
            RESOLVER,
            Resolver {
                acme: Acme {
                    email: opts.email.clone(),
                    storage: base.join("acme.json").to_string_lossy().into_owned(),
                    ca_server: opts.server().to_string(),
                    dns_challenge: DnsChallenge {
                        provider,
                        resolvers: opts.resolvers.clone(),
                    },
                },
            },
        )]),
    };
    let yaml = serde_saphyr::to_string(&doc).map_err(|e| WriteError::Unrepresentable {
        what: format!("the Traefik config does not serialise: {e}"),
        fix: "report this as a bug".into(),
    })?;
    let static_path = base.join(STATIC);
    out.files.push(PlannedFile::public(
        static_path.clone(),
        format!("# Traefik static configuration (certificate resolver) written by acme-delegate\n{yaml}"),
    ));
    let run = sh_line(&[
        "traefik".to_string(),
        format!("--configFile={}", static_path.to_string_lossy()),
    ])?;
    out.next_commands
        .push(if matches!(plan.zone, ZoneSpec::Provider { .. }) {
            run
        } else {
            with_env(&env_path, &run)?
        });
    let domains: Vec<String> = plan.names.iter().map(|n| n.name.clone()).collect();
    out.notes.push(format!(
        "merge certificatesResolvers into your static config, and give the routers `tls.certResolver: {RESOLVER}` with tls.domains for {}",
        domains.join(", ")
    ));
    out.notes.push(
        "the provider's variables are process-wide: every resolver of this Traefik uses the same server or account file".into(),
    );
    Ok(out)
}

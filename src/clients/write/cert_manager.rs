//! cert-manager: a Secret (the acme-dns accounts JSON keyed by NAME, or the TSIG secret),
//! a ClusterIssuer with an `acmeDNS` or `rfc2136` solver and `cnameStrategy: Follow`, and
//! a Certificate for the plan's names. Secrets of a ClusterIssuer are read from the
//! controller's cluster resource namespace (`cert-manager` by default).

use super::{
    account, acme_dns_api, groups, identifiers, server_addr, sh_line, tsig, tsig_secret_b64,
    Client, ClientOutput, PlannedFile, WriteError, WriteOptions,
};
use crate::model::plan::{Plan, ZoneSpec};
use crate::zones::rfc2136::TsigAlgorithm;
use serde::Serialize;
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "cert-manager";
pub const ISSUER: &str = "acme-delegate";
pub const SECRET: &str = "acme-delegate-dns01";
/// The data key of the acme-dns accounts JSON in the Secret.
pub const ACMEDNS_KEY: &str = "acmedns.json";
/// The data key of the TSIG secret in the Secret.
pub const TSIG_KEY: &str = "tsig-secret";

#[derive(Serialize)]
struct Meta<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Secret<'a> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Meta<'a>,
    #[serde(rename = "type")]
    kind_of: &'a str,
    string_data: BTreeMap<&'a str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issuer<'a> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Meta<'a>,
    spec: IssuerSpec<'a>,
}

#[derive(Serialize)]
struct IssuerSpec<'a> {
    acme: Acme<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Acme<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    private_key_secret_ref: Ref<'a>,
    solvers: Vec<Solver<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ref<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Solver<'a> {
    selector: Selector,
    dns01: Dns01<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    dns_names: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dns01<'a> {
    cname_strategy: &'a str,
    #[serde(rename = "acmeDNS", skip_serializing_if = "Option::is_none")]
    acme_dns: Option<AcmeDnsSolver<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rfc2136: Option<Rfc2136Solver<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AcmeDnsSolver<'a> {
    host: &'a str,
    account_secret_ref: Ref<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rfc2136Solver<'a> {
    nameserver: String,
    tsig_key_name: String,
    tsig_algorithm: &'a str,
    tsig_secret_secret_ref: Ref<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Certificate<'a> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Meta<'a>,
    spec: CertSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertSpec<'a> {
    secret_name: String,
    dns_names: Vec<String>,
    issuer_ref: IssuerRef<'a>,
}

#[derive(Serialize)]
struct IssuerRef<'a> {
    name: &'a str,
    kind: &'a str,
    group: &'a str,
}

/// The account JSON cert-manager reads: NAME -> {username, password, fulldomain, subdomain}.
#[derive(Serialize)]
struct CmAccount<'a> {
    username: &'a str,
    password: &'a str,
    fulldomain: &'a str,
    subdomain: &'a str,
}

/// cert-manager's name for a TSIG algorithm (no SHA-384 there).
fn algorithm(a: TsigAlgorithm) -> Result<&'static str, WriteError> {
    match a {
        TsigAlgorithm::HmacSha256 => Ok("HMACSHA256"),
        TsigAlgorithm::HmacSha512 => Ok("HMACSHA512"),
        TsigAlgorithm::HmacSha384 => Err(WriteError::Unrepresentable {
            what: "cert-manager's rfc2136 solver accepts HMACMD5, HMACSHA1, HMACSHA256 and HMACSHA512, not the plan's hmac-sha384 key".into(),
            fix: "make an hmac-sha256 key on the validation zone's server (`tsig-keygen -a hmac-sha256 NAME`) and plan again with it".into(),
        }),
    }
}

fn yaml<T: Serialize>(v: &T) -> Result<String, WriteError> {
    serde_saphyr::to_string(v).map_err(|e| WriteError::Unrepresentable {
        what: format!("the manifest does not serialise: {e}"),
        fix: "report this as a bug".into(),
    })
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let base = opts.base(opts.cwd.join("cert-manager"));
    let mut out = ClientOutput::default();
    let names = identifiers(plan);
    let mut masks = Vec::new();
    let mut data = BTreeMap::new();
    let dns01 = match &plan.zone {
        ZoneSpec::AcmeDns { .. } => {
            let mut accounts = BTreeMap::new();
            for g in groups(plan) {
                let a = account(opts, &g.key)?;
                masks.push(a.password.expose().to_string());
                accounts.insert(
                    g.key.clone(),
                    CmAccount {
                        username: &a.username,
                        password: a.password.expose(),
                        fulldomain: a.fulldomain.trim_end_matches('.'),
                        subdomain: &a.subdomain,
                    },
                );
            }
            let json = serde_json::to_string(&accounts).map_err(|e| WriteError::Unrepresentable {
                what: format!("the account JSON does not serialise: {e}"),
                fix: "report this as a bug".into(),
            })?;
            data.insert(ACMEDNS_KEY, json);
            Dns01 {
                cname_strategy: "Follow",
                acme_dns: Some(AcmeDnsSolver {
                    host: acme_dns_api(plan).unwrap_or_default(),
                    account_secret_ref: Ref {
                        name: SECRET,
                        key: Some(ACMEDNS_KEY),
                    },
                }),
                rfc2136: None,
            }
        }
        ZoneSpec::Rfc2136 { server, .. } => {
            let key = tsig(opts)?;
            let addr = server_addr(server)?;
            let secret = tsig_secret_b64(key);
            masks.push(secret.clone());
            data.insert(TSIG_KEY, secret);
            Dns01 {
                cname_strategy: "Follow",
                acme_dns: None,
                rfc2136: Some(Rfc2136Solver {
                    nameserver: addr.to_string(),
                    tsig_key_name: key.name.without_dot().to_string(),
                    tsig_algorithm: algorithm(key.algorithm)?,
                    tsig_secret_secret_ref: Ref {
                        name: SECRET,
                        key: Some(TSIG_KEY),
                    },
                }),
            }
        }
        ZoneSpec::Provider { provider, .. } => {
            return Err(WriteError::unsupported(
                Client::CertManager,
                plan,
                &format!("acme-delegate holds no {provider} API token for a cert-manager Secret"),
                &format!("write the {provider} solver yourself with `cnameStrategy: Follow` (cert-manager then follows the CNAME), or use lego/Traefik with `--dns {provider}`"),
            ))
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::CertManager,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    };
    let secret = Secret {
        api_version: "v1",
        kind: "Secret",
        metadata: Meta {
            name: SECRET,
            namespace: Some(NAMESPACE),
        },
        kind_of: "Opaque",
        string_data: data,
    };
    let secret_path = opts.file(&base, "acme-delegate-secret.yaml");
    out.files.push(PlannedFile::secret(
        secret_path.clone(),
        yaml(&secret)?,
        masks,
    ));
    let issuer = Issuer {
        api_version: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: Meta {
            name: ISSUER,
            namespace: None,
        },
        spec: IssuerSpec {
            acme: Acme {
                server: opts.server(),
                email: opts.email.as_deref(),
                private_key_secret_ref: Ref {
                    name: "acme-delegate-account-key",
                    key: None,
                },
                solvers: vec![Solver {
                    selector: Selector {
                        dns_names: names.clone(),
                    },
                    dns01,
                }],
            },
        },
    };
    let issuer_path = opts.file(&base, "acme-delegate-clusterissuer.yaml");
    out.files
        .push(PlannedFile::public(issuer_path.clone(), yaml(&issuer)?));
    let cert_name = format!(
        "acme-delegate-{}",
        names[0].trim_start_matches("*.").replace('.', "-")
    );
    let cert = Certificate {
        api_version: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: Meta {
            name: &cert_name,
            namespace: Some("default"),
        },
        spec: CertSpec {
            secret_name: format!("{cert_name}-tls"),
            dns_names: names,
            issuer_ref: IssuerRef {
                name: ISSUER,
                kind: "ClusterIssuer",
                group: "cert-manager.io",
            },
        },
    };
    let cert_path = opts.file(&base, "acme-delegate-certificate.yaml");
    out.files
        .push(PlannedFile::public(cert_path.clone(), yaml(&cert)?));
    let p = |x: &std::path::Path| x.to_string_lossy().into_owned();
    out.next_commands.push(sh_line(&[
        "kubectl".to_string(),
        "apply".into(),
        "-f".into(),
        p(&secret_path),
        "-f".into(),
        p(&issuer_path),
        "-f".into(),
        p(&cert_path),
    ])?);
    out.next_commands.push(sh_line(&[
        "kubectl",
        "wait",
        "--namespace",
        "default",
        "--for=condition=Ready",
        &format!("certificate/{cert_name}"),
        "--timeout=10m",
    ])?);
    out.notes.push(format!(
        "the Secret goes to the {NAMESPACE} namespace (a ClusterIssuer reads Secrets from the controller's cluster resource namespace); change it if yours differs"
    ));
    out.notes.push(
        "`cnameStrategy: Follow` makes cert-manager follow the _acme-challenge CNAME through its recursive nameservers: the validation zone must be visible to them".into(),
    );
    Ok(out)
}

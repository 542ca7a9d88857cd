//! YAML / TOML configs: cert-manager Issuer / ClusterIssuer, Traefik static config.

use super::yaml::{self, Yn, Yv};
use super::{
    acme_dns_accounts_from_json, cfg_err, lego_writes, loc, parse_env, ClientConfigError,
    ClientKind, ClientWrite, CnameFollow, Kv, Located,
};
use crate::model::config::line_of;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

pub(super) fn parse_yaml(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let docs = yaml::parse_documents(text).map_err(|e| cfg_err(path, Some(e.line), e.message))?;
    let is_issuer = |d: &Yn| {
        matches!(
            d.get("kind").and_then(Yn::str),
            Some("Issuer") | Some("ClusterIssuer")
        )
    };
    if docs.iter().any(is_issuer) {
        return parse_cert_manager(path, &docs);
    }
    if let Some(d) = docs
        .iter()
        .find(|d| d.get_ci("certificatesResolvers").is_some())
    {
        return parse_traefik_yaml(path, d);
    }
    Err(cfg_err(
        path,
        None,
        "YAML file holds neither a cert-manager Issuer/ClusterIssuer nor a Traefik \
         certificatesResolvers section",
    ))
}

// ---------------------------------------------------------------------------------------
// cert-manager

/// The `stringData` of the Secrets in `docs`: (name, data key, value); and whether any
/// Secret holds data.
fn secrets_of(docs: &[Yn]) -> (Vec<(String, String, String)>, bool) {
    let mut secrets: Vec<(String, String, String)> = Vec::new();
    let mut file_has_secret = false;
    for d in docs
        .iter()
        .filter(|d| d.get("kind").and_then(Yn::str) == Some("Secret"))
    {
        let name = d
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yn::str)
            .unwrap_or("");
        for section in ["stringData", "data"] {
            if let Some(data) = d.get(section) {
                for (k, _, v) in data.map() {
                    file_has_secret = true;
                    if section == "stringData" {
                        if let Some(s) = v.str() {
                            secrets.push((name.to_string(), k.clone(), s.to_string()));
                        }
                    }
                }
            }
        }
    }
    (secrets, file_has_secret)
}

/// The Secrets in the YAML files beside `path` (as `kubectl apply -f DIR` applies them
/// together): (name, data key, value). Unreadable files are skipped.
fn sibling_secrets(path: &Path) -> Vec<(String, String, String)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p != path
                && p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                })
        })
        .collect();
    files.sort();
    files
        .iter()
        .take(64)
        .filter_map(|p| super::read_side_file(p))
        .filter_map(|t| yaml::parse_documents(&t).ok())
        .flat_map(|docs| secrets_of(&docs).0)
        .collect()
}

fn parse_cert_manager(path: &Path, docs: &[Yn]) -> Result<Vec<ClientWrite>, ClientConfigError> {
    // Secrets in the same file: (name, data key) -> accounts JSON; and whether any holds data.
    let (mut secrets, file_has_secret) = secrets_of(docs);
    let mut beside: Option<Vec<(String, String, String)>> = None;

    let mut out = Vec::new();
    for d in docs {
        let Some(kind) = d.get("kind").and_then(Yn::str) else {
            continue;
        };
        if kind != "Issuer" && kind != "ClusterIssuer" {
            continue;
        }
        let issuer = d
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yn::str)
            .unwrap_or("?");
        let Some(acme) = d.get("spec").and_then(|s| s.get("acme")) else {
            continue; // a CA / self-signed / Vault issuer: no DNS-01
        };
        let Some((sl, solvers)) = acme.entry("solvers") else {
            return Err(cfg_err(
                path,
                Some(acme.line),
                format!("{kind} {issuer}: spec.acme has no solvers"),
            ));
        };
        if !matches!(solvers.v, Yv::Seq(_)) {
            return Err(cfg_err(
                path,
                Some(sl),
                format!("{kind} {issuer}: spec.acme.solvers is not a list"),
            ));
        }
        for solver in solvers.seq() {
            let Some((dl, dns01)) = solver.entry("dns01") else {
                continue;
            };
            let strategy = dns01.entry("cnameStrategy");
            let provider = dns01
                .map()
                .iter()
                .find(|(k, _, _)| k != "cnameStrategy" && k != "nameservers" && k != "webhook")
                .or_else(|| dns01.map().iter().find(|(k, _, _)| k == "webhook"));
            let Some((pkey, _, pnode)) = provider else {
                return Err(cfg_err(
                    path,
                    Some(dl),
                    format!("{kind} {issuer}: dns01 solver names no provider"),
                ));
            };
            let method = match pkey.as_str() {
                "acmeDNS" => "acme-dns".to_string(),
                "webhook" => pnode
                    .get("solverName")
                    .and_then(Yn::str)
                    .map(|s| format!("webhook:{s}"))
                    .unwrap_or_else(|| "webhook".into()),
                o => o.to_ascii_lowercase(),
            };
            let follows = match strategy {
                Some((_, v)) if v.str() == Some("Follow") => CnameFollow::Yes,
                Some((l, v)) => CnameFollow::No {
                    why: format!(
                        "cnameStrategy: {} at {}:{} (only Follow makes cert-manager follow the CNAME)",
                        v.str().unwrap_or(""),
                        path.display(),
                        l
                    ),
                },
                None => CnameFollow::No {
                    why: format!(
                        "no cnameStrategy under dns01 at {}:{} (the default None writes at _acme-challenge.<name>)",
                        path.display(),
                        dl
                    ),
                },
            };
            let mut w = ClientWrite::new(ClientKind::CertManager, path, &method, follows);
            w.cname_setting = Some(match strategy {
                Some((l, v)) => loc(format!("cnameStrategy: {}", v.str().unwrap_or("")), l, None),
                None => loc("dns01:".to_string(), dl, None),
            });
            if let Some(sel) = solver.get("selector") {
                w.domains = sel
                    .get("dnsNames")
                    .map(Yn::strings)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                    .collect();
                w.domain_zones = sel
                    .get("dnsZones")
                    .map(Yn::strings)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                    .collect();
            }
            match method.as_str() {
                "rfc2136" => {
                    if let Some((l, v)) = pnode.entry("nameserver") {
                        if let Some(s) = v.str() {
                            w.server = Some(loc(s.to_string(), l, None));
                        }
                    }
                }
                "acme-dns" => {
                    if let Some((l, v)) = pnode.entry("host") {
                        if let Some(s) = v.str() {
                            w.server = Some(loc(s.to_string(), l, None));
                        }
                    }
                    if let Some(r) = pnode.get("accountSecretRef") {
                        let n = r.get("name").and_then(Yn::str).unwrap_or("");
                        let k = r.get("key").and_then(Yn::str).unwrap_or("");
                        if !secrets.iter().any(|(sn, sk, _)| sn == n && sk == k) {
                            // Not in this file: a Secret written beside it.
                            let b = beside.get_or_insert_with(|| sibling_secrets(path));
                            secrets
                                .extend(b.iter().filter(|(sn, sk, _)| sn == n && sk == k).cloned());
                        }
                        if let Some((_, _, json)) =
                            secrets.iter().find(|(sn, sk, _)| sn == n && sk == k)
                        {
                            w.acme_dns_accounts = acme_dns_accounts_from_json(json);
                        }
                    }
                }
                _ => {}
            }
            if file_has_secret {
                w.add_credential_file(path.to_path_buf());
            }
            out.push(w);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Traefik

/// lego settings for the Traefik process: `<config name>.env` (as `write --client traefik`
/// puts it), `traefik.env` or `.env` beside the config.
fn traefik_env(path: &Path) -> Result<(Vec<Kv>, Option<PathBuf>), ClientConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // `<config name>.env` only when it is an env file: the name alone does not make it one.
    if let Some(p) = path
        .file_stem()
        .map(|s| dir.join(format!("{}.env", s.to_string_lossy())))
    {
        if let Some(Ok(kvs)) = super::read_side_file(&p).map(|t| parse_env(&p, &t)) {
            return Ok((kvs, Some(p)));
        }
    }
    for name in ["traefik.env", ".env"] {
        let p = dir.join(name);
        if let Some(t) = super::read_side_file(&p) {
            return Ok((parse_env(&p, &t)?, Some(p)));
        }
    }
    Ok((vec![], None))
}

fn traefik_writes(
    path: &Path,
    resolvers: Vec<(String, Located<String>)>,
) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let (env, env_file) = traefik_env(path)?;
    let mut out = Vec::new();
    for (_name, provider) in resolvers {
        out.extend(lego_writes(
            ClientKind::Traefik,
            path,
            &env,
            env_file.as_deref(),
            Some(provider),
        )?);
    }
    Ok(out)
}

fn parse_traefik_yaml(path: &Path, doc: &Yn) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let mut resolvers = Vec::new();
    if let Some(crs) = doc.get_ci("certificatesResolvers") {
        for (name, _, r) in crs.map() {
            let Some(ch) = r.get_ci("acme").and_then(|a| a.get_ci("dnsChallenge")) else {
                continue;
            };
            let prov = ch
                .map()
                .iter()
                .find(|(k, _, _)| k.eq_ignore_ascii_case("provider"));
            match prov.and_then(|(_, l, v)| v.str().map(|s| (s, *l))) {
                Some((s, l)) => resolvers.push((name.clone(), loc(s.to_string(), l, None))),
                None => {
                    return Err(cfg_err(
                        path,
                        Some(ch.line),
                        format!("certificatesResolvers.{name}.acme.dnsChallenge has no provider"),
                    ))
                }
            }
        }
    }
    traefik_writes(path, resolvers)
}

/// The tables under `key` in a TOML table, ignoring ASCII case (Traefik's keys are, so
/// `certificatesResolvers` and `certificatesresolvers` may both be there).
fn toml_tables<'a, 'i>(
    t: &'a DeTable<'i>,
    key: &'a str,
) -> impl Iterator<Item = &'a DeTable<'i>> + 'a {
    t.iter()
        .filter(move |(k, _)| k.get_ref().eq_ignore_ascii_case(key))
        .filter_map(|(_, v)| v.get_ref().as_table())
}

pub(super) fn parse_traefik_toml(
    path: &Path,
    text: &str,
) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let msg = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        cfg_err(path, line, format!("invalid TOML: {msg}"))
    })?;
    // certificatesResolvers.<name>.acme.dnsChallenge.provider, in file order.
    let mut found = Vec::new();
    let resolvers = toml_tables(doc.get_ref(), "certificatesResolvers").flat_map(|t| t.iter());
    for (name, r) in resolvers {
        let Some(r) = r.get_ref().as_table() else {
            continue;
        };
        let challenges = toml_tables(r, "acme").flat_map(|a| toml_tables(a, "dnsChallenge"));
        for (k, v) in challenges.flat_map(|c| c.iter()) {
            if !k.get_ref().eq_ignore_ascii_case("provider") {
                continue;
            }
            if let Some(p) = v.get_ref().as_str() {
                let line = line_of(text, k.span().start);
                let provider = loc(p.to_string(), line, None);
                found.push((k.span().start, name.get_ref().to_string(), provider));
            }
        }
    }
    found.sort_by_key(|(at, _, _)| *at);
    let resolvers = found.into_iter().map(|(_, n, p)| (n, p)).collect();
    traefik_writes(path, resolvers)
}

//! Caddyfile: `tls { dns <provider> {…} dns_challenge_override_domain X }` per site, and the
//! global `acme_dns` / `dns` options.

use super::{
    cfg_err, loc, read_acme_dns_storage, resolve, ClientConfigError, ClientKind, ClientWrite,
    CnameFollow,
};
use crate::dns::Name;
use std::path::Path;

#[derive(Clone, Debug, Default)]
struct Dir {
    name: String,
    args: Vec<String>,
    line: usize,
    children: Vec<Dir>,
}

impl Dir {
    fn child(&self, name: &str) -> Option<&Dir> {
        self.children.iter().find(|d| d.name == name)
    }
    fn arg(&self, name: &str) -> Option<(&str, usize)> {
        self.child(name)
            .and_then(|d| d.args.first().map(|a| (a.as_str(), d.line)))
    }
}

fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    let mut in_tok = false;
    for c in line.chars() {
        if quote {
            if c == '"' {
                quote = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quote = true;
                in_tok = true;
            }
            '#' if !in_tok => break,
            c if c.is_whitespace() => {
                if in_tok {
                    out.push(std::mem::take(&mut cur));
                    in_tok = false;
                }
            }
            c => {
                cur.push(c);
                in_tok = true;
            }
        }
    }
    if in_tok {
        out.push(cur);
    }
    out
}

const MAX_DEPTH: usize = 32;

fn block(
    path: &Path,
    lines: &[(usize, Vec<String>)],
    pos: &mut usize,
    depth: usize,
    opened_at: Option<usize>,
) -> Result<Vec<Dir>, ClientConfigError> {
    if depth > MAX_DEPTH {
        return Err(cfg_err(path, opened_at, "blocks nested too deep"));
    }
    let mut out = Vec::new();
    while *pos < lines.len() {
        let (no, toks) = &lines[*pos];
        *pos += 1;
        if toks.len() == 1 && toks[0] == "}" {
            return match opened_at {
                Some(_) => Ok(out),
                None => Err(cfg_err(path, Some(*no), "`}` without a matching `{`")),
            };
        }
        let opens = toks.last().is_some_and(|t| t == "{");
        let body = if opens {
            &toks[..toks.len() - 1]
        } else {
            &toks[..]
        };
        let mut d = Dir {
            name: body.first().cloned().unwrap_or_default(),
            args: body.iter().skip(1).cloned().collect(),
            line: *no,
            children: vec![],
        };
        if opens {
            d.children = block(path, lines, pos, depth + 1, Some(*no))?;
        }
        out.push(d);
    }
    match opened_at {
        Some(l) => Err(cfg_err(path, Some(l), "unclosed `{` (truncated file?)")),
        None => Ok(out),
    }
}

fn site_domain(addr: &str) -> Option<String> {
    let a = addr.trim_end_matches(',');
    let a = a.split("://").last().unwrap_or(a);
    let a = a.split('/').next().unwrap_or(a);
    let host = match a.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => a,
    };
    if host.is_empty() || !host.contains('.') || host.starts_with('(') {
        return None;
    }
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

fn literal(v: &str) -> bool {
    !v.is_empty() && !v.starts_with('{')
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let lines: Vec<(usize, Vec<String>)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, tokenize(l)))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let mut pos = 0;
    let top = block(path, &lines, &mut pos, 0, None)?;

    // The global options block is a bare `{ … }` first.
    let global = top
        .iter()
        .find(|d| d.name.is_empty() && !d.children.is_empty());
    let global_dns = global.and_then(|g| g.child("acme_dns").or_else(|| g.child("dns")));
    let mut sites: Vec<Dir> = top
        .iter()
        .filter(|d| !d.name.is_empty() && !d.name.starts_with('(') && !d.children.is_empty())
        .cloned()
        .collect();
    if sites.is_empty() && global.is_none() && top.first().is_some_and(|d| d.children.is_empty()) {
        // A single site without braces: the first line is its address.
        let mut site = top[0].clone();
        site.children = top[1..].to_vec();
        sites.push(site);
    }

    let mut out = Vec::new();
    for site in &sites {
        let tls = site.child("tls");
        let dns = tls.and_then(|t| t.child("dns")).or(global_dns);
        let Some(dns) = dns else {
            continue; // no DNS provider: Caddy uses HTTP-01 / TLS-ALPN-01
        };
        let Some(provider) = dns.args.first() else {
            return Err(cfg_err(
                path,
                Some(dns.line),
                "`dns` without a provider name",
            ));
        };
        let method = match provider.as_str() {
            "acmedns" => "acme-dns".to_string(),
            o => o.to_string(),
        };
        let why = "CertMagic does not follow CNAMEs when it writes the record; without \
                   dns_challenge_override_domain it updates _acme-challenge.<name>"
            .to_string();
        let mut w = ClientWrite::new(ClientKind::Caddy, path, &method, CnameFollow::No { why });
        let mut domains: Vec<String> = std::iter::once(site.name.as_str())
            .chain(site.args.iter().map(String::as_str))
            .filter_map(site_domain)
            .collect();
        domains.dedup();
        w.domains = domains;
        w.cname_setting = Some(match tls {
            Some(t) => loc("tls".to_string(), t.line, None),
            None => loc(site.name.clone(), site.line, None),
        });
        if let Some(t) = tls {
            if let Some((o, l)) = t.arg("dns_challenge_override_domain") {
                w.alias = Some(loc(Name::from_ascii(o), l, None));
                w.cname_setting = Some(loc(format!("dns_challenge_override_domain {o}"), l, None));
            }
        }
        match method.as_str() {
            "rfc2136" => {
                if let Some((s, l)) = dns.arg("server") {
                    w.server = Some(loc(s.to_string(), l, None));
                }
                if dns.arg("key").is_some_and(|(k, _)| literal(k)) {
                    w.add_credential_file(path.to_path_buf());
                }
            }
            "acme-dns" => {
                if let Some((s, l)) = dns.arg("server_url") {
                    w.server = Some(loc(s.to_string(), l, None));
                }
                if dns.arg("password").is_some_and(|(p, _)| literal(p)) {
                    w.add_credential_file(path.to_path_buf());
                }
                if let Some((s, l)) = dns.arg("subdomain").filter(|(s, _)| literal(s)) {
                    w.acme_dns_subdomains
                        .push((String::new(), loc(s.to_string(), l, None)));
                }
                let file = dns
                    .args
                    .get(1)
                    .map(|a| a.as_str())
                    .or(dns.arg("config_file_path").map(|x| x.0));
                if let Some(f) = file {
                    let p = resolve(path, f);
                    w.acme_dns_accounts = read_acme_dns_storage(&p);
                    w.add_credential_file(p);
                }
                if let Some(cfg) = dns.child("config") {
                    for acct in &cfg.children {
                        let key = acct.name.trim_end_matches('.').to_ascii_lowercase();
                        if let Some((fd, _)) = acct.arg("fulldomain") {
                            w.acme_dns_accounts
                                .push((key.clone(), Name::from_ascii(fd)));
                        } else if let Some((s, l)) = acct.arg("subdomain") {
                            w.acme_dns_subdomains
                                .push((key, loc(s.to_string(), l, None)));
                        }
                        if acct.arg("password").is_some_and(|(p, _)| literal(p)) {
                            w.add_credential_file(path.to_path_buf());
                        }
                    }
                }
            }
            _ => {
                let inline_secret = dns.args.get(1).is_some_and(|a| literal(a))
                    || ["api_token", "token", "api_key"]
                        .iter()
                        .any(|k| dns.arg(k).is_some_and(|(v, _)| literal(v)));
                if inline_secret {
                    w.add_credential_file(path.to_path_buf());
                }
            }
        }
        out.push(w);
    }
    Ok(out)
}

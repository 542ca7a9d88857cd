//! The fuzz targets' bodies: one function per target, each taking arbitrary bytes. They
//! only call the library and check what must hold whatever the input (no panic, and a few
//! round trips). `fuzz_targets/*.rs` hand them to libFuzzer (nightly, `cargo fuzz run`);
//! `tests/fuzz_corpus.rs` in the main crate includes this file and replays every file of
//! `fuzz/corpus/<target>/` through the same function on stable Rust.

use acme_delegate::clients::read::{client_findings, parse_client_text, ClientFormat, ClientWrite};
use acme_delegate::dns::transport::decode_outcome;
use acme_delegate::dns::Outcome;
use acme_delegate::model::config::{parse_addr, parse_root_hints, Config};
use acme_delegate::model::name::{parse_all, parse_input, parse_target};
use acme_delegate::model::plan::Plan;
use acme_delegate::zones::acme_dns::{
    accounts_from_json, cidr_contains, parse_api_url, register_answer, update_answer,
};
use std::path::{Path, PathBuf};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("names", names),
    ("config", config),
    ("plan", plan),
    ("client_config", client_config),
    ("acme_dns", acme_dns),
    ("dns_packet", dns_packet),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Names: one per line through `parse_input`, all lines through `parse_all`, and targets.
/// A name that parses parses again from its identifier to the same thing.
pub fn names(data: &[u8]) {
    let t = text(data);
    let lines: Vec<&str> = t.lines().collect();
    for l in &lines {
        if let Ok(n) = parse_input(l) {
            let again = parse_input(&n.identifier)
                .unwrap_or_else(|e| panic!("{l:?} -> {:?} fails again: {e}", n.identifier));
            assert_eq!(again.identifier, n.identifier, "{l:?}");
            assert_eq!(again.challenge, n.challenge, "{l:?}");
            assert_eq!(again.wildcard, n.wildcard, "{l:?}");
        }
        let _ = parse_target(l);
    }
    if let Ok(all) = parse_all(&lines) {
        assert!(all.len() <= lines.len());
        for (i, a) in all.iter().enumerate() {
            assert!(
                all[i + 1..].iter().all(|b| b.identifier != a.identifier),
                "a duplicate survived parse_all: {}",
                a.identifier
            );
        }
    }
}

/// The config TOML (and the address and root-hint parsers it uses).
pub fn config(data: &[u8]) {
    let t = text(data);
    match Config::from_toml(&t, Path::new("fuzz.toml")) {
        Ok(c) => {
            assert!(!c.roots.is_empty());
            assert!(c.attempts >= 1 && c.max_inflight >= 1);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    for l in t.lines().take(64) {
        let _ = parse_addr(l);
    }
    let _ = parse_root_hints(&t);
}

/// The saved plan: what loads saves and loads again to the same plan.
pub fn plan(data: &[u8]) {
    let t = text(data);
    let path = Path::new("plan.toml");
    let Ok(p) = Plan::from_toml(&t, path) else {
        return;
    };
    let saved = p.to_toml();
    let back = Plan::from_toml(&saved, path)
        .unwrap_or_else(|e| panic!("a loaded plan does not load again: {e}\n{saved}"));
    assert_eq!(back, p);
    for n in &p.names {
        let _ = (n.fqdn_record(), n.relative_owner(), n.zone_line());
    }
    let inputs = p.inputs();
    for i in &inputs {
        let _ = p.target_of(i);
    }
}

/// The folder that fuzzed client configs claim to live in: empty, so that files they name
/// relative to themselves are missing (absolute paths are looked up as they are).
fn client_dir() -> PathBuf {
    std::env::temp_dir().join(format!("acme-delegate-fuzz-{}", std::process::id()))
}

/// Each client-config reader: the first byte picks the reader, the rest is the file. The
/// findings for each write are made for a name and a target, as `diagnose` does.
pub fn client_config(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = ClientFormat::ALL[pick as usize % ClientFormat::ALL.len()];
    let file = match format {
        ClientFormat::LegoEnv => "lego.env",
        ClientFormat::Certbot => "www.example.com.conf",
        ClientFormat::AcmeSh => "example.com.conf",
        ClientFormat::Yaml => "issuer.yaml",
        ClientFormat::Caddyfile => "Caddyfile",
        ClientFormat::TraefikToml => "traefik.toml",
        ClientFormat::CertMate => "certmate-create.json",
    };
    let path = client_dir().join(file);
    let t = text(rest);
    match parse_client_text(format, &path, &t) {
        Ok(writes) => writes.iter().for_each(findings_of),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn findings_of(w: &ClientWrite) {
    let target = acme_delegate::dns::Name::from_ascii("d420c923.auth.acme-dns.io");
    let zone = acme_delegate::dns::Name::from_ascii("auth.acme-dns.io");
    for input in ["www.example.com", "*.example.com", "example.com"] {
        let name = parse_input(input).expect("a fixed name");
        let _ = client_findings(w, &name, None, None, None);
        let _ = client_findings(w, &name, Some(&target), Some(&zone), Some(&zone));
    }
}

/// acme-dns API answers: the first two bytes are the HTTP status, the third picks what is
/// read (the /register answer, the /update answer, an account file, an API URL, a CIDR).
/// A register answer's error never shows the password it may hold.
pub fn acme_dns(data: &[u8]) {
    let [hi, lo, pick, rest @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*hi, *lo]) % 600;
    let body = text(rest);
    let url = "http://127.0.0.1:1/register";
    match pick % 5 {
        0 => match register_answer(url, status, &body, &["127.0.0.0/8".into()], "http://x") {
            Ok(a) => {
                let _ = a.target();
            }
            Err(e) => {
                let shown = e.to_string();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                    if let Some(p) = v.get("password").and_then(|p| p.as_str()) {
                        // (a value that also stands elsewhere in the body may be shown
                        // as that other field)
                        assert!(
                            p.len() < 8 || body.matches(p).count() > 1 || !shown.contains(p),
                            "the password is in the error: {shown}"
                        );
                    }
                }
            }
        },
        1 => {
            if let Ok(o) = update_answer(url, status, &body) {
                let _ = (o.to_string(), o.is_updated());
            }
        }
        2 => {
            if let Ok(accounts) = accounts_from_json(&body, PathBuf::from("accounts.json")) {
                for a in accounts.values() {
                    let _ = a.target();
                }
            }
        }
        3 => {
            let _ = parse_api_url(&body).map(|u| u.to_string());
        }
        _ => {
            let _ = cidr_contains(&body, std::net::IpAddr::from([127, 0, 0, 1]));
        }
    }
}

/// Arbitrary DNS messages into the outcome the engine acts on, and the reads it makes of
/// one (labels, referral, SOA, negative TTL, answers, JSON).
pub fn dns_packet(data: &[u8]) {
    let Some(outcome) = decode_outcome(data, false) else {
        return;
    };
    let _ = outcome.label();
    let _ = outcome.is_usable();
    if let Some(r) = outcome.reply() {
        let _ = r.referral();
        let _ = r.negative_ttl();
        for rec in r.answers.iter().chain(&r.authority) {
            let _ = r.answers_of(&rec.name, rec.rtype());
            let _ = rec.to_zone_line();
            let _ = (rec.name.labels(), rec.name.ancestors_top_down());
            let _ = rec.name.relative_to(&rec.name.parent());
        }
        if let Outcome::Referral(_) = outcome {
            assert!(!r.authoritative && r.answers.is_empty());
        }
    }
    serde_json::to_string(&outcome).expect("an outcome serialises");
}

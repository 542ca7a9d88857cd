//! Real issuance in the lab: `write` pointed at pebble and the lab resolver, then the next
//! command it printed; the certificate and the production zone's serial are checked.

use super::{cli, json, sh};
use std::path::{Path, PathBuf};

/// The production zone's SOA serial, from its primary.
pub fn production_serial() -> u64 {
    let out = sh("kdig @127.0.0.11 SOA example.test +short +timeout=3 +retry=0");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no SOA serial for example.test: {text}"))
}

/// `write --client C --out DIR` pointed at pebble and the lab resolver: the JSON document.
pub fn write(plan: &Path, client: &str, out: &Path) -> serde_json::Value {
    let dir = std::env::var("LAB_ACME_DIRECTORY").unwrap();
    let resolver = std::env::var("LAB_RESOLVER").unwrap();
    let (rc, stdout, err) = cli(&[
        "--plan",
        plan.to_str().unwrap(),
        "write",
        "--client",
        client,
        "--out",
        out.to_str().unwrap(),
        "--server",
        &dir,
        "--email",
        "admin@example.test",
        "--resolver",
        &resolver,
        "--private-zone",
        "--json",
    ]);
    assert_eq!(rc, 0, "{stdout}\n{err}");
    json(&stdout)
}

/// Runs the first next command in bash with the lab's own RFC2136_* variables unset (so
/// only the written files configure the client); bounded in time. Returns the output.
pub fn run_next(doc: &serde_json::Value, limit_secs: u32) -> (bool, String) {
    let cmd = doc["clients"][0]["next_commands"][0].as_str().unwrap();
    let script = format!(
        "unset RFC2136_NAMESERVER RFC2136_TSIG_KEY RFC2136_TSIG_SECRET RFC2136_TSIG_ALGORITHM RFC2136_TTL\n{cmd}"
    );
    let out = std::process::Command::new("timeout")
        .args([&limit_secs.to_string(), "bash", "-c", &script])
        .output()
        .expect("run bash");
    let log = format!(
        "$ {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), log)
}

pub fn out_dir(tag: &str) -> PathBuf {
    super::run_dir().join(format!("write-{tag}-{}", super::rand_suffix()))
}

pub fn assert_cert(crt: &Path, names: &[&str], log: &str) {
    assert!(crt.exists(), "no certificate at {}:\n{log}", crt.display());
    let out = sh(&format!(
        "openssl x509 -in '{}' -noout -ext subjectAltName",
        crt.display()
    ));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    for n in names {
        assert!(text.contains(&format!("DNS:{n}")), "{n} not in {text}");
    }
}

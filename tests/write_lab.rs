//! `write`, then the next command it printed, against pebble and the lab resolver: a
//! certificate is issued for the delegated name, and the TXT went only to the validation
//! zone (the production zone's SOA serial is unchanged by the issuance).
//!
//! Debian's lego (4.9.1) has no working path to the acme-dns fixture here, so lego +
//! acme-dns is covered by the snapshot and parse tests in src/clients/write/tests.rs only.

mod common;

use common::{cli, json, plan_file, publish_cname, sh, unique};
use std::path::{Path, PathBuf};

/// Held from publishing a CNAME to the last serial check: the tests of this file run in
/// parallel, and another test's CNAME would change the serial during an issuance.
static PRODUCTION_ZONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn production_zone() -> std::sync::MutexGuard<'static, ()> {
    PRODUCTION_ZONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The production zone's SOA serial, from its primary.
fn production_serial() -> u64 {
    let out = sh("kdig @127.0.0.11 SOA example.test +short +timeout=3 +retry=0");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no SOA serial for example.test: {text}"))
}

/// `plan --zone rfc2136` for the names (acme-update key, acme.lab); returns the targets.
fn plan(plan: &Path, names: &[&str]) -> Vec<String> {
    let key = std::env::var("LAB_TSIG_BIND_KEY").unwrap();
    let mut args = vec![
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key-file",
        &key,
        "--domain",
        "acme.lab",
    ];
    args.extend_from_slice(names);
    let (rc, out, err) = cli(&args);
    assert!(rc == 0 || rc == 1, "{rc} {out} {err}");
    json(&out)["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"].as_str().unwrap().to_string())
        .collect()
}

/// `write --client C --out DIR` pointed at pebble and the lab resolver: the JSON document.
fn write(plan: &Path, client: &str, out: &Path) -> serde_json::Value {
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
fn run_next(doc: &serde_json::Value, limit_secs: u32) -> (bool, String) {
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

fn out_dir(tag: &str) -> PathBuf {
    common::run_dir().join(format!("write-{tag}-{}", common::rand_suffix()))
}

fn assert_cert(crt: &Path, names: &[&str], log: &str) {
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

fn lego_issues(names: &[&str]) {
    let p = plan_file();
    let targets = plan(&p, names);
    let _zone = production_zone();
    publish_cname(names[0].trim_start_matches("*."), &targets[0]);
    let serial = production_serial();
    let out = out_dir("lego");
    let doc = write(&p, "lego", &out);
    let (ok, log) = run_next(&doc, 150);
    assert!(ok, "{log}");
    let file = names[0].trim_start_matches("*.").to_string();
    let crt = out.join("certificates").join(format!("{file}.crt"));
    assert_cert(&crt, names, &log);
    assert_eq!(
        production_serial(),
        serial,
        "the production zone was written to"
    );
}

#[test]
fn lego_with_rfc2136_issues_through_the_cname() {
    let name = unique("wl");
    lego_issues(&[&name]);
}

#[test]
fn lego_with_rfc2136_issues_an_apex_and_its_wildcard() {
    let name = unique("ww");
    let wild = format!("*.{name}");
    lego_issues(&[&name, &wild]);
}

#[test]
fn certbot_with_the_hook_issues_through_an_rfc2136_plan() {
    let name = unique("wc");
    let p = plan_file();
    let targets = plan(&p, &[&name]);
    let _zone = production_zone();
    publish_cname(&name, &targets[0]);
    let serial = production_serial();
    let out = out_dir("certbot");
    let doc = write(&p, "certbot", &out);
    let (ok, log) = run_next(&doc, 170);
    assert!(ok, "{log}");
    let crt = out.join("config/live").join(&name).join("cert.pem");
    assert_cert(&crt, &[&name], &log);
    assert_eq!(
        production_serial(),
        serial,
        "the production zone was written to"
    );
    // certbot stored the hooks for `certbot renew`.
    let renewal =
        std::fs::read_to_string(out.join("config/renewal").join(format!("{name}.conf"))).unwrap();
    assert!(renewal.contains("hook certbot-auth"), "{renewal}");
}

#[test]
fn the_hook_refuses_a_name_outside_the_plan_and_a_missing_domain() {
    let name = unique("wh");
    let p = plan_file();
    plan(&p, &[&name]);
    let (rc, _, err) = cli(&["--plan", p.to_str().unwrap(), "hook", "certbot-auth"]);
    assert_eq!(rc, 2);
    assert!(err.contains("CERTBOT_DOMAIN"), "{err}");
    let out = sh(&format!(
        "CERTBOT_DOMAIN=other.example.org CERTBOT_VALIDATION=x {} --config {} --plan {} hook certbot-auth",
        env!("CARGO_BIN_EXE_acme-delegate"),
        common::config().display(),
        p.display()
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the plan"));
}

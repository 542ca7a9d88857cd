//! Lab scenarios for the server and proof findings that need a deliberately broken
//! server or zone: a server without the AA bit (`SERVER_LAME`), a delegation to an
//! address where nothing listens (`SERVER_UNREACHABLE`), a resolver that keeps a replaced
//! CNAME (`RESOLVER_STALE`) and a validation zone whose second server never gets the
//! update (`PROOF_NOT_PUBLISHED`). See tests/lab/SCENARIOS.md.

mod common;

use common::{check_json, findings, has, name, sh};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The evidence of the first finding with `code` for name `n`.
fn evidence(doc: &Value, n: &str, code: &str) -> String {
    common::finding(doc, n, code)["evidence"]
        .as_str()
        .unwrap()
        .to_string()
}

/// nonaa.lab. is delegated to tools/conflict-auth.py (127.0.0.98), which answers every
/// question for it with NOERROR and data but without the AA bit. The walk asks it `NS
/// x.nonaa.lab.`, gets a non-authoritative answer that is no referral, and reads the name
/// as lying in nonaa.lab.; the chain is read on from the non-AA CNAME.
#[test]
fn a_server_answering_without_aa_is_lame() {
    let Some(_lab) = common::lab() else { return };
    let start = Instant::now();
    let (rc, doc) = check_json(&["nonaa.example.test"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    // The CA's resolver (unbound) accepts the non-AA CNAME and reads the chain on: the
    // lame zone is a warning, and the name is ok (pebble issues through it).
    assert_eq!(rc, 0, "{doc:#}");
    let f = findings(&doc, "nonaa.example.test");
    assert!(has(&f, "SERVER_LAME", "warning"), "{f:?}");
    assert!(has(&f, "TARGET_ZONE_LAME", "warning"), "{f:?}");
    let ev = evidence(&doc, "nonaa.example.test", "SERVER_LAME");
    assert!(
        ev.contains("127.0.0.98") && ev.contains("AA"),
        "SERVER_LAME evidence: {ev}"
    );
    let ev = evidence(&doc, "nonaa.example.test", "TARGET_ZONE_LAME");
    assert!(ev.contains("nonaa.lab."), "TARGET_ZONE_LAME evidence: {ev}");
    // The chain is read on from the non-AA answer, as unbound does.
    let n = name(&doc, "nonaa.example.test");
    assert_eq!(n["ok"], true);
    assert_eq!(n["target"], "x-label.acme.lab.", "{n:#}");
}

/// refused.example.test is delegated to 127.0.0.97, where nothing listens: the kernel
/// answers ICMP port unreachable, the tool's connected UDP socket gets "connection
/// refused".
#[test]
fn a_server_where_nothing_listens_is_unreachable() {
    let Some(_lab) = common::lab() else { return };
    let start = Instant::now();
    let (rc, doc) = check_json(&["closed.example.test"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(rc, 1, "{doc:#}");
    let f = findings(&doc, "closed.example.test");
    assert!(has(&f, "SERVER_UNREACHABLE", "error"), "{f:?}");
    assert!(has(&f, "TARGET_ZONE_LAME", "error"), "{f:?}");
    let ev = evidence(&doc, "closed.example.test", "SERVER_UNREACHABLE");
    assert!(
        ev.contains("127.0.0.97"),
        "SERVER_UNREACHABLE evidence: {ev}"
    );
    assert_eq!(
        name(&doc, "closed.example.test")["target"],
        "x.refused.example.test."
    );
}

/// unbound2 (cache-max-ttl 86400) keeps the positive CNAME (TTL 300) after it was
/// replaced by RFC 2136; the authoritative servers already give the new target.
#[test]
fn a_resolver_keeping_a_replaced_cname_is_stale() {
    let Some(_lab) = common::lab() else { return };
    let owner = "_acme-challenge.stalecname.example.test.";
    // Warm unbound2's cache and read which target it holds (old-target on a fresh lab;
    // the other one if this test already ran against the same lab).
    let out = sh(&format!(
        "kdig @127.0.0.54 +timeout=2 +retry=0 TXT {owner} | awk '$1 == \"{owner}\" && $4 == \"CNAME\" {{print $5}}'"
    ));
    let cached = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(cached.ends_with(".acme.lab."), "unbound2 gave {cached:?}");
    let fresh = if cached == "old-target.acme.lab." {
        "new-target.acme.lab."
    } else {
        "old-target.acme.lab."
    };
    let out = sh(&format!(
        "knsupdate -t 5 -y \"$(cat \"$LAB_TSIG_KDIG\")\" <<EOF\nserver 127.0.0.11 53\nzone example.test.\nupdate delete {owner} CNAME\nupdate add {owner} 300 CNAME {fresh}\nsend\nEOF"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    let (rc, doc) = check_json(&["stalecname.example.test"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    let n = name(&doc, "stalecname.example.test");
    assert_eq!(n["target"], fresh, "{n:#}");
    let f = findings(&doc, "stalecname.example.test");
    assert!(has(&f, "RESOLVER_STALE", "warning"), "{f:?}");
    let ev = evidence(&doc, "stalecname.example.test", "RESOLVER_STALE");
    assert!(
        ev.contains("lab-unbound2") && ev.contains(cached.as_str()),
        "RESOLVER_STALE evidence: {ev}"
    );
    // A stale resolver alone is a warning, and nothing else is wrong with the name: the
    // CNAME is there and its target zone answers.
    assert!(f.iter().all(|(_, s)| s != "error"), "{f:?}");
    assert_eq!(rc, 0, "{doc:#}");
}

/// unsync.lab. has two servers that never sync: the proof's TXT reaches ns1
/// (127.0.0.12, the update server) and never ns2 (127.0.0.11).
#[test]
fn a_server_that_never_gets_the_update_fails_the_proof() {
    let Some(_lab) = common::lab() else { return };
    let name = common::unique("un");
    let (plan, target) = common::planned_and_published("unsync.lab", &name);
    assert!(target.ends_with(".unsync.lab."), "{target}");
    let start = Instant::now();
    let (rc, doc, err) = common::prove_json(&plan, "3");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(rc, 1, "{doc:#}\n{err}");
    let n = &doc["names"][0];
    assert_eq!(n["ok"], false, "{n:#}");
    assert_eq!(n["removed"], true, "{n:#}");
    let f = n["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PROOF_NOT_PUBLISHED")
        .unwrap_or_else(|| panic!("{n:#}"));
    assert_eq!(f["severity"], "error");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("127.0.0.11"),
        "PROOF_NOT_PUBLISHED evidence: {ev}"
    );
    // The token is gone from ns1 again.
    let out = sh(&format!(
        "kdig @127.0.0.12 +norec +timeout=2 +retry=0 TXT {target} | grep -v '^;' | grep -c TXT || true"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

//! The faults of issue 12, reproduced with real servers in the lab (tests/lab/SCENARIOS.md,
//! "issue 12"): `_acme-challenge` delegated by NS, a type-dependent NXDOMAIN at the
//! target, the delegation health of the zones on the chain (NS sets, glue, NS names, TCP,
//! EDNS, 0x20, SOA serials), the zone an SOA walk from the system resolver finds, a CNAME
//! at a parent name only, a target written in capitals, and the severity rules for a
//! system resolver that is an outside one too.

mod common;

use common::{check_json, cli, finding, findings, has, json, name};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn diagnose(extra: &[&str]) -> (i32, Value) {
    let cfg = common::config();
    let mut args = vec!["diagnose", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = common::run(&args, Duration::from_secs(60));
    (
        out.status.code().unwrap_or(-1),
        json(&String::from_utf8_lossy(&out.stdout)),
    )
}

/// The evidence and fix of every finding with `code` for `n`, joined. Two vantage points
/// that read one cache a second apart see TTLs one second apart, so their fixes ("wait
/// 298 s", "wait 297 s") differ and the findings stay separate: a test must not depend on
/// which of them comes first.
fn evidence(doc: &Value, n: &str, code: &str) -> String {
    finding(doc, n, code); // panics with the report when there is none
    name(doc, n)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| format!("{} | fix: {}", f["evidence"], f["fix"]))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// A cert-manager issuer for example.test that follows CNAMEs (RFC 2136 solver, no
/// pinned zone): it checks and finds its zone with the system resolver.
fn cert_manager_config() -> PathBuf {
    let p = common::run_dir().join(format!("cm-{}.yaml", common::rand_suffix()));
    std::fs::write(
        &p,
        "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: lab\nspec:\n  acme:\n    server: https://127.0.0.1:14000/dir\n    privateKeySecretRef:\n      name: lab-account\n    solvers:\n    - selector:\n        dnsZones:\n        - example.test\n      dns01:\n        cnameStrategy: Follow\n        rfc2136:\n          nameserver: \"127.0.0.12:53\"\n          tsigKeyName: acme-update\n          tsigAlgorithm: HMACSHA256\n          tsigSecretSecretRef:\n            name: tsig\n            key: secret\n",
    )
    .unwrap();
    p
}

/// `_acme-challenge.nsdel.example.test` is a zone of its own on knot-lab: no CNAME needed,
/// the chain view starts with the cut, the checks ask the child zone's server, `plan`
/// offers the setup, and a cert-manager config is warned about.
#[test]
fn a_challenge_name_delegated_by_ns_is_supported() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["nsdel.example.test"]);
    assert_eq!(rc, 0, "{doc:#}");
    let f = findings(&doc, "nsdel.example.test");
    assert!(has(&f, "CHALLENGE_ZONE_CUT", "info"), "{f:?}");
    assert!(!f.iter().any(|(c, _)| c == "CNAME_MISSING"), "{f:?}");
    let n = name(&doc, "nsdel.example.test");
    assert_eq!(n["chain"][0]["type"], "NS", "{n:#}");
    assert_eq!(n["chain"][0]["data"], "ns1.acme.lab.", "{n:#}");
    assert_eq!(n["chain"][0]["zone"], "_acme-challenge.nsdel.example.test.");
    // Every authoritative view is the child zone's own server.
    let auth: Vec<&Value> = n["views"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "authoritative")
        .collect();
    assert!(!auth.is_empty());
    assert!(
        auth.iter()
            .all(|v| v["zone"] == "_acme-challenge.nsdel.example.test."
                && v["server"] == "127.0.0.12:53"
                && v["authoritative"] == true),
        "{auth:#?}"
    );
    // The troubleshooter: the child zone's delegation is healthy; cert-manager is named.
    let cm = cert_manager_config();
    let (rc, doc) = diagnose(&[
        "--client-config",
        cm.to_str().unwrap(),
        "nsdel.example.test",
    ]);
    assert_eq!(rc, 0, "{doc:#}");
    let f = findings(&doc, "nsdel.example.test");
    assert!(has(&f, "CHALLENGE_ZONE_CUT", "warning"), "{f:?}");
    let all: Vec<&Value> = name(&doc, "nsdel.example.test")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "CHALLENGE_ZONE_CUT" && f["severity"] == "warning")
        .collect();
    let ev = all[0]["evidence"].as_str().unwrap();
    assert!(
        ev.contains("cert-manager") && ev.contains(cm.to_str().unwrap()),
        "{ev}"
    );
    // plan --zone rfc2136 offers the NS delegation as the other way.
    let plan = common::plan_file();
    let (_, doc) = common::plan_rfc2136(
        &plan,
        "acme.lab",
        "LAB_TSIG_BIND_KEY",
        "nsdel2.example.test",
    );
    let alt = &doc["names"][0]["alternative"];
    assert_eq!(alt["kind"], "ns-delegation", "{doc:#}");
    assert_eq!(alt["zone"], "_acme-challenge.nsdel2.example.test.");
    assert_eq!(
        alt["records"][0],
        "_acme-challenge.nsdel2.example.test. 300 IN NS ns1.acme.lab."
    );
    assert!(alt["note"].as_str().unwrap().contains("127.0.0.12:53"));
    let key = std::env::var("LAB_TSIG_BIND_KEY").unwrap();
    let (_, text, _) = cli(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key-file",
        &key,
        "--domain",
        "acme.lab",
        "nsdel2.example.test",
    ]);
    assert!(
        text.contains("or delegate the challenge name by NS"),
        "{text}"
    );
}

/// x.typenx.lab. has a TXT, but its server (quirk-auth.py, typenx) answers NXDOMAIN to A.
#[test]
fn a_type_dependent_nxdomain_at_the_target_is_found() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["typenx.example.test"]);
    assert_eq!(rc, 0, "a warning: the CA asks TXT: {doc:#}");
    let f = findings(&doc, "typenx.example.test");
    assert!(has(&f, "TARGET_TYPE_NXDOMAIN", "warning"), "{f:?}");
    let ev = evidence(&doc, "typenx.example.test", "TARGET_TYPE_NXDOMAIN");
    assert!(
        ev.contains("x.typenx.lab.") && ev.contains("86400 s") && ev.contains("cert-manager"),
        "{ev}"
    );
    // www's target has no TXT yet: nothing to compare, nothing reported.
    let (_, doc) = diagnose(&["www.example.test"]);
    assert!(!has(
        &findings(&doc, "www.example.test"),
        "TARGET_TYPE_NXDOMAIN",
        "warning"
    ));
}

/// Every server of every zone on the chain: TCP, EDNS, 0x20, SOA serials, NS sets, glue,
/// NS names.
#[test]
fn the_delegation_health_of_every_zone_on_the_chain() {
    let Some(_lab) = common::lab() else { return };
    let start = Instant::now();
    let hosts = [
        "notcp.example.test",
        "formerr.example.test",
        "nocase.example.test",
        "serial.example.test",
        "delegated.example.test",
        "www.split.test",
        "www.example.test",
    ];
    let (_, doc) = diagnose(&hosts);
    assert!(start.elapsed() < Duration::from_secs(30));
    let want = [
        ("notcp.example.test", "SERVER_NO_TCP", "127.0.0.91"),
        ("formerr.example.test", "SERVER_EDNS_BROKEN", "FORMERR"),
        ("nocase.example.test", "SERVER_CASE_FOLDED", "127.0.0.93"),
        ("serial.example.test", "SOA_SERIAL_MISMATCH", "1001"),
        (
            "delegated.example.test",
            "DELEGATION_NS_MISMATCH",
            "only in the parent: ns.nowhere.lab.",
        ),
        (
            "delegated.example.test",
            "DELEGATION_GLUE_MISMATCH",
            "127.0.0.13",
        ),
        (
            "delegated.example.test",
            "NS_NAME_UNRESOLVED",
            "ns.nowhere.lab.",
        ),
        (
            "www.split.test",
            "SOA_SERIAL_MISMATCH",
            "old-label.acme.lab.",
        ),
    ];
    for (h, code, text) in want {
        assert!(
            has(&findings(&doc, h), code, "warning"),
            "{h} {code}: {:?}",
            findings(&doc, h)
        );
        let ev = evidence(&doc, h, code);
        assert!(ev.contains(text), "{h} {code}: {ev}");
    }
    // Warnings only: the CA still validates through each (tests/verdict_lab.rs).
    for h in &hosts[..5] {
        assert_eq!(name(&doc, h)["ok"], true, "{h}: {:?}", findings(&doc, h));
    }
    // The healthy zones have none of them.
    let f = findings(&doc, "www.example.test");
    for code in [
        "SERVER_NO_TCP",
        "SERVER_EDNS_BROKEN",
        "SERVER_CASE_FOLDED",
        "SOA_SERIAL_MISMATCH",
        "DELEGATION_NS_MISMATCH",
        "DELEGATION_GLUE_MISMATCH",
        "NS_NAME_UNRESOLVED",
    ] {
        assert!(!f.iter().any(|(c, _)| c == code), "www: {f:?}");
    }
    // The chain through the FORMERR server is still read (a retry without EDNS).
    assert_eq!(
        name(&doc, "formerr.example.test")["target"],
        "x.formerr.lab."
    );
}

/// The inside resolver strips walk.lab.'s SOA: an SOA walk from it ends at lab.
#[test]
fn an_soa_walk_from_the_system_resolver_names_the_zone_the_client_will_edit() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["soawalk.example.test"]);
    assert_eq!(rc, 0, "{doc:#}");
    let f = findings(&doc, "soawalk.example.test");
    assert!(has(&f, "CLIENT_ZONE_WALK", "warning"), "{f:?}");
    let ev = evidence(&doc, "soawalk.example.test", "CLIENT_ZONE_WALK");
    assert!(
        ev.contains("lands in zone lab.")
            && ev.contains("not in walk.lab.")
            && ev.contains("SOA walk.lab. -> no SOA in the answer"),
        "{ev}"
    );
    // cert-manager finds its zone this way: an error.
    let cm = cert_manager_config();
    let (rc, doc) = diagnose(&[
        "--client-config",
        cm.to_str().unwrap(),
        "soawalk.example.test",
    ]);
    assert_eq!(rc, 1, "{doc:#}");
    assert!(has(
        &findings(&doc, "soawalk.example.test"),
        "CLIENT_ZONE_WALK",
        "error"
    ));
    // Names whose zone the inside resolver shows are not reported.
    let (_, doc) = diagnose(&["www.example.test"]);
    assert!(!findings(&doc, "www.example.test")
        .iter()
        .any(|(c, _)| c == "CLIENT_ZONE_WALK"));
}

/// `_acme-challenge.parentonly` has a CNAME; `_acme-challenge.www.parentonly` has none.
/// One cause per name (issue 15): the child keeps CNAME_MISSING (the code scripts key
/// on), the parent's CNAME is context in its evidence and fix, and CNAME_PARENT_ONLY
/// stands beside it as info.
#[test]
fn a_cname_at_a_parent_name_does_not_cover_the_child() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["www.parentonly.example.test"]);
    assert_eq!(rc, 1, "{doc:#}");
    let f = findings(&doc, "www.parentonly.example.test");
    assert!(has(&f, "CNAME_MISSING", "error"), "{f:?}");
    assert!(has(&f, "CNAME_PARENT_ONLY", "info"), "{f:?}");
    assert_eq!(f.iter().filter(|(_, s)| s == "error").count(), 1, "{f:?}");
    let ev = evidence(&doc, "www.parentonly.example.test", "CNAME_MISSING");
    assert!(
        ev.contains("_acme-challenge.parentonly.example.test. has one")
            && ev.contains("_acme-challenge.www.parentonly.example.test. 300 IN CNAME parentonly-label.acme.lab."),
        "{ev}"
    );
    // A name without any CNAME up the tree is still CNAME_MISSING.
    let (_, doc) = check_json(&["nocname.example.test"]);
    assert!(has(
        &findings(&doc, "nocname.example.test"),
        "CNAME_MISSING",
        "error"
    ));
}

/// x.upper.lab. CNAME UPPER-LABEL.ACME.LAB. (quirk-auth.py, upper): the same name.
#[test]
fn a_target_written_in_capitals_is_correct() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&[
        "--expect-target",
        "Upper-Label.Acme.Lab.",
        "upper.example.test",
    ]);
    assert_eq!(rc, 0, "{doc:#}");
    let f = findings(&doc, "upper.example.test");
    assert!(!f.iter().any(|(c, _)| c == "CNAME_WRONG_TARGET"), "{f:?}");
    assert!(has(&f, "NAME_CASE_DIFFERS", "info"), "{f:?}");
    let ev = evidence(&doc, "upper.example.test", "NAME_CASE_DIFFERS");
    assert!(
        ev.contains("CNAME UPPER-LABEL.ACME."),
        "the record as published: {ev}"
    );
    assert_eq!(
        name(&doc, "upper.example.test")["target"],
        "upper-label.acme.lab."
    );
}

/// The system resolver is lab-unbound2 itself: its cached NXDOMAIN is NEGATIVE_CACHED (a
/// warning), not SPLIT_HORIZON as well.
#[test]
fn a_system_resolver_that_is_an_outside_one_is_no_split_horizon() {
    let Some(_lab) = common::lab() else { return };
    let host = common::unique("sys");
    common::cache_nxdomain_then_publish(&host, "www-label.acme.lab.");
    let cfg = common::config_with(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\n[[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[[resolvers]]\nname = \"lab-unbound2\"\naddress = \"127.0.0.54:53\"\n[system]\nservers = [\"127.0.0.54:53\"]\n",
    );
    let (rc, out, err) = cli(&["check", "--config", cfg.to_str().unwrap(), "--json", &host]);
    let doc = json(&out);
    assert_eq!(rc, 0, "{doc:#}\n{err}");
    let f = findings(&doc, &host);
    assert!(!f.iter().any(|(c, _)| c == "SPLIT_HORIZON"), "{f:?}");
    assert!(has(&f, "NEGATIVE_CACHED", "warning"), "{f:?}");
    let ev = evidence(&doc, &host, "NEGATIVE_CACHED");
    assert!(ev.contains("expires in") && ev.contains("system"), "{ev}");
}

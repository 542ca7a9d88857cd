//! The verdict rules of issue 15 with real servers in the lab (tests/lab/SCENARIOS.md,
//! "issue 15"): target-side doubling, a CNAME below a zone cut, no poisoning of the
//! resolvers' caches by check/diagnose, the CA's resolver (`ca = true`). Each has a
//! unit test in the in-memory world too (src/engine/world_tests.rs).

mod common;

use common::{check_json, findings, has, name};

/// The evidence and fix of the first finding with `code` for `n`.
fn text(doc: &serde_json::Value, n: &str, code: &str) -> String {
    let f = common::finding(doc, n, code);
    format!("{} | fix: {}", f["evidence"], f["fix"])
}

/// `_acme-challenge.targetdot CNAME targetdot-label.acme.lab.example.test.`: the target
/// written without its trailing dot in a panel that appends the zone.
#[test]
fn a_target_with_the_zone_appended_is_named() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let n = "targetdot.example.test";
    let (rc, doc) = check_json(&[n]);
    assert_eq!(rc, 1, "{doc:#}");
    let f = findings(&doc, n);
    assert!(has(&f, "CNAME_TARGET_DOUBLED", "error"), "{f:?}");
    let t = text(&doc, n, "CNAME_TARGET_DOUBLED");
    assert!(
        t.contains("CNAME targetdot-label.acme.lab. (with the trailing dot")
            && t.contains("enter the target as \\\"targetdot-label.acme.lab.\\\""),
        "{t}"
    );
    // With the expected target, it is the one story: no CNAME_WRONG_TARGET.
    let (_, doc) = check_json(&[n, "--expect-target", "targetdot-label.acme.lab."]);
    let f = findings(&doc, n);
    assert!(!f.iter().any(|(c, _)| c == "CNAME_WRONG_TARGET"), "{f:?}");
}

/// `_acme-challenge.www.deleg` CNAME sits in example.test below the cut of
/// deleg.example.test: CNAME_MISSING says which zone the name is in and which the CA asks.
#[test]
fn a_cname_below_a_zone_cut_says_where_it_went() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let n = "www.deleg.example.test";
    let (rc, doc) = check_json(&[n]);
    assert_eq!(rc, 1, "{doc:#}");
    assert!(has(&findings(&doc, n), "CNAME_MISSING", "error"), "{doc:#}");
    let t = text(&doc, n, "CNAME_MISSING");
    assert!(
        t.contains("is in zone deleg.example.test., which example.test. delegates")
            && t.contains("a CNAME published in zone example.test. below that cut is never seen"),
        "{t}"
    );
    let _ = name(&doc, n);
}

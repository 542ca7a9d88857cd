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

/// No poisoning: `check` of a name without a CNAME does not ask the resolvers, so
/// lab-unbound2 (127.0.0.54, keeps negative answers) caches no NXDOMAIN for it; the
/// report says why they were not asked. `--ask-resolvers always` asks, and the NXDOMAIN
/// is cached.
#[test]
fn check_does_not_poison_the_resolvers_caches() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let n = common::unique("nopoison");
    let challenge = format!("_acme-challenge.{n}");
    let cached = |name: &str| -> bool {
        let conf = common::run_dir().join("unbound2/unbound.conf");
        let out = common::sh(&format!(
            "unbound-control -c '{}' dump_cache | grep -i '^msg {name}\\. IN TXT' || true",
            conf.display()
        ));
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    };
    let (rc, doc) = check_json(&[&n]);
    assert_eq!(rc, 1, "{doc:#}");
    assert!(has(&findings(&doc, &n), "CNAME_MISSING", "error"));
    let views = name(&doc, &n)["views"].as_array().unwrap();
    let skipped: Vec<_> = views
        .iter()
        .filter(|v| v["outcome"] == "NOT_ASKED")
        .collect();
    assert!(
        skipped.iter().any(|v| v["vantage"] == "lab-unbound2")
            && skipped.iter().all(|v| v["detail"]
                == "not asked: the authoritative servers have no CNAME yet; asking now would cache the NXDOMAIN"),
        "{views:#?}"
    );
    assert!(
        !cached(&challenge),
        "check put {challenge} into unbound2's cache"
    );
    // The test can fail: asked anyway, unbound2 keeps the NXDOMAIN.
    let (_, doc) = check_json(&[&n, "--ask-resolvers", "always"]);
    assert!(!name(&doc, &n)["views"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["outcome"] == "NOT_ASKED"));
    assert!(
        cached(&challenge),
        "unbound2 should now hold the NXDOMAIN of {challenge}"
    );
}

/// The CA's resolver (`ca = true`): lab-unbound2 keeps the NXDOMAIN it cached before the
/// CNAME was published. As a bystander (lab-unbound sees the chain) that is a warning and
/// exit 0; marked as the CA's resolver, it is an error and exit 1.
#[test]
fn a_negative_cache_at_the_cas_resolver_is_an_error() {
    let Some(_lab) = common::lab() else { return };
    let host = common::unique("canegcache");
    common::cache_nxdomain_then_publish(&host, "www-label.acme.lab.");
    let cfg = |ca: bool| {
        common::config_with(&format!(
            "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nmax_qps_per_server = 0\n[[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[[resolvers]]\nname = \"lab-unbound2\"\naddress = \"127.0.0.54:53\"\nca = {ca}\n[system]\nenabled = false\n"
        ))
    };
    let run = |ca: bool| {
        let c = cfg(ca);
        let (rc, out, err) =
            common::cli(&["check", "--config", c.to_str().unwrap(), "--json", &host]);
        (rc, common::json(&out), err)
    };
    let (rc, doc, err) = run(false);
    assert_eq!(rc, 0, "{doc:#}\n{err}");
    assert!(
        has(&findings(&doc, &host), "NEGATIVE_CACHED", "warning"),
        "{doc:#}"
    );
    let (rc, doc, err) = run(true);
    assert_eq!(rc, 1, "{doc:#}\n{err}");
    assert!(
        has(&findings(&doc, &host), "NEGATIVE_CACHED", "error"),
        "{doc:#}"
    );
    let t = text(&doc, &host, "NEGATIVE_CACHED");
    assert!(t.contains("the CA's own resolver"), "{t}");
}

/// `*.wildok.example.test CNAME wildok-label.acme.lab.`: a wildcard into the validation
/// zone is fine when the client writes there (the expected target): info, not the error
/// that `*.wild` (into a load balancer's name) gets.
#[test]
fn a_wildcard_into_the_validation_zone_is_info() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let cfg = common::config();
    let n = "x.wildok.example.test";
    let diagnose = |extra: &[&str]| {
        let mut args = vec!["diagnose", "--config", cfg.to_str().unwrap(), "--json", n];
        args.extend_from_slice(extra);
        let (_, out, _) = common::cli(&args);
        common::json(&out)
    };
    let doc = diagnose(&["--expect-target", "wildok-label.acme.lab."]);
    let f = findings(&doc, n);
    assert!(has(&f, "WILDCARD_CNAME_CAPTURE", "info"), "{f:?}");
    assert!(text(&doc, n, "WILDCARD_CNAME_CAPTURE")
        .contains("shares the target wildok-label.acme.lab."));
    // Where the client writes is not known: an error, as before.
    let doc = diagnose(&[]);
    assert!(
        has(&findings(&doc, n), "WILDCARD_CNAME_CAPTURE", "error"),
        "{doc:#}"
    );
}

/// The owner's zone is bogus (bogus.lab., a wrong DS), the validation zone healthy:
/// DNSSEC_BOGUS names bogus.lab. only, never acme.lab.
#[test]
fn dnssec_bogus_names_only_the_zone_where_trust_breaks() {
    let Some(_lab) = common::lab() else { return };
    let cfg = common::config();
    let n = "owner.bogus.lab";
    let (rc, out, err) = common::cli(&["diagnose", "--config", cfg.to_str().unwrap(), "--json", n]);
    let doc = common::json(&out);
    assert_eq!(rc, 1, "{doc:#}\n{err}");
    let all: Vec<&serde_json::Value> = name(&doc, n)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "DNSSEC_BOGUS")
        .collect();
    assert!(!all.is_empty(), "{doc:#}");
    for f in all {
        let t = format!("{} {}", f["evidence"], f["fix"]);
        assert!(
            t.contains("zone bogus.lab.") && !t.contains("acme.lab. or"),
            "{t}"
        );
        assert!(!f["fix"].as_str().unwrap().contains("acme.lab"), "{t}");
    }
}

/// x.dropedns.lab.'s only server drops every query with EDNS (quirk dropedns): the
/// authoritative side reports SERVER_EDNS_BROKEN, not a dead server; an error, since the
/// CA's resolver does not retry without EDNS (DNS Flag Day 2019).
#[test]
fn a_server_that_drops_edns_is_not_dead() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let n = "dropedns.example.test";
    let (rc, doc) = check_json(&[n]);
    let f = findings(&doc, n);
    assert!(has(&f, "SERVER_EDNS_BROKEN", "error"), "rc {rc}: {doc:#}");
    assert_eq!(rc, 1, "{doc:#}");
    let auth_timeout = name(&doc, n)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| {
            f["code"] == "SERVER_TIMEOUT"
                && f["evidence"]
                    .as_str()
                    .unwrap()
                    .contains("(127.0.0.87:53) did not answer")
        });
    assert!(!auth_timeout, "{doc:#}");
    assert_eq!(name(&doc, n)["target"], "x.dropedns.lab.", "{doc:#}");
}

/// Bailiwick: crosszone.lab.'s server adds a TXT for y.xzdead.lab. (out of its zone) to
/// its answer; the tool does not believe it, asks xzdead.lab.'s own (dead) server, and
/// fails, as the CA's resolver does.
#[test]
fn out_of_zone_data_in_an_answer_is_not_believed() {
    let Some(_lab) = common::lab() else { return };
    let _r = common::production_read();
    let n = "crosszone.example.test";
    // The fault is real: the server does put the foreign TXT into its answer.
    let out = common::sh("kdig @127.0.0.88 +norec +timeout=2 +retry=0 TXT x.crosszone.lab.");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cross-zone-token"), "{text}");
    let (rc, doc) = check_json(&[n]);
    assert_eq!(rc, 1, "{doc:#}");
    let f = findings(&doc, n);
    assert!(
        has(&f, "SERVER_TIMEOUT", "error") || has(&f, "TARGET_ZONE_LAME", "error"),
        "{f:?}"
    );
    assert_eq!(name(&doc, n)["target"], "y.xzdead.lab.", "{doc:#}");
}

//! `check` against the real lab (knot + unbound on loopback): one scenario per finding,
//! each asserting the code, the severity, the exit status and the JSON shape.

mod common;

use common::{check_json, config_with, finding, findings, has, name, run, sh};
use serde_json::Value;
use std::time::Duration;

/// The documented shape (docs/json.md): every field present with the right type.
fn assert_shape(doc: &Value) {
    assert_eq!(doc["version"], 1);
    for n in doc["names"].as_array().unwrap() {
        assert!(n["name"].is_string());
        assert!(n["challenge"]
            .as_str()
            .unwrap()
            .starts_with("_acme-challenge."));
        assert!(n["target"].is_string() || n["target"].is_null());
        assert!(n["ok"].is_boolean());
        for v in n["views"].as_array().unwrap() {
            assert!(v["vantage"].is_string());
            let kind = v["kind"].as_str().unwrap();
            assert!(
                ["authoritative", "resolver", "system"].contains(&kind),
                "{kind}"
            );
            assert!(v["server"].as_str().unwrap().contains(':'));
            assert!(v["outcome"].is_string());
            assert!(v["chain"].is_array());
            assert!(v["ms"].is_u64());
        }
        for f in n["findings"].as_array().unwrap() {
            assert!(f["code"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()));
            let sev = f["severity"].as_str().unwrap();
            assert!(["error", "warning", "info"].contains(&sev));
            assert!(!f["evidence"].as_str().unwrap().is_empty());
            assert!(!f["fix"].as_str().unwrap().is_empty());
        }
    }
}

#[test]
fn healthy_delegation_is_ok_from_every_vantage_point() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["www.example.test", "chain.example.test"]);
    assert_shape(&doc);
    assert_eq!(rc, 0, "{doc:#}");
    let www = name(&doc, "www.example.test");
    assert_eq!(www["ok"], true);
    assert_eq!(www["challenge"], "_acme-challenge.www.example.test.");
    assert_eq!(www["target"], "www-label.acme.lab.");
    assert!(findings(&doc, "www.example.test").is_empty());
    let views = www["views"].as_array().unwrap();
    let kinds: Vec<&str> = views.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    // ns1.example.test + ns1.acme.lab, two resolvers, the system resolver.
    assert_eq!(
        kinds.iter().filter(|k| **k == "authoritative").count(),
        2,
        "{views:#?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "resolver").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "system").count(), 1);
    let auth = views
        .iter()
        .find(|v| v["server"] == "127.0.0.11:53")
        .unwrap();
    assert_eq!(auth["outcome"], "NOERROR");
    assert_eq!(auth["chain"][0]["type"], "CNAME");
    assert_eq!(auth["chain"][0]["data"], "www-label.acme.lab.");
    assert_eq!(auth["chain"][0]["ttl"], 60);
    for v in views.iter().filter(|v| v["kind"] != "authoritative") {
        assert_eq!(v["chain"][0]["data"], "www-label.acme.lab.", "{v:#}");
    }
    // Two hops across the production zone, each hop with its server.
    let chain = name(&doc, "chain.example.test")["chain"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(chain[0]["data"], "hop1.example.test.");
    assert_eq!(chain[1]["data"], "chain-label.acme.lab.");
    assert_eq!(chain[1]["server"], "127.0.0.11:53");
    assert_eq!(chain[2]["type"], "NXDOMAIN");
}

#[test]
fn missing_cname() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["nocname.example.test"]);
    assert_shape(&doc);
    assert_eq!(rc, 1);
    let f = findings(&doc, "nocname.example.test");
    assert!(has(&f, "CNAME_MISSING", "error"), "{f:?}");
    let fix = name(&doc, "nocname.example.test")["findings"][0]["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.contains("_acme-challenge.nocname"), "{fix}");
}

#[test]
fn doubled_zone_name() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["api.example.test"]);
    assert_eq!(rc, 1);
    let f = findings(&doc, "api.example.test");
    assert!(has(&f, "CNAME_DOUBLED_ZONE", "error"), "{f:?}");
    assert!(!f.iter().any(|(c, _)| c == "CNAME_MISSING"));
    let ev = name(&doc, "api.example.test")["findings"][0]["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains("_acme-challenge.api.example.test.example.test."),
        "{ev}"
    );
    let fix = name(&doc, "api.example.test")["findings"][0]["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("api-label.acme.lab."),
        "the fix reuses the target: {fix}"
    );
}

#[test]
fn wrong_target() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&[
        "--expect-target",
        "other-label.acme.lab",
        "www.example.test",
    ]);
    assert_eq!(rc, 1);
    let f = findings(&doc, "www.example.test");
    assert!(has(&f, "CNAME_WRONG_TARGET", "error"), "{f:?}");
    // The right target passes.
    let (rc, _) = check_json(&["--expect-target", "www-label.acme.lab.", "www.example.test"]);
    assert_eq!(rc, 0);
}

#[test]
fn chain_loop() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["loop.example.test"]);
    assert_eq!(rc, 1);
    assert!(has(
        &findings(&doc, "loop.example.test"),
        "CHAIN_LOOP",
        "error"
    ));
}

#[test]
fn long_chain_warns_and_too_long_chain_fails() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["long.example.test"]);
    assert_eq!(rc, 0, "a warning alone does not fail: {doc:#}");
    assert!(has(
        &findings(&doc, "long.example.test"),
        "CHAIN_TOO_LONG",
        "warning"
    ));
    assert_eq!(
        name(&doc, "long.example.test")["chain"]
            .as_array()
            .unwrap()
            .len(),
        10
    );

    let (rc, doc) = check_json(&["toolong.example.test"]);
    assert_eq!(rc, 1);
    assert!(has(
        &findings(&doc, "toolong.example.test"),
        "CHAIN_TOO_LONG",
        "error"
    ));
}

#[test]
fn target_zone_undelegated() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["undelegated.example.test", "broken.example.test"]);
    assert_eq!(rc, 1);
    assert!(has(
        &findings(&doc, "undelegated.example.test"),
        "TARGET_ZONE_UNDELEGATED",
        "error"
    ));
    // A target without TXT in an existing zone is normal between validations.
    assert!(findings(&doc, "broken.example.test").is_empty());
    assert_eq!(name(&doc, "broken.example.test")["ok"], true);
}

#[test]
fn target_zone_lame_and_refused() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["lamehost.example.test"]);
    assert_eq!(rc, 1);
    let f = findings(&doc, "lamehost.example.test");
    assert!(has(&f, "TARGET_ZONE_LAME", "error"), "{f:?}");
    assert!(has(&f, "SERVER_REFUSED", "error"), "{f:?}");
}

#[test]
fn servfail_from_an_authoritative_server() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["servfail.example.test"]);
    assert_eq!(rc, 1);
    let n = name(&doc, "servfail.example.test");
    let sf: Vec<&Value> = n["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "SERVER_SERVFAIL")
        .collect();
    assert!(!sf.is_empty());
    assert!(
        sf.iter().any(|f| f["observed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["server"] == "127.0.0.12:53")),
        "{n:#}"
    );
}

#[test]
fn dead_server_times_out_within_the_configured_timeout() {
    let Some(_lab) = common::lab() else { return };
    let start = std::time::Instant::now();
    let (rc, doc) = check_json(&["deadhost.example.test"]);
    assert_eq!(rc, 1);
    let f = findings(&doc, "deadhost.example.test");
    assert!(has(&f, "SERVER_TIMEOUT", "error"), "{f:?}");
    assert!(has(&f, "TARGET_ZONE_LAME", "error"), "{f:?}");
    // timeout_ms = 1000, 2 attempts: the walk and the resolvers run concurrently.
    assert!(
        start.elapsed() < Duration::from_secs(12),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn authoritative_servers_disagree() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = check_json(&["www.split.test"]);
    assert_eq!(rc, 1);
    assert!(has(
        &findings(&doc, "www.split.test"),
        "AUTH_DISAGREE",
        "error"
    ));
    let n = name(&doc, "www.split.test");
    let f = n["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "AUTH_DISAGREE")
        .unwrap();
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("www-label.acme.lab.") && ev.contains("old-label.acme.lab."),
        "{ev}"
    );
    assert_eq!(f["observed"].as_array().unwrap().len(), 2);
}

#[test]
fn split_horizon_is_seen_from_the_system_resolver() {
    let Some(_lab) = common::lab() else { return };
    let (_, doc) = check_json(&["splithorizon.example.test"]);
    assert!(has(
        &findings(&doc, "splithorizon.example.test"),
        "SPLIT_HORIZON",
        "warning"
    ));
}

#[test]
fn negative_cache_at_a_resolver_names_its_expiry() {
    let Some(_lab) = common::lab() else { return };
    // Ask unbound2 (keeps negative answers 300 s) before the CNAME exists, then add it.
    common::cache_nxdomain_then_publish("negcache.example.test", "negcache-label.acme.lab.");
    let (rc, doc) = check_json(&["negcache.example.test"]);
    // One resolver's negative cache, with the authoritative chain right and the other
    // resolver seeing it: a warning (the CA resolves for itself), exit status 0.
    assert_eq!(rc, 0, "{doc:#}");
    let n = name(&doc, "negcache.example.test");
    assert_eq!(n["target"], "negcache-label.acme.lab.");
    let f = finding(&doc, "negcache.example.test", "NEGATIVE_CACHED");
    assert_eq!(f["severity"], "warning", "{f:#}");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("lab-unbound2") && ev.contains("expires in"),
        "{ev}"
    );
}

#[test]
fn bad_names_exit_2_before_any_query() {
    let Some(_lab) = common::lab() else { return };
    let cfg = common::config();
    for bad in [
        "www..example.test",
        "x-.example.test",
        "a_b.example.test",
        "*.*.example.test",
    ] {
        let out = run(
            &["check", "--config", cfg.to_str().unwrap(), bad],
            Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad), "{err}");
    }
}

#[test]
fn no_reachable_server_is_inconclusive() {
    let Some(_lab) = common::lab() else { return };
    // The blackhole at 127.0.0.99 never answers.
    let cfg = config_with(
        "roots = [\"127.0.0.99:53\"]\ntimeout_ms = 300\nattempts = 1\n[[resolvers]]\nname = \"dead\"\naddress = \"127.0.0.99:53\"\n[system]\nenabled = false\n",
    );
    let out = run(
        &[
            "check",
            "--json",
            "--config",
            cfg.to_str().unwrap(),
            "www.example.test",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["names"][0]["inconclusive"], true);
    assert_eq!(doc["names"][0]["ok"], false);
}

#[test]
fn config_given_after_the_subcommand_and_in_the_environment() {
    let Some(_lab) = common::lab() else { return };
    let cfg = common::config();
    let out = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "check",
            "www.example.test",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OK") && text.contains("www-label.acme.lab."),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour without a terminal");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .args(["check", "--json", "www.example.test"])
        .env("ACME_DELEGATE_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_broken_config_names_file_line_and_key() {
    let Some(_lab) = common::lab() else { return };
    let cfg = config_with("roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\n[[resolvers]]\nname = \"x\"\naddress = \"nowhere\"\n");
    let out = run(
        &[
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "www.example.test",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(cfg.to_str().unwrap())
            && err.contains("line 5")
            && err.contains("resolvers.address"),
        "{err}"
    );
}

#[test]
fn an_ipv6_only_zone_is_walked_through_its_aaaa_glue() {
    let Some(_lab) = common::lab() else { return };
    // v6.example.test. is delegated to ns1.v6.example.test. with only AAAA ::1 glue.
    let (_, doc) = check_json(&["www.v6.example.test"]);
    let n = name(&doc, "www.v6.example.test");
    let v6 = n["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["server"] == "[::1]:53")
        .unwrap_or_else(|| panic!("no view from [::1]:53: {n:#}"));
    assert_eq!(v6["kind"], "authoritative");
    assert_eq!(v6["zone"], "v6.example.test.");
    assert_eq!(v6["outcome"], "NOERROR");
    assert_eq!(v6["chain"][0]["data"], "www-label.acme.lab.");
    assert_eq!(n["target"], "www-label.acme.lab.");
}

#[test]
fn a_stale_second_hop_at_a_resolver_is_found() {
    let Some(_lab) = common::lab() else { return };
    // unbound2 keeps positive records up to a day: cache the chain, then move hop 2.
    let out = sh(
        r#"kdig @127.0.0.54 +timeout=2 +retry=0 TXT _acme-challenge.stale2.example.test | grep -q s2-old &&
knsupdate -t 5 -y "$(cat "$LAB_TSIG_KDIG")" <<EOF
server 127.0.0.11 53
zone example.test.
update delete s2hop.example.test. CNAME
update add s2hop.example.test. 300 CNAME s2-new.acme.lab.
send
EOF"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, doc) = check_json(&["stale2.example.test"]);
    let n = name(&doc, "stale2.example.test");
    assert_eq!(n["target"], "s2-new.acme.lab.");
    let f = finding(&doc, "stale2.example.test", "RESOLVER_STALE");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("lab-unbound2") && ev.contains("CNAME s2-old.acme.lab. at s2hop.example.test."),
        "{ev}"
    );
}

/// `--names-from`: names from a file and from standard input, merged with the NAMEs and
/// de-duplicated, checked like NAMEs.
#[test]
fn names_from_a_file_and_from_stdin() {
    let Some(_lab) = common::lab() else { return };
    let f = common::run_dir().join(format!("names-{}.txt", common::rand_suffix()));
    std::fs::write(
        &f,
        "# bench names\nn0001.bench.test, n0002.bench.test\nn0003.bench.test # and one more\n",
    )
    .unwrap();
    let (rc, doc) = check_json(&["--names-from", f.to_str().unwrap(), "n0001.bench.test"]);
    assert_eq!(rc, 0, "{doc:#}");
    let got: Vec<&str> = doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        ["n0001.bench.test", "n0002.bench.test", "n0003.bench.test"]
    );
    let cfg = common::config();
    let bin = env!("CARGO_BIN_EXE_acme-delegate");
    let out = sh(&format!(
        "printf 'n0004.bench.test\\nn0005.bench.test\\n' | timeout 60 '{bin}' check --config '{}' --json --names-from -",
        cfg.display()
    ));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["names"].as_array().unwrap().len(), 2, "{doc:#}");
}

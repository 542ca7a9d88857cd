//! `plan` and `prove` with an RFC 2136 validation zone, end to end in the lab: the plan
//! computes the CNAME, the test publishes it in the production zone (RFC 2136 to knot),
//! `prove` publishes a token, waits for every authoritative server, then every resolver.

mod common;

use common::{
    cli, json, plan_file, plan_rfc2136, planned_and_published, prove_json, publish_cname, sh,
    unique,
};
use std::time::Duration;

#[test]
fn plan_prints_the_record_in_every_form_and_saves_it() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let name = unique("pl");
    let (rc, doc) = plan_rfc2136(&plan, "acme.lab", "LAB_TSIG_BIND_KEY", &name);
    assert_eq!(rc, 0, "{doc:#}");
    let n = &doc["names"][0];
    let target = n["target"].as_str().unwrap();
    assert!(
        target.ends_with(".acme.lab.") && target.starts_with(&name.replace('.', "-")),
        "{target}"
    );
    assert_eq!(n["zone"], "example.test.");
    assert_eq!(
        n["record"],
        format!("_acme-challenge.{name}. CNAME {target}")
    );
    assert_eq!(
        n["relative_owner"],
        format!("_acme-challenge.{}", name.trim_end_matches(".example.test"))
    );
    assert!(n["zone_line"].as_str().unwrap().contains(" IN CNAME "));
    assert!(
        doc["findings"].as_array().unwrap().is_empty(),
        "acme-update is TXT-only: {doc:#}"
    );
    let saved = std::fs::read_to_string(&plan).unwrap();
    assert!(
        saved.contains(target) && saved.contains("rfc2136"),
        "{saved}"
    );
    // With the CNAME published, check (reading the plan) is happy.
    publish_cname(&name, target);
    let (rc, out, _) = cli(&["check", "--plan", plan.to_str().unwrap(), "--json", &name]);
    assert_eq!(rc, 0, "{out}");
    // A plan whose target differs from the published CNAME: check says so.
    let other = plan_file();
    plan_rfc2136(&other, "acme.lab", "LAB_TSIG_BIND_KEY", "www.example.test");
    let (rc, out, _) = cli(&[
        "check",
        "--plan",
        other.to_str().unwrap(),
        "--json",
        "www.example.test",
    ]);
    assert_eq!(rc, 1);
    assert!(out.contains("CNAME_WRONG_TARGET"), "{out}");
}

#[test]
fn an_overprivileged_key_is_reported_at_plan_time() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let (rc, doc) = plan_rfc2136(&plan, "acme.lab", "LAB_TSIG_ADMIN_BIND_KEY", &unique("op"));
    assert_eq!(rc, 1);
    let f = &doc["findings"][0];
    assert_eq!(f["code"], "TSIG_OVERPRIVILEGED", "{doc:#}");
    assert!(f["fix"].as_str().unwrap().contains("update-type: TXT"));
    // The probe record named in the evidence was removed again.
    let ev = f["evidence"].as_str().unwrap();
    let probe = ev
        .split_whitespace()
        .find(|w| w.starts_with("acme-delegate-scope-probe-"))
        .expect("probe name in evidence");
    let out = sh(&format!(
        "kdig @127.0.0.12 +norec A {probe} | grep -q 'status: NXDOMAIN'"
    ));
    assert!(
        out.status.success(),
        "the probe record {probe} is still there"
    );
}

#[test]
fn prove_sees_the_token_everywhere_then_removes_it() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("pv");
    let (plan, target) = planned_and_published("acme.lab", &name);
    let (rc, doc, err) = prove_json(&plan, "20");
    assert_eq!(rc, 0, "{doc:#}\n{err}");
    let n = &doc["names"][0];
    assert_eq!(n["ok"], true);
    assert_eq!(n["removed"], true);
    let v = n["vantages"].as_array().unwrap();
    let kinds: Vec<&str> = v.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"authoritative")
            && kinds.contains(&"resolver")
            && kinds.contains(&"system"),
        "{kinds:?}"
    );
    assert!(v.iter().all(|x| x["seen_after_ms"].is_u64()), "{n:#}");
    // Authoritative first: no resolver saw it before every authoritative server did.
    let auth_max = v
        .iter()
        .filter(|x| x["kind"] == "authoritative")
        .map(|x| x["seen_after_ms"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(v
        .iter()
        .filter(|x| x["kind"] != "authoritative")
        .all(|x| x["seen_after_ms"].as_u64().unwrap() >= auth_max));
    // The token is gone.
    let out = sh(&format!(
        "kdig @127.0.0.12 +norec TXT {target} | grep -v '^;' | grep -c 'TXT' || true"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn prove_never_converges_on_a_wrong_target() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let name = unique("wr");
    plan_rfc2136(&plan, "acme.lab", "LAB_TSIG_BIND_KEY", &name);
    publish_cname(&name, "somewhere-else.acme.lab.");
    let start = std::time::Instant::now();
    let (rc, doc, _) = prove_json(&plan, "3");
    assert_eq!(rc, 1, "{doc:#}");
    assert!(start.elapsed() < Duration::from_secs(20));
    let n = &doc["names"][0];
    assert_eq!(n["removed"], true);
    let f = n["findings"].as_array().unwrap();
    assert!(f.iter().all(|f| f["code"] == "PROOF_NOT_SEEN"), "{n:#}");
    assert!(
        f[0]["evidence"]
            .as_str()
            .unwrap()
            .contains("CNAME_WRONG_TARGET"),
        "{n:#}"
    );
    assert!(f[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("somewhere-else.acme.lab."));
}

#[test]
fn prove_converges_late_behind_a_negative_cache() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("lt");
    let (plan, _target) = planned_and_published("slow.lab", &name);
    // An early lookup at unbound2 caches NXDOMAIN for the target (slow.lab: 3 s).
    let out = sh(&format!(
        "kdig @127.0.0.54 +timeout=2 +retry=0 TXT _acme-challenge.{name} | grep -q NXDOMAIN"
    ));
    assert!(out.status.success());
    let (rc, doc, err) = prove_json(&plan, "30");
    assert_eq!(rc, 0, "{doc:#}\n{err}");
    let v = doc["names"][0]["vantages"].as_array().unwrap().clone();
    let at = |vantage: &str| {
        v.iter().find(|x| x["vantage"] == vantage).unwrap()["seen_after_ms"]
            .as_u64()
            .unwrap()
    };
    assert!(
        at("lab-unbound2") >= 1000,
        "the poisoned resolver saw it late: {v:#?}"
    );
    assert!(at("lab-unbound2") > at("lab-unbound"), "{v:#?}");
}

#[test]
fn bad_input_is_refused_with_the_fix() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let p = plan.to_str().unwrap();
    let (rc, _, err) = cli(&[
        "plan",
        "--plan",
        p,
        "--zone",
        "rfc2136",
        "--domain",
        "acme.lab",
        "--key-file",
        "/x",
        "a.example.test",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("--server"), "{err}");
    let garbage = common::run_dir().join("garbage.key");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let (rc, _, err) = cli(&[
        "plan",
        "--plan",
        p,
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--domain",
        "acme.lab",
        "--key-file",
        garbage.to_str().unwrap(),
        "a.example.test",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("garbage.key"), "{err}");
    let (rc, _, err) = cli(&[
        "plan",
        "--plan",
        p,
        "--zone",
        "acme-dns",
        "--api",
        "ftp://127.0.0.1/",
        "a.example.test",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("ftp://127.0.0.1/"), "{err}");
    assert!(!plan.exists(), "nothing saved after bad input");
    // prove without a plan
    let (rc, _, err) = cli(&["prove", "--plan", p]);
    assert_eq!(rc, 2);
    assert!(err.contains("plan"), "{err}");
    // a provider zone: the proof needs the issuing client
    let (rc, out, _) = cli(&[
        "plan",
        "--plan",
        p,
        "--zone",
        "provider",
        "--provider",
        "cloudflare",
        "--domain",
        "acme-validation.example.org",
        "b.example.test",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains(".acme-validation.example.org."), "{out}");
    let (rc, _, err) = cli(&["prove", "--plan", p]);
    assert_eq!(rc, 2);
    assert!(err.contains("issuing client"), "{err}");
    // a hosted target is taken as given
    let (rc, out, _) = cli(&[
        "plan",
        "--plan",
        p,
        "--json",
        "--zone",
        "hosted",
        "--target",
        "abc123.acme.lab",
        "c.example.test",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(json(&out)["names"][0]["target"], "abc123.acme.lab.");
}

#[test]
fn ctrl_c_removes_the_published_token() {
    let Some(_lab) = common::lab() else { return };
    interrupt_removes_the_token("INT");
}

/// `timeout`, systemd, `docker stop` and CI cancellation send SIGTERM; a closed terminal
/// sends SIGHUP: both behave like Ctrl-C.
#[test]
fn sigterm_and_sighup_remove_the_published_token() {
    let Some(_lab) = common::lab() else { return };
    interrupt_removes_the_token("TERM");
    interrupt_removes_the_token("HUP");
}

fn interrupt_removes_the_token(sig: &str) {
    let plan = plan_file();
    let name = unique("cc");
    let (_, doc) = plan_rfc2136(&plan, "acme.lab", "LAB_TSIG_BIND_KEY", &name);
    let target = doc["names"][0]["target"].as_str().unwrap().to_string();
    publish_cname(&name, "never-the-target.acme.lab."); // so the proof keeps waiting
    let cfg = common::config();
    let child = common::spawn(&[
        "--config",
        cfg.to_str().unwrap(),
        "prove",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--timeout",
        "60",
    ]);
    // Wait until the token is on the authoritative server, then interrupt.
    let served = format!("kdig @127.0.0.12 +norec TXT {target} | grep -v '^;' | grep -q TXT");
    let start = std::time::Instant::now();
    while !sh(&served).status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the token never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    // 130 after a signal, as check --wait and hook (issue 18; it was 1).
    assert_eq!(out.status.code(), Some(130));
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        doc["names"][0]["findings"][0]["code"], "PROOF_CANCELLED",
        "{doc:#}"
    );
    assert!(
        !sh(&served).status.success(),
        "the token is still published"
    );
}

#[test]
fn a_hosted_target_whose_zone_does_not_exist_is_refused() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let (rc, out, _) = cli(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--zone",
        "hosted",
        "--target",
        "abc.nowhere.lab",
        "h.example.test",
    ]);
    assert_eq!(rc, 1, "{out}");
    assert_eq!(json(&out)["findings"][0]["code"], "TARGET_ZONE_UNDELEGATED");
}

#[test]
fn a_rejected_update_and_a_dead_acme_dns_api_are_findings() {
    let Some(_lab) = common::lab() else { return };
    // The plan names example.test. as the validation zone, at a server that does not serve
    // it. `plan` refuses to save such a plan, so a good plan is edited the way a zone
    // moved away after planning would leave it.
    let name = unique("rj");
    let (plan, _target) = planned_and_published("acme.lab", &name);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("zone = \"acme.lab.\""), "{text}");
    std::fs::write(
        &plan,
        text.replace("zone = \"acme.lab.\"", "zone = \"example.test.\""),
    )
    .unwrap();
    let (rc, doc, _) = prove_json(&plan, "5");
    assert_eq!(rc, 1);
    let f = &doc["names"][0]["findings"][0];
    assert_eq!(f["code"], "PROOF_PUBLISH_FAILED", "{doc:#}");
    assert!(f["fix"].as_str().unwrap().contains("NOTAUTH"), "{f}");
    // acme-dns whose API does not answer: nothing registered, nothing saved.
    let dead = plan_file();
    let (rc, _, err) = cli(&[
        "plan",
        "--plan",
        dead.to_str().unwrap(),
        "--zone",
        "acme-dns",
        "--api",
        "http://127.0.0.1:9/",
        "x.example.test",
    ]);
    assert_eq!(rc, 1);
    assert!(
        err.contains("ACMEDNS_UNHEALTHY") && err.contains("Nothing was saved"),
        "{err}"
    );
    assert!(!dead.exists());
}

#[test]
fn a_key_given_as_a_flag_is_stored_0600_and_never_printed() {
    let Some(_lab) = common::lab() else { return };
    let plan = plan_file();
    let secret = std::env::var("RFC2136_TSIG_SECRET").unwrap();
    let key = format!("hmac-sha256:acme-update:{secret}");
    let (rc, out, err) = cli(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key",
        &key,
        "--domain",
        "acme.lab",
        &unique("kf"),
    ]);
    assert_eq!(rc, 0, "{out}\n{err}");
    assert!(!out.contains(&secret) && !err.contains(&secret));
    let saved = std::fs::read_to_string(&plan).unwrap();
    assert!(
        !saved.contains(&secret),
        "the plan names the key file, not the secret"
    );
    let stored = common::run_dir().join("xdg/data/acme-delegate/keys/acme-update.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(saved.contains(stored.to_str().unwrap()), "{saved}");
    // A malformed key is refused before anything is written.
    let bad = plan_file();
    let (rc, _, err) = cli(&[
        "plan",
        "--plan",
        bad.to_str().unwrap(),
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key",
        "hmac-md5:k:c2VjcmV0",
        "--domain",
        "acme.lab",
        "k.example.test",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("--key") && !err.contains("c2VjcmV0"), "{err}");
    assert!(!bad.exists());
}

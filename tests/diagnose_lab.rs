//! `diagnose` against the real lab: every troubleshooter code reproduced for real (DNSSEC
//! faults signed by knot and validated by unbound, CAA records, a wildcard CNAME, a broken
//! server, real client configs written by certbot), asserting code, severity and exit status.

mod common;

use common::{findings, run};
use serde_json::Value;
use std::time::Duration;

fn diagnose(extra: &[&str]) -> (i32, Value) {
    let cfg = common::config();
    let mut args = vec!["diagnose", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = run(&args, Duration::from_secs(60));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn has(doc: &Value, name: &str, code: &str, sev: &str) -> bool {
    findings(doc, name)
        .iter()
        .any(|(c, s)| c == code && s == sev)
}

fn evidence(doc: &Value, name: &str, code: &str) -> String {
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .and_then(|n| {
            n["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["code"] == code)
        })
        .map(|f| format!("{} | fix: {}", f["evidence"], f["fix"]))
        .unwrap_or_else(|| panic!("no {code} for {name}: {doc:#}"))
}

#[test]
fn healthy_name_has_no_error_and_exits_0() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["www.example.test"]);
    assert_eq!(rc, 0, "{doc:#}");
    assert!(findings(&doc, "www.example.test")
        .iter()
        .all(|(_, s)| s != "error"));
}

#[test]
fn dnssec_bogus_names_the_broken_zone() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&[
        "bogus.example.test",
        "expired.example.test",
        "badsig.example.test",
    ]);
    assert_eq!(rc, 1);
    for (n, zone) in [
        ("bogus.example.test", "bogus.lab."),
        ("expired.example.test", "expired.lab."),
        ("badsig.example.test", "badsig.lab."),
    ] {
        assert!(
            has(&doc, n, "DNSSEC_BOGUS", "error"),
            "{n}: {:?}",
            findings(&doc, n)
        );
        assert!(evidence(&doc, n, "DNSSEC_BOGUS").contains(zone), "{n}");
        // Reported as DNSSEC, not as a plain SERVFAIL.
        assert!(
            !findings(&doc, n)
                .iter()
                .any(|(c, _)| c == "SERVER_SERVFAIL"),
            "{n}"
        );
    }
}

#[test]
fn signed_zone_without_ds_is_an_insecure_delegation() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["nods.example.test"]);
    assert_eq!(rc, 0);
    assert!(has(
        &doc,
        "nods.example.test",
        "DNSSEC_INSECURE_DELEGATION",
        "info"
    ));
    let (_, doc) = diagnose(&["www.example.test"]);
    assert!(
        !has(
            &doc,
            "www.example.test",
            "DNSSEC_INSECURE_DELEGATION",
            "info"
        ),
        "acme.lab has its DS"
    );
}

#[test]
fn caa_findings() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&[
        "caa.example.test",
        "caa-dns01.example.test",
        "caa-crit.example.test",
        "caa-acct.example.test",
        "caawild.example.test",
        "*.caawild.example.test",
        "caafail.example.test",
    ]);
    assert_eq!(rc, 1);
    assert!(has(&doc, "caa.example.test", "CAA_FORBIDS_CA", "error"));
    assert!(evidence(&doc, "caa.example.test", "CAA_FORBIDS_CA").contains("otherca.example"));
    assert!(has(
        &doc,
        "caa-dns01.example.test",
        "CAA_FORBIDS_DNS01",
        "error"
    ));
    assert!(has(
        &doc,
        "caa-crit.example.test",
        "CAA_CRITICAL_UNKNOWN",
        "error"
    ));
    assert!(has(&doc, "caa-acct.example.test", "CAA_ACCOUNTURI", "info"));
    assert!(evidence(&doc, "caa-acct.example.test", "CAA_ACCOUNTURI").contains("/acme/acct/123456"));
    // issue allows the CA; issuewild ";" forbids wildcards only.
    assert!(!findings(&doc, "caawild.example.test")
        .iter()
        .any(|(c, _)| c.starts_with("CAA_")));
    assert!(has(
        &doc,
        "*.caawild.example.test",
        "CAA_FORBIDS_CA",
        "error"
    ));
    assert!(has(
        &doc,
        "caafail.example.test",
        "CAA_LOOKUP_FAILED",
        "error"
    ));
    // Another CA is allowed where only it is named.
    let (_, doc) = diagnose(&["--ca", "otherca.example", "caa.example.test"]);
    assert!(!has(&doc, "caa.example.test", "CAA_FORBIDS_CA", "error"));
}

#[test]
fn wildcard_cname_capture() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["x.wild.example.test"]);
    assert_eq!(rc, 1);
    assert!(has(
        &doc,
        "x.wild.example.test",
        "WILDCARD_CNAME_CAPTURE",
        "error"
    ));
    // A name with its own CNAME is not captured.
    let (_, doc) = diagnose(&["www.example.test"]);
    assert!(!has(
        &doc,
        "www.example.test",
        "WILDCARD_CNAME_CAPTURE",
        "error"
    ));
}

#[test]
fn stale_txt_and_conflicting_records() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["staletxt.example.test", "conflict.example.test"]);
    assert_eq!(rc, 1);
    assert!(has(&doc, "staletxt.example.test", "STALE_TXT", "error"));
    assert!(evidence(&doc, "staletxt.example.test", "STALE_TXT")
        .contains("stale-token-from-a-manual-run"));
    // A warning: the CA's resolver (unbound) follows the CNAME (tests/verdict_lab.rs).
    assert!(has(
        &doc,
        "conflict.example.test",
        "CONFLICTING_RECORDS",
        "warning"
    ));
    assert!(evidence(&doc, "conflict.example.test", "CONFLICTING_RECORDS").contains("127.0.0.98"));
}

#[test]
fn long_negative_ttl_is_reported_with_the_wait() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&["inzone.example.test"]);
    assert_eq!(rc, 0, "a warning only: {doc:#}");
    assert!(has(&doc, "inzone.example.test", "TTL_HIGH", "warning"));
    assert!(evidence(&doc, "inzone.example.test", "TTL_HIGH").contains("300 s"));
    let (_, doc) = diagnose(&["www.example.test"]);
    assert!(
        !has(&doc, "www.example.test", "TTL_HIGH", "warning"),
        "acme.lab has SOA minimum 0"
    );
}

#[test]
fn acme_dns_keeps_two_values() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&[
        "two1.example.test",
        "two2.example.test",
        "two3.example.test",
    ]);
    assert_eq!(rc, 1);
    for n in [
        "two1.example.test",
        "two2.example.test",
        "two3.example.test",
    ] {
        assert!(has(&doc, n, "ACMEDNS_TWO_VALUES", "error"), "{n}");
    }
    // Two names on one record are fine (apex + wildcard is the normal case).
    let (_, doc) = diagnose(&["two1.example.test", "two2.example.test"]);
    assert!(!has(
        &doc,
        "two1.example.test",
        "ACMEDNS_TWO_VALUES",
        "error"
    ));
}

#[test]
fn check_codes_also_come_from_diagnose() {
    let Some(_lab) = common::lab() else { return };
    let (rc, doc) = diagnose(&[
        "api.example.test",
        "loop.example.test",
        "www.split.test",
        "splithorizon.example.test",
    ]);
    assert_eq!(rc, 1);
    assert!(has(&doc, "api.example.test", "CNAME_DOUBLED_ZONE", "error"));
    assert!(has(&doc, "loop.example.test", "CHAIN_LOOP", "error"));
    assert!(has(&doc, "www.split.test", "AUTH_DISAGREE", "error"));
    assert!(has(
        &doc,
        "splithorizon.example.test",
        "SPLIT_HORIZON",
        "warning"
    ));
}

/// certbot (Debian's) writes a real renewal conf with the rfc2136 plugin; diagnose reads it
/// and says the plugin does not follow the CNAME of www.example.test.
#[test]
fn real_certbot_config_does_not_follow_the_cname() {
    let Some(_lab) = common::lab() else { return };
    let run_dir = common::run_dir();
    let t = run_dir.join(format!("certbot-{}", common::rand_suffix()));
    let name = format!("cb{}.acme.lab", common::rand_suffix() % 100000);
    let script = format!(
        "REQUESTS_CA_BUNDLE=$LAB_RUN_DIR/pebble/ca.pem timeout 120 certbot certonly --non-interactive --agree-tos -m admin@example.test --no-eff-email \
         --server https://127.0.0.1:14000/dir --config-dir {t}/config --work-dir {t}/work --logs-dir {t}/logs \
         --dns-rfc2136 --dns-rfc2136-credentials $LAB_RUN_DIR/certbot-rfc2136.ini --dns-rfc2136-propagation-seconds 1 -d {name}",
        t = t.display()
    );
    let out = std::process::Command::new("timeout")
        .args(["150", "bash", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "certbot: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = t.join(format!("config/renewal/{name}.conf"));
    assert!(
        conf.exists(),
        "certbot wrote no renewal conf at {}",
        conf.display()
    );
    let (rc, doc) = diagnose(&[
        "--client-config",
        conf.to_str().unwrap(),
        "www.example.test",
    ]);
    assert_eq!(rc, 1, "{doc:#}");
    assert!(
        has(&doc, "www.example.test", "CLIENT_NO_CNAME_FOLLOW", "error"),
        "{:?}",
        findings(&doc, "www.example.test")
    );
    assert!(has(&doc, "www.example.test", "CLIENT_WHERE", "info"));
    // The credentials file start.sh wrote is 0600: no SECRET_FILE_MODE.
    assert!(!has(&doc, "www.example.test", "SECRET_FILE_MODE", "error"));
    // No secret in the output.
    let secret = std::env::var("RFC2136_TSIG_SECRET").unwrap();
    assert!(!doc.to_string().contains(&secret));
}

#[test]
fn client_config_problems() {
    let Some(_lab) = common::lab() else { return };
    let dir = common::run_dir().join(format!("clients-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    // lego with CNAME support switched off, credentials readable by everyone.
    let env = dir.join(".env");
    std::fs::write(
        &env,
        "RFC2136_NAMESERVER=127.0.0.12:53\nRFC2136_TSIG_KEY=acme-update.\nRFC2136_TSIG_SECRET=c2VjcmV0\nRFC2136_TSIG_ALGORITHM=hmac-sha256.\nLEGO_DISABLE_CNAME_SUPPORT=true\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let garbage = dir.join("garbage.yaml");
    std::fs::write(&garbage, b"\x00\x01\xffnot: [a config").unwrap();
    let (rc, doc) = diagnose(&[
        "--client-config",
        env.to_str().unwrap(),
        "--client-config",
        garbage.to_str().unwrap(),
        "www.example.test",
    ]);
    assert_eq!(rc, 1);
    let f = findings(&doc, "www.example.test");
    assert!(
        has(&doc, "www.example.test", "CLIENT_NO_CNAME_FOLLOW", "error"),
        "{f:?}"
    );
    assert!(evidence(&doc, "www.example.test", "CLIENT_NO_CNAME_FOLLOW")
        .contains("LEGO_DISABLE_CNAME_SUPPORT"));
    assert!(
        has(&doc, "www.example.test", "SECRET_FILE_MODE", "error"),
        "{f:?}"
    );
    assert!(
        has(
            &doc,
            "www.example.test",
            "CLIENT_CONFIG_UNREADABLE",
            "error"
        ),
        "{f:?}"
    );
    assert!(!doc.to_string().contains("c2VjcmV0"), "the secret leaked");
    // lego's acme-dns account for the name points at another record than the CNAME does.
    let acct = dir.join("acme-dns-accounts.json");
    std::fs::write(
        &acct,
        r#"{"www.example.test": {"username": "u", "password": "p4ssw0rd-not-shown", "fulldomain": "0b3e5c1a-1111-2222-3333-444455556666.acme.lab", "subdomain": "0b3e5c1a-1111-2222-3333-444455556666", "allowfrom": []}}"#,
    )
    .unwrap();
    std::fs::set_permissions(&acct, std::fs::Permissions::from_mode(0o600)).unwrap();
    let lego = dir.join("lego.env");
    std::fs::write(
        &lego,
        format!(
            "ACME_DNS_API_BASE=http://127.0.0.1:9\nACME_DNS_STORAGE_PATH={}\n",
            acct.display()
        ),
    )
    .unwrap();
    let (_, doc) = diagnose(&[
        "--client-config",
        lego.to_str().unwrap(),
        "www.example.test",
    ]);
    assert!(
        has(&doc, "www.example.test", "CLIENT_WRONG_ZONE", "error"),
        "{:?}",
        findings(&doc, "www.example.test")
    );
    assert!(evidence(&doc, "www.example.test", "CLIENT_WRONG_ZONE")
        .contains("0b3e5c1a-1111-2222-3333-444455556666.acme.lab"));
    assert!(!doc.to_string().contains("p4ssw0rd-not-shown"));
    // A cert-manager issuer pinned to the wrong zone.
    let issuer = dir.join("issuer.yaml");
    std::fs::write(
        &issuer,
        "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: lab\nspec:\n  acme:\n    server: https://127.0.0.1:14000/dir\n    privateKeySecretRef:\n      name: lab-account\n    solvers:\n    - dns01:\n        cnameStrategy: Follow\n        rfc2136:\n          nameserver: 127.0.0.11:53\n          tsigKeyName: acme-update.\n          tsigAlgorithm: HMACSHA256\n          tsigSecretSecretRef:\n            name: tsig\n            key: secret\n      selector:\n        dnsZones:\n        - example.test\n",
    )
    .unwrap();
    let (_, doc) = diagnose(&[
        "--client-config",
        issuer.to_str().unwrap(),
        "www.example.test",
    ]);
    let f = findings(&doc, "www.example.test");
    assert!(
        !f.iter().any(|(c, _)| c == "CLIENT_NO_CNAME_FOLLOW"),
        "Follow is set: {f:?}"
    );
    assert!(has(&doc, "www.example.test", "CLIENT_WHERE", "info"));
}

#[test]
fn negative_cache_at_a_resolver_is_diagnosed_with_its_expiry() {
    let Some(_lab) = common::lab() else { return };
    // The negcache name of the lab is one-shot and tests/check_lab.rs uses it: the same
    // fault on a name of this test's own. unbound2 (127.0.0.54) keeps the NXDOMAIN for the
    // SOA minimum of example.test (300 s); then the CNAME is added by RFC 2136.
    let host = common::unique("dneg");
    let owner = format!("_acme-challenge.{host}");
    common::cache_nxdomain_then_publish(&host, "www-label.acme.lab.");
    let (rc, doc) = diagnose(&[&host]);
    // Only lab-unbound2 holds the negative answer; the authoritative chain is right and
    // lab-unbound sees it: a warning, and the name is ok (the CA resolves for itself).
    assert_eq!(rc, 0, "{doc:#}");
    let n = common::name(&doc, &host);
    assert_eq!(n["target"], "www-label.acme.lab.", "{n:#}");
    let f = common::finding(&doc, &host, "NEGATIVE_CACHED");
    assert_eq!(f["severity"], "warning", "{f:#}");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("lab-unbound2") && ev.contains("NXDOMAIN") && ev.contains("expires in"),
        "{ev}"
    );
    assert!(ev.contains(&format!("{owner}.")), "{ev}");
}

#[test]
fn prometheus_textfile_and_an_unreachable_endpoint() {
    let Some(_lab) = common::lab() else { return };
    let prom = common::run_dir().join(format!("metrics-{}.prom", common::rand_suffix()));
    let start = std::time::Instant::now();
    let (rc, doc) = diagnose(&[
        "--prometheus-textfile",
        prom.to_str().unwrap(),
        "--endpoint",
        "127.0.0.1:9", // nothing listens: refused at once
        "www.example.test",
        "nocname.example.test",
    ]);
    assert_eq!(rc, 1);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(
        has(&doc, "www.example.test", "ENDPOINT_UNREACHABLE", "error"),
        "{doc:#}"
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("# TYPE acme_delegate_name_ok gauge"),
        "{text}"
    );
    assert!(text.contains("acme_delegate_findings{"), "{text}");
    assert!(text.contains("code=\"CNAME_MISSING\""), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("acme_delegate_name_ok{")
            && l.contains("nocname.example.test")
            && l.ends_with(" 0")),
        "{text}"
    );
}

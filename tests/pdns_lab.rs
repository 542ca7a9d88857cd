//! PowerDNS as a provider-hosted validation zone (the lab's pdns.lab. on 127.0.0.14, API
//! on :8081): `plan` checks the zone and the key through the API, `prove` publishes the
//! test TXT through it and watches it through the CNAME, a wrong key / missing zone /
//! unreachable API is each its finding with nothing saved; `write --client lego` then
//! Debian's lego `--dns pdns` issues from pebble, and certbot issues through acme-delegate's
//! hook with the pdns plan. Also: the lego probe of `write` against Debian's lego.

mod common;

use common::issuance::{assert_cert, out_dir, production_serial, run_next, write};
use common::{cli, json, plan_file, publish_cname, unique};
use std::path::Path;

fn api() -> String {
    std::env::var("LAB_PDNS_API").expect("LAB_PDNS_API (tests/lab/start.sh)")
}

fn key_file() -> String {
    std::env::var("LAB_PDNS_KEY_FILE").expect("LAB_PDNS_KEY_FILE (tests/lab/start.sh)")
}

/// `plan --zone provider --provider pdns ...`: (exit status, stdout, stderr).
fn plan_pdns(
    plan: &Path,
    api: &str,
    domain: &str,
    key_file: &str,
    names: &[&str],
) -> (i32, String, String) {
    let mut a = vec![
        "--plan",
        plan.to_str().unwrap(),
        "plan",
        "--zone",
        "provider",
        "--provider",
        "pdns",
        "--api",
        api,
        "--domain",
        domain,
        "--key-file",
        key_file,
        "--json",
    ];
    a.extend_from_slice(names);
    cli(&a)
}

/// Plans the names into pdns.lab. and publishes the first one's CNAME: the targets.
fn planned(plan: &Path, names: &[&str]) -> Vec<String> {
    let (rc, out, err) = plan_pdns(plan, &api(), "pdns.lab", &key_file(), names);
    assert_eq!(rc, 0, "{out}\n{err}");
    let doc = json(&out);
    let targets: Vec<String> = doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"].as_str().unwrap().to_string())
        .collect();
    assert!(
        targets.iter().all(|t| t.ends_with(".pdns.lab.")),
        "{targets:?}"
    );
    publish_cname(names[0].trim_start_matches("*."), &targets[0]);
    targets
}

#[test]
fn plan_and_prove_through_the_powerdns_api() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("pp");
    let p = plan_file();
    let targets = planned(&p, &[&name]);
    let saved = std::fs::read_to_string(&p).unwrap();
    assert!(
        saved.contains("kind = \"provider\"") && saved.contains("api = "),
        "{saved}"
    );
    let (rc, doc, err) = common::prove_json(&p, "60");
    assert_eq!(rc, 0, "{doc}\n{err}");
    // The test TXT is gone again from the zone.
    let out = common::sh(&format!("kdig @127.0.0.14 {} TXT +short", targets[0]));
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "{out:?}"
    );
}

#[test]
fn a_wrong_key_a_missing_zone_and_an_unreachable_api_are_findings_and_nothing_is_saved() {
    let Some(lab) = common::lab() else { return };
    let wrong = lab.join(format!("wrong-{}.apikey", common::rand_suffix()));
    std::fs::write(&wrong, "not-the-key\n").unwrap();
    for (api, domain, key, code) in [
        (
            api(),
            "pdns.lab",
            wrong.to_str().unwrap().to_string(),
            "PROVIDER_KEY_REJECTED",
        ),
        (api(), "nope.lab", key_file(), "PROVIDER_ZONE_MISSING"),
        (
            "http://127.0.0.14:1".to_string(),
            "pdns.lab",
            key_file(),
            "PROVIDER_UNREACHABLE",
        ),
    ] {
        let p = plan_file();
        let (rc, out, err) = plan_pdns(&p, &api, domain, &key, &[&unique("pw")]);
        assert_eq!(rc, 1, "{code}: {out}\n{err}");
        let all = format!("{out}{err}");
        assert!(all.contains(code), "{code}: {all}");
        assert!(all.contains("fix"), "{code}: {all}");
        assert!(!p.exists(), "{code}: a plan was saved");
        assert!(
            !all.contains(
                &std::fs::read_to_string(key_file())
                    .unwrap()
                    .trim()
                    .to_string()
            ),
            "the key is shown"
        );
    }
}

/// `plan --key KEY` with a provider stores the API key as `keys/<provider>-<zone>.apikey`
/// under the TSIG keys' rule (issue 18, item 11): a key file whose content differs is never
/// replaced (main overwrote it with whatever the last `plan --key` gave, even a rejected
/// key, so the earlier plan's prove and hook then failed); the new key gets a new name;
/// nothing is written when the plan is not saved.
#[test]
fn a_stored_api_key_is_never_overwritten_and_a_rejected_one_is_not_kept() {
    let Some(_lab) = common::lab() else { return };
    let real = std::fs::read_to_string(key_file()).unwrap();
    let real = real.trim();
    let plan_key = |plan: &Path, key: &str| {
        cli(&[
            "--plan",
            plan.to_str().unwrap(),
            "plan",
            "--zone",
            "provider",
            "--provider",
            "pdns",
            "--api",
            &api(),
            "--domain",
            "pdns.lab",
            "--key",
            key,
            &unique("pk"),
        ])
    };
    let key_file_of = |plan: &Path| -> std::path::PathBuf {
        let v: toml::Value = toml::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
        v["zone"]["key_file"].as_str().unwrap().into()
    };
    let first = plan_file();
    let (rc, out, err) = plan_key(&first, real);
    assert_eq!(rc, 0, "{out}\n{err}");
    let stored = key_file_of(&first);
    assert!(
        stored.extension().is_some_and(|e| e == "apikey"),
        "{stored:?}"
    );
    let keys = stored.parent().unwrap().to_path_buf();
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let before = listing();
    // A rejected key: nothing saved, the stored key untouched, no key file left.
    let second = plan_file();
    let (rc, out, err) = plan_key(&second, "not-the-key");
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(format!("{out}{err}").contains("PROVIDER_KEY_REJECTED"));
    assert!(!second.exists(), "no plan saved");
    // (compared, never printed: it holds the key)
    assert!(
        std::fs::read_to_string(&stored).unwrap().trim() == real,
        "the stored API key was replaced by a rejected one"
    );
    assert_eq!(listing(), before, "a key file was left behind");
    // Another plan's key under the same name (another PowerDNS with a zone of that name):
    // a new plan with this key keeps it and stores its own under a new name.
    std::fs::write(&stored, "another-plans-key\n").unwrap();
    let third = plan_file();
    let (rc, out, err) = plan_key(&third, real);
    assert_eq!(rc, 0, "{out}\n{err}");
    let own = key_file_of(&third);
    assert_ne!(own, stored, "the other plan's key file was reused");
    assert_eq!(
        std::fs::read_to_string(&stored).unwrap(),
        "another-plans-key\n",
        "the other plan's key was replaced"
    );
    assert!(std::fs::read_to_string(&own).unwrap().trim() == real);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&own).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn lego_with_a_written_pdns_config_issues_from_pebble() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("pl");
    let p = plan_file();
    planned(&p, &[&name]);
    let _r = common::production_read();
    let serial = production_serial();
    let out = out_dir("lego-pdns");
    let doc = write(&p, "lego", &out);
    // Debian's lego has the pdns provider: no CLIENT_PROVIDER_MISSING.
    assert!(
        !doc.to_string().contains("CLIENT_PROVIDER_MISSING"),
        "{doc}"
    );
    let (ok, log) = run_next(&doc, 150);
    assert!(ok, "{log}");
    assert_cert(
        &out.join("certificates").join(format!("{name}.crt")),
        &[&name],
        &log,
    );
    assert_eq!(
        production_serial(),
        serial,
        "the production zone was written to"
    );
}

#[test]
fn certbot_through_the_hook_issues_with_a_pdns_plan() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("pc");
    let p = plan_file();
    planned(&p, &[&name]);
    let _r = common::production_read();
    let serial = production_serial();
    let out = out_dir("certbot-pdns");
    let doc = write(&p, "certbot", &out);
    let (ok, log) = run_next(&doc, 170);
    assert!(ok, "{log}");
    assert_cert(
        &out.join("config/live").join(&name).join("cert.pem"),
        &[&name],
        &log,
    );
    assert_eq!(
        production_serial(),
        serial,
        "the production zone was written to"
    );
}

/// Debian's lego lists acme-dns in `dnshelp` but does not load it: the probe finds that,
/// and that it loads pdns.
#[tokio::test]
async fn the_lego_probe_tells_debians_lego_lacks_acme_dns() {
    use acme_delegate::engine::lego_probe::{lego_on_path, probe, ProviderProbe};
    let Some(_lab) = common::lab() else { return };
    let lego = lego_on_path().expect("lego (Debian package) on PATH");
    let t = std::time::Duration::from_secs(15);
    let acme = probe(&lego, "acme-dns", t).await;
    assert!(matches!(acme, ProviderProbe::Lacks { .. }), "{acme:?}");
    assert_eq!(probe(&lego, "pdns", t).await, ProviderProbe::Has);
}

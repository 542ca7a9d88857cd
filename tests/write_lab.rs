//! `write`, then the next command it printed, against pebble and the lab resolver: a
//! certificate is issued for the delegated name, and the TXT went only to the validation
//! zone (the production zone's SOA serial is unchanged by the issuance).
//!
//! Debian's lego (4.9.1) has no working path to the acme-dns fixture here, so lego +
//! acme-dns is covered by the snapshot and parse tests in src/clients/write/tests.rs only.

mod common;

use common::issuance::{assert_cert, out_dir, production_serial, run_next, write};
use common::{cli, plan_file, publish_cname, sh, unique};
use std::path::Path;

/// `plan --zone rfc2136` for the names (acme-update key, acme.lab); returns the targets.
fn plan(plan: &Path, names: &[&str]) -> Vec<String> {
    let (_, doc) = common::plan_rfc2136_names(plan, "acme.lab", "LAB_TSIG_BIND_KEY", names);
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"].as_str().unwrap().to_string())
        .collect()
}

fn lego_issues(names: &[&str]) {
    let p = plan_file();
    let targets = plan(&p, names);
    publish_cname(names[0].trim_start_matches("*."), &targets[0]);
    let _r = common::production_read();
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
    let Some(_lab) = common::lab() else { return };
    let name = unique("wl");
    lego_issues(&[&name]);
}

#[test]
fn lego_with_rfc2136_issues_an_apex_and_its_wildcard() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("ww");
    let wild = format!("*.{name}");
    lego_issues(&[&name, &wild]);
}

#[test]
fn certbot_with_the_hook_issues_through_an_rfc2136_plan() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("wc");
    let p = plan_file();
    let targets = plan(&p, &[&name]);
    publish_cname(&name, &targets[0]);
    let _r = common::production_read();
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
    let Some(_lab) = common::lab() else { return };
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

/// The issue's repro: `write --client acme.sh`, then `diagnose --client-config` on the env
/// file it wrote: read back (no CLIENT_CONFIG_UNREADABLE), no client fault, exit 0; the
/// same file without the aliases is CLIENT_NO_CNAME_FOLLOW (acme.sh never follows it).
#[test]
fn diagnose_reads_the_acmesh_files_write_made() {
    let Some(_lab) = common::lab() else { return };
    let name = unique("wa");
    let p = plan_file();
    let targets = plan(&p, &[&name]);
    publish_cname(&name, &targets[0]);
    let out = out_dir("acmesh");
    write(&p, "acme.sh", &out);
    let env = out.join("nsupdate.env");
    let diagnose = |f: &Path| {
        let (rc, stdout, err) = cli(&[
            "--plan",
            p.to_str().unwrap(),
            "diagnose",
            "--json",
            "--client-config",
            f.to_str().unwrap(),
            &name,
        ]);
        (rc, format!("{stdout}\n{err}"))
    };
    let (rc, all) = diagnose(&env);
    assert!(!all.contains("CLIENT_CONFIG_UNREADABLE"), "{all}");
    assert!(all.contains("CLIENT_WHERE"), "{all}");
    assert!(
        !all.contains("CLIENT_NO_CNAME_FOLLOW") && !all.contains("CLIENT_WRONG_ZONE"),
        "{all}"
    );
    assert_eq!(rc, 0, "{all}");
    let text = std::fs::read_to_string(&env).unwrap();
    let no_alias: String = text
        .lines()
        .filter(|l| !l.starts_with("ACME_DELEGATE_ALIASES="))
        .map(|l| format!("{l}\n"))
        .collect();
    let bare = out.join("no-alias.env");
    std::fs::write(&bare, no_alias).unwrap();
    let (rc, all) = diagnose(&bare);
    assert!(all.contains("CLIENT_NO_CNAME_FOLLOW"), "{all}");
    assert_eq!(rc, 1, "{all}");
}

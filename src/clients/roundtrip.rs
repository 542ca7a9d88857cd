//! Read back what we write: every writer's output, put on disk, is read by the matching
//! reader, and the rules find no client fault for any planned name (every client x every
//! zone kind it writes).

use super::read::{applies_to, client_findings, parse_client_config, ClientWrite};
use super::write::testdata::*;
use super::write::{write, Client, ClientOutput, WriteOptions};
use crate::findings::{Code, Severity};
use crate::model::name::parse_input;
use crate::model::plan::Plan;
use std::path::{Path, PathBuf};

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ad-roundtrip-{tag}-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Options that put every file under `dir`, with the plan saved there (certbot's hook
/// names it).
fn opts_in(dir: &Path, plan: &Plan) -> WriteOptions {
    let mut o = opts();
    o.out = Some(dir.join("out"));
    o.home = dir.join("home");
    o.cwd = dir.to_path_buf();
    o.plan_path = dir.join("plan.toml");
    plan.save(&o.plan_path).unwrap();
    o
}

fn put_on_disk(o: &ClientOutput) {
    use std::os::unix::fs::PermissionsExt;
    for f in &o.files {
        std::fs::create_dir_all(f.path.parent().unwrap()).unwrap();
        std::fs::write(&f.path, &f.contents).unwrap();
        std::fs::set_permissions(&f.path, std::fs::Permissions::from_mode(f.mode)).unwrap();
    }
}

/// The files of a writer's output that are the client's config (what a user gives to
/// `diagnose --client-config`).
fn configs(c: Client, o: &ClientOutput) -> Vec<PathBuf> {
    let is =
        |p: &Path, pred: &dyn Fn(&str) -> bool| pred(&p.file_name().unwrap().to_string_lossy());
    o.files
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| match c {
            Client::Lego | Client::AcmeSh => is(p, &|n| n.ends_with(".env")),
            Client::Certbot => is(p, &|n| n.ends_with(".ini")),
            Client::CertManager => is(p, &|n| n.contains("issuer")),
            Client::Caddy => is(p, &|n| n.ends_with("Caddyfile")),
            Client::Traefik => is(p, &|n| n.ends_with(".yml")),
            Client::CertMate => is(p, &|n| n.starts_with("certmate-create-")),
        })
        .collect()
}

/// Every client with every zone kind it writes a config for.
fn combos() -> Vec<(Client, &'static str, Plan)> {
    let mut v = Vec::new();
    for c in Client::ALL {
        for (kind, plan) in [
            ("acme-dns", acme_dns_plan()),
            ("rfc2136", rfc2136_plan()),
            ("provider", provider_plan()),
            ("provider-pdns", pdns_plan()),
            ("hosted", hosted_plan()),
        ] {
            if write(c, &plan, &opts()).is_ok() {
                v.push((c, kind, plan));
            }
        }
    }
    v
}

#[test]
fn every_writer_output_reads_back_without_a_client_fault() {
    let all = combos();
    // What each client writes today (a new zone kind joins this list by itself).
    for (c, kinds) in [
        (
            Client::Lego,
            &["acme-dns", "rfc2136", "provider", "provider-pdns"][..],
        ),
        (
            Client::Certbot,
            &["acme-dns", "rfc2136", "provider-pdns"][..],
        ),
        (
            Client::AcmeSh,
            &["acme-dns", "rfc2136", "provider-pdns"][..],
        ),
        (Client::CertManager, &["acme-dns", "rfc2136"][..]),
        (Client::Caddy, &["acme-dns", "rfc2136"][..]),
        (Client::Traefik, &["acme-dns", "rfc2136", "provider"][..]),
        (Client::CertMate, &["acme-dns"][..]),
    ] {
        for k in kinds {
            assert!(
                all.iter().any(|(cc, kk, _)| *cc == c && kk == k),
                "{c} no longer writes {k}"
            );
        }
    }
    for (c, kind, plan) in all {
        let dir = tempdir(&format!("{}-{kind}", c.name()));
        let o = write(c, &plan, &opts_in(&dir, &plan)).unwrap();
        put_on_disk(&o);
        if o.files.is_empty() {
            // lego with a provider acme-delegate holds no credentials for (Cloudflare): the
            // command and the user's environment are all; there is no file to read back.
            assert!(o.next_commands[0].contains("--dns "), "{c}/{kind}");
            continue;
        }
        let files = configs(c, &o);
        assert!(
            !files.is_empty(),
            "{c}/{kind}: no config among {:?}",
            o.files
        );
        let mut writes: Vec<ClientWrite> = Vec::new();
        for f in &files {
            let ws = parse_client_config(f)
                .unwrap_or_else(|e| panic!("{c}/{kind}: {} does not read back: {e}", f.display()));
            assert!(
                !ws.is_empty(),
                "{c}/{kind}: {} has no DNS-01 setup",
                f.display()
            );
            writes.extend(ws);
        }
        for p in &plan.names {
            let name = parse_input(&p.name).unwrap();
            let zone = p.target.parent();
            let mine: Vec<&ClientWrite> = writes.iter().filter(|w| applies_to(w, &name)).collect();
            assert!(
                !mine.is_empty(),
                "{c}/{kind}: no config applies to {}",
                p.name
            );
            for w in mine {
                let fs = client_findings(w, &name, Some(&p.target), Some(&zone), p.zone.as_ref());
                let faults: Vec<String> = fs
                    .iter()
                    .filter(|f| f.severity >= Severity::Warning)
                    .map(|f| format!("{} {}", f.code, f.evidence))
                    .collect();
                assert!(faults.is_empty(), "{c}/{kind} {}: {faults:#?}", p.name);
                // The reader knows where the TXT goes: never "cannot tell".
                let wh = &fs
                    .iter()
                    .find(|f| f.code == Code::ClientWhere)
                    .unwrap()
                    .evidence;
                assert!(
                    !wh.contains("cannot tell") && !wh.contains("NOT find"),
                    "{c}/{kind} {}: {wh}",
                    p.name
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The codes the rules give for `name` with the configs in `file`.
fn codes_for(file: &Path, plan: &Plan, name: &str) -> Vec<Code> {
    let p = plan.names.iter().find(|p| p.name == name).unwrap();
    let input = parse_input(name).unwrap();
    parse_client_config(file)
        .unwrap()
        .iter()
        .filter(|w| applies_to(w, &input))
        .flat_map(|w| client_findings(w, &input, Some(&p.target), Some(&p.target.parent()), None))
        .map(|f| f.code)
        .collect()
}

/// acme.sh with another acme-dns account (the real acme.sh fails with "Correct value not
/// found"): CLIENT_WRONG_ZONE, found through ACMEDNS_SUBDOMAIN; likewise Caddy's inline
/// subdomain and CertMate's alias.
#[test]
fn a_wrong_acme_dns_account_is_found_by_its_subdomain() {
    let plan = acme_dns_plan();
    let dir = tempdir("wrong-account");
    let o = write(Client::AcmeSh, &plan, &opts_in(&dir, &plan)).unwrap();
    put_on_disk(&o);
    let www = o
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().contains("acmedns-www"))
        .unwrap();
    assert!(!codes_for(&www.path, &plan, "www.example.com").contains(&Code::ClientWrongZone));
    // The apex account's subdomain in the www env file.
    let apex_sub = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
    let www_sub = "3f0e8a51-5b6c-4d7e-9f10-2a3b4c5d6e7f";
    let text = www.contents.replace(
        &format!("ACMEDNS_SUBDOMAIN={www_sub}"),
        &format!("ACMEDNS_SUBDOMAIN={apex_sub}"),
    );
    assert_ne!(text, www.contents);
    std::fs::write(&www.path, text).unwrap();
    assert!(codes_for(&www.path, &plan, "www.example.com").contains(&Code::ClientWrongZone));
    // acme.sh's own domain conf after the first run says the same.
    let conf = dir.join("www.example.com.conf");
    std::fs::write(
        &conf,
        format!("Le_Domain='www.example.com'\nLe_Alt='no'\nLe_Webroot='dns_acmedns'\nLe_ChallengeAlias='=x.acme-dns.example.net,'\nACMEDNS_BASE_URL='{API}'\nACMEDNS_USERNAME='u'\nACMEDNS_SUBDOMAIN='{apex_sub}'\n"),
    )
    .unwrap();
    assert!(codes_for(&conf, &plan, "www.example.com").contains(&Code::ClientWrongZone));

    for (c, find) in [
        (Client::Caddy, "Caddyfile"),
        (Client::CertMate, "certmate-create-www"),
    ] {
        let d = tempdir(c.name());
        let o = write(c, &plan, &opts_in(&d, &plan)).unwrap();
        put_on_disk(&o);
        let f = o
            .files
            .iter()
            .find(|f| f.path.to_string_lossy().contains(find))
            .unwrap();
        assert!(
            !codes_for(&f.path, &plan, "www.example.com").contains(&Code::ClientWrongZone),
            "{c}"
        );
        let bad = f.contents.replace(www_sub, apex_sub);
        assert_ne!(bad, f.contents, "{c}");
        std::fs::write(&f.path, bad).unwrap();
        assert!(
            codes_for(&f.path, &plan, "www.example.com").contains(&Code::ClientWrongZone),
            "{c}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// acme.sh never follows the CNAME: without the alias its nsupdate writes at
/// _acme-challenge.<name> in the production zone (CLIENT_NO_CNAME_FOLLOW).
#[test]
fn acmesh_without_the_alias_does_not_follow_the_cname() {
    let plan = rfc2136_plan();
    let dir = tempdir("no-alias");
    let o = write(Client::AcmeSh, &plan, &opts_in(&dir, &plan)).unwrap();
    put_on_disk(&o);
    let env = o
        .files
        .iter()
        .find(|f| f.path.ends_with("nsupdate.env"))
        .unwrap();
    assert!(!codes_for(&env.path, &plan, "www.example.com").contains(&Code::ClientNoCnameFollow));
    let text: String = env
        .contents
        .lines()
        .filter(|l| !l.starts_with("ACME_DELEGATE_ALIASES="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&env.path, text).unwrap();
    assert!(codes_for(&env.path, &plan, "www.example.com").contains(&Code::ClientNoCnameFollow));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// ACMEDNS_USERNAME: the account's registration in the stored accounts file beside the env
/// file gives the whole fulldomain, so a target with the account's label in another zone
/// is CLIENT_WRONG_ZONE too (the subdomain alone only tells the label).
#[test]
fn the_acmesh_username_maps_to_the_stored_account() {
    let plan = acme_dns_plan();
    let dir = tempdir("username");
    let o = write(Client::AcmeSh, &plan, &opts_in(&dir, &plan)).unwrap();
    put_on_disk(&o);
    let www = o
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().contains("acmedns-www"))
        .unwrap();
    // A plan whose targets have the accounts' labels, but in another zone.
    let mut moved = plan.clone();
    for p in moved.names.iter_mut() {
        let label = p.target.labels()[0].to_string();
        p.target = crate::dns::Name::from_ascii(&format!("{label}.elsewhere.example.org"));
    }
    assert!(!codes_for(&www.path, &moved, "www.example.com").contains(&Code::ClientWrongZone));
    let (json, _) = super::write::goacmedns_json(&plan, &opts()).unwrap();
    let accounts = www
        .path
        .parent()
        .unwrap()
        .join(crate::zones::acme_dns::ACCOUNTS_FILE);
    std::fs::write(&accounts, json).unwrap();
    assert!(codes_for(&www.path, &moved, "www.example.com").contains(&Code::ClientWrongZone));
    assert!(!codes_for(&www.path, &plan, "www.example.com").contains(&Code::ClientWrongZone));
    std::fs::remove_dir_all(&dir).unwrap();
}

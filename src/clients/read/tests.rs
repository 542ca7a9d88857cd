use super::*;
use crate::findings::Code;
use crate::findings::Finding;
use crate::model::name::{parse_input, InputName};
use std::path::PathBuf;

const SECRETS: &[&str] = &[
    "c2VjcmV0LXRzaWctZml4dHVyZQ==",
    "acmedns-password-fixture-value",
    "s3cr3t-token-fixture",
];

fn fx(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(rel)
}

fn name(s: &str) -> InputName {
    parse_input(s).unwrap()
}

fn n(s: &str) -> Name {
    Name::from_ascii(s)
}

fn codes(f: &[Finding]) -> Vec<Code> {
    f.iter().map(|f| f.code).collect()
}

fn no_secrets(findings: &[Finding]) {
    for f in findings {
        for s in SECRETS {
            assert!(
                !f.evidence.contains(s) && !f.fix.contains(s),
                "secret leaked in {f:?}"
            );
        }
    }
}

/// A fresh temp folder for one test.
fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "acme-delegate-clients-{}-{tag}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn one(path: &Path) -> ClientWrite {
    let mut v = parse_client_config(path).unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

// ------------------------------------------------------------------------------- lego

#[test]
fn lego_env_rfc2136_follows() {
    let p = fx("lego/.env");
    let w = one(&p);
    assert_eq!(w.client, ClientKind::Lego);
    assert_eq!(w.method, "rfc2136");
    assert_eq!(w.follows_cname, CnameFollow::Yes);
    let s = w.server.as_ref().unwrap();
    assert_eq!(
        (s.value.as_str(), s.line, s.file.as_ref()),
        ("192.0.2.53:53", Some(2), None)
    );
    assert_eq!(w.zone, None);
    // The env file holds RFC2136_TSIG_SECRET itself.
    assert_eq!(w.credential_files, vec![p.clone()]);

    let nm = name("www.example.com");
    let t = n("www-7f3a.acme.example.net");
    let f = client_findings(
        &w,
        &nm,
        Some(&t),
        Some(&n("acme.example.net")),
        Some(&n("example.com")),
    );
    assert!(codes(&f).contains(&Code::ClientWhere));
    assert!(!codes(&f).contains(&Code::ClientNoCnameFollow));
    assert!(!codes(&f).contains(&Code::ClientWrongZone));
    assert!(
        f[0].evidence.contains("www-7f3a.acme.example.net"),
        "{}",
        f[0].evidence
    );
    assert!(f[0].evidence.contains("192.0.2.53:53"));
    assert!(!f[0].evidence.ends_with(".."));
    no_secrets(&f);
}

#[test]
fn lego_disable_cname_support_fires_with_file_and_line() {
    let p = fx("lego-nocname/.env");
    let w = one(&p);
    assert!(matches!(w.follows_cname, CnameFollow::No { .. }));
    let z = w.zone.as_ref().unwrap();
    assert_eq!((z.value.as_str(), z.line), ("acme.example.org.", Some(4)));
    assert_eq!(
        w.credential_files,
        vec![PathBuf::from("/etc/lego/acme.key")]
    );
    let nm = name("www.example.com");
    let t = n("www-7f3a.acme.example.net");
    let f = client_findings(
        &w,
        &nm,
        Some(&t),
        Some(&n("acme.example.net")),
        Some(&n("example.com")),
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .expect("no-follow");
    assert!(
        nf.fix.contains("LEGO_DISABLE_CNAME_SUPPORT=true"),
        "{}",
        nf.fix
    );
    assert!(nf.fix.contains(&format!("{}:5", p.display())), "{}", nf.fix);
    assert!(nf.evidence.contains("_acme-challenge.www.example.com."));
    // DNSUPDATE_ZONES pins acme.example.org, the target is in acme.example.net.
    let wz = f
        .iter()
        .find(|f| f.code == Code::ClientWrongZone)
        .expect("wrong zone");
    assert!(wz.evidence.contains("acme.example.org."), "{}", wz.evidence);
    assert!(wz.fix.contains(":4"));
    // No CNAME known: nothing to compare, no error.
    let f = client_findings(&w, &nm, None, None, None);
    assert_eq!(codes(&f), vec![Code::ClientWhere]);
}

#[test]
fn lego_acme_dns_account_matches_or_not() {
    let w = one(&fx("lego-acmedns/.env"));
    assert_eq!(w.method, "acme-dns");
    assert_eq!(w.server.as_ref().unwrap().line, Some(1));
    let fd = n("3f0e4b2c-1111-2222-3333-444455556666.acme-dns.example.net");
    assert_eq!(
        w.acme_dns_accounts,
        vec![("www.example.com".to_string(), fd.clone())]
    );
    let nm = name("www.example.com");
    let f = client_findings(&w, &nm, Some(&fd), Some(&n("acme-dns.example.net")), None);
    assert!(!codes(&f).contains(&Code::ClientWrongZone), "{f:?}");
    assert!(f[0].evidence.contains("will find it"), "{}", f[0].evidence);
    let other = n("other.acme-dns.example.net");
    let f = client_findings(&w, &nm, Some(&other), None, None);
    assert!(codes(&f).contains(&Code::ClientWrongZone));
    // acme-dns never gets CLIENT_NO_CNAME_FOLLOW.
    assert!(!codes(&f).contains(&Code::ClientNoCnameFollow));
    no_secrets(&f);
}

// ---------------------------------------------------------------------------- certbot

#[test]
fn certbot_rfc2136_does_not_follow() {
    let p = fx("certbot/renewal/www.example.com.conf");
    let w = one(&p);
    assert_eq!(w.client, ClientKind::Certbot);
    assert_eq!(w.method, "rfc2136");
    assert!(matches!(w.follows_cname, CnameFollow::No { .. }));
    assert_eq!(
        w.credential_files,
        vec![PathBuf::from("/etc/letsencrypt/rfc2136.ini")]
    );
    assert_eq!(w.server, None, "the absolute ini path does not exist here");
    let nm = name("www.example.com");
    let t = n("www-7f3a.acme.example.net");
    let f = client_findings(&w, &nm, Some(&t), None, Some(&n("example.com")));
    assert!(
        f[0].evidence.ends_with("www-7f3a.acme.example.net."),
        "{}",
        f[0].evidence
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .unwrap();
    assert!(
        nf.fix.contains(&format!("{}:13", p.display())),
        "{}",
        nf.fix
    );
    assert!(nf.fix.contains("--manual-auth-hook"));
    assert!(
        nf.evidence.contains("production zone example.com."),
        "{}",
        nf.evidence
    );
    // The CNAME is not delegated (points at itself / none): no no-follow finding.
    let f = client_findings(&w, &nm, Some(&nm.challenge), None, None);
    assert!(!codes(&f).contains(&Code::ClientNoCnameFollow));
}

#[test]
fn certbot_reads_relative_ini_and_checks_its_mode() {
    let d = tmpdir("certbot");
    let conf = std::fs::read_to_string(fx("certbot/renewal/www.example.com.conf"))
        .unwrap()
        .replace("/etc/letsencrypt/rfc2136.ini", "rfc2136.ini");
    let cp = d.join("www.example.com.conf");
    std::fs::write(&cp, conf).unwrap();
    let ini = d.join("rfc2136.ini");
    std::fs::copy(fx("certbot/rfc2136.ini"), &ini).unwrap();
    chmod(&ini, 0o644);
    let w = one(&cp);
    let s = w.server.as_ref().unwrap();
    assert_eq!(s.value, "192.0.2.53:5353");
    assert_eq!(s.line, Some(1));
    assert_eq!(s.file.as_deref(), Some(ini.as_path()));
    let nm = name("www.example.com");
    let f = client_findings(&w, &nm, None, None, None);
    let sm = f
        .iter()
        .find(|f| f.code == Code::SecretFileMode)
        .expect("mode finding");
    assert!(sm.evidence.contains("0644"), "{}", sm.evidence);
    assert_eq!(sm.fix, format!("chmod 600 {}", ini.display()));
    no_secrets(&f);
    chmod(&ini, 0o600);
    let f = client_findings(&w, &nm, None, None, None);
    assert!(!codes(&f).contains(&Code::SecretFileMode));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn certbot_manual_hook_is_unknown() {
    let w = one(&fx("certbot/renewal/api.example.com.conf"));
    assert_eq!(w.method, "manual-hook");
    assert!(matches!(w.follows_cname, CnameFollow::Unknown { .. }));
    let nm = name("api.example.com");
    let t = n("api-91c2.acme.example.net");
    let f = client_findings(&w, &nm, Some(&t), None, None);
    assert_eq!(codes(&f), vec![Code::ClientWhere]);
    assert!(f[0].evidence.contains("cannot tell"));
}

// ---------------------------------------------------------------------------- acme.sh

#[test]
fn acmesh_positional_domain_aliases_and_account_conf() {
    let p = fx("acmesh/www.example.com_ecc/www.example.com.conf");
    let ws = parse_client_config(&p).unwrap();
    assert_eq!(ws.len(), 3);
    assert!(ws
        .iter()
        .all(|w| w.client == ClientKind::AcmeSh && w.method == "rfc2136"));
    assert!(ws
        .iter()
        .all(|w| matches!(w.follows_cname, CnameFollow::No { .. })));
    let www = &ws[0];
    assert_eq!(www.domains, vec!["www.example.com"]);
    let a = www.alias.as_ref().unwrap();
    assert_eq!(
        (a.value.as_str(), a.line),
        ("www-7f3a.acme.example.net.", Some(9))
    );
    assert_eq!(
        ws[1].alias.as_ref().unwrap().value,
        n("api-91c2.acme.example.net")
    );
    assert_eq!(ws[2].alias, None, "`no` means no alias");
    let acct = fx("acmesh/www.example.com_ecc/../account.conf");
    let s = www.server.as_ref().unwrap();
    assert_eq!((s.value.as_str(), s.line), ("192.0.2.53:53", Some(5)));
    assert_eq!(s.file.as_deref(), Some(acct.as_path()));
    let z = www.zone.as_ref().unwrap();
    assert_eq!((z.value.as_str(), z.line), ("acme.example.net.", Some(8)));
    assert_eq!(
        www.credential_files,
        vec![PathBuf::from("/etc/acme.sh/acme-delegate.key")]
    );

    let nm = name("www.example.com");
    let tz = n("acme.example.net");
    let f = client_findings(
        www,
        &nm,
        Some(&n("www-7f3a.acme.example.net")),
        Some(&tz),
        None,
    );
    assert_eq!(codes(&f), vec![Code::ClientWhere], "{f:?}");
    assert!(f[0].evidence.contains("will find it"));
    // Alias pointing somewhere else.
    let f = client_findings(
        www,
        &nm,
        Some(&n("www-0000.acme.example.net")),
        Some(&tz),
        None,
    );
    assert!(codes(&f).contains(&Code::ClientWrongZone));
    // shop has no alias: writes at _acme-challenge.shop.example.com.
    let shop = name("shop.example.com");
    assert!(applies_to(&ws[2], &shop) && !applies_to(&ws[2], &nm));
    let f = client_findings(
        &ws[2],
        &shop,
        Some(&n("shop-1.acme.example.net")),
        Some(&tz),
        None,
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .unwrap();
    assert!(
        nf.fix.contains("--domain-alias shop-1.acme.example.net"),
        "{}",
        nf.fix
    );
}

#[test]
fn acmesh_challenge_alias_adds_prefix_and_acmedns_password_is_a_secret() {
    let d = tmpdir("acmesh");
    let p = d.join("example.com.conf");
    std::fs::write(
        &p,
        "Le_Domain='example.com'\nLe_Alt='*.example.com'\nLe_Webroot='dns_acmedns'\n\
         Le_ChallengeAlias='validation.example.net,'\nACMEDNS_BASE_URL='https://acme-dns.example.net'\n\
         ACMEDNS_PASSWORD='acmedns-password-fixture-value'\n",
    )
    .unwrap();
    chmod(&p, 0o640);
    let ws = parse_client_config(&p).unwrap();
    assert_eq!(ws.len(), 2);
    assert_eq!(ws[0].method, "acme-dns");
    assert_eq!(
        ws[1].alias.as_ref().unwrap().value,
        n("_acme-challenge.validation.example.net")
    );
    assert_eq!(ws[0].server.as_ref().unwrap().line, Some(5));
    assert_eq!(ws[0].credential_files, vec![p.clone()]);
    let f = client_findings(&ws[0], &name("example.com"), None, None, None);
    assert!(codes(&f).contains(&Code::SecretFileMode));
    assert!(f.iter().any(|f| f.evidence.contains("0640")));
    no_secrets(&f);
    let _ = std::fs::remove_dir_all(&d);
}

// ----------------------------------------------------------------------- cert-manager

#[test]
fn cert_manager_rfc2136_without_strategy() {
    let p = fx("cert-manager/clusterissuer-rfc2136.yaml");
    let w = one(&p);
    assert_eq!(w.client, ClientKind::CertManager);
    assert_eq!(w.method, "rfc2136");
    assert!(matches!(w.follows_cname, CnameFollow::No { .. }));
    let s = w.server.as_ref().unwrap();
    assert_eq!((s.value.as_str(), s.line), ("192.0.2.53:53", Some(18)));
    assert_eq!(w.domain_zones, vec!["example.com"]);
    assert!(applies_to(&w, &name("www.example.com")));
    assert!(!applies_to(&w, &name("www.example.org")));
    let nm = name("www.example.com");
    let f = client_findings(
        &w,
        &nm,
        Some(&n("www-7f3a.acme.example.net")),
        None,
        Some(&n("example.com")),
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .unwrap();
    assert!(nf.fix.contains("cnameStrategy: Follow"), "{}", nf.fix);
    assert!(
        nf.fix.contains(&format!("{}:16", p.display())),
        "{}",
        nf.fix
    );
}

#[test]
fn cert_manager_follow_and_acme_dns_secret() {
    let p = fx("cert-manager/clusterissuer-follow.yaml");
    let ws = parse_client_config(&p).unwrap();
    assert_eq!(ws.len(), 2);
    let (acme, rfc) = (&ws[0], &ws[1]);
    assert_eq!(acme.method, "acme-dns");
    assert_eq!(acme.domains, vec!["www.example.com"]);
    let fd = n("3f0e4b2c-1111-2222-3333-444455556666.acme-dns.example.net");
    assert_eq!(
        acme.acme_dns_accounts,
        vec![("www.example.com".into(), fd.clone())]
    );
    assert_eq!(acme.server.as_ref().unwrap().line, Some(20));
    assert_eq!(rfc.follows_cname, CnameFollow::Yes);
    assert_eq!(rfc.cname_setting.as_ref().unwrap().line, Some(24));
    assert_eq!(rfc.server.as_ref().unwrap().line, Some(26));
    // The file holds a Secret, so it is itself a credential file.
    assert_eq!(rfc.credential_files, vec![p.clone()]);
    let api = name("api.example.com");
    let f = client_findings(
        rfc,
        &api,
        Some(&n("api-91c2.acme.example.net")),
        Some(&n("acme.example.net")),
        None,
    );
    assert!(!codes(&f).contains(&Code::ClientNoCnameFollow));
    let f = client_findings(acme, &name("www.example.com"), Some(&fd), None, None);
    assert!(!codes(&f).contains(&Code::ClientWrongZone));
    no_secrets(&f);
}

// ------------------------------------------------------------------------------ Caddy

#[test]
fn caddyfile_sites() {
    let p = fx("caddy/Caddyfile");
    let ws = parse_client_config(&p).unwrap();
    assert_eq!(ws.len(), 3);
    assert!(ws.iter().all(|w| w.client == ClientKind::Caddy));
    let (api, www, shop) = (&ws[0], &ws[1], &ws[2]);
    assert_eq!(api.domains, vec!["api.example.com"]);
    assert_eq!(api.method, "rfc2136");
    let a = api.alias.as_ref().unwrap();
    assert_eq!(
        (a.value.as_str(), a.line),
        ("api-91c2.acme.example.net.", Some(13))
    );
    assert_eq!(api.server.as_ref().unwrap().line, Some(11));
    assert!(
        api.credential_files.is_empty(),
        "{{env.X}} is not a literal secret"
    );
    assert_eq!(www.method, "acme-dns");
    assert_eq!(
        www.server.as_ref().unwrap().value,
        "https://acme-dns.example.net"
    );
    assert_eq!(
        shop.credential_files,
        vec![p.clone()],
        "literal TSIG key in the Caddyfile"
    );

    let f = client_findings(
        api,
        &name("api.example.com"),
        Some(&n("api-91c2.acme.example.net")),
        None,
        None,
    );
    assert_eq!(codes(&f), vec![Code::ClientWhere]);
    let f = client_findings(
        shop,
        &name("shop.example.com"),
        Some(&n("shop-1.acme.example.net")),
        None,
        None,
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .unwrap();
    assert!(
        nf.fix
            .contains("dns_challenge_override_domain shop-1.acme.example.net"),
        "{}",
        nf.fix
    );
    assert!(
        nf.fix.contains(&format!("{}:32", p.display())),
        "{}",
        nf.fix
    );
    no_secrets(&f);
}

// ---------------------------------------------------------------------------- Traefik

#[test]
fn traefik_yaml_with_env() {
    let p = fx("traefik/traefik.yml");
    let w = one(&p);
    assert_eq!(w.client, ClientKind::Traefik);
    assert_eq!(w.method, "rfc2136");
    assert_eq!(w.follows_cname, CnameFollow::Yes);
    let s = w.server.as_ref().unwrap();
    assert_eq!(s.value, "192.0.2.53:53");
    assert_eq!(s.file.as_deref(), Some(fx("traefik/traefik.env").as_path()));
    assert_eq!(w.credential_files, vec![fx("traefik/traefik.env")]);
    assert_eq!(w.cname_setting.as_ref().unwrap().line, Some(11));
    let f = client_findings(
        &w,
        &name("www.example.com"),
        Some(&n("w.acme.example.net")),
        None,
        None,
    );
    assert!(!codes(&f).contains(&Code::ClientNoCnameFollow));
    no_secrets(&f);
}

#[test]
fn traefik_toml() {
    let w = one(&fx("traefik-toml/traefik.toml"));
    assert_eq!(w.client, ClientKind::Traefik);
    assert_eq!(w.method, "acme-dns");
    assert_eq!(w.cname_setting.as_ref().unwrap().line, Some(9));
    assert_eq!(w.follows_cname, CnameFollow::Yes);
}

#[test]
fn traefik_with_cname_support_disabled() {
    let d = tmpdir("traefik");
    std::fs::copy(fx("traefik/traefik.yml"), d.join("traefik.yml")).unwrap();
    std::fs::write(
        d.join(".env"),
        "RFC2136_NAMESERVER=192.0.2.53:53\nLEGO_DISABLE_CNAME_SUPPORT=true\n",
    )
    .unwrap();
    let w = one(&d.join("traefik.yml"));
    assert!(matches!(w.follows_cname, CnameFollow::No { .. }));
    let f = client_findings(
        &w,
        &name("www.example.com"),
        Some(&n("w.acme.example.net")),
        None,
        None,
    );
    let nf = f
        .iter()
        .find(|f| f.code == Code::ClientNoCnameFollow)
        .unwrap();
    assert!(
        nf.fix.contains(&format!("{}:2", d.join(".env").display())),
        "{}",
        nf.fix
    );
    let _ = std::fs::remove_dir_all(&d);
}

// ------------------------------------------------------------------- malformed input

fn expect_err(p: &Path, line: Option<usize>) -> ClientConfigError {
    let e = parse_client_config(p).expect_err("should fail");
    assert_eq!(e.file, p);
    assert_eq!(e.line, line, "{e}");
    let text = e.to_string();
    assert!(text.starts_with(&p.display().to_string()));
    for s in SECRETS {
        assert!(!text.contains(s));
    }
    e
}

#[test]
fn malformed_inputs_give_errors_not_panics() {
    let d = tmpdir("bad");
    // Missing file and directory.
    expect_err(&d.join("missing.conf"), None);
    let e = expect_err(&d, None);
    assert!(e.message.contains("directory"));
    // Empty.
    let p = d.join("empty.env");
    std::fs::write(&p, "  \n\n").unwrap();
    assert!(expect_err(&p, None).message.contains("empty"));
    // Binary garbage.
    let p = d.join("garbage.bin");
    std::fs::write(&p, b"line one\n\x00\xff\xfe\x01binary").unwrap();
    expect_err(&p, Some(2));
    let p = d.join("latin1.conf");
    std::fs::write(&p, b"ok\nLe_Domain='\xe9'\n").unwrap();
    expect_err(&p, Some(2));
    // Truncated YAML: the file stops inside a flow mapping.
    let full = std::fs::read_to_string(fx("cert-manager/clusterissuer-follow.yaml")).unwrap();
    let cut = &full[..full.find("accountSecretRef: {name: acme-dns").unwrap() + 25];
    let p = d.join("truncated.yaml");
    std::fs::write(&p, cut).unwrap();
    expect_err(&p, Some(21));
    // Truncated YAML cut at a line: the issuer has no solvers.
    let full = std::fs::read_to_string(fx("cert-manager/clusterissuer-rfc2136.yaml")).unwrap();
    let p = d.join("cut.yaml");
    std::fs::write(&p, &full[..full.find("    solvers:").unwrap()]).unwrap();
    assert!(
        parse_client_config(&p).is_ok_and(|v| v.is_empty()) || parse_client_config(&p).is_err()
    );
    // Bad indentation.
    let p = d.join("indent.yaml");
    std::fs::write(
        &p,
        "apiVersion: cert-manager.io/v1\nkind: Issuer\nspec:\n  acme:\n    a: 1\n   b: 2\n",
    )
    .unwrap();
    expect_err(&p, Some(6));
    // Bad env line.
    let p = d.join("bad.env");
    std::fs::write(
        &p,
        "RFC2136_NAMESERVER=192.0.2.53\nthis is not an assignment\n",
    )
    .unwrap();
    expect_err(&p, Some(2));
    let p = d.join("quote.env");
    std::fs::write(&p, "RFC2136_TSIG_SECRET='c2VjcmV0LXRzaWctZml4dHVyZQ==\n").unwrap();
    expect_err(&p, Some(1));
    // Caddyfile with an unclosed block.
    let p = d.join("Caddyfile");
    std::fs::write(
        &p,
        "example.com {\n\ttls {\n\t\tdns rfc2136 {\n\t\t\tserver 192.0.2.53:53\n\t}\n",
    )
    .unwrap();
    expect_err(&p, Some(2)); // the innermost block left open: tls
                             // Broken TOML.
    let p = d.join("traefik.toml");
    std::fs::write(
        &p,
        "[certificatesResolvers.x.acme.dnsChallenge]\nprovider = \"rfc2136\n",
    )
    .unwrap();
    expect_err(&p, Some(2));
    // Not any known client.
    let p = d.join("random.txt");
    std::fs::write(&p, "hello world\n").unwrap();
    expect_err(&p, None);
    // certbot without an authenticator.
    let p = d.join("x.conf");
    std::fs::write(&p, "[renewalparams]\naccount = x\n").unwrap();
    expect_err(&p, None);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn fuzzish_inputs_never_panic() {
    let d = tmpdir("fuzz");
    let seeds: Vec<String> = [
        "lego/.env",
        "certbot/renewal/www.example.com.conf",
        "acmesh/www.example.com_ecc/www.example.com.conf",
        "cert-manager/clusterissuer-follow.yaml",
        "cert-manager/clusterissuer-rfc2136.yaml",
        "caddy/Caddyfile",
        "traefik/traefik.yml",
        "traefik-toml/traefik.toml",
    ]
    .iter()
    .map(|r| std::fs::read_to_string(fx(r)).unwrap())
    .collect();
    let names = ["x.env", "x.conf", "x.yaml", "Caddyfile", "x.toml", "y.conf"];
    let mut k = 0u64;
    let (mut oks, mut errs) = (0usize, 0usize);
    for s in &seeds {
        let b = s.as_bytes();
        for cut in (0..b.len()).step_by(7) {
            k += 1;
            let mut text = String::from_utf8_lossy(&b[..cut]).to_string();
            if k.is_multiple_of(3) {
                text.push_str("\n  - {[\"'\n\t}}:");
            }
            let p = d.join(names[(k as usize) % names.len()]);
            std::fs::write(&p, &text).unwrap();
            let got = parse_client_config(&p);
            assert_eq!(got, parse_client_config(&p), "not deterministic: {text:?}");
            let lines = text.lines().count();
            match got {
                Ok(ws) => {
                    oks += 1;
                    for w in &ws {
                        fuzz_write_is_sane(w, &p, lines, &text);
                    }
                }
                Err(e) => {
                    errs += 1;
                    fuzz_error_is_sane(&e, &p, lines, &text);
                }
            }
        }
    }
    // The cuts reach both outcomes: parsed configs and errors.
    assert!(oks > 50 && errs > 50, "{oks} parsed, {errs} errors");
    let _ = std::fs::remove_dir_all(&d);
}

/// A parse of a cut config: it is about the file, cites only lines the file has, and its
/// findings carry evidence and a fix but never a secret.
fn fuzz_write_is_sane(w: &ClientWrite, p: &Path, lines: usize, text: &str) {
    assert_eq!(w.source, p, "{w:?}");
    assert!(!w.method.trim().is_empty(), "{w:?} from {text:?}");
    let cited = [
        w.server.as_ref().map(|l| (l.line, &l.file)),
        w.zone.as_ref().map(|l| (l.line, &l.file)),
        w.alias.as_ref().map(|l| (l.line, &l.file)),
        w.cname_setting.as_ref().map(|l| (l.line, &l.file)),
    ];
    for (line, file) in cited.into_iter().flatten() {
        if let (Some(l), None) = (line, file) {
            assert!(
                (1..=lines).contains(&l),
                "line {l} of {lines}: {w:?} from {text:?}"
            );
        }
    }
    let f = client_findings(
        w,
        &name("www.example.com"),
        Some(&n("t.acme.example.net")),
        None,
        None,
    );
    assert!(!f.is_empty(), "no finding for {w:?}");
    for x in &f {
        assert!(
            !x.evidence.trim().is_empty() && !x.fix.trim().is_empty(),
            "{x:?}"
        );
    }
    no_secrets(&f);
}

/// An error about a cut config: one line naming the file (and a line it has), no secret.
fn fuzz_error_is_sane(e: &ClientConfigError, p: &Path, lines: usize, text: &str) {
    assert_eq!(e.file, p, "{e}");
    if let Some(l) = e.line {
        assert!(
            (1..=lines.max(1)).contains(&l),
            "line {l} of {lines}: {e} for {text:?}"
        );
    }
    assert!(!e.message.trim().is_empty(), "empty message for {text:?}");
    let shown = e.to_string();
    assert!(shown.starts_with(&p.display().to_string()), "{shown}");
    assert!(!shown.contains('\n'), "more than one line: {shown:?}");
    for s in SECRETS {
        assert!(!shown.contains(s), "secret leaked: {shown}");
    }
}

#[test]
fn unreadable_finding_and_catalog() {
    let e = ClientConfigError {
        file: PathBuf::from("/etc/x.conf"),
        line: Some(3),
        message: "expected KEY=VALUE".into(),
    };
    assert_eq!(e.to_string(), "/etc/x.conf:3: expected KEY=VALUE");
    let f = unreadable_finding(&e, &name("www.example.com"));
    assert_eq!(f.code, Code::ClientConfigUnreadable);
    assert_eq!(f.severity, crate::findings::Severity::Error);
    assert!(f.evidence.contains("/etc/x.conf:3"));
    let w = one(&fx("lego/.env"));
    let f = client_findings(&w, &name("www.example.com"), None, None, None);
    assert_eq!(f[0].severity, crate::findings::Severity::Info);
}

#[test]
fn traefik_toml_spans_any_case_dotted_and_inline() {
    let d = tmpdir("traefik-toml");
    let p = d.join("traefik.toml");
    std::fs::write(
        &p,
        "# x\n[certificatesresolvers.zeta.acme]\nemail = \"a@example.com\"\n\
         dnschallenge.PROVIDER = \"rfc2136\"\n\n\
         [certificatesResolvers.alpha.acme]\ndnsChallenge = { provider = \"acme-dns\" }\n",
    )
    .unwrap();
    let ws = parse_client_config(&p).unwrap();
    let got: Vec<(&str, Option<usize>)> = ws
        .iter()
        .map(|w| (w.method.as_str(), w.cname_setting.as_ref().unwrap().line))
        .collect();
    assert_eq!(got, vec![("rfc2136", Some(4)), ("acme-dns", Some(7))]);
    let _ = std::fs::remove_dir_all(&d);
}

// ---------------------------------------------------------------------------- side files

/// A config that names a FIFO (or `/dev/zero`) as its credentials, `account.conf` or
/// `traefik.env` must not hang or exhaust the reader: only regular files are read.
#[cfg(unix)]
#[test]
fn side_files_that_are_not_regular_files_are_skipped() {
    let d = tmpdir("fifo");
    let fifo = d.join("creds.ini");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir_all(d.join("traefik")).unwrap();
    std::process::Command::new("mkfifo")
        .arg(d.join("account.conf"))
        .status()
        .unwrap();
    std::process::Command::new("mkfifo")
        .arg(d.join("traefik/traefik.env"))
        .status()
        .unwrap();
    let certbot = d.join("www.example.com.conf");
    std::fs::write(
        &certbot,
        format!(
            "[renewalparams]\nauthenticator = dns-rfc2136\ndns_rfc2136_credentials = {}\n",
            fifo.display()
        ),
    )
    .unwrap();
    let zero = d.join("zero.conf");
    std::fs::write(
        &zero,
        "[renewalparams]\nauthenticator = dns-rfc2136\ndns_rfc2136_credentials = /dev/zero\n",
    )
    .unwrap();
    let acmesh = d.join("api.example.com.conf");
    std::fs::write(
        &acmesh,
        "Le_Domain='api.example.com'\nLe_Webroot='dns_nsupdate'\n",
    )
    .unwrap();
    let traefik = d.join("traefik/traefik.toml");
    std::fs::write(
        &traefik,
        "[certificatesResolvers.le.acme.dnsChallenge]\nprovider = \"rfc2136\"\n",
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let paths = vec![certbot, zero, acmesh, traefik];
    std::thread::spawn(move || {
        for p in paths {
            let r = parse_client_config(&p).map(|ws| ws.len());
            let _ = tx.send((p, r));
        }
    });
    for _ in 0..4 {
        let (p, r) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a reader hung on a FIFO or /dev/zero");
        assert!(r.is_ok(), "{}: {r:?}", p.display());
    }
    let _ = std::fs::remove_dir_all(&d);
}

//! Snapshots of every client x zone kind it supports (secrets masked), and every output
//! parsed back with a real parser for its format, keys checked against backends.md.

use super::testdata::*;
use super::*;
use crate::zones::rfc2136::TsigAlgorithm;
use serde_json::Value;

/// The output as text, secrets masked: what a snapshot (and a reviewer) sees.
fn render(o: &ClientOutput) -> String {
    let mut s = String::new();
    for f in &o.files {
        s.push_str(&format!("=== {f}\n{}", f.masked()));
        if !f.contents.ends_with('\n') {
            s.push('\n');
        }
    }
    s.push_str("=== next commands\n");
    for c in &o.next_commands {
        s.push_str(&format!("$ {c}\n"));
    }
    s.push_str("=== notes\n");
    for n in &o.notes {
        s.push_str(&format!("- {n}\n"));
    }
    for f in &o.findings {
        s.push_str(&format!("! {} {}\n", f.code, f.name));
    }
    s
}

fn out(c: Client, plan: &Plan) -> ClientOutput {
    write(c, plan, &opts()).unwrap_or_else(|e| panic!("{c}: {e}"))
}

fn file<'a>(o: &'a ClientOutput, suffix: &str) -> &'a PlannedFile {
    o.files
        .iter()
        .find(|f| f.path.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix}: {:?}", o.files))
}

fn env(f: &PlannedFile) -> BTreeMap<String, String> {
    dotenvy::from_read_iter(f.contents.as_bytes())
        .map(|r| r.expect("a dotenv line"))
        .collect()
}

fn yaml(f: &PlannedFile) -> Value {
    serde_saphyr::from_str(&f.contents).unwrap_or_else(|e| panic!("{}: {e}", f.path.display()))
}

fn words(cmd: &str) -> Vec<String> {
    shlex::split(cmd).unwrap_or_else(|| panic!("not a shell line: {cmd}"))
}

fn supported() -> Vec<(Client, &'static str, Plan)> {
    let mut v = Vec::new();
    for c in Client::ALL {
        v.push((c, "acme-dns", acme_dns_plan()));
        if c != Client::CertMate {
            v.push((c, "rfc2136", rfc2136_plan()));
        }
        if matches!(c, Client::Lego | Client::Traefik) {
            v.push((c, "provider", provider_plan()));
        }
        if matches!(c, Client::Lego | Client::AcmeSh | Client::Certbot) {
            v.push((c, "pdns", pdns_plan()));
        }
    }
    v
}

#[test]
fn snapshots_of_every_client_and_zone_kind() {
    for (c, kind, plan) in supported() {
        let o = out(c, &plan);
        insta::assert_snapshot!(format!("{}-{kind}", c.name().replace('.', "")), render(&o));
    }
}

#[test]
fn secrets_only_in_secret_files_and_never_in_commands_notes_or_views() {
    let secrets: Vec<&str> = PASSWORDS
        .iter()
        .copied()
        .chain([TSIG_B64, PDNS_KEY])
        .collect();
    for (c, kind, plan) in supported() {
        let o = out(c, &plan);
        let views = [
            render(&o),
            format!("{o:?}"),
            serde_json::to_string(&o).unwrap(),
            o.next_commands.join("\n"),
            o.notes.join("\n"),
        ];
        for v in &views {
            for s in &secrets {
                assert!(!v.contains(s), "{c}/{kind}: a secret leaks into {v}");
            }
        }
        for f in &o.files {
            let holds = secrets.iter().any(|s| f.contents.contains(s));
            assert_eq!(holds, f.secret, "{c}/{kind}: {f}");
            if holds {
                assert_eq!(f.mode, 0o600, "{c}/{kind}: {f}");
            }
        }
    }
}

#[test]
fn private_zone_skips_the_clients_own_propagation_check() {
    let mut o = opts();
    o.private_zone = true;
    let l = write(Client::Lego, &rfc2136_plan(), &o).unwrap();
    assert!(words(&l.next_commands[0]).contains(&"--dns.disable-cp".to_string()));
    let a = write(Client::AcmeSh, &rfc2136_plan(), &o).unwrap();
    assert!(a.next_commands[0].contains("--dnssleep 60"));
    assert!(!out(Client::Lego, &rfc2136_plan()).next_commands[0].contains("disable-cp"));
}

#[test]
fn out_dir_puts_every_file_under_it() {
    let mut o = opts();
    o.out = Some("/tmp/outdir".into());
    o.root = true;
    for (c, kind, plan) in supported() {
        let r = write(c, &plan, &o).unwrap();
        assert!(!r.files.is_empty() || kind == "provider", "{c}/{kind}");
        for f in &r.files {
            assert!(f.path.starts_with("/tmp/outdir"), "{c}/{kind}: {f}");
        }
    }
}

#[test]
fn default_places_follow_each_client() {
    let plan = rfc2136_plan();
    assert!(file(&out(Client::Lego, &plan), "rfc2136.env")
        .path
        .starts_with("/srv/site/.lego"));
    let user = out(Client::Certbot, &plan);
    assert_eq!(
        user.files[0].path,
        PathBuf::from("/home/user/.certbot/acme-delegate.ini")
    );
    let mut root = opts();
    root.root = true;
    let r = write(Client::Certbot, &plan, &root).unwrap();
    assert_eq!(
        r.files[0].path,
        PathBuf::from("/etc/letsencrypt/acme-delegate.ini")
    );
    let ini = ini::Ini::load_from_str_noescape(&r.files[0].contents).unwrap();
    assert_eq!(
        ini.general_section().get("config-dir"),
        Some("/etc/letsencrypt")
    );
    assert!(file(&out(Client::AcmeSh, &plan), "nsupdate.env")
        .path
        .starts_with("/home/user/.acme.sh"));
}

#[test]
fn unsupported_combinations_name_the_way_out() {
    let cases = [
        (Client::Certbot, provider_plan(), "lego"),
        (Client::AcmeSh, provider_plan(), "lego"),
        (
            Client::CertManager,
            provider_plan(),
            "cnameStrategy: Follow",
        ),
        (
            Client::Caddy,
            provider_plan(),
            "xcaddy build --with github.com/caddy-dns/cloudflare",
        ),
        (Client::CertMate, provider_plan(), "lego"),
        (Client::CertMate, rfc2136_plan(), "acme.sh (--domain-alias)"),
    ];
    for (c, plan, way) in cases {
        match write(c, &plan, &opts()) {
            Err(WriteError::Unsupported {
                client, way_out, ..
            }) => {
                assert_eq!(client, c);
                assert!(way_out.contains(way), "{c}: {way_out}");
            }
            other => panic!(
                "{c}/{}: expected Unsupported, got {other:?}",
                plan.zone.kind()
            ),
        }
    }
    for c in Client::ALL {
        let e = write(c, &hosted_plan(), &opts()).unwrap_err();
        assert!(
            matches!(e, WriteError::Unsupported { kind: "hosted", .. }),
            "{c}: {e}"
        );
    }
}

#[test]
fn missing_secrets_are_typed_errors() {
    let mut o = opts();
    o.secrets.accounts.remove("example.com");
    for c in Client::ALL.into_iter().filter(|c| *c != Client::Certbot) {
        let e = write(c, &acme_dns_plan(), &o).unwrap_err();
        assert!(
            matches!(&e, WriteError::Missing { what, .. } if what.contains("example.com")),
            "{c}: {e}"
        );
    }
    o.secrets.tsig = None;
    for c in [
        Client::Lego,
        Client::AcmeSh,
        Client::CertManager,
        Client::Caddy,
        Client::Traefik,
    ] {
        assert!(
            matches!(
                write(c, &rfc2136_plan(), &o),
                Err(WriteError::Missing { .. })
            ),
            "{c}"
        );
    }
}

#[test]
fn cert_manager_refuses_sha384() {
    let mut o = opts();
    o.secrets.tsig = Some(tsig_key(TsigAlgorithm::HmacSha384));
    let e = write(Client::CertManager, &rfc2136_plan(), &o).unwrap_err();
    assert!(e.to_string().contains("hmac-sha256"), "{e}");
}

#[test]
fn two_values_warning_when_accounts_are_shared() {
    assert!(out(Client::Lego, &acme_dns_plan()).findings.is_empty());
    let mut o = opts();
    let shared = o.secrets.accounts["example.com"].clone();
    o.secrets.accounts.insert("www.example.com".into(), shared);
    let r = write(Client::Lego, &acme_dns_plan(), &o).unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].code, "ACMEDNS_TWO_VALUES");
    assert!(r.findings[0].name.contains("www.example.com"));
}

// --- parsed back, keys as in backends.md -----------------------------------------------

#[test]
fn lego_env_and_account_file() {
    let o = out(Client::Lego, &rfc2136_plan());
    let e = env(file(&o, "rfc2136.env"));
    assert_eq!(e["RFC2136_NAMESERVER"], "192.0.2.53:53");
    assert_eq!(e["RFC2136_TSIG_KEY"], "acme-delegate.");
    assert_eq!(e["RFC2136_TSIG_ALGORITHM"], "hmac-sha256.");
    assert_eq!(e["RFC2136_TSIG_SECRET"], TSIG_B64);
    assert!(!e.contains_key("LEGO_DISABLE_CNAME_SUPPORT"));
    let cmd = &o.next_commands[0];
    let w = words(cmd);
    assert!(w.windows(2).any(|p| p == ["--dns", "rfc2136"]), "{cmd}");
    assert!(
        w.windows(2).any(|p| p == ["--domains", "*.example.com"]),
        "{cmd}"
    );
    assert_eq!(w.last().map(String::as_str), Some("run"));

    let o = out(Client::Lego, &acme_dns_plan());
    let e = env(file(&o, "acme-dns.env"));
    assert_eq!(e["ACME_DNS_API_BASE"], API);
    let store = file(&o, "acme-dns-accounts.json");
    assert_eq!(e["ACME_DNS_STORAGE_PATH"], store.path.to_string_lossy());
    let v: Value = serde_json::from_str(&store.contents).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["example.com", "www.example.com"]);
    for k in [
        "fulldomain",
        "subdomain",
        "username",
        "password",
        "server_url",
    ] {
        assert!(v["www.example.com"][k].is_string(), "{k}");
    }
    assert_eq!(v["www.example.com"]["password"], PASSWORDS[0]);
    assert_eq!(v["www.example.com"]["server_url"], API);
    assert!(words(&o.next_commands[0])
        .windows(2)
        .any(|p| p == ["--dns", "acme-dns"]));
}

#[test]
fn certbot_ini_runs_our_hooks() {
    for plan in [rfc2136_plan(), acme_dns_plan()] {
        let o = out(Client::Certbot, &plan);
        let ini = ini::Ini::load_from_str_noescape(&o.files[0].contents).unwrap();
        let g = ini.general_section();
        assert_eq!(g.get("authenticator"), Some("manual"));
        assert_eq!(g.get("preferred-challenges"), Some("dns"));
        assert_eq!(g.get("email"), Some("ops@example.com"));
        assert_eq!(g.get("server"), Some(DEFAULT_SERVER));
        for (key, which) in [
            ("manual-auth-hook", "certbot-auth"),
            ("manual-cleanup-hook", "certbot-cleanup"),
        ] {
            assert_eq!(
                words(g.get(key).unwrap()),
                [
                    "/usr/local/bin/acme-delegate",
                    "--plan",
                    "/home/user/.config/acme-delegate/plan.toml",
                    "hook",
                    which
                ]
            );
        }
        assert!(!o.files[0].contents.contains("dns-rfc2136"));
        let w = words(&o.next_commands[0]);
        assert_eq!(
            &w[..4],
            [
                "certbot",
                "certonly",
                "-c",
                "/home/user/.certbot/acme-delegate.ini"
            ]
        );
    }
    // acme-dns: one certificate per account (apex + wildcard together).
    let o = out(Client::Certbot, &acme_dns_plan());
    assert_eq!(o.next_commands.len(), 2);
    assert!(o.next_commands[1].contains("-d example.com -d '*.example.com'"));
}

#[test]
fn acmesh_env_key_file_and_domain_alias() {
    let plan = rfc2136_plan();
    let o = out(Client::AcmeSh, &plan);
    let e = env(file(&o, "nsupdate.env"));
    assert_eq!(e["NSUPDATE_SERVER"], "192.0.2.53");
    assert_eq!(e["NSUPDATE_SERVER_PORT"], "53");
    assert_eq!(e["NSUPDATE_ZONE"], "acme.example.net");
    let key = file(&o, KEY_FILE_NAME);
    assert_eq!(e["NSUPDATE_KEY"], key.path.to_string_lossy());
    let parsed = crate::zones::rfc2136::TsigKey::from_text(&key.contents, "key").unwrap();
    assert_eq!(parsed, tsig_key(TsigAlgorithm::HmacSha256));
    let w = words(&o.next_commands[0]);
    assert!(!w.contains(&"--challenge-alias".to_string()));
    for p in &plan.names {
        let i = w.iter().position(|x| x == &p.name).unwrap();
        assert_eq!(w[i - 1], "-d");
        assert_eq!(w[i + 1], "--domain-alias");
        assert_eq!(w[i + 2], p.target.without_dot());
    }
    let o = out(Client::AcmeSh, &acme_dns_plan());
    let e = env(file(&o, "acmedns-www.example.com.env"));
    assert_eq!(e["ACMEDNS_BASE_URL"], API);
    assert_eq!(e["ACMEDNS_PASSWORD"], PASSWORDS[0]);
    assert_eq!(
        e["ACMEDNS_SUBDOMAIN"],
        "3f0e8a51-5b6c-4d7e-9f10-2a3b4c5d6e7f"
    );
    assert!(e.contains_key("ACMEDNS_USERNAME"));
    assert!(o
        .next_commands
        .iter()
        .all(|c| c.contains("--dns dns_acmedns")));
    // acme.sh never follows the CNAME: every name gets the account's fulldomain as alias.
    let plan = acme_dns_plan();
    for p in &plan.names {
        let c = o
            .next_commands
            .iter()
            .map(|c| words(c))
            .find(|w| w.contains(&p.name))
            .unwrap();
        let i = c.iter().position(|x| x == &p.name).unwrap();
        assert_eq!(c[i + 1], "--domain-alias", "{}", p.name);
        assert_eq!(c[i + 2], p.target.without_dot());
    }
    assert!(o.notes.iter().any(|n| n.contains("--dnssleep")));
    let mut private = opts();
    private.private_zone = true;
    let a = write(Client::AcmeSh, &plan, &private).unwrap();
    assert!(a.next_commands.iter().all(|c| c.contains("--dnssleep 60")));
}

const KEY_FILE_NAME: &str = super::acmesh::KEY_FILE;

#[test]
fn cert_manager_manifests() {
    let o = out(Client::CertManager, &acme_dns_plan());
    let issuer = yaml(file(&o, "clusterissuer.yaml"));
    assert_eq!(issuer["kind"], "ClusterIssuer");
    assert_eq!(issuer["apiVersion"], "cert-manager.io/v1");
    let dns01 = &issuer["spec"]["acme"]["solvers"][0]["dns01"];
    assert_eq!(dns01["cnameStrategy"], "Follow");
    assert_eq!(dns01["acmeDNS"]["host"], API);
    assert_eq!(dns01["acmeDNS"]["accountSecretRef"]["key"], "acmedns.json");
    let secret = yaml(file(&o, "secret.yaml"));
    assert_eq!(secret["metadata"]["namespace"], "cert-manager");
    assert_eq!(
        secret["metadata"]["name"],
        dns01["acmeDNS"]["accountSecretRef"]["name"]
    );
    let accts: Value =
        serde_json::from_str(secret["stringData"]["acmedns.json"].as_str().unwrap()).unwrap();
    for k in ["username", "password", "fulldomain", "subdomain"] {
        assert!(accts["example.com"][k].is_string(), "{k}");
    }
    assert_eq!(accts["example.com"]["password"], PASSWORDS[1]);
    let cert = yaml(file(&o, "certificate.yaml"));
    assert_eq!(
        cert["spec"]["issuerRef"]["name"],
        issuer["metadata"]["name"]
    );
    assert_eq!(cert["spec"]["dnsNames"][2], "*.example.com");

    let o = out(Client::CertManager, &rfc2136_plan());
    let issuer = yaml(file(&o, "clusterissuer.yaml"));
    let r = &issuer["spec"]["acme"]["solvers"][0]["dns01"]["rfc2136"];
    assert_eq!(
        issuer["spec"]["acme"]["solvers"][0]["dns01"]["cnameStrategy"],
        "Follow"
    );
    assert_eq!(r["nameserver"], "192.0.2.53:53");
    assert_eq!(r["tsigKeyName"], "acme-delegate");
    assert_eq!(r["tsigAlgorithm"], "HMACSHA256");
    let secret = yaml(file(&o, "secret.yaml"));
    let key = r["tsigSecretSecretRef"]["key"].as_str().unwrap();
    assert_eq!(secret["stringData"][key], TSIG_B64);
}

#[test]
fn caddy_blocks_and_env() {
    let o = out(Client::Caddy, &rfc2136_plan());
    let cf = &file(&o, ".Caddyfile").contents;
    let e = env(file(&o, ".env"));
    assert_eq!(e[super::caddy::TSIG_VAR], TSIG_B64);
    assert!(!cf.contains(TSIG_B64));
    for k in [
        "dns rfc2136 {",
        "key_name acme-delegate",
        "key_alg hmac-sha256",
        "server 192.0.2.53:53",
    ] {
        assert!(cf.contains(k), "{k}\n{cf}");
    }
    let plan = rfc2136_plan();
    for p in &plan.names {
        let line = format!("dns_challenge_override_domain {}", p.target.without_dot());
        assert!(cf.contains(&line), "{line}\n{cf}");
    }
    assert!(cf.contains("\nexample.com, *.example.com {"), "{cf}");
    assert_eq!(cf.matches('{').count(), cf.matches('}').count());
    let o = out(Client::Caddy, &acme_dns_plan());
    let cf = &file(&o, ".Caddyfile").contents;
    assert!(!cf.contains("dns_challenge_override_domain"));
    for k in [
        "dns acmedns {",
        "username ",
        "password {env.",
        "subdomain ",
        "server_url https://acme-dns.example.net",
    ] {
        assert!(cf.contains(k), "{k}\n{cf}");
    }
    let e = env(file(&o, ".env"));
    assert_eq!(e.len(), 2);
    assert!(e.values().any(|v| v == PASSWORDS[0]));
}

#[test]
fn traefik_static_config_and_env() {
    for (plan, provider) in [(acme_dns_plan(), "acme-dns"), (rfc2136_plan(), "rfc2136")] {
        let o = out(Client::Traefik, &plan);
        let v = yaml(file(&o, "traefik.yml"));
        let acme = &v["certificatesResolvers"]["acme-delegate"]["acme"];
        assert_eq!(acme["dnsChallenge"]["provider"], provider);
        assert_eq!(acme["caServer"], DEFAULT_SERVER);
        assert_eq!(acme["email"], "ops@example.com");
        let e = env(file(&o, "traefik.env"));
        match provider {
            "acme-dns" => {
                assert_eq!(e["ACME_DNS_API_BASE"], API);
                assert!(e["ACME_DNS_STORAGE_PATH"].ends_with("acme-dns-accounts.json"));
            }
            _ => {
                assert_eq!(e["RFC2136_TSIG_SECRET"], TSIG_B64);
                assert_eq!(e["RFC2136_TSIG_ALGORITHM"], "hmac-sha256.");
            }
        }
        assert!(!e.contains_key("LEGO_DISABLE_CNAME_SUPPORT"));
    }
}

#[test]
fn certmate_requests() {
    let o = out(Client::CertMate, &acme_dns_plan());
    let a: Value =
        serde_json::from_str(&file(&o, "certmate-account-acme-dns-www-example-com.json").contents)
            .unwrap();
    assert_eq!(a["account_id"], "www.example.com");
    for k in ["api_url", "username", "password", "subdomain"] {
        assert!(a["config"][k].is_string(), "{k}");
    }
    let c: Value =
        serde_json::from_str(&file(&o, "certmate-create-www-example-com.json").contents).unwrap();
    assert_eq!(c["dns_provider"], "acme-dns");
    assert_eq!(c["domain"], "www.example.com");
    assert_eq!(c["domain_alias"], a["config"]["subdomain"]);
    assert_eq!(c["account_id"], a["account_id"]);

    // RFC 2136 works when the target starts with _acme-challenge.
    let mut plan = rfc2136_plan();
    for p in &mut plan.names {
        p.target = p.target.prepend("_acme-challenge");
    }
    let o = out(Client::CertMate, &plan);
    let a: Value =
        serde_json::from_str(&file(&o, "certmate-account-rfc2136.json").contents).unwrap();
    for k in ["nameserver", "tsig_key", "tsig_secret", "tsig_algorithm"] {
        assert!(a["config"][k].is_string(), "{k}");
    }
    assert_eq!(a["config"]["tsig_algorithm"], "HMAC-SHA256");
    let c: Value =
        serde_json::from_str(&file(&o, "certmate-create-www-example-com.json").contents).unwrap();
    assert_eq!(
        format!("_acme-challenge.{}.", c["domain_alias"].as_str().unwrap()),
        plan.names[0].target.as_str()
    );
}

#[test]
fn env_values_survive_shell_and_dotenv_quoting() {
    let text = env_file(
        "t",
        &[
            ("A", "plain".into()),
            ("B", "with space and 'quote'".into()),
            ("C", "$HOME `x` \"y\"".into()),
        ],
    )
    .unwrap();
    let f = PlannedFile::public("x".into(), text.clone());
    let e = env(&f);
    assert_eq!(e["A"], "plain");
    assert_eq!(e["B"], "with space and 'quote'");
    assert_eq!(e["C"], "$HOME `x` \"y\"");
    assert!(env_file("t", &[("A", "two\nlines".into())]).is_err());
}

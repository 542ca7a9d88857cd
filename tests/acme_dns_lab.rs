//! acme-dns as a validation zone, against the acme-dns fixture
//! (tests/fixtures/acme_dns_server.py) that publishes through the lab's knot
//! (127.0.0.12, zone acme.lab.) by RFC 2136, so every lookup here is real DNS.
//! The fixture is proven honest by a real third-party acme-dns client obtaining a
//! certificate from pebble through it: certbot with the certbot-dns-acmedns plugin (Debian's
//! lego 4.9.1 is built without its acme-dns provider; that test is kept, ignored, with the
//! reason).
//!
//! Run: `tests/lab/hermetic.sh cargo test --offline --test acme_dns_lab`.

mod common;

use acme_delegate::model::name::parse_all;
use acme_delegate::zones::acme_dns::{
    diagnose_forbidden, plan_accounts, Account, AccountStore, AcmeDnsApi, AcmeDnsError,
    ForbiddenCause, Password, UpdateOutcome,
};
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every lab test runs under this bound (the lego one has its own, larger one).
async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the test did not finish within 60 s");
}

/// The fixture, stopped with SIGTERM when dropped.
struct Fixture {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Fixture {
    fn start() -> Fixture {
        let tsig = common::run_dir().join("tsig.kdig");
        Fixture::start_with(&[
            "--zone",
            "acme.lab.",
            "--dns-server",
            "127.0.0.12",
            "--tsig-file",
            tsig.to_str().unwrap(),
        ])
    }

    /// The fixture with `--listen 127.0.0.1:0` and these arguments.
    fn start_with(args: &[&str]) -> Fixture {
        let run = common::run_dir();
        let fixture =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/acme_dns_server.py");
        let logs = run.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = logs.join(format!(
            "acme-dns-fixture-{:x}.log",
            common::rand_suffix() ^ seq()
        ));
        let mut child = Command::new("/usr/bin/python3")
            .arg(&fixture)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the acme-dns fixture with /usr/bin/python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the fixture did not print `ready` within 15 s; log: {}",
                    read(&log)
                );
            }
        };
        let url = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| {
                panic!(
                    "fixture said {line:?}, not `ready URL`; log: {}",
                    read(&log)
                )
            })
            .to_string();
        Fixture { child, url, log }
    }

    fn api(&self) -> AcmeDnsApi {
        AcmeDnsApi::new(&self.url)
            .unwrap()
            .with_timeout(Duration::from_secs(10))
            .unwrap()
    }

    /// SIGTERM, then wait up to 5 s: the exit status (None: it had to be killed).
    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Some(st);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn read(p: &PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A fresh 43-character base64url value (the size of a DNS-01 digest).
fn token() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..43)
        .map(|_| A[rand::random::<u8>() as usize % 64] as char)
        .collect()
}

fn temp_store(tag: &str) -> (PathBuf, AccountStore) {
    let dir = common::run_dir().join(format!(
        "acme-dns-store-{tag}-{:x}",
        common::rand_suffix() ^ seq()
    ));
    let store = AccountStore::open(Some(&dir)).unwrap();
    (dir, store)
}

/// `kdig @127.0.0.12 +norec +tcp +short TXT NAME`: the values, sorted.
fn served_txt(name: &str) -> Vec<String> {
    let out = common::sh(&format!(
        "kdig @127.0.0.12 +norec +tcp +short +time=3 +retry=0 TXT {name}"
    ));
    assert!(
        out.status.success(),
        "kdig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_matches('"').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_two_newest_values_are_served() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let fx = Fixture::start();
        let api = fx.api();
        api.health().await.expect("/health");
        let acct = api.register(&["127.0.0.0/8".to_string()]).await.unwrap();
        assert!(acct.fulldomain.ends_with(".acme.lab"), "{acct:?}");
        assert_eq!(acct.fulldomain, format!("{}.acme.lab", acct.subdomain));
        assert_eq!(acct.allowfrom, vec!["127.0.0.0/8"]);
        assert_eq!(acct.server_url.as_deref(), Some(fx.url.as_str()));
        let fqdn = format!("{}.", acct.fulldomain);

        let (a, b, c) = (token(), token(), token());
        for t in [&a, &b] {
            let r = api.update(&acct, t).await.unwrap();
            assert_eq!(r, UpdateOutcome::Updated { txt: t.clone() });
        }
        assert_eq!(served_txt(&fqdn), sorted(vec![a.clone(), b.clone()]));

        let r = api.update(&acct, &c).await.unwrap();
        assert!(r.is_updated(), "{r}");
        assert_eq!(
            served_txt(&fqdn),
            sorted(vec![b.clone(), c.clone()]),
            "the oldest value {a} must be gone"
        );

        // A value acme-dns refuses is a value, not an error, and changes nothing.
        let r = api.update(&acct, "too-short").await.unwrap();
        assert_eq!(r, UpdateOutcome::BadTxt);
        assert!(r.to_string().contains("43"), "{r}");
        assert_eq!(served_txt(&fqdn), sorted(vec![b, c]));
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_password_is_diagnosed_as_bad_credentials() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let fx = Fixture::start();
        let api = fx.api();
        let (dir, store) = temp_store("badpw");
        let names = parse_all(&["www.example.test"]).unwrap();
        let plan = plan_accounts(&names);
        let (stored, fresh) = store.ensure(&api, &plan[0].key, &[]).await.unwrap();
        assert!(fresh);
        let (again, fresh) = store.ensure(&api, &plan[0].key, &[]).await.unwrap();
        assert!(!fresh, "the registration must be reused");
        assert_eq!(again, stored);

        let mut used = stored.clone();
        used.password = Password::new("x".repeat(40));
        let r = api.update(&used, &token()).await.unwrap();
        assert_eq!(r, UpdateOutcome::Forbidden);

        let cause = diagnose_forbidden(&api, &used, Some(&stored)).await;
        assert_eq!(
            cause,
            ForbiddenCause::CredentialsDiffer {
                fields: vec!["password"]
            }
        );
        assert_eq!(cause.code(), "bad_credentials");
        let text = cause.to_string();
        assert!(text.contains("bad credentials"), "{text}");
        assert!(
            !text.contains(stored.password.expose()) && !text.contains("xxxx"),
            "{text}"
        );
        assert!(!format!("{cause:?} {used:?}").contains("xxxx"));

        // The stored password itself wrong (the server forgot the account): everything
        // local matches, so the server rejects the credentials.
        let cause = diagnose_forbidden(&api, &used, Some(&used)).await;
        assert_eq!(cause, ForbiddenCause::CredentialsRejected);
        assert!(cause.to_string().contains("bad credentials"), "{cause}");

        // The right credentials still work.
        assert!(api.update(&stored, &token()).await.unwrap().is_updated());
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_egress_address_outside_allowfrom_is_diagnosed() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let fx = Fixture::start();
        let api = fx.api();
        // 10.0.0.0/8 is only a CIDR string here: nothing there is ever contacted.
        let acct = api.register(&["10.0.0.0/8".to_string()]).await.unwrap();
        assert_eq!(acct.allowfrom, vec!["10.0.0.0/8"]);
        let r = api.update(&acct, &token()).await.unwrap();
        assert_eq!(r, UpdateOutcome::Forbidden);

        assert_eq!(
            api.egress_address().await.unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let cause = diagnose_forbidden(&api, &acct, Some(&acct)).await;
        assert_eq!(
            cause,
            ForbiddenCause::EgressOutsideAllowfrom {
                egress: IpAddr::V4(Ipv4Addr::LOCALHOST),
                allowfrom: vec!["10.0.0.0/8".into()],
            }
        );
        let text = cause.to_string();
        assert!(
            text.contains("127.0.0.1") && text.contains("10.0.0.0/8"),
            "{text}"
        );
        assert!(text.contains("outside"), "{text}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subdomain_mismatch_is_diagnosed() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let fx = Fixture::start();
        let api = fx.api();
        let one = api.register(&[]).await.unwrap();
        let other = api.register(&[]).await.unwrap();
        let mut used = one.clone();
        used.subdomain = other.subdomain.clone();
        assert_eq!(
            api.update(&used, &token()).await.unwrap(),
            UpdateOutcome::Forbidden
        );
        let cause = diagnose_forbidden(&api, &used, Some(&one)).await;
        assert_eq!(
            cause,
            ForbiddenCause::SubdomainMismatch {
                sent: other.subdomain.clone(),
                account: one.subdomain.clone()
            }
        );
        // Without a stored account, the fulldomain's first label is the reference.
        let cause = diagnose_forbidden(&api, &used, None).await;
        assert!(
            matches!(cause, ForbiddenCause::SubdomainMismatch { .. }),
            "{cause}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_stores_nothing_and_is_diagnosed_as_unhealthy() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let mut fx = Fixture::start();
        let api = fx.api();
        let acct = api.register(&[]).await.unwrap();
        let status = fx
            .terminate()
            .expect("the fixture must exit on SIGTERM within 5 s");
        assert!(
            status.success(),
            "fixture exit status {status:?}; log: {}",
            read(&fx.log)
        );

        let (dir, store) = temp_store("down");
        let e = store
            .ensure(&api, "down.example.test", &[])
            .await
            .unwrap_err();
        assert!(matches!(e, AcmeDnsError::Unreachable { .. }), "{e}");
        assert!(e.to_string().contains(&fx.url), "{e}");
        assert!(
            !store.accounts_path().exists(),
            "a failed registration stored something"
        );
        assert!(!store.clientstorage_path().exists());

        let cause = diagnose_forbidden(&api, &acct, Some(&acct)).await;
        assert!(
            matches!(cause, ForbiddenCause::ServerUnhealthy { .. }),
            "{cause}"
        );
        assert!(cause.to_string().contains("/health"), "{cause}");
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await
}

/// A tiny HTTP server that answers every request (at most `n`) with `response`.
fn canned_server(response: &'static str, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // read the head, then the body by Content-Length
            while let Ok(k) = s.read(&mut chunk) {
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let _ = s.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_urls_and_garbage_answers_are_clear_errors() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        common::run_dir();
        for bad in ["ftp://127.0.0.1/", "127.0.0.1:8080", "dns://127.0.0.12"] {
            let e = AcmeDnsApi::new(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")) && e.contains("http://"), "{e}");
        }

        const GARBAGE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 27\r\n\
                               Connection: close\r\n\r\n<html>captive portal</html>";
        let url = canned_server(GARBAGE, 2);
        let api = AcmeDnsApi::new(&url).unwrap().with_timeout(Duration::from_secs(5)).unwrap();
        let e = api.register(&[]).await.unwrap_err();
        assert!(matches!(e, AcmeDnsError::NotAcmeDns { status: 200, .. }), "{e}");
        let text = e.to_string();
        assert!(text.contains(&url) && text.contains("not as acme-dns does"), "{text}");
        assert!(text.contains("<html>captive portal"), "{text}");
        let acct = Account {
            username: "u".into(),
            password: Password::new("secret-password-never-shown-0000000000000"),
            fulldomain: "s.acme.lab".into(),
            subdomain: "s".into(),
            allowfrom: vec![],
            server_url: None,
        };
        let e = api.update(&acct, &token()).await.unwrap_err();
        assert!(matches!(e, AcmeDnsError::NotAcmeDns { .. }), "{e}");
        assert!(!e.to_string().contains("secret-password"), "{e}");

        // 5xx: an error for register, a value for update.
        const FAIL: &str = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                            Content-Length: 20\r\nConnection: close\r\n\r\n{\"error\":\"db_error\"}";
        let url = canned_server(FAIL, 2);
        let api = AcmeDnsApi::new(&url).unwrap();
        let e = api.register(&[]).await.unwrap_err();
        assert!(matches!(e, AcmeDnsError::Status { status: 500, .. }), "{e}");
        assert!(e.to_string().contains("db_error") && e.to_string().contains("fix:"), "{e}");
        let r = api.update(&acct, &token()).await.unwrap();
        assert!(
            matches!(&r, UpdateOutcome::Refused { status: 500, error: Some(e), .. } if e == "db_error"),
            "{r:?}"
        );

        // A server that accepts the connection and never answers: bounded by the timeout.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        let api = AcmeDnsApi::new(&url).unwrap().with_timeout(Duration::from_millis(500)).unwrap();
        let t = Instant::now();
        let e = api.health().await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
        assert!(e.to_string().contains("no answer within"), "{e}");
        drop(silent);
    })
    .await
}

/// Registers an account for `domain` through the fixture into a fresh store and points
/// `_acme-challenge.<domain>` at its fulldomain (CNAME in example.test at 127.0.0.11, by
/// RFC 2136 with the lab key).
async fn delegated_account(
    fx: &Fixture,
    tag: &str,
    domain: &str,
) -> (PathBuf, AccountStore, Account) {
    let run = common::run_dir();
    let (dir, store) = temp_store(tag);
    let (acct, fresh) = store.ensure(&fx.api(), domain, &[]).await.unwrap();
    assert!(fresh);
    let upd = format!(
        "server 127.0.0.11 53\nzone example.test.\n\
         update delete _acme-challenge.{domain}. CNAME\n\
         update add _acme-challenge.{domain}. 1 CNAME {}\nsend\nquit\n",
        acct.target()
    );
    let _w = common::production_write();
    let out = common::sh(&format!(
        "knsupdate -t 5 -k '{}' <<'EOF'\n{upd}EOF",
        run.join("tsig.kdig").display()
    ));
    assert!(
        out.status.success(),
        "knsupdate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cname = common::sh(&format!(
        "kdig @127.0.0.11 +norec +tcp +short CNAME _acme-challenge.{domain}"
    ));
    assert_eq!(String::from_utf8_lossy(&cname.stdout).trim(), acct.target());
    (dir, store, acct)
}

/// The certificate names `domain` (subjectAltName).
fn assert_cert_names(crt: &std::path::Path, domain: &str, log: &str) {
    assert!(crt.exists(), "no certificate at {}:\n{log}", crt.display());
    let text = common::sh(&format!(
        "openssl x509 -in '{}' -noout -subject -ext subjectAltName",
        crt.display()
    ));
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(
        text.contains(&format!("DNS:{domain}")),
        "the certificate does not name {domain}: {text}"
    );
}

/// The Python of a venv that has certbot (Debian's, through --system-site-packages) and
/// the third-party acme-dns plugin `certbot-dns-acmedns` (PyPI) installed. Set up outside
/// the lab (the lab has no network); zope.interface < 6 because Debian's pkg_resources
/// does not find the `zope_interface` distribution name newer wheels carry:
///   python3 -m venv --system-site-packages target/acmedns-venv
///   target/acmedns-venv/bin/pip install certbot-dns-acmedns==0.1.0 'zope.interface<6'
fn acmedns_certbot_python() -> PathBuf {
    let p = std::env::var_os("ACME_DNS_CERTBOT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/acmedns-venv"))
        .join("bin/python");
    let ok = p.exists()
        && Command::new(&p)
            .args(["-c", "import certbot_dns_acmedns.dns_acmedns, certbot.main"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    assert!(
        ok,
        "{} has no certbot + certbot-dns-acmedns: set it up outside the lab with \
         `python3 -m venv --system-site-packages target/acmedns-venv && \
         target/acmedns-venv/bin/pip install certbot-dns-acmedns==0.1.0 'zope.interface<6'` \
         (or point ACME_DNS_CERTBOT_VENV at such a venv)",
        p.display()
    );
    p
}

/// The honesty proof: a third-party acme-dns client, certbot 2.1 (Debian) with the
/// `certbot-dns-acmedns` plugin (PyPI, built on pyacmedns), reads the account file exactly
/// as acme-delegate wrote it, posts the TXT through the fixture, and pebble validates it
/// through the CNAME and issues the certificate.
#[tokio::test(flavor = "multi_thread")]
async fn certbot_acmedns_plugin_obtains_a_certificate_through_the_fixture() {
    let Some(_lab) = common::lab() else { return };
    let python = acmedns_certbot_python();
    let run = common::run_dir();
    let fx = Fixture::start();
    let domain = "acmedns.example.test";
    let (dir, store, acct) = delegated_account(&fx, "certbot", domain).await;

    let ini = dir.join("acmedns.ini");
    write_private(
        &ini,
        &format!(
            "dns_acmedns_api_url = {}\ndns_acmedns_registration_file = {}\n",
            fx.url,
            store.accounts_path().display()
        ),
    );
    let cb = dir.join("certbot");
    let directory = std::env::var("LAB_ACME_DIRECTORY")
        .unwrap_or_else(|_| "https://127.0.0.1:14000/dir".into());
    let started = Instant::now();
    let out = Command::new("timeout")
        .arg("120")
        .arg(&python)
        .args([
            "-c",
            "import sys; from certbot.main import main; sys.exit(main())",
        ])
        .args([
            "certonly",
            "--non-interactive",
            "--agree-tos",
            "--no-eff-email",
        ])
        .args(["--email", "admin@example.test", "--server", &directory])
        .arg("--config-dir")
        .arg(cb.join("config"))
        .arg("--work-dir")
        .arg(cb.join("work"))
        .arg("--logs-dir")
        .arg(cb.join("logs"))
        .args([
            "--authenticator",
            "dns-acmedns",
            "--dns-acmedns-credentials",
        ])
        .arg(&ini)
        .args(["--dns-acmedns-propagation-seconds", "0", "-d", domain])
        .env("REQUESTS_CA_BUNDLE", run.join("pebble/ca.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("run certbot");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("certbot + certbot-dns-acmedns took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "certbot failed ({:?}):\n{log}\ncertbot log:\n{}\nfixture log:\n{}",
        out.status,
        read(&cb.join("logs/letsencrypt.log")),
        read(&fx.log)
    );
    assert_cert_names(
        &cb.join(format!("config/live/{domain}/cert.pem")),
        domain,
        &log,
    );

    // The stored account was used as it is, and the value it posted is served.
    assert_eq!(store.get(domain).unwrap().unwrap(), acct);
    assert!(
        read(&fx.log).contains("POST /update HTTP/1.1\" 200"),
        "{}",
        read(&fx.log)
    );
    assert_eq!(served_txt(&format!("{}.", acct.fulldomain)).len(), 1);
    drop(fx);
    std::fs::remove_dir_all(dir).unwrap();
}

fn write_private(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The same proof with lego's acme-dns provider. Debian's lego 4.9.1 is built without it
/// (debian/rules puts `acmedns` on the "nodns" list until goacmedns is packaged: lego
/// says `unrecognized DNS provider: acme-dns`), so this runs only with
/// `--ignored` and a lego that has it (`lego dnshelp -c acme-dns` alone does not tell).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "Debian's lego 4.9.1 is built without the acme-dns provider"]
async fn lego_obtains_a_certificate_through_the_fixture() {
    let Some(_lab) = common::lab() else { return };
    let run = common::run_dir();
    let fx = Fixture::start();
    let domain = "legoacmedns.example.test";
    let (dir, store, acct) = delegated_account(&fx, "lego", domain).await;
    let lego_dir = dir.join("lego");
    let directory = std::env::var("LAB_ACME_DIRECTORY")
        .unwrap_or_else(|_| "https://127.0.0.1:14000/dir".into());
    let out = Command::new("timeout")
        .arg("120")
        .arg("lego")
        .args([
            "--server",
            &directory,
            "--email",
            "admin@example.test",
            "--accept-tos",
            "--path",
        ])
        .arg(&lego_dir)
        .args([
            "--dns",
            "acme-dns",
            "--dns.resolvers",
            "127.0.0.53:53",
            "--dns.disable-cp",
        ])
        .args(["--domains", domain, "run"])
        .env("ACME_DNS_API_BASE", &fx.url)
        .env("ACME_DNS_STORAGE_PATH", store.accounts_path())
        .env("LEGO_CA_CERTIFICATES", run.join("pebble/ca.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("run lego");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "lego failed ({:?}):\n{log}\nfixture log:\n{}",
        out.status,
        read(&fx.log)
    );
    assert_cert_names(
        &lego_dir.join(format!("certificates/{domain}.crt")),
        domain,
        &log,
    );
    assert_eq!(store.get(domain).unwrap().unwrap(), acct);
    drop(fx);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `plan --zone acme-dns` registers one account per name and saves it where lego and
/// cert-manager read it; `prove` publishes through the API and sees the token through the
/// CNAME at every vantage point.
#[test]
fn plan_and_prove_end_to_end_through_acme_dns() {
    let Some(_lab) = common::lab() else { return };
    let fx = Fixture::start();
    let run = common::run_dir();
    let id = common::rand_suffix() % 1_000_000;
    let name = format!("ad{id}.example.test");
    let plan = run.join(format!("plan-acmedns-{id}.toml"));
    let storage = run.join(format!("acmedns-store-{id}"));
    let cfg = common::config();
    let plan_cmd = |extra: &[&str]| {
        let mut a = vec![
            "--config",
            cfg.to_str().unwrap(),
            "plan",
            "--plan",
            plan.to_str().unwrap(),
            "--json",
            "--zone",
            "acme-dns",
            "--api",
            &fx.url,
            "--storage",
            storage.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        common::run(&a, Duration::from_secs(60))
    };
    let out = plan_cmd(&[&name]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = doc["names"][0]["target"].as_str().unwrap().to_string();
    assert!(target.ends_with(".acme.lab."), "{target}");
    // Stored for lego/cert-manager, 0600, keyed by the name; a second plan reuses it.
    let accounts = storage.join("acme-dns-accounts.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&accounts).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&accounts).unwrap()).unwrap();
    assert_eq!(
        format!("{}.", stored[&name]["fulldomain"].as_str().unwrap()),
        target
    );
    let again: serde_json::Value = serde_json::from_slice(&plan_cmd(&[&name]).stdout).unwrap();
    assert_eq!(again["names"][0]["target"], target.as_str());
    // The one manual step: the CNAME in the production zone.
    common::publish_cname(&name, &target);
    let out = common::run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "prove",
            "--plan",
            plan.to_str().unwrap(),
            "--json",
            "--timeout",
            "20",
        ],
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = doc["names"][0]["vantages"].as_array().unwrap();
    assert!(
        v.len() >= 4 && v.iter().all(|x| x["seen_after_ms"].is_u64()),
        "{doc:#}"
    );
    // acme-dns cannot delete a record: never "removed".
    assert_eq!(
        doc["names"][0]["cleanup"], "stays-until-replaced",
        "{doc:#}"
    );
    assert_eq!(doc["names"][0]["removed"], false, "{doc:#}");
    // No password in anything printed.
    let pw = stored[&name]["password"].as_str().unwrap();
    assert!(!text.contains(pw));
}

// ---------------------------------------------------------------------------------------
// The 401 diagnosis through `prove`: what was sent against what the account files hold
// ---------------------------------------------------------------------------------------

/// `plan --zone acme-dns --api <fixture> --storage <storage> [extra] NAME`: the plan file.
fn plan_acme_dns(fx: &Fixture, storage: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let plan = common::plan_file();
    let (cfg, api) = (common::config(), fx.url.clone());
    let mut args = vec![
        "--config",
        cfg.to_str().unwrap(),
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--zone",
        "acme-dns",
        "--api",
        &api,
        "--storage",
        storage.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(name);
    let out = common::run(&args, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    plan
}

/// The account of `name` in one of the store's files.
fn entry(file: &Path, name: &str) -> Account {
    let all: std::collections::BTreeMap<String, Account> =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    all[name].clone()
}

/// Sets one field of `name`'s entry in clientstorage.json (what acme-dns-client and Caddy
/// post with), as a client re-registering or a hand edit would; the registration in
/// acme-dns-accounts.json stays as it is.
fn edit_client_entry(storage: &Path, name: &str, field: &str, value: &str) {
    let path = storage.join("clientstorage.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc[name][field] = serde_json::Value::String(value.into());
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// `prove` must fail at the publish with exactly this cause: evidence and fix.
fn assert_prove_refused(plan: &Path, name: &str, cause: &ForbiddenCause, secret: &str) {
    let (rc, doc, err) = common::prove_json(plan, "5");
    assert_eq!(rc, 1, "{doc:#}\n{err}");
    let f = common::finding(&doc, name, "PROOF_PUBLISH_FAILED");
    assert_eq!(f["severity"], "error", "{f:#}");
    assert_eq!(
        f["evidence"].as_str().unwrap(),
        format!("acme-dns answered 401 forbidden: {}", cause.words()),
        "{f:#}"
    );
    assert_eq!(f["fix"].as_str().unwrap(), cause.fix(), "{f:#}");
    assert_eq!(common::name(&doc, name)["published"], false, "{doc:#}");
    assert!(!format!("{doc}{err}").contains(secret), "a password leaked");
}

#[test]
fn prove_names_a_wrong_password_as_differing_from_the_stored_account() {
    let Some(_lab) = common::lab() else { return };
    let fx = Fixture::start();
    let storage = common::run_dir().join(format!("acmedns-pw-{:x}", seq()));
    let name = common::unique("adpw");
    let plan = plan_acme_dns(&fx, &storage, &name, &[]);
    let stored = entry(&storage.join("acme-dns-accounts.json"), &name);
    let wrong = "x".repeat(40); // the size and alphabet acme-dns checks first
    edit_client_entry(&storage, &name, "password", &wrong);
    assert_prove_refused(
        &plan,
        &name,
        &ForbiddenCause::CredentialsDiffer {
            fields: vec!["password"],
        },
        stored.password.expose(),
    );
    // With the stored password back, the same plan publishes (the cause was the password).
    edit_client_entry(&storage, &name, "password", stored.password.expose());
    let (_, doc, err) = common::prove_json(&plan, "5");
    assert_eq!(
        common::name(&doc, &name)["published"],
        true,
        "{doc:#}\n{err}"
    );
}

#[test]
fn prove_names_an_egress_address_outside_the_registered_allowfrom() {
    let Some(_lab) = common::lab() else { return };
    let fx = Fixture::start();
    let storage = common::run_dir().join(format!("acmedns-af-{:x}", seq()));
    let name = common::unique("adaf");
    // Registered with allowfrom 10.0.0.0/8 (only a CIDR string: nothing there is asked) ...
    plan_acme_dns(&fx, &storage, &name, &["--allowfrom", "10.0.0.0/8"]);
    // ... then planned again with 127.0.0.0/8: the registration is reused, and acme-dns
    // keeps the allowfrom it was registered with; the plan's config names another one.
    let plan = plan_acme_dns(&fx, &storage, &name, &["--allowfrom", "127.0.0.0/8"]);
    let stored = entry(&storage.join("acme-dns-accounts.json"), &name);
    assert_eq!(stored.allowfrom, vec!["10.0.0.0/8"]);
    assert_prove_refused(
        &plan,
        &name,
        &ForbiddenCause::EgressOutsideAllowfrom {
            egress: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allowfrom: vec!["10.0.0.0/8".into()],
        },
        stored.password.expose(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prove_names_a_subdomain_that_is_not_the_accounts() {
    let Some(_lab) = common::lab() else { return };
    let fx = Fixture::start();
    let storage = common::run_dir().join(format!("acmedns-sub-{:x}", seq()));
    let name = common::unique("adsub");
    let plan = tokio::task::block_in_place(|| plan_acme_dns(&fx, &storage, &name, &[]));
    let stored = entry(&storage.join("acme-dns-accounts.json"), &name);
    // The entry mixed with another account's: a subdomain the server knows, not this one's.
    let other = fx.api().register(&[]).await.unwrap();
    tokio::task::block_in_place(|| {
        edit_client_entry(&storage, &name, "subdomain", &other.subdomain);
        assert_prove_refused(
            &plan,
            &name,
            &ForbiddenCause::SubdomainMismatch {
                sent: other.subdomain.clone(),
                account: stored.subdomain.clone(),
            },
            stored.password.expose(),
        )
    });
}

// ---------------------------------------------------------------------------------------
// `write --client certbot` with an acme-dns plan: certbot's manual hooks are acme-delegate's
// own (`hook certbot-auth`), which post to the fixture; pebble validates through the CNAME.
// ---------------------------------------------------------------------------------------

#[test]
fn certbot_with_the_hook_issues_through_an_acme_dns_plan() {
    use common::issuance::{assert_cert, out_dir, production_serial, run_next, write};
    let Some(_lab) = common::lab() else { return };
    let fx = Fixture::start();
    let name = common::unique("wa");
    let storage = common::run_dir().join(format!("acmedns-store-{}", common::rand_suffix()));
    let plan = plan_acme_dns(&fx, &storage, &name, &[]);
    let target = entry(&storage.join("acme-dns-accounts.json"), &name).fulldomain;
    common::publish_cname(&name, &format!("{target}."));
    let _r = common::production_read();
    let serial = production_serial();
    let out = out_dir("certbot-acmedns");
    let doc = write(&plan, "certbot", &out);
    let (ok, log) = run_next(&doc, 170);
    assert!(ok, "{log}\nfixture log: {}", read(&fx.log));
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
    // certbot-cleanup says what becomes of the value (acme-dns cannot delete it).
    assert!(
        log.contains(acme_delegate::zones::acme_dns::VALUE_STAYS),
        "{log}"
    );
    // The hook posted with the account; nothing printed holds its password.
    let pw = entry(&storage.join("acme-dns-accounts.json"), &name).password;
    assert!(!log.contains(pw.expose()), "the password was printed");
    assert!(
        !doc.to_string().contains(pw.expose()),
        "the password is in --json"
    );
}

/// `curl` of the fixture: (status, headers, body).
fn curl(method: &str, url: &str, headers: &[String], body: Option<&str>) -> (u16, String, String) {
    let mut c = format!("curl -s -i --max-time 5 -X {method} '{url}'");
    for h in headers {
        c.push_str(&format!(" -H '{h}'"));
    }
    if let Some(b) = body {
        c.push_str(&format!(" --data-binary '{b}'"));
    }
    let out = common::sh(&c);
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer from {url}: {text}"));
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// The fixture answers as acme-dns does (each behaviour is listed, with its acme-dns
/// source file, in the fixture's header): routes and 405/404, error bodies, Go's
/// case-insensitive JSON fields and CIDR parsing, /health, two values per subdomain
/// (the oldest row is overwritten), and its own DNS:
/// NXDOMAIN for another type at a name with a TXT, the SOA minimum of 86400.
#[test]
fn the_fixture_behaves_like_acme_dns() {
    let Some(_lab) = common::lab() else { return };
    let port = {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let dns = format!("127.0.0.1:{port}");
    let mut fx = Fixture::start_with(&["--zone", "adns.lab.", "--dns-listen", &dns]);
    let u = fx.url.clone();
    // routes: no delete, no GET /register; unknown paths 404
    let (st, head, body) = curl("DELETE", &format!("{u}/update"), &[], None);
    assert_eq!((st, body.as_str()), (405, "Method Not Allowed\n"), "{head}");
    assert!(head.contains("allow: post"), "{head}");
    assert_eq!(curl("GET", &format!("{u}/register"), &[], None).0, 405);
    assert_eq!(curl("POST", &format!("{u}/health"), &[], None).0, 405);
    let (st, _, body) = curl("POST", &format!("{u}/delete"), &[], None);
    assert_eq!((st, body.as_str()), (404, "404 page not found\n"));
    // /health: 200, no body, no Content-Type
    let (st, head, body) = curl("GET", &format!("{u}/health"), &[], None);
    assert_eq!((st, body.as_str()), (200, ""));
    assert!(!head.contains("content-type"), "{head}");
    // /register: Go's decoding
    for (b, want) in [
        (
            r#"{"allowfrom":"10.0.0.0/8"}"#,
            (400, r#"{"error": "malformed_json_payload"}"#),
        ),
        (r#"[1]"#, (400, r#"{"error": "malformed_json_payload"}"#)),
        (
            r#"{"username":"nope"}"#,
            (400, r#"{"error": "malformed_json_payload"}"#),
        ),
        (
            r#"{"allowfrom":[" 10.0.0.0/8"]}"#,
            (400, r#"{"error": "invalid_allowfrom_cidr"}"#),
        ),
        (
            r#"{"allowfrom":["10.0.0.0/255.0.0.0"]}"#,
            (400, r#"{"error": "invalid_allowfrom_cidr"}"#),
        ),
    ] {
        let (st, _, body) = curl("POST", &format!("{u}/register"), &[], Some(b));
        assert_eq!((st, body.as_str()), want, "{b}");
    }
    let (st, _, body) = curl(
        "POST",
        &format!("{u}/register"),
        &[],
        Some(r#"{"AllowFrom":["[::1]/128","127.0.0.0/8"]}"#),
    );
    assert_eq!(st, 201, "{body}");
    let reg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        reg["allowfrom"],
        serde_json::json!(["::1/128", "127.0.0.0/8"])
    );
    let (user, pw, sub) = (
        reg["username"].as_str().unwrap(),
        reg["password"].as_str().unwrap(),
        reg["subdomain"].as_str().unwrap(),
    );
    assert_eq!(
        reg["fulldomain"].as_str().unwrap(),
        format!("{sub}.adns.lab")
    );
    let auth = [
        format!("X-Api-User: {{{user}}}"),
        format!("X-Api-Key: {pw}"),
    ];
    let txt = |c: char| c.to_string().repeat(43);
    // a fresh account serves nothing: NXDOMAIN
    let kdig = |name: &str, t: &str| {
        let o = common::sh(&format!(
            "kdig @127.0.0.1 -p {port} {name} {t} +timeout=2 +retry=0"
        ));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let owner = format!("{sub}.adns.lab.");
    assert!(kdig(&owner, "TXT").contains("status: NXDOMAIN"));
    // three updates: two values are served, with TTL 1
    for c in ['A', 'B', 'C'] {
        let b = format!(r#"{{"Subdomain":"{sub}","txt":"{}"}}"#, txt(c));
        let (st, _, body) = curl("POST", &format!("{u}/update"), &auth, Some(&b));
        assert_eq!((st, body), (200, format!(r#"{{"txt": "{}"}}"#, txt(c))));
    }
    let ans = kdig(&owner, "TXT");
    assert!(ans.contains("status: NOERROR"), "{ans}");
    let served: Vec<char> = ['A', 'B', 'C']
        .into_iter()
        .filter(|c| ans.contains(&txt(*c)))
        .collect();
    assert_eq!(served.len(), 2, "{ans}");
    assert!(ans.contains(" 1\tIN\tTXT"), "{ans}");
    // another type at a name with a TXT: NXDOMAIN with the SOA (minimum 86400)
    let a = kdig(&owner, "A");
    assert!(a.contains("status: NXDOMAIN"), "{a}");
    assert!(a.contains("28800 7200 604800 86400"), "{a}");
    // wrong subdomain, bad txt
    let b = format!(r#"{{"subdomain":"other","txt":"{}"}}"#, txt('D'));
    let (st, _, body) = curl("POST", &format!("{u}/update"), &auth, Some(&b));
    assert_eq!((st, body.as_str()), (401, r#"{"error": "forbidden"}"#));
    let b = format!(r#"{{"subdomain":"{sub}","txt":"short"}}"#);
    let (st, _, body) = curl("POST", &format!("{u}/update"), &auth, Some(&b));
    assert_eq!((st, body.as_str()), (400, r#"{"error": "bad_txt"}"#));
    assert!(fx.terminate().is_some_and(|s| s.success()));
}

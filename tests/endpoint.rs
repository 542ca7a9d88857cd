//! `Engine::check_endpoints` against TLS servers on 127.0.0.1 (a tokio-rustls server in the test and
//! `openssl s_server`), with certificates made by `openssl` in a temporary directory.
//! Every test is bounded in time.

use acme_delegate::engine::endpoint::{EndpointReport, EndpointRequest};
use acme_delegate::engine::events::{CancellationToken, EventSink};
use acme_delegate::engine::Engine;
use acme_delegate::findings::Severity;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::{parse_all, InputName};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

const TIMEOUT: Duration = Duration::from_secs(3);
/// A test that takes longer than this failed (hung).
const BOUND: Duration = Duration::from_secs(20);
const DAY: u64 = 86_400;

static N: AtomicU64 = AtomicU64::new(0);

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "acme-delegate-endpoint-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A self-signed P-256 certificate valid from now for `days`, with these DNS SANs.
fn make_cert(dir: &Path, tag: &str, days: u32, sans: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{tag}.crt"));
    let key = dir.join(format!("{tag}.key"));
    let san = sans
        .iter()
        .map(|s| format!("DNS:{s}"))
        .collect::<Vec<_>>()
        .join(",");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-sha256", "-days", &days.to_string()])
        .args(["-subj", &format!("/CN={}", sans[0])])
        .args(["-addext", &format!("subjectAltName={san}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// A tokio-rustls server on 127.0.0.1 serving `cert` to every connection; returns the port.
async fn serve(cert: &Path, key: &Path) -> u16 {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    use tokio::io::AsyncWriteExt;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

fn names(n: &[&str]) -> Vec<InputName> {
    parse_all(n).unwrap()
}

fn codes(r: &EndpointReport) -> Vec<(&'static str, String)> {
    r.findings
        .iter()
        .map(|f| (f.code.as_str(), f.name.clone()))
        .collect()
}

/// One endpoint through the engine's entry point, its certificate judged at `now`.
async fn check_endpoint(
    endpoint: &str,
    names: &[InputName],
    timeout: Duration,
    now: SystemTime,
) -> EndpointReport {
    let engine = Engine::new(Config::defaults());
    let req = EndpointRequest {
        endpoints: vec![endpoint.to_string()],
        names: names.to_vec(),
        timeout,
        at: Some(now),
    };
    let mut found = engine
        .check_endpoints(&req, &CancellationToken::new(), &EventSink::none())
        .await;
    assert_eq!(found.len(), 1, "one report per endpoint");
    found.remove(0)
}

async fn check(port: u16, n: &[&str], now: SystemTime) -> EndpointReport {
    let ep = format!("127.0.0.1:{port}");
    tokio::time::timeout(BOUND, check_endpoint(&ep, &names(n), TIMEOUT, now))
        .await
        .expect("check_endpoints returned within the bound")
}

#[tokio::test]
async fn valid_cert_matching_name_and_mismatch() {
    let d = tempdir();
    let (c, k) = make_cert(&d, "valid", 90, &["www.example.test"]);
    let port = serve(&c, &k).await;

    let r = check(port, &["www.example.test"], SystemTime::now()).await;
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.ok);
    let cert = r.certificate.as_ref().unwrap();
    assert_eq!(cert.san_dns, ["www.example.test"]);
    assert!(
        cert.subject.contains("www.example.test"),
        "{}",
        cert.subject
    );
    assert_eq!(cert.issuer, cert.subject, "self-signed");
    assert!(cert.not_after_unix - cert.not_before_unix >= (90 * DAY - 60) as i64);
    assert!(cert.not_after.ends_with('Z'));
    // No SNI name given and an IP endpoint: the first name's host is sent.
    assert_eq!(r.sni.as_deref(), Some("www.example.test"));

    let r = check(
        port,
        &["www.example.test", "api.example.test"],
        SystemTime::now(),
    )
    .await;
    assert_eq!(
        codes(&r),
        [("CERT_NAME_MISMATCH", "api.example.test".to_string())]
    );
    assert!(!r.ok);
    assert!(r.findings[0].evidence.contains("www.example.test"));

    // A wildcard identifier is not covered by a single-name certificate.
    let r = check(port, &["*.example.test"], SystemTime::now()).await;
    assert_eq!(
        codes(&r),
        [("CERT_NAME_MISMATCH", "*.example.test".to_string())]
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn wildcard_san() {
    let d = tempdir();
    let (c, k) = make_cert(&d, "wild", 90, &["*.example.test"]);
    let port = serve(&c, &k).await;
    let r = check(
        port,
        &["*.example.test", "api.example.test", "www.example.test"],
        SystemTime::now(),
    )
    .await;
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    // One label only: neither the apex nor two labels down.
    let r = check(
        port,
        &["example.test", "a.b.example.test"],
        SystemTime::now(),
    )
    .await;
    assert_eq!(
        codes(&r),
        [
            ("CERT_NAME_MISMATCH", "example.test".to_string()),
            ("CERT_NAME_MISMATCH", "a.b.example.test".to_string())
        ]
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn expiring_in_five_days() {
    let d = tempdir();
    let (c, k) = make_cert(&d, "soon", 5, &["www.example.test"]);
    let port = serve(&c, &k).await;
    let r = check(port, &["www.example.test"], SystemTime::now()).await;
    let ep = format!("127.0.0.1:{port}");
    assert_eq!(codes(&r), [("CERT_EXPIRING", ep)]);
    let f = &r.findings[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(r.ok, "a warning does not fail the endpoint");
    assert!(
        f.evidence.contains("4 days") || f.evidence.contains("5 days"),
        "{}",
        f.evidence
    );
    assert!(
        f.fix.contains("acme-delegate diagnose www.example.test"),
        "{}",
        f.fix
    );
    assert!(f.fix.contains("renew"), "{}", f.fix);
    let left = r.seconds_left.unwrap();
    assert!(
        left > (4 * DAY) as i64 && left <= (5 * DAY) as i64,
        "{left}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn a_third_of_the_lifetime_left() {
    // A 90-day certificate 65 days in: 25 days left, more than 14 but less than 30.
    let d = tempdir();
    let (c, k) = make_cert(&d, "third", 90, &["www.example.test"]);
    let port = serve(&c, &k).await;
    let now = SystemTime::now() + Duration::from_secs(65 * DAY);
    let r = check(port, &["www.example.test"], now).await;
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].code, "CERT_EXPIRING");
    assert!(
        r.findings[0].evidence.contains("90-day"),
        "{}",
        r.findings[0].evidence
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn expired() {
    // openssl 3.0 cannot backdate with `req -x509`; the `now` parameter moves the clock
    // past the end of a 90-day certificate instead. The handshake must not abort on it.
    let d = tempdir();
    let (c, k) = make_cert(&d, "old", 90, &["www.example.test"]);
    let port = serve(&c, &k).await;
    let now = SystemTime::now() + Duration::from_secs(100 * DAY);
    let r = check(port, &["www.example.test"], now).await;
    let ep = format!("127.0.0.1:{port}");
    assert_eq!(codes(&r), [("CERT_EXPIRED", ep)]);
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert!(!r.ok);
    let ev = &r.findings[0].evidence;
    assert!(
        ev.contains("ago") && (ev.contains("10 days") || ev.contains("9 days")),
        "{ev}"
    );
    assert!(
        ev.contains(&r.certificate.as_ref().unwrap().not_after),
        "{ev}"
    );
    assert!(r.seconds_left.unwrap() < 0);
    let _ = std::fs::remove_dir_all(&d);
}

/// A leaf signed by a throw-away CA with fixed dates (`openssl ca -startdate/-enddate`:
/// openssl 3.0 cannot backdate with `req -x509`).
fn make_dated_cert(dir: &Path, start: &str, end: &str, san: &str) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509", "-days", "1", "-subj", "/CN=test ca"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.crt"],
    ]
    .concat());
    let ext = format!("subjectAltName=DNS:{san}");
    let subj = format!("/CN={san}");
    run(&[
        &["req", "-new", "-subj", &subj, "-addext", &ext][..],
        &ec,
        &["-keyout", "leaf.key", "-out", "leaf.csr"],
    ]
    .concat());
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
         default_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n\
         [p]\ncommonName = supplied\n",
    )
    .unwrap();
    run(&[
        "ca",
        "-batch",
        "-notext",
        "-config",
        "ca.cnf",
        "-cert",
        "ca.crt",
        "-keyfile",
        "ca.key",
        "-in",
        "leaf.csr",
        "-out",
        "leaf.crt",
        "-startdate",
        start,
        "-enddate",
        end,
    ]);
    (dir.join("leaf.crt"), dir.join("leaf.key"))
}

#[tokio::test]
async fn expired_for_real() {
    let d = tempdir();
    let (c, k) = make_dated_cert(&d, "20200101000000Z", "20200401000000Z", "www.example.test");
    let port = serve(&c, &k).await;
    let r = check(port, &["www.example.test"], SystemTime::now()).await;
    let ep = format!("127.0.0.1:{port}");
    assert_eq!(codes(&r), [("CERT_EXPIRED", ep)], "{:#?}", r.findings);
    let cert = r.certificate.as_ref().unwrap();
    assert_eq!(cert.not_before, "2020-01-01T00:00:00Z");
    assert_eq!(cert.not_after, "2020-04-01T00:00:00Z");
    assert!(cert.issuer.contains("test ca"), "{}", cert.issuer);
    assert!(r.findings[0]
        .evidence
        .contains("expired on 2020-04-01T00:00:00Z"));
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, never says a word.
    let held = tokio::spawn(async move {
        let mut conns = vec![];
        while let Ok((c, _)) = listener.accept().await {
            conns.push(c);
        }
    });
    let start = Instant::now();
    let ep = format!("127.0.0.1:{port}");
    let r = tokio::time::timeout(
        BOUND,
        check_endpoint(
            &ep,
            &names(&["www.example.test"]),
            Duration::from_millis(700),
            SystemTime::now(),
        ),
    )
    .await
    .expect("bounded");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(took >= Duration::from_millis(650), "{took:?}");
    assert_eq!(codes(&r), [("ENDPOINT_UNREACHABLE", ep)]);
    assert!(
        r.findings[0].evidence.contains("700 ms"),
        "{}",
        r.findings[0].evidence
    );
    assert!(r.certificate.is_none());
    assert!(!r.ok);
    held.abort();
}

#[tokio::test]
async fn closed_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = Instant::now();
    let r = check(port, &["www.example.test"], SystemTime::now()).await;
    assert!(start.elapsed() < TIMEOUT + Duration::from_secs(1));
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].code, "ENDPOINT_UNREACHABLE");
    assert!(
        r.findings[0].evidence.contains("TCP"),
        "{}",
        r.findings[0].evidence
    );
}

#[tokio::test]
async fn not_tls() {
    // A server that answers with something that is not TLS: a handshake failure, promptly.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut c, _)) = listener.accept().await {
            let _ = c.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let r = check(port, &["www.example.test"], SystemTime::now()).await;
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].code, "ENDPOINT_UNREACHABLE");
    assert!(
        r.findings[0].evidence.contains("handshake"),
        "{}",
        r.findings[0].evidence
    );
}

#[tokio::test]
async fn bad_endpoint_syntax() {
    let r = check_endpoint("no-port", &[], TIMEOUT, SystemTime::now()).await;
    assert_eq!(r.findings[0].code, "ENDPOINT_UNREACHABLE");
    assert!(r.findings[0].evidence.contains("HOST:PORT"));
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn openssl_s_server_interop() {
    let d = tempdir();
    let (c, k) = make_cert(
        &d,
        "s_server",
        90,
        &["www.example.test", "api.example.test"],
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _server = Child(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&c)
            .arg("-key")
            .arg(&k)
            .args(["-naccept", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts"),
    );
    // Wait (bounded) until it listens.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "s_server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ep = format!("127.0.0.1:{port}");
    let r = tokio::time::timeout(
        BOUND,
        check_endpoint(
            &ep,
            &names(&["www.example.test", "api.example.test", "mail.example.test"]),
            TIMEOUT,
            SystemTime::now(),
        ),
    )
    .await
    .expect("bounded");
    assert_eq!(
        codes(&r),
        [("CERT_NAME_MISMATCH", "mail.example.test".to_string())],
        "{:#?}",
        r
    );
    assert_eq!(
        r.certificate.unwrap().san_dns,
        ["www.example.test", "api.example.test"]
    );
    let _ = std::fs::remove_dir_all(&d);
}

//! Secrets stay secret, end to end through the binary: an acme-dns password and a TSIG
//! secret never appear on stdout, stderr, in the logs at trace level (`RUST_LOG` as well as
//! `ACME_DELEGATE_LOG`), in `--json`, in plan files or in the Prometheus textfile; the files
//! that must hold them are 0600 in 0700 folders; no secret is written through a symlink;
//! and acme-dns over plain http to another host is warned about.
//!
//! The acme-dns API here is a small fake on loopback (its answers carry known passwords);
//! DNS goes to a closed loopback port, so nothing leaves the machine. The lab test at the
//! end does the same with real TSIG-signed updates.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every password the fake hands out starts with this.
const PW_PREFIX: &str = "PwSecret";
/// A TSIG secret (base64 of 32 bytes) that must never be shown.
const TSIG_SECRET: &str = "c2VjcmV0LXNob3VsZC1uZXZlci1iZS1wcmludGVkISE=";

/// A fake acme-dns API: `/health` 200, `/register` 201 with a fresh account whose password
/// is known, `/update` 200 echoing the TXT. Requests through an HTTP proxy (absolute URIs)
/// are answered the same way. Records every request line and the hosts asked for.
struct FakeAcmeDns {
    url: String,
    passwords: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeAcmeDns {
    fn start() -> FakeAcmeDns {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let passwords = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (pw, rq) = (passwords.clone(), requests.clone());
        let seq = Arc::new(AtomicU32::new(0));
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (pw, rq, seq) = (pw.clone(), rq.clone(), seq.clone());
                std::thread::spawn(move || serve(conn, &pw, &rq, &seq));
            }
        });
        FakeAcmeDns {
            url,
            passwords,
            requests,
        }
    }

    fn passwords(&self) -> Vec<String> {
        self.passwords.lock().unwrap().clone()
    }
}

fn serve(
    conn: TcpStream,
    passwords: &Mutex<Vec<String>>,
    requests: &Mutex<Vec<String>>,
    seq: &AtomicU32,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request = line.trim().to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.lock().unwrap().push(request.clone());
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        let (status, text) = if path.ends_with("/health") {
            ("200 OK", String::new())
        } else if path.ends_with("/register") {
            let n = seq.fetch_add(1, Ordering::SeqCst);
            let password = format!("{PW_PREFIX}{n:02}-x7Qm2LkP9vR4tW8yZ3aB6cD1eF5gH0");
            passwords.lock().unwrap().push(password.clone());
            let sub = format!("{n:08x}-1111-4222-8333-444444444444");
            (
                "201 Created",
                format!(
                    r#"{{"username":"{n:08x}-aaaa-4bbb-8ccc-dddddddddddd","password":"{password}","fulldomain":"{sub}.auth.acme.test","subdomain":"{sub}","allowfrom":[]}}"#
                ),
            )
        } else if path.ends_with("/update") {
            let txt = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["txt"].as_str().map(str::to_string))
                .unwrap_or_default();
            ("200 OK", format!(r#"{{"txt":"{txt}"}}"#))
        } else {
            ("404 Not Found", r#"{"error":"not_found"}"#.to_string())
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if conn.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A private home for one test: config (DNS to a closed loopback port), XDG dirs.
struct Home {
    dir: PathBuf,
}

impl Home {
    fn new(tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!(
            "acme-delegate-secrets-{tag}-{}-{:x}",
            std::process::id(),
            common::rand_suffix()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.toml"),
            "roots = [\"127.0.0.1:9\"]\ntimeout_ms = 150\nattempts = 1\nresolvers = []\n\
             [system]\nenabled = false\n",
        )
        .unwrap();
        Home { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn p(&self, rel: &str) -> String {
        self.path(rel).to_str().unwrap().to_string()
    }

    /// Runs the binary with this home; `env` adds variables (logging, proxies).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_acme-delegate"));
        cmd.arg("--config")
            .arg(self.path("config.toml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("XDG_CONFIG_HOME", self.path("xdg/config"))
            .env("XDG_DATA_HOME", self.path("xdg/data"))
            .env_remove("ACME_DELEGATE_CONFIG")
            .env_remove("ACME_DELEGATE_LOG")
            .env_remove("RUST_LOG");
        for v in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        bounded(cmd, Duration::from_secs(60))
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn acme-delegate");
    // Drain the pipes while waiting, so that a chatty trace log cannot block the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("acme-delegate did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Asserts that none of `secrets` is in `hay`, naming where.
fn clean(what: &str, hay: &str, secrets: &[String]) {
    assert!(!secrets.is_empty());
    for s in secrets {
        assert!(!hay.contains(s.as_str()), "a secret is in {what}:\n{hay}");
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

const TRACE_RUST: &[(&str, &str)] = &[("RUST_LOG", "trace")];
const TRACE_OURS: &[(&str, &str)] = &[("ACME_DELEGATE_LOG", "trace")];

#[test]
fn rust_log_is_honoured_like_acme_delegate_log() {
    let home = Home::new("log");
    let check = ["check", "www.example.com"];
    let traced = |env: &[(&str, &str)]| text(&home.run(&check, env)).1.contains("dns exchange");
    assert!(
        traced(&[("RUST_LOG", "acme_delegate=trace")]),
        "RUST_LOG is ignored"
    );
    assert!(traced(&[("ACME_DELEGATE_LOG", "acme_delegate=trace")]));
    assert!(!traced(&[]), "trace lines without being asked for");
    // ACME_DELEGATE_LOG wins over RUST_LOG.
    assert!(!traced(&[
        ("ACME_DELEGATE_LOG", "warn"),
        ("RUST_LOG", "acme_delegate=trace")
    ]));
}

/// plan, check (with the textfile), prove, write and diagnose with an acme-dns zone, all
/// with trace logs: the passwords are only in the account files (0600 in a 0700 folder)
/// and in the client files written for them (0600).
#[test]
fn acme_dns_passwords_stay_out_of_every_output() {
    let api = FakeAcmeDns::start();
    let home = Home::new("acmedns");
    let plan = home.p("plan.toml");
    let store = home.path("store");
    let names = ["www.example.com", "*.example.com", "api.example.com"];
    let mut args = vec![
        "--plan",
        &plan,
        "plan",
        "--zone",
        "acme-dns",
        "--api",
        &api.url,
        "--storage",
    ];
    let store_s = store.to_str().unwrap().to_string();
    args.push(&store_s);
    args.push("--json");
    args.extend(names);
    let o = home.run(&args, TRACE_RUST);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(
        err.contains("TRACE") || err.contains("DEBUG"),
        "no log at trace level: {err}"
    );
    let pws = api.passwords();
    assert_eq!(
        pws.len(),
        3,
        "one account per name (*.example.com is example.com's)"
    );
    serde_json::from_str::<serde_json::Value>(&out).expect("--json is one JSON document");
    clean("plan's stdout (--json)", &out, &pws);
    clean("plan's stderr (trace log)", &err, &pws);
    clean(
        "the plan file",
        &std::fs::read_to_string(&plan).unwrap(),
        &pws,
    );
    assert_eq!(mode(Path::new(&plan)), 0o600);
    // Where they must be: the account files, 0600 in a 0700 folder.
    assert_eq!(mode(&store), 0o700);
    for f in ["acme-dns-accounts.json", "clientstorage.json"] {
        let p = store.join(f);
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        let t = std::fs::read_to_string(&p).unwrap();
        assert!(
            pws.iter().all(|pw| t.contains(pw.as_str())),
            "{f} lacks a password"
        );
    }

    // check with the Prometheus textfile, text and JSON.
    let prom = home.p("acme.prom");
    for json in [false, true] {
        let mut a = vec!["--plan", &plan, "check", "--prometheus-textfile", &prom];
        if json {
            a.push("--json");
        }
        a.extend(names);
        let o = home.run(&a, TRACE_OURS);
        let (out, err) = text(&o);
        clean("check's stdout", &out, &pws);
        clean("check's stderr (trace log)", &err, &pws);
        clean(
            "the textfile",
            &std::fs::read_to_string(&prom).unwrap(),
            &pws,
        );
    }

    // prove sends the password in X-Api-Key: never shown.
    let o = home.run(
        &["--plan", &plan, "prove", "--timeout", "2", "--json"],
        TRACE_RUST,
    );
    let (out, err) = text(&o);
    assert!(
        api.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("/update")),
        "prove did not update: {out}\n{err}"
    );
    serde_json::from_str::<serde_json::Value>(&out).expect("prove --json is one document");
    clean("prove's stdout", &out, &pws);
    clean("prove's stderr (trace log)", &err, &pws);

    // write: the dry run masks, the written files are 0600.
    let outdir = home.p("out");
    for extra in [
        &["--dry-run"][..],
        &["--dry-run", "--json"],
        &["--json"],
        &[],
    ] {
        let mut a = vec![
            "--plan",
            &plan,
            "write",
            "--client",
            "lego",
            "--client",
            "certbot",
            "--client",
            "cert-manager",
            "--out",
            &outdir,
        ];
        a.extend_from_slice(extra);
        let o = home.run(&a, TRACE_RUST);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "write {extra:?}: {out}\n{err}");
        clean(&format!("write {extra:?} stdout"), &out, &pws);
        clean(&format!("write {extra:?} stderr"), &err, &pws);
    }
    let written = files_under(Path::new(&outdir));
    let with_secret: Vec<_> = written
        .iter()
        .filter(|p| {
            let t = std::fs::read_to_string(p).unwrap_or_default();
            pws.iter().any(|pw| t.contains(pw.as_str()))
        })
        .collect();
    assert!(
        !with_secret.is_empty(),
        "no client file holds the account: {written:?}"
    );
    for p in with_secret {
        assert_eq!(mode(p), 0o600, "{}", p.display());
        assert_eq!(mode(p.parent().unwrap()) & 0o077, 0, "{}", p.display());
    }

    // diagnose reads those client files: it never copies a secret out.
    let mut a = vec!["--plan", &plan, "diagnose", "--json"];
    let paths: Vec<String> = written
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    for p in &paths {
        a.push("--client-config");
        a.push(p);
    }
    a.push("www.example.com");
    let o = home.run(&a, TRACE_OURS);
    let (out, err) = text(&o);
    clean("diagnose's stdout", &out, &pws);
    clean("diagnose's stderr", &err, &pws);
}

/// `plan --key ALG:NAME:SECRET` stores the key in a 0600 file in a 0700 folder and shows
/// the secret nowhere, whatever becomes of the plan (here the server does not answer).
#[test]
fn a_tsig_secret_given_on_the_command_line_stays_out_of_every_output() {
    let home = Home::new("tsig");
    let plan = home.p("plan.toml");
    let key = format!("hmac-sha256:acme-update.:{TSIG_SECRET}");
    let secrets = [TSIG_SECRET.to_string()];
    for (json, env) in [(true, TRACE_RUST), (false, TRACE_OURS)] {
        let mut a = vec![
            "--plan",
            &plan,
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.1:9",
            "--key",
            &key,
            "--domain",
            "acme.test",
        ];
        if json {
            a.push("--json");
            a.push("www.example.com");
        } else {
            a.push("www.example.com");
        }
        let o = home.run(&a, env);
        let (out, err) = text(&o);
        assert!(
            err.contains("TRACE") || err.contains("DEBUG"),
            "no trace log: {err}"
        );
        clean("plan's stdout", &out, &secrets);
        clean("plan's stderr (trace log)", &err, &secrets);
        if let Ok(t) = std::fs::read_to_string(&plan) {
            clean("the plan file", &t, &secrets);
        }
    }
    // The zone cannot be written (nothing listens), so the plan is not saved, and the key
    // file stored for it is removed again (issue 18: nothing at all is written then).
    let keys = home.path("xdg/data/acme-delegate/keys");
    let file = keys.join("acme-update.key");
    assert_eq!(mode(&keys), 0o700);
    assert!(
        !file.exists(),
        "a key file was left by a plan that was not saved"
    );
}

/// A symlink planted where a secret is to be written is refused, and its target is left
/// alone: the acme-dns account file, the stored TSIG key, a client's secret file, the plan.
#[test]
fn secrets_are_not_written_through_symlinks() {
    let api = FakeAcmeDns::start();
    let home = Home::new("symlink");
    let victim = home.path("victim");
    // Valid as an (empty) account file, so that only the write can refuse it.
    std::fs::write(&victim, "{}\n").unwrap();
    let kept = || std::fs::read_to_string(&victim).unwrap() == "{}\n";

    // 1. The acme-dns account file.
    let store = home.path("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&victim, store.join("acme-dns-accounts.json")).unwrap();
    let plan = home.p("plan.toml");
    let store_s = store.to_str().unwrap().to_string();
    let o = home.run(
        &[
            "--plan",
            &plan,
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            &api.url,
            "--storage",
            &store_s,
            "www.example.com",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("symlink"), "{err}");
    assert!(kept(), "the account file's symlink was followed");
    clean("stderr", &err, &api.passwords());

    // 2. The key file of --key.
    let keys = home.path("xdg/data/acme-delegate/keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::os::unix::fs::symlink(&victim, keys.join("acme-update.key")).unwrap();
    let key = format!("hmac-sha256:acme-update.:{TSIG_SECRET}");
    let o = home.run(
        &[
            "--plan",
            &plan,
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.1:9",
            "--key",
            &key,
            "--domain",
            "acme.test",
            "www.example.com",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(err.contains("symlink"), "{err}");
    assert!(kept(), "the key file's symlink was followed");
    clean("stderr", &err, &[TSIG_SECRET.to_string()]);

    // 3. The plan file itself (it names the key file and the API).
    let link_plan = home.path("link-plan.toml");
    std::os::unix::fs::symlink(&victim, &link_plan).unwrap();
    let good_store = home.p("store2");
    let o = home.run(
        &[
            "--plan",
            link_plan.to_str().unwrap(),
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            &api.url,
            "--storage",
            &good_store,
            "www.example.com",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("symlink"), "{err}");
    assert!(kept(), "the plan's symlink was followed");

    // 4. A client's secret file (lego's env file under --out).
    let o = home.run(
        &[
            "--plan",
            &plan,
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            &api.url,
            "--storage",
            &good_store,
            "www.example.com",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let outdir = home.path("out");
    let o = home.run(
        &[
            "--plan",
            &plan,
            "write",
            "--client",
            "lego",
            "--out",
            outdir.to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let secret_files: Vec<PathBuf> = doc
        .to_string()
        .split('"')
        .filter(|s| s.starts_with(outdir.to_str().unwrap()))
        .map(PathBuf::from)
        .collect();
    assert!(!secret_files.is_empty(), "{doc}");
    for f in &secret_files {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(f);
        std::os::unix::fs::symlink(&victim, f).unwrap();
    }
    let o = home.run(
        &[
            "--plan",
            &plan,
            "write",
            "--client",
            "lego",
            "--out",
            outdir.to_str().unwrap(),
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("symlink"), "{err}");
    assert!(kept(), "a client file's symlink was followed");
    clean("stderr", &err, &api.passwords());
}

/// `http://` to another host: ACMEDNS_PLAIN_HTTP (a warning: the plan is still made). The
/// other host is reached through an HTTP proxy on loopback (the fake), so nothing leaves
/// the machine. `http://127.0.0.1` and `https://` are not warned about.
#[test]
fn acme_dns_over_plain_http_to_another_host_is_warned_about() {
    let api = FakeAcmeDns::start();
    let home = Home::new("plainhttp");
    let plan = home.p("plan.toml");
    let store = home.p("store");
    let proxy = [("http_proxy", api.url.as_str())];
    let remote = "http://acme-dns.example.net:8080";
    for json in [true, false] {
        let mut a = vec![
            "--plan",
            &plan,
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            remote,
            "--storage",
            &store,
        ];
        if json {
            a.push("--json");
        }
        a.push("www.example.com");
        let o = home.run(&a, &proxy);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "a warning does not fail the plan: {out}\n{err}"
        );
        assert!(
            api.requests
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.contains("acme-dns.example.net:8080/register")),
            "the request did not go through the proxy"
        );
        if json {
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
            let codes: Vec<&str> = doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["code"].as_str().unwrap())
                .collect();
            assert_eq!(codes, ["ACMEDNS_PLAIN_HTTP"], "{out}");
            assert_eq!(doc["findings"][0]["severity"], "warning");
        } else {
            let both = format!("{out}{err}");
            assert!(both.contains("ACMEDNS_PLAIN_HTTP"), "{both}");
            assert!(both.contains("clear text"), "{both}");
        }
    }
    // The same API on loopback: no warning.
    let o = home.run(
        &[
            "--plan",
            &plan,
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            &api.url,
            "--storage",
            &store,
            "--json",
            "www.example.com",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(!out.contains("ACMEDNS_PLAIN_HTTP"), "{out}");
}

/// In the lab: `plan --key` with the lab's real TSIG key, then `prove` (signed updates
/// to knot) and `check` with the textfile, all with trace logs: the secret shows nowhere.
#[test]
fn lab_tsig_secret_stays_out_of_plan_prove_and_check() {
    let Some(_lab) = common::lab() else { return };
    let kdig = std::fs::read_to_string(std::env::var("LAB_TSIG_KDIG").unwrap()).unwrap();
    let kdig = kdig.trim().to_string();
    let secret = kdig.rsplit(':').next().unwrap().to_string();
    assert!(secret.len() >= 16, "{kdig}");
    let secrets = [secret];
    let cfg = common::config();
    let home = Home::new("labtsig");
    std::fs::copy(&cfg, home.path("config.toml")).unwrap();
    let plan = home.p("plan.toml");
    let name = format!("sec{:x}.example.test", common::rand_suffix() & 0xffff_ffff);
    let o = home.run(
        &[
            "--plan",
            &plan,
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.12:53",
            "--key",
            &kdig,
            "--domain",
            "acme.lab",
            "--json",
            &name,
        ],
        TRACE_RUST,
    );
    let (out, err) = text(&o);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{out}\n{err}"
    );
    clean("plan's stdout", &out, &secrets);
    clean("plan's stderr (trace)", &err, &secrets);
    clean(
        "the plan file",
        &std::fs::read_to_string(&plan).unwrap(),
        &secrets,
    );
    let keyfile = home.path("xdg/data/acme-delegate/keys");
    assert_eq!(mode(&keyfile), 0o700);
    for f in files_under(&keyfile) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let o = home.run(
        &["--plan", &plan, "prove", "--timeout", "20", "--json"],
        TRACE_OURS,
    );
    let (out, err) = text(&o);
    assert!(err.contains("dns update"), "prove sent no update: {err}");
    clean("prove's stdout", &out, &secrets);
    clean("prove's stderr (trace)", &err, &secrets);
    let prom = home.p("lab.prom");
    let o = home.run(
        &[
            "--plan",
            &plan,
            "check",
            "--json",
            "--prometheus-textfile",
            &prom,
            &name,
        ],
        TRACE_RUST,
    );
    let (out, err) = text(&o);
    clean("check's stdout", &out, &secrets);
    clean("check's stderr (trace)", &err, &secrets);
    clean(
        "the textfile",
        &std::fs::read_to_string(&prom).unwrap(),
        &secrets,
    );
}

//! Bad input ends with exit 2 and a message that names the input and the fix, before any
//! query is sent; output that cannot be written ends without a panic. No lab needed.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// This test process's scratch folder (configs, names files, FIFOs, XDG dirs).
fn root() -> PathBuf {
    std::env::temp_dir().join(format!("ad-bad-input-{}", std::process::id()))
}

fn tmp(tag: &str) -> PathBuf {
    let d = root().join(tag);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The tests running now; the last one to end removes [`root`] (a later test makes it
/// again), so no run leaves its files in the temp folder, even when a test fails.
static RUNNING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// Held by every test for its whole run (see [`RUNNING`]).
struct Scratch;

impl Scratch {
    fn enter() -> Scratch {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Scratch
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut n = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            let _ = std::fs::remove_dir_all(root());
        }
    }
}

/// A config that points nowhere (nothing may be asked in these tests anyway). A file of
/// its own for each call: tests run in parallel, and two bodies may have the same length.
fn config(body: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = tmp("cfg").join(format!("c-{n}.toml"));
    std::fs::write(&p, body).unwrap();
    p
}

fn quiet_config() -> PathBuf {
    config(
        "roots = [\"127.0.0.1:9\"]\ntimeout_ms = 100\nresolvers = []\n[system]\nenabled = false\n",
    )
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_acme-delegate"));
    c.env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .env("XDG_CONFIG_HOME", tmp("xdg").join("config"))
        .env("XDG_DATA_HOME", tmp("xdg").join("data"))
        .stdin(Stdio::null());
    c
}

/// Runs with a 20 s bound.
fn run(mut c: Command) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn usage(args: &[&str], needles: &[&str]) {
    let cfg = quiet_config();
    let mut c = bin();
    c.arg("--config").arg(&cfg).args(args);
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn ip_addresses_are_not_names_for_dns01() {
    let _scratch = Scratch::enter();
    for ip in ["192.0.2.10", "2001:db8::1", "[2001:db8::1]"] {
        usage(
            &["check", ip],
            &[ip, "IP address", "http-01", "tls-alpn-01"],
        );
    }
    usage(
        &[
            "plan",
            "--zone",
            "hosted",
            "--target",
            "x.example.net",
            "192.0.2.10",
        ],
        &["http-01"],
    );
}

#[test]
fn idna2008_rejects_and_bad_punycode_are_refused() {
    let _scratch = Scratch::enter();
    for n in ["xn--zz.example.com", "☃.example.com", "ab--cd.example.com"] {
        usage(&["check", n], &[n, "IDNA2008"]);
    }
}

#[test]
fn a_ca_that_is_not_a_domain_name_is_refused() {
    let _scratch = Scratch::enter();
    for ca in [
        "https://letsencrypt.org",
        "lets encrypt",
        "*.letsencrypt.org",
        "192.0.2.1",
    ] {
        usage(
            &["diagnose", "--ca", ca, "www.example.com"],
            &[ca, "--ca", "letsencrypt.org"],
        );
    }
}

#[test]
fn flags_of_another_zone_kind_are_refused() {
    let _scratch = Scratch::enter();
    usage(
        &[
            "plan",
            "--zone",
            "hosted",
            "--target",
            "x.example.net",
            "--api",
            "https://a",
            "www.example.com",
        ],
        &["--api", "--zone hosted", "--target T"],
    );
    usage(
        &[
            "plan",
            "--zone",
            "acme-dns",
            "--api",
            "https://a",
            "--server",
            "127.0.0.1:53",
            "www.example.com",
        ],
        &["--server", "--zone acme-dns"],
    );
    usage(
        &[
            "plan",
            "--zone",
            "provider",
            "--provider",
            "x",
            "--domain",
            "z.example",
            "--server",
            "127.0.0.1:53",
            "www.example.com",
        ],
        &["--server", "--zone provider"],
    );
}

#[test]
fn an_input_file_over_one_mib_is_refused_without_reading_it_all() {
    let _scratch = Scratch::enter();
    let t = Instant::now();
    let mut c = bin();
    c.args(["--config", "/dev/zero", "check", "www.example.com"]);
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // A device is not read at all (issue 18: only regular files are).
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    // A regular file over 1 MiB (sparse: nothing is written).
    let big = tmp("big").join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((1 << 20) + 1)
        .unwrap();
    let mut c = bin();
    c.args(["--config"])
        .arg(&big)
        .args(["check", "www.example.com"]);
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("big.toml") && err.contains("1 MiB"), "{err}");
    let mut c = bin();
    c.args(["--config"]).arg(quiet_config());
    c.args(["--plan"])
        .arg(&big)
        .args(["check", "www.example.com"]);
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("1 MiB"), "{err}");
}

#[test]
fn config_addresses_and_files_are_checked() {
    let _scratch = Scratch::enter();
    for (body, needles) in [
        (
            "[system]\nresolv_conf = \"/nonexistent/resolv.conf\"\n",
            vec![
                "/nonexistent/resolv.conf",
                "does not exist",
                "system.resolv_conf",
            ],
        ),
        ("roots = [\"127.0.0.1:0\"]\n", vec!["port 0", "roots"]),
        (
            "roots = [\"::1:53\"]\n",
            vec!["::1:53", "brackets", "[::1]:53"],
        ),
        (
            "[[resolvers]]\nname = \"x\"\naddress = \"2001:db8::53\"\n",
            vec!["brackets", "resolvers.address"],
        ),
    ] {
        let cfg = config(body);
        let mut c = bin();
        c.arg("--config")
            .arg(&cfg)
            .args(["check", "www.example.com"]);
        let out = run(c);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        for n in needles {
            assert!(err.contains(n), "{body}: {n:?} not in {err}");
        }
    }
    usage(
        &[
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.1:0",
            "--key",
            "hmac-sha256:k:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
            "--domain",
            "z.example",
            "www.example.com",
        ],
        &["port 0"],
    );
    usage(
        &[
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "::1:53",
            "--key",
            "hmac-sha256:k:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
            "--domain",
            "z.example",
            "www.example.com",
        ],
        &["brackets"],
    );
}

#[test]
fn json_failures_are_one_json_document() {
    let _scratch = Scratch::enter();
    let cfg = quiet_config();
    let mut c = bin();
    c.arg("--config")
        .arg(&cfg)
        .args(["check", "--json", "192.0.2.1"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["exit"], 2);
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("IP address"));
}

/// Output to a closed pipe (`acme-delegate ... | head -1`) or a full disk (`> /dev/full`):
/// no panic (exit 101, a backtrace), a short message on stderr.
#[test]
fn a_closed_stdout_or_a_full_disk_is_not_a_panic() {
    let _scratch = Scratch::enter();
    let cfg = quiet_config();
    // A pipe whose reading end is already closed: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = bin();
    c.arg("--config").arg(&cfg);
    let out = c.stdout(writer).stderr(Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("cannot write the output") && err.contains("broken pipe"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut c = bin();
    c.arg("--config").arg(&cfg);
    let out = c.stdout(full).stderr(Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("cannot write the output") && err.contains("No space left"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
}

/// `--names-from FILE`: a bad name is named with its file and line, an empty list and an
/// endless file (`/dev/zero`) are refused at once; nothing is asked.
#[test]
fn a_names_file_is_checked_line_by_line() {
    let _scratch = Scratch::enter();
    let f = tmp("names").join("names.txt");
    std::fs::write(
        &f,
        "# the shop\nshop.example.com, *.shop.example.com\n\nwww..example.com # typo\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    usage(
        &["check", "--names-from", p],
        &[p, "line 4", "www..example.com"],
    );
    let empty = tmp("names").join("empty.txt");
    std::fs::write(&empty, "# nothing yet\n\n").unwrap();
    usage(
        &["check", "--names-from", empty.to_str().unwrap()],
        &["no names in it"],
    );
    let t = Instant::now();
    usage(
        &["diagnose", "--names-from", "/dev/zero"],
        &["/dev/zero", "not a regular file"],
    );
    let big = tmp("names").join("big.txt");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    usage(
        &["diagnose", "--names-from", big.to_str().unwrap()],
        &["big.txt", "64 MiB"],
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    usage(
        &["check", "--names-from", "/nonexistent/names.txt"],
        &["/nonexistent/names.txt"],
    );
    // Neither NAMEs nor --names-from: clap says what is missing.
    usage(&["check"], &["NAME"]);
}

/// Every input file that is not a regular file is refused at once with exit 2 (main hung
/// forever on `diagnose --client-config FIFO`): config, plan, names list, client config,
/// key file.
#[test]
fn a_fifo_given_as_any_input_file_is_refused_at_once() {
    let _scratch = Scratch::enter();
    let dir = tmp("fifo");
    let fifo = dir.join("input.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let f = fifo.to_str().unwrap();
    let cfg = quiet_config();
    let c = cfg.to_str().unwrap();
    for args in [
        vec![
            "diagnose",
            "--config",
            c,
            "--client-config",
            f,
            "www.example.com",
        ],
        vec!["--config", f, "check", "www.example.com"],
        vec!["--config", c, "--plan", f, "check", "www.example.com"],
        vec!["--config", c, "check", "--names-from", f],
        vec![
            "--config",
            c,
            "--plan",
            dir.join("p.toml").to_str().unwrap(),
            "plan",
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.1:9",
            "--key-file",
            f,
            "--domain",
            "acme.example.net",
            "www.example.com",
        ],
    ] {
        let t = Instant::now();
        let mut cmd = bin();
        cmd.args(&args);
        let out = run(cmd);
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "diagnose" {
            // diagnose reports a client config it cannot use as a finding.
            assert!(err.contains("CLIENT_CONFIG_UNREADABLE"), "{err}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        }
        assert!(
            err.contains("input.fifo") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{args:?}: {:?}",
            t.elapsed()
        );
    }
}

/// `--provider` must be a provider code lego knows; the nearest one is named (main
/// accepted `'no such'`). An all-numeric TLD is not a name (main accepted it).
#[test]
fn an_unknown_provider_and_a_numeric_tld_are_refused() {
    let _scratch = Scratch::enter();
    usage(
        &[
            "plan",
            "--plan",
            tmp("prov").join("p.toml").to_str().unwrap(),
            "--zone",
            "provider",
            "--provider",
            "cloudfare",
            "--domain",
            "z.example.net",
            "www.example.com",
        ],
        &["\"cloudfare\"", "did you mean \"cloudflare\""],
    );
    assert!(!tmp("prov").join("p.toml").exists(), "nothing is saved");
    usage(
        &["check", "www.example.123"],
        &["www.example.123", "all digits"],
    );
}

/// The certbot hook takes only a DNS-01 value: 43 characters of base64url; anything else
/// exits 2 before anything is published (main published whatever it was given).
#[test]
fn the_certbot_hook_refuses_a_value_that_is_not_a_dns01_digest() {
    let _scratch = Scratch::enter();
    use acme_delegate::dns::Name;
    use acme_delegate::model::plan::{Plan, PlannedName, ZoneSpec};
    let plan = tmp("hook").join("plan.toml");
    Plan {
        version: 1,
        zone: ZoneSpec::Hosted {
            target: Name::from_ascii("t.acme.example.net"),
        },
        names: vec![PlannedName {
            name: "www.example.com".into(),
            challenge: Name::from_ascii("_acme-challenge.www.example.com"),
            target: Name::from_ascii("t.acme.example.net"),
            zone: None,
        }],
    }
    .save(&plan)
    .unwrap();
    let cfg = quiet_config();
    for value in [
        "x",
        "hook-token-1",
        "gfj9Xq+Rm/aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8hJ",
        "gfj9Xq-Rm_aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8hJX",
    ] {
        for kind in ["certbot-auth", "certbot-cleanup"] {
            let mut c = bin();
            c.arg("--config").arg(&cfg).arg("--plan").arg(&plan);
            c.args(["hook", kind])
                .env("CERTBOT_DOMAIN", "www.example.com")
                .env("CERTBOT_VALIDATION", value);
            let out = run(c);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{kind} {value}: {err}");
            assert!(
                err.contains("CERTBOT_VALIDATION") && err.contains("43 characters"),
                "{err}"
            );
        }
    }
}

//! Shared by the lab tests: where the lab is, and how to run the binary against it.
//!
//! Every lab test begins with `let Some(_lab) = common::lab() else { return };`. The lab
//! (tests/lab/start.sh) runs when the suite is started with `bash tests/lab/test.sh`, which
//! starts it in a private network namespace, exports `LAB_RUN_DIR` / `LAB_CONFIG` and sets
//! `LAB_REQUIRED=1`. Without the lab a plain `cargo test` skips each lab test with a
//! one-line reason; with `LAB_REQUIRED=1` a missing lab fails the test instead.
#![allow(dead_code)]

pub mod issuance;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// What a lab test does, given the environment.
#[derive(Debug, PartialEq, Eq)]
pub enum LabGate {
    /// The lab runs: its run folder.
    Run(PathBuf),
    /// No lab, and none is required: skip, for this reason.
    Skip(String),
    /// No lab, but `LAB_REQUIRED` is set: fail, for this reason.
    Fail(String),
}

/// The decision, from the values of `LAB_CONFIG`, `LAB_RUN_DIR` and `LAB_REQUIRED` and a
/// file-existence check (pure, so that tests/lab_gate.rs can test it without a lab).
pub fn lab_gate(
    config: Option<&OsStr>,
    run_dir: Option<&OsStr>,
    required: Option<&OsStr>,
    exists: impl Fn(&Path) -> bool,
) -> LabGate {
    let missing = match (config, run_dir) {
        (None, _) => Some("LAB_CONFIG unset".to_string()),
        (_, None) => Some("LAB_RUN_DIR unset".to_string()),
        (Some(c), Some(d)) => {
            let (c, d) = (Path::new(c), Path::new(d));
            if !exists(&d.join(".lab-run")) {
                Some(format!("no {}", d.join(".lab-run").display()))
            } else if !exists(c) {
                Some(format!("no {}", c.display()))
            } else {
                return LabGate::Run(d.to_path_buf());
            }
        }
    };
    let reason = format!(
        "lab not running ({}); run tests/lab/test.sh",
        missing.unwrap_or_default()
    );
    let required = required.is_some_and(|v| !v.is_empty() && v != "0");
    if required {
        LabGate::Fail(format!("LAB_REQUIRED is set: {reason}"))
    } else {
        LabGate::Skip(reason)
    }
}

/// The gate every lab test goes through: the run folder when the lab runs; None (after one
/// line on stderr, past the test harness's capture) when the test is to be skipped; a
/// panic when `LAB_REQUIRED` is set and the lab is not running.
pub fn lab() -> Option<PathBuf> {
    let var = std::env::var_os;
    let gate = lab_gate(
        var("LAB_CONFIG").as_deref(),
        var("LAB_RUN_DIR").as_deref(),
        var("LAB_REQUIRED").as_deref(),
        |p| p.exists(),
    );
    match gate {
        LabGate::Run(dir) => Some(dir),
        LabGate::Skip(reason) => {
            // One write of the whole line, so that lines of parallel tests do not mix.
            let test = std::thread::current().name().unwrap_or("").to_string();
            let line = format!("{test}: skipped: {reason}\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            None
        }
        LabGate::Fail(reason) => panic!("{reason}"),
    }
}

/// The lab's run folder (after [`lab`] let the test run); panics with the fix when the lab
/// is not running.
pub fn run_dir() -> PathBuf {
    match std::env::var_os("LAB_RUN_DIR") {
        Some(d) if PathBuf::from(&d).join(".lab-run").exists() => PathBuf::from(d),
        _ => panic!(
            "the DNS lab is not running: run the tests with `bash tests/lab/test.sh` \
             (it starts the lab in a private network namespace and sets LAB_RUN_DIR); \
             every lab test must begin with `common::lab()`"
        ),
    }
}

/// The acme-delegate config that points at the lab.
pub fn config() -> PathBuf {
    run_dir().join("acme-delegate.toml")
}

/// Writes a config variant into a temp file (for tests that need other resolvers).
pub fn config_with(body: &str) -> PathBuf {
    let dir = run_dir().join("test-configs");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("cfg-{}-{}.toml", std::process::id(), rand_suffix()));
    std::fs::write(&p, body).unwrap();
    p
}

pub fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    n ^ (std::process::id() as u64) << 32
}

/// Starts the binary (stdout/stderr piped) with the test environment: no colour, no
/// config from the environment, and the user's config/data dirs (saved plan, acme-dns
/// accounts) kept out of the tests.
pub fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .env("XDG_CONFIG_HOME", run_dir().join("xdg/config"))
        .env("XDG_DATA_HOME", run_dir().join("xdg/data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn acme-delegate")
}

/// Runs the binary with a time bound; returns its output.
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut child = spawn(args);
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "acme-delegate {:?} did not finish within {:?}\nstdout: {}\nstderr: {}",
                args,
                limit,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `check --json` against the lab: (exit status, parsed document).
pub fn check_json(extra: &[&str]) -> (i32, serde_json::Value) {
    let cfg = config();
    let mut args = vec!["check", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = run(&args, Duration::from_secs(60));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// The codes of a name's findings, with severities: [("CNAME_MISSING", "error"), ...].
pub fn findings(doc: &serde_json::Value, name: &str) -> Vec<(String, String)> {
    let n = doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report: {doc}"));
    n["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Runs a shell command (kdig, knsupdate, ...) with the lab environment, time-bounded.
pub fn sh(script: &str) -> Output {
    Command::new("timeout")
        .args(["30", "bash", "-c", script])
        .output()
        .expect("run bash")
}

pub fn plan_file() -> PathBuf {
    run_dir().join(format!("plan-{}.toml", rand_suffix()))
}

pub fn cli(args: &[&str]) -> (i32, String, String) {
    let cfg = config();
    let mut a = vec!["--config", cfg.to_str().unwrap()];
    a.extend_from_slice(args);
    let out = run(&a, Duration::from_secs(90));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// `plan --zone rfc2136` for one name into `slow.lab.` or `acme.lab.`; returns the target.
pub fn plan_rfc2136(
    plan: &std::path::Path,
    zone: &str,
    key: &str,
    name: &str,
) -> (i32, serde_json::Value) {
    plan_rfc2136_names(plan, zone, key, &[name])
}

/// `plan --zone rfc2136` for the names into `zone` with the key file named by the
/// environment variable `key`: (exit status, the JSON document).
pub fn plan_rfc2136_names(
    plan: &std::path::Path,
    zone: &str,
    key: &str,
    names: &[&str],
) -> (i32, serde_json::Value) {
    let key = std::env::var(key).unwrap();
    let mut args = vec![
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key-file",
        &key,
        "--domain",
        zone,
    ];
    args.extend_from_slice(names);
    let (rc, out, err) = cli(&args);
    assert!(rc == 0 || rc == 1, "{rc} {out} {err}");
    (rc, json(&out))
}

/// Tests of one binary run in parallel. A test that checks the production zone's serial
/// (nothing but the validation zone was written) holds [`production_read`] from reading the
/// serial to checking it; writes to example.test hold [`production_write`].
static PRODUCTION: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub fn production_read() -> std::sync::RwLockReadGuard<'static, ()> {
    PRODUCTION.read().unwrap_or_else(|e| e.into_inner())
}

pub fn production_write() -> std::sync::RwLockWriteGuard<'static, ()> {
    PRODUCTION.write().unwrap_or_else(|e| e.into_inner())
}

/// Publishes `_acme-challenge.<name> CNAME <target>` in example.test (the user's one manual step).
pub fn publish_cname(name: &str, target: &str) {
    let _w = production_write();
    let out = sh(&format!(
        "knsupdate -t 5 -y \"$(cat $LAB_TSIG_KDIG)\" <<EOF\nserver 127.0.0.11 53\nzone example.test.\nupdate add _acme-challenge.{name}. 60 CNAME {target}\nsend\nEOF"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A resolver that keeps a negative answer: lab-unbound2 (127.0.0.54, which keeps them
/// for the SOA minimum of example.test, 300 s) is asked `_acme-challenge.<name>` before
/// it exists and caches NXDOMAIN; then its CNAME is published ([`publish_cname`]).
pub fn cache_nxdomain_then_publish(name: &str, target: &str) {
    let out = sh(&format!(
        "kdig @127.0.0.54 +timeout=2 +retry=0 TXT _acme-challenge.{name} | grep -q 'status: NXDOMAIN'"
    ));
    assert!(
        out.status.success(),
        "lab-unbound2 did not answer NXDOMAIN at _acme-challenge.{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    publish_cname(name, target);
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}.example.test", rand_suffix() % 1_000_000)
}

/// Plans `name` into an RFC 2136 validation zone with the acme-update key and publishes
/// its CNAME (the user's one manual step): (plan file, target).
pub fn planned_and_published(zone: &str, name: &str) -> (PathBuf, String) {
    let plan = plan_file();
    let (_, doc) = plan_rfc2136(&plan, zone, "LAB_TSIG_BIND_KEY", name);
    let target = doc["names"][0]["target"].as_str().unwrap().to_string();
    publish_cname(name, &target);
    (plan, target)
}

/// `prove --plan P --json --timeout SECS`: (exit status, document, stderr).
pub fn prove_json(plan: &std::path::Path, timeout: &str) -> (i32, serde_json::Value, String) {
    let (rc, out, err) = cli(&[
        "prove",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
        "--timeout",
        timeout,
    ]);
    (rc, json(&out), err)
}

/// (code, severity) is among the findings.
pub fn has(f: &[(String, String)], code: &str, sev: &str) -> bool {
    f.iter().any(|(c, s)| c == code && s == sev)
}

/// The report of one name.
pub fn name<'a>(doc: &'a serde_json::Value, n: &str) -> &'a serde_json::Value {
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == n)
        .unwrap_or_else(|| panic!("{n} not in the report: {doc:#}"))
}

/// The first finding with `code` for name `n` (panics with the report if there is none).
pub fn finding<'a>(doc: &'a serde_json::Value, n: &str, code: &str) -> &'a serde_json::Value {
    name(doc, n)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} for {n}: {doc:#}"))
}

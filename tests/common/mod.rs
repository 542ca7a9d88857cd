//! Shared by the lab tests: where the lab is, and how to run the binary against it.
//!
//! The lab (tests/lab/start.sh) must be running: run the suite with `bash tests/lab/test.sh`,
//! which starts it in a private network namespace and exports `LAB_RUN_DIR` / `LAB_CONFIG`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// The lab's run folder; panics with the fix when the lab is not running.
pub fn run_dir() -> PathBuf {
    match std::env::var_os("LAB_RUN_DIR") {
        Some(d) if PathBuf::from(&d).join(".lab-run").exists() => PathBuf::from(d),
        _ => panic!(
            "the DNS lab is not running: run the tests with `bash tests/lab/test.sh` \
             (it starts the lab in a private network namespace and sets LAB_RUN_DIR)"
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

/// Starts the binary (stdout/stderr piped) with the test environment.
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        // keep the user's config/data dirs (saved plan, acme-dns accounts) out of the tests
        .env("XDG_CONFIG_HOME", run_dir().join("xdg/config"))
        .env("XDG_DATA_HOME", run_dir().join("xdg/data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn acme-delegate");
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

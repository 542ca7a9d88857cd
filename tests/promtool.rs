//! The Prometheus textfile passes `promtool check metrics` (Debian's `prometheus` package,
//! installed by tests/lab/test.sh). Without promtool the test is skipped with the reason; with
//! `LAB_REQUIRED=1` (the test command) a missing promtool fails it instead.

use acme_delegate::dns::Name;
use acme_delegate::findings::{Code, Finding, Severity};
use acme_delegate::report::{prometheus, NameReport, Report};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `promtool`, or None after saying why the test is skipped (panics under LAB_REQUIRED).
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let reason = "promtool not found (Debian: apt-get install prometheus)";
        let required = std::env::var("LAB_REQUIRED").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "LAB_REQUIRED is set: {reason}");
        eprintln!("skipped: {reason}");
    }
    found
}

/// Runs `promtool check metrics` on `text`: (passed, what it said).
fn check(promtool: &Path, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("promtool did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn name(n: &str, findings: Vec<Finding>) -> NameReport {
    NameReport {
        name: n.into(),
        challenge: Name::from_ascii(&format!("_acme-challenge.{n}")),
        target: None,
        ok: !findings.iter().any(|f| f.severity == Severity::Error),
        inconclusive: false,
        chain: vec![],
        views: vec![],
        findings,
    }
}

/// Every finding code, on names with characters the format escapes, in both commands.
#[test]
fn every_code_and_escaped_labels_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    let all: Vec<Finding> = Code::ALL
        .iter()
        .map(|c| Finding::new(*c, "www.example.com", "e".into(), "f".into()))
        .collect();
    let report = Report {
        version: 1,
        names: vec![
            name("www.example.com", all.clone()),
            name("*.example.com", vec![]),
            name("xn--bcher-kva.example", all[..3].to_vec()),
            name("odd\"name\\with\nescapes", vec![all[0].clone()]),
            name("www.example.com", vec![]),
        ],
    };
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for command in ["check", "diagnose"] {
        let text = prometheus::render_at(&report, command, at);
        let (ok, said) = check(&promtool, &text);
        assert!(ok, "promtool rejects the {command} file: {said}\n{text}");
    }
    // An empty run too.
    let empty = Report {
        version: 1,
        names: vec![],
    };
    let text = prometheus::render_at(&empty, "check", SystemTime::now());
    let (ok, said) = check(&promtool, &text);
    assert!(ok, "promtool rejects the empty file: {said}\n{text}");
}

/// The file the binary writes (`check --prometheus-textfile`), here from a run whose
/// servers are a closed loopback port: every name inconclusive.
#[test]
fn the_file_check_writes_passes_promtool() {
    let Some(promtool) = promtool() else { return };
    let dir = std::env::temp_dir().join(format!("acme-delegate-promtool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        "roots = [\"127.0.0.1:9\"]\ntimeout_ms = 200\nattempts = 1\nresolvers = []\n\
         [system]\nenabled = false\n",
    )
    .unwrap();
    let prom = dir.join("acme-delegate.prom");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "check",
            "--prometheus-textfile",
        ])
        .arg(&prom)
        .args(["www.example.com", "*.example.com"])
        .env("XDG_CONFIG_HOME", dir.join("xdg/config"))
        .env("XDG_DATA_HOME", dir.join("xdg/data"))
        .env_remove("ACME_DELEGATE_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("check did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&prom).expect("check wrote the textfile");
    assert!(
        text.contains("acme_delegate_name_ok{name=\"www.example.com\""),
        "{text}"
    );
    let (ok, said) = check(&promtool, &text);
    assert!(ok, "promtool rejects the file check wrote: {said}\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `promtool ARGS` in contrib/prometheus/: (passed, what it said).
fn promtool_in_contrib(promtool: &Path, args: &[&str]) -> (bool, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus");
    let mut child = Command::new(promtool)
        .args(args)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("promtool {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The files users copy (contrib/prometheus/) are what Prometheus accepts, and the rules do
/// what they say: the recording rule finds PERSPECTIVES_DISAGREE, each alert fires
/// (`promtool test rules` on made-up series).
#[test]
fn contrib_prometheus_files_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "acme-delegate.rules.yml"],
        &["test", "rules", "acme-delegate.rules.test.yml"],
    ] {
        let (ok, said) = promtool_in_contrib(&promtool, args);
        assert!(ok, "promtool {args:?}: {said}");
    }
    // The shipped alert fires on acme_delegate_ok == 0, the series the exporter serves.
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus/acme-delegate.rules.yml"),
    )
    .unwrap();
    assert!(rules.contains("expr: acme_delegate_ok == 0"));
    assert!(rules.contains("code: PERSPECTIVES_DISAGREE"));
}

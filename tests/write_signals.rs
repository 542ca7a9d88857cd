//! `write` and signals, locks and default places (issue 18, items 9 and 14): a SIGTERM at
//! any moment of a write leaves no temporary file (main left a `.tmpXXXXXX`, mode 0600,
//! holding the secret, 1 run in 40), and the exit status is then 130; every file's full
//! path is printed before it is written, the default places said as such. No lab needed.

use acme_delegate::dns::Name;
use acme_delegate::model::plan::{Plan, PlannedName, ZoneSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ad-write-sig-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An RFC 2136 plan with its key file, in `dir`.
fn plan_in(dir: &Path) -> PathBuf {
    let key = dir.join("k.key");
    std::fs::write(
        &key,
        "key \"acme-update\" {\n algorithm hmac-sha256;\n secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n",
    )
    .unwrap();
    let plan = dir.join("plan.toml");
    Plan {
        version: 1,
        zone: ZoneSpec::Rfc2136 {
            server: "127.0.0.1:53".into(),
            zone: Name::from_ascii("acme.example.net"),
            key_file: key,
        },
        names: vec![PlannedName {
            name: "www.example.com".into(),
            challenge: Name::from_ascii("_acme-challenge.www.example.com"),
            target: Name::from_ascii("www-example-com.acme.example.net"),
            zone: None,
        }],
    }
    .save(&plan)
    .unwrap();
    plan
}

fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_acme-delegate"));
    c.env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if name.starts_with(".tmp") || name.contains(".tmp.") {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_sigterm_during_write_leaves_no_temporary_file_and_exits_130() {
    let home = tmp("term");
    let plan = plan_in(&home);
    let out = home.join("out");
    let mut codes = std::collections::BTreeMap::new();
    for i in 0..40u64 {
        let _ = std::fs::remove_dir_all(&out);
        let mut c = bin(&home);
        c.arg("--plan").arg(&plan);
        c.args(["write", "--client", "lego", "--client", "traefik", "--out"])
            .arg(&out);
        let child = c.spawn().unwrap();
        // Spread over the write's lifetime (a debug build takes some ms to start).
        std::thread::sleep(Duration::from_micros(500 + i * 400));
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let t = Instant::now();
        let o = child.wait_with_output().unwrap();
        assert!(t.elapsed() < Duration::from_secs(10));
        *codes.entry(o.status.code()).or_insert(0) += 1;
        assert!(
            matches!(o.status.code(), Some(0 | 130) | None),
            "run {i}: {:?} {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        if out.exists() {
            let left = leftovers(&out);
            assert!(left.is_empty(), "run {i}: temporary files left: {left:?}");
            assert!(
                !out.join(".acme-delegate.lock").exists(),
                "run {i}: lock left"
            );
        }
    }
    eprintln!("exit statuses: {codes:?}");
    assert!(codes.contains_key(&Some(130)), "{codes:?}");
}

/// Without --out the files go to the client's default places (relative to the current
/// folder or the home): each is printed in full before it is written.
#[test]
fn the_full_path_of_every_default_location_is_printed_before_writing() {
    let home = tmp("paths");
    let plan = plan_in(&home);
    let cwd = home.join("checkout");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut c = bin(&home);
    c.current_dir(&cwd).arg("--plan").arg(&plan);
    c.args(["write", "--client", "lego"]);
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("acme-delegate: writing /"))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    for l in &lines {
        assert!(l.contains("(default location"), "{l}");
        let path = l
            .trim_start_matches("acme-delegate: writing ")
            .split(" (default")
            .next()
            .unwrap();
        assert!(Path::new(path).exists(), "{path} was written: {err}");
    }
}

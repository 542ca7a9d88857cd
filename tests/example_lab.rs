//! `examples/check_one.rs` (the library alone, no terminal) against the lab: it streams
//! the engine's events as JSON lines and gives the verdict and the exit status `check`
//! gives.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The example's binary: `cargo test` builds the examples beside the test binaries
/// (target/<profile>/examples/).
fn example_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("examples").join("check_one");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo test` (which builds the examples) or \
         `cargo build --example check_one`",
        bin.display()
    );
    bin
}

fn run_example(name: &str) -> (i32, Vec<serde_json::Value>, String) {
    let cfg = common::config();
    let mut child = Command::new(example_bin())
        .args([name, cfg.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the example");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("check_one did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let verdict = lines.pop().unwrap_or_default().to_string();
    let events = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    (out.status.code().unwrap_or(-1), events, verdict)
}

fn kinds(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

#[test]
fn check_one_streams_the_events_of_a_healthy_name() {
    let Some(_lab) = common::lab() else { return };
    let (rc, events, verdict) = run_example("www.example.test");
    assert_eq!(rc, 0, "{events:#?}");
    assert_eq!(verdict, "www.example.test: works");
    let kinds = kinds(&events);
    assert_eq!(kinds.first(), Some(&"run_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"run_done"), "{kinds:?}");
    assert!(kinds.contains(&"hop"), "{kinds:?}");
    assert!(kinds.contains(&"vantage"), "{kinds:?}");
    let done = events.iter().find(|e| e["event"] == "name_done").unwrap();
    assert_eq!(done["ok"], true);
}

#[test]
fn check_one_gives_the_verdict_check_gives_for_a_broken_name() {
    let Some(_lab) = common::lab() else { return };
    let fqdn = common::unique("nocname");
    let (rc, events, verdict) = run_example(&fqdn);
    let (check_rc, _) = common::check_json(&[&fqdn]);
    assert_eq!(rc, check_rc);
    assert_eq!(rc, 1, "{events:#?}");
    assert_eq!(verdict, format!("{fqdn}: does not work"));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "finding" && e["finding"]["code"] == "CNAME_MISSING"),
        "{events:#?}"
    );
}

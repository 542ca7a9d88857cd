//! `merge` on reports from two networks that see different answers: the split-horizon
//! scenario (unbound-inside, 127.0.0.55, overrides `_acme-challenge.splithorizon`). From
//! the "outside" network the system resolver is lab-unbound (127.0.0.53), from the
//! "inside" network it is unbound-inside; both runs are given the lego config whose
//! propagation check uses the system resolver, so the inside view is an error there (as a
//! real lego issuance from pebble shows in verdict_lab.rs). `merge` reports
//! PERSPECTIVES_DISAGREE naming both networks, with exit status 1; `--quorum 1` lets the
//! name work with the finding as a warning.

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

fn lego_env(dir: &Path) -> PathBuf {
    let p = dir.join("lego.env");
    let mut body = String::new();
    for k in [
        "RFC2136_NAMESERVER",
        "RFC2136_TSIG_KEY",
        "RFC2136_TSIG_SECRET",
        "RFC2136_TSIG_ALGORITHM",
    ] {
        body.push_str(&format!("{k}={}\n", std::env::var(k).unwrap()));
    }
    std::fs::write(&p, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// A config whose system (inside) resolver is `system`.
fn network(system: &str) -> PathBuf {
    common::config_with(&format!(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nmax_qps_per_server = 0\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n\
         [system]\nservers = [\"{system}\"]\n"
    ))
}

/// `diagnose --json` from one network, saved to `out`.
fn report(label: &str, system: &str, lego: &Path, out: &Path) -> Value {
    let cfg = network(system);
    let o = common::run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "diagnose",
            "--json",
            "--vantage-label",
            label,
            "--client-config",
            lego.to_str().unwrap(),
            "splithorizon.example.test",
            "www.example.test",
        ],
        LIMIT,
    );
    std::fs::write(out, &o.stdout).unwrap();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{label}: {e}: {}", String::from_utf8_lossy(&o.stderr)))
}

/// `merge ARGS` with `stdin` on its standard input: (exit status, stdout).
fn merge(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .arg("merge")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < LIMIT, "merge did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn named<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc:#}"))
}

#[test]
fn merge_reports_the_networks_that_disagree() {
    let Some(_lab) = common::lab() else { return };
    let dir = common::run_dir().join(format!("merge-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let lego = lego_env(&dir);
    let (outside_f, inside_f) = (dir.join("outside.json"), dir.join("inside.json"));
    let outside = report("outside", "127.0.0.53:53", &lego, &outside_f);
    let inside = report("inside", "127.0.0.55:53", &lego, &inside_f);

    // Each report names where it was taken, when, and with which resolvers.
    assert_eq!(outside["vantage_label"], "outside");
    assert!(outside["taken_at"].as_str().unwrap().ends_with('Z'));
    let servers: Vec<&str> = inside["resolvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["127.0.0.53:53", "127.0.0.55:53"], "{inside:#}");
    // The two networks see different answers.
    assert_eq!(named(&outside, "splithorizon.example.test")["ok"], true);
    assert_eq!(named(&inside, "splithorizon.example.test")["ok"], false);

    // merge: the inside report from standard input.
    let stdin = std::fs::read(&inside_f).unwrap();
    let (rc, out, err) = merge(&["--json", outside_f.to_str().unwrap(), "-"], &stdin);
    assert_eq!(rc, 1, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let labels: Vec<&str> = doc["vantages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vantage_label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["outside", "inside"]);
    let sh = named(&doc, "splithorizon.example.test");
    assert_eq!(sh["ok"], false);
    let f = &sh["findings"][0];
    assert_eq!(f["code"], "PERSPECTIVES_DISAGREE", "{sh:#}");
    assert_eq!(f["severity"], "error");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("works from outside") && ev.contains("fails from inside (SPLIT_HORIZON"),
        "{ev}"
    );
    // The inside network's own finding follows, labelled with its network.
    assert!(sh["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "SPLIT_HORIZON" && f["vantage_label"] == "inside"));
    // www works from both: no disagreement.
    let www = named(&doc, "www.example.test");
    assert_eq!(www["ok"], true, "{www:#}");
    assert!(www["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["code"] != "PERSPECTIVES_DISAGREE"));

    // The table says the same.
    let (rc, out, _) = merge(
        &[outside_f.to_str().unwrap(), inside_f.to_str().unwrap()],
        b"",
    );
    assert_eq!(rc, 1);
    assert!(out.contains("FAIL  splithorizon.example.test"), "{out}");
    assert!(out.contains("works from 1 of 2 networks"), "{out}");
    assert!(out.contains("error   PERSPECTIVES_DISAGREE"), "{out}");

    // One failing perspective allowed: the name works, the disagreement is a warning.
    let (rc, out, _) = merge(
        &[
            "--json",
            "--quorum",
            "1",
            outside_f.to_str().unwrap(),
            inside_f.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(rc, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let sh = named(&doc, "splithorizon.example.test");
    assert_eq!(sh["ok"], true);
    assert_eq!(sh["findings"][0]["severity"], "warning");

    // Bad input: one network twice, a directory, a FIFO.
    let (rc, _, err) = merge(
        &[outside_f.to_str().unwrap(), outside_f.to_str().unwrap()],
        b"",
    );
    assert_eq!(rc, 2);
    assert!(err.contains("--vantage-label"), "{err}");
    let (rc, _, err) = merge(&[outside_f.to_str().unwrap(), dir.to_str().unwrap()], b"");
    assert_eq!(rc, 2);
    assert!(err.contains("not a regular file"), "{err}");
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (rc, _, err) = merge(&[outside_f.to_str().unwrap(), fifo.to_str().unwrap()], b"");
    assert_eq!(rc, 2);
    assert!(err.contains("not a regular file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! A server that dies in the middle of a run: knot-lab (127.0.0.12, the only server of
//! `lab.` and `acme.lab.`, and one of the two of `bench.test.`) is frozen with SIGSTOP
//! while `check` works through the 1,000 bench names. Today's main waited out every
//! name's own timeouts (88 s instead of 0.26 s); a server that stopped answering is now
//! remembered for the run, so the run takes about one timeout more than a clean one, with
//! the same findings for every name. Its own test binary: freezing a lab server must not
//! disturb other tests.

mod common;

use std::time::{Duration, Instant};

fn knot_lab_pid() -> String {
    std::fs::read_to_string(common::run_dir().join("pids/knot-lab.pid"))
        .unwrap()
        .trim()
        .to_string()
}

/// SIGCONT on drop, whatever happens.
struct Thaw(String);
impl Drop for Thaw {
    fn drop(&mut self) {
        common::sh(&format!("kill -CONT {}", self.0));
    }
}

/// The output of a child whose stdout is larger than a pipe buffer, within `limit`.
fn bounded(child: std::process::Child, limit: Duration) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            common::sh(&format!("kill -KILL {pid}"));
            panic!("acme-delegate did not finish within {limit:?}");
        }
    }
}

#[test]
fn a_server_frozen_mid_run_costs_about_one_timeout() {
    let Some(_lab) = common::lab() else { return };
    let names: Vec<String> = (0..1000).map(|i| format!("n{i:04}.bench.test")).collect();
    // timeout 1 s, 2 attempts: one full timeout is 2 s.
    let cfg = common::config_with(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nattempts = 2\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[system]\nenabled = false\n",
    );
    let mut args = vec!["check", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend(names.iter().map(String::as_str));

    let t = Instant::now();
    let clean = bounded(common::spawn(&args), Duration::from_secs(120));
    let clean_took = t.elapsed();
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let pid = knot_lab_pid();
    let t = Instant::now();
    let child = common::spawn(&args);
    std::thread::sleep(Duration::from_millis(20));
    let _thaw = Thaw(pid.clone());
    assert!(common::sh(&format!("kill -STOP {pid}")).status.success());
    let out = bounded(child, Duration::from_secs(150));
    let frozen_took = t.elapsed();
    drop(_thaw);

    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("clean {clean_took:?}, frozen {frozen_took:?}");
    // About one timeout more than the clean run (2 s), with room for a loaded machine;
    // without the memory of dead servers this took over 60 s.
    assert!(
        frozen_took < clean_took + Duration::from_secs(8),
        "clean {clean_took:?}, frozen {frozen_took:?}"
    );
    // The names done before the freeze are clean; every other name has the same
    // findings, and they say the server did not answer.
    let mut groups: std::collections::BTreeMap<Vec<(String, String)>, usize> = Default::default();
    for n in &names {
        let mut f = common::findings(&doc, n);
        f.sort();
        *groups.entry(f).or_default() += 1;
    }
    let frozen: Vec<_> = groups.iter().filter(|(f, _)| !f.is_empty()).collect();
    assert_eq!(
        frozen.len(),
        1,
        "more than one set of findings: {groups:#?}"
    );
    let (codes, count) = frozen[0];
    assert!(
        *count >= 900,
        "only {count} names saw the frozen server: {groups:#?}"
    );
    assert!(
        codes
            .iter()
            .any(|(c, _)| c == "SERVER_TIMEOUT" || c == "TARGET_ZONE_LAME"),
        "{codes:?}"
    );
}

//! A server that dies: knot-lab (127.0.0.12, the only server of `lab.` and `acme.lab.`,
//! and one of the two of `bench.test.`) frozen with SIGSTOP, before or while `check`
//! works through the 1,000 bench names. Main before issue 11 waited out every name's own
//! timeouts (88 s instead of 0.26 s). A server that stopped answering is remembered for
//! the run, and the questions still waiting on it then end at once; the chain and the
//! resolvers are asked at once (so their timeouts overlap), and resolvers have their own
//! in-flight cap (so one that waits for the frozen server never holds up the questions
//! that find it dead). Either way the run takes about one timeout more than a clean one.
//! Its own test binary: freezing a lab server must not disturb other tests.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn knot_lab_pid() -> String {
    pid_of("knot-lab")
}

fn pid_of(server: &str) -> String {
    std::fs::read_to_string(common::run_dir().join(format!("pids/{server}.pid")))
        .unwrap()
        .trim()
        .to_string()
}

/// The tests freeze lab servers: one at a time.
static FREEZE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// SIGCONT on drop, whatever happens.
struct Thaw(String);
impl Drop for Thaw {
    fn drop(&mut self) {
        common::sh(&format!("kill -CONT {}", self.0));
        // The lab is shared by every test binary: lab-unbound still holds the questions
        // queued behind the frozen server, and would time out the next binaries' questions
        // for tens of seconds. Let it forget them.
        let conf = common::run_dir().join("unbound/unbound.conf");
        for cmd in [
            "flush_requestlist",
            "flush_infra all",
            "flush_zone acme.lab",
            "flush_zone bench.test",
            "flush_zone lab",
        ] {
            common::sh(&format!("unbound-control -c '{}' {cmd}", conf.display()));
        }
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

/// One full timeout of the test's config: 1 s per attempt, 2 attempts.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One attempt's timeout of the test's config.
const ATTEMPT: Duration = Duration::from_secs(1);

/// The findings of each name, sorted, counted by set. A resolver that waits for the
/// frozen server answers SERVFAIL when it gives up before us, or nothing when we give up
/// first: the same fault, so its SERVFAIL counts as the timeout it stands for.
fn groups(doc: &serde_json::Value, names: &[String]) -> BTreeMap<Vec<(String, String)>, usize> {
    let mut groups: BTreeMap<Vec<(String, String)>, usize> = Default::default();
    for n in names {
        let mut f: Vec<(String, String)> = common::findings(doc, n)
            .into_iter()
            .map(|(c, s)| match c.as_str() {
                "SERVER_SERVFAIL" => ("SERVER_TIMEOUT".to_string(), s),
                _ => (c, s),
            })
            .collect();
        f.sort();
        *groups.entry(f).or_default() += 1;
    }
    groups
}

/// The lab resolver forgets what it learnt of knot-lab (its infra cache: a server it saw
/// down is given up on sooner, or probed later) and the bench names, so that each scenario
/// meets it in the same state.
fn fresh_resolver() {
    let conf = common::run_dir().join("unbound/unbound.conf");
    for cmd in [
        "flush_infra all",
        "flush_zone bench.test",
        "flush_zone acme.lab",
    ] {
        let out = common::sh(&format!("unbound-control -c '{}' {cmd}", conf.display()));
        assert!(
            out.status.success(),
            "unbound-control {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The evidence of the first finding with one of `codes`, to say what it was.
fn evidence_of(doc: &serde_json::Value, names: &[String], codes: &[&(String, String)]) -> String {
    for n in names {
        for f in common::name(doc, n)["findings"].as_array().unwrap() {
            if codes.iter().any(|(c, _)| f["code"] == c.as_str()) {
                return format!("{n}: {f}");
            }
        }
    }
    String::new()
}

/// Runs `check` on the 1,000 names with knot-lab frozen `after` the start (None: before
/// it). Returns how long it took and the report.
fn frozen_run(args: &[&str], after: Option<Duration>) -> (Duration, serde_json::Value) {
    frozen_run_of(&knot_lab_pid(), args, after).0
}

/// [`frozen_run`] with the server of `pid` frozen; also the exit status.
fn frozen_run_of(
    pid: &str,
    args: &[&str],
    after: Option<Duration>,
) -> ((Duration, serde_json::Value), Option<i32>) {
    fresh_resolver();
    let pid = pid.to_string();
    let _thaw = Thaw(pid.clone());
    if after.is_none() {
        assert!(common::sh(&format!("kill -STOP {pid}")).status.success());
    }
    let t = Instant::now();
    let child = common::spawn(args);
    if let Some(after) = after {
        std::thread::sleep(after);
        assert!(common::sh(&format!("kill -STOP {pid}")).status.success());
    }
    let out = bounded(child, Duration::from_secs(150));
    let took = t.elapsed();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    ((took, doc), out.status.code())
}

/// Both scenarios in one test: they freeze the same server, so they must not overlap.
#[test]
fn a_dead_or_frozen_server_costs_about_one_timeout() {
    let Some(_lab) = common::lab() else { return };
    let _one = FREEZE.lock().unwrap_or_else(|e| e.into_inner());
    let names: Vec<String> = (0..1000).map(|i| format!("n{i:04}.bench.test")).collect();
    // No rate cap: the run's time is the DNS's, not the cap's.
    let cfg = common::config_with(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nattempts = 2\nmax_qps_per_server = 0\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[system]\nenabled = false\n",
    );
    // The resolvers are asked at once with the chain (`--ask-resolvers always`): by
    // default (issue 15, no poisoning) a chain with a dead zone is not right, and no
    // resolver would be asked at all.
    let mut args = vec![
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "--json",
        "--ask-resolvers",
        "always",
    ];
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

    // Dead from the start: the chain and the resolvers wait out the same timeout at once
    // (before, the resolvers were asked after the chain: two timeouts, 4.3 s).
    let (dead_took, doc) = frozen_run(&args, None);
    eprintln!("clean {clean_took:?}, dead from the start {dead_took:?}");
    assert!(
        dead_took < clean_took + TIMEOUT + Duration::from_millis(1200),
        "clean {clean_took:?}, dead from the start {dead_took:?}"
    );
    let g = groups(&doc, &names);
    assert_eq!(g.len(), 1, "every name sees the same dead server: {g:#?}");
    let codes = g.keys().next().unwrap();
    for code in ["SERVER_TIMEOUT", "TARGET_ZONE_LAME"] {
        assert!(codes.iter().any(|(c, _)| c == code), "{code}: {codes:?}");
    }
    // The first names waited for the resolver; the later ones did not, and say so (the
    // resolver was asked, but its timeout was known) instead of claiming a real one.
    let not_waited = names
        .iter()
        .filter(|n| {
            common::name(&doc, n)["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| {
                    f["code"] == "SERVER_TIMEOUT"
                        && f["evidence"].as_str().is_some_and(|e| {
                            e.contains("lab-unbound") && e.contains("not waited for")
                        })
                })
        })
        .count();
    assert!(
        (500..1000).contains(&not_waited),
        "{not_waited} names did not wait for the resolver"
    );

    // Frozen mid-run, whenever: about one timeout too. The questions already waiting on
    // the server when it is found dead end at once, and a resolver known to wait for it
    // is not waited for again. Without the memory of dead servers this took over 60 s;
    // before those two changes, one or two timeouts (4.1 s); before the rule counted
    // questions in flight and applied to resolvers too (issue 18), a freeze 100-200 ms in
    // cost 2.4-12.3 s.
    for ms in [20, 100, 200] {
        frozen_mid_run(&args, &names, clean_took, ms);
    }
}

fn frozen_mid_run(args: &[&str], names: &[String], clean_took: Duration, ms: u64) {
    let (frozen_took, doc) = frozen_run(args, Some(Duration::from_millis(ms)));
    eprintln!("clean {clean_took:?}, frozen {ms} ms into the run {frozen_took:?}");
    // About one timeout (two attempts of 1 s here), and half a second of slack. Main
    // (issue 18): 2.3-3.1 s over a clean run of 2.1 s here, 2.4-12.3 s in the release
    // build with the default timeouts; after the merge with i15a/i19, without judging the
    // plain (no-EDNS) questions, over 60 s for 100 names.
    assert!(
        frozen_took < clean_took.max(Duration::from_millis(ms)) + TIMEOUT + ATTEMPT / 2,
        "clean {clean_took:?}, frozen at {ms} ms: {frozen_took:?}"
    );
    // Names in flight at the freeze (at most one batch: 2 x max_inflight = 128 names)
    // may have had some answers before it: their findings are part of the others' (a
    // partial view of the same fault), never something else.
    // Names done before the freeze (a later freeze, a faster engine) have no findings.
    let mut g = groups(&doc, names);
    let done_before = g.remove(&vec![]).unwrap_or(0);
    let (codes, count) = g.iter().max_by_key(|(_, n)| **n).expect("1,000 names");
    assert!(
        *count + done_before >= 1000 - 2 * 128,
        "only {count} names saw the frozen server ({done_before} were done before): {g:#?}"
    );
    for f in g.keys() {
        let extra: Vec<_> = f.iter().filter(|x| !codes.contains(x)).collect();
        assert!(
            extra.is_empty(),
            "findings outside the frozen server's: {g:#?}\n{}",
            evidence_of(&doc, names, &extra)
        );
    }
    assert!(
        codes
            .iter()
            .any(|(c, _)| c == "SERVER_TIMEOUT" || c == "TARGET_ZONE_LAME"),
        "{codes:?}"
    );
}

/// A resolver that never answers (the lab's blackhole) beside the lab resolver, and the
/// root server frozen so that every resolver hangs behind it: each costs about one
/// timeout, as a dead authoritative server does. Before issue 18 resolvers were never
/// given up: 1,000 names with a blackholed resolver took 32 s (default timeouts), with
/// knot-root frozen 84-94 s.
#[test]
fn a_resolver_that_never_answers_costs_about_one_timeout() {
    let Some(_lab) = common::lab() else { return };
    let _one = FREEZE.lock().unwrap_or_else(|e| e.into_inner());
    let names: Vec<String> = (0..1000).map(|i| format!("n{i:04}.bench.test")).collect();
    let cfg = common::config_with(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nattempts = 2\nmax_qps_per_server = 0\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n\
         [[resolvers]]\nname = \"blackholed\"\naddress = \"127.0.0.99:53\"\n[system]\nservers = [\"127.0.0.99:53\"]\n",
    );
    let mut args = vec!["check", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend(names.iter().map(String::as_str));
    fresh_resolver();
    let t = Instant::now();
    let out = bounded(common::spawn(&args), Duration::from_secs(150));
    let took = t.elapsed();
    eprintln!("1,000 names, a blackholed resolver and system resolver: {took:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in &names {
        let views = common::name(&doc, n)["views"].as_array().unwrap();
        let v = views.iter().find(|v| v["vantage"] == "blackholed").unwrap();
        assert_eq!(v["outcome"], "TIMEOUT", "{n}: {v}");
        let v = views
            .iter()
            .find(|v| v["vantage"] == "lab-unbound")
            .unwrap();
        assert_ne!(
            v["outcome"], "TIMEOUT",
            "{n}: the live resolver answers: {v}"
        );
    }
    // The clean run of the same names takes well under a second here.
    assert!(took < TIMEOUT + Duration::from_millis(2500), "{took:?}");

    // knot-root frozen from the start: the roots and every resolver (behind them) hang.
    let cfg = common::config_with(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 1000\nattempts = 2\nmax_qps_per_server = 0\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[system]\nenabled = false\n",
    );
    let mut args = vec!["check", "--config", cfg.to_str().unwrap(), "--json"];
    args.extend(names.iter().map(String::as_str));
    let conf = common::run_dir().join("unbound/unbound.conf");
    common::sh(&format!(
        "unbound-control -c '{}' flush_zone test",
        conf.display()
    ));
    let ((took, doc), code) = frozen_run_of(&pid_of("knot-root"), &args, None);
    eprintln!("1,000 names, knot-root frozen: {took:?}, exit {code:?}");
    assert_eq!(code, Some(3), "{doc:#}");
    assert!(took < TIMEOUT + Duration::from_millis(2500), "{took:?}");
}

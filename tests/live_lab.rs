//! The live engine against the lab: events while a run works, cancellation, fresh answers
//! on a re-check, and `check --wait` (the live poll).
//!
//! Run: `tests/lab/hermetic.sh cargo test --offline --test live_lab`.

mod common;

use acme_delegate::engine::check::{CheckOptions, CheckRequest};
use acme_delegate::engine::events::{CancellationToken, Event, EventSink};
use acme_delegate::engine::Engine;
use acme_delegate::findings::Finding;
use acme_delegate::model::config::Config;
use acme_delegate::model::name::{parse_all, InputName};
use acme_delegate::report::Report;
use common::{has, publish_cname, sh, unique};
use std::future::Future;
use std::time::{Duration, Instant};

/// Every test here runs under this bound.
async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the test did not finish within 60 s");
}

fn engine() -> std::sync::Arc<Engine<acme_delegate::dns::NetTransport>> {
    Engine::new(Config::from_file(&common::config()).expect("the lab config"))
}

/// A check of `names` with the default options.
fn request(names: Vec<InputName>) -> CheckRequest {
    CheckRequest {
        names,
        options: CheckOptions::default(),
    }
}

fn names(n: &[&str]) -> Vec<InputName> {
    parse_all(&n.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

/// A finding's code as it serialises (`CNAME_MISSING`).
fn code_of(f: &Finding) -> String {
    serde_json::to_value(f).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string()
}

fn codes(r: &Report, name: &str) -> Vec<(String, String)> {
    let n = r.names.iter().find(|n| n.name == name).unwrap();
    n.findings
        .iter()
        .map(|f| (code_of(f), f.severity.to_string()))
        .collect()
}

/// An RFC 2136 update of example.test (the lab's production zone takes any type).
fn update_example_test(lines: &str) {
    let out = sh(&format!(
        "knsupdate -t 5 -y \"$(cat $LAB_TSIG_KDIG)\" <<EOF\nserver 127.0.0.11 53\nzone example.test.\n{lines}\nsend\nEOF"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arrive_before_the_run_ends() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let engine = engine();
        // deadhost's chain ends at a server that never answers: the run takes seconds.
        let input = names(&["www.example.test", "deadhost.example.test"]);
        let (sink, mut rx) = EventSink::channel();
        let cancel = CancellationToken::new();
        let run = {
            let (engine, input, sink, cancel) = (engine.clone(), input.clone(), sink, cancel);
            tokio::spawn(async move {
                let r = engine.check(&request(input.clone()), &cancel, &sink).await;
                (r, Instant::now())
            })
        };
        let mut got = Vec::new();
        let mut www_done = None;
        while let Some(ev) = rx.recv().await {
            if matches!(&ev, Event::NameDone { name, .. } if name == "www.example.test") {
                www_done = Some(Instant::now());
            }
            got.push(ev);
        }
        let (report, ended) = run.await.unwrap();
        let www_done = www_done.expect("a NameDone for www.example.test");
        assert!(
            ended.duration_since(www_done) > Duration::from_millis(500),
            "www.example.test was reported only {:?} before the run ended",
            ended.duration_since(www_done)
        );
        assert_eq!(got.first(), Some(&Event::RunStarted { names: 2 }));
        assert!(matches!(
            got.last(),
            Some(Event::RunDone {
                total: 2,
                cancelled: false,
                ..
            })
        ));
        let www_hop = got.iter().any(|e| {
            matches!(e, Event::Hop { name, target, .. }
            if name == "www.example.test" && target.as_str() == "www-label.acme.lab.")
        });
        assert!(www_hop, "{got:#?}");
        let www: Vec<_> = got
            .iter()
            .filter(|e| matches!(e, Event::Vantage { name, .. } if name == "www.example.test"))
            .collect();
        // Every server and resolver asked, each with what it said.
        for (vantage, outcome) in [
            ("ns1.example.test.", "NOERROR"),
            ("ns1.acme.lab.", "NXDOMAIN"),
            ("lab-unbound", "NXDOMAIN"),
            ("lab-unbound2", "NXDOMAIN"),
            ("system", "NXDOMAIN"),
        ] {
            assert!(
                www.iter().any(
                    |e| matches!(e, Event::Vantage { vantage: v, outcome: o, .. }
                    if v == vantage && o == outcome)
                ),
                "no {outcome} from {vantage}: {www:#?}"
            );
        }
        // Each finding of the report came as an event.
        let dead = codes(&report, "deadhost.example.test");
        assert!(!dead.is_empty());
        for (code, _) in &dead {
            assert!(
                got.iter()
                    .any(|e| matches!(e, Event::Finding { name, finding }
                    if name == "deadhost.example.test" && code_of(finding) == *code)),
                "no event for {code}"
            );
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_a_1000_name_check_within_200_ms() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let engine = engine();
        let all: Vec<String> = (0..1000).map(|i| format!("n{i:04}.bench.test")).collect();
        let input = parse_all(&all).unwrap();
        let (sink, mut rx) = EventSink::channel();
        let cancel = CancellationToken::new();
        let run = {
            let (engine, sink, cancel) = (engine.clone(), sink.clone(), cancel.clone());
            tokio::spawn(async move { engine.check(&request(input.clone()), &cancel, &sink).await })
        };
        drop(sink);
        // Cancel once the work is under way (the first name is done).
        loop {
            match rx.recv().await {
                Some(Event::NameDone { .. }) => break,
                Some(_) => {}
                None => panic!("the run ended without a NameDone"),
            }
        }
        let t0 = Instant::now();
        cancel.cancel();
        let report = run.await.unwrap();
        let took = t0.elapsed();
        assert!(took < Duration::from_millis(200), "cancel took {took:?}");
        assert_eq!(report.names.len(), 1000);
        let cancelled = report
            .names
            .iter()
            .filter(|n| {
                n.findings
                    .iter()
                    .any(|f| code_of(f) == "CHECK_FAILED" && f.evidence.contains("cancelled"))
            })
            .count();
        assert!(
            cancelled > 0,
            "every name was done before the cancel: nothing was tested"
        );
        // Nothing is left behind: every task (each holding the sink) has stopped, so
        // the channel ends right after RunDone.
        let rest = tokio::time::timeout(Duration::from_secs(1), async {
            let mut rest = Vec::new();
            while let Some(ev) = rx.recv().await {
                rest.push(ev);
            }
            rest
        })
        .await
        .expect("some task still holds the event sink after the cancelled run returned");
        assert!(
            matches!(
                rest.last(),
                Some(Event::RunDone {
                    cancelled: true,
                    ..
                })
            ),
            "{:?}",
            rest.last()
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recheck_on_one_engine_sees_a_new_delegation() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let engine = engine();
        let host = unique("memo");
        let input = names(&[&host]);
        let none = (CancellationToken::new(), EventSink::none());
        let first = engine
            .check(&request(input.clone()), &none.0, &none.1)
            .await;
        assert!(
            has(&codes(&first, &host), "CNAME_MISSING", "error"),
            "{:?}",
            codes(&first, &host)
        );
        // Delegate the name to its own zone (on a server that refuses it: lame). The
        // first check's walk found no cut there.
        update_example_test(&format!(
            "update add {host}. 60 NS ns1.{host}.\nupdate add ns1.{host}. 60 A 127.0.0.12"
        ));
        let second = engine
            .check(&request(input.clone()), &none.0, &none.1)
            .await;
        update_example_test(&format!(
            "update delete {host}. NS\nupdate delete ns1.{host}. A"
        ));
        let found = codes(&second, &host);
        let n = &second.names[0];
        assert!(
            n.views.iter().any(|v| v
                .zone
                .as_ref()
                .is_some_and(|z| z.as_str() == format!("{host}."))),
            "the second check used the first one's walk (no server of {host} was asked): {:#?}",
            n.views
        );
        assert!(has(&found, "SERVER_REFUSED", "error"), "{found:?}");
        assert!(!has(&found, "CNAME_MISSING", "error"), "{found:?}");
    })
    .await
}

/// `kdig @ADDR TXT NAME`: the whole answer, for assertions.
fn kdig(addr: &str, name: &str) -> String {
    let out = sh(&format!("kdig @{addr} +timeout=3 +retry=0 TXT {name}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn wait_exits_0_about_one_poll_interval_after_the_cname_appears() {
    let Some(_lab) = common::lab() else { return };
    let host = unique("wait");
    let label = host.split('.').next().unwrap().to_string();
    let target = format!("{label}-label.acme.lab.");
    let cfg = common::config();
    let start = Instant::now();
    let child = common::spawn(&[
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "--json",
        "--wait",
        "30s",
        &host,
    ]);
    std::thread::sleep(Duration::from_secs(2));
    publish_cname(&host, &target);
    let published = Instant::now();
    let out = wait_output(child, Duration::from_secs(40));
    let after = published.elapsed();
    let doc = common::json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    // The default poll interval is 1 s: the next round sees the CNAME.
    assert!(
        after < Duration::from_millis(2000),
        "exited {after:?} after the CNAME was published ({:?} in all)",
        start.elapsed()
    );
    let n = common::name(&doc, &host);
    assert_eq!(n["ok"], true, "{doc:#}");
    assert_eq!(n["target"], target.as_str());
    let resolvers: Vec<_> = n["views"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] != "authoritative")
        .collect();
    assert_eq!(resolvers.len(), 3, "{doc:#}");
    for v in resolvers {
        assert_eq!(v["chain"][0]["data"], target.as_str(), "{v:#}");
    }
    // The resolver that keeps negative answers an hour was never asked too early.
    let seen = kdig("127.0.0.54", &format!("_acme-challenge.{host}"));
    let cname = format!("_acme-challenge.{host}. ");
    assert!(
        seen.lines()
            .any(|l| l.starts_with(&cname) && l.contains("CNAME") && l.contains(&target)),
        "{seen}"
    );
}

#[test]
fn wait_times_out_with_exit_1_and_never_asks_a_resolver_too_early() {
    let Some(_lab) = common::lab() else { return };
    let host = unique("never");
    let cfg = common::config();
    let t0 = Instant::now();
    let out = common::run(
        &[
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            "--wait",
            "2",
            &host,
        ],
        Duration::from_secs(20),
    );
    let took = t0.elapsed();
    let doc = common::json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert!(took < Duration::from_secs(4), "--wait 2 took {took:?}");
    assert!(
        out.stderr.is_empty(),
        "--json prints only the report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = common::findings(&doc, &host);
    assert!(has(&f, "CNAME_MISSING", "error"), "{f:?}");
    let views = common::name(&doc, &host)["views"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        views.iter().all(|v| v["kind"] == "authoritative"),
        "a resolver was asked before the CNAME existed: {views:#?}"
    );
    // So the long-negative resolver has nothing cached: publish now, it sees the CNAME.
    let target = format!("{}-label.acme.lab.", host.split('.').next().unwrap());
    publish_cname(&host, &target);
    let seen = kdig("127.0.0.54", &format!("_acme-challenge.{host}"));
    assert!(seen.contains(&target), "{seen}");
}

#[test]
fn wait_writes_one_line_per_state_change() {
    let Some(_lab) = common::lab() else { return };
    let cfg = common::config();
    let out = common::run(
        &[
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--wait",
            "10s",
            "www.example.test",
        ],
        Duration::from_secs(20),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for line in [
        "www.example.test: authoritative: ok",
        "www.example.test: lab-unbound: ok",
        "www.example.test: lab-unbound2: ok",
        "www.example.test: system: ok",
    ] {
        assert_eq!(err.matches(line).count(), 1, "{line:?} not once in:\n{err}");
    }
    // The report is check's table.
    assert!(String::from_utf8_lossy(&out.stdout).contains("www.example.test"));
}

#[test]
fn wait_ends_cleanly_on_sigint_and_sigterm() {
    let Some(_lab) = common::lab() else { return };
    let cfg = common::config();
    for sig in ["INT", "TERM", "HUP"] {
        let child = common::spawn(&[
            "check",
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            "--wait",
            "30s",
            "nocname.example.test",
        ]);
        std::thread::sleep(Duration::from_millis(1500));
        let t0 = Instant::now();
        let kill = sh(&format!("kill -{sig} {}", child.id()));
        assert!(kill.status.success());
        let out = wait_output(child, Duration::from_secs(5));
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "SIG{sig}: took {:?}",
            t0.elapsed()
        );
        assert_eq!(out.status.code(), Some(130), "SIG{sig}");
        // --json keeps its promise of one document: the error, not a report.
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("SIG{sig}: not one JSON document ({e})"));
        assert_eq!(doc["error"]["exit"], 130, "SIG{sig}: {doc}");
        assert!(doc.get("names").is_none(), "SIG{sig}: printed a report");
    }
}

/// Waits for a spawned binary, killing it after `limit`.
fn wait_output(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "did not finish within {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

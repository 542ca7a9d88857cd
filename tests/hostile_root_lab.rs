//! Hostile roots (issue 18, items 1 and 2): a root server that refers to itself (upward,
//! or with glue that points back at itself), and a network that answers SERVFAIL or
//! REFUSED to everything. Neither may ever give "OK": the walk never reaches an
//! authoritative answer, so the verdict is inconclusive (exit 3, `DNS_INTERCEPTED`), or an
//! error (exit 1) when every resolver that answered shows the chain wrong, and
//! `check --wait` stops after its first round. Each test starts its own
//! tools/hostile-root.py on an address of its own.

mod common;

use common::{config_with, run};
use serde_json::Value;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tools/hostile-root.py on `addr` in `mode`, killed on drop.
struct Hostile(Child);
impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hostile(addr: &str, mode: &str) -> Hostile {
    let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/tools/hostile-root.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(tool)
        .args([addr, mode])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hostile-root.py");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "hostile-root.py {mode} did not start");
    Hostile(child)
}

fn codes(doc: &Value, n: &str) -> Vec<String> {
    common::findings(doc, n)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

/// `command --json` (or the table) with a config body: (exit, stdout, stderr, elapsed).
fn cmd(body: &str, args: &[&str]) -> (i32, String, String, Duration) {
    let cfg = config_with(body);
    let mut a = vec![args[0], "--config", cfg.to_str().unwrap()];
    a.extend_from_slice(&args[1..]);
    let t = Instant::now();
    let out = run(&a, Duration::from_secs(60));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t.elapsed(),
    )
}

/// A root that answers every question with `. NS a.root.evil.` and glue pointing at
/// itself, or with a referral down to itself; the lab resolver (which uses the real lab
/// roots) answers NXDOMAIN. Main said "OK 0 errors", `"ok": true`, exit 0.
///
/// The walk never reaches an authoritative answer (`DNS_INTERCEPTED`, "loops"), so the
/// resolvers' agreeing answers decide (issue 18, item 1): every resolver answers NXDOMAIN
/// for `_acme-challenge.nocname.example.test`, so the chain is wrong: `CNAME_MISSING`,
/// from the resolvers, beside `DNS_INTERCEPTED`, exit 1 - never OK, and not merely
/// inconclusive.
#[test]
fn a_self_referring_root_is_never_ok() {
    let Some(_lab) = common::lab() else { return };
    for (addr, mode) in [("127.0.0.81", "selfref"), ("127.0.0.82", "selfglue")] {
        let _root = hostile(addr, mode);
        let body = hostile_body(addr);
        let n = "nocname.example.test";
        for command in ["check", "diagnose"] {
            let (rc, out, err, took) = cmd(&body, &[command, "--json", n]);
            let doc = common::json(&out);
            assert_eq!(rc, 1, "{mode} {command}: {out}\n{err}");
            assert!(took < Duration::from_secs(10), "{mode}: {took:?}");
            let r = common::name(&doc, n);
            assert_eq!(r["ok"], false, "{mode} {command}: {r:#}");
            assert_eq!(r["inconclusive"], false, "{mode} {command}: {r:#}");
            let found = common::findings(&doc, n);
            assert_eq!(
                found.first(),
                Some(&("CNAME_MISSING".to_string(), "error".to_string())),
                "{mode} {command}: the first error names the cause: {found:?}"
            );
            let f = common::finding(&doc, n, "CNAME_MISSING");
            let evidence = f["evidence"].as_str().unwrap();
            assert!(
                evidence.contains("NXDOMAIN")
                    && evidence.contains("every resolver that answered (lab-unbound")
                    && evidence.contains("the authoritative servers could not be reached"),
                "{mode}: {f}"
            );
            let f = common::finding(&doc, n, "DNS_INTERCEPTED");
            assert!(
                f["evidence"].as_str().unwrap().contains("loops"),
                "{mode}: {f}"
            );
        }
        let (rc, out, err, _) = cmd(&body, &["check", n]);
        assert_eq!(rc, 1, "{out}\n{err}");
        assert!(!out.contains("OK "), "{mode}: {out}");
        assert!(out.contains("CNAME_MISSING"), "{mode}: {out}");
        // --wait: stops after the first round (waiting cannot see the authoritative
        // servers), never says OK, and fails on the resolvers' error.
        let (rc, out, err, took) = cmd(&body, &["check", "--wait", "20s", n]);
        assert_eq!(rc, 1, "{mode}: {out}\n{err}");
        assert!(took < Duration::from_secs(10), "{mode}: {took:?}");
        assert!(!out.contains("OK "), "{mode}: {out}");
        assert!(out.contains("CNAME_MISSING"), "{mode}: {out}");
        assert!(err.contains("stopped after round 1"), "{mode}: {err}");
    }
}

/// The config of a hostile-root test: the hostile root, and the lab resolver.
fn hostile_body(addr: &str) -> String {
    format!(
        "roots = [\"{addr}:53\"]\ntimeout_ms = 1000\npoll_interval_ms = 500\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"127.0.0.53:53\"\n[system]\nenabled = false\n"
    )
}

/// Behind the self-referring root, a resolver that shows the right CNAME cannot make the
/// name work (the authoritative servers were never read): inconclusive, exit 3, never OK;
/// a CNAME to another target than the expected one is `CNAME_WRONG_TARGET`, exit 1.
#[test]
fn a_self_referring_root_with_a_right_resolver_view_stays_inconclusive() {
    let Some(_lab) = common::lab() else { return };
    let addr = "127.0.0.80";
    let _root = hostile(addr, "selfref");
    let body = hostile_body(addr);
    let n = "www.example.test";
    for expect in [None, Some("www-label.acme.lab.")] {
        for command in ["check", "diagnose"] {
            let mut args = vec![command, "--json", n];
            if let Some(t) = expect {
                args.extend(["--expect-target", t]);
            }
            let (rc, out, err, _) = cmd(&body, &args);
            assert_eq!(rc, 3, "{command} {expect:?}: {out}\n{err}");
            let doc = common::json(&out);
            let r = common::name(&doc, n);
            assert_eq!(r["ok"], false, "{command}: {r:#}");
            assert_eq!(r["inconclusive"], true, "{command}: {r:#}");
            assert_eq!(codes(&doc, n), vec!["DNS_INTERCEPTED"], "{command}: {r:#}");
        }
    }
    // --wait: stops after its first round, inconclusive (3), never OK.
    let args = [
        "check",
        "--wait",
        "20s",
        "--expect-target",
        "www-label.acme.lab.",
        n,
    ];
    let (rc, out, err, took) = cmd(&body, &args);
    assert_eq!(rc, 3, "{out}\n{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!out.contains("OK "), "{out}");
    assert!(
        err.contains("stopped after round 1 (inconclusive)"),
        "{err}"
    );
    // Resolvers that disagree (lab-unbound2 keeps the NXDOMAIN from before the CNAME was
    // published, lab-unbound sees the CNAME): inconclusive, even when both are wrong.
    let host = common::unique("hrdisagree");
    common::cache_nxdomain_then_publish(&host, "www-label.acme.lab.");
    let two = body.replace(
        "[system]",
        "[[resolvers]]\nname = \"lab-unbound2\"\naddress = \"127.0.0.54:53\"\n[system]",
    );
    for expect in ["www-label.acme.lab.", "other.acme.lab."] {
        let (rc, out, err, _) = cmd(&two, &["check", "--json", "--expect-target", expect, &host]);
        assert_eq!(rc, 3, "{expect}: {out}\n{err}");
        let doc = common::json(&out);
        assert_eq!(codes(&doc, &host), vec!["DNS_INTERCEPTED"], "{out}");
        assert_eq!(common::name(&doc, &host)["inconclusive"], true);
    }
    for command in ["check", "diagnose"] {
        let args = [command, "--json", "--expect-target", "other.acme.lab.", n];
        let (rc, out, err, _) = cmd(&body, &args);
        assert_eq!(rc, 1, "{command}: {out}\n{err}");
        let doc = common::json(&out);
        assert_eq!(common::name(&doc, n)["inconclusive"], false);
        let found = common::findings(&doc, n);
        assert_eq!(
            found.first(),
            Some(&("CNAME_WRONG_TARGET".to_string(), "error".to_string())),
            "{command}: {found:?}"
        );
    }
}

/// A network that answers SERVFAIL, resp. REFUSED, to everything (as root, resolver and
/// system resolver). Main: exit 1 with errors that blame `root-hint.`, and `check --wait
/// 20s` polled all 20 rounds.
#[test]
fn a_network_that_refuses_everything_is_inconclusive_and_wait_stops() {
    let Some(_lab) = common::lab() else { return };
    for (addr, mode) in [("127.0.0.83", "servfail"), ("127.0.0.84", "refused")] {
        let _net = hostile(addr, mode);
        let body = format!(
            "roots = [\"{addr}:53\"]\ntimeout_ms = 1000\npoll_interval_ms = 500\n\
             [[resolvers]]\nname = \"public\"\naddress = \"{addr}:53\"\n[system]\nservers = [\"{addr}:53\"]\n"
        );
        let n = "www.example.test";
        let (rc, out, err, took) = cmd(&body, &["check", "--json", n]);
        assert_eq!(rc, 3, "{mode}: {out}\n{err}");
        assert!(took < Duration::from_secs(5), "{mode}: {took:?}");
        let doc = common::json(&out);
        assert_eq!(codes(&doc, n), vec!["DNS_INTERCEPTED"], "{mode}: {out}");
        assert!(
            !out.contains("root-hint. (") || !out.contains("\"error\""),
            "{out}"
        );
        assert_eq!(common::name(&doc, n)["inconclusive"], true);
        let (rc, out, err, took) = cmd(&body, &["check", "--wait", "20s", n]);
        assert_eq!(rc, 3, "{mode}: {out}\n{err}");
        assert!(took < Duration::from_secs(5), "{mode}: took {took:?}");
        assert!(
            err.contains("cannot be read from this network") && err.contains("round 1"),
            "{mode}: {err}"
        );
    }
}

//! The verdict agrees with what the CA does: for every lab scenario that pebble can judge,
//! acme-delegate's verdict (`diagnose`, a name is `ok` when no finding is an error) must
//! match a real issuance by lego from pebble, whose DNS-01 validation resolves through the
//! lab resolver (unbound 127.0.0.53, validating). Prints the score; fails on any
//! disagreement.
//!
//! Two clients play the issuing side:
//! * `Hook`: lego's `exec` provider with tools/lego-exec-hook.sh, a delegated client that
//!   follows the whole CNAME chain and holds a TXT-only key for the validation server
//!   (127.0.0.12) only. It stands for "a correctly set-up client": what fails then is
//!   the DNS as the CA sees it.
//! * `LegoSystem`: lego's own rfc2136 provider checking with the system (inside)
//!   resolver 127.0.0.55, and acme-delegate given that lego config (`--client-config`):
//!   the faults of the system view are then errors, as the severity rule says.
//!
//! Not judged (and why): the CAA scenarios (pebble does not check CAA), `www.split.test`
//! (pebble's outcome depends on which of the two disagreeing servers its resolver asks),
//! `two1..3` (acme-dns's two-value limit: the lab's target is an RFC 2136 zone),
//! `inzone` (its target is in the production zone: whether a client may write there is
//! not a DNS fact), and the names tests add at run time (unsync, slow).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Judge {
    Hook,
    LegoSystem,
}

/// (host, client): every scenario of tests/lab/SCENARIOS.md that pebble can judge.
const CASES: &[(&str, Judge)] = &[
    ("www.example.test", Judge::Hook),
    ("broken.example.test", Judge::Hook),
    ("stale.example.test", Judge::Hook),
    ("api.example.test", Judge::Hook),
    ("nocname.example.test", Judge::Hook),
    ("chain.example.test", Judge::Hook),
    ("loop.example.test", Judge::Hook),
    ("lamehost.example.test", Judge::Hook),
    ("deadhost.example.test", Judge::Hook),
    ("wrongtype.example.test", Judge::Hook),
    ("bogus.example.test", Judge::Hook),
    ("expired.example.test", Judge::Hook),
    ("badsig.example.test", Judge::Hook),
    ("nods.example.test", Judge::Hook),
    ("long.example.test", Judge::Hook),
    ("toolong.example.test", Judge::Hook),
    ("undelegated.example.test", Judge::Hook),
    ("servfail.example.test", Judge::Hook),
    ("splithorizon.example.test", Judge::Hook),
    ("negcache.example.test", Judge::Hook),
    ("stalecname.example.test", Judge::Hook),
    ("stale2.example.test", Judge::Hook),
    ("nonaa.example.test", Judge::Hook),
    ("closed.example.test", Judge::Hook),
    ("conflict.example.test", Judge::Hook),
    ("staletxt.example.test", Judge::Hook),
    ("x.wild.example.test", Judge::Hook),
    ("www.v6.example.test", Judge::Hook),
    ("n0000.bench.test", Judge::Hook),
    ("nsdel.example.test", Judge::Hook),
    ("typenx.example.test", Judge::Hook),
    ("notcp.example.test", Judge::Hook),
    ("formerr.example.test", Judge::Hook),
    ("nocase.example.test", Judge::Hook),
    ("serial.example.test", Judge::Hook),
    ("delegated.example.test", Judge::Hook),
    ("soawalk.example.test", Judge::Hook),
    ("www.parentonly.example.test", Judge::Hook),
    ("upper.example.test", Judge::Hook),
    ("www.example.test", Judge::LegoSystem),
    ("soawalk.example.test", Judge::LegoSystem),
    ("splithorizon.example.test", Judge::LegoSystem),
];

/// How many issuances run at once (the machine is small and shared).
const PARALLEL: usize = 8;

/// A lego env file as the lab's rfc2136 client uses it (mode 0600).
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

/// acme-delegate's verdict per host: (ok, "CODE severity" of each finding).
fn verdicts(hosts: &[&str], client_config: Option<&Path>) -> BTreeMap<String, (bool, String)> {
    let cfg = common::config();
    let mut args = vec!["diagnose", "--config", cfg.to_str().unwrap(), "--json"];
    if let Some(c) = client_config {
        args.extend(["--client-config", c.to_str().unwrap()]);
    }
    args.extend_from_slice(hosts);
    // Read the (large) output while the process runs: `timeout` bounds it.
    let out = Command::new("timeout")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_acme-delegate"))
        .args(&args)
        .env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .output()
        .expect("run acme-delegate");
    let doc = common::json(&String::from_utf8_lossy(&out.stdout));
    doc["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let codes = n["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        f["code"].as_str().unwrap(),
                        f["severity"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            (
                n["name"].as_str().unwrap().to_string(),
                (n["ok"].as_bool().unwrap(), codes),
            )
        })
        .collect()
}

/// One issuance by lego from pebble: (a certificate was issued, lego's output).
fn issue(host: &str, judge: Judge, dir: &Path) -> (bool, String) {
    let hook = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/tools/lego-exec-hook.sh");
    let path = dir.join(format!("lego-{host}-{judge:?}"));
    let mut cmd = Command::new("timeout");
    cmd.args(["150", "lego", "--server"])
        .arg(std::env::var("LAB_ACME_DIRECTORY").unwrap())
        .args(["--email", "verdict@example.test", "--accept-tos", "--path"])
        .arg(&path)
        .args([
            "--domains",
            host,
            "--dns.disable-cp",
            "--http-timeout",
            "30",
            "--dns-timeout",
            "3",
        ]);
    match judge {
        Judge::Hook => {
            cmd.args(["--dns", "exec", "--dns.resolvers", "127.0.0.53:53"])
                .env("EXEC_PATH", &hook)
                .env("LEGO_DISABLE_CNAME_SUPPORT", "true");
        }
        Judge::LegoSystem => {
            cmd.args(["--dns", "rfc2136", "--dns.resolvers", "127.0.0.55:53"])
                .env_remove("LEGO_DISABLE_CNAME_SUPPORT");
        }
    }
    let out = cmd.arg("run").output().expect("run lego");
    let crt = path.join("certificates").join(format!("{host}.crt"));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && crt.exists(), log)
}

#[test]
fn the_verdict_agrees_with_pebble_and_lego() {
    let Some(_lab) = common::lab() else { return };
    let start = Instant::now();
    let dir = common::run_dir().join(format!("verdict-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    // acme-delegate first (its lookups are over before the TXT records come and go).
    let hook_hosts: Vec<&str> = CASES
        .iter()
        .filter(|(_, j)| *j == Judge::Hook)
        .map(|(h, _)| *h)
        .collect();
    let sys_hosts: Vec<&str> = CASES
        .iter()
        .filter(|(_, j)| *j == Judge::LegoSystem)
        .map(|(h, _)| *h)
        .collect();
    let env = lego_env(&dir);
    let mut said: BTreeMap<(String, Judge), (bool, String)> = BTreeMap::new();
    for (h, v) in verdicts(&hook_hosts, None) {
        said.insert((h, Judge::Hook), v);
    }
    for (h, v) in verdicts(&sys_hosts, Some(&env)) {
        said.insert((h, Judge::LegoSystem), v);
    }
    // Then the issuances, PARALLEL at a time; one client after the other, because lego's
    // rfc2136 provider replaces the whole TXT set of a name it writes to.
    let done = Arc::new(Mutex::new(Vec::new()));
    for judge in [Judge::Hook, Judge::LegoSystem] {
        let cases: Vec<(&str, Judge)> =
            CASES.iter().copied().filter(|(_, j)| *j == judge).collect();
        let queue = Arc::new(Mutex::new(cases));
        let workers: Vec<_> = (0..PARALLEL)
            .map(|_| {
                let (queue, done, dir) = (queue.clone(), done.clone(), dir.clone());
                std::thread::spawn(move || loop {
                    let Some((host, judge)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let (issued, log) = issue(host, judge, &dir);
                    done.lock().unwrap().push((host, judge, issued, log));
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    }
    let done = done.lock().unwrap();
    let mut disagree = Vec::new();
    for (host, judge, issued, log) in done.iter() {
        let (ok, codes) = said
            .get(&(host.to_string(), *judge))
            .unwrap_or_else(|| panic!("no verdict for {host}"));
        let line = format!(
            "{host} ({judge:?}): acme-delegate {}, pebble+lego {} [{codes}]",
            if *ok { "ok" } else { "not ok" },
            if *issued { "issued" } else { "refused" },
        );
        eprintln!("{line}");
        if ok != issued {
            disagree.push(format!(
                "{line}\n    lego: {}",
                log.lines().collect::<Vec<_>>().join("\n    lego: ")
            ));
        }
    }
    let total = done.len();
    eprintln!(
        "verdict agrees with pebble + lego: {}/{total} scenarios ({:.0} s)",
        total - disagree.len(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(total, CASES.len());
    assert!(
        disagree.is_empty(),
        "acme-delegate's verdict disagrees with the real issuance:\n{}",
        disagree.join("\n")
    );
}

impl PartialOrd for Judge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Judge {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

//! Every next command acme-delegate prints runs as printed: the `plan` command's next
//! lines, the wizard's (Done screen and exit summary: prove, the re-check, the cron
//! line) for every zone kind, and every client's next commands from `write`, each run in
//! the lab through `sh -c` exactly as printed (the plan lives in a folder with a space
//! in its name, a wildcard name is among the names).
//!
//! acme-delegate's own commands run for real where the lab answers them (the RFC 2136
//! plan: its names are published, so `check --wait` and `prove` exit 0); the cron line
//! writes under /var/lib and the provider/hosted plans' names are not published, so
//! those get `--help` appended (they must still parse: exit 0). The clients' commands
//! would ask a CA: `--help` is appended, and a client that is not installed here is named
//! in the output and its line only checked by `sh -n`.

mod common;

use acme_delegate::model::plan::Plan;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `line` (as printed, plus `extra`) with acme-delegate on the PATH, bounded.
fn run_line(dir: &Path, line: &str, extra: &str, secs: u64) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_acme-delegate"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let line = line
        .strip_prefix("17 */6 * * * ")
        .map(|c| c.trim_end_matches(" >/dev/null"))
        .unwrap_or(line);
    let out = Command::new("timeout")
        .args([&secs.to_string(), "sh", "-c", &format!("{line}{extra}")])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("xdg/config"))
        .env("XDG_DATA_HOME", dir.join("xdg/data"))
        .env("EMAIL", "admin@example.test")
        .output()
        .expect("run sh");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "$ {line}{extra}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The program a shell line runs (after `set -a; . FILE; set +a;` and `VAR=value`s).
fn program(line: &str) -> String {
    let tail = line.rsplit("set +a; ").next().unwrap_or(line);
    shlex::split(tail)
        .unwrap_or_default()
        .into_iter()
        .find(|w| !w.contains('='))
        .unwrap_or_default()
}

fn installed(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v '{prog}' >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The lines under `next: ... then run:` in `plan`'s text output.
fn plan_next(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| !l.starts_with("next:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect()
}

/// What the wizard prints for a plan: its Done screen's and exit summary's commands.
fn wizard_commands(plan: &Plan, path: &Path, cfg: &Path) -> Vec<String> {
    use acme_delegate::tui::state::{done, State};
    let mut s = State::new(
        std::time::SystemTime::now(),
        acme_delegate::tui::theme::Theme { color: false },
    );
    s.plan = Some(plan.clone());
    s.plan_path = Some(path.to_path_buf());
    s.config_path = Some(cfg.to_path_buf());
    let mut v: Vec<String> = done::own_commands(&s).iter().map(|a| a.shell()).collect();
    v.push(done::recheck(&s).shell());
    v.push(done::cron_line(&s));
    // The exit summary prints the same lines.
    let summary = done::exit_summary(&s).join("\n");
    for c in &v {
        assert!(summary.contains(c.as_str()), "{c} not in:\n{summary}");
    }
    v
}

#[test]
fn every_printed_next_command_parses_and_runs() {
    let Some(_lab) = common::lab() else { return };
    let dir: PathBuf = common::run_dir().join(format!("next-{}", common::rand_suffix()));
    let plans = dir.join("my plans");
    std::fs::create_dir_all(&plans).unwrap();
    let cfg = common::config();
    let key = std::env::var("LAB_TSIG_BIND_KEY").unwrap();
    let name = common::unique("nx");
    let wildcard = format!("*.{name}");
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut check = |what: &str, line: &str, extra: &str, secs: u64, want: i32| {
        let (rc, log) = run_line(&dir, line, extra, secs);
        ran += 1;
        if rc != want {
            failures.push(format!("{what}: exit {rc}, want {want}\n{log}"));
        }
    };

    // ---- RFC 2136: planned, published, so every command runs for real ----------------
    let rfc = plans.join("rfc2136 plan.toml");
    let plan_args = |p: &Path, kind: &[&str]| {
        let mut a = vec!["plan", "--plan", p.to_str().unwrap()];
        a.extend_from_slice(kind);
        a.push(&name);
        a.push(&wildcard);
        let (rc, out, err) = common::cli(&a);
        assert!(rc == 0 || rc == 1, "{rc}\n{out}\n{err}");
        out
    };
    let out = plan_args(
        &rfc,
        &[
            "--zone",
            "rfc2136",
            "--server",
            "127.0.0.12:53",
            "--key-file",
            &key,
            "--domain",
            "acme.lab",
        ],
    );
    let plan = Plan::load(&rfc).unwrap();
    common::publish_cname(&name, &plan.names[0].target.to_string());
    let next = plan_next(&out);
    assert_eq!(next.len(), 2, "check --wait, prove:\n{out}");
    assert!(
        next[0].contains("'*."),
        "the wildcard is quoted: {}",
        next[0]
    );
    assert!(
        next[0].contains("'/"),
        "the plan (with a space) is named: {}",
        next[0]
    );
    for l in &next {
        check("plan (rfc2136)", l, "", 120, 0);
    }
    for l in wizard_commands(&plan, &rfc, &cfg) {
        if l.starts_with("17 ") {
            check("wizard cron (rfc2136)", &l, " --help", 20, 0);
        } else {
            check("wizard (rfc2136)", &l, "", 120, 0);
        }
    }

    // ---- every client, on the RFC 2136 plan --------------------------------------------
    for client in acme_delegate::clients::write::Client::ALL {
        let out_dir = dir.join(format!("out-{}", client.name()));
        let (rc, stdout, err) = common::cli(&[
            "--plan",
            rfc.to_str().unwrap(),
            "write",
            "--client",
            client.name(),
            "--out",
            out_dir.to_str().unwrap(),
            "--server",
            &std::env::var("LAB_ACME_DIRECTORY").unwrap(),
            "--email",
            "admin@example.test",
            "--private-zone",
            "--json",
        ]);
        if rc == 2 {
            // This client cannot use this kind of zone: nothing printed to run.
            eprintln!("{client}: refuses the plan: {err}");
            continue;
        }
        assert_eq!(rc, 0, "{client}: {stdout}\n{err}");
        let doc = common::json(&stdout);
        let cmds: Vec<String> = doc["clients"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["next_commands"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        for l in cmds {
            let prog = program(&l);
            let (rc, log) = run_line(
                &dir,
                &format!("sh -n -c {}", shlex::try_quote(&l).unwrap()),
                "",
                10,
            );
            assert_eq!(rc, 0, "{client}: not a shell line: {log}");
            if prog == "acme-delegate" {
                check(&client.to_string(), &l, "", 120, 0);
            } else if installed(&prog) {
                check(&format!("{client} ({prog})"), &l, " --help", 60, 0);
            } else {
                eprintln!("{client}: {prog} is not installed here; `sh -n` only: {l}");
            }
        }
    }

    // ---- provider and hosted plans: no prove; the rest parses -------------------------
    for (kind, args) in [
        (
            "provider",
            vec![
                "--zone",
                "provider",
                "--provider",
                "rfc2136",
                "--domain",
                "acme.lab",
            ],
        ),
        ("hosted", vec!["--zone", "hosted", "--target", "x.acme.lab"]),
    ] {
        let p = plans.join(format!("{kind} plan.toml"));
        let out = plan_args(&p, &args);
        let next = plan_next(&out);
        assert!(!next.is_empty(), "{kind}:\n{out}");
        assert!(
            next.iter().all(|l| !l.ends_with(" prove")),
            "{kind}: prove cannot publish here:\n{out}"
        );
        let plan = Plan::load(&p).unwrap();
        let wiz = wizard_commands(&plan, &p, &cfg);
        assert!(
            wiz.iter().all(|l| !l.ends_with(" prove")),
            "{kind}: {wiz:?}"
        );
        for l in next.iter().chain(&wiz) {
            check(kind, l, " --help", 20, 0);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran >= 10, "{ran}");
}

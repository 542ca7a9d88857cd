//! The front door: every command's `--help` shows examples and keeps its exit-status table;
//! shell completions and the manual page are generated from the flags. No network.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const COMMANDS: &[&str] = &[
    "check",
    "diagnose",
    "plan",
    "prove",
    "write",
    "hook",
    "serve",
    "merge",
    "wizard",
    "troubleshoot",
    "completions",
    "man",
];

fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_acme-delegate"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ACME_DELEGATE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("acme-delegate {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_help_shows_examples_and_the_exit_status() {
    let top = run(&["--help"]);
    assert!(top.status.success());
    let t = stdout(&top);
    assert!(t.contains("Examples:"), "{t}");
    assert!(t.contains("Exit status"), "{t}");
    for cmd in COMMANDS {
        assert!(t.contains(cmd), "--help does not list {cmd}");
        for flag in ["--help", "-h"] {
            let o = run(&[cmd, flag]);
            let h = stdout(&o);
            assert!(o.status.success(), "{cmd} {flag}: {h}");
            assert!(h.contains("Examples"), "{cmd} {flag} has no examples:\n{h}");
            assert!(
                h.contains(&format!("acme-delegate {cmd}")) || h.contains("hook certbot"),
                "{cmd} {flag}: no example of the command itself:\n{h}"
            );
            assert!(
                h.contains("Exit status:"),
                "{cmd} {flag} lost its exit codes:\n{h}"
            );
            assert!(h.contains("  0  "), "{cmd} {flag}:\n{h}");
        }
    }
    // The exit codes of check keep their meaning.
    let h = stdout(&run(&["check", "--help"]));
    for line in [
        "0  every name works from every vantage point",
        "1  at least one error finding",
        "2  bad input or usage",
        "3  inconclusive",
        "130  interrupted",
    ] {
        assert!(h.contains(line), "check --help lacks {line:?}:\n{h}");
    }
}

/// A shell's syntax checker, when installed: (program, args before the file).
fn syntax_checker(shell: &str) -> Option<(PathBuf, Vec<&'static str>)> {
    let prog = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(shell))
            .find(|p| p.is_file())
    })?;
    Some((prog, vec!["-n"]))
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = std::env::temp_dir().join(format!("acme-delegate-compl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef acme-delegate"),
        ("fish", "complete -c acme-delegate"),
    ] {
        // A broken config does not matter: completions need only the flags.
        let o = run(&["--config", "/nonexistent/acme.toml", "completions", shell]);
        let s = stdout(&o);
        assert!(
            o.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(s.contains(marker), "{shell}: no {marker:?}");
        for word in [
            "diagnose",
            "troubleshoot",
            "prometheus-textfile",
            "client-config",
        ] {
            assert!(s.contains(word), "{shell} completion lacks {word}");
        }
        if let Some((prog, args)) = syntax_checker(shell) {
            let f = dir.join(format!("completion.{shell}"));
            std::fs::write(&f, &s).unwrap();
            let ok = Command::new(prog).args(args).arg(&f).output().unwrap();
            assert!(
                ok.status.success(),
                "{shell} -n rejects the script: {}",
                String::from_utf8_lossy(&ok.stderr)
            );
        }
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_manual_page() {
    let o = run(&["man"]);
    assert!(o.status.success());
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH acme-delegate 1"),
        "{page}"
    );
    for word in [
        "SUBCOMMANDS",
        "check",
        "diagnose",
        "Examples",
        "Exit status",
        "\\-\\-config",
    ] {
        assert!(page.contains(word), "the page lacks {word:?}");
    }
    let dir = std::env::temp_dir().join(format!("acme-delegate-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = run(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for cmd in COMMANDS {
        let p = dir.join(format!("acme-delegate-{cmd}.1"));
        let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(t.contains(".TH"), "{}", p.display());
    }
    assert!(dir.join("acme-delegate.1").is_file());
    // An unwritable place is exit 1 with the reason.
    let o = run(&["man", "--out-dir", "/proc/acme-delegate-man"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/proc/acme-delegate-man"));
    let _ = std::fs::remove_dir_all(&dir);
}

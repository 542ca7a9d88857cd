//! The TUI gives the terminal back on every signal it can receive (issue 18, item 10):
//! SIGQUIT left it raw, in the alternate screen. Runs the troubleshooter in a tmux pane,
//! sends the signal to it, and reads the pane's modes, `stty -a` and the exit status (130,
//! as documented for every command interrupted by a signal) afterwards.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Pane {
    socket: String,
}

impl Pane {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .arg("10")
            .arg("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.tmux(&["capture-pane", "-p", "-t", "t"]);
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "no {text:?} within {limit:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// (the pane's modes, `stty -a`, the TUI's exit status) after `sig`.
fn run_and_signal(dir: &Path, sig: &str) -> (String, String, String) {
    let socket = format!("tuisig{}", common::rand_suffix() % 1_000_000_000);
    let bin = env!("CARGO_BIN_EXE_acme-delegate");
    let cfg = common::config();
    let cmd = format!(
        "cd '{d}' && env XDG_CONFIG_HOME='{d}/xdg/config' XDG_DATA_HOME='{d}/xdg/data' \
         TERM=xterm-256color '{bin}' --config '{c}' troubleshoot undelegated.example.test; \
         echo $? > '{d}/exit'; stty -a > '{d}/stty'; echo TUI-EXITED; sleep 120",
        d = dir.display(),
        c = cfg.display()
    );
    let p = Pane { socket };
    p.tmux(&["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", &cmd]);
    p.wait_for("Troubleshoot: 1 name", Duration::from_secs(20));
    let shell = p.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
    let out = Command::new("pgrep")
        .args(["-P", shell.trim(), "-x", "acme-delegate"])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty(), "the TUI's pid under {shell}");
    assert!(Command::new("kill")
        .args([&format!("-{sig}"), &pid])
        .status()
        .unwrap()
        .success());
    p.wait_for("TUI-EXITED", Duration::from_secs(20));
    let modes = p
        .tmux(&[
            "display-message",
            "-p",
            "-t",
            "t",
            "#{alternate_on} #{mouse_any_flag} #{cursor_flag}",
        ])
        .trim()
        .to_string();
    (
        modes,
        std::fs::read_to_string(dir.join("stty")).unwrap(),
        std::fs::read_to_string(dir.join("exit")).unwrap(),
    )
}

#[test]
fn every_signal_gives_the_terminal_back() {
    if common::lab().is_none() {
        return;
    }
    for sig in ["QUIT", "TERM", "HUP", "INT"] {
        let dir = common::run_dir().join(format!("tui-sig-{sig}-{}", common::rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let (modes, stty, exit) = run_and_signal(&dir, sig);
        assert_eq!(exit.trim(), "130", "{sig}: the exit status after a signal");
        assert_eq!(
            modes, "0 0 1",
            "{sig}: alternate screen off, mouse off, cursor shown"
        );
        let words: Vec<&str> = stty.split_whitespace().collect();
        for flag in ["icanon", "echo", "isig"] {
            assert!(
                words.contains(&flag),
                "{sig}: the terminal is still raw ({flag} is off):\n{stty}"
            );
        }
    }
}

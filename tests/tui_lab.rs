//! The TUI end to end, under tmux, against the lab: the whole wizard for an RFC 2136 zone
//! (the exact CNAME on screen, published in the production zone, the grid green with the
//! status line `works from every vantage point`, the proof, lego's files 0600, a clean
//! exit), the troubleshooter on a broken name, and faults shown in place (a resolver
//! killed mid-poll, a rejected key, a terminal too small).
//!
//! Each test drives its own tmux server (`tmux -L <unique>`) with an 80x24 pane, polls
//! `capture-pane` for the text it expects (never a fixed sleep), and is bounded in time.

mod common;

use acme_delegate::model::plan::{Plan, ZoneSpec};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One TUI in one tmux pane.
struct Tui {
    socket: String,
    dir: PathBuf,
}

fn tmux_ok() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tui {
    /// Starts `acme-delegate ARGS` in `dir` (its cwd: lego's `.lego` goes there), with the
    /// user's config and data dirs inside `dir`. Its exit status lands in `dir/exit`.
    fn start(dir: &Path, args: &[&str]) -> Tui {
        let socket = format!("tuilab{}", common::rand_suffix() % 1_000_000_000);
        let bin = env!("CARGO_BIN_EXE_acme-delegate");
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let cmd = format!(
            "cd '{d}' && env XDG_CONFIG_HOME='{d}/xdg/config' XDG_DATA_HOME='{d}/xdg/data' \
             TERM=xterm-256color '{bin}' {args}; echo $? > '{d}/exit'; echo TUI-EXITED; sleep 120",
            d = dir.display(),
            args = quoted.join(" ")
        );
        let t = Tui {
            socket,
            dir: dir.to_path_buf(),
        };
        t.tmux(&["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", &cmd]);
        t.tmux(&["set-option", "-t", "t", "escape-time", "0"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .arg("10")
            .arg("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", "t"];
        a.extend_from_slice(keys);
        self.tmux(&a);
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// Polls the pane until it shows `text`; returns that screen.
    fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > limit {
                panic!("no {text:?} on screen within {limit:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Moves the poll grid's selection right, column by column, until the selected cell
    /// is `vantage`'s (the server columns come first, as many as the chain has).
    fn select_column(&self, vantage: &str) -> String {
        let want = format!(" @ {vantage} (");
        for _ in 0..12 {
            let s = self.screen();
            if s.contains(&want) {
                return s;
            }
            let before = s;
            self.keys(&["Right"]);
            let start = Instant::now();
            while self.screen() == before && start.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.wait_for(&want, Duration::from_secs(2))
    }

    /// The pane's terminal state: (alternate screen on, mouse reporting on).
    fn modes(&self) -> String {
        self.tmux(&[
            "display-message",
            "-p",
            "-t",
            "t",
            "#{alternate_on} #{mouse_any_flag} #{cursor_flag}",
        ])
        .trim()
        .to_string()
    }

    /// Quits with `q` and checks the terminal is given back clean; returns the exit status.
    fn quit_clean(&self, gone: &str) -> i32 {
        self.keys(&["q"]);
        let s = self.wait_for("TUI-EXITED", Duration::from_secs(40));
        assert!(!s.contains(gone), "the TUI is still on screen:\n{s}");
        assert_eq!(
            self.modes(),
            "0 0 1",
            "alternate screen off, mouse off, cursor shown"
        );
        std::fs::read_to_string(self.dir.join("exit"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// A fresh folder for one test (its cwd, plan, user dirs).
fn workdir(tag: &str) -> PathBuf {
    let d = common::run_dir().join(format!("tui-{tag}-{}", common::rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The lab is there and so is tmux (required with the lab: the test command installs it).
fn ready() -> bool {
    if common::lab().is_none() {
        return false;
    }
    assert!(tmux_ok(), "tmux is missing: apt-get install tmux");
    true
}

/// The troubleshooter's `checked HH:MM:SS UTC` line, or "" while it runs.
fn checked_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("checked "))
        .unwrap_or("")
        .to_string()
}

/// The status line (the last row but one), without its symbol.
fn status_line(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let s = lines.get(22).copied().unwrap_or("").trim();
    s.split_once(' ').map(|(_, t)| t).unwrap_or(s).to_string()
}

#[test]
fn the_whole_wizard_for_an_rfc2136_zone() {
    if !ready() {
        return;
    }
    let dir = workdir("wizard");
    let plan = dir.join("plan.toml");
    let cfg = common::config();
    let name = common::unique("tui");
    let key = std::env::var("LAB_TSIG_BIND_KEY").unwrap();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "wizard",
        ],
    );
    let secs = Duration::from_secs;
    tui.wait_for("1 Names", secs(20));
    // An invalid name: the reason, in place, as it is typed.
    tui.type_text("bad_name");
    tui.wait_for("contains '_'", secs(5));
    tui.keys(&["BSpace"; 8]);
    tui.type_text(&name);
    tui.keys(&["Enter"]);
    tui.wait_for("Validation zone", secs(5));
    tui.keys(&["Down", "Enter"]);
    tui.type_text("127.0.0.12:53");
    tui.keys(&["Tab"]);
    tui.type_text("acme.lab");
    tui.keys(&["Tab", "Tab"]);
    tui.type_text(&key);
    tui.keys(&["Enter"]);
    let s = tui.wait_for("zone set up", secs(30));
    assert!(s.contains("scope probe"), "{s}");
    tui.keys(&["Enter"]);
    let s = tui.wait_for("CNAME records to publish", secs(10));
    // The exact record, as saved in the plan.
    let saved = Plan::load(&plan).expect("the plan is saved as you go");
    let target = saved.names[0].target.to_string();
    assert!(target.ends_with(".acme.lab."), "{target}");
    let owner = format!("_acme-challenge.{name}.");
    assert!(
        s.lines()
            .any(|l| l.contains(&owner) && l.split_whitespace().any(|w| w == owner)),
        "no {owner} on screen:\n{s}"
    );
    assert!(
        s.lines().any(|l| l.split_whitespace().any(|w| w == target)),
        "no {target} on screen:\n{s}"
    );
    // Too small: said in place; back to size: the screen comes back.
    tui.tmux(&["resize-window", "-t", "t", "-x", "60", "-y", "20"]);
    tui.wait_for("needs 80x24 (now 60x20)", secs(5));
    tui.tmux(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    tui.wait_for("CNAME records to publish", secs(5));
    // The user's one manual step, in the production zone.
    common::publish_cname(&name, &target);
    tui.keys(&["Enter"]);
    let s = tui.wait_for(acme_delegate::tui::screens::poll::ALL_GREEN, secs(60));
    assert_eq!(status_line(&s), "works from every vantage point", "{s}");
    // A column for each authoritative server of each hop: example.test's, acme.lab's
    // (headers shortened to their unique part, after the `auth` column).
    let header = s.lines().find(|l| l.contains(" auth ")).unwrap_or_default();
    assert!(
        header.contains("ns1.example") && header.contains("ns1.acme"),
        "{s}"
    );
    tui.wait_for("Enter publishes the test TXT", secs(10));
    tui.keys(&["Enter"]);
    tui.wait_for("proof passed", secs(120));
    tui.keys(&["Enter"]);
    tui.wait_for("Issuing client", secs(5));
    // lego is the first client: pick it, preview (secrets masked), write.
    tui.keys(&["Space", "Enter"]);
    let s = tui.wait_for("Enter writes them", secs(20));
    assert!(s.contains("/.lego/rfc2136-"), "{s}");
    assert!(s.contains("RFC2136_TSIG_SECRET='****'"), "{s}");
    assert!(s.contains("0600"), "{s}");
    tui.keys(&["Enter"]);
    tui.wait_for("The delegation is set up", secs(20));
    // The summary scrolls: G goes to its end, where the re-check and the cron line are.
    tui.keys(&["G"]);
    let s = tui.wait_for("check --wait 10m", secs(10));
    assert!(
        s.contains("17 */6 * * * acme-delegate"),
        "the cron line:\n{s}"
    );
    tui.keys(&["g"]);
    let s = tui.wait_for("The delegation is set up", secs(10));
    assert!(s.contains("Proof   passed for 1 name"), "{s}");
    // `rfc2136-<plan id>.env`: every written file carries the plan's id.
    let env = std::fs::read_dir(dir.join(".lego"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("rfc2136-") && n.ends_with(".env")
        })
        .expect("lego's env file");
    let meta = std::fs::metadata(&env).expect("lego's env file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains("RFC2136_NAMESERVER=127.0.0.12:53"), "{text}");
    assert!(!text.contains("****"), "the file holds the real secret");
    assert_eq!(tui.quit_clean("c copy cron line"), 0);
}

#[test]
fn the_troubleshooter_on_a_broken_lab_name() {
    if !ready() {
        return;
    }
    let dir = workdir("trouble");
    let cfg = common::config();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "troubleshoot",
            "undelegated.example.test",
        ],
    );
    let secs = Duration::from_secs;
    tui.wait_for("Troubleshoot: 1 name", secs(20));
    let s = tui.wait_for("checked", secs(60));
    assert!(s.contains("TARGET_ZONE_UNDELEGATED"), "{s}");
    assert!(s.contains("✗ error"), "{s}");
    tui.keys(&["Enter"]);
    let s = tui.wait_for("Fix:", secs(5));
    assert!(s.contains("TARGET_ZONE_UNDELEGATED"), "{s}");
    tui.keys(&["Escape"]);
    // r re-runs on fresh answers: a later "checked" time (a second apart at least).
    let first = checked_line(&tui.wait_for("checked", secs(5)));
    std::thread::sleep(Duration::from_millis(1100));
    tui.keys(&["r"]);
    let start = Instant::now();
    loop {
        let s = tui.screen();
        let now = checked_line(&s);
        if !now.is_empty() && now != first {
            assert!(s.contains("TARGET_ZONE_UNDELEGATED"), "{s}");
            break;
        }
        assert!(start.elapsed() < secs(60), "no re-run:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Errors found: exit status 1.
    assert_eq!(tui.quit_clean("Troubleshoot"), 1);
}

/// A resolver the test can kill: forwards UDP queries to the lab's resolver.
struct Flaky {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flaky {
    fn start(bind: &str, upstream: std::net::SocketAddr) -> Flaky {
        let sock = UdpSocket::bind(bind).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let up = UdpSocket::bind("127.0.0.1:0").unwrap();
                up.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let _ = up.send_to(&buf[..n], upstream);
                let mut back = [0u8; 4096];
                if let Ok((m, _)) = up.recv_from(&mut back) {
                    let _ = sock.send_to(&back[..m], from);
                }
            }
        });
        Flaky {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_resolver_killed_mid_poll_is_shown_in_place_and_the_poll_goes_on() {
    if !ready() {
        return;
    }
    let dir = workdir("flaky");
    let upstream: std::net::SocketAddr = std::env::var("LAB_RESOLVER").unwrap().parse().unwrap();
    let mut flaky = Flaky::start("127.0.0.1:0", upstream);
    let cfg = common::config_with(&format!(
        "roots = [\"127.0.0.10:53\"]\ntimeout_ms = 500\nattempts = 1\npoll_interval_ms = 500\n\
         [[resolvers]]\nname = \"lab-unbound\"\naddress = \"{upstream}\"\n\
         [[resolvers]]\nname = \"flaky\"\naddress = \"{}\"\n[system]\nenabled = false\n",
        flaky.addr
    ));
    let name = common::unique("flaky");
    let plan = dir.join("plan.toml");
    let (_, doc) = common::plan_rfc2136(&plan, "acme.lab", "LAB_TSIG_BIND_KEY", &name);
    let target = doc["names"][0]["target"].as_str().unwrap().to_string();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "wizard",
        ],
    );
    let secs = Duration::from_secs;
    // The CNAME is not there yet: the authoritative cell says so, and what to do.
    let s = tui.wait_for("no CNAME", secs(30));
    assert!(s.contains("publish the CNAME of step 3"), "{s}");
    // The resolver dies while the poll runs; then the CNAME is published.
    flaky.kill();
    common::publish_cname(&name, &target);
    // The flaky column (after the authoritative ones and lab-unbound): the reason and a
    // way forward.
    tui.select_column("flaky");
    let s = tui.wait_for("up and reachable", secs(30));
    assert!(s.contains("flaky (resolver)"), "{s}");
    assert!(!s.contains("works from every vantage point"), "{s}");
    // Not frozen: keys still move the selection.
    tui.keys(&["Left"]);
    tui.wait_for("lab-unbound (resolver)", secs(5));
    // The resolver comes back on the same address: the poll sees it by itself.
    let _back = Flaky::start(&flaky.addr.to_string(), upstream);
    // The selection was moved: the wizard waits for Enter instead of jumping on.
    tui.wait_for("works from every vantage point", secs(30));
    tui.wait_for("all green: Enter to prove", secs(5));
    tui.keys(&["Enter"]);
    tui.wait_for("Enter publishes the test TXT", secs(10));
    tui.quit_clean("Proof");
}

#[test]
fn a_rejected_key_is_shown_in_place_with_the_way_forward() {
    if !ready() {
        return;
    }
    let dir = workdir("badkey");
    let name = common::unique("badkey");
    let plan_path = dir.join("plan.toml");
    common::plan_rfc2136(&plan_path, "acme.lab", "LAB_TSIG_BIND_KEY", &name);
    // The same key name with another secret: the server rejects it.
    let bad = dir.join("bad.key");
    std::fs::write(
        &bad,
        "key \"acme-update\" {\n    algorithm hmac-sha256;\n    secret \"d3Jvbmd3cm9uZ3dyb25nd3Jvbmd3cm9uZ3dyb25nISE=\";\n};\n",
    )
    .unwrap();
    let mut plan = Plan::load(&plan_path).unwrap();
    if let ZoneSpec::Rfc2136 { key_file, .. } = &mut plan.zone {
        *key_file = bad.clone();
    }
    plan.save(&plan_path).unwrap();
    let cfg = common::config();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan_path.to_str().unwrap(),
            "wizard",
        ],
    );
    let secs = Duration::from_secs;
    tui.wait_for("Live poll", secs(20));
    // n goes on without the CNAME: the proof's publish is refused.
    tui.keys(&["n"]);
    tui.wait_for("Enter publishes the test TXT", secs(10));
    tui.keys(&["Enter"]);
    let s = tui.wait_for("proof failed", secs(60));
    // The reason (the server's TSIG error) and the way forward.
    assert!(
        s.contains("BADSIG") || s.contains("BADKEY") || s.contains("NOTAUTH"),
        "the reason:\n{s}"
    );
    assert!(s.contains("the secret (or the algorithm) is wrong"), "{s}");
    assert!(s.contains("r runs it again"), "{s}");
    tui.quit_clean("Proof");
}

/// An acme-dns API that cannot be reached: the registration fails in place, with the
/// reason and the fix, nothing is saved, and the form stays editable (not frozen).
#[test]
fn an_unreachable_acme_dns_api_is_shown_in_place_with_the_way_forward() {
    if !ready() {
        return;
    }
    let dir = workdir("noapi");
    let name = common::unique("noapi");
    let plan = dir.join("plan.toml");
    let cfg = common::config();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "wizard",
        ],
    );
    let secs = Duration::from_secs;
    tui.wait_for("1 Names", secs(20));
    tui.type_text(&name);
    tui.keys(&["Enter"]);
    tui.wait_for("Validation zone", secs(5));
    // acme-dns is the first kind; its first field is the API URL. Port 9 on loopback:
    // nothing listens there.
    tui.keys(&["Enter"]);
    tui.type_text("http://127.0.0.1:9");
    tui.keys(&["Enter"]);
    let s = tui.wait_for("ACMEDNS_UNHEALTHY", secs(30));
    assert!(s.contains("127.0.0.1:9"), "the reason names the API:\n{s}");
    assert!(s.contains('✗'), "a failure has its symbol:\n{s}");
    assert!(!plan.exists(), "nothing is saved for a zone that failed");
    // The form is still there and takes keys: the URL can be corrected.
    tui.keys(&["BSpace"]);
    tui.wait_for("http://127.0.0.1: ", secs(5));
}

impl Tui {
    /// The whole pane with its history, wrapped lines joined (what was printed after
    /// the TUI closed).
    fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"])
    }

    fn exit_status(&self) -> i32 {
        std::fs::read_to_string(self.dir.join("exit"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

/// The commands of the summary printed when the wizard closes: the indented lines under
/// `CLIENT: next`, `acme-delegate: next` and the cron heading.
fn printed_commands(out: &str) -> Vec<String> {
    let mut cmds = Vec::new();
    let mut inside = false;
    for l in out.lines() {
        if l.ends_with(": next") || l.starts_with("cron (") {
            inside = true;
            continue;
        }
        if !l.starts_with("  ") {
            inside = false;
            continue;
        }
        if inside && !l.trim_start().starts_with("note:") {
            cmds.push(l.trim().to_string());
        }
    }
    cmds
}

/// Runs one printed command in `dir` with `acme-delegate` on the PATH, bounded by
/// `timeout`: (exit status, output). A cron line loses its schedule and redirection.
fn run_printed(dir: &Path, cmd: &str, extra: &str, secs: u64) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_acme-delegate"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let line = cmd
        .strip_prefix("17 */6 * * * ")
        .map(|c| c.trim_end_matches(" >/dev/null"))
        .unwrap_or(cmd);
    let out = Command::new("timeout")
        .args([&secs.to_string(), "sh", "-c", &format!("{line}{extra}")])
        .current_dir(dir)
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", dir.join("xdg/config"))
        .env("XDG_DATA_HOME", dir.join("xdg/data"))
        .output()
        .expect("run sh");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The wizard ends on an honest Done screen: one name green, one red (its CNAME never
/// published), the poll, the proof skipped; lego and certbot picked. Done shows the red
/// name and "not verified", the exit status is 1, the summary printed after the screen
/// closes holds every client's commands, and every printed command runs: acme-delegate's
/// for real, the clients' with --help appended (they would ask the CA), the cron line's
/// check with --help (it writes under /var/lib).
#[test]
fn the_wizard_ends_on_an_honest_done_screen_and_every_printed_command_runs() {
    if !ready() {
        return;
    }
    let dir = workdir("done");
    let plan = dir.join("my plan.toml");
    let cfg = common::config();
    let good = common::unique("dgood");
    let bad = common::unique("dbad");
    let (_, doc) =
        common::plan_rfc2136_names(&plan, "acme.lab", "LAB_TSIG_BIND_KEY", &[&good, &bad]);
    let target = doc["names"][0]["target"].as_str().unwrap().to_string();
    common::publish_cname(&good, &target);
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "wizard",
        ],
    );
    let secs = Duration::from_secs;
    tui.wait_for("Live poll", secs(20));
    tui.wait_for("no CNAME", secs(30));
    // Skip the poll and the proof; pick lego and certbot, preview, write.
    tui.keys(&["n"]);
    tui.wait_for("Enter publishes the test TXT", secs(10));
    tui.keys(&["n"]);
    tui.wait_for("Issuing client", secs(5));
    tui.keys(&["Space", "Down", "Space", "Enter"]);
    tui.wait_for("Enter writes them", secs(20));
    tui.keys(&["Enter"]);
    let s = tui.wait_for("The delegation is not verified.", secs(20));
    assert!(!s.contains("is set up"), "{s}");
    assert!(!s.contains("all set"), "{s}");
    assert!(
        s.contains(&format!("✗ {bad}")),
        "the red name on Done:\n{s}"
    );
    assert!(s.contains("Proof   skipped"), "{s}");
    assert_eq!(tui.quit_clean("c copy cron line"), 1);
    let out = tui.history();
    assert!(out.contains("The delegation is not verified."), "{out}");
    assert!(out.contains("lego: next"), "{out}");
    assert!(
        out.contains("certbot: next"),
        "every client's commands:\n{out}"
    );
    assert!(
        out.contains(&format!("plan saved to {}", plan.display())),
        "{out}"
    );
    let cmds = printed_commands(&out);
    assert!(cmds.len() >= 5, "{cmds:?}\n{out}");
    for c in &cmds {
        let words = shlex_words(c);
        let program = words
            .iter()
            .map(String::as_str)
            .find(|w| !w.contains('=') && !matches!(*w, "set" | "-a" | "+a" | "." | ";"))
            .unwrap_or("");
        if c.starts_with("17 */6") {
            let (rc, log) = run_printed(&dir, c, " --help", 20);
            assert_eq!(rc, 0, "{c}\n{log}");
        } else if program == "acme-delegate" {
            // For real: prove fails for the red name (1); check --wait waits for it
            // (still waiting when the bound ends: 124). Never a usage error (2).
            // prove waits up to 120 s for the red name: the test bounds it to 10 s.
            let extra = if c.ends_with(" prove") {
                " --timeout 10"
            } else {
                ""
            };
            let (rc, log) = run_printed(&dir, c, extra, 40);
            if c.ends_with(" prove") {
                assert_eq!(rc, 1, "{c}\n{log}");
                assert!(log.contains(&bad), "{log}");
            } else {
                assert!(rc == 1 || rc == 124, "{c}: {rc}\n{log}");
            }
            assert!(
                c.contains("--plan") && c.contains("'"),
                "the plan, quoted: {c}"
            );
        } else {
            let (rc, log) = run_printed(&dir, c, " --help", 30);
            assert_eq!(rc, 0, "{program}: {c}\n{log}");
        }
    }
}

/// A shell line as its words (the test's own split: quotes and backslashes).
fn shlex_words(line: &str) -> Vec<String> {
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("for w in {line}; do printf '%s\\n' \"$w\"; done"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// `troubleshoot` with a bad name: what is wrong with it, exit 2 (as `check`), on a
/// terminal too.
#[test]
fn troubleshoot_with_a_bad_name_says_why_and_exits_2() {
    if !ready() {
        return;
    }
    let dir = workdir("tsbad");
    let cfg = common::config();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "troubleshoot",
            "bad_name.example.test",
        ],
    );
    tui.wait_for("TUI-EXITED", Duration::from_secs(20));
    let s = tui.history();
    assert!(s.contains("contains '_'"), "{s}");
    assert!(!s.contains("internal error"), "{s}");
    assert_eq!(tui.exit_status(), 2, "{s}");
}

/// A burst of 2,000 Down keys sent at once (and 2,001 names in the grid): every key is
/// handled, the selection ends on the last row within 1 s.
#[test]
fn a_burst_of_2000_keys_is_handled_at_once() {
    if !ready() {
        return;
    }
    let dir = workdir("burst");
    let plan = dir.join("plan.toml");
    let key = std::env::var("LAB_TSIG_BIND_KEY").unwrap();
    let mut text = format!(
        "version = 1\n\n[zone]\nkind = \"rfc2136\"\nserver = \"127.0.0.12:53\"\nzone = \"acme.lab.\"\nkey_file = \"{key}\"\n"
    );
    for i in 0..=2000 {
        text.push_str(&format!(
            "\n[[names]]\nname = \"n{i:04}.bench.test\"\nchallenge = \"_acme-challenge.n{i:04}.bench.test.\"\ntarget = \"n{i:04}.acme.lab.\"\nzone = \"bench.test.\"\n"
        ));
    }
    std::fs::write(&plan, text).unwrap();
    let cfg = common::config();
    let tui = Tui::start(
        &dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "wizard",
        ],
    );
    tui.wait_for("2001 names", Duration::from_secs(30));
    tui.wait_for("round 1:", Duration::from_secs(60));
    // `j` (as Down): a Down arrow is three bytes (ESC [ B), and on a loaded machine a read of
    // the pty can end right after an ESC, which crossterm then takes for Esc (back to the
    // CNAME step). This test is about 2,000 keys at once, not about escape sequences.
    tui.keys(&["-N", "2000", "j"]);
    let start = Instant::now();
    let s = tui.wait_for("n2000.bench.test @", Duration::from_secs(5));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "{took:?}\n{s}");
    tui.quit_clean("Live poll");
}

/// The troubleshooter does not poison the caches it reports on: on a name whose CNAME is
/// not published yet, it asks the resolvers only once the authoritative view is right
/// (the engine's diagnose, no question of its own), so lab-unbound2 (which keeps negative
/// answers for 300 s) has no NXDOMAIN cached: once the CNAME is published, it serves it
/// at once.
#[test]
fn the_troubleshooter_does_not_poison_the_resolver_caches() {
    if !ready() {
        return;
    }
    let dir = workdir("poison");
    let cfg = common::config();
    let name = common::unique("tpoison");
    let tui = Tui::start(
        &dir,
        &["--config", cfg.to_str().unwrap(), "troubleshoot", &name],
    );
    let s = tui.wait_for("checked", Duration::from_secs(60));
    assert!(s.contains("CNAME_MISSING"), "{s}");
    assert_eq!(tui.quit_clean("Troubleshoot"), 1);
    // The user's fix: the CNAME. The resolver that keeps negative answers sees it now.
    common::publish_cname(&name, "www-label.acme.lab.");
    let out = common::sh(&format!(
        "kdig @127.0.0.54 +timeout=2 +retry=0 CNAME _acme-challenge.{name}"
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("status: NOERROR") && text.contains("www-label.acme.lab."),
        "lab-unbound2 cached a negative answer from the troubleshooter:\n{text}"
    );
}

//! The exporter (`serve`) under the real Prometheus (Debian's `prometheus`): the shipped
//! contrib/prometheus/prometheus.yml (blackbox-style relabelling) and rule file, with the
//! lab's names as targets and 1 s intervals, and the alert `acme_delegate_ok == 0` read
//! back through Prometheus's HTTP API: firing for the broken names, not for the healthy.

mod common;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HEALTHY: &[&str] = &["www.example.test", "chain.example.test"];
const BROKEN: &[&str] = &["nocname.example.test", "api.example.test"];
/// The whole test, Prometheus's start included.
const LIMIT: Duration = Duration::from_secs(120);

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn contrib(file: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/prometheus")
        .join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The shipped prometheus.yml with the lab's names, the exporter's address, 1 s intervals
/// and the rule file at `rules` (JSON is YAML: Prometheus reads it as it is).
fn lab_prometheus_yml(exporter: &str, rules: &Path) -> Value {
    let mut cfg = contrib("prometheus.yml");
    cfg["global"] = json!({"scrape_interval": "1s", "evaluation_interval": "1s"});
    cfg["rule_files"] = json!([rules.to_str().unwrap()]);
    let jobs = cfg["scrape_configs"].as_array_mut().unwrap();
    for job in jobs.iter_mut() {
        job["scrape_interval"] = json!("1s");
        job["scrape_timeout"] = json!("1s");
        if job["job_name"] == "acme-delegate" {
            let targets: Vec<&str> = HEALTHY.iter().chain(BROKEN).copied().collect();
            job["static_configs"] = json!([{ "targets": targets }]);
            // A cold first check gets 1.5 s (the timeout less 0.5 s).
            job["scrape_interval"] = json!("2s");
            job["scrape_timeout"] = json!("2s");
            let relabel = job["relabel_configs"].as_array_mut().unwrap();
            let to_exporter = relabel
                .iter_mut()
                .find(|r| r["target_label"] == "__address__")
                .expect("the relabelling sends the scrape to the exporter");
            to_exporter["replacement"] = json!(exporter);
        } else {
            job["static_configs"] = json!([{ "targets": [exporter] }]);
        }
    }
    cfg
}

/// The shipped rules, every `for:` at 0 s (the alert fires at the first evaluation).
fn lab_rules() -> Value {
    let mut rules = contrib("acme-delegate.rules.yml");
    for g in rules["groups"].as_array_mut().unwrap() {
        g["interval"] = json!("1s");
        for r in g["rules"].as_array_mut().unwrap() {
            if r.get("for").is_some() {
                r["for"] = json!("0s");
            }
        }
    }
    rules
}

async fn get_json(client: &reqwest::Client, url: &str) -> Option<Value> {
    client.get(url).send().await.ok()?.json().await.ok()
}

/// The instances the alert `alertname` fires for.
fn firing(alerts: &Value, alertname: &str) -> BTreeSet<String> {
    alerts["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == alertname && a["state"] == "firing")
        .filter_map(|a| a["labels"]["instance"].as_str().map(str::to_string))
        .collect()
}

/// instance -> value of `acme_delegate_ok`.
fn ok_values(q: &Value) -> Vec<(String, String, String)> {
    q["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["metric"]["instance"].as_str().unwrap_or("").to_string(),
                r["metric"]["vantage"].as_str().unwrap_or("").to_string(),
                r["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alerts_on_the_broken_names_only() {
    let Some(_lab) = common::lab() else { return };
    let start = Instant::now();
    let dir: PathBuf = common::run_dir().join(format!("prometheus-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();

    // The exporter.
    let exporter = format!("127.0.0.1:{}", free_port());
    let config = common::config();
    let serve = Killed(common::spawn(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--listen",
        &exporter,
        "--vantage-label",
        "lab",
    ]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap();
    loop {
        let up = client
            .get(format!("http://{exporter}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Prometheus with the shipped files.
    let rules = dir.join("acme-delegate.rules.yml");
    std::fs::write(&rules, serde_json::to_string_pretty(&lab_rules()).unwrap()).unwrap();
    let yml = dir.join("prometheus.yml");
    std::fs::write(
        &yml,
        serde_json::to_string_pretty(&lab_prometheus_yml(&exporter, &rules)).unwrap(),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prometheus = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run prometheus (Debian: apt-get install prometheus)"),
    );

    // Until every target has been scraped and every broken name's alert fires.
    let want_firing: BTreeSet<String> = BROKEN.iter().map(|s| s.to_string()).collect();
    let (mut alerts, mut oks) = (Value::Null, vec![]);
    loop {
        if let Some(a) = get_json(&client, &format!("http://{web}/api/v1/alerts")).await {
            alerts = a;
        }
        if let Some(q) = get_json(
            &client,
            &format!("http://{web}/api/v1/query?query=acme_delegate_ok"),
        )
        .await
        {
            oks = ok_values(&q);
        }
        let fired = firing(&alerts, "AcmeDelegationFailing");
        if fired == want_firing && oks.len() == HEALTHY.len() + BROKEN.len() {
            break;
        }
        assert!(
            start.elapsed() < LIMIT,
            "the alerts did not settle within {LIMIT:?}: firing {fired:?}, acme_delegate_ok {oks:?}\n{alerts:#}\nprometheus log: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (instance, vantage, value) in &oks {
        assert_eq!(
            vantage, "lab",
            "the exporter labels its series with the vantage"
        );
        let want = if HEALTHY.contains(&instance.as_str()) {
            "1"
        } else {
            "0"
        };
        assert_eq!(value, want, "acme_delegate_ok of {instance}: {oks:?}");
    }
    // The healthy names never fire; the alert says which name and network.
    let fired = firing(&alerts, "AcmeDelegationFailing");
    for h in HEALTHY {
        assert!(!fired.contains(*h), "{h} fires: {alerts:#}");
    }
    let summary = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == "nocname.example.test")
        .map(|a| {
            a["annotations"]["summary"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .unwrap();
    assert!(
        summary.contains("nocname.example.test") && summary.contains("from lab"),
        "{summary}"
    );
    // The finding code is a series of its own, through Prometheus too.
    let q = get_json(
        &client,
        &format!(
            "http://{web}/api/v1/query?query=acme_delegate_findings%7Bcode%3D%22CNAME_MISSING%22%7D"
        ),
    )
    .await
    .unwrap();
    let names: BTreeSet<&str> = q["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["metric"]["name"].as_str())
        .collect();
    assert!(names.contains("nocname.example.test"), "{q:#}");
    // The exporter's own metrics count the probes: straight from the exporter, the
    // probes Prometheus has answers for are already counted (each is counted before its
    // answer is sent)...
    let own = client
        .get(format!("http://{exporter}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted: f64 = own
        .lines()
        .filter(|l| l.starts_with("acme_delegate_exporter_probes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        counted >= (HEALTHY.len() + BROKEN.len()) as f64,
        "every name was probed at least once: {own}"
    );
    // ...and Prometheus scrapes them (job acme-delegate-exporter). Its last scrape of
    // /metrics (every 1 s, on its own schedule) can predate the first probe's answer:
    // the alerts above settle from the probe job alone (main asserted right here and
    // read a 0 from such a scrape), so wait for the next scrape, within the test's time.
    let settled = Instant::now();
    loop {
        let q = get_json(
            &client,
            &format!("http://{web}/api/v1/query?query=sum(acme_delegate_exporter_probes_total)"),
        )
        .await
        .unwrap_or(Value::Null);
        let probes: f64 = q["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if probes >= 1.0 {
            eprintln!(
                "Prometheus's scrape of the exporter counted {probes} probes {:?} after the alerts settled",
                settled.elapsed()
            );
            break;
        }
        assert!(
            start.elapsed() < LIMIT,
            "Prometheus never scraped a probe count from the exporter (it has {counted}): {q:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Straight from the exporter: both answers pass promtool's linter; bad parameters
    // get 400 with the reason; a name within its TTL is answered again from the result.
    for path in [
        "/probe?name=nocname.example.test&name=www.example.test",
        "/metrics",
    ] {
        let r = client
            .get(format!("http://{exporter}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.unwrap();
        let out = promtool_check_metrics(&text);
        assert!(out.0, "promtool rejects {path}: {}\n{text}", out.1);
        if path.starts_with("/probe") {
            assert!(
                text.contains("acme_delegate_ok{vantage=\"lab\"} 0\n"),
                "{text}"
            );
            assert!(text.contains(
                "acme_delegate_findings{name=\"nocname.example.test\",code=\"CNAME_MISSING\",severity=\"error\",command=\"check\",vantage=\"lab\"} 1\n"
            ), "{text}");
        } else {
            let reused = text
                .lines()
                .find(|l| l.starts_with("acme_delegate_exporter_names_total{source=\"reused\""))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            assert!(reused > 0, "names answered from a fresh result: {text}");
        }
    }
    for (path, why) in [
        ("/probe", "no name"),
        ("/probe?name=192.0.2.1", "IP address"),
        (
            "/probe?module=http_2xx&name=www.example.test",
            "unknown parameter \"module\"",
        ),
    ] {
        let r = client
            .get(format!("http://{exporter}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(why), "{path}: {body}");
    }
    let r = client
        .get(format!("http://{exporter}/probe?name=www.example.test"))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // SIGTERM: a graceful stop, exit status 0.
    let mut serve = serve;
    let pid = serve.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(s) = serve.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "serve did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "serve after SIGTERM: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `promtool check metrics` on `text`: (passed, what it said).
fn promtool_check_metrics(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

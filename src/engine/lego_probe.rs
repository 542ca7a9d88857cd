//! Does the lego on this machine have a DNS provider? Asked by running it, not from
//! `lego dnshelp`: Debian's lego 4.9.1 lists `acme-dns` there, yet says `unrecognized DNS
//! provider: acme-dns` when it runs. lego reads its ACME directory before it loads the
//! provider, so the run points at a directory served here on loopback (every other
//! request gets 503), with a throwaway `--path`, the provider's settings aimed at a
//! closed loopback port, and a time limit. Nothing leaves the machine.

use crate::findings::{Code, Finding};
use crate::model::plan::{Plan, ZoneSpec};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the run showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderProbe {
    /// lego loaded the provider (it went on to register, which the fake directory refuses).
    Has,
    /// lego said it does not know the provider (its words).
    Lacks { said: String },
    /// No lego, or the run told nothing (timeout, no output): the reason.
    Unknown { why: String },
}

/// The settings each provider needs before it loads, aimed at a closed loopback port.
fn provider_env(provider: &str, dir: &Path) -> Vec<(String, String)> {
    let dead = "http://127.0.0.1:1".to_string();
    let v: Vec<(&str, String)> = match provider {
        "acme-dns" | "acmedns" => vec![
            ("ACME_DNS_API_BASE", dead),
            (
                "ACME_DNS_STORAGE_PATH",
                dir.join("accounts.json").to_string_lossy().into_owned(),
            ),
        ],
        "pdns" => vec![("PDNS_API_URL", dead), ("PDNS_API_KEY", "probe".into())],
        "rfc2136" | "dnsupdate" => vec![("RFC2136_NAMESERVER", "127.0.0.1:1".into())],
        _ => vec![],
    };
    v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Serves an ACME directory at `/dir` on 127.0.0.1 (any free port) until dropped; every
/// other request gets 503.
async fn fake_directory() -> std::io::Result<(u16, tokio::task::JoinHandle<()>)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = match tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let req = String::from_utf8_lossy(&buf[..n]);
                let resp = if req.starts_with("GET /dir ") {
                    let u = |p: &str| format!("http://127.0.0.1:{port}/{p}");
                    let body = serde_json::json!({
                        "newNonce": u("nonce"), "newAccount": u("acct"), "newOrder": u("order"),
                        "revokeCert": u("revoke"), "keyChange": u("key"),
                    })
                    .to_string();
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                } else {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                };
                let _ = c.write_all(resp.as_bytes()).await;
            });
        }
    });
    Ok((port, task))
}

/// `CLIENT_PROVIDER_MISSING` when the lego on PATH does not load the plan's DNS provider
/// (found by running it against a loopback ACME directory; see [`probe`]).
pub async fn provider_finding(plan: &Plan) -> Option<Finding> {
    let provider = match &plan.zone {
        ZoneSpec::AcmeDns { .. } => "acme-dns".to_string(),
        ZoneSpec::Provider { provider, .. } => provider.clone(),
        _ => return None,
    };
    let lego = lego_on_path()?;
    let ProviderProbe::Lacks { said } =
        probe(&lego, &provider, std::time::Duration::from_secs(10)).await
    else {
        return None;
    };
    let way_out = if provider == "acme-dns" {
        "use an upstream lego release (github.com/go-acme/lego/releases, v4.9.0 or later: every build has acme-dns) in place of this one, or `acme-delegate write --client certbot` (certbot calls acme-delegate's hook, which posts to acme-dns itself)"
    } else {
        "use an upstream lego release (github.com/go-acme/lego/releases) that lists the provider in `lego dnshelp` and runs it, or another client"
    };
    Some(Finding::new(
        Code::ClientProviderMissing,
        "lego",
        format!(
            "the lego on this machine ({}) does not have the {provider} DNS provider: run with `--dns {provider}` it says `{said}`; the files below are for a lego that has it",
            lego.display()
        ),
        way_out.into(),
    ))
}

/// The `lego` on PATH (or `None`).
pub fn lego_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("lego"))
        .find(|p| p.is_file())
}

/// Runs `lego` with `--dns provider` against the loopback directory, for at most `limit`.
pub async fn probe(lego: &Path, provider: &str, limit: Duration) -> ProviderProbe {
    let unknown = |why: String| ProviderProbe::Unknown { why };
    let dir = match tempfile::Builder::new()
        .prefix("acme-delegate-lego-probe")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return unknown(format!("no temporary folder for the probe: {e}")),
    };
    let (port, server) = match fake_directory().await {
        Ok(x) => x,
        Err(e) => return unknown(format!("cannot listen on loopback for the probe: {e}")),
    };
    let mut cmd = std::process::Command::new(lego);
    cmd.args([
        "--accept-tos",
        "--email",
        "probe@example.invalid",
        "--server",
        &format!("http://127.0.0.1:{port}/dir"),
        "--path",
        &dir.path().to_string_lossy(),
        "--dns",
        provider,
        "--domains",
        "probe.example.invalid",
        "run",
    ])
    .env_clear()
    .envs(provider_env(provider, dir.path()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let shown = lego.display().to_string();
    let ran = tokio::task::spawn_blocking(move || run_bounded(cmd, limit)).await;
    server.abort();
    let out = match ran {
        Ok(Ok(Some(o))) => o,
        Ok(Ok(None)) => return unknown(format!("{shown} gave no answer within {limit:?}")),
        Ok(Err(e)) => return unknown(format!("cannot run {shown}: {e}")),
        Err(e) => return unknown(format!("the probe task failed: {e}")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    verdict(&text, provider)
}

/// Runs `cmd` for at most `limit` (killed then): its output, or `None` on timeout.
fn run_bounded(
    mut cmd: std::process::Command,
    limit: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    use std::io::Read;
    let mut child = cmd.spawn()?;
    let start = std::time::Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    if let Some(mut o) = child.stdout.take() {
        o.read_to_end(&mut out)?;
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_end(&mut err)?;
    }
    Ok(Some(std::process::Output {
        status: child.wait()?,
        stdout: out,
        stderr: err,
    }))
}

/// What lego's output says about the provider.
pub(crate) fn verdict(output: &str, provider: &str) -> ProviderProbe {
    if let Some(l) = output
        .lines()
        .find(|l| l.contains("unrecognized DNS provider"))
    {
        let said = l
            .find("unrecognized")
            .map_or(l, |i| &l[i..])
            .trim()
            .to_string();
        return ProviderProbe::Lacks { said };
    }
    // Past the provider: lego went on to register (the nonce or account request), or the
    // provider's own settings were read.
    let past = ["registration", "nonce", "newAccount", "acct", "JWS"];
    if past.iter().any(|p| output.contains(p)) {
        return ProviderProbe::Has;
    }
    let last = output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    ProviderProbe::Unknown {
        why: format!(
            "lego --dns {provider} ended without saying whether it knows the provider (last line: {:?})",
            last.chars().take(200).collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lego_output_is_read() {
        assert_eq!(
            verdict(
                "2026/12/06 18:51:05 unrecognized DNS provider: acme-dns\n",
                "acme-dns"
            ),
            ProviderProbe::Lacks {
                said: "unrecognized DNS provider: acme-dns".into()
            }
        );
        assert_eq!(
            verdict("2026/12/06 Could not complete registration\n\tfailed to post JWS message: ... nonce", "pdns"),
            ProviderProbe::Has
        );
        assert!(matches!(
            verdict("panic: oops", "pdns"),
            ProviderProbe::Unknown { .. }
        ));
    }

    /// A stand-in lego: it asks the directory it is given (as lego does), then answers as
    /// Debian's 4.9.1 does for acme-dns and as any lego does past a known provider.
    #[tokio::test]
    async fn the_probe_runs_lego_against_a_loopback_directory() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("lego");
        std::fs::write(
            &fake,
            "#!/bin/bash\nwhile [ $# -gt 0 ]; do case $1 in --server) s=$2;; --dns) d=$2;; esac; shift; done\n\
             exec 3<>/dev/tcp/127.0.0.1/${s#http://127.0.0.1:} 2>/dev/null || true\n\
             case $d in acme-dns) echo 'unrecognized DNS provider: acme-dns' >&2; exit 1;;\n\
             slow) /bin/sleep 30;; *) echo 'Could not complete registration: nonce' >&2; exit 1;; esac\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = Duration::from_secs(5);
        assert!(matches!(
            probe(&fake, "acme-dns", t).await,
            ProviderProbe::Lacks { .. }
        ));
        assert_eq!(probe(&fake, "pdns", t).await, ProviderProbe::Has);
        let slow = probe(&fake, "slow", Duration::from_millis(300)).await;
        assert!(
            matches!(slow, ProviderProbe::Unknown { ref why } if why.contains("no answer")),
            "{slow:?}"
        );
        let none = probe(&dir.path().join("nope"), "pdns", t).await;
        assert!(matches!(none, ProviderProbe::Unknown { .. }));
    }
}

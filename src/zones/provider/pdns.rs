//! PowerDNS's HTTP API (`/api/v1/servers/localhost/zones/<zone>`, key in `X-API-Key`):
//! read a zone's TXT rrset with `rrset_name`/`rrset_type`, write it with `PATCH` and
//! `changetype` `REPLACE` (the whole rrset) or `DELETE`. Answers are capped at 1 MiB.

use super::{ApiKey, OpenError, ProviderApi, ProviderError};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use std::time::Duration;

/// The TTL of the TXT records written (the CA asks once; a short TTL keeps caches fresh).
const TXT_TTL: u32 = 60;
const MAX_BODY: usize = 1 << 20;
/// How often a change answered with a 5xx is sent (see `PowerDns::put`), and the pause
/// before the second try (doubled before each next one: 0.2 s, 0.4 s, 0.8 s; each plus
/// up to a quarter at random, so that writers that collided do not collide again).
const PATCH_TRIES: u32 = 4;
const PATCH_BACKOFF: Duration = Duration::from_millis(200);

/// One zone at one PowerDNS API.
pub struct PowerDns {
    base: reqwest::Url,
    /// The zone as the API names it: an FQDN with the trailing dot.
    zone: String,
    key: ApiKey,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Zone {
    #[serde(default)]
    rrsets: Vec<RrSet>,
}

#[derive(Deserialize)]
struct RrSet {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    content: String,
}

/// `"a b"` -> `a b` (PowerDNS gives TXT content in zone-file form: quoted strings).
fn unquote(content: &str) -> String {
    let mut out = String::new();
    let mut in_q = false;
    let mut esc = false;
    for c in content.chars() {
        match (in_q, esc, c) {
            (true, true, c) => {
                out.push(c);
                esc = false;
            }
            (true, false, '\\') => esc = true,
            (_, false, '"') => in_q = !in_q,
            (true, false, c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// A TXT value in zone-file form. The values written here are ACME tokens (base64url)
/// or our probe text: quotes and backslashes are escaped anyway.
fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

fn fqdn(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    if s.ends_with('.') {
        s
    } else {
        format!("{s}.")
    }
}

impl PowerDns {
    pub fn new(api: &str, zone: &str, key: ApiKey, timeout: Duration) -> Result<Self, OpenError> {
        let base = reqwest::Url::parse(api.trim().trim_end_matches('/')).map_err(|e| {
            OpenError::NotAUrl {
                api: api.to_string(),
                detail: e.to_string(),
            }
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(OpenError::NotHttp {
                api: api.to_string(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("acme-delegate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(OpenError::Client)?;
        Ok(PowerDns {
            base,
            zone: fqdn(zone),
            key,
            client,
        })
    }

    fn api(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn zone_url(&self) -> String {
        format!(
            "{}/api/v1/servers/localhost/zones/{}",
            self.api(),
            self.zone
        )
    }

    /// Sends a request; (status, body at most 1 MiB).
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, String), ProviderError> {
        let unreachable = |e: reqwest::Error| ProviderError::Unreachable {
            api: self.api(),
            detail: if e.is_timeout() {
                "no answer in time".into()
            } else if e.is_connect() {
                format!("the connection failed ({})", root_cause(&e))
            } else {
                root_cause(&e)
            },
        };
        let mut resp = req
            .header("X-API-Key", self.key.expose())
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let mut buf = Vec::new();
        while let Some(c) = resp.chunk().await.map_err(unreachable)? {
            if buf.len() + c.len() > MAX_BODY {
                return Err(ProviderError::Refused {
                    api: self.api(),
                    detail: format!("HTTP {status} with an answer over {MAX_BODY} bytes"),
                });
            }
            buf.extend_from_slice(&c);
        }
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }

    /// A non-success answer as a cause.
    fn failure(&self, status: u16, body: &str) -> ProviderError {
        let said = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| body.trim().chars().take(120).collect());
        let said: String = said.chars().filter(|c| !c.is_control()).collect();
        let missing = said.to_ascii_lowercase().contains("could not find domain");
        match status {
            401 | 403 => ProviderError::KeyRejected {
                api: self.api(),
                detail: format!("HTTP {status} {said}"),
            },
            404 => ProviderError::ZoneMissing {
                api: self.api(),
                zone: self.zone.clone(),
            },
            422 if missing => ProviderError::ZoneMissing {
                api: self.api(),
                zone: self.zone.clone(),
            },
            _ => ProviderError::Refused {
                api: self.api(),
                detail: format!("HTTP {status}: {said:?}"),
            },
        }
    }

    /// The TXT values at `owner`.
    async fn txt(&self, owner: &str) -> Result<Vec<String>, ProviderError> {
        let owner = fqdn(owner);
        let req = self
            .client
            .get(self.zone_url())
            .query(&[("rrset_name", owner.as_str()), ("rrset_type", "TXT")]);
        let (status, body) = self.send(req).await?;
        if status != 200 {
            return Err(self.failure(status, &body));
        }
        let z: Zone = serde_json::from_str(&body).map_err(|e| ProviderError::Refused {
            api: self.api(),
            detail: format!("the zone answer is not PowerDNS JSON ({e})"),
        })?;
        Ok(z.rrsets
            .iter()
            // Older servers ignore the filter: pick the rrset here.
            .filter(|r| fqdn(&r.name) == owner && r.rtype == "TXT")
            .flat_map(|r| r.records.iter().map(|c| unquote(&c.content)))
            .collect())
    }

    /// Replaces the TXT rrset at `owner` by `values` (deletes it when empty).
    async fn put(&self, owner: &str, values: &[String]) -> Result<(), ProviderError> {
        let rrset = if values.is_empty() {
            serde_json::json!({"name": fqdn(owner), "type": "TXT", "changetype": "DELETE"})
        } else {
            serde_json::json!({
                "name": fqdn(owner), "type": "TXT", "ttl": TXT_TTL, "changetype": "REPLACE",
                "records": values.iter().map(|v| serde_json::json!({"content": quote(v), "disabled": false})).collect::<Vec<_>>(),
            })
        };
        let body = serde_json::json!({ "rrsets": [rrset] });
        let mut tries = 1;
        loop {
            let req = self.client.patch(self.zone_url()).json(&body);
            let (status, answer) = self.send(req).await?;
            if (200..300).contains(&status) {
                return Ok(());
            }
            // A REPLACE or DELETE of one whole rrset is idempotent: sending it again is
            // safe. A 5xx is often transient (PowerDNS's sqlite3 backend answers 500
            // "database is locked" when two changes to the zone meet): try again a few
            // times, a little later each time; any other answer is final.
            if !(500..600).contains(&status) || tries == PATCH_TRIES {
                let e = self.failure(status, &answer);
                return Err(match e {
                    ProviderError::Refused { api, detail } if tries > 1 => {
                        ProviderError::Refused {
                            api,
                            detail: format!(
                                "{detail}; the change was sent {tries} times over {:.1} s or more (a 5xx can be transient, this one was not)",
                                (PATCH_BACKOFF * ((1 << (tries - 1)) - 1)).as_secs_f64()
                            ),
                        }
                    }
                    e => e,
                });
            }
            let pause = PATCH_BACKOFF * (1 << (tries - 1));
            let jitter = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
                % 1000;
            tokio::time::sleep(pause + pause * jitter / 4000).await;
            tries += 1;
        }
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        src = c.source();
    }
    s
}

impl ProviderApi for PowerDns {
    fn check_zone(&self) -> BoxFuture<'_, Result<(), ProviderError>> {
        async move {
            let req = self
                .client
                .get(self.zone_url())
                .query(&[("rrset_name", self.zone.as_str()), ("rrset_type", "SOA")]);
            let (status, body) = self.send(req).await?;
            if status == 200 {
                Ok(())
            } else {
                Err(self.failure(status, &body))
            }
        }
        .boxed()
    }

    fn add_txt<'a>(
        &'a self,
        owner: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        async move {
            let mut values = self.txt(owner).await?;
            if !values.iter().any(|v| v == value) {
                values.push(value.to_string());
            }
            self.put(owner, &values).await
        }
        .boxed()
    }

    fn remove_txt<'a>(
        &'a self,
        owner: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        async move {
            let values: Vec<String> = self
                .txt(owner)
                .await?
                .into_iter()
                .filter(|v| v != value)
                .collect();
            self.put(owner, &values).await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_content_round_trips() {
        for v in ["abc-DEF_123", "a b", "q\"uote", "back\\slash", ""] {
            assert_eq!(unquote(&quote(v)), v);
        }
        assert_eq!(unquote("\"part1\" \"part2\""), "part1part2");
    }

    fn api() -> PowerDns {
        PowerDns::new(
            "http://127.0.0.1:9/",
            "pdns.lab",
            ApiKey::new("k"),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    /// A one-connection-per-request HTTP server on loopback answering with `statuses`
    /// in turn (the last one again after): its URL and how many requests it got.
    async fn answering(
        statuses: Vec<u16>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let n = std::sync::Arc::new(AtomicUsize::new(0));
        let count = n.clone();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                let i = count.fetch_add(1, Ordering::SeqCst);
                let status = statuses[i.min(statuses.len() - 1)];
                // Read the whole request (headers, then Content-Length bytes of body).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(k) = c.read(&mut chunk).await {
                    if k == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let body = r#"{"error": "Database error: database is locked"}"#;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = c.write_all(answer.as_bytes()).await;
            }
        });
        (url, n)
    }

    /// PowerDNS's sqlite3 backend answers 500 "database is locked" when two changes to
    /// one zone meet (the lab's pdns_lab in parallel): the idempotent PATCH is sent
    /// again, 4 times in all at most; a 4xx is final at once.
    #[tokio::test]
    async fn a_5xx_to_a_change_is_tried_again_a_bounded_number_of_times() {
        use std::sync::atomic::Ordering;
        let open = |url: &str| {
            PowerDns::new(url, "pdns.lab", ApiKey::new("k"), Duration::from_secs(2)).unwrap()
        };
        let (url, n) = answering(vec![500, 500, 204]).await;
        open(&url).put("x.pdns.lab", &["v".into()]).await.unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 3, "two 500s, then done");

        let (url, n) = answering(vec![500]).await;
        let e = open(&url).put("x.pdns.lab", &[]).await.unwrap_err();
        assert_eq!(n.load(Ordering::SeqCst), PATCH_TRIES as usize);
        let msg = e.to_string();
        assert!(matches!(e, ProviderError::Refused { .. }), "{msg}");
        assert!(
            msg.contains("HTTP 500") && msg.contains("database is locked"),
            "{msg}"
        );
        assert!(msg.contains("sent 4 times over 1.4 s or more"), "{msg}");

        let (url, n) = answering(vec![422, 204]).await;
        let e = open(&url).put("x.pdns.lab", &[]).await.unwrap_err();
        assert_eq!(n.load(Ordering::SeqCst), 1, "a 4xx is not tried again");
        assert!(!e.to_string().contains("times"), "{e}");
    }

    #[test]
    fn answers_map_to_causes() {
        let a = api();
        assert_eq!(
            a.zone_url(),
            "http://127.0.0.1:9/api/v1/servers/localhost/zones/pdns.lab."
        );
        assert!(matches!(
            a.failure(401, "Unauthorized"),
            ProviderError::KeyRejected { .. }
        ));
        assert!(matches!(
            a.failure(404, "Not Found"),
            ProviderError::ZoneMissing { .. }
        ));
        assert!(matches!(
            a.failure(422, r#"{"error": "Could not find domain 'x.'"}"#),
            ProviderError::ZoneMissing { .. }
        ));
        let e = a.failure(
            422,
            r#"{"error": "RRset x.other. IN TXT: Name is out of zone"}"#,
        );
        assert!(matches!(e, ProviderError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("out of zone"));
        let e = PowerDns::new("ftp://x", "z", ApiKey::new("k"), Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(
            matches!(&e, OpenError::NotHttp { api } if api == "ftp://x"),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "--api \"ftp://x\" is not an http(s) URL with a host"
        );
        assert!(matches!(
            PowerDns::new("not a url", "z", ApiKey::new("k"), Duration::from_secs(1)),
            Err(OpenError::NotAUrl { .. })
        ));
    }

    #[tokio::test]
    async fn an_unreachable_api_is_its_own_cause() {
        let e = api().check_zone().await.unwrap_err();
        assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
        assert_eq!(e.code(), crate::findings::Code::ProviderUnreachable);
    }
}

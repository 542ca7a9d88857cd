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
        let req = self
            .client
            .patch(self.zone_url())
            .json(&serde_json::json!({ "rrsets": [rrset] }));
        let (status, body) = self.send(req).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(self.failure(status, &body))
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

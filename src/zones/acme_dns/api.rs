//! The client of one acme-dns HTTP API (`/register`, `/update`, `/health`), the checks
//! of its URL, and how its answers are read: statuses are values, a password is never
//! echoed (excerpts are cut short, withheld or redacted).

use super::{unmap, Account, AcmeDnsError, Password, UpdateOutcome, MASK};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Every request gives up after this long unless [`AcmeDnsApi::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of an answer that is read: acme-dns answers in well under 1 KiB; a server that
/// sends more is not trusted with memory (the rest is never read).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A client of one acme-dns API.
#[derive(Clone, Debug)]
pub struct AcmeDnsApi {
    base: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
    /// The zones a `/register` answer's `fulldomain` may be in (the server's domain, when
    /// configured or known from earlier accounts); empty: any zone of valid names.
    zones: Vec<String>,
}

/// The `/register` request body.
#[derive(Serialize)]
struct RegisterRequest<'a> {
    allowfrom: &'a [String],
}

#[derive(Deserialize)]
struct RegisterResponse {
    username: String,
    password: String,
    fulldomain: String,
    subdomain: String,
    #[serde(default)]
    allowfrom: Option<Vec<String>>,
}

#[derive(Serialize)]
struct UpdateRequest<'a> {
    subdomain: &'a str,
    txt: &'a str,
}

#[derive(Deserialize)]
struct UpdateResponse {
    txt: String,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

/// Checks and normalizes an API base URL: http or https, a host, no credentials, query or
/// fragment. The path may carry a prefix (an API behind a reverse proxy).
pub fn parse_api_url(input: &str) -> Result<reqwest::Url, AcmeDnsError> {
    let err = |reason: &str| AcmeDnsError::InvalidUrl {
        input: redact_userinfo(input),
        reason: reason.to_string(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("the URL is empty"));
    }
    if !s.contains("://") {
        return Err(err(
            "it has no scheme; write it with http:// or https:// in front",
        ));
    }
    let url = reqwest::Url::parse(s).map_err(|e| err(&format!("it does not parse ({e})")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(err(&format!(
                "scheme {other}: is not supported; the acme-dns API speaks only http and https"
            )))
        }
    }
    if url.host_str().is_none_or(|h| h.is_empty()) {
        return Err(err("it names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            "it carries credentials; acme-dns takes them in X-Api-User/X-Api-Key headers, \
             never in the URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("it has a query or fragment; give the base URL only"));
    }
    for suffix in ["/register", "/update", "/health"] {
        if url.path().trim_end_matches('/').ends_with(suffix) {
            return Err(err(&format!(
                "it ends in {suffix}; give the base URL without the endpoint"
            )));
        }
    }
    Ok(url)
}

/// `https://user:pw@host/` -> `https://****@host/`: an error message never repeats a
/// password, not even one pasted into a URL.
fn redact_userinfo(input: &str) -> String {
    let Some(start) = input.find("://").map(|i| i + 3) else {
        return input.to_string();
    };
    let rest = &input[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{MASK}{}", &input[..start], &rest[at..]),
        None => input.to_string(),
    }
}

fn excerpt(body: &str) -> String {
    let t = body.trim();
    let mut s: String = t.chars().take(80).collect();
    if t.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// An excerpt of a `/register` answer for an error message: withheld when the body holds
/// a password (a registration that half worked must not print its credentials).
fn register_excerpt(body: &str) -> String {
    if body.to_ascii_lowercase().contains("password") {
        "(withheld: the answer holds a password)".into()
    } else {
        excerpt(body)
    }
}

impl AcmeDnsApi {
    /// Validates the URL (see [`parse_api_url`]) and builds a client with
    /// [`DEFAULT_TIMEOUT`] on every request.
    pub fn new(url: &str) -> Result<Self, AcmeDnsError> {
        let base = parse_api_url(url)?;
        Self::build(base, DEFAULT_TIMEOUT)
    }

    /// The same API with another per-request timeout.
    pub fn with_timeout(self, timeout: Duration) -> Result<Self, AcmeDnsError> {
        let zones = self.zones;
        Self::build(self.base, timeout).map(|a| a.expect_zones(zones))
    }

    /// The same API, taking `/register` answers only when their `fulldomain` is in one of
    /// `zones` (the acme-dns server's `domain`). Empty: no zone is known.
    pub fn expect_zones(mut self, zones: Vec<String>) -> Self {
        self.zones = zones.iter().map(|z| normal_zone(z)).collect();
        self
    }

    /// See [`AcmeDnsApi::expect_zones`].
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    fn build(base: reqwest::Url, timeout: Duration) -> Result<Self, AcmeDnsError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("acme-delegate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AcmeDnsError::Unreachable {
                url: base.to_string(),
                detail: format!("the HTTP client could not be built: {e}"),
            })?;
        Ok(AcmeDnsApi {
            base,
            client,
            timeout,
            zones: Vec::new(),
        })
    }

    /// The base URL as stored in `server_url` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `<base>/<endpoint>`, keeping a path prefix.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/{}", self.base_url(), name)
    }

    fn unreachable(&self, url: &str, e: reqwest::Error) -> AcmeDnsError {
        let detail = if e.is_timeout() {
            format!("no answer within {:?}", self.timeout)
        } else if e.is_connect() {
            format!("the connection failed ({})", error_chain(&e))
        } else {
            error_chain(&e)
        };
        AcmeDnsError::Unreachable {
            url: url.to_string(),
            detail,
        }
    }

    async fn send(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, String), AcmeDnsError> {
        let resp = req
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.unreachable(url, e))?;
        let status = resp.status().as_u16();
        let body = read_capped(url, status, resp).await.map_err(|e| match e {
            Capped::Net(e) => self.unreachable(url, e),
            Capped::Bad(e) => e,
        })?;
        // The status only: a /register answer holds a password.
        tracing::debug!(url, status, bytes = body.len(), "acme-dns answered");
        Ok((status, body))
    }

    /// `POST /register`, with `allowfrom` CIDRs when any are given. An answer other than
    /// 201 with the five fields is an error.
    pub async fn register(&self, allowfrom: &[String]) -> Result<Account, AcmeDnsError> {
        check_allowfrom(allowfrom)?;
        let url = self.endpoint("register");
        let mut req = self.client.post(&url);
        if !allowfrom.is_empty() {
            req = req.json(&RegisterRequest { allowfrom });
        }
        let (status, body) = self.send(&url, req).await?;
        let a = register_answer(&url, status, &body, allowfrom, &self.base_url())?;
        check_account(&url, &a, &self.zones)?;
        Ok(a)
    }

    /// `POST /update` with the account's credentials. HTTP statuses are values; only a
    /// failure to get an answer, or a 200 that is not acme-dns JSON, is an error.
    pub async fn update(
        &self,
        account: &Account,
        txt: &str,
    ) -> Result<UpdateOutcome, AcmeDnsError> {
        let url = self.endpoint("update");
        let req = self
            .client
            .post(&url)
            .header("X-Api-User", &account.username)
            .header("X-Api-Key", account.password.expose())
            .json(&UpdateRequest {
                subdomain: &account.subdomain,
                txt,
            });
        let (status, body) = self.send(&url, req).await?;
        update_answer(&url, status, &body)
    }

    /// The API is reached over plain `http` on a host that is not this machine (a name
    /// other than `localhost`, or a non-loopback address): its passwords would cross the
    /// network in clear text. Decided from the URL alone, no lookup.
    pub fn cleartext_to_remote(&self) -> bool {
        cleartext_to_remote(&self.base)
    }

    /// `GET /health`: Ok when the server answers 200.
    pub async fn health(&self) -> Result<(), AcmeDnsError> {
        let url = self.endpoint("health");
        let (status, body) = self.send(&url, self.client.get(&url)).await?;
        if status == 200 {
            Ok(())
        } else {
            Err(AcmeDnsError::Status {
                url,
                status,
                error: None,
                excerpt: excerpt(&body),
            })
        }
    }

    /// The address this host uses to reach the API: the local end of a TCP connection to
    /// the API's host and port (what acme-dns compares with `allowfrom`, unless a proxy
    /// in between rewrites it).
    pub async fn egress_address(&self) -> Result<IpAddr, AcmeDnsError> {
        let host = self.base.host_str().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = self.base.port_or_known_default().unwrap_or(80);
        let fail = |detail: String| AcmeDnsError::Unreachable {
            url: self.base_url(),
            detail,
        };
        let addrs: Vec<_> =
            tokio::time::timeout(self.timeout, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| {
                    fail(format!(
                        "resolving {host} took longer than {:?}",
                        self.timeout
                    ))
                })?
                .map_err(|e| fail(format!("resolving {host}: {e}")))?
                .collect();
        let mut last = format!("{host} has no address");
        for a in addrs {
            match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(a)).await {
                Ok(Ok(s)) => {
                    return s
                        .local_addr()
                        .map(|l| unmap(l.ip()))
                        .map_err(|e| fail(format!("local address of the connection: {e}")))
                }
                Ok(Err(e)) => last = format!("connecting to {a}: {e}"),
                Err(_) => last = format!("connecting to {a}: no answer within {:?}", self.timeout),
            }
        }
        Err(fail(last))
    }
}

/// See [`AcmeDnsApi::cleartext_to_remote`].
pub fn cleartext_to_remote(url: &reqwest::Url) -> bool {
    if url.scheme() != "http" {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => !unmap(ip).is_loopback(),
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            !(d == "localhost" || d.ends_with(".localhost"))
        }
    }
}

/// Reads the answer to `POST /register` (`url`, HTTP `status`, `body`): an answer other than
/// 2xx with the five fields is an error. `allowfrom` is what was asked for, `base_url` the
/// API the account belongs to. Never panics, whatever the body.
pub fn register_answer(
    url: &str,
    status: u16,
    body: &str,
    allowfrom: &[String],
    base_url: &str,
) -> Result<Account, AcmeDnsError> {
    let url = url.to_string();
    if !(200..300).contains(&status) {
        return Err(AcmeDnsError::Status {
            url,
            status,
            error: serde_json::from_str::<ErrorResponse>(body)
                .ok()
                .map(|e| e.error),
            excerpt: register_excerpt(body),
        });
    }
    let r: RegisterResponse = serde_json::from_str(body).map_err(|e| AcmeDnsError::NotAcmeDns {
        url: url.clone(),
        status,
        detail: format!("the /register answer is not the acme-dns JSON ({e})"),
        excerpt: register_excerpt(body),
    })?;
    if r.username.is_empty()
        || r.password.is_empty()
        || r.subdomain.is_empty()
        || r.fulldomain.is_empty()
    {
        return Err(AcmeDnsError::NotAcmeDns {
            url,
            status,
            detail: "the /register answer has an empty username, password, subdomain or \
                     fulldomain"
                .into(),
            excerpt: String::new(),
        });
    }
    Ok(Account {
        username: r.username,
        password: Password(r.password),
        fulldomain: r.fulldomain.trim_end_matches('.').to_string(),
        subdomain: r.subdomain,
        allowfrom: r.allowfrom.unwrap_or_else(|| allowfrom.to_vec()),
        server_url: Some(base_url.to_string()),
    })
}

/// Reads the answer to `POST /update`: HTTP statuses are values; only a 200 that is not
/// acme-dns JSON is an error. Never panics, whatever the body.
pub fn update_answer(url: &str, status: u16, body: &str) -> Result<UpdateOutcome, AcmeDnsError> {
    let url = url.to_string();
    let error = serde_json::from_str::<ErrorResponse>(body)
        .ok()
        .map(|e| e.error);
    Ok(match status {
        200 => {
            let r: UpdateResponse =
                serde_json::from_str(body).map_err(|e| AcmeDnsError::NotAcmeDns {
                    url: url.clone(),
                    status,
                    detail: format!("the /update answer is not the acme-dns JSON ({e})"),
                    excerpt: excerpt(body),
                })?;
            UpdateOutcome::Updated { txt: r.txt }
        }
        400 if error.as_deref() == Some("bad_txt") => UpdateOutcome::BadTxt,
        400 if error.as_deref() == Some("bad_subdomain") => UpdateOutcome::BadSubdomain,
        401 if error.as_deref() == Some("forbidden") || error.is_none() => UpdateOutcome::Forbidden,
        _ => UpdateOutcome::Refused {
            status,
            error,
            excerpt: excerpt(body),
        },
    })
}

enum Capped {
    Net(reqwest::Error),
    Bad(AcmeDnsError),
}

/// The body of an answer, at most [`MAX_BODY_BYTES`]: a longer one (by its Content-Length
/// or as it streams) is a bad answer and is not read further.
async fn read_capped(
    url: &str,
    status: u16,
    mut resp: reqwest::Response,
) -> Result<String, Capped> {
    let too_big = || {
        Capped::Bad(bad(
            url,
            "body",
            format!("the answer (HTTP {status}) is longer than {MAX_BODY_BYTES} bytes; acme-dns answers in well under 1 KiB"),
        ))
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Capped::Net)? {
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn bad(url: &str, field: &str, detail: String) -> AcmeDnsError {
    AcmeDnsError::BadResponse {
        url: url.to_string(),
        field: field.to_string(),
        detail,
    }
}

/// A zone name as compared here: lower case, no trailing dot.
fn normal_zone(z: &str) -> String {
    z.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// One DNS label as acme-dns makes subdomains (its `validSubdomain`): 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen.
pub fn is_subdomain_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A DNS name of letters, digits, hyphens and underscores: labels of 1 to 63, at most 253
/// characters, at least two labels.
fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// A credential as it goes into an HTTP header and an env file: printable ASCII without
/// spaces, at most 256 characters.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|c| c.is_ascii_graphic())
}

/// What a control character looks like in a message (never the value around it).
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks every field of a registration before it is stored or shown: the subdomain is
/// one DNS label, the fulldomain is exactly that label under a zone (one of `zones` when
/// any is known), the username and password are header-safe tokens, and `allowfrom`
/// holds CIDRs. A password is never quoted.
pub fn check_account(url: &str, a: &Account, zones: &[String]) -> Result<(), AcmeDnsError> {
    let quoted = |v: &str| {
        if has_control(v) {
            "a value with control characters".to_string()
        } else {
            let s: String = v.chars().take(80).collect();
            format!("{s:?}")
        }
    };
    if !is_token(&a.username) {
        return Err(bad(
            url,
            "username",
            format!(
                "{} is not a header-safe token (printable ASCII, no spaces, at most 256 characters)",
                quoted(&a.username)
            ),
        ));
    }
    if !is_token(a.password.expose()) {
        return Err(bad(
            url,
            "password",
            "(withheld) is not a header-safe token (printable ASCII, no spaces, at most 256 characters)".into(),
        ));
    }
    if !is_subdomain_label(&a.subdomain) {
        return Err(bad(
            url,
            "subdomain",
            format!(
                "{} is not one DNS label (1-63 letters, digits or hyphens)",
                quoted(&a.subdomain)
            ),
        ));
    }
    let fd = a.fulldomain.trim_end_matches('.').to_ascii_lowercase();
    if has_control(&a.fulldomain) || !is_dns_name(&fd) {
        return Err(bad(
            url,
            "fulldomain",
            format!("{} is not a DNS name", quoted(&a.fulldomain)),
        ));
    }
    let sub = a.subdomain.to_ascii_lowercase();
    let Some(zone) = fd.strip_prefix(&format!("{sub}.")) else {
        return Err(bad(
            url,
            "fulldomain",
            format!(
                "{} is not the subdomain {:?} under the server's domain; a CNAME to it would hand the validation to another zone",
                quoted(&a.fulldomain),
                a.subdomain
            ),
        ));
    };
    if !zones.is_empty() && !zones.iter().any(|z| z == zone) {
        return Err(bad(
            url,
            "fulldomain",
            format!(
                "{} is in the zone {zone}, but this acme-dns server serves {}",
                quoted(&a.fulldomain),
                zones.join(", ")
            ),
        ));
    }
    for c in &a.allowfrom {
        if has_control(c) || cidr_problem(c).is_some() {
            return Err(bad(
                url,
                "allowfrom",
                format!("{} is not a CIDR range", quoted(c)),
            ));
        }
    }
    Ok(())
}

/// Why `s` is not a CIDR range as acme-dns takes it (Go's `net.ParseCIDR`: an address, a
/// slash and a prefix length; host bits may be set), or `None` when it is one.
pub fn cidr_problem(s: &str) -> Option<String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Some("it has no /prefix-length (a bare address is refused)".into());
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Some(format!("{addr:?} is not an IP address"));
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len.parse::<u8>() {
        Ok(n) if n <= max && !len.starts_with('+') => None,
        _ => Some(format!("the prefix length {len:?} is not 0-{max}")),
    }
}

/// The `--allowfrom` CIDRs, checked here before any is sent (acme-dns would answer
/// `400 invalid_allowfrom_cidr` without saying which).
pub fn check_allowfrom(allowfrom: &[String]) -> Result<(), AcmeDnsError> {
    for c in allowfrom {
        if let Some(why) = cidr_problem(c) {
            return Err(AcmeDnsError::BadAllowfrom {
                cidr: c.clone(),
                reason: why,
            });
        }
    }
    Ok(())
}

fn error_chain(e: &dyn std::error::Error) -> String {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    /// A one-shot HTTP server on loopback: answers one request with `head` and then
    /// `body_len` bytes of `x` (chunked when `chunked`); returns its base URL.
    pub(crate) fn one_shot(status: &str, body: Vec<u8>, chunked: bool) -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let status = status.to_string();
        std::thread::spawn(move || {
            let Ok((mut c, _)) = l.accept() else { return };
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let head = if chunked {
                format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            } else {
                format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
            };
            let _ = c.write_all(head.as_bytes());
            if chunked {
                for part in body.chunks(16 * 1024) {
                    if c.write_all(format!("{:x}\r\n", part.len()).as_bytes())
                        .is_err()
                        || c.write_all(part).is_err()
                        || c.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                }
                let _ = c.write_all(b"0\r\n\r\n");
            } else {
                let _ = c.write_all(&body);
            }
        });
        url
    }

    /// A /register answer that is not quite acme-dns JSON must not print the password it
    /// holds in the error (stderr, --json, logs).
    #[test]
    fn a_broken_register_answer_does_not_print_its_password() {
        let secret = "Hunter2-Hunter2-Hunter2-Hunter2-Hunter2-x";
        for (status, body) in [
            (
                201,
                format!(r#"{{"username":"u","password":"{secret}","fulldomain":5}}"#),
            ),
            (
                201,
                format!(
                    r#"{{"username":"","password":"{secret}","fulldomain":"a","subdomain":"b"}}"#
                ),
            ),
            (500, format!(r#"{{"password":"{secret}"}}"#)),
            (201, format!("PASSWORD={secret}")),
        ] {
            let e = register_answer("http://127.0.0.1:1/register", status, &body, &[], "x")
                .unwrap_err();
            assert!(!e.to_string().contains(secret), "{e}");
            assert!(!format!("{e:?}").contains(secret), "{e:?}");
        }
        let ok = register_answer(
            "u",
            201,
            &format!(
                r#"{{"username":"u","password":"{secret}","fulldomain":"f.","subdomain":"s"}}"#
            ),
            &[],
            "http://127.0.0.1:1",
        )
        .unwrap();
        assert_eq!(ok.fulldomain, "f");
        assert!(!format!("{ok:?}").contains(secret));
    }

    #[test]
    fn plain_http_to_another_host_is_told_apart() {
        for (url, remote) in [
            ("http://auth.example.net", true),
            ("http://192.0.2.10:8080/acme", true),
            ("http://[2001:db8::1]:8080", true),
            ("http://127.0.0.1:8080", false),
            ("http://127.9.9.9", false),
            ("http://[::1]:8080", false),
            ("http://[::ffff:127.0.0.1]", false),
            ("http://localhost:8080", false),
            ("http://acme.localhost", false),
            ("https://auth.example.net", false),
            ("https://192.0.2.10", false),
        ] {
            let api = AcmeDnsApi::new(url).unwrap();
            assert_eq!(api.cleartext_to_remote(), remote, "{url}");
        }
    }

    #[test]
    fn url_validation_names_the_input_and_the_fix() {
        for good in [
            "http://127.0.0.1:8080",
            "https://auth.acme-dns.io/",
            "https://proxy.example.com/acme-dns",
        ] {
            assert!(AcmeDnsApi::new(good).is_ok(), "{good}");
        }
        for (bad, needle) in [
            ("", "empty"),
            ("auth.acme-dns.io", "no scheme"),
            ("ftp://auth.acme-dns.io", "scheme ftp"),
            ("dns://127.0.0.1", "scheme dns"),
            ("http://", "parse"),
            ("https://user:pw@auth.acme-dns.io", "credentials"),
            ("https://auth.acme-dns.io/?x=1", "query"),
            ("https://auth.acme-dns.io/update", "/update"),
        ] {
            let e = AcmeDnsApi::new(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.contains("fix:") && e.contains("https://"), "{e}");
            if bad.contains('@') {
                assert!(!e.contains("pw"), "the password is echoed: {e}");
                assert!(e.contains("\"https://****@auth.acme-dns.io\""), "{e}");
            } else {
                assert!(e.contains(&format!("{bad:?}")), "{e}");
            }
        }
    }

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let a = AcmeDnsApi::new("https://h.example/acme-dns/").unwrap();
        assert_eq!(a.endpoint("update"), "https://h.example/acme-dns/update");
        assert_eq!(a.base_url(), "https://h.example/acme-dns");
        let a = AcmeDnsApi::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(a.endpoint("register"), "http://127.0.0.1:8080/register");
    }
    fn acct(user: &str, sub: &str, full: &str, allow: &[&str]) -> Account {
        Account {
            username: user.into(),
            password: Password::new("p".repeat(40)),
            fulldomain: full.into(),
            subdomain: sub.into(),
            allowfrom: allow.iter().map(|s| s.to_string()).collect(),
            server_url: None,
        }
    }

    const SUB: &str = "3f0e8a51-5b6c-4d7e-9f10-2a3b4c5d6e7f";

    /// Every field of a registration is checked, and a bad one is named.
    #[test]
    fn a_registration_with_an_untrusted_field_is_refused_naming_the_field() {
        let good = format!("{SUB}.auth.example.org");
        let zones = vec!["auth.example.org".to_string()];
        check_account("u", &acct("user", SUB, &good, &["192.0.2.0/24"]), &zones).unwrap();
        check_account("u", &acct("user", SUB, &format!("{good}."), &[]), &[]).unwrap();
        for (a, field) in [
            (
                acct("user", SUB, "evil.attacker.example", &[]),
                "fulldomain",
            ),
            (
                acct("user", SUB, &format!("{SUB}.attacker.example"), &[]),
                "fulldomain",
            ),
            (
                acct("user", "../../etc", "etc.auth.example.org", &[]),
                "subdomain",
            ),
            (
                acct("user", "a.b", "a.b.auth.example.org", &[]),
                "subdomain",
            ),
            (acct("user\nX-Evil: 1", SUB, &good, &[]), "username"),
            (acct("", SUB, &good, &[]), "username"),
            (
                acct("user", SUB, &format!("{SUB}.auth\u{7}.example.org"), &[]),
                "fulldomain",
            ),
            (acct("user", SUB, &good, &["10.0.0.1"]), "allowfrom"),
            (acct("user", SUB, &good, &["10.0.0.0/8\n"]), "allowfrom"),
        ] {
            let e = check_account("u", &a, &zones).unwrap_err();
            match &e {
                AcmeDnsError::BadResponse { field: f, .. } => assert_eq!(f, field, "{e}"),
                other => panic!("{other:?}"),
            }
            let text = e.to_string();
            assert!(text.starts_with("ACMEDNS_BAD_RESPONSE: "), "{text}");
            assert!(text.contains(&format!("`{field}`")), "{text}");
            assert!(!text.contains('\n') && !text.contains('\u{7}'), "{text:?}");
        }
        let mut a = acct("user", SUB, &good, &[]);
        a.password = Password::new("secret with spaces\n");
        let e = check_account("u", &a, &[]).unwrap_err().to_string();
        assert!(e.contains("`password`") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn allowfrom_cidrs_are_checked_as_acme_dns_parses_them() {
        for ok in [
            "192.0.2.0/24",
            "192.0.2.7/32",
            "10.1.2.3/8",
            "2001:db8::/32",
            "::1/128",
        ] {
            assert_eq!(cidr_problem(ok), None, "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "10.0.0.0/33",
            "::/129",
            " 10.0.0.0/8",
            "10.0.0.0/+8",
            "10.0.0.0/255.0.0.0",
            "example.com/24",
        ] {
            assert!(cidr_problem(bad).is_some(), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_answer_over_64_kib_is_not_read_and_is_a_bad_response() {
        for chunked in [false, true] {
            let body = vec![b'x'; 4 * MAX_BODY_BYTES];
            let url = one_shot("201 Created", body, chunked);
            let e = AcmeDnsApi::new(&url)
                .unwrap()
                .register(&[])
                .await
                .unwrap_err();
            assert!(
                matches!(&e, AcmeDnsError::BadResponse { field, .. } if field == "body"),
                "chunked={chunked}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn a_register_answer_outside_the_subdomain_is_refused() {
        let body = format!(
            r#"{{"username":"u-1","password":"{}","fulldomain":"evil.attacker.example","subdomain":"{SUB}","allowfrom":[]}}"#,
            "p".repeat(40)
        );
        let url = one_shot("201 Created", body.into_bytes(), false);
        let e = AcmeDnsApi::new(&url)
            .unwrap()
            .register(&[])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, AcmeDnsError::BadResponse { field, .. } if field == "fulldomain"),
            "{e}"
        );
    }

    /// `--allowfrom` is checked before anything is sent: nothing listens at this address,
    /// yet the error is about the CIDR.
    #[tokio::test]
    async fn a_bad_allowfrom_is_refused_before_sending() {
        let api = AcmeDnsApi::new("http://127.0.0.1:9").unwrap();
        let e = api.register(&["10.0.0.1".into()]).await.unwrap_err();
        assert!(matches!(e, AcmeDnsError::BadAllowfrom { .. }), "{e}");
        assert!(e.to_string().contains("\"10.0.0.1\""), "{e}");
    }
}

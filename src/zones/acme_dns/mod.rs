//! acme-dns (the HTTP API of joohoi/acme-dns) as a validation zone: the API client, the
//! account file (in the layout lego, cert-manager, acme-dns-client and Caddy read), the
//! account plan for one order, and the diagnosis of a `401 forbidden`.
//!
//! acme-dns keeps only the **two newest** TXT values of an account, so one account can
//! serve at most two authorizations of one order: the apex and its wildcard (they share
//! `_acme-challenge.<host>`). Every other name gets an account of its own.

use crate::model::name::InputName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every request gives up after this long unless [`AcmeDnsApi::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The account file lego (`ACME_DNS_STORAGE_PATH`), joohoi's certbot hook and
/// cert-manager's Secret read: one JSON object keyed by domain.
pub const ACCOUNTS_FILE: &str = "acme-dns-accounts.json";
/// The same accounts in the goacmedns layout acme-dns-client and caddy-dns/acmedns read
/// (`/etc/acmedns/clientstorage.json`): they post to the stored `server_url`.
pub const CLIENTSTORAGE_FILE: &str = "clientstorage.json";

/// The password mask used in every Debug / Display output.
const MASK: &str = "****";

// ---------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------

/// An acme-dns password. Debug and Display print `****`; only [`Password::expose`] and
/// serialization (for the account file) give the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// One acme-dns registration: the `/register` answer plus the server it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub username: String,
    pub password: Password,
    pub fulldomain: String,
    pub subdomain: String,
    #[serde(default)]
    pub allowfrom: Vec<String>,
    /// goacmedns' `server_url`: acme-dns-client and Caddy post updates there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
}

impl Account {
    /// The CNAME target for this account (`<fulldomain>.`), lower case.
    pub fn target(&self) -> String {
        format!(
            "{}.",
            self.fulldomain.trim_end_matches('.').to_ascii_lowercase()
        )
    }
}

/// The goacmedns `Account` struct, field for field (clientstorage.json).
#[derive(Serialize)]
struct GoAcmednsAccount<'a> {
    fulldomain: &'a str,
    subdomain: &'a str,
    username: &'a str,
    password: &'a str,
    server_url: &'a str,
}

/// The storage key of a name: the ACME identifier without `*.`, lower case, no trailing
/// dot (lego passes `authz.Identifier.Value`, so a wildcard uses its base name).
pub fn storage_key(name: &InputName) -> String {
    name.host.without_dot().to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// What went wrong talking to an acme-dns API or with the account files: the input, what
/// happened and the fix. Never contains a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcmeDnsError {
    /// The API URL is not usable.
    InvalidUrl { input: String, reason: String },
    /// No HTTP answer: refused, DNS failure, TLS failure, timeout.
    Unreachable { url: String, detail: String },
    /// An HTTP answer that is not what acme-dns sends (not JSON, fields missing).
    NotAcmeDns {
        url: String,
        status: u16,
        detail: String,
        excerpt: String,
    },
    /// An HTTP error status where acme-dns answers 2xx (register, health).
    Status {
        url: String,
        status: u16,
        error: Option<String>,
        excerpt: String,
    },
    /// The account files.
    Storage {
        path: PathBuf,
        detail: String,
        fix: String,
    },
}

impl fmt::Display for AcmeDnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcmeDnsError::InvalidUrl { input, reason } => write!(
                f,
                "acme-dns API URL {input:?}: {reason} (fix: give the base URL of the acme-dns \
                 API with http:// or https://, e.g. https://auth.acme-dns.io or \
                 http://127.0.0.1:8080)"
            ),
            AcmeDnsError::Unreachable { url, detail } => write!(
                f,
                "acme-dns API {url} could not be reached: {detail} (fix: check the URL, that \
                 the server runs and that this host may connect to it)"
            ),
            AcmeDnsError::NotAcmeDns {
                url,
                status,
                detail,
                excerpt,
            } => write!(
                f,
                "{url} answered HTTP {status} but not as acme-dns does: {detail}; the answer \
                 begins {excerpt:?} (fix: check that the URL is the acme-dns API itself, not a \
                 web page, proxy or login portal in front of it)"
            ),
            AcmeDnsError::Status {
                url,
                status,
                error,
                excerpt,
            } => {
                write!(f, "{url} answered HTTP {status}")?;
                match error {
                    Some(e) => write!(f, " with error {e:?}")?,
                    None if !excerpt.is_empty() => write!(f, ": {excerpt:?}")?,
                    None => {}
                }
                write!(f, " (fix: {})", status_fix(*status, error.as_deref()))
            }
            AcmeDnsError::Storage { path, detail, fix } => {
                write!(f, "{}: {detail} (fix: {fix})", path.display())
            }
        }
    }
}

impl std::error::Error for AcmeDnsError {}

fn status_fix(status: u16, error: Option<&str>) -> &'static str {
    match (status, error) {
        (_, Some("invalid_allowfrom_cidr")) => {
            "give allowfrom entries as CIDR ranges with a prefix length, e.g. 192.0.2.0/24 or \
             2001:db8::/32 (a bare address is refused)"
        }
        (_, Some("malformed_json_payload")) => "the request body was not JSON; report a bug",
        (404, _) => "the path is not there: give the API base URL without /register or /update",
        (401 | 403, _) => "the API refused this host or these credentials",
        (500..=599, _) => "the acme-dns server failed; look at its log",
        _ => "check that the URL is an acme-dns API",
    }
}

// ---------------------------------------------------------------------------------------
// API client
// ---------------------------------------------------------------------------------------

/// The answer to `POST /update`: any HTTP status is a value, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// 200: the server now serves this value (and the previous one).
    Updated { txt: String },
    /// 400 `bad_txt`: the value is not 43 characters of base64url.
    BadTxt,
    /// 400 `bad_subdomain`: the subdomain is not a UUID.
    BadSubdomain,
    /// 401 `forbidden`: bad credentials, a source address outside `allowfrom` or a
    /// subdomain mismatch (acme-dns does not say which: see [`diagnose_forbidden`]).
    Forbidden,
    /// Any other status.
    Refused {
        status: u16,
        error: Option<String>,
        excerpt: String,
    },
}

impl UpdateOutcome {
    pub fn is_updated(&self) -> bool {
        matches!(self, UpdateOutcome::Updated { .. })
    }
}

impl fmt::Display for UpdateOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateOutcome::Updated { txt } => write!(f, "updated: the server now serves {txt:?}"),
            UpdateOutcome::BadTxt => f.write_str(
                "400 bad_txt: acme-dns takes exactly 43 characters of base64url (a DNS-01 key \
                 authorization digest)",
            ),
            UpdateOutcome::BadSubdomain => {
                f.write_str("400 bad_subdomain: the account's subdomain is not a UUID")
            }
            UpdateOutcome::Forbidden => f.write_str(
                "401 forbidden: bad credentials, a source address outside allowfrom or a \
                 subdomain mismatch (acme-dns gives the same answer for all three)",
            ),
            UpdateOutcome::Refused {
                status,
                error,
                excerpt,
            } => match error {
                Some(e) => write!(f, "HTTP {status} with error {e:?}"),
                None => write!(f, "HTTP {status}: {excerpt:?}"),
            },
        }
    }
}

/// A client of one acme-dns API.
#[derive(Clone, Debug)]
pub struct AcmeDnsApi {
    base: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
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
        Self::build(self.base, timeout)
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
        let body = resp.text().await.map_err(|e| self.unreachable(url, e))?;
        // The status only: a /register answer holds a password.
        tracing::debug!(url, status, bytes = body.len(), "acme-dns answered");
        Ok((status, body))
    }

    /// `POST /register`, with `allowfrom` CIDRs when any are given. An answer other than
    /// 201 with the five fields is an error.
    pub async fn register(&self, allowfrom: &[String]) -> Result<Account, AcmeDnsError> {
        let url = self.endpoint("register");
        let mut req = self.client.post(&url);
        if !allowfrom.is_empty() {
            req = req.json(&RegisterRequest { allowfrom });
        }
        let (status, body) = self.send(&url, req).await?;
        register_answer(&url, status, &body, allowfrom, &self.base_url())
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

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

// ---------------------------------------------------------------------------------------
// CIDR
// ---------------------------------------------------------------------------------------

/// A CIDR range as acme-dns takes it in `allowfrom` (`192.0.2.0/24`, `2001:db8::/32`;
/// host bits may be set, as with Go's `net.ParseCIDR`). IPv4-mapped IPv6 addresses are
/// compared as IPv4.
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let net: ipnet::IpNet = cidr.trim().parse().ok()?;
    Some(net.contains(&unmap(ip)))
}

/// Whether `ip` may update an account with this `allowfrom` (empty: from anywhere).
/// Entries that do not parse allow nothing (acme-dns ignores them).
pub fn allowed_from(allowfrom: &[String], ip: IpAddr) -> bool {
    allowfrom.is_empty() || allowfrom.iter().any(|c| cidr_contains(c, ip) == Some(true))
}

// ---------------------------------------------------------------------------------------
// Account storage
// ---------------------------------------------------------------------------------------

/// The account files in one directory (mode 0700): [`ACCOUNTS_FILE`] and
/// [`CLIENTSTORAGE_FILE`], both mode 0600, both written atomically.
#[derive(Clone, Debug)]
pub struct AccountStore {
    dir: PathBuf,
}

/// The default storage directory: the user data dir (`~/.local/share/acme-delegate` on
/// Linux).
pub fn default_store_dir() -> Result<PathBuf, AcmeDnsError> {
    crate::model::config::project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| AcmeDnsError::Storage {
            path: PathBuf::from("~"),
            detail: "no home directory: the user data directory cannot be found".into(),
            fix: "set HOME, or give the storage directory explicitly".into(),
        })
}

impl AccountStore {
    /// Opens (creating, mode 0700) `dir`, or the default directory when `None`. An
    /// existing directory open to others is narrowed to 0700.
    pub fn open(dir: Option<&Path>) -> Result<Self, AcmeDnsError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => default_store_dir()?,
        };
        let serr = |detail: String| AcmeDnsError::Storage {
            path: dir.clone(),
            detail,
            fix: "give a storage directory this user can create and write".into(),
        };
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir)
                .map_err(|e| serr(format!("cannot create the directory: {e}")))?;
        }
        if !dir.is_dir() {
            return Err(serr("exists and is not a directory".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&dir).map_err(|e| serr(e.to_string()))?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| serr(format!("cannot restrict it to mode 0700: {e}")))?;
            }
        }
        Ok(AccountStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lego / cert-manager file (`ACME_DNS_STORAGE_PATH`).
    pub fn accounts_path(&self) -> PathBuf {
        self.dir.join(ACCOUNTS_FILE)
    }

    /// The acme-dns-client / Caddy file.
    pub fn clientstorage_path(&self) -> PathBuf {
        self.dir.join(CLIENTSTORAGE_FILE)
    }

    /// All stored accounts (none when the file does not exist yet).
    pub fn load(&self) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
        read_accounts(self.accounts_path())
    }

    /// The stored account of one domain key (see [`storage_key`]).
    pub fn get(&self, key: &str) -> Result<Option<Account>, AcmeDnsError> {
        Ok(self.load()?.remove(&key.to_ascii_lowercase()))
    }

    /// The entry of one domain key in [`CLIENTSTORAGE_FILE`]: what acme-dns-client and
    /// Caddy post with (goacmedns layout, so no `allowfrom`). None when the file or the
    /// entry is missing.
    pub fn client_entry(&self, key: &str) -> Result<Option<Account>, AcmeDnsError> {
        Ok(read_accounts(self.clientstorage_path())?.remove(&key.to_ascii_lowercase()))
    }

    /// Stores one account under `key` and rewrites both files atomically.
    pub fn put(&self, key: &str, account: &Account) -> Result<(), AcmeDnsError> {
        let mut all = self.load()?;
        all.insert(key.to_ascii_lowercase(), account.clone());
        self.save(&all)
    }

    /// Writes both files (temp file in the same directory, fsync, rename).
    pub fn save(&self, all: &BTreeMap<String, Account>) -> Result<(), AcmeDnsError> {
        let json = serde_json::to_vec_pretty(all).expect("accounts serialize");
        write_atomic(&self.accounts_path(), &json)?;
        let client: BTreeMap<&str, GoAcmednsAccount<'_>> = all
            .iter()
            .map(|(k, a)| {
                (
                    k.as_str(),
                    GoAcmednsAccount {
                        fulldomain: &a.fulldomain,
                        subdomain: &a.subdomain,
                        username: &a.username,
                        password: a.password.expose(),
                        server_url: a.server_url.as_deref().unwrap_or(""),
                    },
                )
            })
            .collect();
        let json = serde_json::to_vec_pretty(&client).expect("accounts serialize");
        write_atomic(&self.clientstorage_path(), &json)
    }

    /// The stored account for `key`, or a new registration that is stored before it is
    /// returned. A failed registration stores nothing.
    pub async fn ensure(
        &self,
        api: &AcmeDnsApi,
        key: &str,
        allowfrom: &[String],
    ) -> Result<(Account, bool), AcmeDnsError> {
        let (me, k) = (self.clone(), key.to_string());
        if let Some(a) = off_worker(move || me.get(&k)).await? {
            return Ok((a, false));
        }
        let a = api.register(allowfrom).await?;
        let (me, k, acct) = (self.clone(), key.to_string(), a.clone());
        off_worker(move || me.put(&k, &acct)).await?;
        Ok((a, true))
    }

    /// [`AccountStore::get`] and [`AccountStore::client_entry`], read off the async
    /// workers: (the registration, the entry clients post).
    pub async fn both(
        &self,
        key: &str,
    ) -> Result<(Option<Account>, Option<Account>), AcmeDnsError> {
        let (me, k) = (self.clone(), key.to_string());
        off_worker(move || Ok((me.get(&k)?, me.client_entry(&k)?))).await
    }
}

/// Runs blocking file work of the account store on tokio's blocking pool.
async fn off_worker<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, AcmeDnsError> + Send + 'static,
) -> Result<R, AcmeDnsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AcmeDnsError::Storage {
            path: PathBuf::new(),
            detail: format!("the file task failed: {e}"),
            fix: "run again; report a bug if it repeats".into(),
        })?
}

/// The accounts of one account file, keyed by domain (none when it does not exist yet).
fn read_accounts(path: PathBuf) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
    let text = match crate::model::files::read_text_limited(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(AcmeDnsError::Storage {
                path,
                detail: format!("cannot read it: {e}"),
                fix: "make it readable by this user (mode 0600)".into(),
            })
        }
    };
    accounts_from_json(&text, path)
}

/// The accounts of an account file's text (`path` is only named in errors). Never panics.
pub fn accounts_from_json(
    text: &str,
    path: PathBuf,
) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(text).map_err(|e| AcmeDnsError::Storage {
        path,
        detail: format!("not an acme-dns account file ({e})"),
        fix: "it must be one JSON object keyed by domain, each value with username, \
              password, fulldomain and subdomain; move the broken file away"
            .into(),
    })
}

/// Writes `data` and a line break to `path` with [`crate::model::files::write_atomic`] (mode 0600,
/// no symlink followed): a reader sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), AcmeDnsError> {
    let text = [data, b"\n"].concat();
    crate::model::files::write_atomic(path, &text, 0o600).map_err(|e| AcmeDnsError::Storage {
        path: path.to_path_buf(),
        detail: format!("cannot write it: {e}"),
        fix: "check the free space and the permissions of the storage directory".into(),
    })
}

// ---------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------

/// One account of a plan: the storage key, the identifiers it serves in one order (one,
/// or an apex and its wildcard), and where the CA looks for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPlan {
    pub key: String,
    pub identifiers: Vec<String>,
    pub challenge: crate::dns::Name,
}

/// Groups the names of one order into accounts: an apex and its wildcard share
/// `_acme-challenge.<host>` and so one account (two TXT values at once, which acme-dns
/// keeps); every other name gets its own. No account holds more than two values.
pub fn plan_accounts(names: &[InputName]) -> Vec<AccountPlan> {
    let mut plans: Vec<AccountPlan> = Vec::new();
    for n in names {
        let key = storage_key(n);
        match plans.iter_mut().find(|p| p.key == key) {
            Some(p) => {
                if !p.identifiers.contains(&n.identifier) {
                    p.identifiers.push(n.identifier.clone());
                }
            }
            None => plans.push(AccountPlan {
                key,
                identifiers: vec![n.identifier.clone()],
                challenge: n.challenge.clone(),
            }),
        }
    }
    plans
}

/// Names of one order whose accounts resolve to the same acme-dns subdomain with more
/// than two TXT values needed at once: acme-dns keeps only the two newest, so one of the
/// authorizations fails. The caller reports it as `ACMEDNS_TWO_VALUES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwoValuesConflict {
    /// The shared `fulldomain` (lower case, no trailing dot).
    pub fulldomain: String,
    /// The storage keys that point at it.
    pub keys: Vec<String>,
    /// The identifiers that need a value there at the same time (more than two).
    pub identifiers: Vec<String>,
}

impl TwoValuesConflict {
    pub fn explain(&self) -> String {
        format!(
            "{} names of one order ({}) use the acme-dns account {} and need {} TXT values \
             there at once; acme-dns keeps only the two newest, so the CA would miss one \
             (fix: register a separate account for each name, an apex and its wildcard may \
             share one, or split the names into orders of at most two per account)",
            self.identifiers.len(),
            self.identifiers.join(", "),
            self.fulldomain,
            self.identifiers.len()
        )
    }
}

/// Pure check: for the names of one order and the stored accounts (keyed as in the
/// account file), the fulldomains that would have to hold more than two values.
pub fn two_values_conflicts(
    names: &[InputName],
    accounts: &BTreeMap<String, Account>,
) -> Vec<TwoValuesConflict> {
    let mut by_fulldomain: BTreeMap<String, TwoValuesConflict> = BTreeMap::new();
    for n in names {
        let key = storage_key(n);
        let Some(acct) = accounts.get(&key) else {
            continue;
        };
        let fd = acct.fulldomain.trim_end_matches('.').to_ascii_lowercase();
        let e = by_fulldomain
            .entry(fd.clone())
            .or_insert_with(|| TwoValuesConflict {
                fulldomain: fd,
                keys: Vec::new(),
                identifiers: Vec::new(),
            });
        if !e.keys.contains(&key) {
            e.keys.push(key);
        }
        if !e.identifiers.contains(&n.identifier) {
            e.identifiers.push(n.identifier.clone());
        }
    }
    by_fulldomain
        .into_values()
        .filter(|c| c.identifiers.len() > 2)
        .collect()
}

// ---------------------------------------------------------------------------------------
// 401 diagnosis
// ---------------------------------------------------------------------------------------

/// Why acme-dns answered `401 forbidden`, as far as the client can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForbiddenCause {
    /// `/health` does not answer 200: the server (or its database) is down.
    ServerUnhealthy { detail: String },
    /// The credentials sent are not the stored ones (these fields differ).
    CredentialsDiffer { fields: Vec<&'static str> },
    /// The subdomain sent is not the account's.
    SubdomainMismatch { sent: String, account: String },
    /// This host's egress address is outside the account's `allowfrom`.
    EgressOutsideAllowfrom {
        egress: IpAddr,
        allowfrom: Vec<String>,
    },
    /// Everything local matches: the server does not know these credentials.
    CredentialsRejected,
    /// The checks could not run (the egress address could not be found).
    Undetermined { detail: String },
}

impl ForbiddenCause {
    /// A short code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            ForbiddenCause::ServerUnhealthy { .. } => "server_unhealthy",
            ForbiddenCause::CredentialsDiffer { .. } => "bad_credentials",
            ForbiddenCause::SubdomainMismatch { .. } => "subdomain_mismatch",
            ForbiddenCause::EgressOutsideAllowfrom { .. } => "egress_outside_allowfrom",
            ForbiddenCause::CredentialsRejected => "bad_credentials",
            ForbiddenCause::Undetermined { .. } => "undetermined",
        }
    }

    /// What it is, in words (never the password).
    pub fn words(&self) -> String {
        match self {
            ForbiddenCause::ServerUnhealthy { detail } => {
                format!("the acme-dns server is not healthy: /health failed ({detail})")
            }
            ForbiddenCause::CredentialsDiffer { fields } => format!(
                "bad credentials: the {} sent differ{} from the stored account",
                fields.join(" and "),
                if fields.len() == 1 { "s" } else { "" }
            ),
            ForbiddenCause::SubdomainMismatch { sent, account } => format!(
                "subdomain mismatch: the update named subdomain {sent:?}, the account's is \
                 {account:?}"
            ),
            ForbiddenCause::EgressOutsideAllowfrom { egress, allowfrom } => format!(
                "this host's egress address {egress} is outside the account's allowfrom \
                 [{}]",
                allowfrom.join(", ")
            ),
            ForbiddenCause::CredentialsRejected => "bad credentials: the stored username and \
                password match what was sent, the subdomain and the source address are fine, \
                yet the server refuses them: it does not know this account"
                .into(),
            ForbiddenCause::Undetermined { detail } => {
                format!("the cause could not be determined: {detail}")
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            ForbiddenCause::ServerUnhealthy { .. } => {
                "start or repair the acme-dns server (and its database), then retry".into()
            }
            ForbiddenCause::CredentialsDiffer { .. } => {
                "use the stored account (the client's account file is out of date or was \
                 edited): copy the entry from acme-delegate's account file to the client"
                    .into()
            }
            ForbiddenCause::SubdomainMismatch { .. } => {
                "send the subdomain of the account (the first label of its fulldomain); the \
                 account entry was edited or mixed with another"
                    .into()
            }
            ForbiddenCause::EgressOutsideAllowfrom { egress, .. } => format!(
                "register a new account whose allowfrom includes {egress} (allowfrom cannot \
                 be changed after registration), or update from a host inside the range"
            ),
            ForbiddenCause::CredentialsRejected => "the account was registered at another \
                acme-dns server or the server's database was reset: register again and \
                update the CNAME to the new fulldomain"
                .into(),
            ForbiddenCause::Undetermined { .. } => {
                "check the acme-dns server's log for the reason".into()
            }
        }
    }
}

impl fmt::Display for ForbiddenCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (fix: {})", self.words(), self.fix())
    }
}

/// Finds why `api` answered 401 to an update with `used`, given the `stored` account of
/// the name (when there is one). In order: `/health`, the credentials against the stored
/// account, the subdomain, this host's egress address against `allowfrom`.
pub async fn diagnose_forbidden(
    api: &AcmeDnsApi,
    used: &Account,
    stored: Option<&Account>,
) -> ForbiddenCause {
    if let Err(e) = api.health().await {
        return ForbiddenCause::ServerUnhealthy {
            detail: e.to_string(),
        };
    }
    if let Some(s) = stored {
        let mut fields = Vec::new();
        if s.username != used.username {
            fields.push("username");
        }
        if s.password != used.password {
            fields.push("password");
        }
        if !fields.is_empty() {
            return ForbiddenCause::CredentialsDiffer { fields };
        }
    }
    let expected = stored
        .map(|s| s.subdomain.clone())
        .unwrap_or_else(|| first_label(&used.fulldomain));
    if !used.subdomain.eq_ignore_ascii_case(&expected) {
        return ForbiddenCause::SubdomainMismatch {
            sent: used.subdomain.clone(),
            account: expected,
        };
    }
    let allowfrom = stored.map(|s| &s.allowfrom).unwrap_or(&used.allowfrom);
    if !allowfrom.is_empty() {
        match api.egress_address().await {
            Ok(ip) if !allowed_from(allowfrom, ip) => {
                return ForbiddenCause::EgressOutsideAllowfrom {
                    egress: ip,
                    allowfrom: allowfrom.clone(),
                }
            }
            Ok(_) => {}
            Err(e) => {
                return ForbiddenCause::Undetermined {
                    detail: format!("the egress address could not be found: {e}"),
                }
            }
        }
    }
    ForbiddenCause::CredentialsRejected
}

fn first_label(fulldomain: &str) -> String {
    fulldomain.split('.').next().unwrap_or_default().to_string()
}

/// Whether `txt` is what acme-dns accepts: exactly 43 characters of base64url.
pub fn valid_txt(txt: &str) -> bool {
    txt.len() == 43
        && txt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::{parse_all, parse_input};

    fn acct(user: &str, sub: &str) -> Account {
        Account {
            username: user.into(),
            password: Password::new("p4ssw0rd-p4ssw0rd-p4ssw0rd-p4ssw0rd-1234"),
            fulldomain: format!("{sub}.acme.lab"),
            subdomain: sub.into(),
            allowfrom: vec!["127.0.0.0/8".into()],
            server_url: Some("http://127.0.0.1:8080".into()),
        }
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "acme-dns-test-{tag}-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
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

    #[test]
    fn password_is_masked_everywhere() {
        let a = acct("u", "s");
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("p4ssw0rd"), "{dbg}");
        assert!(dbg.contains("****"), "{dbg}");
        assert_eq!(a.password.to_string(), "****");
        for c in [
            ForbiddenCause::CredentialsDiffer {
                fields: vec!["password"],
            },
            ForbiddenCause::CredentialsRejected,
        ] {
            assert!(!format!("{c} {c:?}").contains("p4ssw0rd"));
        }
        // ... but the account file has it (the clients need it).
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("p4ssw0rd"));
    }

    #[test]
    fn storage_layout_modes_and_reuse() {
        let dir = tempdir("layout").join("nested");
        let store = AccountStore::open(Some(&dir)).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&dir), 0o700);
        assert!(store.load().unwrap().is_empty());
        let a = acct("9b1d0000-aaaa-bbbb-cccc-dddddddddd77", "3f0e4b2c-1111");
        store.put("WWW.example.test", &a).unwrap();

        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.accounts_path()).unwrap()).unwrap();
        let e = &v["www.example.test"];
        assert_eq!(e["username"], a.username);
        assert_eq!(e["password"], a.password.expose());
        assert_eq!(e["fulldomain"], a.fulldomain);
        assert_eq!(e["subdomain"], a.subdomain);
        assert_eq!(e["allowfrom"], serde_json::json!(["127.0.0.0/8"]));
        assert_eq!(e["server_url"], "http://127.0.0.1:8080");

        let c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.clientstorage_path()).unwrap()).unwrap();
        let ce = c["www.example.test"].as_object().unwrap();
        let mut keys: Vec<_> = ce.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "fulldomain",
                "password",
                "server_url",
                "subdomain",
                "username"
            ]
        );
        assert_eq!(ce["server_url"], "http://127.0.0.1:8080");
        assert_eq!(ce["password"], a.password.expose());

        #[cfg(unix)]
        {
            assert_eq!(mode(&store.accounts_path()), 0o600);
            assert_eq!(mode(&store.clientstorage_path()), 0o600);
        }
        assert_eq!(store.get("www.example.test").unwrap(), Some(a.clone()));

        // A second account keeps the first; no temp files are left behind.
        let b = acct("other", "other-sub");
        store.put("api.example.test", &b).unwrap();
        let all = store.load().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all["www.example.test"], a);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn open_narrows_a_wide_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir("wide");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        AccountStore::open(Some(&dir)).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_a_file_written_by_lego() {
        // goacmedns layout: no allowfrom.
        let dir = tempdir("lego");
        let store = AccountStore::open(Some(&dir)).unwrap();
        std::fs::write(
            store.accounts_path(),
            r#"{"www.example.com":{"fulldomain":"x.acme-dns.example.net","subdomain":"x",
               "username":"u","password":"secret","server_url":"https://acme-dns.example.net"}}"#,
        )
        .unwrap();
        let a = store.get("www.example.com").unwrap().unwrap();
        assert!(a.allowfrom.is_empty());
        assert_eq!(a.target(), "x.acme-dns.example.net.");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_file_is_a_clear_error_and_is_not_overwritten() {
        let dir = tempdir("broken");
        let store = AccountStore::open(Some(&dir)).unwrap();
        std::fs::write(store.accounts_path(), "not json").unwrap();
        let e = store
            .put("a.example", &acct("u", "s"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(ACCOUNTS_FILE) && e.contains("fix:"), "{e}");
        assert_eq!(
            std::fs::read_to_string(store.accounts_path()).unwrap(),
            "not json"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces_whole_or_not_at_all() {
        let dir = tempdir("atomic");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.json");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let link = dir.join("link.json");
            std::os::unix::fs::symlink(&p, &link).unwrap();
            assert!(
                write_atomic(&link, b"evil").is_err(),
                "a symlink is not followed"
            );
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
            std::fs::remove_file(&link).unwrap();
        }
        // The rename target is a directory: the write fails, the temp file is removed.
        let target = dir.join("sub");
        std::fs::create_dir_all(target.join("x")).unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn ensure_reuses_a_stored_registration_without_asking() {
        // (the failing registration is in tests/acme_dns_lab.rs: no network in unit tests)
        let dir = tempdir("ensure");
        let store = AccountStore::open(Some(&dir)).unwrap();
        // Nothing is contacted: TEST-NET-1 would time out, and the test would notice.
        let api = AcmeDnsApi::new("http://192.0.2.1:1").unwrap();
        let a = acct("u", "s");
        store.put("www.example.test", &a).unwrap();
        let (got, fresh) = store.ensure(&api, "WWW.example.test", &[]).await.unwrap();
        assert_eq!(got, a);
        assert!(!fresh);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn plan_shares_apex_and_wildcard_only() {
        let names = parse_all(&[
            "example.com",
            "*.example.com",
            "www.example.com",
            "*.www.example.com",
            "api.example.com",
        ])
        .unwrap();
        let plan = plan_accounts(&names);
        let got: Vec<(String, Vec<String>)> = plan
            .iter()
            .map(|p| (p.key.clone(), p.identifiers.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "example.com".into(),
                    vec!["example.com".into(), "*.example.com".into()]
                ),
                (
                    "www.example.com".into(),
                    vec!["www.example.com".into(), "*.www.example.com".into()]
                ),
                ("api.example.com".into(), vec!["api.example.com".into()]),
            ]
        );
        assert!(plan.iter().all(|p| p.identifiers.len() <= 2));
        assert_eq!(plan[0].challenge.as_str(), "_acme-challenge.example.com.");
    }

    #[test]
    fn two_values_check() {
        let names = parse_all(&["example.com", "*.example.com", "www.example.com"]).unwrap();
        let shared = acct("u1", "sub1");
        let mut accounts = BTreeMap::new();
        accounts.insert("example.com".to_string(), shared.clone());
        // apex + wildcard on one account: two values, fine.
        assert!(two_values_conflicts(&names, &accounts).is_empty());
        // www pointed at the same account: three values at once.
        accounts.insert("www.example.com".to_string(), shared.clone());
        let c = two_values_conflicts(&names, &accounts);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fulldomain, "sub1.acme.lab");
        assert_eq!(c[0].keys, vec!["example.com", "www.example.com"]);
        assert_eq!(c[0].identifiers.len(), 3);
        assert!(c[0].explain().contains("two newest"));
        // Same fulldomain written differently (case, trailing dot) is the same account.
        let mut other = acct("u2", "SUB1");
        other.fulldomain = "SUB1.acme.lab.".into();
        accounts.insert("www.example.com".to_string(), other);
        assert_eq!(two_values_conflicts(&names, &accounts).len(), 1);
        // A separate account: no conflict. A name without an account: ignored.
        accounts.insert("www.example.com".to_string(), acct("u3", "sub3"));
        assert!(two_values_conflicts(&names, &accounts).is_empty());
        let more = vec![parse_input("nothing.example.com").unwrap()];
        assert!(two_values_conflicts(&more, &accounts).is_empty());
    }

    #[test]
    fn cidr_matching() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        let c = |cidr: &str, ip: &str| cidr_contains(cidr, a(ip));
        assert_eq!(c("10.0.0.0/8", "10.1.2.3"), Some(true));
        assert_eq!(c("10.0.0.0/8", "11.1.2.3"), Some(false));
        assert_eq!(c("127.0.0.1/8", "127.9.9.9"), Some(true));
        assert_eq!(c("0.0.0.0/0", "192.0.2.1"), Some(true));
        assert_eq!(c("2001:db8::/32", "2001:db8::1"), Some(true));
        assert_eq!(c("2001:db8::/32", "2001:db9::1"), Some(false));
        assert_eq!(c("10.0.0.0/8", "::ffff:10.0.0.1"), Some(true));
        assert_eq!(c("10.0.0.1", "10.0.0.1"), None);
        assert_eq!(c("10.0.0.0/33", "10.0.0.1"), None);
        assert!(allowed_from(&[], a("192.0.2.1")));
        assert!(!allowed_from(&["10.0.0.0/8".into()], a("127.0.0.1")));
        assert!(allowed_from(
            &["10.0.0.0/8".into(), "127.0.0.0/8".into()],
            a("127.0.0.1")
        ));
    }

    #[test]
    fn txt_validation() {
        assert!(valid_txt(&"a".repeat(43)));
        assert!(valid_txt("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!valid_txt(&"a".repeat(42)));
        assert!(!valid_txt(&format!("{}=", "a".repeat(42))));
    }
}

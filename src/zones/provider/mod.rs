//! Provider-hosted validation zones written through the provider's HTTP API: one small
//! trait, [`ProviderApi`], and one file per API (today `pdns.rs`, PowerDNS's API, which
//! many hosters and deSEC-like services run). The next API (deSEC, Cloudflare) is one
//! more file implementing the trait, plus its tests, and one line in [`open_api`].
//!
//! What the trait needs is what `plan`, `prove`, the wizard and `hook` do: check that the
//! zone exists and the key may write it, add one TXT value at a name, remove it again.
//! Values at one name are kept side by side (an apex and its wildcard share a target).

pub mod pdns;

use futures::future::BoxFuture;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why an API call failed, by cause: each has its own finding and fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The API refused the key (401/403).
    #[error("the API at {api} refused the key: {detail}")]
    KeyRejected { api: String, detail: String },
    /// The API does not have the zone (404, or 422 "could not find domain").
    #[error("the API at {api} has no zone {zone}")]
    ZoneMissing { api: String, zone: String },
    /// No answer: refused, timeout, DNS failure, TLS failure.
    #[error("the API at {api} could not be reached: {detail}")]
    Unreachable { api: String, detail: String },
    /// Any other answer (the status and a short, secret-free excerpt).
    #[error("the API at {api} refused the change: {detail}")]
    Refused { api: String, detail: String },
}

impl ProviderError {
    /// The finding code of this cause.
    pub fn code(&self) -> crate::findings::Code {
        use crate::findings::Code;
        match self {
            ProviderError::KeyRejected { .. } => Code::ProviderKeyRejected,
            ProviderError::ZoneMissing { .. } => Code::ProviderZoneMissing,
            ProviderError::Unreachable { .. } | ProviderError::Refused { .. } => {
                Code::ProviderUnreachable
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            ProviderError::KeyRejected { .. } => "give the API key of this server (--key-file FILE, mode 0600); for PowerDNS it is the `api-key` setting of pdns.conf".into(),
            ProviderError::ZoneMissing { zone, .. } => format!("create the zone {zone} at the provider first (PowerDNS: `pdnsutil create-zone {zone}`), or give --domain the zone it serves"),
            ProviderError::Unreachable { .. } => "check --api (the API base URL, e.g. http://127.0.0.1:8081), that the API is on (PowerDNS: api=yes, webserver=yes, webserver-allow-from) and that this host may reach it".into(),
            ProviderError::Refused { .. } => "check the provider's log; the answer is quoted above".into(),
        }
    }
}

/// One provider's HTTP API, for one zone.
pub trait ProviderApi: Send + Sync {
    /// The zone exists and the key is accepted (a read).
    fn check_zone(&self) -> BoxFuture<'_, Result<(), ProviderError>>;
    /// Adds `value` to the TXT values at `owner` (an FQDN in the zone), keeping the others.
    fn add_txt<'a>(
        &'a self,
        owner: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
    /// Removes `value` from the TXT values at `owner` (the name goes when none is left).
    fn remove_txt<'a>(
        &'a self,
        owner: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

/// The providers acme-delegate can drive through their API.
pub const DRIVEN: &[&str] = &["pdns"];

/// Why a provider's API could not be opened (before any request): the input that was
/// bad, and with [`OpenError::fix`] what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("--api {api:?} is not a URL ({detail})")]
    NotAUrl { api: String, detail: String },
    #[error("--api {api:?} is not an http(s) URL with a host")]
    NotHttp { api: String },
    #[error("the HTTP client could not be built: {0}")]
    Client(reqwest::Error),
    #[error("acme-delegate has no API driver for {provider} (it drives {})", DRIVEN.join(", "))]
    NoDriver { provider: String },
    #[error("cannot read the API key file {}: {source}", path.display())]
    KeyUnreadable { path: PathBuf, source: io::Error },
    #[error("{} does not hold one API key on one line", path.display())]
    KeyNotOneLine { path: PathBuf },
}

impl OpenError {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            OpenError::NotAUrl { .. } | OpenError::NotHttp { .. } | OpenError::Client(_) => {
                "give --api the PowerDNS API base URL, e.g. http://127.0.0.1:8081"
            }
            OpenError::NoDriver { .. } => {
                "plan without --api/--key: the issuing client writes the TXT itself"
            }
            OpenError::KeyUnreadable { .. } => {
                "give --key-file a file this user can read (mode 0600)"
            }
            OpenError::KeyNotOneLine { .. } => "put the key alone in the file",
        }
    }
}

/// Opens the API of `provider` at `api` for `zone`, with the key in `key_file`. Err: the
/// provider has no driver here, the URL is not one, or the key file cannot be read.
pub fn open_api(
    provider: &str,
    api: &str,
    zone: &str,
    key_file: &Path,
    timeout: Duration,
) -> Result<Box<dyn ProviderApi>, OpenError> {
    let key = read_key(key_file)?;
    match provider {
        "pdns" => pdns::PowerDns::new(api, zone, key, timeout)
            .map(|a| Box::new(a) as Box<dyn ProviderApi>),
        other => Err(OpenError::NoDriver {
            provider: other.to_string(),
        }),
    }
}

/// An API key file: one line (the key), at most 4 KiB.
pub fn read_key(path: &Path) -> Result<ApiKey, OpenError> {
    let text = crate::model::files::read_text_limited(path).map_err(|source| {
        OpenError::KeyUnreadable {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let key = text.trim();
    if key.is_empty() || key.len() > 4096 || key.contains(['\n', '\r']) || !key.is_ascii() {
        return Err(OpenError::KeyNotOneLine {
            path: path.to_path_buf(),
        });
    }
    Ok(ApiKey(key.to_string()))
}

/// An API key: Debug and Display print `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(s: impl Into<String>) -> Self {
        ApiKey(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

//! acme-dns (the HTTP API of joohoi/acme-dns) as a validation zone: the API client, the
//! account file (in the layout lego, cert-manager, acme-dns-client and Caddy read), the
//! account plan for one order, and the diagnosis of a `401 forbidden`.
//!
//! acme-dns keeps only the **two newest** TXT values of an account, so one account can
//! serve at most two authorizations of one order: the apex and its wildcard (they share
//! `_acme-challenge.<host>`). Every other name gets an account of its own.
//!
//! The parts: `api.rs` (the HTTP client and how its answers are read), `store.rs` (the
//! account files), `plan.rs` (accounts for one order, the two-values check) and
//! `forbidden.rs` (why a `401 forbidden`). This file holds the vocabulary they share.

/// What becomes of a TXT value acme-dns was given: it cannot delete a record, so the
/// value stays until the next two updates replace it (it keeps the last two values).
/// `prove`, its JSON, `hook certbot-cleanup` and the TUI's proof say so, never "removed".
pub const VALUE_STAYS: &str =
    "acme-dns cannot delete a record: the test value stays until the next two updates replace it";

mod api;
mod forbidden;
mod plan;
mod store;

pub use api::{
    check_account, check_allowfrom, cidr_problem, cleartext_to_remote, is_subdomain_label,
    parse_api_url, register_answer, update_answer, AcmeDnsApi, DEFAULT_TIMEOUT, MAX_BODY_BYTES,
};
pub use forbidden::{diagnose_forbidden, ForbiddenCause};
pub use plan::{plan_accounts, two_values_conflicts, AccountPlan, TwoValuesConflict};
pub use store::{
    accounts_from_json, default_store_dir, write_atomic, AccountStore, ACCOUNTS_FILE,
    CLIENTSTORAGE_FILE,
};

use crate::model::name::InputName;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

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
    /// An answer with a field that cannot be trusted (`ACMEDNS_BAD_RESPONSE`): a
    /// subdomain that is not one label, a fulldomain outside the server's zone, control
    /// characters, an answer over 64 KiB. Nothing of it is stored.
    BadResponse {
        url: String,
        field: String,
        detail: String,
    },
    /// An `--allowfrom` entry that is not a CIDR range (checked before sending).
    BadAllowfrom { cidr: String, reason: String },
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
            AcmeDnsError::BadResponse { url, field, detail } => write!(
                f,
                "{}: {url} answered with a bad `{field}`: {detail}; nothing was saved (fix: \
                 check that the URL is the acme-dns server you trust, and its `domain` setting; \
                 give `--domain` with the acme-dns server's domain)",
                BAD_RESPONSE
            ),
            AcmeDnsError::BadAllowfrom { cidr, reason } => write!(
                f,
                "--allowfrom {cidr:?} is not a CIDR range: {reason} (fix: give a range with a \
                 prefix length, e.g. 192.0.2.0/24, 192.0.2.7/32 or 2001:db8::/32)"
            ),
            AcmeDnsError::Storage { path, detail, fix } => {
                write!(f, "{}: {detail} (fix: {fix})", path.display())
            }
        }
    }
}

impl std::error::Error for AcmeDnsError {}

/// The code of [`AcmeDnsError::BadResponse`], first in its message.
pub const BAD_RESPONSE: &str = "ACMEDNS_BAD_RESPONSE";

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
// Update outcome
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

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
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

    /// An account as the tests of every part use it.
    pub(super) fn acct(user: &str, sub: &str) -> Account {
        Account {
            username: user.into(),
            password: Password::new("p4ssw0rd-p4ssw0rd-p4ssw0rd-p4ssw0rd-1234"),
            fulldomain: format!("{sub}.acme.lab"),
            subdomain: sub.into(),
            allowfrom: vec!["127.0.0.0/8".into()],
            server_url: Some("http://127.0.0.1:8080".into()),
        }
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

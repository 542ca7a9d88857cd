//! Why acme-dns answered `401 forbidden`: it gives the same answer for bad credentials,
//! a source address outside `allowfrom` and a subdomain mismatch, so the client checks
//! each in turn.

use super::{allowed_from, Account, AcmeDnsApi};
use std::fmt;
use std::net::IpAddr;

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

//! One trait for the four kinds of validation zone, so that `plan`, `prove` and the TUI
//! drive them alike: where each name's CNAME points, and how to publish/remove a TXT.

use super::acme_dns::{
    check_allowfrom, diagnose_forbidden, storage_key, Account, AccountStore, AcmeDnsApi,
    AcmeDnsError, UpdateOutcome,
};
use super::rfc2136::{
    maybe_applied, probe_scope, publish_txt, remove_txt, ScopeVerdict, TsigKey, UndoOnDrop,
    UpdateReport,
};
use super::update::UpdateOp;
use crate::dns::Name;
use crate::findings::Code;
use crate::findings::Finding;
use crate::model::config::parse_addr_checked;
use crate::model::name::InputName;
use crate::model::plan::{label_for, ZoneSpec};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The least time an RFC 2136 update is given (the server re-signs the zone before it
/// answers, and queues concurrent updates).
const UPDATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a zone operation failed: in words, with the fix, and the finding code it stands
/// for when it is one (then `message` starts with that code, e.g.
/// `ACMEDNS_BAD_RESPONSE: ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}. Fix: {fix}")]
pub struct ZoneError {
    pub message: String,
    pub fix: String,
    pub code: Option<Code>,
}

impl ZoneError {
    /// An error in words that no finding code stands for.
    pub fn new(message: impl Into<String>, fix: impl Into<String>) -> Self {
        ZoneError {
            message: message.into(),
            fix: fix.into(),
            code: None,
        }
    }

    /// An error that a finding code stands for: its message is `CODE: detail`.
    pub fn coded(code: Code, detail: impl std::fmt::Display, fix: impl Into<String>) -> Self {
        ZoneError {
            message: format!("{}: {detail}", code.as_str()),
            fix: fix.into(),
            code: Some(code),
        }
    }

    /// The finding code this error stands for, when it is one.
    pub fn code(&self) -> Option<Code> {
        self.code
    }

    /// The message without its leading finding code: the evidence of the finding.
    pub fn evidence(&self) -> &str {
        self.code
            .and_then(|c| {
                self.message
                    .strip_prefix(c.as_str())
                    .and_then(|m| m.strip_prefix(": "))
            })
            .unwrap_or(&self.message)
    }
}

fn zerr(message: impl Into<String>, fix: impl Into<String>) -> ZoneError {
    ZoneError::new(message, fix)
}

/// An acme-dns error as a zone error; an untrustworthy answer is `ACMEDNS_BAD_RESPONSE`
/// (its text already starts with that code).
fn acme_err(e: AcmeDnsError, fix: impl Into<String>) -> ZoneError {
    let code = matches!(e, AcmeDnsError::BadResponse { .. }).then_some(Code::AcmednsBadResponse);
    ZoneError {
        message: e.to_string(),
        fix: fix.into(),
        code,
    }
}

/// A validation zone.
pub trait ValidationZone: Send + Sync {
    fn spec(&self) -> &ZoneSpec;
    /// The CNAME target for a name (an acme-dns zone registers, or reuses, an account).
    fn target_for<'a>(&'a self, name: &'a InputName) -> BoxFuture<'a, Result<Name, ZoneError>>;
    /// Can this tool publish a TXT itself? Err says why not (only the issuing client can)
    /// and what to do instead.
    fn publishable(&self) -> Result<(), ZoneError> {
        Ok(())
    }
    fn publish<'a>(
        &'a self,
        name: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>>;
    fn remove<'a>(
        &'a self,
        name: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>>;
    /// A shell command that removes the TXT `token` at `target` (for a record left
    /// behind); it names the key or account file, never a secret.
    fn removal_command(&self, target: &Name, token: &str) -> String {
        format!("remove the TXT record \"{token}\" at {target} with your DNS provider's tools")
    }
    /// Does `remove` delete the TXT? acme-dns cannot: a value stays until the next two
    /// updates replace it ([`crate::zones::acme_dns::VALUE_STAYS`]).
    fn deletes(&self) -> bool {
        true
    }
    /// Checks made when planning (TSIG key scope, API health): findings, never errors.
    fn audit(&self) -> BoxFuture<'_, Vec<Finding>>;
    /// Can the zone be written at all? (an RFC 2136 zone: a test TXT is added and removed
    /// again with the key). Err names the cause (BADKEY, BADSIG, NOTAUTH, a timeout, a
    /// refused connection) and the fix; a plan is not saved then.
    fn usable(&self) -> BoxFuture<'_, Result<(), ZoneError>> {
        async move { Ok(()) }.boxed()
    }
}

/// Opens the zone a spec describes; `data_dir` overrides the acme-dns account store.
pub fn open(spec: &ZoneSpec, timeout: Duration) -> Result<Box<dyn ValidationZone>, ZoneError> {
    Ok(match spec {
        ZoneSpec::Rfc2136 {
            server,
            zone,
            key_file,
        } => {
            let addr = parse_addr_checked(server).map_err(|e| {
                zerr(
                    format!("--server {server:?} {}", e.problem()),
                    format!(
                        "give the primary's address as ip:port, e.g. 192.0.2.53:53; {}",
                        e.fix()
                    ),
                )
            })?;
            let key = TsigKey::from_file(key_file).map_err(|e| {
                zerr(
                    e.to_string(),
                    "give a BIND or knot key file with --key-file",
                )
            })?;
            Box::new(Rfc2136Zone {
                spec: spec.clone(),
                server: addr,
                zone: zone.clone(),
                key,
                // An UPDATE of a signed zone waits for the re-signing: give it more than a query.
                timeout: timeout.max(UPDATE_TIMEOUT),
                scope: Default::default(),
            })
        }
        ZoneSpec::AcmeDns {
            api,
            storage,
            allowfrom,
            domain,
        } => {
            check_allowfrom(allowfrom).map_err(|e| {
                zerr(
                    e.to_string(),
                    "fix --allowfrom; nothing was sent to the acme-dns server",
                )
            })?;
            let client = AcmeDnsApi::new(api)
                .and_then(|a| a.with_timeout(timeout.max(Duration::from_secs(5))))
                .map(|a| {
                    a.expect_zones(domain.iter().map(|d| d.without_dot().to_string()).collect())
                })
                .map_err(|e| {
                    acme_err(
                        e,
                        "give the acme-dns API base URL, e.g. https://auth.acme-dns.io",
                    )
                })?;
            let store = AccountStore::open(storage.as_deref())
                .map_err(|e| acme_err(e, "check --storage"))?;
            Box::new(AcmeDnsZone {
                spec: spec.clone(),
                api: client,
                store,
                allowfrom: allowfrom.clone(),
            })
        }
        ZoneSpec::Provider {
            provider,
            domain,
            api: Some(api),
            key_file: Some(key_file),
        } => {
            let driver = super::provider::open_api(
                provider,
                api,
                domain.without_dot(),
                key_file,
                timeout.max(Duration::from_secs(5)),
            )
            .map_err(|e| zerr(e.to_string(), e.fix()))?;
            Box::new(ProviderZone {
                spec: spec.clone(),
                domain: domain.clone(),
                api: driver,
            })
        }
        ZoneSpec::Provider { .. } | ZoneSpec::Hosted { .. } => {
            Box::new(PassiveZone { spec: spec.clone() })
        }
    })
}

/// An RFC 2136 zone written with a TSIG key.
pub struct Rfc2136Zone {
    spec: ZoneSpec,
    server: SocketAddr,
    zone: Name,
    key: TsigKey,
    timeout: Duration,
    /// The scope probe [`ValidationZone::usable`] ran, for [`ValidationZone::audit`].
    scope: std::sync::Mutex<Option<super::rfc2136::ScopeReport>>,
}

impl Rfc2136Zone {
    /// An update report as a result: the rejection in words, with the fix.
    fn applied(&self, r: UpdateReport, what: String) -> Result<(), ZoneError> {
        if r.applied() {
            Ok(())
        } else {
            Err(zerr(
                format!("{what} was rejected: {}", r.label()),
                r.explain(),
            ))
        }
    }
}

impl ValidationZone for Rfc2136Zone {
    fn spec(&self) -> &ZoneSpec {
        &self.spec
    }
    fn removal_command(&self, target: &Name, token: &str) -> String {
        let key = match &self.spec {
            ZoneSpec::Rfc2136 { key_file, .. } => key_file.display().to_string(),
            _ => "KEYFILE".into(),
        };
        format!(
            "printf 'server {} {}\\nzone {}\\nupdate delete {} TXT \"{token}\"\\nsend\\n' | nsupdate -k '{key}'",
            self.server.ip(),
            self.server.port(),
            self.zone,
            target
        )
    }
    fn target_for<'a>(&'a self, name: &'a InputName) -> BoxFuture<'a, Result<Name, ZoneError>> {
        async move { Ok(self.zone.prepend(&label_for(&name.host))) }.boxed()
    }
    fn publish<'a>(
        &'a self,
        _: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move {
            let r = publish_txt(
                self.server,
                &self.zone,
                target,
                token,
                1,
                &self.key,
                self.timeout,
            )
            .await;
            self.applied(r, format!("the update of {target} at {}", self.server))
        }
        .boxed()
    }
    fn remove<'a>(
        &'a self,
        _: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move {
            let r = remove_txt(
                self.server,
                &self.zone,
                target,
                token,
                &self.key,
                self.timeout,
            )
            .await;
            self.applied(
                r,
                format!("removing the test TXT at {target} from {}", self.server),
            )
        }
        .boxed()
    }
    fn usable(&self) -> BoxFuture<'_, Result<(), ZoneError>> {
        async move {
            let owner = self.zone.prepend(&format!(
                "acme-delegate-usable-probe-{:016x}",
                rand::random::<u64>()
            ));
            let token = "acme-delegate plan: can this key write here?";
            // Cancelled while the TXT is in flight: it may be applied, so delete it anyway.
            let guard = UndoOnDrop::arm(
                self.server,
                &self.zone,
                UpdateOp::DeleteTxt {
                    owner: owner.clone(),
                    value: token.into(),
                },
                &self.key,
                self.timeout,
            );
            let r = publish_txt(self.server, &self.zone, &owner, token, 1, &self.key, self.timeout)
                .await;
            if !r.applied() && maybe_applied(&r) {
                // No answer (or one that did not verify): it may have been applied all the
                // same, and the deletion is idempotent.
                let _ = remove_txt(self.server, &self.zone, &owner, token, &self.key, self.timeout)
                    .await;
            }
            if !r.applied() {
                guard.disarm();
                return Err(zerr(
                    format!(
                        "the validation zone {} cannot be written at {} with key {}: {}",
                        self.zone,
                        self.server,
                        self.key.name,
                        r.label()
                    ),
                    r.explain(),
                ));
            }
            let c = remove_txt(self.server, &self.zone, &owner, token, &self.key, self.timeout)
                .await;
            guard.disarm();
            self.applied(c, format!("removing the test TXT at {owner} from {}", self.server))?;
            let scope = probe_scope(self.server, &self.zone, &self.key, self.timeout).await;
            *self.scope.lock().unwrap_or_else(|e| e.into_inner()) = Some(scope.clone());
            if scope.verdict == ScopeVerdict::Inconclusive {
                return Err(zerr(
                    format!(
                        "the key {} wrote a TXT in {}, but probing what else it may write failed: {}",
                        self.key.name,
                        self.zone,
                        scope.attempt.label()
                    ),
                    scope.explain(),
                ));
            }
            Ok(())
        }
        .boxed()
    }
    fn audit(&self) -> BoxFuture<'_, Vec<Finding>> {
        async move {
            let known = self.scope.lock().unwrap_or_else(|e| e.into_inner()).take();
            let r = match known {
                Some(r) => r,
                None => probe_scope(self.server, &self.zone, &self.key, self.timeout).await,
            };
            let mut out = Vec::new();
            if r.verdict == ScopeVerdict::Overprivileged {
                out.push(Finding::new(
                    Code::TsigOverprivileged,
                    self.zone.without_dot(),
                    format!(
                        "the key {} may write more than TXT records in {}: the server accepted an A record at {} (removed again{})",
                        self.key.name,
                        self.zone,
                        r.probe_owner,
                        if r.left_behind() { ", but the removal FAILED: delete it by hand" } else { "" }
                    ),
                    format!(
                        "limit the key to TXT updates: knot `acl: update-type: TXT`; BIND `update-policy {{ grant {} zonesub TXT; }};`",
                        self.key.name.without_dot()
                    ),
                ));
            }
            out
        }
        .boxed()
    }
}

/// An acme-dns server.
pub struct AcmeDnsZone {
    spec: ZoneSpec,
    api: AcmeDnsApi,
    store: AccountStore,
    allowfrom: Vec<String>,
}

impl AcmeDnsZone {
    pub fn store_dir(&self) -> PathBuf {
        self.store.dir().to_path_buf()
    }

    /// The account an update is sent with, and the stored account a 401 is diagnosed
    /// against. The update carries what the clients post: the `clientstorage.json` entry
    /// (acme-dns-client and Caddy send it as it is). The stored account is the
    /// registration in `acme-dns-accounts.json` (the only file with `allowfrom`). When
    /// only one file has the name, that entry is sent and judged on its own (its subdomain
    /// against its fulldomain; its `allowfrom`, else the plan's).
    async fn accounts_for(&self, key: &str) -> Result<(Account, Option<Account>), ZoneError> {
        let read = |e: AcmeDnsError| acme_err(e, "check the account files");
        let (stored, client) = self.store.both(key).await.map_err(read)?;
        let (mut sent, stored) = match (client, stored) {
            (Some(c), s) => (c, s),
            (None, Some(s)) => (s, None),
            (None, None) => {
                return Err(zerr(
                    format!("no acme-dns account for {key}"),
                    "run `acme-delegate plan --zone acme-dns` first",
                ))
            }
        };
        if sent.allowfrom.is_empty() {
            sent.allowfrom = self.allowfrom.clone();
        }
        Ok((sent, stored))
    }
}

impl ValidationZone for AcmeDnsZone {
    fn spec(&self) -> &ZoneSpec {
        &self.spec
    }
    fn removal_command(&self, target: &Name, _: &str) -> String {
        format!(
            "nothing to run: acme-dns keeps the last two TXT values of {target}, and the next update (the next renewal) replaces it"
        )
    }
    fn target_for<'a>(&'a self, name: &'a InputName) -> BoxFuture<'a, Result<Name, ZoneError>> {
        async move {
            let (acct, _) = self
                .store
                .ensure(&self.api, &storage_key(name), &self.allowfrom)
                .await
                .map_err(|e| match e {
                    AcmeDnsError::BadResponse { .. } => acme_err(
                        e,
                        "check that --api is the acme-dns server you trust and give --domain with its domain; nothing was saved",
                    ),
                    _ => acme_err(
                        e,
                        "check the acme-dns URL and that the server answers /register",
                    ),
                })?;
            Ok(Name::from_ascii(&acct.target()))
        }
        .boxed()
    }
    fn publish<'a>(
        &'a self,
        name: &'a InputName,
        _: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move {
            let (sent, stored) = self.accounts_for(&storage_key(name)).await?;
            match self.api.update(&sent, token).await {
                Ok(UpdateOutcome::Updated { .. }) => Ok(()),
                Ok(UpdateOutcome::Forbidden) => {
                    let cause = diagnose_forbidden(&self.api, &sent, stored.as_ref()).await;
                    Err(zerr(
                        format!("acme-dns answered 401 forbidden: {}", cause.words()),
                        cause.fix(),
                    ))
                }
                Ok(other) => Err(zerr(
                    format!("acme-dns refused the update: {other}"),
                    "check the account and the server's log",
                )),
                Err(e) => Err(acme_err(e, "check that the acme-dns API is reachable")),
            }
        }
        .boxed()
    }
    fn deletes(&self) -> bool {
        false
    }
    fn remove<'a>(
        &'a self,
        _: &'a InputName,
        _: &'a Name,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        // acme-dns has no delete: the value ages out as newer ones arrive.
        async move { Ok(()) }.boxed()
    }
    fn audit(&self) -> BoxFuture<'_, Vec<Finding>> {
        async move {
            let mut out = Vec::new();
            if self.api.cleartext_to_remote() {
                out.push(plain_http_finding(&self.api.base_url()));
            }
            if let Err(e) = self.api.health().await {
                out.push(Finding::new(
                    Code::AcmednsUnhealthy,
                    &self.api.base_url(),
                    format!("GET /health failed: {e}"),
                    "start the acme-dns server or fix the URL".into(),
                ));
            }
            out
        }
        .boxed()
    }
}

/// `ACMEDNS_PLAIN_HTTP` for an API URL (see [`AcmeDnsApi::cleartext_to_remote`]).
pub fn plain_http_finding(url: &str) -> Finding {
    Finding::new(
        Code::AcmednsPlainHttp,
        url,
        format!(
            "{url}: the acme-dns API is reached over plain http on a host that is not this \
             machine: account passwords cross the network in clear text"
        ),
        "serve the API over TLS and give --api https://..., or reach it through a tunnel on \
         loopback"
            .into(),
    )
}

/// A provider-hosted zone that acme-delegate writes through the provider's API.
pub struct ProviderZone {
    spec: ZoneSpec,
    domain: Name,
    api: Box<dyn super::provider::ProviderApi>,
}

/// A provider API failure as a zone error whose message starts with its finding code
/// (see [`ZoneError::code`]).
fn provider_err(what: &str, e: super::provider::ProviderError) -> ZoneError {
    ZoneError::coded(e.code(), format!("{what}: {e}"), e.fix())
}

impl ValidationZone for ProviderZone {
    fn spec(&self) -> &ZoneSpec {
        &self.spec
    }
    fn target_for<'a>(&'a self, name: &'a InputName) -> BoxFuture<'a, Result<Name, ZoneError>> {
        async move { Ok(self.domain.prepend(&label_for(&name.host))) }.boxed()
    }
    fn publish<'a>(
        &'a self,
        _: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move {
            self.api
                .add_txt(target.as_str(), token)
                .await
                .map_err(|e| provider_err(&format!("publishing the TXT at {target}"), e))
        }
        .boxed()
    }
    fn remove<'a>(
        &'a self,
        _: &'a InputName,
        target: &'a Name,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move {
            self.api
                .remove_txt(target.as_str(), token)
                .await
                .map_err(|e| provider_err(&format!("removing the TXT at {target}"), e))
        }
        .boxed()
    }
    fn audit(&self) -> BoxFuture<'_, Vec<Finding>> {
        async move { vec![] }.boxed()
    }
    /// The zone exists, the key reads it, and a probe TXT can be added and removed.
    fn usable(&self) -> BoxFuture<'_, Result<(), ZoneError>> {
        async move {
            let zone = self.domain.without_dot();
            self.api
                .check_zone()
                .await
                .map_err(|e| provider_err(&format!("the validation zone {zone}"), e))?;
            let owner = self.domain.prepend(&format!(
                "acme-delegate-usable-probe-{:016x}",
                rand::random::<u64>()
            ));
            let token = "acme-delegate plan: can this key write here?";
            self.api
                .add_txt(owner.as_str(), token)
                .await
                .map_err(|e| provider_err(&format!("writing a test TXT at {owner}"), e))?;
            self.api
                .remove_txt(owner.as_str(), token)
                .await
                .map_err(|e| provider_err(&format!("removing the test TXT at {owner}"), e))
        }
        .boxed()
    }
}

/// A provider-hosted throwaway zone or a hosted service: only the issuing client writes it.
pub struct PassiveZone {
    spec: ZoneSpec,
}

impl ValidationZone for PassiveZone {
    fn spec(&self) -> &ZoneSpec {
        &self.spec
    }
    fn target_for<'a>(&'a self, name: &'a InputName) -> BoxFuture<'a, Result<Name, ZoneError>> {
        async move {
            match &self.spec {
                ZoneSpec::Provider { domain, .. } => Ok(domain.prepend(&label_for(&name.host))),
                ZoneSpec::Hosted { target } => Ok(target.clone()),
                _ => unreachable!("PassiveZone holds provider or hosted specs only"),
            }
        }
        .boxed()
    }
    fn publishable(&self) -> Result<(), ZoneError> {
        Err(self.no_proof())
    }
    fn publish<'a>(
        &'a self,
        _: &'a InputName,
        _: &'a Name,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move { Err(self.no_proof()) }.boxed()
    }
    fn remove<'a>(
        &'a self,
        _: &'a InputName,
        _: &'a Name,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), ZoneError>> {
        async move { Ok(()) }.boxed()
    }
    fn audit(&self) -> BoxFuture<'_, Vec<Finding>> {
        async move { vec![] }.boxed()
    }
}

impl PassiveZone {
    fn no_proof(&self) -> ZoneError {
        match &self.spec {
            ZoneSpec::Provider { provider, .. } => zerr(
                format!("acme-delegate holds no {provider} API token, so it cannot publish the test TXT itself (it can for {} when the plan has --api and --key-file)", super::provider::DRIVEN.join(", ")),
                "the proof step needs the issuing client for this kind: run it against a staging CA (e.g. lego --server https://acme-staging-v02.api.letsencrypt.org/directory), then `acme-delegate check`",
            ),
            _ => zerr(
                "the hosted service writes the TXT records itself; acme-delegate cannot publish one",
                "let the service issue (or renew) once, then run `acme-delegate check --expect-target <target> NAME`",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::provider::ProviderError;

    #[test]
    fn a_zone_error_carries_its_code_from_construction() {
        let e = provider_err(
            "publishing the TXT at x.acme.lab.",
            ProviderError::KeyRejected {
                api: "http://127.0.0.1:8081".into(),
                detail: "401".into(),
            },
        );
        assert_eq!(e.code(), Some(Code::ProviderKeyRejected));
        assert!(
            e.message
                .starts_with("PROVIDER_KEY_REJECTED: publishing the TXT at x.acme.lab.: "),
            "{}",
            e.message
        );
        assert_eq!(
            e.evidence(),
            e.message.strip_prefix("PROVIDER_KEY_REJECTED: ").unwrap()
        );
        let bad = acme_err(
            AcmeDnsError::BadResponse {
                url: "http://127.0.0.1:8080/register".into(),
                field: "subdomain".into(),
                detail: "not one label".into(),
            },
            "check --api",
        );
        assert_eq!(bad.code(), Some(Code::AcmednsBadResponse));
        assert!(bad.message.starts_with("ACMEDNS_BAD_RESPONSE: "), "{bad}");
        assert!(!bad.evidence().starts_with("ACMEDNS_BAD_RESPONSE"), "{bad}");
        // A message that merely starts like a code is not one.
        let plain = zerr("PROVIDER_KEY_REJECTED: said the user", "none");
        assert_eq!(plain.code(), None);
        assert_eq!(plain.evidence(), plain.message);
        assert_eq!(
            plain.to_string(),
            "PROVIDER_KEY_REJECTED: said the user. Fix: none"
        );
    }
}

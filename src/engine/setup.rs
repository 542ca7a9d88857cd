//! Plan setup, as `plan` and the wizard do it: open the validation zone, check it can be
//! used, compute each name's CNAME target (an acme-dns zone registers accounts), find the
//! zone each CNAME goes in. Nothing is saved here: the plan file is `model::plan`'s
//! (`Plan::find`, `Plan::save`), key files given on the command line `zones::keystore`'s.
//! File I/O runs off the async workers.

use crate::dns::Name;
use crate::dns::Transport;
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, EventSink};
use crate::findings::{Code, Finding};
use crate::model::name::InputName;
use crate::model::plan::{Plan, PlannedName, ZoneSpec};
use crate::zones::kinds::{open, ValidationZone, ZoneError};
use std::sync::Arc;
use std::time::Duration;

/// Why setting up or loading a plan failed. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The zone's settings are wrong (bad address, unreadable key file, ...): bad input.
    #[error("{0}")]
    Zone(ZoneError),
    /// The zone cannot be written (wrong key, server down, zone not served, ...).
    #[error("{0}")]
    ZoneUnusable(ZoneError),
    /// The zone cannot be used right now (the acme-dns API is down, ...).
    #[error("{} {}: {}\n  fix: {}", .0.severity, .0.code, .0.evidence, .0.fix)]
    Unusable(Box<Finding>),
    /// A name's target could not be had (registration failed, ...).
    #[error("{name}: {error}")]
    Target { name: String, error: ZoneError },
    #[error("a background task failed: {0}")]
    Task(String),
    /// The caller's token stopped it before the plan was computed; nothing was saved.
    #[error("cancelled before the plan was computed")]
    Cancelled,
}

impl SetupError {
    /// Bad input or usage (exit 2), as opposed to a zone that cannot be used (exit 1).
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            SetupError::Unusable(_)
                | SetupError::ZoneUnusable(_)
                | SetupError::Target { .. }
                | SetupError::Cancelled
        )
    }
}

/// What to plan: the names, in the validation zone opened from the plan's spec.
#[derive(Clone)]
pub struct PlanRequest {
    /// The validation zone: the engine opens it (key files, account stores).
    pub zone: ZoneSpec,
    pub names: Vec<InputName>,
}

/// A computed plan, what the zone's audit found (e.g. `TSIG_OVERPRIVILEGED`), and the
/// validation zone's name servers (RFC 2136: for the NS-delegation alternative, see
/// [`PlanOutcome::ns_alternative`]).
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub findings: Vec<Finding>,
    pub validation_ns: Vec<Name>,
}

impl PlanOutcome {
    /// The other way to delegate `challenge` (RFC 2136 only): NS records instead of the
    /// CNAME.
    pub fn ns_alternative(&self, challenge: &Name) -> Option<NsAlternative> {
        ns_alternative(&self.plan.zone, &self.validation_ns, challenge)
    }
}

/// The other way to delegate with an RFC 2136 server: a zone cut at the challenge name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NsAlternative {
    pub kind: &'static str,
    /// The zone to create on the validation server.
    pub zone: Name,
    /// The NS records to publish in the production zone instead of the CNAME.
    pub records: Vec<String>,
    pub note: String,
}

/// For an RFC 2136 plan: the NS records that delegate `_acme-challenge.<name>` itself to
/// the validation zone's name servers, and what else that takes.
fn ns_alternative(spec: &ZoneSpec, ns: &[Name], challenge: &Name) -> Option<NsAlternative> {
    let ZoneSpec::Rfc2136 { server, zone, .. } = spec else {
        return None;
    };
    Some(NsAlternative {
        kind: "ns-delegation",
        zone: challenge.clone(),
        records: ns
            .iter()
            .map(|n| format!("{challenge} 300 IN NS {n}"))
            .collect(),
        note: format!(
            "instead of the CNAME: publish these NS records, create the zone {challenge} on {server} (the server of {zone}) with TXT-only updates for the key, and let the client write the TXT at {challenge} itself; lego and certbot-dns-rfc2136 find that zone by their SOA lookup, cert-manager needs the fix of its issue #3055"
        ),
    })
}

/// Runs blocking file work off the async workers.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, SetupError> + Send + 'static,
) -> Result<R, SetupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SetupError::Task(e.to_string()))?
}

/// A new plan's spec with the acme-dns account store written down: the directory given
/// (made absolute), else the default one of this user. A hook that later runs with
/// another data directory (certbot as another user, a cron job) still finds the accounts.
fn record_store(spec: ZoneSpec) -> ZoneSpec {
    match spec {
        ZoneSpec::AcmeDns {
            api,
            storage,
            allowfrom,
            domain,
        } => {
            let storage = match storage {
                Some(p) if p.is_absolute() => Some(p),
                Some(p) => Some(std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)),
                None => crate::zones::acme_dns::default_store_dir().ok(),
            };
            ZoneSpec::AcmeDns {
                api,
                storage,
                allowfrom,
                domain,
            }
        }
        other => other,
    }
}

/// Opens the validation zone a spec describes (reads key files and account stores).
pub(crate) async fn open_zone(
    spec: ZoneSpec,
    timeout: Duration,
) -> Result<Arc<dyn ValidationZone>, SetupError> {
    blocking(move || {
        open(&spec, timeout)
            .map(Arc::from)
            .map_err(SetupError::Zone)
    })
    .await
}

impl<T: Transport> Run<T> {
    /// Computes the plan for the names of `req` in its zone: opens the zone (a zone that
    /// cannot be opened is bad input), audits it (an unusable zone stops here, nothing
    /// registered), then each name's target and the
    /// zone its CNAME goes in, telling `events` each finding of the audit. Nothing is
    /// saved: see [`Plan::save`]. `cancel` stops it ([`SetupError::Cancelled`]).
    pub async fn make_plan(
        &self,
        req: &PlanRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<PlanOutcome, SetupError> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(SetupError::Cancelled),
            r = self.open_and_plan(req) => {
                if let Ok(out) = &r {
                    events.findings(out.plan.zone.kind(), &out.findings);
                }
                r
            }
        }
    }

    async fn open_and_plan(&self, req: &PlanRequest) -> Result<PlanOutcome, SetupError> {
        let zone = open_zone(record_store(req.zone.clone()), self.config.timeout).await?;
        self.plan_for(zone.as_ref(), &req.names).await
    }

    async fn plan_for(
        &self,
        zone: &dyn ValidationZone,
        names: &[InputName],
    ) -> Result<PlanOutcome, SetupError> {
        zone.usable().await.map_err(|e| match e.code() {
            Some(code) => SetupError::Unusable(Box::new(Finding::new(
                code,
                zone.spec().kind(),
                e.evidence().to_string(),
                e.fix,
            ))),
            None => SetupError::ZoneUnusable(e),
        })?;
        let mut findings = zone.audit().await;
        if let Some(f) = findings.iter().find(|f| f.code == Code::AcmednsUnhealthy) {
            return Err(SetupError::Unusable(Box::new(f.clone())));
        }
        let mut planned = Vec::with_capacity(names.len());
        for n in names {
            planned.push(self.plan_name(zone, n).await?);
        }
        if matches!(zone.spec(), ZoneSpec::Hosted { .. }) {
            if let Some(p) = planned.first() {
                findings.extend(self.target_zone_findings(&p.name, &p.target).await);
            }
        }
        let plan = Plan {
            version: 1,
            zone: zone.spec().clone(),
            names: planned,
        };
        let validation_ns = self.validation_ns(&plan.zone).await;
        Ok(PlanOutcome {
            plan,
            findings,
            validation_ns,
        })
    }

    /// The name servers of the validation zone (for the NS alternative).
    async fn validation_ns(&self, spec: &ZoneSpec) -> Vec<Name> {
        let ZoneSpec::Rfc2136 { zone, .. } = spec else {
            return vec![];
        };
        let walk = self.walker().zone_of(zone.clone()).await;
        let mut out: Vec<Name> = Vec::new();
        if walk.zone.apex == *zone {
            for n in walk
                .zone
                .servers
                .iter()
                .map(|s| &s.name)
                .chain(&walk.zone.unresolved)
            {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        if out.is_empty() {
            out.push(zone.prepend("ns1"));
        }
        out
    }

    /// One name: its target, and the zone that holds its `_acme-challenge` name.
    async fn plan_name(
        &self,
        zone: &dyn ValidationZone,
        n: &InputName,
    ) -> Result<PlannedName, SetupError> {
        let target = zone
            .target_for(n)
            .await
            .map_err(|error| match error.code() {
                Some(code) => SetupError::Unusable(Box::new(Finding::new(
                    code,
                    &n.identifier,
                    error.evidence().to_string(),
                    error.fix,
                ))),
                None => SetupError::Target {
                    name: n.identifier.clone(),
                    error,
                },
            })?;
        let walk = self.walker().zone_of(n.challenge.clone()).await;
        let apex: Option<Name> =
            (!walk.unresponsive && !walk.zone.apex.is_root()).then(|| walk.zone.apex.clone());
        Ok(PlannedName {
            name: n.identifier.clone(),
            challenge: n.challenge.clone(),
            target,
            zone: apex,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_told_apart_from_unusable_zones() {
        assert!(SetupError::Zone(ZoneError::new("bad address", "fix it")).is_usage());
        let f = Finding::new(
            Code::AcmednsUnhealthy,
            "x",
            "down".into(),
            "start it".into(),
        );
        let e = SetupError::Unusable(Box::new(f));
        assert!(!e.is_usage());
        assert!(e.to_string().contains("ACMEDNS_UNHEALTHY"));
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    #[test]
    fn a_new_acme_dns_plan_records_where_its_accounts_are() {
        let spec = |storage| ZoneSpec::AcmeDns {
            api: "https://auth.example".into(),
            storage,
            allowfrom: vec![],
            domain: None,
        };
        let ZoneSpec::AcmeDns { storage, .. } = record_store(spec(None)) else {
            panic!()
        };
        let got = storage.expect("the default store, written down");
        assert!(got.is_absolute(), "{}", got.display());
        assert_eq!(Some(got), crate::zones::acme_dns::default_store_dir().ok());
        let ZoneSpec::AcmeDns { storage, .. } = record_store(spec(Some("rel/store".into()))) else {
            panic!()
        };
        assert!(storage.unwrap().is_absolute());
    }
}

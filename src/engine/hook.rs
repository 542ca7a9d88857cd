//! certbot's manual hooks (`hook certbot-auth` / `hook certbot-cleanup`): certbot never
//! follows the `_acme-challenge` CNAME, so the hook finds the name's target in the plan
//! and publishes (or removes) the TXT there through the plan's zone. The auth hook returns
//! only once every authoritative server of the target's zone serves the value: certbot
//! asks the CA to validate right after the hook returns.

use crate::dns::{Name, QueryFlags, Question, RecordType, Transport};
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, Event, EventSink};
use crate::engine::prove::serves_token;
use crate::engine::setup::{open_zone, SetupError};
use crate::model::name::{parse_input, InputName};
use crate::model::plan::Plan;
use crate::zones::kinds::{ValidationZone, ZoneError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a hook failed: in words, with the fix. Never holds the validation value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("CERTBOT_DOMAIN is not set: run this as certbot's --manual-auth-hook / --manual-cleanup-hook (the certbot config written by `acme-delegate write --client certbot` does that)")]
    NoDomain,
    #[error("CERTBOT_VALIDATION is not set: certbot sets it for --manual-auth-hook; run the hook only from certbot")]
    NoValidation,
    #[error("CERTBOT_VALIDATION is not a DNS-01 value: certbot sets 43 characters of base64url (A-Z a-z 0-9 - _, the SHA-256 digest of the key authorization); this one has {len} characters{}; run the hook only from certbot", if *bad_chars { " and others than those" } else { "" })]
    BadValidation { len: usize, bad_chars: bool },
    #[error("{0}")]
    BadDomain(String),
    #[error("{domain} is not in the plan {plan}: add it with `acme-delegate plan ... {domain}` (and publish its CNAME), or pass the right --plan")]
    NotInPlan { domain: String, plan: String },
    /// The zone cannot be used: publishing or removing failed.
    #[error("{0}")]
    Zone(ZoneError),
    /// The plan's zone cannot be opened (bad address, unreadable key file, ...).
    #[error("{0}")]
    BadZone(ZoneError),
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("no authoritative server of {target}'s zone could be found from the root hints; delegate the validation zone (NS + glue)")]
    NoServers { target: Name },
    #[error("interrupted (Ctrl-C, SIGTERM or SIGHUP): {}", if *removed { format!("the TXT at {target} was removed again") } else { format!("the TXT at {target} could NOT be removed: delete it by hand") })]
    Cancelled { target: Name, removed: bool },
    #[error("after {secs} s these authoritative servers of {target}'s zone still do not serve the TXT: {servers}; make the primary NOTIFY and transfer to every server")]
    NotServed {
        target: Name,
        secs: u64,
        servers: String,
    },
}

/// The name certbot asks about and the value (auth only), from certbot's variables.
pub fn from_env(
    get: impl Fn(&str) -> Option<String>,
    need_value: bool,
) -> Result<(InputName, Option<String>), HookError> {
    let domain = get("CERTBOT_DOMAIN")
        .filter(|d| !d.trim().is_empty())
        .ok_or(HookError::NoDomain)?;
    let name = parse_input(&domain).map_err(|e| HookError::BadDomain(e.to_string()))?;
    let value = get("CERTBOT_VALIDATION").filter(|v| !v.is_empty());
    if need_value && value.is_none() {
        return Err(HookError::NoValidation);
    }
    Ok((name, value))
}

/// A DNS-01 TXT value as certbot passes it: 43 characters of base64url, no padding.
fn check_validation(value: &str) -> Result<(), HookError> {
    let bad_chars = !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let len = value.chars().count();
    if len != 43 || bad_chars {
        return Err(HookError::BadValidation { len, bad_chars });
    }
    Ok(())
}

/// The target of a name in the plan (certbot passes a wildcard's base name).
fn target(plan: &Plan, plan_path: &str, name: &InputName) -> Result<Name, HookError> {
    plan.target_of(name)
        .map(|p| p.target.clone())
        .ok_or_else(|| HookError::NotInPlan {
            domain: name.identifier.clone(),
            plan: plan_path.into(),
        })
}

/// What certbot's hooks work on: `value` for `name`, at the name's target in `plan`,
/// through the plan's zone (which the engine opens). The auth hook waits at most
/// `timeout` for every authoritative server to serve it; cleanup ignores `timeout`.
#[derive(Clone)]
pub struct HookRequest {
    pub plan: Plan,
    /// How the plan file is named in errors (`NotInPlan`).
    pub plan_shown: String,
    pub name: InputName,
    pub value: String,
    pub timeout: Duration,
}

/// What the auth hook did: the target it published at and the authoritative servers
/// that serve the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub target: Name,
    pub servers: Vec<String>,
}

/// What the cleanup hook did: the target, and whether the zone deletes (acme-dns has no
/// delete: the value ages out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleaned {
    pub target: Name,
    pub deletes: bool,
}

impl HookError {
    /// Bad input or usage (exit 2: the environment, the plan, the zone's settings), as
    /// opposed to a hook that ran and failed (exit 1) or was interrupted.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HookError::NoDomain
                | HookError::NoValidation
                | HookError::BadValidation { .. }
                | HookError::BadDomain(_)
                | HookError::NotInPlan { .. }
                | HookError::BadZone(_)
                | HookError::Task(_)
        )
    }
}

/// The hook's target in the plan, the value checked, and the plan's zone opened: in
/// this order, each a usage error ([`HookError::is_usage`]).
async fn prepare(
    req: &HookRequest,
    timeout: Duration,
) -> Result<(Name, Arc<dyn ValidationZone>), HookError> {
    let target = target(&req.plan, &req.plan_shown, &req.name)?;
    check_validation(&req.value)?;
    let zone = open_zone(req.plan.zone.clone(), timeout)
        .await
        .map_err(|e| match e {
            SetupError::Zone(z) => HookError::BadZone(z),
            SetupError::Task(m) => HookError::Task(m),
            other => HookError::Task(other.to_string()),
        })?;
    Ok((target, zone))
}

impl<T: Transport> Run<T> {
    /// certbot's auth hook: opens the plan's zone, publishes the value at the name's
    /// target and waits until every authoritative server of the target's zone serves it
    /// (returns the servers that do), telling `events` when it is published; until
    /// `cancel` (a signal): then the TXT, which may already be out, is removed again, and
    /// the error says whether that worked.
    pub async fn hook_auth(
        &self,
        req: &HookRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<Published, HookError> {
        let (target, zone) = prepare(req, self.config.timeout).await?;
        tokio::select! {
            r = self.publish_and_wait(zone.as_ref(), &target, req, events) => {
                r.map(|servers| Published { target: target.clone(), servers })
            }
            _ = cancel.cancelled() => {
                let removed = remove(zone.as_ref(), &req.name, &target, &req.value).await.is_ok();
                Err(HookError::Cancelled { target, removed })
            }
        }
    }

    /// certbot's cleanup hook: opens the plan's zone and removes the value from the
    /// name's target; `cancel` stops it ([`HookError::Cancelled`], not removed).
    pub async fn hook_cleanup(
        &self,
        req: &HookRequest,
        cancel: &CancellationToken,
        _events: &EventSink,
    ) -> Result<Cleaned, HookError> {
        let (target, zone) = prepare(req, self.config.timeout).await?;
        tokio::select! {
            r = remove(zone.as_ref(), &req.name, &target, &req.value) => r.map(|()| Cleaned {
                deletes: zone.deletes(),
                target: target.clone(),
            }),
            _ = cancel.cancelled() => Err(HookError::Cancelled { target, removed: false }),
        }
    }

    /// Publishes the value at the target and waits until every authoritative server of
    /// the target's zone serves it. Returns the servers that do.
    async fn publish_and_wait(
        &self,
        zone: &dyn ValidationZone,
        target: &Name,
        req: &HookRequest,
        events: &EventSink,
    ) -> Result<Vec<String>, HookError> {
        zone.publishable().map_err(HookError::Zone)?;
        zone.publish(&req.name, target, &req.value)
            .await
            .map_err(HookError::Zone)?;
        events.emit(|| Event::Published {
            name: req.name.identifier.clone(),
            target: target.clone(),
        });
        self.wait_served(target, &req.value, req.timeout, Duration::from_millis(500))
            .await
    }
}

/// Removes `value` from `target` (acme-dns has no delete: the value ages out).
async fn remove(
    zone: &dyn ValidationZone,
    name: &InputName,
    target: &Name,
    value: &str,
) -> Result<(), HookError> {
    zone.remove(name, target, value)
        .await
        .map_err(HookError::Zone)
}

impl<T: Transport> Run<T> {
    /// Polls every authoritative server of `target`'s zone until each serves `value`.
    async fn wait_served(
        &self,
        target: &Name,
        value: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Vec<String>, HookError> {
        let deadline = Instant::now() + timeout;
        let run = self;
        let walk = run.walker().zone_of(target.clone()).await;
        let servers = walk.zone.servers.clone();
        if servers.is_empty() {
            return Err(HookError::NoServers {
                target: target.clone(),
            });
        }
        let t = run.walker().transport().clone();
        let q = Question::new(target.clone(), RecordType::TXT);
        let mut seen = vec![false; servers.len()];
        loop {
            for (i, s) in servers.iter().enumerate() {
                if seen[i] {
                    continue;
                }
                let ex = t.ask(s.addr, &q, QueryFlags::authoritative()).await;
                seen[i] = serves_token(&ex, target, value);
            }
            if seen.iter().all(|s| *s) {
                return Ok(servers
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.addr))
                    .collect());
            }
            if Instant::now() >= deadline {
                let missing: Vec<String> = servers
                    .iter()
                    .zip(&seen)
                    .filter(|(_, s)| !**s)
                    .map(|(s, _)| format!("{} ({})", s.name, s.addr))
                    .collect();
                return Err(HookError::NotServed {
                    target: target.clone(),
                    secs: timeout.as_secs(),
                    servers: missing.join(", "),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::write::testdata::rfc2136_plan;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn reads_certbot_variables() {
        assert_eq!(from_env(env(&[]), false).unwrap_err(), HookError::NoDomain);
        assert_eq!(
            from_env(env(&[("CERTBOT_DOMAIN", "www.example.com")]), true).unwrap_err(),
            HookError::NoValidation
        );
        let (n, v) = from_env(
            env(&[
                ("CERTBOT_DOMAIN", "example.com"),
                ("CERTBOT_VALIDATION", "abc"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(n.identifier, "example.com");
        assert_eq!(v.as_deref(), Some("abc"));
        assert!(matches!(
            from_env(env(&[("CERTBOT_DOMAIN", "a..b")]), false),
            Err(HookError::BadDomain(_))
        ));
    }

    /// CERTBOT_VALIDATION must be 43 characters of base64url (main took anything).
    #[test]
    fn the_validation_value_is_43_characters_of_base64url() {
        let good = "gfj9Xq-Rm_aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8hJ";
        assert_eq!(good.len(), 43);
        assert!(check_validation(good).is_ok());
        for bad in [
            "abc",
            "",
            &good[..42],
            &format!("{good}A"),
            "gfj9Xq+Rm/aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8hJ",
            "gfj9Xq-Rm_aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8h=",
            "gfj9Xq-Rm_aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8h\"",
        ] {
            let e = check_validation(bad).unwrap_err();
            assert!(matches!(e, HookError::BadValidation { .. }), "{bad}");
            assert!(!e.to_string().contains(bad) || bad.is_empty(), "{e}");
        }
    }

    fn request(name: &str, value: &str) -> HookRequest {
        HookRequest {
            plan: rfc2136_plan(),
            plan_shown: "/x/plan.toml".into(),
            name: parse_input(name).unwrap(),
            value: value.into(),
            timeout: Duration::from_secs(1),
        }
    }

    /// Both hooks are engine calls that check their input before any network work: a
    /// name outside the plan, a value that is not DNS-01's, a zone that cannot be opened
    /// (here: its key file is missing) are usage errors (exit 2), in that order.
    #[tokio::test]
    async fn both_hooks_check_the_plan_the_value_and_the_zone_first() {
        let engine = crate::engine::Engine::new(crate::model::config::Config::defaults());
        let (cancel, events) = (CancellationToken::new(), EventSink::none());
        let good = "gfj9Xq-Rm_aM8dYh2nK0pL5sT7uV3wX1yZ4bC6eF8hJ";
        for auth in [true, false] {
            let run = |req: HookRequest| {
                let (engine, cancel, events) = (engine.clone(), cancel.clone(), events.clone());
                async move {
                    if auth {
                        engine.hook_auth(&req, &cancel, &events).await.map(|_| ())
                    } else {
                        engine
                            .hook_cleanup(&req, &cancel, &events)
                            .await
                            .map(|_| ())
                    }
                }
            };
            let e = run(request("other.example.org", "bad")).await.unwrap_err();
            assert!(
                matches!(e, HookError::NotInPlan { .. }) && e.is_usage(),
                "{e}"
            );
            let e = run(request("example.com", "bad")).await.unwrap_err();
            assert!(
                matches!(e, HookError::BadValidation { .. }) && e.is_usage(),
                "{e}"
            );
            let e = run(request("example.com", good)).await.unwrap_err();
            assert!(matches!(e, HookError::BadZone(_)) && e.is_usage(), "{e}");
        }
        let cancelled = HookError::Cancelled {
            target: Name::from_ascii("x.acme.lab."),
            removed: true,
        };
        assert!(!cancelled.is_usage());
    }

    #[test]
    fn finds_the_target_or_says_the_name_is_not_planned() {
        let plan = rfc2136_plan();
        let n = parse_input("example.com").unwrap();
        assert_eq!(target(&plan, "p", &n).unwrap(), plan.names[1].target);
        let other = parse_input("other.example.org").unwrap();
        let e = target(&plan, "/x/plan.toml", &other).unwrap_err();
        assert!(
            e.to_string().contains("other.example.org") && e.to_string().contains("/x/plan.toml")
        );
    }
}

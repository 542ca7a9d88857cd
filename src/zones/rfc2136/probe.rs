//! The scope probe: whether a TSIG key can write more than the TXT records it is meant
//! for (an A record in its zone, removed again at once).

use super::update::{run, UpdateReport};
use super::TsigKey;
use crate::dns::types::{Name, RecordType};
use crate::dns::{Rcode, TsigError};
use crate::zones::update::{UpdateOp, UpdateOutcome};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// What the scope probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeVerdict {
    /// The server refused the A record: the key cannot write other types.
    Scoped,
    /// The server accepted the A record: the key can write more than TXT.
    Overprivileged,
    /// No clear answer (timeout, wrong secret, clocks, ...): see the attempt's explanation.
    Inconclusive,
}

/// The result of [`probe_scope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeReport {
    pub probe_owner: Name,
    pub verdict: ScopeVerdict,
    /// `verdict == Overprivileged` (the caller turns it into `TSIG_OVERPRIVILEGED`).
    pub overprivileged: bool,
    /// The attempt to add the A record.
    pub attempt: UpdateReport,
    /// When the A record was accepted: the removal right after it.
    pub cleanup: Option<UpdateReport>,
}

impl ScopeReport {
    /// The probe record was accepted and could not be removed again.
    pub fn left_behind(&self) -> bool {
        self.cleanup.as_ref().is_some_and(|c| !c.applied())
    }

    pub fn explain(&self) -> String {
        let key = &self.attempt.key_name;
        let zone = &self.attempt.result.zone;
        match self.verdict {
            ScopeVerdict::Scoped => format!(
                "key {key} is scoped: the server refused an A record at {} ({})",
                self.probe_owner,
                self.attempt.label()
            ),
            ScopeVerdict::Overprivileged => {
                let mut s = format!(
                    "key {key} is over-privileged: the server accepted an A record at {} in {zone}; \
                     a stolen key could change any record there. Fix: restrict the key to TXT \
                     updates (knot: `acl: update-type: TXT`; BIND: `update-policy {{ grant {key} zonesub TXT; }};`)",
                    self.probe_owner
                );
                match &self.cleanup {
                    Some(c) if c.applied() => s.push_str("; the probe record was removed again"),
                    Some(c) => s.push_str(&format!(
                        "; WARNING: the probe record could not be removed: {}",
                        c.explain()
                    )),
                    None => {}
                }
                s
            }
            ScopeVerdict::Inconclusive => format!(
                "the scope of key {key} is unknown: {}",
                self.attempt.explain()
            ),
        }
    }
}

/// Tries to add an A record `acme-delegate-scope-probe-<random>.<zone>` 127.0.0.1, which a
/// key meant for ACME challenges should not be allowed to write. If the server takes it,
/// it is removed again at once and the key is reported over-privileged.
///
/// Run it after a successful [`publish_txt`](super::publish_txt) with the same key: on
/// its own, a BADKEY cannot tell an ACL denial (scoped) from an unknown key name.
pub async fn probe_scope(
    server: SocketAddr,
    zone: &Name,
    key: &TsigKey,
    timeout: Duration,
) -> ScopeReport {
    let probe_owner = zone.prepend(&format!(
        "acme-delegate-scope-probe-{:016x}",
        rand::random::<u64>()
    ));
    let op = UpdateOp::AddA {
        owner: probe_owner.clone(),
        addr: Ipv4Addr::LOCALHOST,
        ttl: 60,
    };
    let attempt = run(server, zone, op, "add A (scope probe)", key, timeout).await;
    let (verdict, cleanup) = match attempt.outcome() {
        UpdateOutcome::Applied => {
            let del = UpdateOp::DeleteRrset {
                owner: probe_owner.clone(),
                rtype: RecordType::A,
            };
            let c = run(server, zone, del, "delete A (scope probe)", key, timeout).await;
            (ScopeVerdict::Overprivileged, Some(c))
        }
        // A reply we cannot trust might still have been applied: clean up to be safe.
        UpdateOutcome::BadReplySignature => {
            let del = UpdateOp::DeleteRrset {
                owner: probe_owner.clone(),
                rtype: RecordType::A,
            };
            let c = run(server, zone, del, "delete A (scope probe)", key, timeout).await;
            (ScopeVerdict::Inconclusive, Some(c))
        }
        UpdateOutcome::Rejected {
            rcode, tsig_error, ..
        } => match (*rcode, *tsig_error) {
            // Denied by the ACL / update-policy (knot: NOTAUTH + BADKEY; BIND: REFUSED).
            (_, Some(TsigError::BadKey)) | (Rcode::Refused, None) | (Rcode::NotAuth, None) => {
                (ScopeVerdict::Scoped, None)
            }
            _ => (ScopeVerdict::Inconclusive, None),
        },
        UpdateOutcome::Timeout | UpdateOutcome::Network(_) => (ScopeVerdict::Inconclusive, None),
    };
    ScopeReport {
        probe_owner,
        overprivileged: verdict == ScopeVerdict::Overprivileged,
        verdict,
        attempt,
        cleanup,
    }
}

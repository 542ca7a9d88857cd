//! One signed update (publish, remove or clear the TXT value) and its report, with the
//! words that explain a refusal and its fix.

use super::TsigKey;
use crate::dns::outcome::{rcode_name, tsig_error_name};
use crate::dns::types::{Name, RecordType};
use crate::dns::{Rcode, TsigError};
use crate::zones::update::{self, UpdateOp, UpdateOutcome, UpdateRequest, UpdateResult};
use std::net::SocketAddr;
use std::time::Duration;

/// What came of one update, with the words to explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateReport {
    /// `add TXT`, `delete TXT`, `add A (scope probe)`, ...
    pub action: String,
    pub owner: Name,
    pub key_name: Name,
    pub result: UpdateResult,
}

impl UpdateReport {
    pub fn outcome(&self) -> &UpdateOutcome {
        &self.result.outcome
    }

    /// The server applied the update (and its reply verified).
    pub fn applied(&self) -> bool {
        self.result.outcome == UpdateOutcome::Applied
    }

    /// A short label: `NOERROR`, `NOTAUTH/BADKEY`, `BADSIG`, `REFUSED`, `TIMEOUT`, ...
    pub fn label(&self) -> String {
        match &self.result.outcome {
            UpdateOutcome::Applied => "NOERROR".into(),
            UpdateOutcome::Rejected {
                rcode, tsig_error, ..
            } => match tsig_error {
                Some(e) => format!("{}/{}", rcode_name(*rcode), tsig_error_name(*e)),
                None => rcode_name(*rcode),
            },
            UpdateOutcome::Timeout => "TIMEOUT".into(),
            UpdateOutcome::Network(_) => "NETWORK".into(),
            UpdateOutcome::BadReplySignature => "BAD-REPLY-SIGNATURE".into(),
        }
    }

    /// What happened, why, and the fix, in words.
    pub fn explain(&self) -> String {
        let r = &self.result;
        let zone = &r.zone;
        let key = &self.key_name;
        let server = r.server;
        let what = format!(
            "{} {} in zone {} at {}",
            self.action, self.owner, zone, server
        );
        let (cause, fix): (String, String) = match &r.outcome {
            UpdateOutcome::Applied => {
                return format!("{what}: applied (NOERROR, reply signed by key {key})")
            }
            UpdateOutcome::Timeout => (
                format!("no reply over TCP within the timeout ({} ms)", r.elapsed.as_millis()),
                format!("check that {server} is the zone's primary and that TCP port {} is reachable from here", server.port()),
            ),
            UpdateOutcome::Network(e) => (
                format!("network error: {e}"),
                format!("check the server address {server} and that it listens on TCP"),
            ),
            UpdateOutcome::BadReplySignature => (
                format!("the reply's TSIG does not verify with key {key} (or a NOERROR reply was not signed), so it cannot be trusted"),
                "check that nothing between here and the server rewrites DNS, and that the server signs replies with the same key".into(),
            ),
            UpdateOutcome::Rejected {
                rcode, tsig_error, ..
            } => match (*rcode, *tsig_error) {
                (_, Some(TsigError::BadSig)) => (
                    format!("BADSIG: the server knows key {key} but the signature does not match: the secret (or the algorithm) is wrong"),
                    format!("copy the secret of {key} again from the server's configuration and check the algorithm ({})", "hmac-sha256/384/512"),
                ),
                (_, Some(TsigError::BadKey)) => (
                    format!("BADKEY: the key name {key} is unknown to the server, or the server's ACL / update-policy does not allow this key to update this zone or this record type (knot answers NOTAUTH with TSIG error BADKEY for both)"),
                    format!("check that the server has a key named exactly {key} with the same algorithm, and that its ACL / update-policy grants {key} updates of this type in {zone}"),
                ),
                (_, Some(TsigError::BadTime)) => match r.clock_skew_secs() {
                    Some(s) => (
                        format!("BADTIME: the clocks of this host and the server differ by {} s (the server is {}; allowed: {} s)", s.abs(), if s > 0 { "ahead" } else { "behind" }, update::FUDGE),
                        "synchronise the clocks (NTP) on this host and on the server".into(),
                    ),
                    None => (
                        "BADTIME: the clocks of this host and the server differ by more than the allowed fudge".into(),
                        "synchronise the clocks (NTP) on this host and on the server".into(),
                    ),
                },
                (_, Some(e)) => (
                    format!("the server refused the TSIG with error {}", tsig_error_name(e)),
                    "check the key's name, algorithm and secret against the server's configuration".into(),
                ),
                (Rcode::NotAuth, None) => (
                    format!("NOTAUTH: the server is not authoritative for {zone}, or {zone} is not the zone that holds the name"),
                    format!("send the update to a primary server of the zone, and give the zone the name really belongs to (the owner of the SOA found for {})", self.owner),
                ),
                (Rcode::Refused, None) => (
                    format!("REFUSED: the server's ACL / update-policy forbids this update by key {key}"),
                    format!("grant {key} updates of this type in {zone} in the server's ACL / update-policy"),
                ),
                (Rcode::NotZone, None) => (
                    format!("NOTZONE: {} is not inside the zone {zone}", self.owner),
                    format!("use the zone that contains {} (the owner of its SOA)", self.owner),
                ),
                (Rcode::NotImp, None) => (
                    "NOTIMP: the server does not take dynamic updates (or not for this zone)".into(),
                    "enable RFC 2136 updates for the zone on its primary server, or send to the primary".into(),
                ),
                (Rcode::ServFail, None) => (
                    "SERVFAIL: the server failed to apply the update".into(),
                    "look at the server's log (zone not loaded, journal or signing problem)".into(),
                ),
                (rc, None) => (
                    format!("the server answered {}", rcode_name(rc)),
                    "look at the server's log".into(),
                ),
            },
        };
        format!("{what}: {cause}. Fix: {fix}.")
    }
}

pub(super) async fn run(
    server: SocketAddr,
    zone: &Name,
    op: UpdateOp,
    action: &str,
    key: &TsigKey,
    timeout: Duration,
) -> UpdateReport {
    let owner = op.owner().clone();
    let ops = [op];
    let req = UpdateRequest {
        server,
        zone,
        ops: &ops,
        key: key.wire(),
        timeout,
        sign_time: None,
    };
    UpdateReport {
        action: action.into(),
        owner,
        key_name: key.name.clone(),
        result: update::send_update(&req).await,
    }
}

/// An idempotent deletion to send if an update may have been applied but its caller never
/// learnt how it ended: a task cancelled (dropped) while the update was in flight (a
/// signal, Esc in the TUI) spawns it on drop. [`UndoOnDrop::disarm`] once the outcome is
/// known and handled.
pub struct UndoOnDrop {
    undo: Option<(SocketAddr, Name, UpdateOp, TsigKey, Duration)>,
}

impl UndoOnDrop {
    /// Arms the deletion `undo` of `zone` at `server`.
    pub(crate) fn arm(
        server: SocketAddr,
        zone: &Name,
        undo: UpdateOp,
        key: &TsigKey,
        timeout: Duration,
    ) -> Self {
        UndoOnDrop {
            undo: Some((server, zone.clone(), undo, key.clone(), timeout)),
        }
    }

    /// The outcome is known: nothing to undo on drop.
    pub fn disarm(mut self) {
        self.undo = None;
    }
}

impl Drop for UndoOnDrop {
    fn drop(&mut self) {
        let Some((server, zone, op, key, timeout)) = self.undo.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let task = rt.spawn(async move {
                let r = run(
                    server,
                    &zone,
                    op,
                    "delete (cleanup after a cancellation)",
                    &key,
                    timeout,
                )
                .await;
                tracing::debug!(outcome = %r.label(), "cleanup of a cancelled update");
            });
            pending_cleanups().push(task);
        }
    }
}

/// The deletions spawned by [`UndoOnDrop`] that may still be running. A face that exits
/// right after a cancellation (a signal during `plan`, Esc then `q` in the TUI) waits for
/// them with [`finish_cleanups`]: a process that ends drops its spawned tasks, and the
/// record would stay in the user's zone.
fn pending_cleanups() -> std::sync::MutexGuard<'static, Vec<tokio::task::JoinHandle<()>>> {
    static PENDING: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> =
        std::sync::Mutex::new(Vec::new());
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits, at most `limit` in all, for the deletions that cancelled updates left running
/// (each is also bounded by its own update timeout). Returns how many were still running
/// when `limit` ran out (0: every one finished).
pub async fn finish_cleanups(limit: Duration) -> usize {
    let mut tasks: Vec<_> = std::mem::take(&mut *pending_cleanups());
    let all = async {
        for t in tasks.iter_mut() {
            let _ = t.await;
        }
    };
    let _ = tokio::time::timeout(limit, all).await;
    tasks.iter().filter(|t| !t.is_finished()).count()
}

/// Whether an update whose report this is may have been applied all the same: it timed
/// out, failed on the network, or its reply did not verify. The deletion is then sent.
pub fn maybe_applied(r: &UpdateReport) -> bool {
    matches!(
        r.outcome(),
        UpdateOutcome::Applied
            | UpdateOutcome::Timeout
            | UpdateOutcome::Network(_)
            | UpdateOutcome::BadReplySignature
    )
}

/// Adds `value` to the TXT rrset at `owner` in `zone`.
pub async fn publish_txt(
    server: SocketAddr,
    zone: &Name,
    owner: &Name,
    value: &str,
    ttl: u32,
    key: &TsigKey,
    timeout: Duration,
) -> UpdateReport {
    let op = UpdateOp::AddTxt {
        owner: owner.clone(),
        value: value.into(),
        ttl,
    };
    run(server, zone, op, "add TXT", key, timeout).await
}

/// Deletes `value` from the TXT rrset at `owner` (the other values stay).
pub async fn remove_txt(
    server: SocketAddr,
    zone: &Name,
    owner: &Name,
    value: &str,
    key: &TsigKey,
    timeout: Duration,
) -> UpdateReport {
    let op = UpdateOp::DeleteTxt {
        owner: owner.clone(),
        value: value.into(),
    };
    run(server, zone, op, "delete TXT", key, timeout).await
}

/// Deletes the whole TXT rrset at `owner`.
pub async fn clear_txt(
    server: SocketAddr,
    zone: &Name,
    owner: &Name,
    key: &TsigKey,
    timeout: Duration,
) -> UpdateReport {
    let op = UpdateOp::DeleteRrset {
        owner: owner.clone(),
        rtype: RecordType::TXT,
    };
    run(server, zone, op, "delete TXT rrset", key, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: UpdateOutcome, signed_at: u64) -> UpdateReport {
        UpdateReport {
            action: "add TXT".into(),
            owner: Name::from_ascii("x-label.acme.lab."),
            key_name: Name::from_ascii("acme-update."),
            result: UpdateResult {
                server: "127.0.0.12:53".parse().unwrap(),
                zone: Name::from_ascii("acme.lab."),
                elapsed: Duration::from_millis(3),
                signed_at,
                outcome,
            },
        }
    }

    fn rejected(rcode: u16, tsig_error: Option<u16>, server_time: Option<u64>) -> UpdateOutcome {
        UpdateOutcome::Rejected {
            rcode: rcode.into(),
            tsig_error: tsig_error.map(TsigError::from),
            reply_signed: false,
            server_time,
        }
    }

    #[test]
    fn explanations() {
        let e = report(rejected(9, None, None), 0).explain();
        assert!(e.contains("not authoritative") && e.contains("Fix:"), "{e}");
        let r = report(rejected(9, Some(17), None), 0);
        assert_eq!(r.label(), "NOTAUTH/BADKEY");
        assert!(r.explain().contains("unknown to the server") && r.explain().contains("ACL"));
        assert!(report(rejected(9, Some(16), None), 0)
            .explain()
            .contains("secret"));
        let r = report(rejected(9, Some(18), Some(1_000_123)), 1_000_000);
        assert_eq!(r.result.clock_skew_secs(), Some(123));
        assert!(r.explain().contains("differ by 123 s"), "{}", r.explain());
        assert!(report(rejected(5, None, None), 0)
            .explain()
            .contains("update-policy"));
        assert!(report(rejected(10, None, None), 0)
            .explain()
            .contains("not inside the zone"));
        assert!(report(UpdateOutcome::Applied, 0).applied());
    }

    /// A network failure reads exactly as when it was a string: the explanation names
    /// the step, the server and the OS's message.
    #[test]
    fn a_network_failure_explains_as_before() {
        let server = "127.0.0.12:53".parse().unwrap();
        let old = crate::dns::tcp::TcpError::Connect {
            server,
            source: std::io::Error::from_raw_os_error(111),
        };
        let old_text = old.to_string();
        let r = report(UpdateOutcome::Network(old.into()), 0);
        assert_eq!(r.label(), "NETWORK");
        assert_eq!(
            r.explain(),
            format!("add TXT x-label.acme.lab. in zone acme.lab. at 127.0.0.12:53: network error: {old_text}. Fix: check the server address 127.0.0.12:53 and that it listens on TCP.")
        );
        assert!(
            old_text.ends_with("over TCP: Connection refused (os error 111)"),
            "{old_text}"
        );
    }
}

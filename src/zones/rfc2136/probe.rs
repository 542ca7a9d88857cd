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
    let del = UpdateOp::DeleteRrset {
        owner: probe_owner.clone(),
        rtype: RecordType::A,
    };
    // Cancelled while the A record is in flight: it may be applied, so delete it anyway.
    let guard = super::update::UndoOnDrop::arm(server, zone, del, key, timeout);
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
        // No answer: the A record may have been applied all the same; the deletion is
        // idempotent, so it is always sent.
        UpdateOutcome::Timeout | UpdateOutcome::Network(_) => {
            let del = UpdateOp::DeleteRrset {
                owner: probe_owner.clone(),
                rtype: RecordType::A,
            };
            let c = run(server, zone, del, "delete A (scope probe)", key, timeout).await;
            (ScopeVerdict::Inconclusive, Some(c))
        }
    };
    guard.disarm();
    ScopeReport {
        probe_owner,
        overprivileged: verdict == ScopeVerdict::Overprivileged,
        verdict,
        attempt,
        cleanup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Message;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A server that reads updates over TCP and never answers; each update's records (as
    /// `owner class type`) go to the channel.
    async fn silent_server() -> (
        SocketAddr,
        tokio::sync::mpsc::UnboundedReceiver<Vec<String>>,
    ) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut len = [0u8; 2];
                    if s.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
                    s.read_exact(&mut buf).await.unwrap();
                    let m = Message::from_vec(&buf).unwrap();
                    let recs = m
                        .authorities
                        .iter()
                        .map(|r| format!("{} {} {}", r.name, r.dns_class, r.record_type()))
                        .collect();
                    let _ = tx.send(recs);
                    tokio::time::sleep(Duration::from_secs(30)).await; // never answers
                    drop(s);
                });
            }
        });
        (addr, rx)
    }

    fn key() -> TsigKey {
        TsigKey::parse_kdig("hmac-sha256:acme-update:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0").unwrap()
    }

    /// The A record of the scope probe timed out: it may have been applied, so the
    /// deletion is sent anyway (main sent nothing and could leave `A 127.0.0.1` behind).
    #[tokio::test]
    async fn a_probe_that_timed_out_is_deleted_anyway() {
        let (addr, mut rx) = silent_server().await;
        let zone = Name::from_ascii("acme.example.test");
        let r = probe_scope(addr, &zone, &key(), Duration::from_millis(300)).await;
        assert_eq!(r.verdict, ScopeVerdict::Inconclusive);
        let add = rx.recv().await.unwrap();
        assert!(add[0].ends_with("IN A"), "{add:?}");
        let del = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the deletion is sent")
            .unwrap();
        assert!(del[0].ends_with("ANY A"), "{del:?}");
        assert_eq!(
            add[0].split(' ').next(),
            del[0].split(' ').next(),
            "the same owner"
        );
    }

    /// A probe cancelled while its A record is in flight (Esc in the TUI, a signal) still
    /// sends the deletion.
    #[tokio::test]
    async fn a_cancelled_probe_still_sends_the_deletion() {
        let (addr, mut rx) = silent_server().await;
        let zone = Name::from_ascii("acme.example.test");
        let k = key();
        let probe =
            tokio::spawn(
                async move { probe_scope(addr, &zone, &k, Duration::from_secs(20)).await },
            );
        let add = rx.recv().await.unwrap();
        assert!(add[0].ends_with("IN A"), "{add:?}");
        probe.abort();
        let del = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the deletion is sent")
            .unwrap();
        assert!(del[0].ends_with("ANY A"), "{del:?}");
    }

    /// The RFC 2136 write probe of `plan` (and of the TUI's setup), cancelled while its
    /// TXT is in flight (Esc aborts the task): the deletion is still sent (main left the
    /// probe TXT in the user's zone).
    #[tokio::test]
    async fn a_cancelled_write_probe_still_sends_the_deletion() {
        let (addr, mut rx) = silent_server().await;
        let dir = std::env::temp_dir().join(format!("ad-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("k.key");
        std::fs::write(
            &key_file,
            "key \"acme-update\" {\n algorithm hmac-sha256;\n secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n",
        )
        .unwrap();
        let spec = crate::model::plan::ZoneSpec::Rfc2136 {
            server: addr.to_string(),
            zone: Name::from_ascii("acme.example.test"),
            key_file,
        };
        let zone = crate::zones::kinds::open(&spec, Duration::from_secs(20)).unwrap();
        let task = tokio::spawn(async move { zone.usable().await });
        let add = rx.recv().await.unwrap();
        assert!(add[0].ends_with("IN TXT"), "{add:?}");
        task.abort();
        let del = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the deletion is sent")
            .unwrap();
        assert!(del[0].ends_with("NONE TXT"), "{del:?}");
        assert_eq!(add[0].split(' ').next(), del[0].split(' ').next());
        std::fs::remove_dir_all(dir).ok();
    }

    /// A face that exits right after a cancellation (a signal during `plan`) waits for the
    /// deletion the cancelled update spawned: a process that ends drops its spawned tasks,
    /// and the record would stay in the user's zone.
    #[tokio::test]
    async fn finish_cleanups_waits_for_the_deletion_a_cancellation_spawned() {
        let (addr, mut rx) = silent_server().await;
        let zone = Name::from_ascii("acme.example.test");
        let owner = Name::from_ascii("cleanup-wait.acme.example.test");
        let del = UpdateOp::DeleteRrset {
            owner,
            rtype: RecordType::A,
        };
        let guard = super::super::update::UndoOnDrop::arm(
            addr,
            &zone,
            del,
            &key(),
            Duration::from_millis(300),
        );
        drop(guard);
        // Nothing has run yet on this one-thread runtime: without the wait, the process
        // would end here with the deletion never sent.
        assert!(rx.try_recv().is_err());
        super::super::update::finish_cleanups(Duration::from_secs(3)).await;
        let sent = rx
            .try_recv()
            .expect("the deletion was sent before finish_cleanups returned");
        assert!(sent[0].ends_with("ANY A"), "{sent:?}");
    }
}

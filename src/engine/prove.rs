//! `prove`: publish a random token at each name's target, wait until **every**
//! authoritative server of the target's zone serves it, and only then ask the resolvers
//! (an early lookup would make them cache NXDOMAIN), until each sees the token through the
//! CNAME at `_acme-challenge.<name>`. The token is removed at the end, on error and on
//! cancellation (Ctrl-C).

use crate::dns::{Exchange, Name, Outcome, QueryFlags, Question, RecordType, Transport};
use crate::engine::chain::End;
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, Event, EventSink};
use crate::engine::setup::{open_zone, SetupError};
use crate::engine::views::{ask_resolver, ResolverView, VantageKind};
use crate::findings::rules::chain::{observe, outcome_text};
use crate::findings::Code;
use crate::findings::Finding;
use crate::model::name::InputName;
use crate::model::plan::ZoneSpec;
use crate::zones::kinds::ValidationZone;
use serde::Serialize;
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of one proof.
#[derive(Clone, Debug)]
pub struct ProveOptions {
    /// The whole proof is bounded by this.
    pub timeout: Duration,
    /// Pause between polling rounds.
    pub poll: Duration,
    /// The removal of every test TXT at the end, all at once, is bounded by this.
    pub cleanup: Duration,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions {
            timeout: Duration::from_secs(120),
            poll: Duration::from_millis(250),
            cleanup: Duration::from_secs(15),
        }
    }
}

/// What to prove: each name with its target, through the plan's validation zone.
#[derive(Clone)]
pub struct ProveRequest {
    /// The plan's validation zone: the engine opens it (key files, account stores).
    pub zone: ZoneSpec,
    pub names: Vec<(InputName, Name)>,
    pub options: ProveOptions,
    /// A second signal: stops the cleanup too (never, unless cancelled).
    pub abort: CancellationToken,
}

/// When one vantage point saw the token.
#[derive(Clone, Debug, Serialize)]
pub struct VantageProof {
    pub vantage: String,
    pub kind: VantageKind,
    pub server: String,
    /// Milliseconds after publication; None: never within the timeout.
    pub seen_after_ms: Option<u64>,
    /// The last answer, when not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NameProof {
    pub name: String,
    pub challenge: Name,
    pub target: Name,
    pub ok: bool,
    pub published: bool,
    /// The test TXT was deleted again (false for acme-dns, which cannot delete: see
    /// `cleanup`); false too when its removal failed, ran out of time or was stopped.
    pub removed: bool,
    /// What became of the test TXT: `removed`, `stays-until-replaced` (acme-dns: the
    /// next two updates replace it), `not-removed` (delete it by hand), `not-published`.
    pub cleanup: Cleanup,
    /// When it may still be published: the command that removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_behind: Option<String>,
    pub vantages: Vec<VantageProof>,
    pub findings: Vec<Finding>,
}

/// What became of a name's test TXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cleanup {
    NotPublished,
    Removed,
    /// acme-dns cannot delete a record: the value stays until the next two updates.
    StaysUntilReplaced,
    NotRemoved,
}

impl std::fmt::Display for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.words())
    }
}

impl Cleanup {
    /// How `prove` and the TUI say it.
    pub fn words(self) -> &'static str {
        match self {
            Cleanup::NotPublished => "test TXT not published",
            Cleanup::Removed => "test TXT removed",
            Cleanup::StaysUntilReplaced => crate::zones::acme_dns::VALUE_STAYS,
            Cleanup::NotRemoved => "test TXT NOT removed: delete it by hand",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ProveReport {
    pub version: u32,
    pub names: Vec<NameProof>,
}

/// A token like an ACME key authorization digest: 43 characters of base64url.
fn token() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..43)
        .map(|_| A[rand::random::<u8>() as usize % 64] as char)
        .collect()
}

fn has_token(reply_values: &[String], token: &str) -> bool {
    let quoted = format!("\"{token}\"");
    reply_values
        .iter()
        .any(|v| v == &quoted || v.contains(&quoted))
}

/// The TXT values at `target` in an authoritative server's answer, as text.
fn txt_values(ex: &Exchange, target: &Name) -> Vec<String> {
    ex.outcome
        .reply()
        .map(|r| {
            r.answers_of(target, RecordType::TXT)
                .iter()
                .map(|a| a.data.to_text())
                .collect()
        })
        .unwrap_or_default()
}

/// The server's answer holds the TXT value `token` at `target`.
pub(crate) fn serves_token(ex: &Exchange, target: &Name, token: &str) -> bool {
    has_token(&txt_values(ex, target), token)
}

impl ProveReport {
    /// Exit status of `prove`: 0 every vantage point saw every token, 1 some never did
    /// (or publishing failed), 3 nothing could be asked.
    pub fn exit_code(&self) -> i32 {
        if self.names.iter().all(|n| n.ok) {
            0
        } else {
            1
        }
    }
}

/// The tokens whose update may have been applied (sent, whatever its answer was), so the
/// idempotent deletion is always sent for them.
type Published = Arc<Mutex<Vec<(InputName, Name, String)>>>;

/// How the removal of one token ended: removed, failed (why), or not known (the cleanup
/// ran out of time or was stopped).
type Removal = Option<Result<(), crate::zones::kinds::ZoneError>>;

impl<T: Transport> Run<T> {
    /// Proves every (name, target) pair of `req` in this run, telling `events` what it
    /// publishes, who sees it, what it removes; `cancel` (e.g. Ctrl-C) stops early — the
    /// tokens published so far are removed either way. `req.abort` (a second signal)
    /// stops the cleanup too: the records left are then in the report (`left_behind`,
    /// with the command that removes each).
    ///
    /// The zone is opened first: a zone that cannot be opened, or cannot publish, is an
    /// error and nothing is published.
    pub async fn prove(
        self: &Arc<Self>,
        req: &ProveRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<ProveReport, SetupError> {
        let zone = open_zone(req.zone.clone(), self.config.timeout).await?;
        zone.publishable().map_err(SetupError::Zone)?;
        Ok(self.prove_in(zone, req, cancel, events).await)
    }

    async fn prove_in(
        self: &Arc<Self>,
        zone: Arc<dyn ValidationZone>,
        req: &ProveRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> ProveReport {
        let (zone, names, opts, abort) = (&zone, &req.names, &req.options, &req.abort);
        let published: Published = Arc::new(Mutex::new(Vec::new()));
        let work = async {
            let tasks = names.iter().map(|(n, t)| {
                let me = self.clone();
                let zone = zone.clone();
                let published = published.clone();
                let events = events.clone();
                let opts = opts.clone();
                async move {
                    me.prove_one(zone.as_ref(), n, t, &opts, &published, &events)
                        .await
                }
            });
            futures::future::join_all(tasks).await
        };
        let results = tokio::select! {
            r = work => Some(r),
            _ = cancel.cancelled() => None,
        };
        // Clean up whatever may still be published (all of it after a cancellation).
        let left: Vec<_> = std::mem::take(&mut *published.lock().unwrap());
        let deletes = zone.deletes();
        let gone = if deletes {
            Cleanup::Removed
        } else {
            Cleanup::StaysUntilReplaced
        };
        let removals = remove_all(zone.as_ref(), &left, opts.cleanup, abort, events, deletes).await;
        let cancelled = results.is_none();
        let mut names: Vec<NameProof> = match results {
            Some(r) => r,
            None => names
                .iter()
                .map(|(n, t)| NameProof {
                    name: n.identifier.clone(),
                    challenge: n.challenge.clone(),
                    target: t.clone(),
                    ok: false,
                    published: left.iter().any(|(m, _, _)| m == n),
                    removed: false,
                    cleanup: Cleanup::NotPublished,
                    left_behind: None,
                    vantages: vec![],
                    findings: vec![],
                })
                .collect(),
        };
        for p in &mut names {
            let mine: Vec<_> = left
                .iter()
                .zip(&removals)
                .filter(|((n, _, _), _)| n.identifier == p.name)
                .collect();
            let all_ok = !mine.is_empty() && mine.iter().all(|(_, r)| matches!(r, Some(Ok(()))));
            p.removed = all_ok && deletes;
            if !mine.is_empty() {
                p.cleanup = if all_ok { gone } else { Cleanup::NotRemoved };
            }
            let commands: Vec<String> = mine
                .iter()
                .filter(|(_, r)| !matches!(r, Some(Ok(()))))
                .map(|((_, t, tok), _)| zone.removal_command(t, tok))
                .collect();
            p.left_behind = (!commands.is_empty()).then(|| commands.join("\n"));
            if cancelled {
                let what = match (mine.is_empty(), all_ok) {
                    (true, _) => "no test TXT had been published",
                    (false, true) if deletes => "the test TXT records were removed",
                    (false, true) => crate::zones::acme_dns::VALUE_STAYS,
                    (false, false) => "the test TXT may still be published (see left_behind)",
                };
                p.findings.push(Finding::new(
                    Code::ProofCancelled,
                    &p.name,
                    format!("the proof was interrupted; {what}"),
                    "run `acme-delegate prove` again".into(),
                ));
            }
        }
        ProveReport { version: 1, names }
    }

    /// Publishes a token at `target`, waits for every authoritative server, then for
    /// every resolver, and says what each saw.
    async fn prove_one(
        &self,
        zone: &dyn ValidationZone,
        n: &InputName,
        target: &Name,
        opts: &ProveOptions,
        published: &Published,
        events: &EventSink,
    ) -> NameProof {
        let mut proof = NameProof {
            name: n.identifier.clone(),
            challenge: n.challenge.clone(),
            target: target.clone(),
            ok: false,
            published: false,
            removed: false,
            left_behind: None,
            cleanup: Cleanup::NotPublished,
            vantages: vec![],
            findings: vec![],
        };
        let tok = match publish_token(zone, n, target, published, events).await {
            Ok(tok) => tok,
            Err(f) => {
                proof.findings.push(f);
                return proof;
            }
        };
        proof.published = true;
        proof.cleanup = Cleanup::NotRemoved;
        let watch = Watch {
            name: n,
            target,
            tok: &tok,
            start: Instant::now(),
            opts,
            events,
        };
        // 1. every authoritative server of the target's zone
        self.authoritative_step(&watch, &mut proof).await;
        if !proof.findings.is_empty() {
            return proof;
        }
        // 2. only now the resolvers: through the CNAME, as the CA asks
        self.resolver_step(&watch, &mut proof).await;
        proof.ok = proof.findings.is_empty();
        proof
    }

    /// Waits until every authoritative server of the target's zone serves the token (or
    /// the time is up); their proofs, and a finding for each that never did.
    async fn authoritative_step(&self, w: &Watch<'_>, proof: &mut NameProof) {
        let walk = self.walker().zone_of(w.target.clone()).await;
        let servers = walk.zone.servers.clone();
        let t = self.walker().transport().clone();
        let q = Question::new(w.target.clone(), RecordType::TXT);
        let polled = w
            .poll(servers.len(), |i| {
                let (t, q, s) = (t.clone(), q.clone(), &servers[i]);
                async move {
                    let ex = t.ask(s.addr, &q, QueryFlags::authoritative()).await;
                    let seen = serves_token(&ex, w.target, w.tok)
                        .then(|| (s.name.to_string(), VantageKind::Authoritative));
                    (seen, ex)
                }
            })
            .await;
        for (i, s) in servers.iter().enumerate() {
            let (seen, last) = (polled.seen[i], polled.last[i].as_ref());
            proof.vantages.push(VantageProof {
                vantage: s.name.to_string(),
                kind: VantageKind::Authoritative,
                server: s.addr.to_string(),
                seen_after_ms: seen,
                last_outcome: seen.is_none().then(|| {
                    last.map(|e| outcome_text(&e.outcome))
                        .unwrap_or_else(|| "not asked".into())
                }),
            });
            if seen.is_none() {
                let mut f = Finding::new(
                    Code::ProofNotPublished,
                    &w.name.identifier,
                    format!(
                        "{} ({}) still does not serve the test TXT at {} after {} s (last answer: {}): the update did not reach this server",
                        s.name,
                        s.addr,
                        w.target,
                        w.opts.timeout.as_secs(),
                        last.map(|e| outcome_text(&e.outcome)).unwrap_or_default()
                    ),
                    format!(
                        "make the primary NOTIFY and transfer to every server of {} (check `also-notify`/`notify` and the secondary's logs)",
                        walk.zone.apex
                    ),
                );
                if let Some(e) = last {
                    f = f.observe(observe(s.name.as_str(), e));
                }
                proof.findings.push(f);
            }
        }
        if servers.is_empty() {
            proof.findings.push(Finding::new(
                Code::ProofNotPublished,
                &w.name.identifier,
                format!(
                    "no authoritative server of {}'s zone could be found from the root hints",
                    w.target
                ),
                "delegate the validation zone from its parent (NS + glue)".into(),
            ));
        }
    }

    /// Waits until every resolver sees the token through the CNAME (or the time is up);
    /// their proofs, and a finding for each that never did, with the reason.
    async fn resolver_step(&self, w: &Watch<'_>, proof: &mut NameProof) {
        let vantages = self.vantages().to_vec();
        let t = self.walker().transport().clone();
        let polled = w
            .poll(vantages.len(), |i| {
                let (t, v) = (t.clone(), &vantages[i]);
                async move {
                    let rv = ask_resolver(t.as_ref(), v, &w.name.challenge).await;
                    let ok = !rv.hops.is_empty()
                        && matches!(&rv.end, Some(End::Txt { owner, values, .. }) if owner == w.target && has_token(values, w.tok));
                    (ok.then(|| (v.name.clone(), v.kind)), rv)
                }
            })
            .await;
        for (i, v) in vantages.iter().enumerate() {
            let (seen, last) = (polled.seen[i], polled.last[i].as_ref());
            proof.vantages.push(VantageProof {
                vantage: v.name.clone(),
                kind: v.kind,
                server: v.addr.to_string(),
                seen_after_ms: seen,
                last_outcome: seen.is_none().then(|| {
                    last.map(|r| outcome_text(&r.exchange.outcome))
                        .unwrap_or_default()
                }),
            });
            let Some(rv) = last.filter(|_| seen.is_none()) else {
                continue;
            };
            let (reason, fix) = self.why_not_seen(rv, w.target, w.tok).await;
            proof.findings.push(
                Finding::new(
                    Code::ProofNotSeen,
                    &w.name.identifier,
                    format!(
                        "{} ({}) did not see the test TXT through {} within {} s: {reason}",
                        v.name,
                        v.addr,
                        w.name.challenge,
                        w.opts.timeout.as_secs()
                    ),
                    fix,
                )
                .observe(observe(&v.name, &rv.exchange)),
            );
        }
    }

    /// Why a resolver never saw the token, from its last answer.
    async fn why_not_seen(&self, rv: &ResolverView, target: &Name, tok: &str) -> (String, String) {
        let ex = &rv.exchange;
        match &ex.outcome {
            Outcome::ServFail(_) => {
                let flags = QueryFlags {
                    checking_disabled: true,
                    ..QueryFlags::recursive()
                };
                let cd = self
                    .walker()
                    .transport()
                    .ask(ex.server, &ex.question, flags)
                    .await;
                if cd.outcome.is_usable() {
                    return (
                        "DNSSEC_BOGUS: it answers SERVFAIL, and with checking disabled it answers; the target zone's signatures or DS are broken".into(),
                        "run `acme-delegate diagnose` on the name to see which zone fails validation".into(),
                    );
                }
                (
                    "SERVER_SERVFAIL: it answers SERVFAIL".into(),
                    "run `acme-delegate diagnose` on the name".into(),
                )
            }
            Outcome::Timeout => (
                "SERVER_TIMEOUT: it does not answer".into(),
                "check the resolver and the servers along the chain".into(),
            ),
            o if !o.is_usable() => (
                format!("it answers {}", outcome_text(o)),
                "run `acme-delegate diagnose` on the name".into(),
            ),
            _ => {
                let first = rv.hops.first().map(|h| h.target.clone());
                let reached: HashSet<&Name> = rv.hops.iter().map(|h| &h.target).collect();
                match (&first, &rv.end) {
                    (Some(_), _) if !reached.contains(target) => (
                        format!(
                            "CNAME_WRONG_TARGET: the chain goes to {} and never reaches {target}, where the token was published",
                            rv.hops.last().map(|h| h.target.to_string()).unwrap_or_default()
                        ),
                        format!("point the CNAME at the planned target: {} 300 IN CNAME {target}", rv.hops[0].owner),
                    ),
                    (None, Some(End::NxDomain { negative_ttl, .. } | End::NoData { negative_ttl, .. })) => (
                        format!(
                            "NEGATIVE_CACHED or CNAME_MISSING: it has no CNAME at the challenge name{}",
                            negative_ttl.map(|t| format!(" (its negative answer expires in {t} s)")).unwrap_or_default()
                        ),
                        "publish the CNAME if it is missing (`acme-delegate check`), else wait for the cache to expire".into(),
                    ),
                    (Some(_), Some(End::NxDomain { negative_ttl, .. } | End::NoData { negative_ttl, .. })) => (
                        format!(
                            "NEGATIVE_CACHED: it follows the CNAME but still serves a cached negative answer for {target}{}",
                            negative_ttl.map(|t| format!(" that expires in {t} s")).unwrap_or_default()
                        ),
                        "lower the validation zone's SOA minimum, and never look the target up before the TXT exists".into(),
                    ),
                    (Some(_), Some(End::Txt { ttl, .. })) => (
                        format!("RESOLVER_STALE: it serves an older TXT at {target} from its cache (ttl {ttl} s left), not {tok}"),
                        "lower the TXT TTL the client publishes, or wait for the cache to expire".into(),
                    ),
                    _ => ("its answer does not settle the chain".into(), "run `acme-delegate diagnose` on the name".into()),
                }
            }
        }
    }
}

/// Publishes a fresh token at `target` and remembers it for the cleanup.
async fn publish_token(
    zone: &dyn ValidationZone,
    n: &InputName,
    target: &Name,
    published: &Published,
    events: &EventSink,
) -> Result<String, Finding> {
    let send = |ev: Event| events.emit(|| ev);
    let tok = token();
    // Listed before it is sent: an update that times out, fails or is cancelled (a signal)
    // may still have been applied, and its deletion is idempotent.
    published
        .lock()
        .unwrap()
        .push((n.clone(), target.clone(), tok.clone()));
    if let Err(e) = zone.publish(n, target, &tok).await {
        send(Event::Failed {
            name: n.identifier.clone(),
            error: e.clone(),
        });
        return Err(Finding::new(
            Code::ProofPublishFailed,
            &n.identifier,
            e.message,
            e.fix,
        ));
    }
    send(Event::Published {
        name: n.identifier.clone(),
        target: target.clone(),
    });
    Ok(tok)
}

/// What one name's proof watches for, since when, until when.
struct Watch<'a> {
    name: &'a InputName,
    target: &'a Name,
    tok: &'a str,
    start: Instant,
    opts: &'a ProveOptions,
    events: &'a EventSink,
}

/// Per asked party: when it first saw the token (ms after publication), and its last
/// answer.
struct Polled<A> {
    seen: Vec<Option<u64>>,
    last: Vec<Option<A>>,
}

impl Watch<'_> {
    /// Asks parties `0..count` in turn with `ask(i)` (which says who saw the token, if
    /// it was seen), each until it has seen it, a round per `opts.poll`, until all have
    /// or the time is up.
    async fn poll<A, F, Fut>(&self, count: usize, ask: F) -> Polled<A>
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = (Option<(String, VantageKind)>, A)>,
    {
        let deadline = self.start + self.opts.timeout;
        let mut p = Polled {
            seen: vec![None; count],
            last: (0..count).map(|_| None).collect(),
        };
        loop {
            for i in 0..count {
                if p.seen[i].is_some() {
                    continue;
                }
                let (seen, answer) = ask(i).await;
                if let Some((vantage, kind)) = seen {
                    let ms = self.start.elapsed().as_millis() as u64;
                    p.seen[i] = Some(ms);
                    self.events.emit(|| Event::Seen {
                        name: self.name.identifier.clone(),
                        vantage,
                        kind,
                        ms,
                    });
                }
                p.last[i] = Some(answer);
            }
            if p.seen.iter().all(|s| s.is_some()) || Instant::now() >= deadline {
                return p;
            }
            tokio::time::sleep(self.opts.poll).await;
        }
    }
}

/// Removes every listed token at once, within `bound` and until `abort`: each one's
/// removal, in the list's order (None: not known to have ended). Tells `events` what is
/// being removed, what was, and what may be left (with the command that removes it).
async fn remove_all(
    zone: &dyn ValidationZone,
    left: &[(InputName, Name, String)],
    bound: Duration,
    abort: &CancellationToken,
    events: &EventSink,
    deletes: bool,
) -> Vec<Removal> {
    use futures::StreamExt;
    let send = |ev: Event| events.emit(|| ev);
    for (n, t, _) in left {
        send(Event::Removing {
            name: n.identifier.clone(),
            target: t.clone(),
        });
    }
    let mut out: Vec<Removal> = (0..left.len()).map(|_| None).collect();
    let mut pending: futures::stream::FuturesUnordered<_> = left
        .iter()
        .enumerate()
        .map(|(i, (n, t, tok))| async move { (i, zone.remove(n, t, tok).await) })
        .collect();
    let deadline = tokio::time::sleep(bound);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = pending.next() => match next {
                Some((i, r)) => out[i] = Some(r),
                None => break,
            },
            _ = &mut deadline => break,
            _ = abort.cancelled() => break,
        }
    }
    for ((n, t, tok), r) in left.iter().zip(&out) {
        match r {
            Some(Ok(())) if !deletes => send(Event::Left {
                name: n.identifier.clone(),
                why: Cleanup::StaysUntilReplaced,
            }),
            Some(Ok(())) => send(Event::Removed {
                name: n.identifier.clone(),
            }),
            other => {
                if let Some(Err(e)) = other {
                    send(Event::Failed {
                        name: n.identifier.clone(),
                        error: e.clone(),
                    });
                }
                send(Event::LeftBehind {
                    name: n.identifier.clone(),
                    target: t.clone(),
                    command: zone.removal_command(t, tok),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_key_authorization_digests() {
        let t = token();
        assert_eq!(t.len(), 43);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(t, token());
        assert!(has_token(&[format!("\"{t}\"")], &t));
        assert!(!has_token(&["\"other\"".into()], &t));
    }
}

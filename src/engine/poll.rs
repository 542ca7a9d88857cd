//! The live poll (`check --wait`, the TUI's poll screen): round after round until every
//! name works from every vantage point, the time is up, or the run is cancelled.
//!
//! Each round walks afresh and asks every authoritative server of every hop. A resolver
//! is asked about a name only once every authoritative server gives the right chain for
//! it: an earlier question would make the resolver cache the negative answer for the
//! zone's negative TTL, and the user would wait minutes for nothing. When a resolver
//! still serves an old or negative answer, its cell says when that answer expires (from
//! the TTL or the SOA minimum it gave) and it is not asked again before then.
//!
//! The state of each (name, vantage) cell is sent as [`Event::Cell`] when it changes;
//! when the authoritative cell changes, the findings of that round's authoritative
//! evidence follow it as [`Event::Finding`]s (so a face can explain a red cell at once).
//! The `authoritative` cell stands for every server; each server of each hop also has a
//! cell of its own, sent as [`Event::Servers`] when any of a name's changed (its own
//! fault: no answer, no AA bit, an answer unlike the others'; else the chain's state).

use crate::dns::Transport;
use crate::engine::chain::{self, Chain, End};
use crate::engine::check::{vantage_event, CheckOptions};
use crate::engine::engine::{Engine, Run};
use crate::engine::events::{CancellationToken, CellState, Event, EventSink, Reason, ServerCell};
use crate::engine::views::{ask_resolver, ResolverView, VantageKind};
use crate::findings::evidence::Step;
use crate::findings::rules::chain::{blinds, rules, NameEvidence};
use crate::findings::{Finding, Severity};
use crate::model::name::InputName;
use crate::report::{self, Report};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The vantage name of the cell that stands for every authoritative server.
pub const AUTHORITATIVE: &str = "authoritative";

/// What to poll: the names, and how.
#[derive(Clone, Debug)]
pub struct PollRequest {
    pub names: Vec<InputName>,
    pub options: PollOptions,
}

/// Options of one poll.
#[derive(Clone, Debug)]
pub struct PollOptions {
    pub check: CheckOptions,
    /// From the start of one round to the start of the next (`poll_interval_ms`).
    pub interval: Duration,
    /// The whole poll is bounded by this.
    pub timeout: Duration,
}

/// How a poll ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollEnd {
    /// Every name works from every vantage point.
    Works,
    /// The time ran out first.
    TimedOut,
    /// No name has an authoritative view from this network (`DNS_INTERCEPTED`,
    /// `AUTH_UNREACHABLE`): polling on could not change that, so it stops after one
    /// round; inconclusive.
    Blind,
    /// The token was cancelled.
    Cancelled,
}

/// The end, the number of rounds, and the last round's report (check's format).
#[derive(Clone, Debug)]
pub struct PollOutcome {
    pub end: PollEnd,
    pub rounds: u64,
    pub report: Report,
}

/// What the poll knows of one name.
struct NameState {
    input: InputName,
    /// The last round's authoritative evidence (no resolvers in it).
    auth: Option<NameEvidence>,
    /// Per vantage: its last answer, and when it came.
    views: Vec<Option<(ResolverView, SystemTime)>>,
    /// Per vantage: not asked again before this.
    hold: Vec<Option<Instant>>,
    /// Cell 0 stands for the authoritative servers, cell 1 + i for vantage i.
    cells: Vec<CellState>,
    /// Each authoritative server of each hop, as last sent.
    servers: Vec<ServerCell>,
    /// The last round could not read the authoritative view from this network.
    blind: bool,
}

impl NameState {
    fn new(input: InputName, vantages: usize) -> Self {
        NameState {
            input,
            auth: None,
            views: vec![None; vantages],
            hold: vec![None; vantages],
            cells: vec![CellState::Waiting; vantages + 1],
            servers: Vec::new(),
            blind: false,
        }
    }

    fn works(&self) -> bool {
        self.cells.iter().all(CellState::is_ok)
    }

    /// Sets a cell; an event goes out (and true comes back) when it changed.
    fn set_cell(
        &mut self,
        i: usize,
        state: CellState,
        vantage: (&str, VantageKind),
        events: &EventSink,
    ) -> bool {
        if self.cells[i] == state {
            return false;
        }
        events.emit(|| Event::Cell {
            name: self.input.identifier.clone(),
            vantage: vantage.0.to_string(),
            kind: vantage.1,
            state: state.clone(),
        });
        self.cells[i] = state;
        true
    }
}

/// Polls `names` round after round (see the module docs), each round a run of its own,
/// until every name works from every vantage point, `opts.timeout` runs out, or `cancel`.
pub(crate) async fn poll<T: Transport>(
    engine: &Arc<Engine<T>>,
    req: &PollRequest,
    cancel: &CancellationToken,
    events: &EventSink,
) -> PollOutcome {
    let (names, opts) = (&req.names, &req.options);
    events.emit(|| Event::RunStarted { names: names.len() });
    let deadline = Instant::now() + opts.timeout;
    let n_vantages = engine.vantages().len();
    let mut states: Vec<NameState> = names
        .iter()
        .map(|n| NameState::new(n.clone(), n_vantages))
        .collect();
    let mut round = 0;
    let end = loop {
        round += 1;
        let started = Instant::now();
        let run = engine.run();
        events.emit(|| Event::RoundStarted { round });
        let work = futures::future::join_all(
            states
                .iter_mut()
                .filter(|s| !s.works())
                .map(|s| run.poll_name(s, &opts.check, events)),
        );
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break PollEnd::Cancelled,
            _ = tokio::time::sleep_until(deadline.into()) => break PollEnd::TimedOut,
            _ = work => {}
        }
        let ok = states.iter().filter(|s| s.works()).count();
        events.emit(|| Event::RoundDone {
            round,
            ok,
            total: states.len(),
        });
        if ok == states.len() {
            break PollEnd::Works;
        }
        if states.iter().all(|s| s.blind) {
            break PollEnd::Blind;
        }
        let next = started + opts.interval;
        if next >= deadline {
            break PollEnd::TimedOut;
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break PollEnd::Cancelled,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
    };
    let report = final_report(&states, events);
    events.emit(|| Event::RunDone {
        total: report.names.len(),
        ok: states.iter().filter(|s| s.works()).count(),
        cancelled: end == PollEnd::Cancelled,
    });
    PollOutcome {
        end,
        rounds: round,
        report,
    }
}

impl<T: Transport> Run<T> {
    /// One round for one name: the authoritative chain, then (only when it is right) the
    /// resolvers that are due.
    async fn poll_name(&self, st: &mut NameState, opts: &CheckOptions, events: &EventSink) {
        let id = st.input.identifier.clone();
        let chain = chain::follow(self.walker(), &st.input.challenge, events, &id).await;
        let doubled = self.doubled_lookup(&st.input, &chain).await;
        let expect_target = opts
            .expect_target
            .clone()
            .or_else(|| crate::engine::check::planned_target(opts, &st.input.identifier));
        let target_doubled = self
            .target_doubled_lookup(&chain, expect_target.as_ref())
            .await;
        let ev = NameEvidence {
            observed_at: SystemTime::now(),
            input: st.input.clone(),
            chain,
            resolvers: vec![],
            not_asked: None,
            doubled,
            expect_target,
            parent_cname: None,
            parent_zone: None,
            target_doubled,
            system_client: None,
        };
        let findings = rules(&ev);
        st.blind = findings.iter().any(|f| blinds(f.code));
        let whole = whole_chain_state(&ev, &findings);
        let auth = authoritative_state(&ev, &whole);
        // A face can explain a changed authoritative cell: its findings follow the cell.
        if st.set_cell(0, auth, (AUTHORITATIVE, VantageKind::Authoritative), events) {
            events.findings(&id, &findings);
        }
        let servers = server_cells(&ev, &whole);
        if servers != st.servers {
            events.emit(|| Event::Servers {
                name: id.clone(),
                servers: servers.clone(),
            });
            st.servers = servers;
        }
        let chain = ev.chain.clone();
        st.auth = Some(ev);
        // Resolvers are asked once the authoritative view is right (no poisoning), or
        // when there is none to be had (blind): theirs is then the only view left.
        if !st.cells[0].is_ok() && !st.blind {
            return;
        }
        let now = Instant::now();
        let due: Vec<usize> = (0..st.views.len())
            .filter(|&i| st.hold[i].is_none_or(|h| h <= now))
            .filter(|&i| {
                // An answer that matched stays good while the chain is the same.
                !(st.cells[i + 1].is_ok()
                    && st.views[i]
                        .as_ref()
                        .is_some_and(|(rv, at)| resolver_state(&chain, rv, *at).0.is_ok()))
            })
            .collect();
        let transport = self.walker().transport().clone();
        let asks = due.iter().map(|&i| {
            let v = &self.vantages()[i];
            let (transport, challenge) = (transport.clone(), &st.input.challenge);
            async move { (i, ask_resolver(transport.as_ref(), v, challenge).await) }
        });
        for (i, rv) in futures::future::join_all(asks).await {
            events.emit(|| vantage_event(&id, &rv));
            let at = SystemTime::now();
            let (state, hold) = resolver_state(&chain, &rv, at);
            st.hold[i] = hold.map(|d| Instant::now() + d);
            let v = &self.vantages()[i];
            st.set_cell(i + 1, state, (&v.name, v.kind), events);
            st.views[i] = Some((rv, at));
        }
    }
}

/// The authoritative cell: Ok when every server of every hop answered authoritatively,
/// they agree, and the chain (`whole`, see [`whole_chain_state`]) is right.
fn authoritative_state(ev: &NameEvidence, whole: &CellState) -> CellState {
    let mut why = match whole {
        CellState::Wrong { why } => why.clone(),
        _ => vec![],
    };
    for step in &ev.chain.steps {
        for (ns, ex) in &step.exchanges {
            let good =
                ex.outcome.is_usable() && ex.outcome.reply().is_some_and(|r| r.authoritative);
            if !good {
                why.push(Reason::Server {
                    server: ns.clone(),
                    addr: ex.server,
                    outcome: ex.outcome.brief(),
                });
            }
        }
    }
    // A server that did not answer explains more than "no CNAME" does.
    if why.len() > 1 {
        why.retain(|w| *w != Reason::NoCname);
    }
    if why.is_empty() {
        CellState::Ok
    } else {
        CellState::Wrong { why }
    }
}

/// The chain as a whole: Ok when it reaches a target and no finding about it is an error;
/// else why not (the error codes, or `no CNAME`).
fn whole_chain_state(ev: &NameEvidence, findings: &[Finding]) -> CellState {
    let mut why: Vec<Reason> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(Reason::of)
        .collect();
    if ev.chain.hops.is_empty() && why.is_empty() {
        why.push(Reason::NoCname);
    }
    if why.is_empty() {
        CellState::Ok
    } else {
        CellState::Wrong { why }
    }
}

/// Each authoritative server of each hop of the chain: what is wrong with its own answer
/// (no usable answer, no AA bit, an answer that differs from the chain's), else the
/// state of the chain as a whole (`whole`, see [`whole_chain_state`]).
fn server_cells(ev: &NameEvidence, whole: &CellState) -> Vec<ServerCell> {
    ev.chain
        .steps
        .iter()
        .flat_map(|step| {
            step.exchanges.iter().map(move |(ns, ex)| ServerCell {
                zone: step.zone.apex.clone(),
                server: ns.clone(),
                addr: ex.server,
                state: server_state(step, &ex.outcome, whole),
            })
        })
        .collect()
}

fn server_state(step: &Step, outcome: &crate::dns::Outcome, whole: &CellState) -> CellState {
    if !outcome.is_usable() {
        return CellState::Failed {
            outcome: outcome.brief(),
        };
    }
    if !outcome.reply().is_some_and(|r| r.authoritative) {
        return CellState::Wrong {
            why: vec![Reason::Lame {
                zone: step.zone.apex.clone(),
            }],
        };
    }
    // The chain follows the first authoritative answer of the step.
    let first = step
        .exchanges
        .iter()
        .find_map(|(_, e)| chain::fingerprint(&e.outcome, Some(&step.zone.apex)));
    if step.disagree && chain::fingerprint(outcome, Some(&step.zone.apex)) != first {
        return CellState::Wrong {
            why: vec![Reason::Differs {
                question: step.question.clone(),
            }],
        };
    }
    whole.clone()
}

/// A resolver's cell from its answer at `at`, and how long not to ask it again.
fn resolver_state(
    chain: &Chain,
    rv: &ResolverView,
    at: SystemTime,
) -> (CellState, Option<Duration>) {
    if !rv.exchange.outcome.is_usable() {
        let outcome = rv.exchange.outcome.brief();
        return (CellState::Failed { outcome }, None);
    }
    let auth: Vec<_> = chain.hops.iter().map(|h| &h.target).collect();
    let seen: Vec<_> = rv.hops.iter().map(|h| &h.target).collect();
    if auth == seen {
        return (CellState::Ok, None);
    }
    let i = (0..=auth.len().max(seen.len()))
        .find(|&i| seen.get(i) != auth.get(i))
        .unwrap_or(0);
    let negative = match &rv.end {
        Some(End::NxDomain { negative_ttl, .. } | End::NoData { negative_ttl, .. })
            if seen.get(i).is_none() =>
        {
            Some(negative_ttl.unwrap_or(0))
        }
        _ => None,
    };
    let ttl = negative.unwrap_or_else(|| match (rv.hops.get(i), &rv.end) {
        (Some(h), _) => h.ttl,
        (None, Some(End::Txt { ttl, .. })) => *ttl,
        _ => 0,
    });
    let left = Duration::from_secs(ttl.into());
    let until = at + left;
    let state = if negative.is_some() {
        CellState::Negative { until }
    } else {
        CellState::Stale { until }
    };
    (state, Some(left))
}

/// The last round's report, in check's format: the authoritative chain and every
/// resolver's last answer (a resolver never asked is not in it).
fn final_report(states: &[NameState], events: &EventSink) -> Report {
    let names = states
        .iter()
        .map(|st| {
            let Some(auth) = &st.auth else {
                return report::failed_name(
                    &st.input,
                    "the wait ended before this name was asked anything",
                );
            };
            let mut ev = auth.clone();
            ev.resolvers = st
                .views
                .iter()
                .flatten()
                .map(|(rv, _)| rv.clone())
                .collect();
            // Expiry times are given from when the answers that are not right came.
            if let Some(at) = st
                .views
                .iter()
                .zip(&st.cells[1..])
                .filter(|(_, c)| !c.is_ok())
                .filter_map(|(v, _)| v.as_ref().map(|(_, at)| *at))
                .min()
            {
                ev.observed_at = at;
            }
            let findings = rules(&ev);
            events.findings(&st.input.identifier, &findings);
            report::name_report(&ev, findings)
        })
        .collect();
    Report { version: 1, names }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Exchange, Name, Outcome, QueryFlags, Question, RecordType, Reply};
    use crate::engine::chain::Hop;
    use crate::engine::views::Vantage;

    fn hop(owner: &str, target: &str, ttl: u32) -> Hop {
        Hop {
            owner: Name::from_ascii(owner),
            target: Name::from_ascii(target),
            ttl,
            server: "127.0.0.1:53".parse().unwrap(),
            zone: None,
            published: None,
        }
    }

    fn chain(hops: Vec<Hop>) -> Chain {
        Chain {
            start: Name::from_ascii("_acme-challenge.www.example.test"),
            hops,
            end: End::TooLong,
            steps: vec![],
        }
    }

    fn view(outcome: Outcome, hops: Vec<Hop>, end: Option<End>) -> ResolverView {
        ResolverView {
            vantage: Vantage {
                name: "r".into(),
                kind: VantageKind::Resolver,
                addr: "127.0.0.53:53".parse().unwrap(),
                ca: false,
            },
            exchange: Exchange {
                server: "127.0.0.53:53".parse().unwrap(),
                question: Question::new(
                    Name::from_ascii("_acme-challenge.www.example.test"),
                    RecordType::TXT,
                ),
                flags: QueryFlags::recursive(),
                elapsed: Duration::from_millis(1),
                outcome,
            },
            hops,
            end,
            not_waited: None,
        }
    }

    fn reply(rcode: u16) -> Reply {
        Reply {
            rcode: rcode.into(),
            authoritative: false,
            authentic_data: false,
            recursion_available: true,
            answers: vec![],
            authority: vec![],
            additional: vec![],
            ede: vec![],
            via_tcp: false,
            edns: true,
            qname_case_kept: None,
            cname_case: vec![],
        }
    }

    #[test]
    fn a_cached_nxdomain_is_held_until_it_expires() {
        let auth = chain(vec![hop(
            "_acme-challenge.www.example.test",
            "x.acme.lab",
            60,
        )]);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let nx = view(
            Outcome::NxDomain(reply(3)),
            vec![],
            Some(End::NxDomain {
                owner: Name::from_ascii("_acme-challenge.www.example.test"),
                zone: None,
                negative_ttl: Some(250),
            }),
        );
        let (state, hold) = resolver_state(&auth, &nx, at);
        assert_eq!(
            state,
            CellState::Negative {
                until: at + Duration::from_secs(250)
            }
        );
        assert_eq!(hold, Some(Duration::from_secs(250)));
    }

    #[test]
    fn a_stale_hop_is_held_for_its_ttl_and_the_same_chain_is_ok() {
        let auth = chain(vec![hop(
            "_acme-challenge.www.example.test",
            "new.acme.lab",
            60,
        )]);
        let at = SystemTime::UNIX_EPOCH;
        let old = view(
            Outcome::Answer(reply(0)),
            vec![hop("_acme-challenge.www.example.test", "old.acme.lab", 42)],
            None,
        );
        let (state, hold) = resolver_state(&auth, &old, at);
        assert_eq!(
            state,
            CellState::Stale {
                until: at + Duration::from_secs(42)
            }
        );
        assert_eq!(hold, Some(Duration::from_secs(42)));
        let same = view(
            Outcome::Answer(reply(0)),
            vec![hop("_acme-challenge.www.example.test", "new.acme.lab", 59)],
            None,
        );
        assert_eq!(resolver_state(&auth, &same, at), (CellState::Ok, None));
        let (state, hold) =
            resolver_state(&auth, &view(Outcome::ServFail(reply(2)), vec![], None), at);
        assert_eq!(
            state,
            CellState::Failed {
                outcome: crate::dns::Brief::ServFail { ede: None }
            }
        );
        assert_eq!(hold, None, "a failure is asked again next round");
    }

    /// One step of zone example.test with the exchanges given, and its evidence.
    fn evidence_of(exchanges: Vec<(&str, Outcome)>, hops: Vec<Hop>) -> NameEvidence {
        use crate::dns::walk::{Server, Zone};
        let q = Question::new(
            Name::from_ascii("_acme-challenge.www.example.test"),
            RecordType::TXT,
        );
        let exchanges: Vec<(Name, Exchange)> = exchanges
            .into_iter()
            .enumerate()
            .map(|(i, (ns, outcome))| {
                let ex = Exchange {
                    server: format!("127.0.0.{}:53", 11 + i).parse().unwrap(),
                    question: q.clone(),
                    flags: QueryFlags::authoritative(),
                    elapsed: Duration::from_millis(1),
                    outcome,
                };
                (Name::from_ascii(ns), ex)
            })
            .collect();
        let prints: Vec<_> = exchanges
            .iter()
            .filter_map(|(_, e)| chain::fingerprint(&e.outcome, None))
            .collect();
        let zone = Zone {
            apex: Name::from_ascii("example.test"),
            servers: exchanges
                .iter()
                .map(|(n, e)| Server {
                    name: n.clone(),
                    addr: e.server,
                })
                .collect(),
            unresolved: vec![],
            parent_ns: vec![],
            glue: vec![],
        };
        let step = Step {
            zone: Arc::new(zone),
            question: q,
            disagree: prints.windows(2).any(|w| w[0] != w[1]),
            exchanges,
            missing_at: None,
            lame: false,
        };
        let mut c = chain(hops);
        c.end = End::NoData {
            owner: Name::from_ascii("x.acme.lab"),
            zone: Some(Name::from_ascii("acme.lab")),
            negative_ttl: Some(60),
        };
        c.steps = vec![step];
        NameEvidence {
            observed_at: SystemTime::UNIX_EPOCH,
            input: crate::model::name::parse_input("www.example.test").unwrap(),
            chain: c,
            resolvers: vec![],
            not_asked: None,
            doubled: None,
            expect_target: None,
            parent_cname: None,
            parent_zone: None,
            target_doubled: None,
            system_client: None,
        }
    }

    fn cname_reply(target: &str, aa: bool) -> Reply {
        use crate::dns::{RData, Record};
        Reply {
            authoritative: aa,
            answers: vec![Record {
                name: Name::from_ascii("_acme-challenge.www.example.test"),
                ttl: 60,
                data: RData::CNAME(Name::from_ascii(target)),
            }],
            ..reply(0)
        }
    }

    fn states(ev: &NameEvidence) -> Vec<(String, CellState)> {
        server_cells(ev, &whole_chain_state(ev, &rules(ev)))
            .into_iter()
            .map(|c| (c.vantage(), c.state))
            .collect()
    }

    #[test]
    fn each_server_of_a_hop_has_its_own_cell() {
        let hops = || vec![hop("_acme-challenge.www.example.test", "x.acme.lab", 60)];
        // Both right: both green, named by NS name and address.
        let ok = evidence_of(
            vec![
                (
                    "ns1.example.test",
                    Outcome::Answer(cname_reply("x.acme.lab", true)),
                ),
                (
                    "ns2.example.test",
                    Outcome::Answer(cname_reply("x.acme.lab", true)),
                ),
            ],
            hops(),
        );
        assert_eq!(
            states(&ok),
            vec![
                ("ns1.example.test. (127.0.0.11:53)".into(), CellState::Ok),
                ("ns2.example.test. (127.0.0.12:53)".into(), CellState::Ok),
            ]
        );
        // One times out, one is lame: each says so; the one that answers right is not
        // blamed for them.
        let bad = evidence_of(
            vec![
                (
                    "ns1.example.test",
                    Outcome::Answer(cname_reply("x.acme.lab", true)),
                ),
                ("ns2.example.test", Outcome::Timeout),
                (
                    "ns3.example.test",
                    Outcome::Answer(cname_reply("x.acme.lab", false)),
                ),
            ],
            hops(),
        );
        let s = states(&bad);
        assert_eq!(
            s[1].1,
            CellState::Failed {
                outcome: crate::dns::Brief::Timeout
            }
        );
        assert!(
            matches!(&s[2].1, CellState::Wrong { why } if why[0].to_string().starts_with("lame:")),
            "{s:?}"
        );
        assert!(!matches!(&s[0].1, CellState::Failed { .. }), "{s:?}");
        // They disagree: the one that differs from the chain's answer says so.
        let split = evidence_of(
            vec![
                (
                    "ns1.example.test",
                    Outcome::Answer(cname_reply("x.acme.lab", true)),
                ),
                (
                    "ns2.example.test",
                    Outcome::Answer(cname_reply("old.acme.lab", true)),
                ),
            ],
            hops(),
        );
        let s = states(&split);
        assert!(
            matches!(&s[1].1, CellState::Wrong { why } if why[0].to_string().starts_with("differs:")),
            "{s:?}"
        );
        assert!(
            !matches!(&s[0].1, CellState::Wrong { why } if why[0].to_string().starts_with("differs:")),
            "{s:?}"
        );
        // No CNAME yet: every server that answered says why the chain is not right.
        let none = evidence_of(
            vec![("ns1.example.test", Outcome::NxDomain(reply(3)))],
            vec![],
        );
        assert!(
            matches!(&states(&none)[0].1, CellState::Wrong { .. }),
            "{:?}",
            states(&none)
        );
    }
}

//! What the engine tells a face while it works: each vantage outcome as it arrives, each
//! hop of the chain, each finding, each name done, the run done, and for the live poll
//! each round and each (name, vantage) cell that changes, for the proof each test TXT
//! published, seen and removed. One type for every operation.
//!
//! Events go through an [`EventSink`]: an optional, unbounded `tokio::sync::mpsc` sender.
//! Sending never blocks the engine on a slow face and drops nothing; a sink nobody
//! listens to costs nothing (events are not even built). Long engine calls also take a
//! [`CancellationToken`]: cancel it and the call returns soon with what it has, having
//! stopped every task and query it started.

use crate::dns::{Brief, Name, Question};
use crate::engine::prove::Cleanup;
use crate::findings::evidence::VantageKind;
use crate::findings::Code;
use crate::findings::Finding;
use crate::zones::kinds::ZoneError;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::SystemTime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

pub use tokio_util::sync::CancellationToken;

/// One thing the engine learnt or did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run (check, diagnose, poll) starts on this many names.
    RunStarted { names: usize },
    /// One server or resolver answered one question about one name (or did not).
    Vantage {
        name: String,
        vantage: String,
        kind: VantageKind,
        server: SocketAddr,
        /// What it said; serialises as `NOERROR`, `NXDOMAIN`, `SERVFAIL (EDE 9 ...)`,
        /// `TIMEOUT`, ...
        outcome: Brief,
        ms: u64,
    },
    /// One CNAME hop of the authoritative chain, as the server that said it gave it.
    Hop {
        name: String,
        owner: Name,
        target: Name,
        ttl: u32,
        server: SocketAddr,
        zone: Option<Name>,
    },
    /// One finding about one name.
    Finding { name: String, finding: Finding },
    /// A name is done; `done` of `total` names are.
    NameDone {
        name: String,
        ok: bool,
        done: usize,
        total: usize,
    },
    /// The run is over (`cancelled`: stopped by its token before every name was done).
    RunDone {
        total: usize,
        ok: usize,
        cancelled: bool,
    },
    /// The live poll starts a round.
    RoundStarted { round: u64 },
    /// A (name, vantage) cell of the live poll changed state. The vantage
    /// `authoritative` stands for every authoritative server of every hop.
    Cell {
        name: String,
        vantage: String,
        kind: VantageKind,
        state: CellState,
    },
    /// The live poll's cells of one name for each authoritative server of each hop of its
    /// chain, sent when any of them changed (a server no longer listed is off the chain:
    /// the chain changed). They refine the `authoritative` cell, which stands for all.
    Servers {
        name: String,
        servers: Vec<ServerCell>,
    },
    /// A round of the live poll is over: `ok` of `total` names work from every vantage.
    RoundDone { round: u64, ok: usize, total: usize },
    /// The proof published its test TXT for a name at its target.
    Published { name: String, target: Name },
    /// One authoritative server or resolver sees a name's test TXT, `ms` after it was
    /// published.
    Seen {
        name: String,
        vantage: String,
        kind: VantageKind,
        ms: u64,
    },
    /// The test TXT at `target` is being removed (the proof's cleanup at the end).
    Removing { name: String, target: Name },
    /// The test TXT was removed.
    Removed { name: String },
    /// The zone cannot delete the test TXT (acme-dns): it stays until replaced. `why`
    /// serialises as its words.
    Left {
        name: String,
        #[serde(serialize_with = "as_text")]
        why: Cleanup,
    },
    /// The test TXT may still be published: its removal failed, ran out of time or was
    /// stopped (a second signal); `command` removes it.
    LeftBehind {
        name: String,
        target: Name,
        command: String,
    },
    /// Publishing or removing a name's test TXT failed: the zone's error (with its fix),
    /// serialised as `message`, its text.
    Failed {
        name: String,
        #[serde(rename = "message", serialize_with = "as_text")]
        error: ZoneError,
    },
}

/// A field serialised as its `Display` text.
fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// One authoritative server of one hop, as the live poll sees it for one name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerCell {
    /// The zone of the hop it serves.
    pub zone: Name,
    /// Its name in the zone's NS set (the vantage of its findings' observations).
    pub server: Name,
    pub addr: SocketAddr,
    pub state: CellState,
}

impl ServerCell {
    /// How a face names it: `ns1.example.com. (192.0.2.1:53)`.
    pub fn vantage(&self) -> String {
        format!("{} ({})", self.server, self.addr)
    }
}

/// The state of one (name, vantage) cell of the live poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CellState {
    /// Not asked: a resolver is asked only once every authoritative server gives the
    /// right chain (an earlier question would make it cache the negative answer).
    Waiting,
    /// The right chain (for a resolver: the same chain as the authoritative servers).
    Ok,
    /// The authoritative servers do not give the right chain yet: why, as the error
    /// findings (`CNAME_MISSING`, ...) and the servers that did not answer
    /// authoritatively (see [`Reason`]).
    Wrong { why: Vec<Reason> },
    /// The resolver serves a cached negative answer until `until`; it is not asked again
    /// before then.
    Negative { until: SystemTime },
    /// The resolver serves an older cached chain until `until`; not asked again before.
    Stale { until: SystemTime },
    /// No usable answer (SERVFAIL, REFUSED, TIMEOUT, ...): asked again next round.
    Failed { outcome: Brief },
}

/// Why a cell of the live poll is not right: data, which each face renders its own way.
/// It serialises (and displays) as one line: the finding's code, `no CNAME`, or what a
/// server did (`ns1.example.com. (192.0.2.1:53) TIMEOUT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// An error finding about the chain: its code and its evidence.
    Finding { code: Code, evidence: String },
    /// No CNAME at the authoritative servers yet, and no error finding says more.
    NoCname,
    /// A server of a hop gave no usable authoritative answer: its name in the zone's NS
    /// set, its address, and what it answered (`TIMEOUT`, `REFUSED`, `NOERROR` without
    /// the AA bit, ...): it displays as the label alone, without the EDE or network detail.
    Server {
        server: Name,
        addr: SocketAddr,
        outcome: Brief,
    },
    /// This server answers without the AA bit: it does not serve `zone` (lame).
    Lame { zone: Name },
    /// This server's answer to `question` is not the other servers' (an out of date copy
    /// of the zone?).
    Differs { question: Question },
}

impl Reason {
    /// The reason an error finding gives.
    pub fn of(f: &Finding) -> Self {
        Reason::Finding {
            code: f.code,
            evidence: f.evidence.clone(),
        }
    }

    /// A server of the chain did not answer as it should (it is down, lame, or serves
    /// another copy of the zone), as opposed to what the zone says.
    pub fn is_server(&self) -> bool {
        matches!(self, Reason::Server { .. } | Reason::Differs { .. })
    }

    /// There is no CNAME yet (`no CNAME`, `CNAME_MISSING`).
    pub fn is_no_cname(&self) -> bool {
        matches!(
            self,
            Reason::NoCname
                | Reason::Finding {
                    code: Code::CnameMissing,
                    ..
                }
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Finding { code, .. } => write!(f, "{code}"),
            Reason::NoCname => write!(f, "no CNAME"),
            Reason::Server {
                server,
                addr,
                outcome,
            } => write!(f, "{server} ({addr}) {}", outcome.label()),
            Reason::Lame { zone } => write!(
                f,
                "lame: answers without the AA bit, so it does not serve {zone}"
            ),
            Reason::Differs { question } => write!(
                f,
                "differs: its answer to {question} is not the other servers' (a zone copy \
                 that is out of date?)"
            ),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl CellState {
    pub fn is_ok(&self) -> bool {
        matches!(self, CellState::Ok)
    }
}

/// Where events go: nowhere, or an unbounded channel.
#[derive(Clone, Debug, Default)]
pub struct EventSink(Option<UnboundedSender<Event>>);

impl EventSink {
    /// A sink that drops nothing because nothing is sent.
    pub fn none() -> Self {
        EventSink(None)
    }

    pub fn new(tx: UnboundedSender<Event>) -> Self {
        EventSink(Some(tx))
    }

    /// A sink and the receiver a face reads.
    pub fn channel() -> (Self, UnboundedReceiver<Event>) {
        let (tx, rx) = unbounded_channel();
        (EventSink::new(tx), rx)
    }

    /// Someone listens (events are worth building).
    pub fn is_on(&self) -> bool {
        self.0.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Sends the event `make` builds, if someone listens. Never blocks.
    pub fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(tx) = self.0.as_ref().filter(|tx| !tx.is_closed()) {
            let _ = tx.send(make());
        }
    }

    /// Sends each finding of a name.
    pub fn findings(&self, name: &str, findings: &[Finding]) {
        for f in findings {
            self.emit(|| Event::Finding {
                name: name.to_string(),
                finding: f.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_without_a_listener_builds_nothing() {
        let built = std::cell::Cell::new(0);
        let make = || {
            built.set(built.get() + 1);
            Event::RoundStarted { round: 1 }
        };
        EventSink::none().emit(make);
        let (sink, rx) = EventSink::channel();
        drop(rx);
        sink.emit(make);
        assert_eq!(built.get(), 0);
        let (sink, mut rx) = EventSink::channel();
        sink.emit(make);
        assert_eq!(built.get(), 1);
        assert_eq!(rx.try_recv().unwrap(), Event::RoundStarted { round: 1 });
    }

    #[test]
    fn cells_serialise_with_their_state() {
        let j = serde_json::to_value(CellState::Wrong {
            why: vec![Reason::Finding {
                code: Code::CnameMissing,
                evidence: "no CNAME at _acme-challenge.www.example.com".into(),
            }],
        })
        .unwrap();
        assert_eq!(j["state"], "wrong");
        assert_eq!(j["why"][0], "CNAME_MISSING");
    }

    #[test]
    fn outcomes_serialise_as_their_text() {
        let addr: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let j = serde_json::to_string(&Event::Vantage {
            name: "www.example.com".into(),
            vantage: "ns1.example.com.".into(),
            kind: VantageKind::Authoritative,
            server: addr,
            outcome: Brief::ServFail {
                ede: Some(crate::dns::Ede {
                    code: 9,
                    text: "DNSKEY missing".into(),
                }),
            },
            ms: 3,
        })
        .unwrap();
        assert!(
            j.contains(r#""outcome":"SERVFAIL (EDE 9 DNSKEY missing)""#),
            "{j}"
        );
        let j = serde_json::to_value(CellState::Failed {
            outcome: Brief::Network(crate::dns::NetError::io(
                crate::dns::net_error::Step::Udp,
                addr,
                &std::io::Error::from_raw_os_error(111),
            )),
        })
        .unwrap();
        assert_eq!(
            j["outcome"], "NETWORK (Connection refused (os error 111))",
            "the text the String held"
        );
        // A server's reason shows its label alone.
        let why = Reason::Server {
            server: Name::from_ascii("ns1.example.com"),
            addr,
            outcome: Brief::ServFail {
                ede: Some(crate::dns::Ede {
                    code: 22,
                    text: "no reachable authority".into(),
                }),
            },
        };
        assert_eq!(why.to_string(), "ns1.example.com. (192.0.2.1:53) SERVFAIL");
        assert_eq!(serde_json::to_value(&why).unwrap(), why.to_string());
    }

    #[test]
    fn the_proofs_left_and_failed_events_serialise_as_their_text() {
        let j = serde_json::to_value(Event::Left {
            name: "www.example.com".into(),
            why: Cleanup::StaysUntilReplaced,
        })
        .unwrap();
        assert_eq!(j["why"], crate::zones::acme_dns::VALUE_STAYS);
        let error = ZoneError::new("the update was rejected: REFUSED", "check the key");
        let j = serde_json::to_value(Event::Failed {
            name: "www.example.com".into(),
            error: error.clone(),
        })
        .unwrap();
        assert_eq!(j["event"], "failed");
        assert_eq!(
            j["message"],
            "the update was rejected: REFUSED. Fix: check the key"
        );
        assert_eq!(j["message"], error.to_string());
    }
}

//! The vantage points: every configured resolver (standing in for the CA and the public
//! internet) and the system resolver (the inside view), each asked the CA's question.

use crate::dns::{Name, Outcome, QueryFlags, Question, RecordType, Transport};
use crate::engine::chain::read_reply;
use crate::model::config::Config;
use std::collections::HashSet;

pub use crate::findings::evidence::{ResolverView, Vantage, VantageKind};

/// The configured resolvers, then the system resolvers.
pub fn vantages(cfg: &Config) -> Vec<Vantage> {
    let mut v: Vec<Vantage> = cfg
        .resolvers
        .iter()
        .map(|r| Vantage {
            name: r.name.clone(),
            kind: VantageKind::Resolver,
            addr: r.address,
            ca: r.ca,
        })
        .collect();
    v.extend(cfg.system.iter().enumerate().map(|(i, a)| Vantage {
        name: if cfg.system.len() == 1 {
            "system".to_string()
        } else {
            format!("system-{}", i + 1)
        },
        kind: VantageKind::System,
        addr: *a,
        ca: false,
    }));
    v
}

/// Asks one resolver `TXT <challenge>` with RD set. The CA's own resolver (`ca = true`) is
/// given the CA's patience: when it does not answer in time it is asked once more (it goes
/// on resolving after the first question times out, and answers the second from what it
/// found meanwhile), and the second answer is its view, with the time of both. A resolver
/// held up by a dead server of the chain answers then; one whose resolution cannot end
/// (a zone whose DNSSEC fails validation makes unbound ask every server again, the dead
/// one too: differential seeds 906 and 1792) times out twice.
pub(crate) async fn ask_resolver<T: Transport>(
    t: &T,
    v: &Vantage,
    challenge: &Name,
) -> ResolverView {
    let q = Question::new(challenge.clone(), RecordType::TXT);
    let mut exchange = t.ask(v.addr, &q, QueryFlags::recursive()).await;
    if v.ca && matches!(exchange.outcome, Outcome::Timeout) && !t.is_dead(v.addr) {
        let first = exchange.elapsed;
        exchange = t.ask(v.addr, &q, QueryFlags::recursive()).await;
        exchange.elapsed += first;
    }
    let mut hops = Vec::new();
    let mut end = None;
    if exchange.outcome.is_usable() {
        let reply = exchange.outcome.reply().expect("usable has a reply");
        let mut seen = HashSet::from([challenge.clone()]);
        let (_, e) = read_reply(challenge, reply, v.addr, None, &mut seen, &mut hops);
        end = e;
    }
    ResolverView {
        vantage: v.clone(),
        exchange,
        hops,
        end,
        not_waited: None,
    }
}

impl ResolverView {
    /// A resolver not waited for because it is known to wait out the dead server `dead`
    /// of this chain (see `Run::evidence`): a timeout, as the last real one took.
    pub fn not_waited(
        v: &Vantage,
        challenge: &Name,
        took: std::time::Duration,
        dead: std::net::SocketAddr,
    ) -> ResolverView {
        ResolverView {
            vantage: v.clone(),
            exchange: crate::dns::Exchange {
                server: v.addr,
                question: Question::new(challenge.clone(), RecordType::TXT),
                flags: QueryFlags::recursive(),
                elapsed: took,
                outcome: crate::dns::Outcome::Timeout,
            },
            hops: vec![],
            end: None,
            not_waited: Some(dead),
        }
    }
}

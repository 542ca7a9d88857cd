//! The report: the model `check` and `diagnose` return (what `--json` prints) and the
//! Prometheus textfile, built from the evidence and the findings; the faces render it.

mod exit;
pub mod merge;
pub mod prometheus;
pub mod text;

pub use text::Text;

use crate::dns::{Exchange, Name, Outcome, RData};
use crate::findings::evidence::VantageKind;
use crate::findings::evidence::{End, Hop};
use crate::findings::rules::chain::{outcome_text, NameEvidence};
use crate::findings::Code;
use crate::findings::{Finding, Severity};
use crate::model::name::InputName;
use serde::Serialize;

/// The whole document (`--json`), version 1.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub names: Vec<NameReport>,
}

/// One element of a chain: a zone cut at the challenge name (`NS`), a CNAME hop, the TXT
/// at the end, or a negative answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainEntry {
    pub owner: Name,
    /// `NS` (the challenge name is a zone of its own), `CNAME`, `TXT`, `NXDOMAIN` or `NODATA`.
    #[serde(rename = "type")]
    pub rtype: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<Name>,
}

/// What one vantage point (an authoritative server or a resolver) said.
#[derive(Clone, Debug, Serialize)]
pub struct View {
    pub vantage: Text,
    pub kind: VantageKind,
    pub server: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<Name>,
    pub question: Text,
    pub outcome: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Text>,
    pub authoritative: bool,
    pub chain: Vec<ChainEntry>,
    pub ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NameReport {
    pub name: String,
    pub challenge: Name,
    /// The last CNAME target: where the TXT must be written.
    pub target: Option<Name>,
    pub ok: bool,
    /// No server answered anything for this name.
    pub inconclusive: bool,
    /// The chain as the authoritative servers give it, hop by hop.
    pub chain: Vec<ChainEntry>,
    pub views: Vec<View>,
    pub findings: Vec<Finding>,
}

fn hop_entry(h: &Hop, with_server: bool) -> ChainEntry {
    ChainEntry {
        owner: h.owner.clone(),
        rtype: Text::interned("CNAME"),
        data: Some(h.target.to_string()),
        ttl: Some(h.ttl),
        server: with_server.then(|| Text::interned(&h.server.to_string())),
        zone: h.zone.clone(),
    }
}

/// The end of a chain as an entry (names equal to one of `known` share its copy).
fn end_entry(e: &End, known: &[&Name]) -> Option<ChainEntry> {
    match e {
        End::Txt { owner, values, ttl } => Some(ChainEntry {
            owner: shared(owner, known),
            rtype: Text::interned("TXT"),
            data: Some(values.join(" ")),
            ttl: Some(*ttl),
            server: None,
            zone: None,
        }),
        End::NxDomain {
            owner,
            zone,
            negative_ttl,
        }
        | End::NoData {
            owner,
            zone,
            negative_ttl,
        } => Some(ChainEntry {
            owner: shared(owner, known),
            rtype: Text::interned(if matches!(e, End::NxDomain { .. }) {
                "NXDOMAIN"
            } else {
                "NODATA"
            }),
            data: None,
            ttl: *negative_ttl,
            server: None,
            zone: zone.as_ref().map(|z| shared(z, known)),
        }),
        _ => None,
    }
}

/// `n`, as the copy in `known` that equals it when there is one: a name read off the wire
/// (a reply's zone or owner) is a copy of its own, and the report keeps the one the
/// walk already holds instead.
fn shared(n: &Name, known: &[&Name]) -> Name {
    known
        .iter()
        .find(|k| **k == n)
        .map_or_else(|| n.clone(), |k| (*k).clone())
}

/// The records one server returned, as chain entries (names equal to one of `known`
/// share its copy).
fn reply_entries(ex: &Exchange, known: &[&Name]) -> Vec<ChainEntry> {
    let Some(r) = ex.outcome.reply() else {
        return vec![];
    };
    let mut v: Vec<ChainEntry> = r
        .answers
        .iter()
        .filter(|a| matches!(a.data, RData::CNAME(_) | RData::TXT(_)))
        .map(|a| ChainEntry {
            owner: shared(&a.name, known),
            rtype: Text::interned(&a.rtype().to_string()),
            data: Some(a.data.to_text()),
            ttl: Some(a.ttl),
            server: None,
            zone: None,
        })
        .collect();
    if matches!(ex.outcome, Outcome::NxDomain(_) | Outcome::NoData(_)) {
        let owner = v
            .last()
            .and_then(|e| {
                (e.rtype == "CNAME").then(|| Name::from_ascii(e.data.as_deref().unwrap_or(".")))
            })
            .unwrap_or_else(|| ex.question.name.clone());
        v.push(ChainEntry {
            owner: shared(&owner, known),
            rtype: Text::interned(&ex.outcome.label()),
            data: None,
            ttl: r.negative_ttl(),
            server: None,
            zone: r.soa().map(|(z, _, _)| shared(z, known)),
        });
    }
    v
}

fn detail(o: &Outcome) -> Option<Text> {
    let t = outcome_text(o);
    (t != o.label()).then(|| Text::interned(&t))
}

/// The question of an exchange as report text: the views of one name mostly ask the same
/// one, and share it.
fn question_text(last: &mut Option<Text>, q: String) -> Text {
    match last {
        Some(t) if *t == q => t.clone(),
        _ => last.insert(Text::from(q)).clone(),
    }
}

impl Report {
    /// A name with an error finding is not ok (findings added after the rules ran, e.g. a
    /// TLS endpoint's, count too).
    pub fn settle(&mut self) {
        for n in &mut self.names {
            n.ok = n.ok && !n.findings.iter().any(|f| f.severity == Severity::Error);
        }
    }
}

/// Builds the report of one name from its evidence and findings.
pub fn name_report(ev: &NameEvidence, findings: Vec<Finding>) -> NameReport {
    let auth_views: usize = ev.chain.steps.iter().map(|s| s.exchanges.len()).sum();
    let not_asked = ev.not_asked.as_ref().map_or(0, |(vs, _)| vs.len());
    let mut views = Vec::with_capacity(auth_views + ev.resolvers.len() + not_asked);
    // A zone below the root was reached only through some server's referral.
    let mut any_response = ev.chain.steps.iter().any(|s| !s.zone.apex.is_root());
    let mut question = None;
    for step in &ev.chain.steps {
        for (ns, ex) in &step.exchanges {
            any_response |= ex.outcome.responded();
            views.push(View {
                vantage: Text::interned(ns.as_str()),
                kind: VantageKind::Authoritative,
                server: Text::interned(&ex.server.to_string()),
                zone: Some(step.zone.apex.clone()),
                question: question_text(&mut question, ex.question.to_string()),
                outcome: Text::interned(&ex.outcome.label()),
                detail: detail(&ex.outcome),
                authoritative: ex.outcome.reply().is_some_and(|r| r.authoritative),
                chain: compact(reply_entries(ex, &[&step.zone.apex, &ev.input.challenge])),
                ms: ex.ms(),
            });
        }
    }
    for rv in &ev.resolvers {
        let ex = &rv.exchange;
        any_response |= ex.outcome.responded();
        let mut chain = Vec::with_capacity(rv.hops.len() + 1);
        chain.extend(rv.hops.iter().map(|h| hop_entry(h, false)));
        chain.extend(
            rv.end
                .as_ref()
                .and_then(|e| end_entry(e, &[&ev.input.challenge])),
        );
        views.push(View {
            vantage: Text::interned(&rv.vantage.name),
            kind: rv.vantage.kind,
            server: Text::interned(&ex.server.to_string()),
            zone: None,
            question: question_text(&mut question, ex.question.to_string()),
            outcome: Text::interned(&ex.outcome.label()),
            detail: detail(&ex.outcome),
            authoritative: ex.outcome.reply().is_some_and(|r| r.authoritative),
            chain: compact(chain),
            ms: ex.ms(),
        });
    }
    // The resolvers not asked (no poisoning): each says so, with the reason.
    for v in ev
        .not_asked
        .iter()
        .flat_map(|(vs, why)| vs.iter().map(move |v| (v, why)))
    {
        let (v, why) = v;
        views.push(View {
            vantage: Text::interned(&v.name),
            kind: v.kind,
            server: Text::interned(&v.addr.to_string()),
            zone: None,
            question: question_text(&mut question, format!("{} TXT", ev.input.challenge)),
            outcome: Text::interned(crate::findings::evidence::NOT_ASKED),
            detail: Some(Text::interned(why)),
            authoritative: false,
            chain: vec![],
            ms: 0,
        });
    }
    let mut chain: Vec<ChainEntry> = Vec::new();
    if ev.challenge_is_cut() {
        // The zone cut at the challenge name: its parent delegates it by NS.
        let z = &ev.chain.steps[0].zone;
        chain.push(ChainEntry {
            owner: ev.input.challenge.clone(),
            rtype: Text::interned("NS"),
            data: Some(
                z.parent_ns
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ttl: None,
            server: None,
            zone: Some(z.apex.clone()),
        });
    }
    chain.extend(ev.chain.hops.iter().map(|h| hop_entry(h, true)));
    let known: Vec<&Name> = std::iter::once(&ev.input.challenge)
        .chain(ev.chain.steps.iter().map(|s| &s.zone.apex))
        .collect();
    chain.extend(end_entry(&ev.chain.end, &known));
    let ok = !findings.iter().any(|f| f.severity == Severity::Error);
    // Works only when the authoritative servers of the name's zone settled the chain (a
    // TXT, or a negative answer): a walk that never reached such an answer (no server, a
    // referral loop, only failures) cannot say that the CA will find the TXT; without an
    // error that names the cause, that is inconclusive.
    let settled = !matches!(ev.chain.end, End::Failed { .. });
    // No authoritative view from this network (intercepted, or no route to the roots):
    // inconclusive, unless the resolvers' agreeing view shows an error (then it fails).
    let blind = findings
        .iter()
        .any(|f| crate::findings::rules::chain::blinds(f.code));
    let mut report = NameReport {
        name: ev.input.identifier.clone(),
        challenge: ev.input.challenge.clone(),
        target: ev.chain.target().cloned(),
        ok: ok && any_response && !blind && settled,
        inconclusive: !any_response || (ok && (blind || !settled)),
        chain: compact(chain),
        views,
        findings,
    };
    report.tighten();
    report
}

impl NameReport {
    /// Gives back the spare capacity of every text and list in the report (`to_string` and
    /// `format!` leave up to half of a string unused; 100,000 reports stay in memory until
    /// the run ends). The content is unchanged.
    ///
    /// Each one with spare room moves to a new allocation of its exact size and frees the
    /// old one whole (`exact`, `exact_text`): shrinking in place
    /// (`shrink_to_fit`) would leave the cut-off tail of every list and text as a hole of
    /// an odd size between reports that later allocations rarely fit, and 100,000 names
    /// left some 40 MB of such holes (peak RSS 238 MB where the live heap was 169 MB).
    pub fn tighten(&mut self) {
        fn chain(c: &mut Vec<ChainEntry>) {
            exact(c);
            for e in c {
                e.data.iter_mut().for_each(exact_text);
            }
        }
        exact_text(&mut self.name);
        chain(&mut self.chain);
        exact(&mut self.views);
        for v in &mut self.views {
            chain(&mut v.chain);
        }
        exact(&mut self.findings);
        for f in &mut self.findings {
            exact_text(&mut f.name);
            exact_text(&mut f.evidence);
            exact_text(&mut f.fix);
            exact(&mut f.observed);
            for o in &mut f.observed {
                exact_text(&mut o.vantage);
                exact_text(&mut o.server);
                exact_text(&mut o.question);
                exact_text(&mut o.outcome);
            }
        }
    }
}

/// A report stays in memory until the run ends (10,000 names: 10,000 of them): no spare
/// capacity left in its lists (see [`NameReport::tighten`]).
fn compact<T>(mut v: Vec<T>) -> Vec<T> {
    exact(&mut v);
    v
}

/// Moves `v` to an allocation of exactly its length when it has spare room, and frees the
/// old one whole (see [`NameReport::tighten`]).
fn exact<T>(v: &mut Vec<T>) {
    if v.capacity() > v.len() {
        let mut e = Vec::with_capacity(v.len());
        e.append(v);
        *v = e;
    }
}

/// [`exact`] for a text.
fn exact_text(s: &mut String) {
    if s.capacity() > s.len() {
        *s = s.as_str().to_owned();
    }
}

/// A name whose check could not run.
pub fn failed_name(n: &InputName, why: &str) -> NameReport {
    NameReport {
        name: n.identifier.clone(),
        challenge: n.challenge.clone(),
        target: None,
        ok: false,
        inconclusive: true,
        chain: vec![],
        views: vec![],
        findings: vec![Finding::new(
            Code::CheckFailed,
            &n.identifier,
            why.to_string(),
            "run again; report a bug if it persists".into(),
        )],
    }
}

/// The `--json` document.
pub fn to_json(r: &Report) -> String {
    serde_json::to_string_pretty(r).expect("the report serialises")
}

/// Writes the `--json` document ([`to_json`]'s text and a newline) to `out` as it is
/// serialised: a large report never exists twice in memory.
pub fn write_json<W: std::io::Write>(r: &Report, out: W) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, r)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Where and when a report was taken (`--vantage-label`), and with which resolvers: the
/// fields `merge` needs to set reports from several networks side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Taken {
    /// The network the report was taken from (`--vantage-label`; default: the host name).
    pub vantage_label: String,
    /// When the run finished (RFC 3339, UTC).
    pub taken_at: String,
    /// The resolvers asked, configured ones first, then the system's.
    pub resolvers: Vec<ResolverUsed>,
}

/// One resolver a report asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResolverUsed {
    pub name: String,
    /// `resolver` or `system`.
    pub kind: String,
    /// `ip:port`.
    pub server: String,
}

impl Taken {
    /// Taken now, from `vantage_label`, with the resolvers `vantages`.
    pub fn now(vantage_label: &str, vantages: &[crate::findings::evidence::Vantage]) -> Taken {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Taken {
            vantage_label: vantage_label.to_string(),
            taken_at: crate::model::clock::rfc3339(secs),
            resolvers: vantages
                .iter()
                .map(|v| ResolverUsed {
                    name: v.name.clone(),
                    kind: match v.kind {
                        VantageKind::System => "system",
                        _ => "resolver",
                    }
                    .into(),
                    server: v.addr.to_string(),
                })
                .collect(),
        }
    }
}

/// The `--json` document of `check` and `diagnose`: the report and where it was taken.
#[derive(Serialize)]
pub struct TakenReport<'a> {
    pub version: u32,
    #[serde(flatten)]
    pub taken: &'a Taken,
    pub names: &'a [NameReport],
}

impl<'a> TakenReport<'a> {
    pub fn new(report: &'a Report, taken: &'a Taken) -> Self {
        TakenReport {
            version: report.version,
            taken,
            names: &report.names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_moves_a_list_or_text_with_spare_room_to_a_new_allocation_of_its_size() {
        // Shrinking in place would keep the pointer and leave the tail as a hole: the
        // old allocation must go whole.
        let mut v: Vec<u64> = Vec::with_capacity(64);
        v.extend([1, 2, 3]);
        let before = v.as_ptr();
        exact(&mut v);
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(v.capacity(), 3);
        assert_ne!(v.as_ptr(), before);

        let mut s = String::with_capacity(64);
        s.push_str("NXDOMAIN at _acme-challenge.example.com.");
        let before = s.as_ptr();
        exact_text(&mut s);
        assert_eq!(s, "NXDOMAIN at _acme-challenge.example.com.");
        assert_eq!(s.capacity(), s.len());
        assert_ne!(s.as_ptr(), before);

        // Already exact: left alone.
        let before = s.as_ptr();
        exact_text(&mut s);
        assert_eq!(s.as_ptr(), before);
    }
}

//! `merge`: reports of the same names taken on different networks (`--vantage-label`),
//! merged into one verdict per name, as a CA that validates from several network
//! perspectives decides.
//!
//! The rule (documented in docs/json.md, "merge"): per name, each report is one
//! perspective that *works* (ok), *fails* (an error finding), is *inconclusive* (no
//! server answered) or did *not check* the name. A name works when at least one
//! perspective works and at most `quorum` perspectives do not (default 0: every network
//! must agree). A name that works from some networks and not from others gets
//! `PERSPECTIVES_DISAGREE`: an error when the quorum is exceeded, a warning when the
//! quorum tolerates it. Pure: documents in, merged document out.

use crate::findings::{Code, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::ResolverUsed;

/// One input document as `check --json` / `diagnose --json` print it (only the fields the
/// merge reads; others are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct InputReport {
    pub version: Option<u32>,
    pub vantage_label: Option<String>,
    pub taken_at: Option<String>,
    #[serde(default)]
    pub resolvers: Vec<ResolverUsed>,
    pub names: Option<Vec<InputName>>,
    pub error: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InputName {
    pub name: String,
    pub challenge: Option<String>,
    pub target: Option<String>,
    pub ok: bool,
    #[serde(default)]
    pub inconclusive: bool,
    #[serde(default)]
    pub findings: Vec<InputFinding>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct InputFinding {
    pub code: String,
    pub severity: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub evidence: String,
    #[serde(default)]
    pub fix: String,
}

/// What one perspective says about a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Works,
    Fails,
    Inconclusive,
    NotChecked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Works => "works",
            Verdict::Fails => "fails",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotChecked => "not checked",
        }
    }
}

/// A report after reading: where it came from and what it says.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file (or `-`) it was read from.
    pub file: String,
    pub report: InputReport,
}

#[derive(Clone, Debug, Serialize)]
pub struct MergedVantage {
    pub vantage_label: String,
    pub taken_at: Option<String>,
    pub resolvers: Vec<ResolverUsed>,
    pub file: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Perspective {
    pub vantage_label: String,
    pub verdict: Verdict,
    pub ok: bool,
    pub inconclusive: bool,
    pub target: Option<String>,
    /// The codes of the error findings from there.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MergedFinding {
    pub code: String,
    pub severity: String,
    pub name: String,
    pub evidence: String,
    pub fix: String,
    /// The network the finding was seen from; none for a finding of the merge itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vantage_label: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MergedName {
    pub name: String,
    pub challenge: Option<String>,
    pub target: Option<String>,
    pub ok: bool,
    pub inconclusive: bool,
    pub perspectives: Vec<Perspective>,
    /// `PERSPECTIVES_DISAGREE` first, then each network's findings, worst first.
    pub findings: Vec<MergedFinding>,
}

/// The `merge --json` document.
#[derive(Clone, Debug, Serialize)]
pub struct Merged {
    pub version: u32,
    /// Failing perspectives a name may have and still work.
    pub quorum: usize,
    pub vantages: Vec<MergedVantage>,
    pub names: Vec<MergedName>,
}

/// Why the inputs cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("{file}: it is an error document (the run failed: {message}), not a report; merge the reports of runs that finished")]
    ErrorDocument { file: String, message: String },
    #[error("{file}: it has no \"names\": give the output of `check --json` or `diagnose --json`")]
    NoNames { file: String },
    #[error("{file}: version {version} is not known (this build reads version 1)")]
    Version { file: String, version: u32 },
    #[error("{a} and {b} were both taken from the network {label:?}: give each network its own --vantage-label when running check")]
    SameLabel { label: String, a: String, b: String },
    #[error("merge needs reports from at least two networks, got {0}")]
    TooFew(usize),
    #[error("--quorum {quorum} allows every one of the {reports} perspectives to fail; give a quorum below {reports}")]
    Quorum { quorum: usize, reports: usize },
}

fn rank(sev: &str) -> u8 {
    match sev {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// The label of a report: its `vantage_label`, else (an older report) its file name.
fn label_of(s: &Source) -> String {
    s.report
        .vantage_label
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| s.file.clone())
}

/// Merges `sources` (at least two, from distinct networks) with `quorum` failing
/// perspectives allowed per name.
pub fn merge(sources: &[Source], quorum: usize) -> Result<Merged, MergeError> {
    if sources.len() < 2 {
        return Err(MergeError::TooFew(sources.len()));
    }
    if quorum >= sources.len() {
        return Err(MergeError::Quorum {
            quorum,
            reports: sources.len(),
        });
    }
    let mut labels: BTreeMap<String, &str> = BTreeMap::new();
    for s in sources {
        if let Some(e) = &s.report.error {
            let message = e
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no message")
                .to_string();
            return Err(MergeError::ErrorDocument {
                file: s.file.clone(),
                message,
            });
        }
        if s.report.names.is_none() {
            return Err(MergeError::NoNames {
                file: s.file.clone(),
            });
        }
        if let Some(v) = s.report.version.filter(|v| *v != 1) {
            return Err(MergeError::Version {
                file: s.file.clone(),
                version: v,
            });
        }
        let label = label_of(s);
        if let Some(a) = labels.insert(label.clone(), &s.file) {
            return Err(MergeError::SameLabel {
                label,
                a: a.to_string(),
                b: s.file.clone(),
            });
        }
    }
    // Every name, in the order of first appearance; per report, the name's entry (a
    // name given twice in one report: the first entry, with the verdict of all of them).
    let mut order: Vec<&str> = Vec::new();
    let mut per: BTreeMap<&str, Vec<Option<InputName>>> = BTreeMap::new();
    for (i, s) in sources.iter().enumerate() {
        for n in s.report.names.as_deref().unwrap_or_default() {
            let slot = per.entry(n.name.as_str()).or_insert_with(|| {
                order.push(n.name.as_str());
                vec![None; sources.len()]
            });
            match &mut slot[i] {
                None => slot[i] = Some(n.clone()),
                Some(first) => {
                    first.ok &= n.ok;
                    first.inconclusive &= n.inconclusive;
                    first.findings.extend(n.findings.iter().cloned());
                }
            }
        }
    }
    let names = order
        .iter()
        .map(|name| merge_name(name, sources, &per[name], quorum))
        .collect();
    Ok(Merged {
        version: 1,
        quorum,
        vantages: sources
            .iter()
            .map(|s| MergedVantage {
                vantage_label: label_of(s),
                taken_at: s.report.taken_at.clone(),
                resolvers: s.report.resolvers.clone(),
                file: s.file.clone(),
            })
            .collect(),
        names,
    })
}

fn verdict(n: Option<&InputName>) -> Verdict {
    match n {
        None => Verdict::NotChecked,
        Some(n) if n.ok && !n.inconclusive => Verdict::Works,
        Some(n) if n.inconclusive => Verdict::Inconclusive,
        Some(_) => Verdict::Fails,
    }
}

fn merge_name(
    name: &str,
    sources: &[Source],
    entries: &[Option<InputName>],
    quorum: usize,
) -> MergedName {
    let perspectives: Vec<Perspective> = sources
        .iter()
        .zip(entries)
        .map(|(s, e)| {
            let v = verdict(e.as_ref());
            Perspective {
                vantage_label: label_of(s),
                verdict: v,
                ok: v == Verdict::Works,
                inconclusive: matches!(v, Verdict::Inconclusive | Verdict::NotChecked),
                target: e.as_ref().and_then(|e| e.target.clone()),
                errors: e
                    .iter()
                    .flat_map(|e| &e.findings)
                    .filter(|f| f.severity == "error")
                    .map(|f| f.code.clone())
                    .fold(Vec::new(), |mut v, c| {
                        if !v.contains(&c) {
                            v.push(c);
                        }
                        v
                    }),
            }
        })
        .collect();
    let count = |v: Verdict| perspectives.iter().filter(|p| p.verdict == v).count();
    let works = count(Verdict::Works);
    let fails = count(Verdict::Fails);
    let failing = perspectives.len() - works;
    let ok = works > 0 && failing <= quorum;
    let inconclusive = works == 0 && fails == 0;
    let mut findings = Vec::new();
    if works > 0 && failing > 0 {
        findings.push(disagree(name, &perspectives, failing > quorum, quorum));
    }
    let mut theirs: Vec<MergedFinding> = sources
        .iter()
        .zip(entries)
        .flat_map(|(s, e)| {
            let label = label_of(s);
            e.iter().flat_map(move |e| {
                let label = label.clone();
                e.findings.iter().map(move |f| MergedFinding {
                    code: f.code.clone(),
                    severity: f.severity.clone(),
                    name: name.to_string(),
                    evidence: f.evidence.clone(),
                    fix: f.fix.clone(),
                    vantage_label: Some(label.clone()),
                })
            })
        })
        .collect();
    theirs.sort_by_key(|f| std::cmp::Reverse(rank(&f.severity)));
    findings.extend(theirs);
    let first = entries.iter().flatten().next();
    MergedName {
        name: name.to_string(),
        challenge: first.and_then(|e| e.challenge.clone()),
        target: entries
            .iter()
            .zip(&perspectives)
            .find(|(_, p)| p.verdict == Verdict::Works)
            .and_then(|(e, _)| e.as_ref())
            .or(first)
            .and_then(|e| e.target.clone()),
        ok,
        inconclusive,
        perspectives,
        findings,
    }
}

/// `PERSPECTIVES_DISAGREE`: which networks see the delegation work and which do not, and
/// what those see.
fn disagree(name: &str, ps: &[Perspective], beyond_quorum: bool, quorum: usize) -> MergedFinding {
    let labels = |v: Verdict| -> Vec<String> {
        ps.iter()
            .filter(|p| p.verdict == v)
            .map(|p| match v {
                Verdict::Fails if !p.errors.is_empty() => {
                    format!("{} ({})", p.vantage_label, p.errors.join(", "))
                }
                _ => p.vantage_label.clone(),
            })
            .collect()
    };
    let mut parts = vec![format!("works from {}", labels(Verdict::Works).join(", "))];
    for v in [Verdict::Fails, Verdict::Inconclusive, Verdict::NotChecked] {
        let l = labels(v);
        if !l.is_empty() {
            parts.push(format!("{} from {}", v.as_str(), l.join(", ")));
        }
    }
    let failing = ps.iter().filter(|p| p.verdict != Verdict::Works).count();
    let mut targets: Vec<(&str, &str)> = ps
        .iter()
        .filter_map(|p| Some((p.vantage_label.as_str(), p.target.as_deref()?)))
        .collect();
    targets.sort_by_key(|(_, t)| *t);
    let distinct: std::collections::BTreeSet<&str> = targets.iter().map(|(_, t)| *t).collect();
    let targets_note = if distinct.len() > 1 {
        format!(
            "; the networks see different targets: {}",
            targets
                .iter()
                .map(|(l, t)| format!("{l} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let rule = if beyond_quorum {
        format!(
            "{failing} of {} perspectives do not work, more than the quorum allows ({quorum}): a CA validating from several networks refuses to issue",
            ps.len()
        )
    } else {
        format!(
            "{failing} of {} perspectives do not work, within the quorum ({quorum}): a CA that allows as many failing perspectives issues, a stricter one does not",
            ps.len()
        )
    };
    let code = Code::PerspectivesDisagree;
    MergedFinding {
        code: code.as_str().to_string(),
        severity: if beyond_quorum {
            Severity::Error
        } else {
            Severity::Warning
        }
        .to_string(),
        name: name.to_string(),
        evidence: format!("{}{targets_note}: {rule}", parts.join("; ")),
        fix: "look at the findings from the networks where it does not work (below): a name server or resolver that answers differently there (geo-DNS, an anycast node out of sync, a split view) must serve the same CNAME everywhere".into(),
        vantage_label: None,
    }
}

/// Exit status of `merge`: 0 every name works, 1 some name does not, 3 no name could be
/// judged from any network.
pub fn exit_code(m: &Merged) -> i32 {
    if !m.names.is_empty() && m.names.iter().all(|n| n.inconclusive) {
        3
    } else if m.names.iter().any(|n| !n.ok) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(label: &str, names: &[(&str, bool, bool, &[&str])]) -> Source {
        let names: Vec<serde_json::Value> = names
            .iter()
            .map(|(n, ok, inc, errs)| {
                serde_json::json!({
                    "name": n, "challenge": format!("_acme-challenge.{n}."),
                    "target": format!("{label}-t.acme.lab."),
                    "ok": ok, "inconclusive": inc, "chain": [], "views": [],
                    "findings": errs.iter().map(|c| serde_json::json!({
                        "code": c, "severity": "error", "name": n,
                        "evidence": format!("{c} seen"), "fix": "f", "observed": []
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "version": 1, "vantage_label": label, "taken_at": "2026-12-06T18:00:00Z",
            "resolvers": [{"name": "r", "kind": "resolver", "server": "127.0.0.53:53"}],
            "names": names,
        });
        Source {
            file: format!("{label}.json"),
            report: serde_json::from_value(v).unwrap(),
        }
    }

    #[test]
    fn agreement_and_disagreement() {
        let a = doc(
            "eu",
            &[
                ("www.example.com", true, false, &[]),
                ("x.example.com", true, false, &[]),
            ],
        );
        let b = doc(
            "us",
            &[
                ("www.example.com", false, false, &["CNAME_MISSING"]),
                ("x.example.com", true, false, &[]),
            ],
        );
        let m = merge(&[a.clone(), b.clone()], 0).unwrap();
        assert_eq!(m.names.len(), 2);
        let www = &m.names[0];
        assert!(!www.ok && !www.inconclusive);
        assert_eq!(www.findings[0].code, "PERSPECTIVES_DISAGREE");
        assert_eq!(www.findings[0].severity, "error");
        let ev = &www.findings[0].evidence;
        assert!(ev.contains("works from eu"), "{ev}");
        assert!(ev.contains("fails from us (CNAME_MISSING)"), "{ev}");
        assert!(ev.contains("different targets"), "{ev}");
        assert_eq!(www.findings[1].vantage_label.as_deref(), Some("us"));
        assert_eq!(
            www.perspectives
                .iter()
                .map(|p| p.verdict)
                .collect::<Vec<_>>(),
            vec![Verdict::Works, Verdict::Fails]
        );
        assert!(m.names[1].ok && m.names[1].findings.is_empty());
        assert_eq!(exit_code(&m), 1);
        // One failing perspective allowed: the name works, the finding stays as a warning.
        let c = doc("ap", &[("www.example.com", true, false, &[])]);
        let m = merge(&[a, b, c], 1).unwrap();
        let www = &m.names[0];
        assert!(www.ok);
        assert_eq!(www.findings[0].severity, "warning");
        // x.example.com was not checked from ap: a failing perspective, within quorum 1.
        let x = &m.names[1];
        assert!(x.ok);
        assert_eq!(x.perspectives[2].verdict, Verdict::NotChecked);
        assert!(x.findings[0].evidence.contains("not checked from ap"));
        assert_eq!(exit_code(&m), 0);
    }

    #[test]
    fn failing_everywhere_is_no_disagreement_and_inconclusive_is_3() {
        let a = doc("eu", &[("a.example.com", false, false, &["CNAME_MISSING"])]);
        let b = doc("us", &[("a.example.com", false, false, &["CNAME_MISSING"])]);
        let m = merge(&[a, b], 0).unwrap();
        assert!(!m.names[0].ok);
        assert!(m.names[0]
            .findings
            .iter()
            .all(|f| f.code != "PERSPECTIVES_DISAGREE"));
        assert_eq!(exit_code(&m), 1);
        let a = doc("eu", &[("a.example.com", false, true, &[])]);
        let b = doc("us", &[("a.example.com", false, true, &[])]);
        let m = merge(&[a, b], 0).unwrap();
        assert!(m.names[0].inconclusive);
        assert_eq!(exit_code(&m), 3);
    }

    #[test]
    fn bad_inputs_are_named() {
        let a = doc("eu", &[]);
        assert_eq!(
            merge(std::slice::from_ref(&a), 0).unwrap_err(),
            MergeError::TooFew(1)
        );
        let b = doc("eu", &[]);
        assert!(matches!(
            merge(&[a.clone(), b], 0),
            Err(MergeError::SameLabel { .. })
        ));
        let b = doc("us", &[]);
        assert!(matches!(
            merge(&[a.clone(), b.clone()], 2),
            Err(MergeError::Quorum { .. })
        ));
        let err = Source {
            file: "e.json".into(),
            report: serde_json::from_str(
                r#"{"version":1,"error":{"exit":2,"message":"invalid name"}}"#,
            )
            .unwrap(),
        };
        let e = merge(&[a.clone(), err], 0).unwrap_err();
        assert!(e.to_string().contains("e.json") && e.to_string().contains("invalid name"));
        let v2 = Source {
            file: "v2.json".into(),
            report: serde_json::from_str(r#"{"version":2,"names":[]}"#).unwrap(),
        };
        assert!(matches!(
            merge(&[a, v2], 0),
            Err(MergeError::Version { version: 2, .. })
        ));
    }
}

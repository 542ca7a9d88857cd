//! The report as a Prometheus text exposition (node_exporter textfile collector), so a
//! delegation that breaks between renewals raises an alert instead of a silent failure.
//!
//! Every series carries a `command` label (`check` or `diagnose`), so the files of both
//! commands can sit in the same textfile directory without clashing series.

use super::{NameReport, Report};
use crate::findings::{Code, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The exposition of `report`, stamped with the current time.
pub fn render(report: &Report, command: &str) -> String {
    render_at(report, command, SystemTime::now())
}

/// The exposition of `report` with `acme_delegate_last_run_timestamp_seconds` = `now`.
/// Deterministic: the same report and time give the same bytes (series sorted by labels).
pub fn render_at(report: &Report, command: &str, now: SystemTime) -> String {
    let mut out = String::new();
    let labels = format!("command=\"{}\"", escape(command));
    verdict_series(&mut out, report, &labels);
    header(
        &mut out,
        "acme_delegate_names",
        "Number of names in the run.",
    );
    let names: std::collections::BTreeSet<&str> =
        report.names.iter().map(|n| n.name.as_str()).collect();
    let _ = writeln!(out, "acme_delegate_names{{{labels}}} {}", names.len());
    header(
        &mut out,
        "acme_delegate_last_run_timestamp_seconds",
        "Unix time at which the run finished writing this file.",
    );
    let _ = writeln!(
        out,
        "acme_delegate_last_run_timestamp_seconds{{{labels}}} {}",
        unix_secs(now)
    );
    out
}

/// The answer of the exporter's `GET /probe` (`serve`): the textfile's series for the names
/// of the probe, each also labelled `vantage` (the network it was taken from), then
/// `acme_delegate_ok` (1 if every name of the probe checked out, as blackbox_exporter's
/// `probe_success`) and `acme_delegate_probe_duration_seconds`.
pub fn render_probe(report: &Report, vantage: &str, took: std::time::Duration) -> String {
    let mut out = String::new();
    let labels = format!("command=\"check\",vantage=\"{}\"", escape(vantage));
    verdict_series(&mut out, report, &labels);
    let vantage = format!("vantage=\"{}\"", escape(vantage));
    header(
        &mut out,
        "acme_delegate_ok",
        "1 if every name of the probe checked out (no error finding, servers answered), else 0.",
    );
    let ok = !report.names.is_empty() && report.names.iter().all(|n| n.ok);
    let _ = writeln!(out, "acme_delegate_ok{{{vantage}}} {}", u8::from(ok));
    header(
        &mut out,
        "acme_delegate_probe_duration_seconds",
        "How long the probe took, in seconds.",
    );
    let _ = writeln!(
        out,
        "acme_delegate_probe_duration_seconds{{{vantage}}} {:.6}",
        took.as_secs_f64()
    );
    out
}

/// `acme_delegate_name_ok`, `acme_delegate_findings` and (when a resolver serves a cached
/// negative answer) `acme_delegate_negative_cache_seconds`, each with `labels` appended.
fn verdict_series(out: &mut String, report: &Report, labels: &str) {
    // name -> ok (a name given twice is ok only if every report of it is).
    let mut ok: BTreeMap<&str, bool> = BTreeMap::new();
    // (name, code, severity) -> count
    let mut counts: BTreeMap<(&str, &str, Severity), u64> = BTreeMap::new();
    // (name, resolver) -> seconds until its cached negative answer expires
    let mut negative: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    for n in &report.names {
        let e = ok.entry(n.name.as_str()).or_insert(true);
        *e &= n.ok;
        for f in &n.findings {
            *counts
                .entry((n.name.as_str(), f.code.as_str(), f.severity))
                .or_insert(0) += 1;
        }
        for (resolver, secs) in negative_caches(n) {
            let e = negative.entry((n.name.as_str(), resolver)).or_insert(secs);
            *e = (*e).max(secs);
        }
    }
    header(
        out,
        "acme_delegate_name_ok",
        "1 if the ACME DNS-01 delegation of the name checked out (no error finding, servers answered), else 0.",
    );
    for (name, ok) in &ok {
        let _ = writeln!(
            out,
            "acme_delegate_name_ok{{name=\"{}\",{labels}}} {}",
            escape(name),
            u8::from(*ok)
        );
    }
    header(
        out,
        "acme_delegate_findings",
        "Number of findings per name, finding code and severity (codes absent from the file have none).",
    );
    for ((name, code, sev), n) in &counts {
        let _ = writeln!(
            out,
            "acme_delegate_findings{{name=\"{}\",code=\"{}\",severity=\"{sev}\",{labels}}} {n}",
            escape(name),
            escape(code),
        );
    }
    if negative.is_empty() {
        return;
    }
    header(
        out,
        "acme_delegate_negative_cache_seconds",
        "Seconds until a resolver's cached NXDOMAIN/NODATA for the name expires (NEGATIVE_CACHED), as the resolver gave its TTL.",
    );
    for ((name, resolver), secs) in &negative {
        let _ = writeln!(
            out,
            "acme_delegate_negative_cache_seconds{{name=\"{}\",resolver=\"{}\",{labels}}} {secs}",
            escape(name),
            escape(resolver),
        );
    }
}

/// For each `NEGATIVE_CACHED` finding of `n`: the resolver and the TTL left on its cached
/// negative answer (the negative end of that resolver's view).
pub fn negative_caches(n: &NameReport) -> impl Iterator<Item = (&str, u32)> {
    n.findings
        .iter()
        .filter(|f| f.code == Code::NegativeCached)
        .flat_map(|f| f.observed.iter())
        .filter_map(move |o| {
            let view = n.views.iter().find(|v| v.vantage == o.vantage)?;
            let end = view
                .chain
                .iter()
                .rev()
                .find(|e| e.rtype == "NXDOMAIN" || e.rtype == "NODATA")?;
            Some((view.vantage.as_str(), end.ttl.unwrap_or(0)))
        })
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header(out: &mut String, metric: &str, help: &str) {
    let _ = writeln!(out, "# HELP {metric} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {metric} gauge");
}

/// A label value as the text format wants it: `\` `"` and newline escaped.
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text: only `\` and newline are escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Name;
    use crate::findings::{Code, Finding};
    use crate::report::NameReport;
    use std::time::Duration;

    fn name(n: &str, findings: Vec<Finding>) -> NameReport {
        let ok = !findings.iter().any(|f| f.severity == Severity::Error);
        NameReport {
            name: n.into(),
            challenge: Name::from_ascii(&format!("_acme-challenge.{n}")),
            target: None,
            ok,
            inconclusive: false,
            chain: vec![],
            views: vec![],
            findings,
        }
    }

    fn f(code: Code, n: &str) -> Finding {
        Finding::new(code, n, "e".into(), "f".into())
    }

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn full_output() {
        let r = Report {
            version: 1,
            names: vec![
                name(
                    "www.example.com",
                    vec![
                        f(Code::ResolverStale, "www.example.com"),
                        f(Code::ResolverStale, "www.example.com"),
                        f(Code::CnameMissing, "www.example.com"),
                        f(Code::ResolverStale, "www.example.com").severity(Severity::Error),
                    ],
                ),
                name("*.example.com", vec![]),
            ],
        };
        let got = render_at(&r, "check", t());
        let want = r#"# HELP acme_delegate_name_ok 1 if the ACME DNS-01 delegation of the name checked out (no error finding, servers answered), else 0.
# TYPE acme_delegate_name_ok gauge
acme_delegate_name_ok{name="*.example.com",command="check"} 1
acme_delegate_name_ok{name="www.example.com",command="check"} 0
# HELP acme_delegate_findings Number of findings per name, finding code and severity (codes absent from the file have none).
# TYPE acme_delegate_findings gauge
acme_delegate_findings{name="www.example.com",code="CNAME_MISSING",severity="error",command="check"} 1
acme_delegate_findings{name="www.example.com",code="RESOLVER_STALE",severity="warning",command="check"} 2
acme_delegate_findings{name="www.example.com",code="RESOLVER_STALE",severity="error",command="check"} 1
# HELP acme_delegate_names Number of names in the run.
# TYPE acme_delegate_names gauge
acme_delegate_names{command="check"} 2
# HELP acme_delegate_last_run_timestamp_seconds Unix time at which the run finished writing this file.
# TYPE acme_delegate_last_run_timestamp_seconds gauge
acme_delegate_last_run_timestamp_seconds{command="check"} 1700000000
"#;
        assert_eq!(got, want);
    }

    #[test]
    fn deterministic_whatever_the_order() {
        let a = name(
            "a.example.com",
            vec![f(Code::CnameMissing, "a"), f(Code::ChainLoop, "a")],
        );
        let b = name("b.example.com", vec![f(Code::ServerLame, "b")]);
        let r1 = Report {
            version: 1,
            names: vec![a.clone(), b.clone()],
        };
        let mut a2 = a.clone();
        a2.findings.reverse();
        let r2 = Report {
            version: 1,
            names: vec![b, a2],
        };
        assert_eq!(
            render_at(&r1, "diagnose", t()),
            render_at(&r2, "diagnose", t())
        );
        assert_eq!(
            render_at(&r1, "diagnose", t()),
            render_at(&r1, "diagnose", t())
        );
        let out = render_at(&r1, "diagnose", t());
        let chain = out.find("code=\"CHAIN_LOOP\"").unwrap();
        let cname = out.find("code=\"CNAME_MISSING\"").unwrap();
        let lame = out.find("code=\"SERVER_LAME\"").unwrap();
        assert!(chain < cname && cname < lame);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(escape("plain.example.com"), "plain.example.com");
        let r = Report {
            version: 1,
            names: vec![name("we\"ird\\na\nme", vec![])],
        };
        let out = render_at(&r, "ch\"eck", t());
        assert!(out.contains(
            "acme_delegate_name_ok{name=\"we\\\"ird\\\\na\\nme\",command=\"ch\\\"eck\"} 1\n"
        ));
        // Every sample is on one line: no raw newline inside a label.
        for line in out.lines() {
            assert!(
                line.starts_with('#') || line.starts_with("acme_delegate_"),
                "{line}"
            );
        }
    }

    #[test]
    fn duplicates_and_empty() {
        let r = Report {
            version: 1,
            names: vec![],
        };
        let out = render_at(&r, "check", t());
        assert!(out.contains("acme_delegate_names{command=\"check\"} 0\n"));
        assert!(!out.contains("acme_delegate_name_ok{"));
        let r = Report {
            version: 1,
            names: vec![
                name("x.example.com", vec![]),
                name("x.example.com", vec![f(Code::CnameMissing, "x")]),
            ],
        };
        let out = render_at(&r, "check", t());
        assert_eq!(out.matches("acme_delegate_name_ok{").count(), 1);
        assert!(out.contains("acme_delegate_name_ok{name=\"x.example.com\",command=\"check\"} 0\n"));
        assert!(out.contains("acme_delegate_names{command=\"check\"} 1\n"));
    }

    #[test]
    fn probe_answer_has_the_verdict_the_vantage_and_negative_caches() {
        use crate::findings::evidence::VantageKind;
        use crate::findings::Observation;
        use crate::report::{ChainEntry, View};
        let mut bad = name(
            "neg.example.com",
            vec![
                f(Code::NegativeCached, "neg.example.com").observe(Observation {
                    vantage: "unbound2".into(),
                    server: "127.0.0.54:53".into(),
                    question: "_acme-challenge.neg.example.com. TXT".into(),
                    outcome: "NXDOMAIN".into(),
                    ttl: Some(60),
                    ms: 1,
                }),
            ],
        );
        bad.views.push(View {
            vantage: "unbound2".into(),
            kind: VantageKind::Resolver,
            server: "127.0.0.54:53".into(),
            zone: None,
            question: "_acme-challenge.neg.example.com. TXT".into(),
            outcome: "NXDOMAIN".into(),
            detail: None,
            authoritative: false,
            chain: vec![ChainEntry {
                owner: Name::from_ascii("_acme-challenge.neg.example.com."),
                rtype: "NXDOMAIN".into(),
                data: None,
                ttl: Some(287),
                server: None,
                zone: None,
            }],
            ms: 1,
        });
        let r = Report {
            version: 1,
            names: vec![bad, name("ok.example.com", vec![])],
        };
        let out = render_probe(&r, "eu-west", Duration::from_millis(1500));
        for want in [
            "acme_delegate_name_ok{name=\"neg.example.com\",command=\"check\",vantage=\"eu-west\"} 0\n",
            "acme_delegate_name_ok{name=\"ok.example.com\",command=\"check\",vantage=\"eu-west\"} 1\n",
            "acme_delegate_findings{name=\"neg.example.com\",code=\"NEGATIVE_CACHED\",severity=\"error\",command=\"check\",vantage=\"eu-west\"} 1\n",
            "acme_delegate_negative_cache_seconds{name=\"neg.example.com\",resolver=\"unbound2\",command=\"check\",vantage=\"eu-west\"} 287\n",
            "acme_delegate_ok{vantage=\"eu-west\"} 0\n",
            "acme_delegate_probe_duration_seconds{vantage=\"eu-west\"} 1.500000\n",
        ] {
            assert!(out.contains(want), "{want}\n{out}");
        }
        // The textfile carries the negative cache too, labelled as before.
        let text = render_at(&r, "check", t());
        assert!(text.contains(
            "acme_delegate_negative_cache_seconds{name=\"neg.example.com\",resolver=\"unbound2\",command=\"check\"} 287\n"
        ));
        let ok = Report {
            version: 1,
            names: vec![name("ok.example.com", vec![])],
        };
        let out = render_probe(&ok, "eu-west", Duration::ZERO);
        assert!(out.contains("acme_delegate_ok{vantage=\"eu-west\"} 1\n"));
        assert!(!out.contains("negative_cache"));
    }
}

//! The report as a Prometheus text exposition (node_exporter textfile collector), so a
//! delegation that breaks between renewals raises an alert instead of a silent failure.
//!
//! Every series carries a `command` label (`check` or `diagnose`), so the files of both
//! commands can sit in the same textfile directory without clashing series.

use super::Report;
use crate::findings::Severity;
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
    let cmd = escape(command);
    // name -> ok (a name given twice is ok only if every report of it is).
    let mut ok: BTreeMap<&str, bool> = BTreeMap::new();
    // (name, code, severity) -> count
    let mut counts: BTreeMap<(&str, &str, Severity), u64> = BTreeMap::new();
    for n in &report.names {
        let e = ok.entry(n.name.as_str()).or_insert(true);
        *e &= n.ok;
        for f in &n.findings {
            *counts
                .entry((n.name.as_str(), f.code.as_str(), f.severity))
                .or_insert(0) += 1;
        }
    }
    let mut out = String::new();
    header(
        &mut out,
        "acme_delegate_name_ok",
        "1 if the ACME DNS-01 delegation of the name checked out (no error finding, servers answered), else 0.",
    );
    for (name, ok) in &ok {
        let _ = writeln!(
            out,
            "acme_delegate_name_ok{{name=\"{}\",command=\"{cmd}\"}} {}",
            escape(name),
            u8::from(*ok)
        );
    }
    header(
        &mut out,
        "acme_delegate_findings",
        "Number of findings per name, finding code and severity (codes absent from the file have none).",
    );
    for ((name, code, sev), n) in &counts {
        let _ = writeln!(
            out,
            "acme_delegate_findings{{name=\"{}\",code=\"{}\",severity=\"{sev}\",command=\"{cmd}\"}} {n}",
            escape(name),
            escape(code),
        );
    }
    header(
        &mut out,
        "acme_delegate_names",
        "Number of names in the run.",
    );
    let _ = writeln!(out, "acme_delegate_names{{command=\"{cmd}\"}} {}", ok.len());
    header(
        &mut out,
        "acme_delegate_last_run_timestamp_seconds",
        "Unix time at which the run finished writing this file.",
    );
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "acme_delegate_last_run_timestamp_seconds{{command=\"{cmd}\"}} {secs}"
    );
    out
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
}

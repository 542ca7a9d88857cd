//! `merge`: reports of the same names from several networks in, one verdict per name out
//! (the table or `--json`), as a CA that validates from several network perspectives.
//!
//! ```text
//! FAIL  splithorizon.example.test             works from 1 of 2 networks (quorum 0)
//!   inside     works    sh-label.acme.lab.
//!   outside    fails    sh-label.acme.lab.   SPLIT_HORIZON
//!   error   PERSPECTIVES_DISAGREE
//!           works from inside; fails from outside (SPLIT_HORIZON): ...
//!           fix: ...
//!   error   SPLIT_HORIZON  (outside)
//!           ...
//! ```

use super::args::MergeArgs;
use super::human::{self, Style};
use super::usage_json;
use acme_delegate::model::files;
use acme_delegate::report::merge::{self, Merged, MergedName, Source, Verdict};
use anstyle::AnsiColor;
use color_eyre::eyre::{eyre, Result};
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

/// Reads the reports, merges them, prints the verdict. No config, no network.
pub fn merge(args: MergeArgs) -> ExitCode {
    let paths = &args.reports;
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return usage_json(
            args.json,
            "standard input (-) can be given only once; save the other reports to files",
        );
    }
    let read = paths
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<Source>>>();
    let sources = match read {
        Ok(s) => s,
        Err(e) => return usage_json(args.json, e),
    };
    let merged = match merge::merge(&sources, args.quorum) {
        Ok(m) => m,
        Err(e) => return usage_json(args.json, e),
    };
    if args.json {
        super::out::json(&merged);
    } else {
        out!("{}", render(&merged, Style::detect()));
    }
    ExitCode::from(merge::exit_code(&merged) as u8)
}

/// One report: a regular file (or `-`), at most [`files::MAX_REPORT_BYTES`], JSON.
fn read_report(path: &Path) -> Result<Source> {
    let shown = path.display().to_string();
    let bytes = if path.as_os_str() == "-" {
        files::read_at_most(std::io::stdin().lock(), files::MAX_REPORT_BYTES)
    } else {
        files::read_regular_at_most(path, files::MAX_REPORT_BYTES)
    }
    .map_err(|e| eyre!("{shown}: {e}"))?;
    let report = serde_json::from_slice(&bytes)
        .map_err(|e| eyre!("{shown}: not a report of `check --json` or `diagnose --json`: {e}"))?;
    Ok(Source {
        file: shown,
        report,
    })
}

/// The table: the networks, then one block per name, worst first among equals kept in order.
pub fn render(m: &Merged, style: Style) -> String {
    let mut out = String::new();
    let rule = if m.quorum == 0 {
        "every network must see it work".to_string()
    } else {
        format!(
            "at most {} network{} may fail",
            m.quorum,
            if m.quorum == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(out, "{} networks; quorum: {rule}", m.vantages.len());
    for v in &m.vantages {
        let _ = writeln!(
            out,
            "  {:<20} taken {:<21} {}",
            human::cut(&v.vantage_label, 20),
            v.taken_at.as_deref().unwrap_or("(no time)"),
            v.file
        );
    }
    for n in &m.names {
        out.push('\n');
        render_name(n, m.vantages.len(), m.quorum, style, &mut out);
    }
    let bad = m.names.iter().filter(|n| !n.ok).count();
    let _ = writeln!(
        out,
        "\n{} name{} merged, {} ok, {} failing",
        m.names.len(),
        if m.names.len() == 1 { "" } else { "s" },
        m.names.len() - bad,
        bad
    );
    out
}

fn render_name(n: &MergedName, networks: usize, quorum: usize, style: Style, out: &mut String) {
    let verdict = if n.inconclusive {
        style.paint(AnsiColor::Yellow, "INCONCLUSIVE")
    } else if n.ok {
        style.paint(AnsiColor::Green, "OK  ")
    } else {
        style.paint(AnsiColor::Red, "FAIL")
    };
    let works = n
        .perspectives
        .iter()
        .filter(|p| p.verdict == Verdict::Works)
        .count();
    let tail = format!("works from {works} of {networks} networks (quorum {quorum})");
    let name = human::cut(&n.name, 80 - 8 - tail.len());
    let pad = 80usize.saturating_sub(6 + name.len() + tail.len());
    let _ = writeln!(out, "{verdict}  {name}{}{tail}", " ".repeat(pad.max(1)));
    for p in &n.perspectives {
        let line = format!(
            "  {:<20} {:<12} {:<30} {}",
            human::cut(&p.vantage_label, 20),
            p.verdict.as_str(),
            human::cut(p.target.as_deref().unwrap_or("-"), 30),
            p.errors.join(" ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for f in &n.findings {
        let sev = match f.severity.as_str() {
            "error" => style.paint(AnsiColor::Red, "error  "),
            "warning" => style.paint(AnsiColor::Yellow, "warning"),
            _ => style.paint(AnsiColor::Cyan, "info   "),
        };
        match &f.vantage_label {
            Some(l) => {
                let _ = writeln!(out, "  {sev} {}  ({l})", f.code);
            }
            None => {
                let _ = writeln!(out, "  {sev} {}", f.code);
            }
        }
        human::wrap(&f.evidence, 10, out);
        human::wrap(&format!("fix: {}", f.fix), 10, out);
    }
}

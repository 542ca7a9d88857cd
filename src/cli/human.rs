//! The human table: one block per name, readable at 80 columns; colour only on a terminal
//! and never with `NO_COLOR`.
//!
//! ```text
//! FAIL  api.example.test                                   1 error, 0 warnings
//!   challenge  _acme-challenge.api.example.test.
//!   chain      _acme-challenge.api.example.test.
//!              -> NXDOMAIN at _acme-challenge.api.example.test.  negative ttl 5
//!   VANTAGE               KIND  SERVER                 OUTCOME      MS
//!   ns1.example.test.     auth  127.0.0.11:53          NXDOMAIN      1
//!   lab-unbound           res   127.0.0.53:53          NXDOMAIN      2
//!   error   CNAME_DOUBLED_ZONE
//!           <evidence, wrapped>
//!           fix: <the record to publish or delete>
//! ```

use acme_delegate::engine::views::VantageKind;
use acme_delegate::findings::evidence::NOT_ASKED;
use acme_delegate::findings::Severity;
use acme_delegate::report::{NameReport, Report};
use anstyle::AnsiColor;
use std::fmt::Write;

/// Colour on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    pub fn paint(&self, color: AnsiColor, s: &str) -> String {
        if self.color {
            let style = anstyle::Style::new().fg_color(Some(color.into()));
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    }
}

const WIDTH: usize = 80;

/// `text` as lines of at most 80 columns, each indented by `indent`: white space is
/// collapsed, lines break only at spaces (first fit), and a word longer than a line is
/// kept whole (a name or URL stays copyable).
pub fn wrap(text: &str, indent: usize, out: &mut String) {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.is_empty() {
        return;
    }
    let pad = " ".repeat(indent);
    let opts = textwrap::Options::new(WIDTH)
        .initial_indent(&pad)
        .subsequent_indent(&pad)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    for line in textwrap::wrap(&words, opts) {
        let _ = writeln!(out, "{line}");
    }
}

pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('~');
        t
    }
}

/// Renders one name.
pub fn render_name(n: &NameReport, style: Style) -> String {
    let mut out = String::new();
    let errors = n
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = n
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let (verdict, shown) = if n.inconclusive {
        ("INCONCLUSIVE", "INCONCLUSIVE")
    } else if n.ok {
        ("OK", "OK  ")
    } else {
        ("FAIL", "FAIL")
    };
    let color = match verdict {
        "OK" => AnsiColor::Green,
        "FAIL" => AnsiColor::Red,
        _ => AnsiColor::Yellow,
    };
    let width = shown.len();
    let verdict = style.paint(color, shown);
    let counts = format!(
        "{errors} error{}, {warnings} warning{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
    let name = cut(&n.name, WIDTH - 4 - width - counts.len());
    let pad = WIDTH.saturating_sub(2 + width + name.len() + counts.len());
    let _ = writeln!(out, "{verdict}  {name}{}{counts}", " ".repeat(pad.max(1)));
    let _ = writeln!(out, "  challenge  {}", n.challenge);
    match n.chain.first() {
        None => {
            let _ = writeln!(out, "  chain      (no usable answer)");
        }
        Some(first) => {
            let _ = writeln!(
                out,
                "  chain      {}",
                cut(first.owner.as_str(), WIDTH - 13)
            );
        }
    }
    for e in &n.chain {
        let data = e.data.clone().unwrap_or_default();
        let ttl = e.ttl.map(|t| format!("  ttl {t}")).unwrap_or_default();
        let via = e
            .server
            .as_ref()
            .map(|s| format!("  @{s}"))
            .unwrap_or_default();
        let line = match e.rtype.as_str() {
            "CNAME" | "TXT" => format!("-> {} {}{}{}", e.rtype, data, ttl, via),
            "NS" => format!("-> zone cut: {} is delegated (NS {data})", e.owner),
            other => format!(
                "-> {other} at {}{}",
                e.owner,
                ttl.replace("ttl", "negative ttl")
            ),
        };
        let _ = writeln!(out, "             {}", cut(&line, WIDTH - 13));
    }
    let _ = writeln!(
        out,
        "  {:<21} {:<5} {:<22} {:<10} {:>6}",
        "VANTAGE", "KIND", "SERVER", "OUTCOME", "MS"
    );
    for v in &n.views {
        let kind = match v.kind {
            VantageKind::Authoritative => "auth",
            VantageKind::Resolver => "res",
            VantageKind::System => "sys",
        };
        let _ = writeln!(
            out,
            "  {:<21} {:<5} {:<22} {:<10} {:>6}",
            cut(&v.vantage, 21),
            kind,
            cut(&v.server, 22),
            cut(&v.outcome, 10),
            v.ms
        );
    }
    if let Some(why) = n
        .views
        .iter()
        .find(|v| v.outcome == NOT_ASKED)
        .and_then(|v| v.detail.as_ref())
    {
        wrap(&format!("resolvers {why}"), 2, &mut out);
    }
    for f in &n.findings {
        let sev = match f.severity {
            Severity::Error => style.paint(AnsiColor::Red, "error  "),
            Severity::Warning => style.paint(AnsiColor::Yellow, "warning"),
            Severity::Info => style.paint(AnsiColor::Cyan, "info   "),
        };
        let _ = writeln!(out, "  {sev} {}", f.code);
        wrap(&f.evidence, 10, &mut out);
        wrap(&format!("fix: {}", f.fix), 10, &mut out);
    }
    out
}

/// Renders the whole report in input order.
pub fn render(r: &Report, style: Style) -> String {
    render_names(r, r.names.iter().collect(), style)
}

/// Renders the report with the worst names first (errors, then warnings, then the rest),
/// as the troubleshooter shows them; the input order is kept among equals.
pub fn render_worst_first(r: &Report, style: Style) -> String {
    let mut names: Vec<&NameReport> = r.names.iter().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.findings.iter().map(|f| f.severity).max()));
    render_names(r, names, style)
}

fn render_names(r: &Report, names: Vec<&NameReport>, style: Style) -> String {
    let mut out = String::new();
    for (i, n) in names.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_name(n, style));
    }
    let _ = writeln!(out, "\n{}", summary(r));
    out
}

/// `N names checked, N ok, N failing, N inconclusive`: an inconclusive name is counted
/// apart from the failing ones.
pub fn summary(r: &Report) -> String {
    let ok = r.names.iter().filter(|n| n.ok).count();
    let inconclusive = r.names.iter().filter(|n| !n.ok && n.inconclusive).count();
    format!(
        "{} name{} checked, {ok} ok, {} failing, {inconclusive} inconclusive",
        r.names.len(),
        if r.names.len() == 1 { "" } else { "s" },
        r.names.len() - ok - inconclusive,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_80_columns() {
        let mut out = String::new();
        wrap(&"word ".repeat(60), 10, &mut out);
        assert!(out.lines().all(|l| l.len() <= WIDTH));
        assert!(out.lines().count() > 3);
        // First fit at spaces only: as the hand-written wrap did (14 words of 5 = 69 + 10).
        assert_eq!(out.lines().next().unwrap().len(), 10 + 14 * 5 - 1);
        assert!(out.lines().all(|l| l.starts_with(&" ".repeat(10))));
    }

    #[test]
    fn wrap_never_splits_a_word_or_a_hyphenated_name() {
        let mut out = String::new();
        let long = format!("_acme-challenge.{}.example.com", "x".repeat(80));
        wrap(
            &format!("publish  {long}\n now _acme-challenge.www-1.example.com"),
            2,
            &mut out,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "  publish".to_string(),
                format!("  {long}"),
                "  now _acme-challenge.www-1.example.com".to_string(),
            ]
        );
        let mut none = String::new();
        wrap(" \n ", 4, &mut none);
        assert_eq!(none, "");
    }

    fn name_report(name: &str, ok: bool, inconclusive: bool) -> NameReport {
        use acme_delegate::findings::Code;
        let mut findings = vec![];
        if !ok && !inconclusive {
            findings.push(acme_delegate::findings::Finding::new(
                Code::CnameMissing,
                name,
                "no CNAME".into(),
                "publish it".into(),
            ));
        }
        NameReport {
            name: name.into(),
            challenge: acme_delegate::dns::Name::from_ascii(&format!("_acme-challenge.{name}")),
            target: None,
            ok,
            inconclusive,
            chain: vec![],
            views: vec![],
            findings,
        }
    }

    /// An inconclusive name reads INCONCLUSIVE (not `????`) and is counted apart from
    /// the failing ones.
    #[test]
    fn an_inconclusive_name_reads_inconclusive_and_is_counted_apart() {
        let style = Style { color: false };
        let one = Report {
            version: 1,
            names: vec![name_report("www.example.com", false, true)],
        };
        let text = render(&one, style);
        assert!(text.starts_with("INCONCLUSIVE  www.example.com"), "{text}");
        assert!(!text.contains("????"));
        assert!(
            text.contains("\n1 name checked, 0 ok, 0 failing, 1 inconclusive\n"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.len() <= WIDTH), "{text}");
        let three = Report {
            version: 1,
            names: vec![
                name_report("a.example.com", true, false),
                name_report("b.example.com", false, false),
                name_report("c.example.com", false, true),
            ],
        };
        assert_eq!(
            summary(&three),
            "3 names checked, 1 ok, 1 failing, 1 inconclusive"
        );
        let text = render(&three, style);
        assert!(text.contains("OK    a.example.com"), "{text}");
        assert!(text.contains("FAIL  b.example.com"), "{text}");
    }

    #[test]
    fn no_escape_codes_without_colour() {
        assert_eq!(Style { color: false }.paint(AnsiColor::Red, "x"), "x");
        assert_eq!(
            Style { color: true }.paint(AnsiColor::Red, "x"),
            "\x1b[31mx\x1b[0m"
        );
    }
}

//! docs/findings.md, the finding catalog and the code agree: every catalog code is
//! documented with the severity of [`Code`], every documented code exists, and no code is
//! listed twice. (Every code the source emits is a [`Code`]: the compiler checks that.) No lab needed.

use acme_delegate::findings::catalog::CATALOG;
use acme_delegate::findings::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn catalog_codes() -> BTreeSet<&'static str> {
    Code::ALL.iter().map(|c| c.as_str()).collect()
}

/// The codes of the `## CODE` headings of docs/findings.md (fenced code blocks skipped).
fn documented_codes() -> Vec<String> {
    let path = root().join("docs/findings.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            out.push(h.trim().trim_matches('`').to_string());
        }
    }
    out
}

/// The `**Severity:** ...` line of each `## CODE` section: (code, the rest of the line).
fn documented_severities() -> BTreeMap<String, String> {
    let path = root().join("docs/findings.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            current = Some(h.trim().trim_matches('`').to_string());
        } else if let (Some(code), Some(rest)) = (&current, line.strip_prefix("**Severity:** ")) {
            out.insert(code.clone(), rest.to_string());
        }
    }
    out
}

#[test]
fn every_catalog_code_has_a_section() {
    let documented: BTreeSet<String> = documented_codes().into_iter().collect();
    let missing: Vec<&str> = catalog_codes()
        .into_iter()
        .filter(|c| !documented.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "finding codes without a section in docs/findings.md: {}; fix: add a `## CODE` section \
         (severity, meaning, detection, fix, sample) to docs/findings.md for each, and a row in \
         its table",
        missing.join(", ")
    );
}

#[test]
fn every_section_names_a_catalog_code() {
    let catalog = catalog_codes();
    let unknown: Vec<String> = documented_codes()
        .into_iter()
        .filter(|c| !catalog.contains(c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/findings.md has `## ` sections for codes that are not in CATALOG \
         (src/findings/catalog.rs): {}; fix: correct the heading to the exact code, or remove \
         the section, or add the code to CATALOG (only `## CODE` headings may use level 2)",
        unknown.join(", ")
    );
}

#[test]
fn every_section_appears_once() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in documented_codes() {
        *seen.entry(c).or_default() += 1;
    }
    let doubled: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(c, n)| format!("{c} ({n} times)"))
        .collect();
    assert!(
        doubled.is_empty(),
        "docs/findings.md has more than one `## CODE` section for: {}; fix: merge them into one",
        doubled.join(", ")
    );
}

/// A severity line states `want` when it starts with it (`error.`), or, for a graded code
/// (`for an authoritative server: error when ...`), when it names it.
fn states(line: &str, want: &str) -> bool {
    let first: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    match first.as_str() {
        "info" | "warning" | "error" => first == want,
        _ => line.contains(want),
    }
}

#[test]
fn every_section_states_the_codes_default_severity() {
    let documented = documented_severities();
    let wrong: Vec<String> = Code::ALL
        .iter()
        .filter_map(|c| {
            let want = c.default_severity().to_string();
            match documented.get(c.as_str()) {
                Some(line) if states(line, &want) => None,
                Some(line) => Some(format!("{c} (doc: {line:?}, code: {want})")),
                None => Some(format!("{c} (no `**Severity:**` line)")),
            }
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "docs/findings.md disagrees with Code::default_severity for: {}; fix: correct the \
         `**Severity:**` line of the section, or the severity in src/findings/catalog.rs",
        wrong.join(", ")
    );
}

#[test]
fn catalog_has_no_duplicates() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (code, _, _) in CATALOG {
        *seen.entry(code).or_default() += 1;
    }
    let doubled: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(c, n)| format!("{c} ({n} times)"))
        .collect();
    assert!(
        doubled.is_empty(),
        "CATALOG in src/findings/catalog.rs lists codes more than once: {}; fix: keep one entry \
         per code (lookup() returns only the first, so the others' severity is ignored)",
        doubled.join(", ")
    );
}

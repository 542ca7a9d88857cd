//! docs/findings.md, the finding catalog and the code agree: every catalog code is
//! documented, every documented code exists, every code the source emits is in the catalog,
//! and no code is listed twice. No lab needed.

use acme_delegate::findings::catalog::CATALOG;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn catalog_codes() -> BTreeSet<&'static str> {
    CATALOG.iter().map(|(code, _, _)| *code).collect()
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

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every `Finding::new(` followed by whitespace and a string literal of `[A-Z0-9_]+`:
/// (code, file, line). Calls whose first argument is not such a literal are skipped.
fn codes_in_source() -> Vec<(String, PathBuf, usize)> {
    const CALL: &str = "Finding::new(";
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let mut from = 0;
        while let Some(i) = text[from..].find(CALL) {
            let at = from + i;
            from = at + CALL.len();
            let rest = text[from..].trim_start();
            let Some(lit) = rest.strip_prefix('"') else {
                continue;
            };
            let Some(end) = lit.find('"') else {
                continue;
            };
            let code = &lit[..end];
            if !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                let line = text[..at].matches('\n').count() + 1;
                out.push((code.to_string(), file.clone(), line));
            }
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

#[test]
fn every_code_the_source_emits_is_in_the_catalog() {
    let catalog = catalog_codes();
    let used = codes_in_source();
    assert!(
        !used.is_empty(),
        "found no `Finding::new(\"CODE\"` call under src/: the scan in tests/findings_doc.rs is \
         out of date"
    );
    let unknown: Vec<String> = used
        .iter()
        .filter(|(c, _, _)| !catalog.contains(c.as_str()))
        .map(|(c, f, l)| {
            let f = f.strip_prefix(root()).unwrap_or(f);
            format!("{c} ({}:{l})", f.display())
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "codes passed to Finding::new that are not in CATALOG: {}; fix: add each to CATALOG in \
         src/findings/catalog.rs (code, default severity, one-line meaning) and add a `## CODE` \
         section to docs/findings.md (or correct the misspelt code)",
        unknown.join(", ")
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

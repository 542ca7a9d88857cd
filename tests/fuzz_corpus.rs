//! Replays the fuzzers' corpora (`fuzz/corpus/<target>/`, minimised with `cargo fuzz cmin`)
//! through the same functions the fuzz targets call, on stable Rust: every input that ever
//! found new code stays a regression test. A target's folder must hold inputs.

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::Path;
use std::time::{Duration, Instant};

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs", dir.display());
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", f.display());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{target}: {} takes {:?}",
            f.display(),
            start.elapsed()
        );
    }
    files.len()
}

#[test]
fn every_fuzz_corpus_replays_without_a_panic() {
    let mut counts = Vec::new();
    for (target, run) in targets::TARGETS {
        counts.push((target, replay(target, *run)));
    }
    eprintln!("replayed: {counts:?}");
}

/// The crashes the fuzzers found, kept by name (`fuzz/regressions/<target>-*`).
#[test]
fn fuzz_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd {
        let p = e.unwrap().path();
        let fname = p.file_name().unwrap().to_string_lossy().into_owned();
        let (_, run) = targets::TARGETS
            .iter()
            .find(|(t, _)| fname.starts_with(&format!("{t}-")))
            .unwrap_or_else(|| panic!("{fname}: no target of that name"));
        let data = std::fs::read(&p).unwrap();
        assert!(
            std::panic::catch_unwind(|| run(&data)).is_ok(),
            "{fname} panics"
        );
    }
}

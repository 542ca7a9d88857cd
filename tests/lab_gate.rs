//! The gate of the lab tests (tests/common/mod.rs `lab_gate`): without the lab a test is
//! skipped with a one-line reason, unless `LAB_REQUIRED` is set (tests/lab/test.sh sets
//! it), and then it fails. No lab is needed here.

mod common;

use common::{lab_gate, LabGate};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

const CFG: &str = "/lab/run/acme-delegate.toml";
const RUN: &str = "/lab/run";

fn os(s: &str) -> Option<&OsStr> {
    Some(OsStr::new(s))
}

/// A file system where only `present` exists.
fn only(present: &'static [&'static str]) -> impl Fn(&Path) -> bool {
    move |p| present.iter().any(|q| Path::new(q) == p)
}

const UP: &[&str] = &[CFG, "/lab/run/.lab-run"];

#[test]
fn a_running_lab_runs_the_test_required_or_not() {
    for required in [None, os("1"), os("0")] {
        assert_eq!(
            lab_gate(os(CFG), os(RUN), required, only(UP)),
            LabGate::Run(PathBuf::from(RUN))
        );
    }
}

#[test]
fn no_lab_skips_with_a_one_line_reason() {
    for (cfg, run, present, why) in [
        (None, None, &[][..], "LAB_CONFIG unset"),
        (None, os(RUN), UP, "LAB_CONFIG unset"),
        (os(CFG), None, UP, "LAB_RUN_DIR unset"),
        (os(CFG), os(RUN), &[CFG][..], "no /lab/run/.lab-run"),
        (
            os(CFG),
            os(RUN),
            &["/lab/run/.lab-run"][..],
            "no /lab/run/acme-delegate.toml",
        ),
    ] {
        let present: &'static [&'static str] = present;
        for required in [None, os(""), os("0")] {
            let LabGate::Skip(reason) = lab_gate(cfg, run, required, only(present)) else {
                panic!("{why}: not skipped with LAB_REQUIRED={required:?}");
            };
            assert_eq!(
                reason,
                format!("lab not running ({why}); run tests/lab/test.sh")
            );
            assert!(!reason.contains('\n'), "{reason}");
        }
    }
}

#[test]
fn lab_required_turns_a_missing_lab_into_a_failure() {
    for required in ["1", "yes"] {
        assert_eq!(
            lab_gate(None, None, os(required), only(&[])),
            LabGate::Fail(
                "LAB_REQUIRED is set: lab not running (LAB_CONFIG unset); run tests/lab/test.sh"
                    .into()
            )
        );
        let gate = lab_gate(os(CFG), os(RUN), os(required), only(&[CFG]));
        assert!(
            matches!(&gate, LabGate::Fail(r) if r.contains("no /lab/run/.lab-run")),
            "{gate:?}"
        );
    }
}

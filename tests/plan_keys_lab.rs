//! `plan` saves nothing on an error, and never loses a key (issue 18, items 11-12): a key
//! given with `--key` that differs from the stored key of the same name is stored under a
//! new name, and not at all when the plan is not saved; an error finding
//! (TSIG_OVERPRIVILEGED) saves nothing unless `--force`, which names the error.

mod common;

use common::{cli, plan_file, run_dir, unique};

fn key_file_of(plan: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(plan).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v["zone"]["key_file"].as_str().unwrap().into()
}

fn plan_with(plan: &std::path::Path, key_flag: &str, key: &str) -> (i32, String, String) {
    cli(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        key_flag,
        key,
        "--domain",
        "acme.lab",
        &unique("pk"),
    ])
}

#[test]
fn a_stored_key_is_never_overwritten_and_an_error_saves_nothing() {
    let Some(_lab) = common::lab() else { return };
    let kdig = std::fs::read_to_string(run_dir().join("tsig.kdig")).unwrap();
    let kdig = kdig.trim();
    let first = plan_file();
    let (rc, out, err) = plan_with(&first, "--key", kdig);
    assert_eq!(rc, 0, "{out}\n{err}");
    let key = key_file_of(&first);
    let kept = std::fs::read(&key).unwrap();
    let keys_dir = key.parent().unwrap().to_path_buf();
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&keys_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let before = listing();

    // The same key name with a wrong secret: BADSIG, nothing saved, and the stored key
    // is untouched (main overwrote it), and no other key file is left.
    let wrong = format!(
        "hmac-sha256:acme-update:{}",
        "d3JvbmcgIHdyb25nICB3cm9uZyAgd3JvbmcgIHdyb25nIA=="
    );
    let second = plan_file();
    let (rc, out, err) = plan_with(&second, "--key", &wrong);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(!second.exists(), "no plan saved");
    // (compared, never printed: it holds the secret)
    assert!(
        std::fs::read(&key).unwrap() == kept,
        "the stored key was replaced"
    );
    assert_eq!(listing(), before, "a key file was left behind");

    // An over-privileged key: TSIG_OVERPRIVILEGED is an error, so nothing is saved (main
    // saved the plan, against its help); --force saves it and names the error.
    let admin = std::env::var("LAB_TSIG_ADMIN_BIND_KEY").unwrap();
    let third = plan_file();
    let (rc, out, err) = plan_with(&third, "--key-file", &admin);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(!third.exists(), "saved despite TSIG_OVERPRIVILEGED: {out}");
    assert!(
        err.contains("nothing was saved") && err.contains("TSIG_OVERPRIVILEGED"),
        "{err}"
    );
    assert!(out.contains("NOT saved"), "{out}");
    let (rc, out, err) = cli(&[
        "plan",
        "--plan",
        third.to_str().unwrap(),
        "--force",
        "--zone",
        "rfc2136",
        "--server",
        "127.0.0.12:53",
        "--key-file",
        &admin,
        "--domain",
        "acme.lab",
        &unique("pf"),
    ]);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(third.exists(), "--force saves: {out}\n{err}");
    assert!(
        err.contains("--force") && err.contains("TSIG_OVERPRIVILEGED"),
        "{err}"
    );
}

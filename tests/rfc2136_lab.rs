//! RFC 2136 updates signed with TSIG against the lab's knot (127.0.0.12, zone acme.lab.).
//!
//! Run: `tests/lab/hermetic.sh cargo test --offline --test rfc2136_lab`.

mod common;

use acme_delegate::dns::{Name, Rcode, TsigError};
use acme_delegate::zones::rfc2136::{
    self, probe_scope, publish_txt, remove_txt, ScopeVerdict, Secret, TsigAlgorithm, TsigKey,
};
use acme_delegate::zones::update::{self, UpdateOp, UpdateOutcome, UpdateRequest};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const T: Duration = Duration::from_secs(5);

/// Every lab test runs under this bound.
async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(40), f)
        .await
        .expect("the test did not finish within 40 s");
}

fn server() -> SocketAddr {
    common::run_dir();
    std::env::var("RFC2136_NAMESERVER")
        .unwrap_or_else(|_| "127.0.0.12:53".into())
        .parse()
        .expect("RFC2136_NAMESERVER is ADDR:PORT")
}

fn zone() -> Name {
    Name::from_ascii("acme.lab.")
}

fn update_key() -> TsigKey {
    let p = common::run_dir().join("tsig.bind.key");
    TsigKey::from_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn admin_key() -> TsigKey {
    let p = std::env::var_os("LAB_TSIG_ADMIN_KDIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "LAB_TSIG_ADMIN_KDIG is not set: the lab does not provide the over-privileged key \
             acme-admin yet (tests/lab/start.sh must create it and export LAB_TSIG_ADMIN_KDIG \
             in run/env.sh); this test cannot check the TSIG_OVERPRIVILEGED case without it"
            )
        });
    TsigKey::from_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn label() -> String {
    format!("t{:x}-label", common::rand_suffix() ^ rand_u32())
}

fn rand_u32() -> u64 {
    // A second source, so parallel tests in one process get distinct names.
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `kdig @127.0.0.12 +norec +short TYPE NAME` (over TCP, so no retries are needed).
fn kdig_short(rtype: &str, name: &Name) -> String {
    let out = common::sh(&format!(
        "kdig @127.0.0.12 +norec +tcp +short +time=3 +retry=0 {rtype} {name}"
    ));
    assert!(
        out.status.success(),
        "kdig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls kdig until `pred` holds (knot answers the update once it is applied; the poll
/// only guards against a slow journal), up to 5 s.
async fn wait_for(rtype: &str, name: &Name, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..25 {
        last = kdig_short(rtype, name);
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_then_remove_a_txt_with_the_bind_key_file() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let key = update_key();
        assert_eq!(key.name.as_str(), "acme-update.");
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha256);
        let owner = zone().prepend(&label());
        let value = format!("token-{}", common::rand_suffix());

        let r = publish_txt(server(), &zone(), &owner, &value, 60, &key, T).await;
        assert!(r.applied(), "{}", r.explain());
        assert!(r.explain().contains("applied"), "{}", r.explain());
        let seen = wait_for("TXT", &owner, |s| s.contains(&value)).await;
        assert!(
            seen.contains(&value),
            "kdig does not show the TXT: {seen:?}"
        );

        let r = remove_txt(server(), &zone(), &owner, &value, &key, T).await;
        assert!(r.applied(), "{}", r.explain());
        let seen = wait_for("TXT", &owner, |s| !s.contains(&value)).await;
        assert!(!seen.contains(&value), "the TXT is still there: {seen:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_three_key_sources_of_the_lab_agree() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let bind = update_key();
        let kdig = TsigKey::from_file(&PathBuf::from(
            std::env::var("LAB_TSIG_KDIG").expect("LAB_TSIG_KDIG is set by run/env.sh"),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bind, kdig);
        let env_secret =
            Secret::from_base64(&std::env::var("RFC2136_TSIG_SECRET").unwrap()).unwrap();
        assert_eq!(bind.secret, env_secret);
        assert_eq!(
            bind.name,
            Name::from_ascii(&std::env::var("RFC2136_TSIG_KEY").unwrap())
        );
        // The knot side of the key (the server's own configuration).
        let knot_conf = common::run_dir().join("knot-lab/tsig.conf");
        if knot_conf.exists() {
            let knot = TsigKey::from_file(&knot_conf).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(bind, knot);
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_badsig_and_the_explanation_says_secret() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let mut key = update_key();
        key.secret = Secret::new(b"not-the-right-secret-at-all-1234".to_vec());
        let owner = zone().prepend(&label());
        let r = publish_txt(server(), &zone(), &owner, "x", 60, &key, T).await;
        match r.outcome() {
            UpdateOutcome::Rejected { tsig_error, .. } => {
                assert_eq!(*tsig_error, Some(TsigError::BadSig), "{}", r.explain())
            }
            o => panic!("expected BADSIG, got {o:?}"),
        }
        assert!(r.explain().contains("secret"), "{}", r.explain());
        assert!(r.label().ends_with("BADSIG"), "{}", r.label());
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_name_is_badkey() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let mut key = update_key();
        key.name = Name::from_ascii("other-key.");
        let owner = zone().prepend(&label());
        let r = publish_txt(server(), &zone(), &owner, "x", 60, &key, T).await;
        match r.outcome() {
            UpdateOutcome::Rejected {
                tsig_error,
                reply_signed,
                ..
            } => {
                assert_eq!(*tsig_error, Some(TsigError::BadKey), "{}", r.explain());
                assert!(!reply_signed);
            }
            o => panic!("expected BADKEY, got {o:?}"),
        }
        assert!(
            r.explain().contains("unknown to the server"),
            "{}",
            r.explain()
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_the_server_does_not_serve_is_notauth() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let key = update_key();
        let zone = Name::from_ascii("example.test.");
        let owner = zone.prepend("_acme-challenge");
        let r = publish_txt(server(), &zone, &owner, "x", 60, &key, T).await;
        match r.outcome() {
            UpdateOutcome::Rejected {
                rcode, tsig_error, ..
            } => {
                assert_eq!(*rcode, Rcode::NotAuth, "{}", r.explain());
                assert_eq!(*tsig_error, None, "{}", r.explain());
            }
            o => panic!("expected NOTAUTH, got {o:?}"),
        }
        assert!(r.explain().contains("not authoritative"), "{}", r.explain());
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn clocks_apart_are_badtime_with_the_difference() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let key = update_key();
        let owner = zone().prepend(&label());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ops = [UpdateOp::AddTxt {
            owner: owner.clone(),
            value: "late".into(),
            ttl: 60,
        }];
        let z = zone();
        let res = update::send_update(&UpdateRequest {
            server: server(),
            zone: &z,
            ops: &ops,
            key: key.wire(),
            timeout: T,
            sign_time: Some(now - 1000),
        })
        .await;
        match &res.outcome {
            UpdateOutcome::Rejected { tsig_error, .. } => {
                assert_eq!(*tsig_error, Some(TsigError::BadTime), "{res:?}")
            }
            o => panic!("expected BADTIME, got {o:?}"),
        }
        let skew = res.clock_skew_secs().expect("the server's time");
        assert!((995..=1010).contains(&skew), "skew {skew}");
        let rep = rfc2136::UpdateReport {
            action: "add TXT".into(),
            owner: owner.clone(),
            key_name: key.name.clone(),
            result: res,
        };
        assert!(rep.explain().contains("clocks"), "{}", rep.explain());
        assert!(!kdig_short("TXT", &owner).contains("late"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_a_record_is_refused_and_the_update_key_is_scoped() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let key = update_key();
        let owner = zone().prepend(&label());
        let ops = [UpdateOp::AddA {
            owner: owner.clone(),
            addr: std::net::Ipv4Addr::LOCALHOST,
            ttl: 60,
        }];
        let z = zone();
        let res = update::send_update(&UpdateRequest {
            server: server(),
            zone: &z,
            ops: &ops,
            key: key.wire(),
            timeout: T,
            sign_time: None,
        })
        .await;
        assert!(
            matches!(res.outcome, UpdateOutcome::Rejected { .. }),
            "{res:?}"
        );

        let s = probe_scope(server(), &zone(), &key, T).await;
        assert_eq!(s.verdict, ScopeVerdict::Scoped, "{}", s.explain());
        assert!(!s.overprivileged);
        assert!(s.cleanup.is_none());
        assert!(s
            .probe_owner
            .as_str()
            .starts_with("acme-delegate-scope-probe-"));
        assert_eq!(kdig_short("A", &s.probe_owner).trim(), "");
        assert_eq!(kdig_short("A", &owner).trim(), "");
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_key_is_overprivileged_and_the_probe_cleans_up() {
    let Some(_lab) = common::lab() else { return };
    bounded(async {
        let key = admin_key();
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
        let s = probe_scope(server(), &zone(), &key, T).await;
        assert_eq!(s.verdict, ScopeVerdict::Overprivileged, "{}", s.explain());
        assert!(s.overprivileged);
        let c = s.cleanup.as_ref().expect("a cleanup");
        assert!(c.applied(), "{}", c.explain());
        assert!(!s.left_behind());
        assert!(s.explain().contains("removed again"), "{}", s.explain());
        let left = wait_for("A", &s.probe_owner, |o| o.trim().is_empty()).await;
        assert_eq!(left.trim(), "", "the probe record is still there");
    })
    .await
}

//! `check` and its rules in the in-memory world ([`crate::dns::world`]): each test builds
//! a world from zone text and runs the engine on it, in milliseconds, without the lab.

use crate::dns::world::fixture::{config, world};
use crate::dns::world::{Fault, World};
use crate::engine::check::{CheckOptions, Engine};
use crate::findings::{Code, Severity};
use crate::model::name::parse_input;
use crate::report::NameReport;

pub(crate) const DELEGATED: &str = "_acme-challenge.www IN CNAME abc.acme.example.net.\n";
pub(crate) const TOKEN: &str = "abc IN TXT \"token\"\n";

pub(crate) async fn check_in(w: World, name: &str, opts: CheckOptions) -> NameReport {
    let cfg = config(&w);
    let engine = Engine::with_transport(cfg, w);
    engine.check_one(&parse_input(name).unwrap(), &opts).await
}

pub(crate) async fn check(w: World, name: &str) -> NameReport {
    check_in(w, name, CheckOptions::default()).await
}

pub(crate) fn codes(r: &NameReport) -> Vec<(Code, Severity)> {
    r.findings.iter().map(|f| (f.code, f.severity)).collect()
}

pub(crate) fn errors(r: &NameReport) -> Vec<Code> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect()
}

#[tokio::test]
async fn a_working_delegation_is_ok() {
    let r = check(world(DELEGATED, TOKEN), "www.example.com").await;
    assert!(r.ok, "{:#?}", r.findings);
    assert_eq!(r.target.as_ref().unwrap().as_str(), "abc.acme.example.net.");
}

#[tokio::test]
async fn a_name_without_cname_is_cname_missing() {
    let r = check(world("", TOKEN), "www.example.com").await;
    assert!(!r.ok);
    assert_eq!(errors(&r), vec![Code::CnameMissing], "{:#?}", r.findings);
}

#[tokio::test]
async fn a_dead_validation_zone_fails() {
    let w = world(DELEGATED, TOKEN).fault("127.0.0.30", Fault::Timeout);
    let r = check(w, "www.example.com").await;
    assert!(!r.ok);
    assert!(
        errors(&r).contains(&Code::ServerTimeout),
        "{:#?}",
        r.findings
    );
}

/// Bailiwick: a server that hosts both zones and answers across them (PowerDNS,
/// `resolve-across-zones=yes`) puts the target's TXT into the first answer; that TXT is
/// not believed, the validation zone's own (dead) server is asked, and the verdict fails.
#[tokio::test]
async fn out_of_zone_data_is_not_believed() {
    let w = world(DELEGATED, TOKEN)
        .serve("127.0.0.10", &["acme.example.net."])
        .fault("127.0.0.10", Fault::CrossZone)
        .fault("127.0.0.30", Fault::Timeout);
    let r = check(w, "www.example.com").await;
    assert!(
        !r.ok,
        "the CA's resolver cannot reach acme.example.net: {:#?}",
        r.findings
    );
    assert!(
        errors(&r).contains(&Code::ServerTimeout),
        "{:#?}",
        codes(&r)
    );
    // The same server, its delegation healthy: believed once asked as that zone's server.
    let w = world(DELEGATED, TOKEN)
        .serve("127.0.0.10", &["acme.example.net."])
        .fault("127.0.0.10", Fault::CrossZone);
    let r = check(w, "www.example.com").await;
    assert!(r.ok, "{:#?}", r.findings);
}

fn finding(r: &NameReport, code: Code) -> &crate::findings::Finding {
    r.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings))
}

const APEX_DELEGATED: &str = "_acme-challenge IN CNAME abc.acme.example.net.\n";

/// One cause per name: a child without a record keeps CNAME_MISSING (the code scripts
/// key on); the apex's CNAME is context in its evidence and fix, and CNAME_PARENT_ONLY
/// stands beside it as info only.
#[tokio::test]
async fn a_parents_cname_is_context_of_cname_missing() {
    let r = check(world(APEX_DELEGATED, TOKEN), "www.example.com").await;
    assert_eq!(errors(&r), vec![Code::CnameMissing], "{:#?}", r.findings);
    let f = finding(&r, Code::CnameMissing);
    assert!(
        f.evidence.contains("_acme-challenge.example.com. has one"),
        "{}",
        f.evidence
    );
    assert!(
        f.fix
            .contains("_acme-challenge.www.example.com. 300 IN CNAME abc.acme.example.net."),
        "{}",
        f.fix
    );
    assert_eq!(finding(&r, Code::CnameParentOnly).severity, Severity::Info);
}

/// A record at the doubled owner is more specific than a parent's CNAME.
#[tokio::test]
async fn a_doubled_owner_beats_a_parents_cname() {
    let body = format!(
        "{APEX_DELEGATED}_acme-challenge.www.example.com.example.com. IN CNAME www.acme.example.net.\n"
    );
    let r = check(world(&body, TOKEN), "www.example.com").await;
    assert_eq!(
        errors(&r),
        vec![Code::CnameDoubledZone],
        "{:#?}",
        r.findings
    );
    assert!(!codes(&r).iter().any(|(c, _)| *c == Code::CnameParentOnly));
    assert!(finding(&r, Code::CnameDoubledZone)
        .fix
        .contains("CNAME www.acme.example.net."));
}

/// Target-side doubling: the target written without its trailing dot in a panel that
/// appends the zone.
#[tokio::test]
async fn a_target_with_the_zone_appended_is_cname_target_doubled() {
    let body = "_acme-challenge.www IN CNAME abc.acme.example.net.example.com.\n";
    let r = check(world(body, TOKEN), "www.example.com").await;
    assert!(!r.ok);
    assert_eq!(
        errors(&r),
        vec![Code::CnameTargetDoubled],
        "{:#?}",
        r.findings
    );
    let f = finding(&r, Code::CnameTargetDoubled);
    assert!(
        f.fix
            .contains("_acme-challenge.www.example.com. 300 IN CNAME abc.acme.example.net."),
        "{}",
        f.fix
    );
    assert!(
        f.fix.contains("\"abc.acme.example.net.\" with the dot"),
        "{}",
        f.fix
    );
    // With the expected target, the doubling is the one story (no CNAME_WRONG_TARGET).
    let opts = CheckOptions {
        expect_target: Some(crate::dns::Name::from_ascii("abc.acme.example.net")),
        ..Default::default()
    };
    let r = check_in(world(body, TOKEN), "www.example.com", opts).await;
    assert_eq!(
        errors(&r),
        vec![Code::CnameTargetDoubled],
        "{:#?}",
        r.findings
    );
    // A target in the owner's zone whose leading part is no zone is not doubling.
    let r = check(
        world(
            "_acme-challenge.www IN CNAME x.nowhere.example.com.\n",
            TOKEN,
        ),
        "www.example.com",
    )
    .await;
    assert!(
        !codes(&r)
            .iter()
            .any(|(c, _)| *c == Code::CnameTargetDoubled),
        "{:#?}",
        r.findings
    );
}

/// A CNAME put in the parent zone below a cut: CNAME_MISSING says which zone the name is
/// in and which zone the CA asks.
#[tokio::test]
async fn a_cname_below_a_cut_says_which_zone_the_ca_asks() {
    let body = "sub IN NS ns.sub\nns.sub IN A 127.0.0.11\n_acme-challenge.www.sub IN CNAME abc.acme.example.net.\n";
    let w = world(body, TOKEN)
        .zone(
            "sub.example.com.",
            &crate::dns::world::fixture::zone_text(
                &[("ns.sub.example.com.", "")],
                "ns IN A 127.0.0.11\n",
            ),
        )
        .unwrap()
        .serve("127.0.0.11", &["sub.example.com."]);
    let r = check(w, "www.sub.example.com").await;
    assert_eq!(errors(&r), vec![Code::CnameMissing], "{:#?}", r.findings);
    let f = finding(&r, Code::CnameMissing);
    assert!(
        f.evidence
            .contains("is in zone sub.example.com., which example.com. delegates")
            && f.evidence
                .contains("a CNAME published in zone example.com. below that cut is never seen"),
        "{}",
        f.evidence
    );
}

/// Differential seed 552: the validation zone's servers are one that refuses and one that
/// answers without the AA bit. unbound (the CA's resolver) takes the non-AA answer, so the
/// TXT is found: the refusing server is a warning beside TARGET_ZONE_LAME, not an error.
#[tokio::test]
async fn a_refusing_server_beside_a_lame_one_that_answers_is_a_warning() {
    use crate::dns::world::fixture::{base, zone_text};
    let build = |second: Fault| {
        base()
            .zone(
                "example.com.",
                &zone_text(
                    &[("ns1.example.com.", "")],
                    &format!("ns1 IN A 127.0.0.10\n{DELEGATED}"),
                ),
            )
            .unwrap()
            .zone(
                "example.net.",
                &zone_text(
                    &[("ns1.example.net.", "")],
                    "ns1 IN A 127.0.0.20\nacme IN NS ns.acme.example.net.\nacme IN NS ns2.acme.example.net.\n\
                     ns.acme IN A 127.0.0.30\nns2.acme IN A 127.0.0.31\n",
                ),
            )
            .unwrap()
            .zone(
                "acme.example.net.",
                &zone_text(
                    &[("ns.acme.example.net.", ""), ("ns2.acme.example.net.", "")],
                    &format!("ns IN A 127.0.0.30\nns2 IN A 127.0.0.31\n{TOKEN}"),
                ),
            )
            .unwrap()
            .serve("127.0.0.31", &["acme.example.net."])
            .fault("127.0.0.30", Fault::Refused)
            .fault("127.0.0.31", second)
    };
    let r = check(build(Fault::NoAa), "www.example.com").await;
    assert!(r.ok, "{:#?}", codes(&r));
    assert!(
        codes(&r).contains(&(Code::ServerRefused, Severity::Warning)),
        "{:#?}",
        codes(&r)
    );
    // Both refuse: nothing answers for the zone, the CA fails.
    let r = check(build(Fault::Refused), "www.example.com").await;
    assert!(!r.ok, "{:#?}", codes(&r));
    assert!(
        errors(&r).contains(&Code::ServerRefused),
        "{:#?}",
        codes(&r)
    );
}

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

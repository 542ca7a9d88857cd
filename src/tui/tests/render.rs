//! Render snapshots at 80x24 (insta; review with `cargo insta review` or by reading the
//! `.snap` files): every screen in its main states, the popups, a too-small terminal.

use super::*;
use crate::engine::prove::{NameProof, ProveReport, VantageProof};
use crate::findings::Severity;
use crate::tui::screens::{self, poll::ALL_GREEN};
use crate::tui::state::client::{DiffLine, FileChange, FilePlan, PlannedFile};
use crate::tui::state::zone::Setup;
use crate::tui::state::{Findings, Hits, Overlay, ProofUpdate, Purpose, Screen, Step};
use crate::tui::theme::Level;
use crate::zones::kinds::ZoneError;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

fn draw_at(s: &State, w: u16, h: u16) -> (Terminal<TestBackend>, Hits) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut hits = Hits::default();
    t.draw(|f| hits = screens::render(s, f)).unwrap();
    (t, hits)
}

fn draw(s: &State) -> (Terminal<TestBackend>, Hits) {
    draw_at(s, 80, 24)
}

fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    let mut out = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            out.push_str(b[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

macro_rules! snap {
    ($name:expr, $state:expr) => {{
        let (t, hits) = draw(&$state);
        insta::assert_snapshot!($name, t.backend());
        (t, hits)
    }};
}

fn names_typed() -> State {
    run(st(), typed("www.example.test, *.example.test bad_name")).0
}

fn zone() -> State {
    let mut a = typed("www.example.test *.example.test");
    a.push(code(KeyCode::Enter));
    run(st(), a).0
}

fn with_plan(mut s: State) -> State {
    s.plan = Some(plan());
    s.plan_path = Some("/root/.config/acme-delegate/plan.toml".into());
    s.zone.result = Some(Setup {
        ns_alternatives: vec![],
        plan: plan(),
        findings: vec![],
        notes: vec![],
    });
    s
}

fn at(step: Step) -> State {
    let mut s = with_plan(zone());
    s.screen = Screen::Wizard(step);
    s
}

#[test]
fn names_screens() {
    snap!("names_empty", st());
    let (t, _) = snap!("names_typed", names_typed());
    let screen = text(&t);
    assert!(screen.contains("_acme-challenge.www.example.test."));
    assert!(screen.contains("✗ bad_name"));
}

#[test]
fn zone_screens() {
    snap!("zone_acme_dns", zone());
    // RFC 2136 with a typed-in key: the secret is masked.
    let mut a = vec![code(KeyCode::Down), code(KeyCode::Enter)];
    a.extend(typed("127.0.0.12:53"));
    a.push(code(KeyCode::Tab));
    a.extend(typed("acme.lab"));
    a.extend([code(KeyCode::Tab), ch(' '), code(KeyCode::Tab)]);
    a.extend(typed("acme-key"));
    a.extend([code(KeyCode::Tab), code(KeyCode::Tab)]);
    a.extend(typed("c2VjcmV0"));
    let s = run(zone(), a).0;
    let (t, _) = snap!("zone_rfc2136_secret", s);
    assert!(!text(&t).contains("c2VjcmV0"), "the secret is never drawn");
    assert!(text(&t).contains("••••••••"));
    let (mut running, _) = run(s.clone(), [code(KeyCode::Enter)]);
    assert!(running.zone.running);
    running.frame = 1;
    snap!("zone_running", running);
    let mut failed = s.clone();
    failed.zone.running = true;
    let failed = run(
        failed,
        [Action::RegisterDone(Err(ZoneError {
            message: "the update of the probe at 127.0.0.12:53 was rejected: NOTAUTH (bad key)"
                .into(),
            fix: "check the key name and secret against the server's key".into(),
            code: None,
        }))],
    )
    .0;
    snap!("zone_failed", failed);
    let mut done = s;
    done.zone.running = true;
    let done = run(
        done,
        [Action::RegisterDone(Ok(Setup {
            ns_alternatives: vec![],
            plan: plan(),
            findings: vec![],
            notes: vec![(
                Level::Ok,
                "scope probe: the server refused an A record with key acme-key.: it is limited"
                    .into(),
            )],
        }))],
    )
    .0;
    snap!("zone_done", done);
}

#[test]
fn cname_screen_shows_the_exact_record() {
    let (t, hits) = snap!("cname", at(Step::Cname));
    let screen = text(&t);
    assert!(
        screen.contains("name       _acme-challenge.www.example.test."),
        "{screen}"
    );
    assert!(screen.contains("type       CNAME"), "{screen}");
    assert!(
        screen.contains("target     www-example-test-3f1a2c.acme.lab."),
        "{screen}"
    );
    // The command-line `plan`'s wording: the name to enter, then what the mistake makes.
    assert!(
        screen.contains("the name is:  _acme-challenge.www"),
        "{screen}"
    );
    assert!(
        screen.contains("(pasting the full name there creates"),
        "{screen}"
    );
    assert!(screen.contains("the doubled-zone mistake"), "{screen}");
    assert!(!hits.keys.is_empty());
}

/// The NS-delegation alternative the zone step gave (RFC 2136) is shown under the
/// record, as `plan` prints it; without one the screen is the one above.
#[test]
fn cname_screen_shows_the_ns_alternative() {
    let mut s = at(Step::Cname);
    let out = crate::engine::setup::PlanOutcome {
        plan: plan(),
        findings: vec![],
        validation_ns: vec![
            Name::from_ascii("ns1.acme.lab."),
            Name::from_ascii("ns2.acme.lab."),
        ],
    };
    let alts: Vec<_> = plan()
        .names
        .iter()
        .filter_map(|p| out.ns_alternative(&p.challenge))
        .collect();
    assert_eq!(alts.len(), 2);
    s.zone.result.as_mut().unwrap().ns_alternatives = alts;
    let (t, _) = draw_at(&s, 80, 32);
    insta::assert_snapshot!("cname_ns_alternative", t.backend());
    let screen = text(&t);
    assert!(
        screen.contains("or delegate the challenge name by NS (a zone cut):"),
        "{screen}"
    );
    assert!(
        screen.contains("_acme-challenge.www.example.test. 300 IN NS ns1.acme.lab."),
        "{screen}"
    );
    assert!(
        screen.contains("_acme-challenge.www.example.test. 300 IN NS ns2.acme.lab."),
        "{screen}"
    );
    assert!(screen.contains("(instead of the CNAME"), "{screen}");
    // Both records stay in the list.
    assert!(screen.contains("*.example.test "), "{screen}");
    // At 80x24 the records and the NS lines still show.
    let (t, _) = draw(&s);
    let small = text(&t);
    assert!(small.contains("*.example.test "), "{small}");
    assert!(small.contains("300 IN NS ns1.acme.lab."), "{small}");
}

fn polled(all_green: bool) -> State {
    let mut s = at(Step::Cname);
    s = run(s, [code(KeyCode::Enter)]).0;
    let w = "www.example.test";
    let wc = "*.example.test";
    let mut a = vec![];
    for n in [w, wc] {
        for ns in ["ns1.example.test.", "ns2.example.test.", "ns1.acme.lab."] {
            a.push(cell(
                n,
                ns,
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                super::at(0),
            ));
        }
        for r in ["cloudflare", "google", "system"] {
            let kind = if r == "system" {
                VantageKind::System
            } else {
                VantageKind::Resolver
            };
            let bad = !all_green && n == w && r == "google";
            a.push(if bad {
                cell(n, r, kind, CellStatus::Bad, "NXDOMAIN", super::at(0))
            } else {
                cell(n, r, kind, CellStatus::Ok, "CNAME ok", super::at(0))
            });
        }
    }
    a.push(Action::Tick(super::at(3)));
    run(s, a).0
}

#[test]
fn poll_screens() {
    let mut s = polled(false);
    s.poll.selected = (0, 4);
    let (t, hits) = snap!("poll_red_cell", s);
    assert!(hits.grid.is_some());
    assert!(text(&t).contains("✗ NXDOMAIN"));
    let s = polled(true);
    let (t, _) = snap!("poll_all_green", s);
    assert!(
        text(&t).contains(ALL_GREEN),
        "the status line says it:\n{}",
        text(&t)
    );
}

/// The poll as the engine's poller drives it: one authoritative column, the resolvers
/// waiting until it is right.
#[test]
fn poll_on_the_engine_cells() {
    use crate::engine::events::CellState;
    use crate::tui::effects::cell_update;
    let mut s = at(Step::Cname);
    s = run(s, [code(KeyCode::Enter)]).0;
    let cols = [
        ("authoritative", VantageKind::Authoritative),
        ("lab-unbound", VantageKind::Resolver),
        ("lab-unbound2", VantageKind::Resolver),
        ("system", VantageKind::System),
    ];
    let mut a = vec![Action::PollStarted {
        columns: cols.iter().map(|(v, k)| (v.to_string(), *k)).collect(),
    }];
    let c = |n: &str, (v, k): (&str, VantageKind), st: CellState| {
        Action::CellUpdate(cell_update(n.into(), v.into(), k, &st, super::at(0)))
    };
    let w = "www.example.test";
    a.push(c(w, cols[0], CellState::Ok));
    a.push(c(w, cols[1], CellState::Ok));
    a.push(c(
        w,
        cols[2],
        CellState::Negative {
            until: super::at(300),
        },
    ));
    a.push(c(
        w,
        cols[3],
        CellState::Failed {
            outcome: crate::dns::Brief::Timeout,
        },
    ));
    a.push(c(
        "*.example.test",
        cols[0],
        CellState::Wrong {
            why: vec![crate::engine::events::Reason::Finding {
                code: crate::findings::Code::CnameMissing,
                evidence: String::new(),
            }],
        },
    ));
    a.push(Action::Tick(super::at(4)));
    let (mut s, _) = run(s, a);
    s.poll.selected = (0, 2);
    let (t, _) = snap!("poll_engine_negative", s.clone());
    assert!(text(&t).contains("cached negative answer until 12:05:00 UTC"));
    s.poll.selected = (1, 1);
    let (t, _) = snap!("poll_engine_waiting", s);
    assert!(text(&t).contains("waits for the authoritative servers"));
}

/// One column per authoritative server of each hop, from the engine's `Servers` events:
/// each server's own fault in its cell, and a server of another name's chain is off this
/// name's chain (and does not keep the grid from turning green).
#[test]
fn poll_has_a_column_per_authoritative_server_of_each_hop() {
    use crate::dns::Name;
    use crate::engine::events::{CellState, Event, ServerCell};
    use crate::tui::effects::poll_action;
    let mut s = at(Step::Cname);
    s = run(s, [code(KeyCode::Enter)]).0;
    let cols = [
        ("authoritative", VantageKind::Authoritative),
        ("lab-unbound", VantageKind::Resolver),
    ];
    let mut a = vec![Action::PollStarted {
        columns: cols.iter().map(|(v, k)| (v.to_string(), *k)).collect(),
    }];
    let server = |zone: &str, ns: &str, addr: &str, state: CellState| ServerCell {
        zone: Name::from_ascii(zone),
        server: Name::from_ascii(ns),
        addr: addr.parse().unwrap(),
        state,
    };
    let servers = |name: &str, second: CellState, target_ns: &str| Event::Servers {
        name: name.into(),
        servers: vec![
            server(
                "example.test",
                "ns1.example.test",
                "127.0.0.11:53",
                CellState::Ok,
            ),
            server("example.test", "ns2.example.test", "127.0.0.14:53", second),
            server("acme.lab", target_ns, "127.0.0.12:53", CellState::Ok),
        ],
    };
    let w = "www.example.test";
    let wc = "*.example.test";
    a.extend(poll_action(
        servers(
            w,
            CellState::Failed {
                outcome: crate::dns::Brief::Timeout,
            },
            "ns1.acme.lab",
        ),
        super::at(0),
    ));
    a.extend(poll_action(
        servers(wc, CellState::Ok, "ns9.other.lab"),
        super::at(0),
    ));
    a.push(Action::Tick(super::at(2)));
    let (mut s, _) = run(s, a);
    let labels: Vec<&str> = s.poll.grid.columns.iter().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        [
            "authoritative",
            "ns1.example.test",
            "ns2.example.test",
            "ns1.acme.lab",
            "ns9.other.lab",
            "lab-unbound"
        ]
    );
    s.poll.selected = (0, 2);
    let (t, _) = snap!("poll_engine_servers", s.clone());
    let screen = text(&t);
    // Headers by their unique part (not `ns1.example.…`).
    assert!(screen.contains(" ns1.example ns2.example "), "{screen}");
    assert!(screen.contains(" ns1.acme "), "{screen}");
    assert!(screen.contains("✗ TIMEOUT"), "{screen}");
    assert!(screen.contains("· off"), "{screen}");
    assert!(
        screen.contains("a server of example.test."),
        "the selected cell says which zone it serves:\n{screen}"
    );
    // An off-chain cell was never asked: no age (not "499049h ago").
    let mut off = s.clone();
    off.poll.selected = (1, 3);
    let screen = text(&draw(&off).0);
    assert!(
        screen.contains("*.example.test @ ns1.acme.lab. (127.0.0.12:53) (authoritative):"),
        "{screen}"
    );
    assert!(!screen.contains(" ago"), "{screen}");
    // The other servers and the resolver turn green: the off-chain cells do not count.
    let mut a: Vec<Action> = poll_action(servers(w, CellState::Ok, "ns1.acme.lab"), super::at(3))
        .into_iter()
        .collect();
    for n in [w, wc] {
        for (v, k) in cols {
            a.push(Action::CellUpdate(crate::tui::effects::cell_update(
                n.into(),
                v.into(),
                k,
                &CellState::Ok,
                super::at(3),
            )));
        }
    }
    let (s, _) = run(s, a);
    assert_eq!(s.poll.grid.counts(), [10, 0, 0, 0]);
    assert!(s.poll.grid.all_green());
    assert_eq!(s.status.as_ref().map(|x| x.text.as_str()), Some(ALL_GREEN));
}

#[test]
fn poll_renders_only_the_visible_slice_of_many_names() {
    let mut s = at(Step::Poll);
    let names: Vec<String> = (0..1000).map(|i| format!("n{i:04}.example.test")).collect();
    s.poll.grid = crate::tui::widgets::poll_grid::Grid::with_names(&names);
    s.poll.selected = (500, 0);
    let (t, hits) = draw(&s);
    let g = hits.grid.unwrap();
    assert!(g.first_row <= 500 && 500 < g.first_row + 17, "{g:?}");
    assert!(text(&t).contains("n0500.example.test"));
    assert!(!text(&t).contains("n0000.example.test"));
}

#[test]
fn proof_screens() {
    snap!("proof_ready", at(Step::Proof));
    let mut s = at(Step::Proof);
    s = run(s, [code(KeyCode::Enter)]).0;
    s = run(
        s,
        [
            Action::ProofUpdate(ProofUpdate::Event(
                crate::engine::events::Event::Published {
                    name: "www.example.test".into(),
                    target: Name::from_ascii("www-example-test-3f1a2c.acme.lab"),
                },
            )),
            Action::ProofUpdate(ProofUpdate::Event(crate::engine::events::Event::Seen {
                name: "www.example.test".into(),
                vantage: "ns1.acme.lab.".into(),
                kind: VantageKind::Authoritative,
                ms: 41,
            })),
        ],
    )
    .0;
    snap!("proof_running", s.clone());
    let report = ProveReport {
        version: 1,
        names: vec![NameProof {
            name: "www.example.test".into(),
            challenge: Name::from_ascii("_acme-challenge.www.example.test"),
            target: Name::from_ascii("www-example-test-3f1a2c.acme.lab"),
            ok: true,
            published: true,
            removed: true,
            left_behind: None,
            cleanup: crate::engine::prove::Cleanup::Removed,
            vantages: vec![VantageProof {
                vantage: "ns1.acme.lab.".into(),
                kind: VantageKind::Authoritative,
                server: "127.0.0.12:53".into(),
                seen_after_ms: Some(41),
                last_outcome: None,
            }],
            findings: vec![],
        }],
    };
    let s = run(
        s,
        [
            Action::ProofUpdate(ProofUpdate::Event(crate::engine::events::Event::Removed {
                name: "www.example.test".into(),
            })),
            Action::ProofUpdate(ProofUpdate::Done(report)),
        ],
    )
    .0;
    snap!("proof_passed", s);
    let s = run(
        at(Step::Proof),
        [Action::ProofUpdate(ProofUpdate::Unavailable(ZoneError {
            message: "acme-delegate holds no cloudflare API token, so it cannot publish the test TXT itself".into(),
            fix: "run the issuing client against a staging CA, then `acme-delegate check`".into(),
            code: None,
        }))],
    )
    .0;
    snap!("proof_unavailable", s);
}

#[test]
fn client_and_done_screens() {
    let s = run(at(Step::Client), [ch(' ')]).0;
    snap!("client_pick", s.clone());
    let mut p = s;
    p.client.busy = true;
    let p = run(
        p,
        [Action::FilesPlanned(Ok(FilePlan {
            files: vec![PlannedFile {
                client: "lego".into(),
                path: "/etc/lego/acme-delegate.env".into(),
                mode: 0o600,
                change: FileChange::Changed,
                diff: vec![
                    DiffLine {
                        sign: ' ',
                        text: "RFC2136_NAMESERVER=127.0.0.12:53".into(),
                    },
                    DiffLine {
                        sign: '-',
                        text: "RFC2136_TSIG_KEY=old-key".into(),
                    },
                    DiffLine {
                        sign: '+',
                        text: "RFC2136_TSIG_KEY=acme-key".into(),
                    },
                    DiffLine {
                        sign: '+',
                        text: "RFC2136_TSIG_SECRET=••••••••".into(),
                    },
                ],
            }],
            next: vec![crate::tui::state::client::ClientNext {
                client: "lego".into(),
                commands: vec!["lego --dns rfc2136 -d www.example.test run".into()],
                notes: vec![],
            }],
            notes: vec![],
        }))],
    )
    .0;
    snap!("client_preview", p.clone());
    let d = run(
        p,
        [
            code(KeyCode::Enter),
            Action::FilesWritten(Ok(vec!["/etc/lego/acme-delegate.env".into()])),
        ],
    )
    .0;
    assert_eq!(d.screen, Screen::Wizard(Step::Done));
    let (t, _) = snap!("done", d);
    let screen = text(&t);
    assert!(screen.contains("check --wait"));
    assert!(screen.contains("--prometheus-textfile"));
}

#[test]
fn troubleshooter_screens() {
    let (mut s, _) =
        st().troubleshooter(vec!["www.example.test".into(), "api.example.test".into()]);
    s = run(
        s,
        [Action::DiagnoseProgress {
            done: 1,
            total: 2,
            last: Some("www.example.test".into()),
        }],
    )
    .0;
    snap!("trouble_running", s.clone());
    let s = run(
        s,
        [Action::FindingsReady(Findings {
            purpose: Purpose::Troubleshoot,
            by_name: vec![
                (
                    "www.example.test".into(),
                    vec![
                        finding("CLIENT_WHERE", "www.example.test", "lego"),
                        finding("TTL_HIGH", "www.example.test", "ns1.acme.lab.")
                            .severity(Severity::Warning),
                    ],
                ),
                (
                    "api.example.test".into(),
                    vec![finding("NEGATIVE_CACHED", "api.example.test", "cloudflare")],
                ),
            ],
            at: super::at(0),
        })],
    )
    .0;
    let (t, hits) = snap!("trouble_findings", s.clone());
    assert!(!hits.lists.is_empty());
    let screen = text(&t);
    let first = screen.find("NEGATIVE_CACHED").unwrap();
    assert!(
        first < screen.find("TTL_HIGH").unwrap()
            && screen.find("TTL_HIGH").unwrap() < screen.find("CLIENT_WHERE").unwrap()
    );
    let s = run(s, [code(KeyCode::Enter)]).0;
    snap!("popup_finding", s);
}

#[test]
fn popups_and_small_terminals() {
    let s = run(names_typed(), [ch('?')]).0;
    snap!("popup_help", s);
    let s = run(names_typed(), [code(KeyCode::Esc)]).0;
    assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
    let (_, hits) = snap!("popup_confirm_quit", s);
    assert_eq!(hits.keys.len(), 2, "y and n are buttons");
    let (s, _) = st().with_plan(
        plan(),
        Some("/root/.config/acme-delegate/plan.toml".into()),
        false,
    );
    snap!("popup_resume", s);
    let mut s = names_typed();
    s.size = (60, 20);
    let (t, hits) = draw_at(&s, 60, 20);
    insta::assert_snapshot!("too_small", t.backend());
    assert!(text(&t).contains("needs 80x24"));
    assert!(hits.keys.is_empty());
}

#[test]
fn no_color_draws_no_colour_but_keeps_the_symbols() {
    let mono = polled(false);
    let mut color = mono.clone();
    color.theme = crate::tui::theme::Theme { color: true };
    let (tm, _) = draw(&mono);
    let (tc, _) = draw(&color);
    let has_color = |t: &Terminal<TestBackend>| {
        t.backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset)
    };
    assert!(!has_color(&tm));
    assert!(has_color(&tc));
    assert_eq!(text(&tm), text(&tc), "the same text either way");
}

#[test]
fn a_long_finding_popup_scrolls_at_80x24_and_j_does_not_close_it() {
    let mut f = finding("CNAME_DOUBLED_ZONE", "www.example.test", "lab-unbound");
    for i in 0..8 {
        f = f.observe(crate::findings::Observation {
            vantage: format!("resolver-{i}"),
            server: "127.0.0.53:53".into(),
            question: "_acme-challenge.www.example.test. CNAME".into(),
            outcome: "NXDOMAIN".into(),
            ttl: Some(300),
            ms: 4,
        });
    }
    f.fix = "publish the record with the owner relative to the zone, \
             _acme-challenge.www, in a panel that appends the zone, \
             or the full name with a trailing dot: \
             _acme-challenge.www.example.test. 300 IN CNAME www-example-test-3f1a2c.acme.lab."
        .repeat(2);
    let mut s = st();
    s.overlay = Some(Overlay::Finding(Box::new(f)));
    let (t, hits) = draw(&s);
    let screen = text(&t);
    assert!(screen.contains("↓ more: j/k, PgDn"), "{screen}");
    assert!(!screen.contains("IN CNAME www-example-test-3f1a2c.acme.lab.\n"));
    s.hits = hits;
    // j scrolls (the popup stays), G goes to the end: the record is there, whole.
    let (s, _) = run(s, [ch('j')]);
    assert!(s.overlay.is_some(), "j must not close a pop-up");
    assert_eq!(s.popup_pane.offset, 1);
    let (s, _) = run(s, [ch('G')]);
    let (t, _) = draw(&s);
    let screen = text(&t);
    assert!(
        screen.contains("www-example-test-3f1a2c.acme.lab."),
        "{screen}"
    );
    assert!(screen.contains("↑ more above"), "{screen}");
    let (s, _) = run(s, [code(KeyCode::Esc)]);
    assert!(s.overlay.is_none(), "Esc closes it");
}

#[test]
fn one_bad_name_in_a_50_name_paste_is_shown_and_the_list_scrolls() {
    let mut names: Vec<String> = (0..50).map(|i| format!("n{i:02}.example.test")).collect();
    names[40] = "bad_name.example.test".into();
    let (s, _) = run(st(), [Action::Paste(names.join("\n"))]);
    assert!(status_text(&s).contains("1 name is marked ✗"));
    let screen = text(&draw(&s).0);
    // The list jumped to the bad name: it is on screen, with its reason.
    assert!(screen.contains("✗ bad_name.example.test"), "{screen}");
    assert!(screen.contains("contains '_'"), "{screen}");
    assert!(screen.contains("above"), "{screen}");
    // The arrows scroll it: back to the top, the first names come back.
    let (s, _) = run(s, std::iter::repeat_n(code(KeyCode::Up), 50));
    let screen = text(&draw(&s).0);
    assert!(screen.contains("✓ n00.example.test"), "{screen}");
    assert!(
        screen.contains("(1 marked ✗)"),
        "what is below is counted:\n{screen}"
    );
    let (s, _) = run(s, [code(KeyCode::PageDown), code(KeyCode::PageDown)]);
    assert!(s.names.offset > 0);
}

fn status_text(s: &State) -> String {
    s.status
        .as_ref()
        .map(|x| x.text.clone())
        .unwrap_or_default()
}

/// 50 names × 7 vantage points (three authoritative servers of two hops, the column for
/// them all, two resolvers, the system view), ages between 10 and 59 s.
fn grid_50x7() -> State {
    use crate::engine::views::VantageKind::{Authoritative, Resolver, System};
    let mut s = at(Step::Poll);
    let names: Vec<String> = (0..50)
        .map(|i| format!("host-{i:02}.shop.example.test"))
        .collect();
    s.poll.grid = crate::tui::widgets::poll_grid::Grid::with_names(&names);
    let cols = [
        ("authoritative", Authoritative),
        ("ns1.example.test. (127.0.0.11:53)", Authoritative),
        ("ns2.example.test. (127.0.0.14:53)", Authoritative),
        ("ns1.acme.lab. (127.0.0.12:53)", Authoritative),
        ("lab-unbound", Resolver),
        ("lab-unbound2", Resolver),
        ("system", System),
    ];
    let cols: Vec<(String, _)> = cols.iter().map(|(v, k)| (v.to_string(), *k)).collect();
    let (mut s, _) = run(
        s,
        [Action::PollStarted {
            columns: cols.clone(),
        }],
    );
    let mut a = Vec::new();
    for (i, n) in names.iter().enumerate() {
        for (j, (v, k)) in cols.iter().enumerate() {
            let bad = i % 7 == 3 && j >= 4;
            a.push(cell(
                n,
                v,
                *k,
                if bad { CellStatus::Bad } else { CellStatus::Ok },
                if bad { "no CNAME" } else { "CNAME ok" },
                super::at(0),
            ));
        }
    }
    a.push(Action::Tick(super::at(13)));
    s = run(s, a).0;
    s
}

#[test]
fn the_grid_of_50_names_by_7_vantage_points_fits_80x24_and_120x40() {
    let s = grid_50x7();
    // 80x24: columns sized from their content, the rest scrolls sideways (marked).
    let (t, hits) = snap!("grid_50x7_80x24", s.clone());
    let screen = text(&t);
    let g = hits.grid.unwrap();
    assert!(g.shown < 7, "{g:?}");
    assert!(
        screen.contains("→"),
        "the marker says more columns follow:\n{screen}"
    );
    // Compact cells (every column would not fit with the full words), never cut.
    assert!(screen.contains("✓ ok 13s"), "{screen}");
    assert!(
        !screen.contains("CNAME …") && !screen.contains("CNA…"),
        "no cut cell text:\n{screen}"
    );
    assert!(
        screen.contains("host-00.shop.example.test"),
        "names are not cut at 19 characters:\n{screen}"
    );
    // Headers by their unique part.
    assert!(
        screen.contains("ns1.example ") && screen.contains("ns2.example "),
        "{screen}"
    );
    assert!(!screen.contains("ns1.example.…"), "{screen}");
    // Right to the last column: the view scrolls, the marker moves.
    let mut r = s.clone();
    r.poll.selected = (0, 6);
    r.hits = hits;
    let screen = text(&draw(&r).0);
    assert!(screen.contains("system"), "{screen}");
    assert!(screen.contains("←"), "{screen}");
    // 120x40: all 7 vantage points on screen, none scrolled off.
    let mut w = s.clone();
    w.size = (120, 40);
    let (t, hits) = draw_at(&w, 120, 40);
    insta::assert_snapshot!("grid_50x7_120x40", t.backend());
    let screen = text(&t);
    assert_eq!(hits.grid.unwrap().shown, 7, "{screen}");
    for h in [
        "auth",
        "ns1.example",
        "ns2.example",
        "ns1.acme",
        "lab-unbound",
        "lab-unbound2",
        "system",
    ] {
        assert!(screen.contains(h), "{h}:\n{screen}");
    }
    assert!(!screen.contains("←") && !screen.contains("→"), "{screen}");
}

#[test]
fn the_diff_wraps_long_lines_and_marks_the_changed_part() {
    use crate::tui::screens::client::{changed_span, diff_lines};
    let old = "manual_auth_hook = /usr/bin/acme-delegate --config /etc/acme-delegate/config.toml --plan /root/.config/acme-delegate/plan.toml hook certbot-auth";
    let new = "manual_auth_hook = /usr/bin/acme-delegate --config /etc/acme-delegate/config.toml --plan /srv/shop/acme-delegate/plan.toml hook certbot-auth";
    let (p, sfx) = changed_span(old, new);
    assert_eq!(&old[p..old.len() - sfx], "root/.config");
    assert_eq!(&new[p..new.len() - sfx], "srv/shop");
    let diff = vec![
        DiffLine {
            sign: '-',
            text: old.into(),
        },
        DiffLine {
            sign: '+',
            text: new.into(),
        },
    ];
    let lines = diff_lines(&diff, &crate::tui::theme::Theme { color: false });
    let marked: Vec<String> = lines
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .filter(|s| {
                    s.style
                        .add_modifier
                        .contains(ratatui::style::Modifier::REVERSED)
                })
                .map(|s| s.content.to_string())
                .collect()
        })
        .collect();
    assert_eq!(marked, ["root/.config", "srv/shop"]);
    // On screen at 80x24: both lines whole (wrapped), not cut where they differ.
    let mut s = at(Step::Client);
    s.client.busy = true;
    let (s, _) = run(
        s,
        [Action::FilesPlanned(Ok(FilePlan {
            files: vec![PlannedFile {
                client: "certbot".into(),
                path: "/etc/letsencrypt/acme-delegate.ini".into(),
                mode: 0o600,
                change: FileChange::Changed,
                diff,
            }],
            next: vec![],
            notes: vec![],
        }))],
    );
    let screen = text(&draw(&s).0).replace(['│', '\n'], "");
    let flat: String = screen.split_whitespace().collect::<Vec<_>>().join("");
    for l in [old, new] {
        let want: String = l.split_whitespace().collect::<Vec<_>>().join("");
        assert!(
            flat.contains(&want),
            "{l} is not whole on screen:\n{}",
            text(&draw(&s).0)
        );
    }
}

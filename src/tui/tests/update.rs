use super::*;
use crate::clients::write::Client as ClientKind;
use crate::engine::events::Event;
use crate::engine::prove::ProveReport;
use crate::findings::Severity;
use crate::model::name::NameProblem;
use crate::tui::clipboard::{CopyReport, Via};
use crate::tui::screens::poll::ALL_GREEN;
use crate::tui::state::client::{ClientNext, FileChange, FilePlan, PlannedFile};
use crate::tui::state::zone::{Focus, KeyInput, Setup, ZoneInput};
use crate::tui::state::{Findings, Hits, ListId, Overlay, ProofUpdate, Purpose, Screen, Step};
use crate::tui::theme::Level;
use crate::tui::widgets::findings_list::ListHit;
use crate::zones::kinds::ZoneError;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

fn status(s: &State) -> String {
    s.status
        .as_ref()
        .map(|x| x.text.clone())
        .unwrap_or_default()
}

/// The wizard at the zone step with two valid names typed.
fn at_zone() -> State {
    let mut a = typed("www.example.test *.example.test");
    a.push(code(KeyCode::Enter));
    let (s, fx) = run(st(), a);
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
    assert!(fx.is_empty());
    s
}

/// The wizard at the CNAME step with a set-up RFC 2136 plan.
fn at_cname() -> State {
    let mut s = at_zone();
    s.zone.running = true;
    let (s, fx) = run(
        s,
        [
            Action::RegisterDone(Ok(Setup {
                ns_alternatives: vec![],
                plan: plan(),
                findings: vec![],
                notes: vec![(Level::Ok, "scope probe: limited".into())],
            })),
            code(KeyCode::Enter),
        ],
    );
    assert_eq!(
        fx,
        vec![Effect::SaveState {
            plan: Box::new(plan())
        }]
    );
    assert_eq!(s.screen, Screen::Wizard(Step::Cname));
    s
}

fn at_poll() -> State {
    let (s, fx) = run(at_cname(), [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    assert_eq!(
        fx,
        vec![Effect::StartPoll {
            names: vec!["www.example.test".into(), "*.example.test".into()]
        }]
    );
    s
}

fn at_proof() -> State {
    let (s, fx) = run(at_poll(), [ch('n')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Proof));
    assert_eq!(fx, vec![Effect::CancelPoll]);
    s
}

// ---- names ----------------------------------------------------------------------------

#[test]
fn names_are_validated_as_typed_with_the_reason() {
    let (s, _) = run(st(), typed("www.example.test bad_name"));
    assert_eq!(s.names.parsed.len(), 2);
    assert!(s.names.parsed[0].result.is_ok());
    let err = s.names.parsed[1].result.clone().unwrap_err();
    assert!(
        matches!(&err, NameProblem::BadCharacter { found: '_', .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("'_'"), "{err}");
    assert!(status(&s).contains("1 name is marked ✗"), "{}", status(&s));
    assert!(s.unsaved);
    // Enter does not move on while a name is invalid.
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Names));
    assert!(fx.is_empty());
    assert_eq!(s.status.as_ref().unwrap().level, Level::Bad);
    // Fixing it (Ctrl-W deletes the word) lets it through.
    let (s, _) = run(s, [ctrl('w'), code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
}

#[test]
fn names_empty_input_cannot_go_on_and_q_b_n_are_letters_there() {
    let (s, _) = run(st(), [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Names));
    assert!(status(&s).contains("at least one name"));
    let (s, fx) = run(st(), [ch('q'), ch('b'), ch('n')]);
    assert_eq!(s.names.input.value(), "qbn");
    assert!(fx.is_empty() && !s.quitting);
}

#[test]
fn pasted_names_split_on_new_lines_and_repeats_are_kept_once() {
    let (s, _) = run(
        st(),
        [Action::Paste(
            "www.example.test\n*.example.test\r\nWWW.example.test.".into(),
        )],
    );
    assert_eq!(s.names.parsed.len(), 3);
    assert!(s.names.parsed[2].repeated);
    let ok = crate::tui::state::names::ready(&s.names).unwrap();
    assert_eq!(ok.len(), 2);
    // Why the step is not done is a value; its words are the status line's.
    let (bad, _) = run(st(), typed("www.example.test a..b c..d"));
    let why = crate::tui::state::names::ready(&bad.names).unwrap_err();
    assert_eq!(
        why,
        crate::tui::state::names::NamesNotReady::Invalid { bad: 2 }
    );
    assert_eq!(
        why.to_string(),
        "2 names are marked ✗: fix or remove them to go on"
    );
    assert_eq!(
        crate::tui::state::names::ready(&st().names).unwrap_err(),
        crate::tui::state::names::NamesNotReady::Empty
    );
    // A names file pasted as it is (the format of --names-from): comments are left out.
    let (s, _) = run(
        st(),
        [Action::Paste(
            "# the shop\nshop.example.test, *.shop.example.test # both\n".into(),
        )],
    );
    let tokens: Vec<&str> = s.names.parsed.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(tokens, ["shop.example.test", "*.shop.example.test"]);
}

#[test]
fn changing_the_names_invalidates_the_zone_result() {
    let mut s = at_cname();
    assert!(s.zone.result.is_some());
    s = run(s, [ctrl('b'), ctrl('b')]).0;
    assert_eq!(s.screen, Screen::Wizard(Step::Names));
    s = run(s, typed(" api.example.test")).0;
    assert!(s.zone.result.is_none());
    s = run(s, [code(KeyCode::Enter), ctrl('n')]).0;
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
    assert!(status(&s).contains("set the zone up first"));
}

// ---- quitting, help, global keys ------------------------------------------------------

#[test]
fn esc_asks_when_unsaved_and_quits_on_yes() {
    let (s, fx) = run(st(), typed("www.example.test"));
    assert!(fx.is_empty());
    let (s, fx) = run(s, [code(KeyCode::Esc)]);
    assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
    assert!(fx.is_empty());
    let (s, fx) = run(s, [ch('n')]);
    assert_eq!(s.overlay, None);
    assert!(fx.is_empty() && !s.quitting);
    let (s, fx) = run(s, [code(KeyCode::Esc), ch('y')]);
    assert_eq!(fx, vec![Effect::Quit]);
    assert!(s.quitting);
}

#[test]
fn nothing_unsaved_quits_at_once_and_ctrl_c_always_quits() {
    let (s, fx) = run(st(), [code(KeyCode::Esc)]);
    assert!(s.quitting);
    assert_eq!(fx, vec![Effect::Quit]);
    let mut s = at_poll();
    s.unsaved = true;
    let (s, fx) = run(s, [ctrl('c')]);
    assert!(s.quitting);
    assert_eq!(fx, vec![Effect::CancelPoll, Effect::Quit]);
}

#[test]
fn help_opens_with_question_mark_or_f1_and_any_key_closes_it() {
    let (s, _) = run(st(), [ch('?')]);
    assert_eq!(s.overlay, Some(Overlay::Help));
    assert_eq!(s.names.input.value(), "");
    let (s, _) = run(s, [ch('x')]);
    assert_eq!(s.overlay, None);
    assert_eq!(s.names.input.value(), "", "the closing key is not typed");
    let (s, _) = run(s, [code(KeyCode::F(1))]);
    assert_eq!(s.overlay, Some(Overlay::Help));
}

#[test]
fn signals_and_engine_failures_leave_cleanly() {
    let (s, fx) = run(at_poll(), [Action::Terminate]);
    assert!(s.quitting && s.interrupted);
    assert_eq!(fx, vec![Effect::CancelPoll, Effect::Quit]);
    // A signal exits 130, as documented, from the wizard and the troubleshooter.
    assert_eq!(crate::tui::wizard_outcome(&s).exit_code, 130);
    let (t, _) = st().troubleshooter(vec!["www.example.test".into()]);
    let (t, _) = run(t, [Action::Terminate]);
    assert_eq!(crate::tui::troubleshooter_outcome(t).exit_code, 130);
    let (s, fx) = run(st(), [Action::EngineFailed("boom".into())]);
    assert!(s.quitting && !s.interrupted && status(&s).contains("boom"));
    assert_eq!(fx, vec![Effect::Quit]);
    assert_eq!(crate::tui::wizard_outcome(&s).exit_code, 1);
}

#[test]
fn too_small_a_terminal_takes_only_quit() {
    let (s, _) = run(st(), [Action::Resize(60, 20)]);
    assert!(s.too_small());
    let (s, _) = run(s, typed("abc"));
    assert_eq!(s.names.input.value(), "");
    let (s, _) = run(s, [Action::Paste("www.example.test".into())]);
    assert_eq!(s.names.input.value(), "");
    let (s, fx) = run(s, [ch('q')]);
    assert!(s.quitting && fx == vec![Effect::Quit]);
    let (s, _) = run(st(), [Action::Resize(80, 24)]);
    assert!(!s.too_small());
}

#[test]
fn ticks_redraw_only_when_something_moves() {
    let (s, _) = run(st(), [Action::Tick(at(1))]);
    assert!(!s.dirty, "an idle names screen is not redrawn");
    let mut s = at_zone();
    s.zone.running = true;
    let (s, _) = run(s, [Action::Tick(at(1))]);
    assert!(s.dirty, "the spinner moves");
    let (s, _) = run(
        st(),
        [Action::Key(KeyEvent::new_with_kind(
            KeyCode::Char('x'),
            KeyModifiers::NONE,
            ratatui::crossterm::event::KeyEventKind::Release,
        ))],
    );
    assert!(!s.dirty && s.names.input.value().is_empty());
}

// ---- zone -----------------------------------------------------------------------------

#[test]
fn zone_kind_and_fields_validate_in_place() {
    let s = at_zone();
    assert_eq!(s.zone.focus, Focus::Kinds);
    // Down picks RFC 2136, Enter goes into its form, Enter again submits the empty form.
    let (s, fx) = run(
        s,
        [
            code(KeyCode::Down),
            code(KeyCode::Enter),
            code(KeyCode::Enter),
        ],
    );
    assert!(fx.is_empty());
    assert_eq!(s.zone.kind, 1);
    let (field, why) = s.zone.error.clone().unwrap();
    assert_eq!(field.label(), "server");
    assert!(why.contains("ip:port"), "{why}");
    assert_eq!(s.zone.focus, Focus::Field(0));
    // A server that is not ip:port is refused with the reason.
    let (s, _) = run(s, typed("ns1"));
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert!(s.zone.error.as_ref().unwrap().1.contains("not ip:port"));
}

#[test]
fn zone_submit_runs_setup_and_esc_cancels_it() {
    let s = at_zone();
    let mut a = vec![code(KeyCode::Down), code(KeyCode::Enter)];
    a.extend(typed("127.0.0.12:53"));
    a.push(code(KeyCode::Tab));
    a.extend(typed("acme.lab"));
    a.push(code(KeyCode::Tab));
    a.push(code(KeyCode::Tab));
    a.extend(typed("/k.key"));
    a.push(code(KeyCode::Enter));
    let (s, fx) = run(s, a);
    assert!(s.zone.running);
    let Effect::RunSetup(req) = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(req.names, vec!["www.example.test", "*.example.test"]);
    assert_eq!(
        req.zone,
        ZoneInput::Rfc2136 {
            server: "127.0.0.12:53".into(),
            zone: "acme.lab".into(),
            key: KeyInput::File("/k.key".into()),
        }
    );
    // Typing while it runs changes nothing; Esc cancels instead of quitting.
    let (s, fx) = run(s, [ch('x'), code(KeyCode::Esc)]);
    assert_eq!(fx, vec![Effect::CancelSetup]);
    assert!(!s.zone.running && !s.quitting);
    assert_eq!(s.zone.server.value(), "127.0.0.12:53");
    // A late answer for the cancelled setup is dropped.
    let (s, fx) = run(
        s,
        [Action::RegisterDone(Ok(Setup {
            ns_alternatives: vec![],
            plan: plan(),
            findings: vec![],
            notes: vec![],
        }))],
    );
    assert!(fx.is_empty() && s.zone.result.is_none() && s.plan.is_none());
}

#[test]
fn zone_setup_failure_is_shown_with_its_fix_and_can_be_retried() {
    let mut s = at_zone();
    s.zone.running = true;
    let (s, fx) = run(
        s,
        [Action::RegisterDone(Err(ZoneError {
            message: "acme-dns at http://127.0.0.1:1 is unreachable".into(),
            fix: "start the acme-dns server or fix the URL".into(),
            code: None,
        }))],
    );
    assert!(fx.is_empty());
    assert!(!s.zone.running);
    assert_eq!(
        s.zone.failure.as_ref().unwrap().fix,
        "start the acme-dns server or fix the URL"
    );
    assert!(status(&s).contains("unreachable"));
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
    // Forward is refused until a setup succeeded.
    let (s, _) = run(s, [ctrl('n')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
}

#[test]
fn zone_result_then_enter_goes_on_and_findings_warn() {
    let mut s = at_zone();
    s.zone.running = true;
    let bad = Finding::new(
        crate::findings::Code::TsigOverprivileged,
        "acme.lab",
        "may write A".into(),
        "limit it".into(),
    );
    let (s, fx) = run(
        s,
        [Action::RegisterDone(Ok(Setup {
            ns_alternatives: vec![],
            plan: plan(),
            findings: vec![bad],
            notes: vec![],
        }))],
    );
    // An error finding: nothing is saved (issue 18; main saved the plan at once).
    assert!(fx.is_empty(), "{fx:?}");
    let status = s.status.as_ref().unwrap();
    assert_eq!(status.level, Level::Warn);
    assert!(
        status.text.contains("NOT saved") && status.text.contains("TSIG_OVERPRIVILEGED"),
        "{}",
        status.text
    );
    assert_eq!(s.plan, None);
    assert!(s.unsaved);
    // Enter saves it anyway, naming the error it overrides, and goes on.
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert!(
        fx.iter().any(|f| matches!(f, Effect::SaveState { .. })),
        "{fx:?}"
    );
    assert!(
        s.status
            .as_ref()
            .unwrap()
            .text
            .contains("despite the error TSIG_OVERPRIVILEGED"),
        "{:?}",
        s.status
    );
    assert_eq!(s.plan, Some(plan()));
    assert_eq!(s.screen, Screen::Wizard(Step::Cname));
    let (s, _) = run(s, [Action::Saved(Ok("/tmp/p.toml".into()))]);
    assert!(!s.unsaved);
    assert_eq!(s.plan_path, Some("/tmp/p.toml".into()));
}

#[test]
fn secret_fields_mask_take_any_character_and_never_copy() {
    let s = at_zone();
    // RFC 2136, then the key-mode toggle: name + secret.
    let mut a = vec![
        code(KeyCode::Down),
        code(KeyCode::Enter),
        code(KeyCode::Tab),
        code(KeyCode::Tab),
        ch(' '),
    ];
    a.extend([code(KeyCode::Tab), code(KeyCode::Tab), code(KeyCode::Tab)]);
    a.extend(typed("s3cr?t=c"));
    let (s, fx) = run(s, a);
    assert!(fx.is_empty(), "no copy from a secret field: {fx:?}");
    assert!(s.zone.key_inline);
    assert_eq!(s.zone.focused().unwrap().label(), "secret");
    assert_eq!(s.zone.secret.expose(), "s3cr?t=c");
    assert_eq!(s.overlay, None, "? is a character in a secret");
    assert!(
        !format!("{s:?}").contains("s3cr?t"),
        "Debug shows no secret"
    );
    let (s, _) = run(s, [Action::Paste("  more\n".into())]);
    assert_eq!(s.zone.secret.expose(), "s3cr?t=cmore");
}

#[test]
fn acme_dns_reuse_and_allowfrom_reach_the_request() {
    let s = at_zone();
    let mut a = vec![code(KeyCode::Enter)];
    a.extend(typed("https://auth.lab"));
    a.extend([code(KeyCode::Tab), ch(' '), code(KeyCode::Tab)]);
    a.extend(typed("192.0.2.0/24, 2001:db8::/32"));
    a.push(code(KeyCode::Enter));
    let (_, fx) = run(s, a);
    let Effect::RunSetup(req) = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(
        req.zone,
        ZoneInput::AcmeDns {
            api: "https://auth.lab".into(),
            register: false,
            allowfrom: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
            storage: None,
        }
    );
    // An API that is no URL is refused in place.
    let s = at_zone();
    let mut a = vec![code(KeyCode::Enter)];
    a.extend(typed("auth.lab"));
    a.push(code(KeyCode::Enter));
    let (s, fx) = run(s, a);
    assert!(fx.is_empty());
    assert!(s.zone.error.unwrap().1.contains("https://"));
}

#[test]
fn hosted_and_provider_forms_check_their_names() {
    let s = at_zone();
    let mut a = vec![
        code(KeyCode::Down),
        code(KeyCode::Down),
        code(KeyCode::Down),
        code(KeyCode::Enter),
    ];
    a.extend(typed("bad..target"));
    a.push(code(KeyCode::Enter));
    let (s, fx) = run(s, a);
    assert!(fx.is_empty());
    assert_eq!(s.zone.error.as_ref().unwrap().0.label(), "target");
    let (s, fx) = run(
        s,
        [ctrl('u')]
            .into_iter()
            .chain(typed("x1.hosted.lab"))
            .chain([code(KeyCode::Enter)]),
    );
    assert!(s.zone.error.is_none());
    let Effect::RunSetup(req) = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(
        req.zone,
        ZoneInput::Hosted {
            target: "x1.hosted.lab".into()
        }
    );
}

// ---- CNAME ----------------------------------------------------------------------------

#[test]
fn cname_copies_the_selected_record_or_all() {
    let s = at_cname();
    let (s, fx) = run(s, [code(KeyCode::Down), ch('c')]);
    assert_eq!(s.cname.selected, 1);
    assert_eq!(
        fx,
        vec![Effect::Copy {
            what: "the record for *.example.test".into(),
            text: "_acme-challenge.example.test. 300 IN CNAME example-test-9b0e41.acme.lab.".into()
        }]
    );
    let (s, fx) = run(s, [ch('C')]);
    let Effect::Copy { text, what } = &fx[0] else {
        panic!()
    };
    assert_eq!(what, "2 records");
    assert_eq!(text.lines().count(), 2);
    let (s, _) = run(
        s,
        [Action::Copied(Ok(CopyReport {
            what: "2 records".into(),
            via: Via::Osc52,
            bytes: 140,
            fallback: None,
            tmux: true,
        }))],
    );
    // No acknowledgement comes back, and tmux drops it by default: never "✓ copied".
    assert_eq!(
        status(&s),
        "2 records sent to the terminal (OSC 52); tmux passes it on only with: set -g set-clipboard on"
    );
    assert_eq!(s.status.as_ref().unwrap().level, Level::Info);
    let no_terminal = std::io::Error::other("no terminal");
    let (s, _) = run(
        s,
        [Action::Copied(Err(std::sync::Arc::new(no_terminal.into())))],
    );
    assert_eq!(s.status.as_ref().unwrap().level, Level::Bad);
    assert_eq!(
        status(&s),
        "could not copy: cannot write to the terminal: no terminal"
    );
}

// ---- live poll ------------------------------------------------------------------------

#[test]
fn the_grid_turns_green_says_so_and_moves_on_by_itself() {
    let s = at_poll();
    let w = "www.example.test";
    let st_ = "*.example.test";
    let (s, _) = run(
        s,
        [
            cell(
                w,
                "ns1.example.test.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                w,
                "cloudflare",
                VantageKind::Resolver,
                CellStatus::Waiting,
                "waiting",
                at(1),
            ),
            cell(
                st_,
                "ns1.example.test.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                st_,
                "cloudflare",
                VantageKind::Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
        ],
    );
    assert_eq!(s.poll.grid.columns.len(), 2);
    assert!(s.poll.all_green_at.is_none());
    assert_ne!(status(&s), ALL_GREEN);
    let (s, _) = run(
        s,
        [cell(
            w,
            "cloudflare",
            VantageKind::Resolver,
            CellStatus::Ok,
            "CNAME ok",
            at(2),
        )],
    );
    assert_eq!(status(&s), ALL_GREEN);
    assert_eq!(s.poll.all_green_at, Some(at(2)));
    // It stays a moment, then goes on to the proof and stops polling.
    let (s, fx) = run(s, [Action::Tick(at(3))]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    assert!(fx.is_empty());
    let (s, fx) = run(s, [Action::Tick(at(4))]);
    assert_eq!(s.screen, Screen::Wizard(Step::Proof));
    assert_eq!(fx, vec![Effect::CancelPoll]);
    assert_eq!(status(&s), ALL_GREEN, "the status line keeps the text");
}

#[test]
fn the_grid_moves_on_by_itself_only_when_the_user_has_not_moved_the_selection() {
    let green = |s: State, when: u64| {
        run(
            s,
            ["www.example.test", "*.example.test"].map(|n| {
                cell(
                    n,
                    "google",
                    VantageKind::Resolver,
                    CellStatus::Ok,
                    "CNAME ok",
                    at(when),
                )
            }),
        )
        .0
    };
    // Moved the selection: stays, says so, Enter goes on.
    let (s, _) = run(at_poll(), [code(KeyCode::Down)]);
    let s = green(s, 1);
    let (s, fx) = run(s, [Action::Tick(at(5)), Action::Tick(at(9))]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    assert!(fx.is_empty());
    assert_eq!(
        status(&s),
        "works from every vantage point; all green: Enter to prove"
    );
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Proof));
    // Back with b from the proof: the poll starts again and does not jump forward.
    let (s, _) = run(s, [ch('b')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    let s = green(s, 10);
    let (s, _) = run(s, [Action::Tick(at(13)), Action::Tick(at(16))]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll), "no jump after b");
}

#[test]
fn a_cell_turning_red_again_stops_the_advance() {
    let s = at_poll();
    let (s, _) = run(
        s,
        [
            cell(
                "www.example.test",
                "google",
                VantageKind::Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                "*.example.test",
                "google",
                VantageKind::Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
        ],
    );
    assert!(s.poll.all_green_at.is_some());
    let (s, _) = run(
        s,
        [cell(
            "*.example.test",
            "google",
            VantageKind::Resolver,
            CellStatus::Bad,
            "SERVFAIL",
            at(2),
        )],
    );
    assert!(s.poll.all_green_at.is_none());
    let (s, _) = run(s, [Action::Tick(at(10))]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
}

#[test]
fn columns_keep_authoritative_first_then_resolvers_then_system() {
    let s = at_poll();
    let (s, _) = run(
        s,
        [
            cell(
                "www.example.test",
                "system",
                VantageKind::System,
                CellStatus::Waiting,
                "w",
                at(1),
            ),
            cell(
                "www.example.test",
                "quad9",
                VantageKind::Resolver,
                CellStatus::Waiting,
                "w",
                at(1),
            ),
            cell(
                "www.example.test",
                "ns2.acme.lab.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "ok",
                at(1),
            ),
        ],
    );
    let cols: Vec<_> = s
        .poll
        .grid
        .columns
        .iter()
        .map(|c| c.vantage.as_str())
        .collect();
    assert_eq!(cols, vec!["ns2.acme.lab.", "quad9", "system"]);
    // The cells moved with their columns.
    assert_eq!(s.poll.grid.cell(0, 0).unwrap().status, CellStatus::Ok);
    assert_eq!(s.poll.grid.cell(0, 2).unwrap().short, "w");
}

#[test]
fn enter_on_a_red_cell_opens_its_finding() {
    let s = at_poll();
    let w = "www.example.test";
    let (s, _) = run(
        s,
        [
            cell(
                w,
                "ns1.example.test.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                w,
                "cloudflare",
                VantageKind::Resolver,
                CellStatus::Bad,
                "NXDOMAIN",
                at(1),
            ),
            Action::FindingsReady(Findings {
                purpose: Purpose::Poll,
                by_name: vec![(
                    w.into(),
                    vec![
                        finding("TTL_HIGH", w, "ns1.example.test.").severity(Severity::Warning),
                        finding("NEGATIVE_CACHED", w, "cloudflare"),
                    ],
                )],
                at: at(1),
            }),
        ],
    );
    // A green cell: its detail goes to the status line, no popup.
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.overlay, None);
    let (s, _) = run(s, [code(KeyCode::Right), code(KeyCode::Enter)]);
    let Some(Overlay::Finding(f)) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert_eq!(f.code, "NEGATIVE_CACHED");
    // c copies its fix; Esc closes the popup without quitting.
    let (s, fx) = run(s, [ch('c'), code(KeyCode::Esc)]);
    assert_eq!(
        fx,
        vec![Effect::Copy {
            what: "the fix for NEGATIVE_CACHED".into(),
            text: "fix for NEGATIVE_CACHED".into()
        }]
    );
    assert_eq!(s.overlay, None);
    assert!(!s.quitting);
}

#[test]
fn leaving_the_poll_either_way_cancels_it() {
    let (s, fx) = run(at_poll(), [ctrl('b')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Cname));
    assert_eq!(fx, vec![Effect::CancelPoll]);
    // The plan's save has not been confirmed: q asks first.
    let (s, fx) = run(at_poll(), [ch('q')]);
    assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
    assert!(fx.is_empty());
    let (_, fx) = run(at_poll(), [Action::Saved(Ok("/p.toml".into())), ch('q')]);
    assert_eq!(fx, vec![Effect::CancelPoll, Effect::Quit]);
}

// ---- proof ----------------------------------------------------------------------------

fn report(ok: bool) -> ProveReport {
    ProveReport {
        version: 1,
        names: vec![crate::engine::prove::NameProof {
            name: "www.example.test".into(),
            challenge: Name::from_ascii("_acme-challenge.www.example.test"),
            target: Name::from_ascii("www-example-test-3f1a2c.acme.lab"),
            ok,
            published: true,
            removed: true,
            left_behind: None,
            cleanup: crate::engine::prove::Cleanup::Removed,
            vantages: vec![],
            findings: vec![],
        }],
    }
}

#[test]
fn proof_runs_shows_progress_and_goes_on() {
    let s = at_proof();
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert!(s.proof.running);
    assert_eq!(
        fx,
        vec![Effect::StartProof {
            names: s.plan_names()
        }]
    );
    let (s, _) = run(
        s,
        [
            Action::ProofUpdate(ProofUpdate::Event(Event::Published {
                name: "www.example.test".into(),
                target: Name::from_ascii("www-example-test-3f1a2c.acme.lab"),
            })),
            Action::ProofUpdate(ProofUpdate::Event(Event::Seen {
                name: "www.example.test".into(),
                vantage: "cloudflare".into(),
                kind: VantageKind::Resolver,
                ms: 812,
            })),
        ],
    );
    assert_eq!(
        s.proof.names[0].seen,
        vec![("cloudflare".to_string(), VantageKind::Resolver, 812)]
    );
    // Enter while it runs does not start a second one.
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert!(fx.is_empty());
    let (s, _) = run(s, [Action::ProofUpdate(ProofUpdate::Done(report(true)))]);
    assert!(!s.proof.running && s.proof.passed());
    assert!(status(&s).contains("proof passed"));
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
}

#[test]
fn proof_cancel_and_failure_and_unavailable() {
    let (s, _) = run(at_proof(), [code(KeyCode::Enter)]);
    let (s, fx) = run(s, [code(KeyCode::Esc)]);
    assert_eq!(fx, vec![Effect::CancelProof]);
    assert!(!s.quitting);
    let (s, _) = run(s, [Action::ProofUpdate(ProofUpdate::Done(report(false)))]);
    assert_eq!(s.status.as_ref().unwrap().level, Level::Bad);
    let (s, fx) = run(s, [ch('r')]);
    assert!(matches!(fx[0], Effect::StartProof { .. }));
    let (s, _) = run(
        s,
        [Action::ProofUpdate(ProofUpdate::Unavailable(ZoneError {
            message: "no API token".into(),
            fix: "use the client".into(),
            code: None,
        }))],
    );
    assert!(!s.proof.running);
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
    // Leaving a running proof cancels it.
    let (s, _) = run(at_proof(), [code(KeyCode::Enter)]);
    let (_, fx) = run(s, [ctrl('b')]);
    assert_eq!(
        fx,
        vec![
            Effect::CancelProof,
            Effect::StartPoll {
                names: plan().names.iter().map(|n| n.name.clone()).collect()
            }
        ]
    );
}

// ---- client, done ---------------------------------------------------------------------

fn file_plan() -> FilePlan {
    FilePlan {
        files: vec![PlannedFile {
            client: "lego".into(),
            path: "/etc/lego/acme-delegate.env".into(),
            mode: 0o600,
            change: FileChange::New,
            diff: vec![],
        }],
        next: vec![
            ClientNext {
                client: "lego".into(),
                commands: vec!["lego --dns rfc2136 run".into()],
                notes: vec!["EMAIL is your ACME account's address".into()],
            },
            ClientNext {
                client: "certbot".into(),
                commands: vec!["certbot certonly --manual -d www.example.test".into()],
                notes: vec![],
            },
        ],
        notes: vec![],
    }
}

#[test]
fn client_pick_preview_write_and_done() {
    let (s, _) = run(at_proof(), [ch('n')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert!(fx.is_empty() && status(&s).contains("pick at least one"));
    let (s, fx) = run(s, [ch(' '), code(KeyCode::Enter)]);
    assert_eq!(
        fx,
        vec![Effect::PlanFiles {
            clients: vec![ClientKind::Lego],
            options: Default::default(),
        }]
    );
    assert!(s.client.busy);
    let missing = crate::clients::write::WriteError::Missing {
        what: "no acme-dns account is stored for www.example.test".into(),
        fix: "run plan again".into(),
    };
    let (s, _) = run(s, [Action::FilesPlanned(Err(missing.into()))]);
    assert_eq!(
        s.client.error.as_deref(),
        Some("no acme-dns account is stored for www.example.test. Fix: run plan again")
    );
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    let (s, _) = run(s, [Action::FilesPlanned(Ok(file_plan()))]);
    assert!(s.client.plan.is_some());
    let (s, fx) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(fx, vec![Effect::WriteFiles]);
    let (s, _) = run(
        s,
        [Action::FilesWritten(Err(
            crate::tui::state::client::FilesError::StalePreview,
        ))],
    );
    assert!(
        status(&s).contains("the files were not written: nothing was written"),
        "{}",
        status(&s)
    );
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
    let (s, _) = run(
        s,
        [Action::FilesWritten(Ok(vec![
            "/etc/lego/acme-delegate.env".into(),
        ]))],
    );
    assert_eq!(s.screen, Screen::Wizard(Step::Done));
    let (s, fx) = run(s, [ch('c')]);
    let Effect::Copy { text, .. } = &fx[0] else {
        panic!()
    };
    assert!(text.contains("--prometheus-textfile"), "{text}");
    // Every client's commands and notes are printed when the TUI closes.
    let out = crate::tui::state::done::exit_summary(&s).join("\n");
    for want in [
        "lego --dns rfc2136 run",
        "certbot certonly --manual -d www.example.test",
        "note: EMAIL is your ACME account's address",
        "wrote /etc/lego/acme-delegate.env",
        "17 */6 * * * acme-delegate",
        "check --wait 10m www.example.test '*.example.test'",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
    // Forward stops at the end; back goes to the client.
    let (s, fx) = run(s, [ctrl('n')]);
    assert!(fx.is_empty() && s.screen == Screen::Wizard(Step::Done));
    let (s, _) = run(s, [ch('b')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
}

#[test]
fn back_and_forward_work_at_every_step() {
    let mut s = at_cname();
    let mut seen = vec![s.screen];
    for _ in 0..4 {
        s = run(s, [ctrl('n')]).0;
        seen.push(s.screen);
    }
    assert_eq!(
        seen,
        [
            Step::Cname,
            Step::Poll,
            Step::Proof,
            Step::Client,
            Step::Done
        ]
        .map(Screen::Wizard)
    );
    for want in [
        Step::Client,
        Step::Proof,
        Step::Poll,
        Step::Cname,
        Step::Zone,
        Step::Names,
    ] {
        s = run(s, [ctrl('b')]).0;
        assert_eq!(s.screen, Screen::Wizard(want));
    }
    let (s, _) = run(s, [ctrl('b')]);
    assert!(status(&s).contains("first step"));
}

// ---- resume ---------------------------------------------------------------------------

#[test]
fn a_saved_plan_is_offered_for_resuming() {
    let (s, fx) = st().with_plan(plan(), Some("/p.toml".into()), false);
    assert!(fx.is_empty());
    assert_eq!(s.overlay, Some(Overlay::Resume));
    let (r, _) = run(s.clone(), [ch('y')]);
    assert_eq!(r.screen, Screen::Wizard(Step::Cname));
    assert_eq!(r.names.parsed.len(), 2);
    assert_eq!(r.zone.kind, 1);
    let (f, _) = run(s, [ch('n')]);
    assert_eq!(f.screen, Screen::Wizard(Step::Names));
    assert!(f.plan.is_none() && f.names.parsed.is_empty());
    let (s, fx) = st().with_plan(plan(), None, true);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    assert!(matches!(fx[0], Effect::StartPoll { .. }));
}

// ---- troubleshooter -------------------------------------------------------------------

fn troubled() -> State {
    let (s, fx) = st().troubleshooter(vec!["www.example.test".into(), "api.example.test".into()]);
    assert_eq!(s.screen, Screen::Troubleshoot);
    assert_eq!(
        fx,
        vec![Effect::RunDiagnose {
            names: vec!["www.example.test".into(), "api.example.test".into()]
        }]
    );
    assert!(s.trouble.running);
    s
}

fn diagnosed() -> State {
    let (s, _) = run(
        troubled(),
        [
            Action::DiagnoseProgress {
                done: 1,
                total: 2,
                last: Some("www.example.test".into()),
            },
            Action::FindingsReady(Findings {
                purpose: Purpose::Troubleshoot,
                by_name: vec![
                    (
                        "www.example.test".into(),
                        vec![
                            finding("CLIENT_WHERE", "www.example.test", "lego"),
                            finding("TTL_HIGH", "www.example.test", "ns1")
                                .severity(Severity::Warning),
                        ],
                    ),
                    (
                        "api.example.test".into(),
                        vec![finding("CNAME_MISSING", "api.example.test", "ns1")],
                    ),
                ],
                at: at(5),
            }),
        ],
    );
    s
}

#[test]
fn troubleshooter_lists_worst_first_and_opens_details() {
    let s = diagnosed();
    assert!(!s.trouble.running);
    let codes: Vec<_> = s.trouble.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, vec!["CNAME_MISSING", "TTL_HIGH", "CLIENT_WHERE"]);
    assert!(status(&s).contains("1 error"));
    let (s, _) = run(s, [code(KeyCode::Down), code(KeyCode::Enter)]);
    let Some(Overlay::Finding(f)) = &s.overlay else {
        panic!()
    };
    assert_eq!(f.code, "TTL_HIGH");
    let (s, fx) = run(s, [code(KeyCode::Esc), ch('c')]);
    assert_eq!(
        fx,
        vec![Effect::Copy {
            what: "the fix for TTL_HIGH".into(),
            text: "fix for TTL_HIGH".into()
        }]
    );
    let (s, fx) = run(s, [ch('r')]);
    assert!(s.trouble.running);
    assert!(matches!(fx[0], Effect::RunDiagnose { .. }));
    let (s, fx) = run(s, [ch('r')]);
    assert!(fx.is_empty(), "no second run while one runs");
    let (s, fx) = run(s, [code(KeyCode::Esc)]);
    assert_eq!(fx, vec![Effect::CancelDiagnose]);
    assert!(!s.trouble.running && !s.quitting);
    // A result arriving after the cancel is dropped; the old list stays.
    let (s, _) = run(
        s,
        [Action::FindingsReady(Findings {
            purpose: Purpose::Troubleshoot,
            by_name: vec![],
            at: at(9),
        })],
    );
    assert_eq!(s.trouble.findings.len(), 3);
    let (s, fx) = run(s, [ch('q')]);
    assert!(s.quitting && fx == vec![Effect::Quit]);
}

#[test]
fn troubleshooter_clean_run_and_no_names() {
    let (s, _) = run(
        troubled(),
        [Action::FindingsReady(Findings {
            purpose: Purpose::Troubleshoot,
            by_name: vec![
                ("www.example.test".into(), vec![]),
                ("api.example.test".into(), vec![]),
            ],
            at: at(5),
        })],
    );
    assert!(status(&s).contains("every name works from every vantage point"));
    assert_eq!(s.trouble.clean.len(), 2);
    let (s, fx) = st().troubleshooter(vec![]);
    assert!(fx.is_empty() && !s.trouble.running);
    assert!(status(&s).contains("no names"));
}

// ---- mouse ----------------------------------------------------------------------------

fn click(x: u16, y: u16) -> Action {
    Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn clicks_select_list_rows_open_them_and_press_key_buttons() {
    let mut s = diagnosed();
    s.hits = Hits {
        keys: vec![(
            Rect::new(0, 23, 8, 1),
            KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE),
        )],
        lists: vec![(
            ListId::Findings,
            ListHit {
                area: Rect::new(2, 3, 76, 10),
                first: 0,
                len: 3,
            },
        )],
        ..Default::default()
    };
    let (s, _) = run(s, [click(10, 5)]);
    assert_eq!(s.trouble.selected, 2);
    assert_eq!(s.overlay, None);
    let (s, _) = run(s, [click(10, 5)]);
    assert!(
        matches!(s.overlay, Some(Overlay::Finding(_))),
        "a second click opens"
    );
    let (mut s, _) = run(s, [code(KeyCode::Esc)]);
    // Below the last row: nothing.
    let (s2, fx) = run(s.clone(), [click(10, 12)]);
    assert!(fx.is_empty() && s2.trouble.selected == 2 && !s2.dirty);
    s.hits.keys = vec![(
        Rect::new(0, 23, 8, 1),
        KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE),
    )];
    let (s, fx) = run(s, [click(3, 23)]);
    assert!(s.trouble.running);
    assert!(matches!(fx[0], Effect::RunDiagnose { .. }));
}

#[test]
fn clicks_on_the_zone_kinds_and_client_rows() {
    let mut s = at_zone();
    s.hits.lists = vec![(
        ListId::Kinds,
        ListHit {
            area: Rect::new(2, 3, 76, 4),
            first: 0,
            len: 4,
        },
    )];
    let (s, _) = run(s, [click(5, 6)]);
    assert_eq!(s.zone.kind, 3);
    let (mut s, _) = run(at_proof(), [ch('n')]);
    s.hits.lists = vec![(
        ListId::Clients,
        ListHit {
            area: Rect::new(2, 3, 76, 6),
            first: 0,
            len: 6,
        },
    )];
    let (s, _) = run(s, [click(5, 4), click(5, 4)]);
    assert_eq!(s.client.selected, 1);
    assert_eq!(s.client.picks(), vec![ClientKind::Certbot]);
}

#[test]
fn authoritative_answers_alone_are_not_all_green() {
    let s = at_poll();
    let (s, _) = run(
        s,
        [
            cell(
                "www.example.test",
                "ns1.example.test.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                "*.example.test",
                "ns1.example.test.",
                VantageKind::Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                "www.example.test",
                "google",
                VantageKind::Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
        ],
    );
    assert!(
        s.poll.all_green_at.is_none(),
        "*.example.test has no resolver answer yet"
    );
    assert_ne!(s.status.as_ref().map(|x| x.text.as_str()), Some(ALL_GREEN));
}

fn columns() -> Action {
    Action::PollStarted {
        columns: vec![
            ("authoritative".into(), VantageKind::Authoritative),
            ("lab-unbound".into(), VantageKind::Resolver),
            ("system".into(), VantageKind::System),
        ],
    }
}

#[test]
fn the_poll_knows_its_columns_at_once_and_every_cell_waits() {
    let (s, _) = run(at_poll(), [columns()]);
    assert_eq!(s.poll.grid.columns.len(), 3);
    assert_eq!(s.poll.grid.counts(), [0, 6, 0, 0]);
    assert!(!s.poll.grid.all_green());
    // Only when every cell of every name is green.
    let mut a = Vec::new();
    for n in ["www.example.test", "*.example.test"] {
        for (v, k) in [
            ("authoritative", VantageKind::Authoritative),
            ("lab-unbound", VantageKind::Resolver),
        ] {
            a.push(cell(n, v, k, CellStatus::Ok, "CNAME ok", at(1)));
        }
    }
    let (s, _) = run(s, a);
    assert!(s.poll.all_green_at.is_none(), "the system view still waits");
    let (s, _) = run(
        s,
        [
            cell(
                "www.example.test",
                "system",
                VantageKind::System,
                CellStatus::Ok,
                "CNAME ok",
                at(2),
            ),
            cell(
                "*.example.test",
                "system",
                VantageKind::System,
                CellStatus::Ok,
                "CNAME ok",
                at(2),
            ),
        ],
    );
    assert_eq!(status(&s), ALL_GREEN);
}

#[test]
fn findings_follow_their_authoritative_cell_and_are_replaced_when_it_changes() {
    let red = |when| {
        cell(
            "www.example.test",
            "authoritative",
            VantageKind::Authoritative,
            CellStatus::Bad,
            "no CNAME",
            when,
        )
    };
    let missing = finding("CNAME_MISSING", "www.example.test", "authoritative");
    let (s, _) = run(
        at_poll(),
        [
            columns(),
            red(at(1)),
            Action::PollFinding {
                name: "www.example.test".into(),
                finding: Box::new(missing.clone()),
            },
            Action::PollFinding {
                name: "www.example.test".into(),
                finding: Box::new(missing.clone()),
            },
        ],
    );
    assert_eq!(s.poll.findings["www.example.test"], vec![missing.clone()]);
    // Enter on the red cell opens that finding.
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert_eq!(s.overlay, Some(Overlay::Finding(Box::new(missing))));
    let (s, _) = run(s, [code(KeyCode::Esc)]);
    // The cell changes: its old findings go.
    let (s, _) = run(s, [red(at(2))]);
    assert!(!s.poll.findings.contains_key("www.example.test"));
}

#[test]
fn a_poll_that_stops_by_itself_says_so_and_r_polls_again() {
    use crate::engine::poll::PollEnd;
    let (s, fx) = run(
        at_poll(),
        [
            columns(),
            Action::PollRound {
                round: 3,
                ok: 1,
                total: 2,
            },
            ch('r'),
        ],
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(s.poll.round, Some((3, 1, 2)));
    assert!(status(&s).contains("polling already"));
    let (s, _) = run(s, [Action::PollEnded(PollEnd::TimedOut)]);
    assert!(s.poll.stopped);
    assert!(status(&s).contains("r polls again"), "{}", status(&s));
    let (s, fx) = run(s, [ch('r')]);
    assert!(!s.poll.stopped);
    assert_eq!(
        fx,
        vec![Effect::StartPoll {
            names: vec!["www.example.test".into(), "*.example.test".into()]
        }]
    );
    // Every name works: the grid already said so, nothing more to say.
    let (s2, _) = run(s.clone(), [Action::PollEnded(PollEnd::Works)]);
    assert!(!s2.poll.stopped);
    // This network cannot read the authoritative servers: stopped, with why and the way
    // out; r polls again.
    let (s3, _) = run(s, [Action::PollEnded(PollEnd::Blind)]);
    assert!(s3.poll.stopped);
    assert!(
        status(&s3).contains("cannot be read from here"),
        "{}",
        status(&s3)
    );
    assert!(status(&s3).contains("r polls again"), "{}", status(&s3));
}

#[test]
fn diagnose_progress_names_the_last_name_and_is_ignored_once_cancelled() {
    let (s, fx) = st().troubleshooter(vec!["a.example.test".into(), "b.example.test".into()]);
    assert_eq!(fx.len(), 1);
    let (s, _) = run(
        s,
        [Action::DiagnoseProgress {
            done: 1,
            total: 2,
            last: Some("a.example.test".into()),
        }],
    );
    assert_eq!(s.trouble.progress, Some((1, 2)));
    assert_eq!(s.trouble.last.as_deref(), Some("a.example.test"));
    let (s, fx) = run(s, [code(KeyCode::Esc)]);
    assert_eq!(fx, vec![Effect::CancelDiagnose]);
    let (s, _) = run(
        s,
        [Action::DiagnoseProgress {
            done: 2,
            total: 2,
            last: Some("b.example.test".into()),
        }],
    );
    assert_eq!(
        s.trouble.progress, None,
        "a cancelled run shows no progress"
    );
    assert!(!s.dirty);
}

/// The chain of a name reaches a new zone (the CNAME was published): its servers' columns
/// come in before the resolvers, and the selection stays on the cell it was on.
#[test]
fn new_server_columns_keep_the_selection_on_its_cell() {
    let (mut s, _) = run(at_poll(), [columns()]);
    s.poll.selected = (0, 2);
    assert_eq!(s.poll.grid.columns[2].vantage, "system");
    let server = |ns: &str| CellUpdate {
        name: "www.example.test".into(),
        vantage: format!("{ns} (127.0.0.11:53)"),
        kind: VantageKind::Authoritative,
        status: CellStatus::Ok,
        short: "CNAME ok".into(),
        detail: String::new(),
        at: at(1),
    };
    let (s, _) = run(
        s,
        [Action::ServerCells {
            name: "www.example.test".into(),
            cells: vec![server("ns1.example.test."), server("ns1.acme.lab.")],
        }],
    );
    let vantages: Vec<&str> = s
        .poll
        .grid
        .columns
        .iter()
        .map(|c| c.vantage.as_str())
        .collect();
    assert_eq!(
        vantages,
        [
            "authoritative",
            "ns1.example.test. (127.0.0.11:53)",
            "ns1.acme.lab. (127.0.0.11:53)",
            "lab-unbound",
            "system"
        ]
    );
    assert_eq!(s.poll.selected, (0, 4), "still on the system view");
    // The other name's chain is not known yet: its server cells wait; once it is, a
    // server its chain does not pass is off its chain.
    assert!(s.poll.grid.cell(1, 1).is_none());
    let (s, _) = run(
        s,
        [Action::ServerCells {
            name: "*.example.test".into(),
            cells: vec![CellUpdate {
                name: "*.example.test".into(),
                ..server("ns1.example.test.")
            }],
        }],
    );
    assert_eq!(
        s.poll.grid.cell(1, 1).map(|c| c.status),
        Some(CellStatus::Ok)
    );
    assert_eq!(
        s.poll.grid.cell(1, 2).map(|c| c.status),
        Some(CellStatus::Off)
    );
}

// ---- done: the truth ------------------------------------------------------------------

fn red_and_green_grid(s: State) -> State {
    use crate::engine::views::VantageKind::{Authoritative, Resolver};
    run(
        s,
        [
            Action::PollStarted {
                columns: vec![
                    ("authoritative".into(), Authoritative),
                    ("lab-unbound".into(), Resolver),
                ],
            },
            cell(
                "www.example.test",
                "authoritative",
                Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                "www.example.test",
                "lab-unbound",
                Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(1),
            ),
            cell(
                "*.example.test",
                "authoritative",
                Authoritative,
                CellStatus::Bad,
                "no CNAME",
                at(1),
            ),
        ],
    )
    .0
}

#[test]
fn done_after_skipping_everything_with_a_red_name_is_not_set_up_and_exits_1() {
    let s = red_and_green_grid(at_poll());
    // n n n: skip the poll, the proof and the client.
    let (s, _) = run(s, [ch('n'), ch('n'), ch('n')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Done));
    let sum = crate::tui::state::done::summary(&s);
    assert_eq!((sum.total, sum.works), (2, 1));
    assert_eq!(sum.failed, ["*.example.test"]);
    assert!(!sum.set_up());
    assert_eq!(sum.skipped(), ["proof", "client"]);
    assert!(!status(&s).contains("all set"), "{}", status(&s));
    let o = crate::tui::wizard_outcome(&s);
    assert_eq!(o.exit_code, 1);
    assert_eq!(o.summary[0], "The delegation is not verified.");
    let all = o.summary.join("\n");
    assert!(
        all.contains("1 of 2 names work from every vantage point; 1 failed"),
        "{all}"
    );
    assert!(all.contains("proof: skipped"), "{all}");
    assert!(
        all.contains("acme-delegate prove"),
        "an RFC 2136 plan can be proved: {all}"
    );
}

#[test]
fn done_is_set_up_and_exits_0_only_when_the_poll_and_the_proof_passed_for_every_name() {
    use crate::engine::views::VantageKind::Authoritative;
    let s = red_and_green_grid(at_poll());
    let (s, _) = run(
        s,
        [
            cell(
                "*.example.test",
                "authoritative",
                Authoritative,
                CellStatus::Ok,
                "CNAME ok",
                at(2),
            ),
            cell(
                "*.example.test",
                "lab-unbound",
                crate::engine::views::VantageKind::Resolver,
                CellStatus::Ok,
                "CNAME ok",
                at(2),
            ),
        ],
    );
    let mut r = report(true);
    let mut second = r.names[0].clone();
    second.name = "*.example.test".into();
    r.names.push(second);
    let (s, _) = run(
        s,
        [
            ch('n'),
            code(KeyCode::Enter),
            Action::ProofUpdate(ProofUpdate::Done(r.clone())),
            ch('n'),
            ch('n'),
        ],
    );
    assert_eq!(s.screen, Screen::Wizard(Step::Done));
    assert!(crate::tui::state::done::summary(&s).set_up());
    assert!(status(&s).contains("all set"));
    assert_eq!(crate::tui::wizard_outcome(&s).exit_code, 0);
    // A proof that failed for one name: not set up.
    let mut bad = r;
    bad.names[1].ok = false;
    let mut s2 = s.clone();
    s2.proof.report = Some(bad);
    assert_eq!(crate::tui::wizard_outcome(&s2).exit_code, 1);
    // Quitting before the Done screen: 1.
    let mut s3 = s;
    s3.screen = Screen::Wizard(Step::Client);
    assert_eq!(crate::tui::wizard_outcome(&s3).exit_code, 1);
}

#[test]
fn esc_goes_back_one_step_and_quits_only_on_the_first_screen() {
    let (s, fx) = run(at_proof(), [code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
    assert!(!fx.contains(&Effect::Quit));
    let (s, _) = run(s, [code(KeyCode::Esc), code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Zone));
    let (s, _) = run(s, [code(KeyCode::Esc)]);
    assert_eq!(s.screen, Screen::Wizard(Step::Names));
    assert!(!s.quitting);
    // q quits from anywhere (here: asks, names typed are unsaved).
    let (s, fx) = run(s, [code(KeyCode::Esc)]);
    assert!(s.overlay == Some(Overlay::ConfirmQuit) || fx.contains(&Effect::Quit));
    let (s, fx) = run(at_proof(), [ch('q')]);
    assert!(s.overlay == Some(Overlay::ConfirmQuit) || fx.contains(&Effect::Quit));
}

#[test]
fn help_lists_this_screens_keys_and_scrolls_without_closing() {
    let (s, _) = run(at_poll(), [code(KeyCode::F(1))]);
    assert_eq!(s.overlay, Some(Overlay::Help));
    let keys: Vec<&str> = crate::tui::screens::popup::help_lines(&s)
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert!(
        keys.contains(&"arrows") && keys.contains(&"Esc"),
        "{keys:?}"
    );
    let mut s = s;
    s.hits.popup_pane = Some(crate::tui::widgets::text_pane::PaneHit {
        area: Rect::new(0, 0, 60, 5),
        total: 12,
        rows: 5,
    });
    let (s, _) = run(s, [ch('j')]);
    assert_eq!(s.overlay, Some(Overlay::Help), "j scrolls the help");
    assert_eq!(s.popup_pane.offset, 1);
    let (s, _) = run(s, [ch('x')]);
    assert_eq!(s.overlay, None);
}

#[test]
fn the_troubleshooter_lists_healthy_names_after_the_failing_ones() {
    let s = diagnosed();
    assert_eq!(s.trouble.healthy, ["www.example.test"]);
    // G: the last row, the healthy name; Enter says it works.
    let (s, _) = run(s, [ch('G')]);
    assert_eq!(s.trouble.selected, 3);
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert!(s.overlay.is_none());
    assert_eq!(
        status(&s),
        "www.example.test: no error: works from every vantage point"
    );
    let (s, _) = run(s, [ch('g')]);
    assert_eq!(s.trouble.selected, 0);
}

#[test]
fn the_client_step_takes_write_s_options_and_hands_them_to_the_writers() {
    let (s, _) = run(at_proof(), [ch('n')]);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
    // Empty fields: write's defaults.
    let (s, fx) = run(s, [ch(' '), code(KeyCode::Enter)]);
    assert_eq!(
        fx,
        vec![Effect::PlanFiles {
            clients: vec![ClientKind::Lego],
            options: Default::default(),
        }]
    );
    let mut s = s;
    s.client.busy = false;
    // Tab to the fields; letters are text there (n, q, b are not commands).
    let mut keys = vec![code(KeyCode::Tab)];
    keys.extend(typed("https://127.0.0.1:14000/dir"));
    keys.push(code(KeyCode::Tab));
    keys.extend(typed("admin@example.test"));
    keys.push(code(KeyCode::Tab));
    keys.extend(typed("out"));
    keys.push(code(KeyCode::Tab));
    keys.extend(typed("127.0.0.53:53"));
    keys.push(code(KeyCode::Enter));
    let (s, fx) = run(s, keys);
    assert_eq!(s.screen, Screen::Wizard(Step::Client));
    let Some(Effect::PlanFiles { options, .. }) = fx.last() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        options.server.as_deref(),
        Some("https://127.0.0.1:14000/dir")
    );
    assert_eq!(options.email.as_deref(), Some("admin@example.test"));
    assert_eq!(options.out.as_deref(), Some(std::path::Path::new("out")));
    assert_eq!(options.resolvers, ["127.0.0.53:53"]);
}

#[test]
fn g_and_shift_g_go_to_the_first_and_last_name_of_the_grid() {
    let (s, _) = run(at_poll(), [ch('G')]);
    assert_eq!(s.poll.selected.0, 1);
    let (s, _) = run(s, [ch('g')]);
    assert_eq!(s.poll.selected.0, 0);
}

#[test]
fn slash_filters_the_findings_and_esc_clears_the_filter() {
    let s = diagnosed();
    let mut keys = vec![ch('/')];
    keys.extend(typed("ttl"));
    keys.push(code(KeyCode::Enter));
    let (s, _) = run(s, keys);
    assert!(!s.trouble.filtering);
    let shown: Vec<String> = s
        .trouble
        .shown_findings()
        .iter()
        .map(|f| f.code.to_string())
        .collect();
    assert_eq!(shown, ["TTL_HIGH"]);
    assert!(s.trouble.shown_healthy().is_empty());
    // Enter opens the one shown.
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    let Some(Overlay::Finding(f)) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert_eq!(f.code.to_string(), "TTL_HIGH");
    let (s, _) = run(s, [code(KeyCode::Esc), ch('/'), code(KeyCode::Esc)]);
    assert_eq!(s.trouble.shown_findings().len(), 3);
    assert!(!s.quitting);
}

#[test]
fn slash_finds_a_name_in_the_grid() {
    let mut keys = vec![ch('/')];
    keys.extend(typed("*.ex"));
    let (s, _) = run(at_poll(), keys);
    assert_eq!(s.poll.selected.0, 1, "as typed");
    // Enter: the next one (wrapping: the same here); n is text while finding.
    let (s, _) = run(s, [code(KeyCode::Enter)]);
    assert!(!s.poll.finding);
    assert_eq!(s.poll.selected.0, 1);
    assert_eq!(s.screen, Screen::Wizard(Step::Poll));
}

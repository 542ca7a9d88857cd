//! Step 7: done. What was verified and what was not (names that work from every vantage
//! point, names that failed, the steps skipped), each client's next commands, where the
//! files went, and how to re-check later: `acme-delegate check --wait 10m ...` and a cron
//! line with `--prometheus-textfile`. "set up" only when the poll and the proof both
//! passed for every name; the wizard then exits 0, otherwise 1.
//!
//! ```text
//! ┌ 7 Done ──────────────────────────────────────────────────────────────────────┐
//! │ ✗ The delegation is not verified.                                            │
//! │ Poll   35 of 50 names work from every vantage point; 15 failed; 0 not ...    │
//! │        ✗ a1.example.test  ✗ a7.example.test  ...                             │
//! │ Proof  skipped                                                               │
//! │ Client skipped: no files written                                             │
//! │ Next, run:                                                                   │
//! │   lego --dns rfc2136 ... run          (each picked client's commands)       │
//! │ The plan:   /root/.config/acme-delegate/plan.toml                            │
//! │ Re-check any time:                                                           │
//! │   acme-delegate --plan ... check --wait 10m www.example.com                  │
//! │ Cron (every 6 hours, ...):                                                   │
//! │   17 */6 * * * acme-delegate --plan ... check --prometheus-textfile ...      │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::tui::state::done::{own_commands, summary, ProofResult};
use crate::tui::state::nav::ask_quit;
use crate::tui::state::{Effect, Hits, State};
use crate::tui::theme::Level;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::text_pane;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub use crate::tui::state::done::{cron_line, recheck};

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match k.code {
        KeyCode::Char('c') => fx.push(Effect::Copy {
            what: "the cron line".into(),
            text: cron_line(s),
        }),
        KeyCode::Enter => ask_quit(s, fx),
        _ => match text_pane::scroll(s.pane, s.hits.pane, &k) {
            Some(p) => s.pane = p,
            None => return false,
        },
    }
    true
}

pub fn hints(_: &State) -> Vec<Hint> {
    vec![
        Hint::new("c", "copy cron line", KeyCode::Char('c')),
        Hint::new("j/k", "scroll", KeyCode::Char('j')),
        Hint::new("q", "leave", KeyCode::Char('q')),
    ]
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let sum = summary(s);
    let head = |label: &str| Line::styled(label.to_string(), t.heading());
    let cmd = |v: String| Line::styled(format!("  {v}"), t.code());
    let lvl = if sum.set_up() { Level::Ok } else { Level::Bad };
    let mut lines = vec![Line::styled(
        format!("{} {}", lvl.symbol(), sum.headline()),
        t.level(lvl),
    )];
    let poll_lvl = if sum.works == sum.total {
        Level::Ok
    } else if sum.failed.is_empty() {
        Level::Warn
    } else {
        Level::Bad
    };
    lines.push(Line::from(vec![
        Span::styled("Poll    ", t.heading()),
        Span::styled(sum.poll_line(), t.level(poll_lvl)),
    ]));
    if !sum.failed.is_empty() {
        let mut spans = vec![Span::raw("        ")];
        for n in &sum.failed {
            spans.push(Span::styled(
                format!("{} {n}  ", Level::Bad.symbol()),
                t.level(Level::Bad),
            ));
        }
        lines.push(Line::from(spans));
    }
    let proof_lvl = match sum.proof {
        ProofResult::Passed(_) => Level::Ok,
        ProofResult::Failed(_) => Level::Bad,
        _ => Level::Warn,
    };
    lines.push(Line::from(vec![
        Span::styled("Proof   ", t.heading()),
        Span::styled(sum.proof_line(), t.level(proof_lvl)),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Client  ", t.heading()),
        Span::styled(
            sum.client_line(),
            t.level(if sum.written.is_some() {
                Level::Ok
            } else {
                Level::Warn
            }),
        ),
    ]));
    let skipped = sum.skipped();
    if !skipped.is_empty() {
        lines.push(Line::styled(
            format!("Skipped: {}", skipped.join(", ")),
            t.level(Level::Warn),
        ));
    }
    lines.push(head("Next, run:"));
    if s.client.written.is_some() {
        for c in s.client.plan.iter().flat_map(|p| &p.next) {
            for command in &c.commands {
                lines.push(cmd(command.clone()));
            }
            for n in &c.notes {
                lines.push(Line::styled(format!("  {}: {n}", c.client), t.dim()));
            }
        }
    }
    for a in own_commands(s) {
        lines.push(cmd(a.shell()));
    }
    if let Some(files) = s.client.written.as_ref().filter(|f| !f.is_empty()) {
        lines.push(head("Files written:"));
        lines.extend(files.iter().map(|p| cmd(p.display().to_string())));
    }
    if let Some(p) = &s.plan_path {
        lines.push(head("The plan:"));
        lines.push(cmd(p.display().to_string()));
    }
    lines.push(head("Re-check any time:"));
    lines.push(cmd(recheck(s).shell()));
    lines.push(head(
        "Cron (every 6 hours, for node_exporter's textfile collector):",
    ));
    lines.push(cmd(cron_line(s)));
    let pane = Rect::new(
        area.x + 1,
        area.y,
        area.width.saturating_sub(2),
        area.height,
    );
    text_pane::render(f, pane, lines, &s.pane, t, hits);
}

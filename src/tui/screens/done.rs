//! Step 7: done. The next command, where the files went, and how to re-check later:
//! `acme-delegate check --wait ...` and a cron line with `--prometheus-textfile`.
//!
//! ```text
//! ┌ 7 Done ──────────────────────────────────────────────────────────────────────┐
//! │ ✓ The delegation is set up.                                                  │
//! │                                                                              │
//! │ Next         lego --dns rfc2136 ... run                                      │
//! │ Files        /etc/lego/acme-delegate.env                                     │
//! │ Plan         /root/.config/acme-delegate/plan.toml                           │
//! │ Re-check     acme-delegate --plan ... check --wait www.example.com           │
//! │ Cron         17 */6 * * * acme-delegate --plan ... check --wait              │
//! │              --prometheus-textfile /var/lib/prometheus/node-exporter/...     │
//! │                                                                              │
//! │ c copies the cron line · q leaves                                            │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::tui::state::nav::ask_quit;
use crate::tui::state::{Effect, Hits, State};
use crate::tui::theme::Level;
use crate::tui::widgets::key_bar::Hint;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Where node_exporter's textfile collector reads (Debian's default).
pub const TEXTFILE: &str = "/var/lib/prometheus/node-exporter/acme-delegate.prom";

fn plan_arg(s: &State) -> String {
    s.plan_path
        .as_ref()
        .map(|p| format!(" --plan {}", p.display()))
        .unwrap_or_default()
}

/// `acme-delegate check --wait NAME...`.
pub fn recheck_command(s: &State) -> String {
    format!(
        "acme-delegate{} check --wait {}",
        plan_arg(s),
        s.plan_names().join(" ")
    )
}

/// The cron line that keeps checking and feeds Prometheus.
pub fn cron_line(s: &State) -> String {
    format!(
        "17 */6 * * * acme-delegate{} check --wait --prometheus-textfile {TEXTFILE} {} >/dev/null",
        plan_arg(s),
        s.plan_names().join(" ")
    )
}

pub fn next_command(s: &State) -> String {
    s.client
        .plan
        .as_ref()
        .and_then(|p| p.next_command.clone())
        .unwrap_or_else(|| format!("acme-delegate{} prove", plan_arg(s)))
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match k.code {
        KeyCode::Char('c') => fx.push(Effect::Copy {
            what: "the cron line".into(),
            text: cron_line(s),
        }),
        KeyCode::Enter => ask_quit(s, fx),
        _ => return false,
    }
    true
}

pub fn hints(_: &State) -> Vec<Hint> {
    vec![
        Hint::new("c", "copy cron line", KeyCode::Char('c')),
        Hint::new("q", "leave", KeyCode::Char('q')),
    ]
}

pub fn render(s: &State, f: &mut Frame, area: Rect, _hits: &mut Hits) {
    let t = &s.theme;
    let head = |label: &str| Line::styled(label.to_string(), t.heading());
    let cmd = |v: String| Line::styled(format!("  {v}"), t.code());
    let mut lines = vec![
        Line::styled("✓ The delegation is set up.", t.level(Level::Ok)),
        head("Next, run:"),
        cmd(next_command(s)),
    ];
    match &s.client.written {
        Some(files) if !files.is_empty() => {
            lines.push(head("Files written:"));
            lines.extend(files.iter().map(|p| cmd(p.display().to_string())));
        }
        _ => lines.push(Line::raw("No files written (the client step was skipped).")),
    }
    if let Some(p) = &s.plan_path {
        lines.push(head("The plan:"));
        lines.push(cmd(p.display().to_string()));
    }
    lines.push(head("Re-check any time:"));
    lines.push(cmd(recheck_command(s)));
    lines.push(head(
        "Cron (every 6 hours, for node_exporter's textfile collector):",
    ));
    lines.push(cmd(cron_line(s)));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        Rect::new(
            area.x + 1,
            area.y,
            area.width.saturating_sub(2),
            area.height,
        ),
    );
}

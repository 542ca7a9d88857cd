//! Step 6: the issuing client(s). Pick one or more, preview their files (a diff against
//! what exists, secrets masked), then write them.
//!
//! ```text
//! ┌ 6 Issuing client ────────────────────────────────────────────────────────────┐
//! │ Which clients will ask for the certificates? Space picks, Enter previews.    │
//! │ >[x] lego                                                                    │
//! │  [ ] certbot                                                                 │
//! │  [ ] acme.sh  ...                                                            │
//! ├── preview (after Enter) ─────────────────────────────────────────────────────┤
//! │ >+ new      0600 /etc/lego/acme-delegate.env            (lego)               │
//! │  ~ changed  0644 /etc/cron.d/lego                       (lego)               │
//! │ ──────────                                                                   │
//! │ + RFC2136_NAMESERVER=127.0.0.12:53                                           │
//! │ + RFC2136_TSIG_SECRET=••••••••                                               │
//! │ - manual_auth_hook = acme-delegate --plan /a/[plan.toml] hook certbot-auth   │
//! │ + manual_auth_hook = acme-delegate --plan /a/[other.toml] hook certbot-auth  │
//! │   (the changed part reversed; long lines wrap; PgUp/PgDn scroll)             │
//! │ Enter writes these files · Backspace back to the clients                     │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::tui::state::client::{
    DiffLine, FileChange, FilePlan, FilesError, CLIENTS, DEFAULTS, FIELDS,
};
use crate::tui::state::nav::go;
use crate::tui::state::{Effect, Hits, ListId, Screen, State, Step};
use crate::tui::theme::Theme;
use crate::tui::theme::{spinner, Level};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::text_pane;
use crate::tui::widgets::{fit, pad, scroll_to};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::path::PathBuf;

fn preview(s: &mut State, fx: &mut Vec<Effect>) {
    let clients = s.client.picks();
    if clients.is_empty() {
        s.say(
            Level::Bad,
            "pick at least one client with Space (n skips this step)",
        );
        return;
    }
    s.client.busy = true;
    s.client.error = None;
    s.say(Level::Info, "preparing the files…");
    fx.push(Effect::PlanFiles {
        clients,
        options: s.client.options(),
    });
}

pub fn on_planned(s: &mut State, r: Result<FilePlan, FilesError>) {
    if !s.client.busy {
        s.dirty = false;
        return;
    }
    s.client.busy = false;
    match r {
        Ok(p) => {
            let changes = p
                .files
                .iter()
                .filter(|f| f.change != FileChange::Same)
                .count();
            s.say(
                Level::Info,
                format!(
                    "{} file{}, {changes} to write: Enter writes them",
                    p.files.len(),
                    if p.files.len() == 1 { "" } else { "s" }
                ),
            );
            s.client.plan = Some(p);
            s.client.file_selected = 0;
        }
        Err(e) => {
            s.say(Level::Bad, format!("no files: {e}"));
            s.client.error = Some(e.to_string());
        }
    }
}

pub fn on_written(s: &mut State, r: Result<Vec<PathBuf>, FilesError>, fx: &mut Vec<Effect>) {
    s.client.busy = false;
    match r {
        Ok(paths) => {
            s.say(
                Level::Ok,
                format!(
                    "wrote {} file{}",
                    paths.len(),
                    if paths.len() == 1 { "" } else { "s" }
                ),
            );
            s.client.written = Some(paths);
            go(s, Screen::Wizard(Step::Done), fx);
        }
        Err(e) => {
            s.say(Level::Bad, format!("the files were not written: {e}"));
            s.client.error = Some(e.to_string());
        }
    }
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if s.client.busy {
        return false;
    }
    if let Some(plan) = &s.client.plan {
        let n = plan.files.len();
        let before = s.client.file_selected;
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => {
                s.client.file_selected = s.client.file_selected.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                s.client.file_selected = (s.client.file_selected + 1).min(n.saturating_sub(1))
            }
            // The diff pane scrolls (its long lines wrap).
            KeyCode::PageDown
            | KeyCode::PageUp
            | KeyCode::Char(' ')
            | KeyCode::Char('g')
            | KeyCode::Char('G') => {
                if let Some(p) = text_pane::scroll(s.pane, s.hits.pane, &k) {
                    s.pane = p;
                }
            }
            KeyCode::Enter | KeyCode::Char('w') => {
                s.client.busy = true;
                s.say(Level::Info, "writing the files…");
                fx.push(Effect::WriteFiles);
            }
            KeyCode::Backspace => {
                s.client.plan = None;
                s.status = None;
            }
            _ => return false,
        }
        if s.client.file_selected != before {
            s.pane = Default::default();
        }
        return true;
    }
    // Tab moves from the list through the option fields and back.
    match k.code {
        KeyCode::Tab => {
            s.client.field = match s.client.field {
                None => Some(0),
                Some(i) if i + 1 < FIELDS.len() => Some(i + 1),
                Some(_) => None,
            };
            return true;
        }
        KeyCode::BackTab => {
            s.client.field = match s.client.field {
                None => Some(FIELDS.len() - 1),
                Some(0) => None,
                Some(i) => Some(i - 1),
            };
            return true;
        }
        _ => {}
    }
    if let Some(i) = s.client.field {
        if k.code == KeyCode::Enter {
            preview(s, fx);
            return true;
        }
        return s.client.fields[i].handle(&k);
    }
    match k.code {
        KeyCode::Up | KeyCode::Char('k') => s.client.selected = s.client.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            s.client.selected = (s.client.selected + 1).min(CLIENTS.len() - 1)
        }
        KeyCode::Char(' ') | KeyCode::Char('x') => {
            let i = s.client.selected;
            s.client.picked[i] = !s.client.picked[i];
        }
        KeyCode::Enter => preview(s, fx),
        _ => return false,
    }
    true
}

pub fn click(s: &mut State, id: ListId, i: usize, _fx: &mut Vec<Effect>) {
    match id {
        ListId::Clients if s.client.plan.is_none() => {
            if s.client.selected == i {
                s.client.picked[i] = !s.client.picked[i];
            }
            s.client.selected = i;
        }
        ListId::Files => s.client.file_selected = i,
        _ => s.dirty = false,
    }
}

pub fn hints(s: &State) -> Vec<Hint> {
    if s.client.busy {
        vec![]
    } else if s.client.plan.is_some() {
        vec![
            Hint::new("Enter", "write", KeyCode::Enter),
            Hint::new("Bksp", "clients", KeyCode::Backspace),
            Hint::new("n", "skip", KeyCode::Char('n')),
        ]
    } else {
        vec![
            Hint::new("Space", "pick", KeyCode::Char(' ')),
            Hint::new("Enter", "preview", KeyCode::Enter),
            Hint::new("n", "skip", KeyCode::Char('n')),
        ]
    }
}

/// The end of a long path (its file name matters most), with `…` in front.
fn fit_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - width.saturating_sub(1)).collect();
    format!("…{tail}")
}

fn change_word(c: FileChange) -> (&'static str, Level) {
    match c {
        FileChange::New => ("+ new    ", Level::Ok),
        FileChange::Changed => ("~ changed", Level::Warn),
        FileChange::Same => ("= same   ", Level::Waiting),
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let c = &s.client;
    let x = area.x + 1;
    let w = area.width.saturating_sub(2);
    f.render_widget(
        Line::raw("Which clients? Space picks, Tab: the options below, Enter previews."),
        Rect::new(x, area.y, w, 1),
    );
    // With a preview on screen the picks and options take one line (the diff needs room).
    let list = if c.plan.is_some() {
        let picks: Vec<String> = c.picks().iter().map(|p| p.to_string()).collect();
        let o = c.options();
        let list = Rect::new(x, area.y + 1, w, 1);
        f.render_widget(
            Line::styled(
                fit(
                    &format!(
                        "clients: {}{}{} (Backspace changes them)",
                        picks.join(", "),
                        o.out
                            .as_ref()
                            .map(|p| format!(" · into {}", p.display()))
                            .unwrap_or_default(),
                        o.server
                            .as_ref()
                            .map(|u| format!(" · {u}"))
                            .unwrap_or_default()
                    ),
                    w as usize,
                ),
                t.dim(),
            ),
            list,
        );
        list
    } else {
        let list = Rect::new(x, area.y + 1, w, CLIENTS.len() as u16);
        let lines: Vec<Line> = CLIENTS
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let l = Line::raw(format!(
                    "{}[{}] {k}",
                    if i == c.selected && c.plan.is_none() {
                        ">"
                    } else {
                        " "
                    },
                    if c.picked[i] { "x" } else { " " }
                ));
                if i == c.selected && c.plan.is_none() {
                    l.style(t.selected())
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines), list);
        hits.lists.push((
            ListId::Clients,
            ListHit {
                area: list,
                first: 0,
                len: CLIENTS.len(),
            },
        ));
        // The options `write` takes (empty: its default, shown dim).
        let opts_area = Rect::new(x, list.y + list.height, w, FIELDS.len() as u16);
        let label_w = 15usize;
        let opt_lines: Vec<Line> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let focused = c.field == Some(i) && c.plan.is_none();
                let value = c.fields[i].value();
                let shown = if value.is_empty() && !focused {
                    Span::styled(format!("({})", DEFAULTS[i]), t.dim())
                } else {
                    Span::raw(value.to_string())
                };
                Line::from(vec![
                    Span::styled(
                        format!(
                            "{} {}",
                            if focused { ">" } else { " " },
                            pad(label, label_w)
                        ),
                        if focused { t.focus() } else { t.heading() },
                    ),
                    shown,
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(opt_lines), opts_area);
        if let Some(i) = c.field.filter(|_| c.plan.is_none() && s.overlay.is_none()) {
            let cx = c.fields[i].cursor() as u16;
            f.set_cursor_position(ratatui::layout::Position::new(
                (x + 2 + label_w as u16 + cx).min(x + w.saturating_sub(1)),
                opts_area.y + i as u16,
            ));
        }
        let list = Rect::new(
            list.x,
            list.y,
            list.width,
            list.height + FIELDS.len() as u16,
        );
        Rect::new(
            list.x,
            list.y,
            list.width,
            list.height + FIELDS.len() as u16,
        )
    };
    let below = Rect::new(
        x,
        list.y + list.height + 1,
        w,
        area.height.saturating_sub(list.height + 2),
    );
    if c.busy {
        f.render_widget(
            Line::styled(
                format!("{} working…", spinner(s.frame)),
                t.level(Level::Info),
            ),
            below,
        );
        return;
    }
    if let Some(e) = &c.error {
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(format!("✗ {e}"), t.level(Level::Bad)),
                Line::raw("pick other clients and press Enter again, or n to skip writing files"),
            ])
            .wrap(ratatui::widgets::Wrap { trim: false }),
            below,
        );
        return;
    }
    let Some(plan) = &c.plan else {
        return;
    };
    let files_h = (plan.files.len() as u16).clamp(1, 4);
    let files = Rect::new(x, below.y, w, files_h);
    let first = scroll_to(
        s.hits.first(ListId::Files),
        c.file_selected,
        files_h as usize,
    );
    let lines: Vec<Line> = plan
        .files
        .iter()
        .enumerate()
        .skip(first)
        .take(files_h as usize)
        .map(|(i, pf)| {
            let (word, lvl) = change_word(pf.change);
            let l = Line::from(vec![
                Span::styled(format!("{word} "), t.level(lvl)),
                Span::raw(format!("{:04o} ", pf.mode)),
                Span::raw(pad(
                    &fit_left(&pf.path.display().to_string(), w as usize - 32),
                    w as usize - 32,
                )),
                Span::styled(format!(" ({})", pf.client), t.dim()),
            ]);
            if i == c.file_selected {
                l.style(t.selected())
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), files);
    hits.lists.push((
        ListId::Files,
        ListHit {
            area: files,
            first,
            len: plan.files.len(),
        },
    ));
    let diff = Rect::new(
        x,
        files.y + files_h,
        w,
        below.height.saturating_sub(files_h),
    );
    let mut lines = vec![Line::styled("─".repeat(w as usize), t.dim())];
    // The writers' warnings (e.g. ACMEDNS_TWO_VALUES) come before any diff.
    for n in plan
        .notes
        .iter()
        .filter(|n| n.contains("warning") || n.contains("error"))
    {
        lines.push(Line::styled(
            fit(&format!("! {n}"), w as usize),
            t.level(Level::Warn),
        ));
    }
    f.render_widget(Paragraph::new(lines.clone()), diff);
    let used = lines.len() as u16;
    if let Some(pf) = plan.files.get(c.file_selected) {
        let pane = Rect::new(
            diff.x,
            diff.y + used,
            diff.width,
            diff.height.saturating_sub(used),
        );
        text_pane::render(f, pane, diff_lines(&pf.diff, t), &s.pane, t, hits);
    }
}

/// The changed part of an old and a new line: (common prefix, common suffix) in chars.
pub fn changed_span(old: &str, new: &str) -> (usize, usize) {
    let (a, b): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let rest = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(rest)
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// The diff as styled lines: `-` red, `+` green, and within a `-` line followed by a `+`
/// line the part that differs is reversed (and underlined), so two hook lines that
/// differ only at their end do not look the same. Long lines wrap in the pane.
pub fn diff_lines(diff: &[DiffLine], t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < diff.len() {
        // A run of `-` lines followed by a run of `+` lines: pair them up.
        let minus = diff[i..].iter().take_while(|d| d.sign == '-').count();
        let plus = diff[i + minus..]
            .iter()
            .take_while(|d| d.sign == '+')
            .count();
        if minus > 0 && plus > 0 {
            let pairs = minus.min(plus);
            let olds = &diff[i..i + minus];
            let news = &diff[i + minus..i + minus + plus];
            for (k, d) in olds.iter().enumerate() {
                out.push(marked(d, news.get(k).filter(|_| k < pairs), t));
            }
            for (k, d) in news.iter().enumerate() {
                out.push(marked(d, olds.get(k).filter(|_| k < pairs), t));
            }
            i += minus + plus;
            continue;
        }
        out.push(marked(&diff[i], None, t));
        i += 1;
    }
    out
}

fn marked(d: &DiffLine, other: Option<&DiffLine>, t: &Theme) -> Line<'static> {
    let style = match d.sign {
        '+' => t.level(Level::Ok),
        '-' => t.level(Level::Bad),
        _ => t.dim(),
    };
    let Some(o) = other else {
        return Line::styled(format!("{} {}", d.sign, d.text), style);
    };
    let (p, sfx) = changed_span(&d.text, &o.text);
    let chars: Vec<char> = d.text.chars().collect();
    let end = chars.len() - sfx;
    let part = |a: usize, b: usize| chars[a..b.max(a)].iter().collect::<String>();
    Line::from(vec![
        Span::styled(format!("{} {}", d.sign, part(0, p)), style),
        Span::styled(
            part(p, end),
            style.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
        ),
        Span::styled(part(end, chars.len()), style),
    ])
}

//! The last step's state: everything it shows comes from the others. [`summary`] says
//! what was verified and what was not; the wizard says "set up" (and exits 0) only when
//! the poll and the proof both passed for every name.

use super::State;
use crate::model::command::{Argv, Globals};
use crate::tui::widgets::poll_grid::CellStatus;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoneState {}

/// What the proof step ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofResult {
    /// Every name's test TXT was seen from every vantage point.
    Passed(usize),
    /// These names' proofs failed.
    Failed(Vec<String>),
    /// This kind of zone cannot publish a test TXT itself.
    Unavailable,
    Skipped,
}

/// What was verified and what was not, for the Done screen and the exit summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    /// Names that work from every vantage point (every cell of the row green).
    pub works: usize,
    /// Names with a red (or warning) cell, in the grid's order.
    pub failed: Vec<String>,
    /// Names still waiting on a vantage point (the poll was left before it ended).
    pub pending: usize,
    pub proof: ProofResult,
    /// Files the client step wrote (None: skipped).
    pub written: Option<usize>,
}

impl Summary {
    /// The poll and the proof both passed for every name.
    pub fn set_up(&self) -> bool {
        self.total > 0
            && self.works == self.total
            && matches!(self.proof, ProofResult::Passed(n) if n == self.total)
    }

    /// The steps left before they passed, in order (`poll`, `proof`, `client`).
    pub fn skipped(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.pending > 0 && self.failed.is_empty() {
            v.push("poll");
        }
        if self.proof == ProofResult::Skipped {
            v.push("proof");
        }
        if self.written.is_none() {
            v.push("client");
        }
        v
    }

    /// `50 names: 35 work from every vantage point, 15 failed, 0 not checked`.
    pub fn poll_line(&self) -> String {
        format!(
            "{} of {} name{} work{} from every vantage point; {} failed; {} not confirmed yet",
            self.works,
            self.total,
            if self.total == 1 { "" } else { "s" },
            if self.total == 1 { "s" } else { "" },
            self.failed.len(),
            self.pending
        )
    }

    pub fn proof_line(&self) -> String {
        match &self.proof {
            ProofResult::Passed(n) => format!("passed for {n} name{}", plural(*n)),
            ProofResult::Failed(names) => format!(
                "failed for {} name{}: {}",
                names.len(),
                plural(names.len()),
                names.join(", ")
            ),
            ProofResult::Unavailable => {
                "not available for this kind of zone (the issuing client's first run proves it)"
                    .into()
            }
            ProofResult::Skipped => "skipped".into(),
        }
    }

    pub fn client_line(&self) -> String {
        match self.written {
            Some(n) => format!("{n} file{} written", plural(n)),
            None => "skipped: no files written".into(),
        }
    }

    /// The Done screen's first line (a contract: scripts match it).
    pub fn headline(&self) -> &'static str {
        if self.set_up() {
            SET_UP
        } else {
            NOT_VERIFIED
        }
    }
}

/// The headline once the poll and the proof passed for every name.
pub const SET_UP: &str = "The delegation is set up.";
/// The headline otherwise.
pub const NOT_VERIFIED: &str = "The delegation is not verified.";

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What the wizard verified, from the poll grid, the proof and the client step.
pub fn summary(s: &State) -> Summary {
    let g = &s.poll.grid;
    let mut works = 0;
    let mut failed = Vec::new();
    let mut pending = 0;
    for row in &g.rows {
        let status: Vec<Option<CellStatus>> = row
            .cells
            .iter()
            .map(|c| c.as_ref().map(|c| c.status))
            .collect();
        if status
            .iter()
            .any(|c| matches!(c, Some(CellStatus::Bad | CellStatus::Warn)))
        {
            failed.push(row.name.clone());
        } else if !status.is_empty()
            && status
                .iter()
                .all(|c| matches!(c, Some(CellStatus::Ok | CellStatus::Off)))
        {
            works += 1;
        } else {
            pending += 1;
        }
    }
    let total = s.plan_names().len().max(g.rows.len());
    pending += total.saturating_sub(g.rows.len());
    let proof = match (&s.proof.report, &s.proof.unavailable) {
        (Some(r), _) => {
            let bad: Vec<String> = r
                .names
                .iter()
                .filter(|n| !n.ok)
                .map(|n| n.name.clone())
                .collect();
            if bad.is_empty() && !r.names.is_empty() {
                ProofResult::Passed(r.names.len())
            } else {
                ProofResult::Failed(bad)
            }
        }
        (None, Some(_)) => ProofResult::Unavailable,
        (None, None) => ProofResult::Skipped,
    };
    Summary {
        total,
        works,
        failed,
        pending,
        proof,
        written: s.client.written.as_ref().map(Vec::len),
    }
}

/// The global options of the commands this session prints.
pub fn globals(s: &State) -> Globals {
    Globals::new(s.config_path.as_deref(), s.plan_path.as_deref())
}

/// `acme-delegate [--plan FILE] check --wait 10m NAME...`.
pub fn recheck(s: &State) -> Argv {
    globals(s).check_wait(&s.plan_names())
}

/// The cron line that keeps checking and feeds Prometheus.
pub fn cron_line(s: &State) -> String {
    globals(s).cron_line(&s.plan_names())
}

/// acme-delegate's own next command: `prove`, while the proof has not passed and the
/// zone can publish a test TXT (not provider or hosted zones: `prove` exits 2 there).
pub fn own_commands(s: &State) -> Vec<Argv> {
    let g = globals(s);
    let mut v = Vec::new();
    if let Some(plan) = &s.plan {
        if !matches!(summary(s).proof, ProofResult::Passed(_)) {
            v.extend(g.prove(&plan.zone));
        }
    }
    v
}

/// What the user leaves with, printed to stdout when the TUI closes: the verdict, the
/// plan, the files written, each client's next commands and notes, the re-check and
/// the cron line (what `plan` and `write` print).
pub fn exit_summary(s: &State) -> Vec<String> {
    let mut out = Vec::new();
    let Some(_) = &s.plan else {
        return out;
    };
    let sum = summary(s);
    out.push(sum.headline().to_string());
    out.push(format!("poll: {}", sum.poll_line()));
    for n in &sum.failed {
        out.push(format!("  ✗ {n}"));
    }
    out.push(format!("proof: {}", sum.proof_line()));
    out.push(format!("client: {}", sum.client_line()));
    if let Some(p) = &s.plan_path {
        out.push(format!("plan saved to {}", p.display()));
    }
    if let Some(files) = &s.client.written {
        for f in files {
            out.push(format!("  wrote {}", f.display()));
        }
    }
    if s.client.written.is_some() {
        for c in s.client.plan.iter().flat_map(|p| &p.next) {
            out.push(format!("{}: next", c.client));
            out.extend(c.commands.iter().map(|cmd| format!("  {cmd}")));
            out.extend(c.notes.iter().map(|n| format!("  note: {n}")));
        }
    }
    out.push("acme-delegate: next".into());
    out.extend(own_commands(s).iter().map(|a| format!("  {}", a.shell())));
    out.push(format!("  {}", recheck(s).shell()));
    out.push("cron (every 6 hours, for node_exporter's textfile collector):".into());
    out.push(format!("  {}", cron_line(s)));
    out
}

//! The troubleshooter's state: the names, the run's progress, the findings worst first.

use crate::findings::Finding;
use crate::tui::widgets::text_field::TextField;
use std::time::SystemTime;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TroubleState {
    pub names: Vec<String>,
    pub running: bool,
    pub progress: Option<(usize, usize)>,
    /// The last name diagnosed.
    pub last: Option<String>,
    /// Worst first.
    pub findings: Vec<Finding>,
    pub selected: usize,
    pub checked_at: Option<SystemTime>,
    /// Names that came back without any finding.
    pub clean: Vec<String>,
    /// Names without an error finding (checked and working), listed after the findings.
    pub healthy: Vec<String>,
    /// `/`: only the findings (code, name, evidence) and healthy names holding this text.
    pub filter: TextField,
    /// The filter takes the typed keys (until Enter or Esc).
    pub filtering: bool,
}

impl TroubleState {
    pub fn new(names: Vec<String>) -> TroubleState {
        TroubleState {
            names,
            ..Default::default()
        }
    }
}

impl TroubleState {
    fn matches(&self, text: &str) -> bool {
        let f = self.filter.value().trim().to_lowercase();
        f.is_empty() || text.to_lowercase().contains(&f)
    }

    /// The findings the filter lets through, worst first.
    pub fn shown_findings(&self) -> Vec<Finding> {
        self.findings
            .iter()
            .filter(|f| self.matches(&format!("{} {} {}", f.code, f.name, f.evidence)))
            .cloned()
            .collect()
    }

    /// The healthy names the filter lets through.
    pub fn shown_healthy(&self) -> Vec<String> {
        self.healthy
            .iter()
            .filter(|n| self.matches(n))
            .cloned()
            .collect()
    }
}

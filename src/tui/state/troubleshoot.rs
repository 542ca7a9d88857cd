//! The troubleshooter's state: the names, the run's progress, the findings worst first.

use crate::findings::Finding;
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
}

impl TroubleState {
    pub fn new(names: Vec<String>) -> TroubleState {
        TroubleState {
            names,
            ..Default::default()
        }
    }
}

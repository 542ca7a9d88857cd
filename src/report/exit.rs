//! The exit status a report stands for: the verdict, as a number for the shell.

use crate::findings::Severity;
use crate::report::Report;

impl Report {
    /// Exit status of `check`/`diagnose`: 0 every name works from every vantage point, 1
    /// at least one error finding, 3 inconclusive (no server could be reached at all, or
    /// some name is neither failing nor known to work: 0 is only for names that work).
    pub fn exit_code(&self) -> i32 {
        if !self.names.is_empty() && self.names.iter().all(|n| n.inconclusive) {
            return 3;
        }
        if self
            .names
            .iter()
            .any(|n| n.findings.iter().any(|f| f.severity == Severity::Error))
        {
            return 1;
        }
        if self.names.iter().any(|n| !n.ok) {
            return 3;
        }
        0
    }
}

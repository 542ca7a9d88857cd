//! Findings: a stable code, a severity, the evidence (as text and as values) and a fix.
//! Owns the catalog of codes and the rules (pure functions, no I/O).

pub mod catalog;
pub mod evidence;
pub mod rules;

pub use catalog::Code;

use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One observation behind a finding: who was asked what, and what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub vantage: String,
    pub server: String,
    pub question: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    pub ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The identifier the finding is about.
    pub name: String,
    /// What was seen, in words.
    pub evidence: String,
    /// What to do: the record, the command, the config line.
    pub fix: String,
    /// The same evidence as values.
    pub observed: Vec<Observation>,
}

impl Finding {
    /// A finding with the catalog's default severity.
    pub fn new(code: Code, name: &str, evidence: String, fix: String) -> Finding {
        Finding {
            code,
            severity: code.default_severity(),
            name: name.to_string(),
            evidence,
            fix,
            observed: vec![],
        }
    }

    pub fn severity(mut self, s: Severity) -> Finding {
        self.severity = s;
        self
    }

    pub fn observe(mut self, o: Observation) -> Finding {
        self.observed.push(o);
        self
    }
}

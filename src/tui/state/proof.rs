//! The proof step's state: what is known so far about each name's proof.

use crate::engine::prove::ProveReport;
use crate::engine::views::VantageKind;
use crate::zones::kinds::ZoneError;

/// What is known so far about one name's proof.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameProgress {
    pub name: String,
    pub published_at: Option<String>,
    pub seen: Vec<(String, VantageKind, u64)>,
    pub removed: bool,
    /// The zone cannot delete the test TXT (acme-dns): what becomes of it.
    pub left: Option<String>,
    pub failures: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ProofState {
    pub running: bool,
    pub names: Vec<NameProgress>,
    pub report: Option<ProveReport>,
    pub unavailable: Option<ZoneError>,
}

impl ProofState {
    pub fn entry(&mut self, name: &str) -> &mut NameProgress {
        if let Some(i) = self.names.iter().position(|n| n.name == name) {
            return &mut self.names[i];
        }
        self.names.push(NameProgress {
            name: name.to_string(),
            ..Default::default()
        });
        self.names.last_mut().expect("just pushed")
    }

    pub fn passed(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| !r.names.is_empty() && r.names.iter().all(|n| n.ok))
    }
}

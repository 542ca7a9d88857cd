//! The client step's state: the picked issuing clients and their files, as previewed.

use crate::clients::write::Client;
use std::path::PathBuf;

pub const CLIENTS: [Client; 7] = Client::ALL;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientState {
    pub picked: [bool; 7],
    pub selected: usize,
    pub plan: Option<FilePlan>,
    pub file_selected: usize,
    /// Waiting for the files to be planned or written.
    pub busy: bool,
    pub error: Option<String>,
    pub written: Option<Vec<PathBuf>>,
}

impl ClientState {
    pub fn picks(&self) -> Vec<Client> {
        CLIENTS
            .iter()
            .zip(self.picked)
            .filter(|(_, p)| *p)
            .map(|(c, _)| *c)
            .collect()
    }
}

/// How a file would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    New,
    Changed,
    Same,
}

/// One line of a diff: `+`, `-` or ` `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// A file an issuing client needs, as previewed: secrets already masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    pub client: String,
    pub path: PathBuf,
    pub mode: u32,
    pub change: FileChange,
    pub diff: Vec<DiffLine>,
}

/// One client's next commands (shell lines, quoted by its writer) and its notes
/// (`EMAIL`, the renew line, the paths to keep).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientNext {
    pub client: String,
    pub commands: Vec<String>,
    pub notes: Vec<String>,
}

/// The files for the picked clients, and each client's commands to run next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    pub files: Vec<PlannedFile>,
    /// Every picked client's next commands and notes, in the order picked.
    pub next: Vec<ClientNext>,
    /// What the writers want said before anything is written (warnings, notes).
    pub notes: Vec<String>,
}

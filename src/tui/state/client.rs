//! The client step's state: the picked issuing clients and their files, as previewed.

use crate::clients::write::Client;
use crate::tui::widgets::text_field::TextField;
use std::path::PathBuf;

/// The options `write` takes, as the client step's fields (empty: `write`'s default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// The ACME directory URL (default: Let's Encrypt production).
    pub server: Option<String>,
    /// The ACME account e-mail.
    pub email: Option<String>,
    /// Every file under this folder instead of the client's default place.
    pub out: Option<PathBuf>,
    /// Recursive resolvers (host:port) for clients that take them.
    pub resolvers: Vec<String>,
}

/// The client step's option fields, in order (Tab moves through them).
pub const FIELDS: [&str; 4] = ["ACME server", "e-mail", "output folder", "resolver"];

/// What an empty field means (`write`'s default).
pub const DEFAULTS: [&str; 4] = [
    "Let's Encrypt production",
    "none ($EMAIL when the client runs)",
    "each client's default place",
    "the client's own",
];

pub const CLIENTS: [Client; 7] = Client::ALL;

/// Why the client step's files were not previewed or not written.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FilesError {
    #[error("no plan yet: the zone step has not run")]
    NoPlan,
    /// A writer refused, or a secret it needs is not there.
    #[error(transparent)]
    Write(#[from] crate::clients::write::WriteError),
    /// The files there now could not be read for the preview.
    #[error(transparent)]
    Preview(std::sync::Arc<crate::engine::write::IoError>),
    #[error("nothing to write: preview the files first")]
    NothingPreviewed,
    #[error(
        "nothing was written: the preview was made for an earlier plan; preview the files again"
    )]
    StalePreview,
    #[error("nothing was written: {0}")]
    NotWritten(std::sync::Arc<crate::engine::write::IoError>),
    /// The task that did the work died (a panic).
    #[error(transparent)]
    Task(std::sync::Arc<tokio::task::JoinError>),
}

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
    /// The option fields (ACME server, e-mail, output folder, resolver).
    pub fields: [TextField; 4],
    /// Which option field has the focus (None: the list of clients).
    pub field: Option<usize>,
}

impl ClientState {
    /// The options as typed (empty fields: the defaults).
    pub fn options(&self) -> ClientOptions {
        let v = |i: usize| {
            let t = self.fields[i].value().trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        ClientOptions {
            server: v(0),
            email: v(1),
            out: v(2).map(PathBuf::from),
            resolvers: v(3)
                .map(|r| {
                    r.split([',', ' '])
                        .filter(|x| !x.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

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

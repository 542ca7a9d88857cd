//! stdout and stderr that never panic. `println!` panics (exit 101, a backtrace) when
//! stdout is a closed pipe (`check ... | head -1`) or a full disk (`> /dev/full`); these
//! writers remember the first failure instead, stop writing, and let `main` end with a
//! short message on stderr.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

static STDOUT_FAILED: OnceLock<String> = OnceLock::new();

/// Writes to stdout (and flushes); after the first failure, nothing more is written.
pub fn stdout(args: fmt::Arguments<'_>) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        fail(e);
    }
}

/// One pretty JSON document and a newline on stdout, serialised straight into the stream
/// (a 100,000-name report is not built as one string first).
pub fn json(value: &impl serde::Serialize) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    if let Err(e) = written {
        fail(e);
    }
}

fn fail(e: io::Error) {
    let why = match e.kind() {
        io::ErrorKind::BrokenPipe => {
            "it was closed before the output was complete (broken pipe)".to_string()
        }
        _ => e.to_string(),
    };
    let _ = STDOUT_FAILED.set(why);
}

/// Writes to stderr; a failure is ignored (there is nowhere left to say so).
pub fn stderr(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|_| err.flush());
}

/// Why stdout could not be written, if it could not.
pub fn stdout_failure() -> Option<&'static str> {
    STDOUT_FAILED.get().map(String::as_str)
}

//! Writing output files safely: a reader (node_exporter, a monitoring agent) never sees a
//! half-written file, and a symlink planted at the path is not followed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest input file read (config, plan, key, account and client files): 1 MiB.
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

/// The largest list of names read (`--names-from`): 64 MiB, about two million names.
pub const MAX_NAMES_BYTES: u64 = 64 << 20;

/// The largest report read (`merge`): 1 GiB, a `check --json` of about 100,000 names.
pub const MAX_REPORT_BYTES: u64 = 1 << 30;

/// Reads at most `max` bytes of the regular file `path`; anything else (a directory, a
/// FIFO, a device such as `/dev/zero`) is an `InvalidInput` error that says so. Checked
/// before opening (opening a FIFO would wait for a writer) and again on the opened file
/// (what is read is what was checked).
pub fn read_regular_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a directory, FIFO or device); give a file, or - for standard input",
        )
    };
    if !fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB ({max} bytes at most); give the right file",
                max >> 20
            ),
        ));
    }
    read_at_most(f, max)
}

/// Reads at most [`MAX_INPUT_BYTES`] of `path`; a larger file (or an endless one such as
/// `/dev/zero`) is an `InvalidData` error that says so, without reading the rest. Only a
/// regular file is read ([`open_regular`]).
pub fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most(open_regular(path)?, MAX_INPUT_BYTES)
}

/// Opens an input file for reading, refusing anything that is not a regular file (a
/// FIFO, whose open or read would wait forever for a writer; a device such as
/// `/dev/zero`; a socket; a directory) with an `InvalidInput` error that names the kind.
/// The kind is read before the open (so a FIFO is never opened) and again from the opened
/// file (so a path swapped in between is not read either).
pub fn open_regular(path: &Path) -> io::Result<File> {
    not_regular(&fs::metadata(path)?.file_type())?;
    let f = File::open(path)?;
    not_regular(&f.metadata()?.file_type())?;
    Ok(f)
}

fn not_regular(t: &fs::FileType) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        return Ok(());
    }
    let kind = if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file; give the path of a regular file"),
    ))
}

/// Reads at most `max` bytes of `from`; more is an `InvalidData` error that says so,
/// without reading the rest.
pub fn read_at_most(from: impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    from.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB ({max} bytes at most); give the right file",
                max >> 20
            ),
        ));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(path: &Path) -> io::Result<String> {
    utf8(read_limited(path)?)
}

/// [`read_at_most`] as UTF-8 text.
pub fn read_text_at_most(from: impl Read, max: u64) -> io::Result<String> {
    utf8(read_at_most(from, max)?)
}

fn utf8(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not UTF-8 text".to_string(),
        )
    })
}

/// Writes `bytes` to `path` atomically: a temporary file (the `tempfile` crate) in the same
/// directory is written, synced, given `mode` (e.g. `0o644`, exactly, whatever the umask) and
/// renamed over `path`. Refuses to write through a symlink at `path`. On any error the
/// temporary file is removed and `path` is left as it was. Errors name the path.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let ctx = |e: io::Error, what: &str, p: &Path| {
        io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
    };
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "refusing to write through the symlink {}; give the real path",
                    path.display()
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ctx(e, "cannot inspect", path)),
    }
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".tmp.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Never wider than asked while it is being written; set exactly below.
        builder.permissions(fs::Permissions::from_mode(mode & 0o777));
    }
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| ctx(e, "cannot create a temporary file for", path))?;
    fill(tmp.as_file_mut(), bytes, mode).map_err(|e| ctx(e, "cannot write", tmp.path()))?;
    // On failure the temporary file is dropped, and so removed.
    tmp.persist(path)
        .map_err(|e| ctx(e.error, "cannot replace", path))?;
    // Make the rename itself durable; best effort (not every platform can open a dir).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn fill(file: &mut File, bytes: &[u8], mode: u32) -> io::Result<()> {
    file.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.sync_all()
}

/// A secret file [`store_unique`] stored or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub path: PathBuf,
    /// This call created the file (else an identical one was there already): the caller
    /// removes it again when what needed it is not saved.
    pub created: bool,
}

/// Why a secret file could not be stored. The texts name the folder or file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write in {}: {source}", dir.display())]
    Io { dir: PathBuf, source: io::Error },
    #[error("refusing to write through the symlink {}; remove it", path.display())]
    Symlink { path: PathBuf },
    #[error("too many key files named {stem}-N.{ext} in {}", dir.display())]
    TooMany {
        stem: String,
        ext: String,
        dir: PathBuf,
    },
}

/// `s` with every character but ASCII letters, digits, `-` and `.` replaced by `_`.
pub fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Stores `text` as `<stem>.<ext>` in `dir` (0600, in a 0700 folder), never replacing a
/// file whose content differs: then as `<stem>-2.<ext>`, `<stem>-3.<ext>`, ...; a file
/// with the same content is reused (`created` false).
pub fn store_unique(
    dir: &Path,
    stem: &str,
    ext: &str,
    text: &[u8],
) -> Result<StoredFile, StoreError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let store = |source: io::Error| StoreError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(store)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(store)?;
    for n in 1..1000 {
        let path = if n == 1 {
            dir.join(format!("{stem}.{ext}"))
        } else {
            dir.join(format!("{stem}-{n}.{ext}"))
        };
        // Created only if absent (no race with another run storing the same name).
        let new = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match new {
            Ok(mut f) => {
                let written = f.write_all(text).and_then(|_| f.sync_all());
                if let Err(e) = written {
                    let _ = fs::remove_file(&path);
                    return Err(store(e));
                }
                return Ok(StoredFile {
                    path,
                    created: true,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(StoreError::Symlink { path });
                }
                if fs::read(&path).is_ok_and(|old| old == text) {
                    return Ok(StoredFile {
                        path,
                        created: false,
                    });
                }
                // Another key under this name: keep it, try the next name.
            }
            Err(e) => return Err(store(e)),
        }
    }
    Err(StoreError::TooMany {
        stem: stem.into(),
        ext: ext.into(),
        dir: dir.to_path_buf(),
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tempdir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("acme-delegate-files-{tag}-{}", std::process::id(),));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn input_files_are_read_up_to_one_mib() {
        let d = tempdir("limit");
        let small = d.join("small");
        fs::write(&small, "x = 1\n").unwrap();
        assert_eq!(read_text_limited(&small).unwrap(), "x = 1\n");
        let big = d.join("big");
        fs::write(&big, vec![b'a'; (MAX_INPUT_BYTES + 1) as usize]).unwrap();
        let e = read_limited(&big).unwrap_err();
        assert!(e.to_string().contains("1 MiB"), "{e}");
        let t = std::time::Instant::now();
        // A device (or a FIFO) is refused without reading (issue 18).
        let e = read_limited(Path::new("/dev/zero")).unwrap_err();
        assert!(
            e.to_string().contains("a device, not a regular file"),
            "{e}"
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        fs::remove_dir_all(&d).unwrap();
    }

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_content_and_mode() {
        let d = tempdir("mode");
        let p = d.join("a.prom");
        write_atomic(&p, b"hello\n", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello\n");
        assert_eq!(mode_of(&p), 0o600);
        let q = d.join("b.prom");
        write_atomic(&q, b"x", 0o644).unwrap();
        assert_eq!(mode_of(&q), 0o644);
        assert_eq!(entries(&d), ["a.prom", "b.prom"]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replaces_existing_file_and_mode() {
        let d = tempdir("replace");
        let p = d.join("a.prom");
        fs::write(&p, b"old content that is longer").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        write_atomic(&p, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(mode_of(&p), 0o644);
        assert_eq!(entries(&d), ["a.prom"]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_symlink() {
        let d = tempdir("symlink");
        let victim = d.join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = d.join("a.prom");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write_atomic(&link, b"evil", 0o644).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert!(e.to_string().contains(&link.display().to_string()), "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(entries(&d), ["a.prom", "victim"]);
        // A dangling symlink is refused too.
        let dangling = d.join("b.prom");
        std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
        assert!(write_atomic(&dangling, b"evil", 0o644).is_err());
        assert!(!d.join("nowhere").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn directory_at_path_refused_and_no_temp_left() {
        // The temp file is written, then the rename over a directory fails: it must go.
        let d = tempdir("isdir");
        fs::create_dir(d.join("a.prom")).unwrap();
        fs::write(d.join("a.prom/inside"), b"x").unwrap();
        let e = write_atomic(&d.join("a.prom"), b"x", 0o644).unwrap_err();
        assert!(e.to_string().contains("a.prom"), "{e}");
        assert_eq!(entries(&d), ["a.prom"]);
        assert!(d.join("a.prom").is_dir());
        assert_eq!(entries(&d.join("a.prom")), ["inside"]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unwritable_directory_fails_cleanly() {
        let d = tempdir("ro");
        let p = d.join("a.prom");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o555)).unwrap();
        let r = write_atomic(&p, b"new", 0o644);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        // Root ignores directory permissions; the point then is only that it worked.
        if let Err(e) = r {
            assert!(e.to_string().contains("a.prom"), "{e}");
            assert_eq!(fs::read(&p).unwrap(), b"old");
        }
        assert_eq!(entries(&d), ["a.prom"]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_directory_errors() {
        let d = tempdir("missing");
        let e = write_atomic(&d.join("no/such/a.prom"), b"x", 0o644).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("a.prom"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("report.json");
        fs::write(&f, b"{\"names\": []}").unwrap();
        assert_eq!(read_regular_at_most(&f, 100).unwrap(), b"{\"names\": []}");
        let e = read_regular_at_most(&f, 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("larger than"), "{e}");
        let e = read_regular_at_most(dir.path(), 100).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_regular_at_most(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert_eq!(
            read_regular_at_most(&dir.path().join("missing"), 100)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}

//! The one IO step for client files: parent directories 0700, each file written to a
//! temp file in its own directory and renamed over the path, a differing file backed up
//! as `NAME.bak-YYYYmmddHHMMSS` (never clobbered), secrets 0600, symlinks refused, and
//! when one file fails every file already written is rolled back. `preview` is the dry
//! run: what would happen to each file, with a diff whose secrets are masked.

use crate::clients::write::{mask_all, PlannedFile};
use serde::Serialize;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What happens (or would happen) to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// The file already holds exactly this.
    Unchanged,
    /// The file differs: it is kept as `backup`, then replaced.
    Replace {
        backup: PathBuf,
    },
}

/// The dry-run view of one file.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub path: PathBuf,
    pub mode: String,
    pub secret: bool,
    #[serde(flatten)]
    pub action: Action,
    /// A unified diff against the file on disk (empty when unchanged); secrets masked.
    pub diff: String,
}

/// One file written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Written {
    pub path: PathBuf,
    #[serde(flatten)]
    pub action: Action,
    /// What was done about the owner or mode of a file that was there before (kept, or
    /// tightened because it let others read a secret), when worth saying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The owner, group and mode of a file that is there already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Existing {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// The mode a file gets: a new file the plan's; a file being replaced (or left unchanged)
/// keeps its own (e.g. `root:traefik 0640`, set by its admin), unless the plan needs a
/// tighter one: a secret no other user may read, no file others may write. Then the
/// note says what was taken away.
pub(crate) fn mode_for(f: &PlannedFile, old: Option<Existing>) -> (u32, Option<String>) {
    let Some(old) = old else {
        return (f.mode, None);
    };
    let m = old.mode & 0o7777;
    let forbidden = if f.secret { 0o007 } else { 0o002 };
    if m & forbidden == 0 {
        return (m, None);
    }
    let t = m & !forbidden;
    (
        t,
        Some(format!(
            "mode {m:04o} tightened to {t:04o}: {}",
            if f.secret {
                "the file holds a secret, which other users could read"
            } else {
                "other users could change the file"
            }
        )),
    )
}

fn existing_owner(path: &Path) -> Option<Existing> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| Existing {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode(),
    })
}

/// Why the files could not be written. Nothing is left half-written: `rolled_back` says
/// which files were restored, `rollback_failed` what could not be (with the path).
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{path} is a symlink; refusing to write through it (fix: remove the link or give --out a directory without links)")]
    Symlink { path: PathBuf },
    #[error("{path} exists and is not a regular file (fix: move it away or choose another --out)")]
    NotAFile { path: PathBuf },
    #[error("another acme-delegate write is writing into {dir} (it holds the lock file {lock}); wait for it to finish, then run write again")]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error(
        "cannot take the lock file {lock}: {why} (fix: check that {dir} is writable by this user)"
    )]
    LockFailed {
        dir: PathBuf,
        lock: PathBuf,
        why: String,
    },
    #[error("{0}")]
    Failed(Box<Failure>),
}

/// The lock file of an output folder (see `lock_folders`).
pub const LOCK_FILE: &str = ".acme-delegate.lock";

/// A folder's lock, held until dropped; the lock file is removed then (still locked, so
/// a run that opened it meanwhile finds it unlinked and fails, see `lock_folders`),
/// and so are the folders the lock created if they are still empty (a write that
/// failed or was rolled back leaves no new folder behind).
pub struct FolderLock {
    dir: PathBuf,
    path: PathBuf,
    _file: fs::File,
    _created: NewDirs,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Folders created to be locked, deepest first; removed when dropped if still empty.
struct NewDirs(Vec<PathBuf>);

impl Drop for NewDirs {
    fn drop(&mut self) {
        for d in &self.0 {
            // Only an empty folder goes: one another write (or this one) filled stays.
            let _ = fs::remove_dir(d);
        }
    }
}

/// Creates `dir` and its missing parents (0700, as the write does): the folders this
/// call created, deepest first. A folder another run created meanwhile is not ours.
fn create_output_dir(dir: &Path) -> io::Result<NewDirs> {
    let mut created = NewDirs(Vec::new());
    for d in missing_dirs(dir) {
        match create_private_dir(&d) {
            Ok(()) => created.0.insert(0, d),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(created)
}

/// The folders of `dir` and its ancestors that do not exist yet, shallowest first.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    missing
}

/// Creates one folder, 0700. The umask may have narrowed it further; never wider.
fn create_private_dir(d: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(d)?;
    let _ = set_mode(d, 0o700);
    Ok(())
}

/// The folder whose lock guards `dir`: `dir` itself, or its nearest existing ancestor
/// when `dir` could not be created (the write then fails there and says why).
fn lock_dir(dir: &Path) -> PathBuf {
    let mut d = dir.to_path_buf();
    while !d.is_dir() {
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => d = p.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    d
}

/// Takes the lock of every output folder the files go to: a lock file in the folder
/// itself, which is created first (0700) when it is still missing. Two writes into one
/// folder never interleave; two writes into different folders (siblings too) never
/// block each other. A lock file that was removed (or replaced) between its open and
/// its lock is not a lock: that run is told the folder is busy.
pub(crate) fn lock_folders(files: &[PlannedFile]) -> Result<Vec<FolderLock>, IoError> {
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            f.path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut held = Vec::new();
    for out in dirs {
        if let Some(l) = lock_one(&out, &held)? {
            held.push(l);
        }
    }
    Ok(held)
}

/// Locks one output folder (see [`lock_folders`]); None when this run already holds
/// the lock that guards it.
fn lock_one(out: &Path, held: &[FolderLock]) -> Result<Option<FolderLock>, IoError> {
    // A folder that cannot be created is locked at its nearest existing ancestor; the
    // write then fails creating it, names it and rolls back.
    let mut o = fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut tries = 0;
    let (created, dir, lock, f) = loop {
        let created = create_output_dir(out).unwrap_or(NewDirs(Vec::new()));
        let dir = lock_dir(out);
        if held.iter().any(|h| h.dir == dir) {
            return Ok(None);
        }
        let lock = dir.join(LOCK_FILE);
        match o.open(&lock) {
            Ok(f) => break (created, dir, lock, f),
            // The folder was empty and another run that had created it just removed
            // it (its write failed): create it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => tries += 1,
            Err(e) => {
                return Err(IoError::LockFailed {
                    dir,
                    lock,
                    why: e.to_string(),
                })
            }
        }
    };
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            use std::os::unix::fs::MetadataExt;
            let same = match (f.metadata(), fs::metadata(&lock)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if !same {
                return Err(IoError::Locked { dir, lock });
            }
            Ok(Some(FolderLock {
                dir,
                path: lock,
                _file: f,
                _created: created,
            }))
        }
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(IoError::Locked { dir, lock }),
        Err(e) => Err(IoError::LockFailed {
            dir,
            lock,
            why: e.to_string(),
        }),
    }
}

/// A failed step, and what the rollback did.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub path: PathBuf,
    pub what: &'static str,
    pub cause: String,
    pub fix: &'static str,
    pub rolled_back: Vec<PathBuf>,
    pub rollback_failed: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {} (fix: {}){}",
            self.what,
            self.path.display(),
            self.cause,
            self.fix,
            rollback_words(&self.rolled_back, &self.rollback_failed)
        )
    }
}

fn rollback_words(done: &[PathBuf], failed: &[String]) -> String {
    let mut s = String::new();
    if !done.is_empty() {
        s.push_str("; rolled back: ");
        s.push_str(
            &done
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if !failed.is_empty() {
        s.push_str("; ROLLBACK FAILED, check by hand: ");
        s.push_str(&failed.join("; "));
    }
    s
}

/// `NAME.bak-YYYYmmddHHMMSS` next to `path` (with `-N` when that exists already).
pub(crate) fn backup_path(path: &Path, now: OffsetDateTime) -> PathBuf {
    let fmt = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let stamp = now
        .format(&fmt)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut candidate = path.with_file_name(format!("{name}.bak-{stamp}"));
    let mut n = 1;
    while fs::symlink_metadata(&candidate).is_ok() {
        candidate = path.with_file_name(format!("{name}.bak-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

/// What is at `path` now: nothing, a regular file's bytes, or a refusal.
fn existing(path: &Path) -> Result<Option<Vec<u8>>, IoError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(IoError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(m) if !m.is_file() => Err(IoError::NotAFile {
            path: path.to_path_buf(),
        }),
        Ok(_) => fs::read(path)
            .map(Some)
            .map_err(|e| failed(path, "read", e, "make it readable by this user")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // A parent that is a file (ENOTDIR) or unreadable shows up when writing.
        Err(_) => Ok(None),
    }
}

fn failed(path: &Path, what: &'static str, e: io::Error, fix: &'static str) -> IoError {
    IoError::Failed(Box::new(Failure {
        path: path.to_path_buf(),
        what,
        cause: e.to_string(),
        fix,
        rolled_back: Vec::new(),
        rollback_failed: Vec::new(),
    }))
}

fn action_for(f: &PlannedFile, old: &Option<Vec<u8>>, now: OffsetDateTime) -> Action {
    match old {
        None => Action::Create,
        Some(b) if b == f.contents.as_bytes() => Action::Unchanged,
        Some(_) => Action::Replace {
            backup: backup_path(&f.path, now),
        },
    }
}

/// The dry run: every file's action and a masked diff. Refuses symlinks as `apply` does.
pub fn preview(files: &[PlannedFile], now: OffsetDateTime) -> Result<Vec<Preview>, IoError> {
    files
        .iter()
        .map(|f| {
            let old = existing(&f.path)?;
            let action = action_for(f, &old, now);
            let diff = match (&action, &old) {
                (Action::Unchanged, _) => String::new(),
                _ => masked_diff(f, old.as_deref()),
            };
            Ok(Preview {
                path: f.path.clone(),
                mode: format!("{:04o}", f.mode),
                secret: f.secret,
                action,
                diff,
            })
        })
        .collect()
}

/// A unified diff of the file on disk against the planned contents, secrets masked. In a
/// secret file, a line on disk that is not in the new contents may hold a secret we do
/// not know, so it is not shown at all.
pub(crate) fn masked_diff(f: &PlannedFile, old: Option<&[u8]>) -> String {
    let old_text = old
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let old_shown = if f.secret {
        old_text
            .lines()
            .map(|l| {
                if f.contents.lines().any(|n| n == l) {
                    mask_all(l, f.masks())
                } else {
                    "[a line of the existing file, hidden: it may hold a secret]".to_string()
                }
            })
            .map(|l| l + "\n")
            .collect::<String>()
    } else {
        mask_all(&old_text, f.masks())
    };
    let new_shown = f.masked();
    let name = f.path.display().to_string();
    similar::TextDiff::from_lines(&old_shown, &new_shown)
        .unified_diff()
        .context_radius(3)
        .header(
            &if old.is_some() {
                name.clone()
            } else {
                "/dev/null".into()
            },
            &name,
        )
        .to_string()
}

/// One step done, and how to undo it.
enum Undo {
    Created(PathBuf),
    Replaced { path: PathBuf, backup: PathBuf },
    Dir(PathBuf),
}

/// Writes every file, or none: on the first failure everything already written is undone
/// (new files removed, replaced files restored from their backup, new directories removed).
pub fn apply(files: &[PlannedFile], now: OffsetDateTime) -> Result<Vec<Written>, IoError> {
    // One write per folder at a time.
    let _locks = lock_folders(files)?;
    // Refuse symlinks and non-files before touching anything.
    let olds: Vec<Option<Vec<u8>>> = files
        .iter()
        .map(|f| existing(&f.path))
        .collect::<Result<_, _>>()?;
    let mut undo: Vec<Undo> = Vec::new();
    let mut done = Vec::new();
    for (f, old) in files.iter().zip(olds) {
        match write_one(f, &old, now, &mut undo) {
            Ok((action, note)) => done.push(Written {
                path: f.path.clone(),
                action,
                note,
            }),
            Err(mut e) => {
                let (rolled, failed) = roll_back(undo);
                if let IoError::Failed(f) = &mut e {
                    f.rolled_back = rolled;
                    f.rollback_failed = failed;
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

fn write_one(
    f: &PlannedFile,
    old: &Option<Vec<u8>>,
    now: OffsetDateTime,
    undo: &mut Vec<Undo>,
) -> Result<(Action, Option<String>), IoError> {
    let action = action_for(f, old, now);
    let before = old.as_ref().and_then(|_| existing_owner(&f.path));
    let (mode, mut note) = mode_for(f, before);
    if action == Action::Unchanged {
        set_mode(&f.path, mode)
            .map_err(|e| failed(&f.path, "set the mode of", e, "check the file's owner"))?;
        return Ok((action, note));
    }
    let dir = f
        .path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    make_dirs(dir, undo)?;
    // Re-check right before writing: a link planted since the preflight is refused too.
    if let Ok(m) = fs::symlink_metadata(&f.path) {
        if m.file_type().is_symlink() {
            return Err(IoError::Symlink {
                path: f.path.clone(),
            });
        }
    }
    let fix = "check that the directory exists, is writable by this user and has free space, or give --out DIR";
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| failed(&f.path, "create a temporary file next to", e, fix))?;
    set_mode(tmp.path(), mode).map_err(|e| failed(&f.path, "set the mode of", e, fix))?;
    if let Some(b) = before {
        // The owner and group of the file being replaced, as its admin set them.
        if let Err(e) = std::os::unix::fs::fchown(tmp.as_file(), Some(b.uid), Some(b.gid)) {
            let why = format!(
                "its owner {}:{} could not be kept ({e}): run as that user or root",
                b.uid, b.gid
            );
            note = Some(match note {
                Some(n) => format!("{n}; {why}"),
                None => why,
            });
        }
    }
    tmp.write_all(f.contents.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| failed(&f.path, "write", e, fix))?;
    if let Action::Replace { backup } = &action {
        // A hard link keeps the old file as it is (content, mode, owner) under the backup
        // name; the rename below then only replaces the directory entry.
        fs::hard_link(&f.path, backup)
            .or_else(|_| fs::copy(&f.path, backup).map(|_| ()))
            .map_err(|e| failed(backup, "back up the existing file to", e, fix))?;
    }
    if let Err(e) = tmp.persist(&f.path) {
        if let Action::Replace { backup } = &action {
            let _ = fs::remove_file(backup);
        }
        return Err(failed(
            &f.path,
            "rename the temporary file to",
            e.error,
            fix,
        ));
    }
    undo.push(match &action {
        Action::Replace { backup } => Undo::Replaced {
            path: f.path.clone(),
            backup: backup.clone(),
        },
        _ => Undo::Created(f.path.clone()),
    });
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok((action, note))
}

/// Creates the missing directories of `dir`, each 0700, remembering them for rollback.
fn make_dirs(dir: &Path, undo: &mut Vec<Undo>) -> Result<(), IoError> {
    for d in missing_dirs(dir) {
        create_private_dir(&d).map_err(|e| {
            failed(
                &d,
                "create the directory",
                e,
                "check that the parent is a writable directory, or give --out DIR",
            )
        })?;
        undo.push(Undo::Dir(d));
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Undoes the steps in reverse order: (restored, could-not-restore).
fn roll_back(undo: Vec<Undo>) -> (Vec<PathBuf>, Vec<String>) {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for u in undo.into_iter().rev() {
        let r = match &u {
            Undo::Created(p) => fs::remove_file(p).map(|_| p.clone()),
            Undo::Replaced { path, backup } => fs::rename(backup, path).map(|_| path.clone()),
            Undo::Dir(d) => fs::remove_dir(d).map(|_| d.clone()),
        };
        match (r, &u) {
            (Ok(p), Undo::Dir(_)) => drop(p),
            (Ok(p), _) => done.push(p),
            (Err(e), Undo::Created(p)) | (Err(e), Undo::Dir(p)) => {
                failed.push(format!("{}: {e}", p.display()))
            }
            (Err(e), Undo::Replaced { path, backup }) => failed.push(format!(
                "{} (the old version is {}): {e}",
                path.display(),
                backup.display()
            )),
        }
    }
    (done, failed)
}

/// What to write: the files of `clients` for `plan`, and when to preview them against
/// the files on disk (None: no preview, as `write` without `--dry-run`).
pub struct FilesRequest<'a> {
    pub plan: &'a crate::model::plan::Plan,
    /// The writers' options; their secrets are loaded here from the plan's zone.
    pub options: crate::clients::write::WriteOptions,
    pub clients: Vec<crate::clients::write::Client>,
    pub preview: Option<OffsetDateTime>,
}

/// Each client's output, every file in the clients' order, and the preview asked for.
pub struct ClientFiles {
    pub outputs: Vec<(
        crate::clients::write::Client,
        crate::clients::write::ClientOutput,
    )>,
    pub files: Vec<PlannedFile>,
    /// The masked preview of `files` (None: not asked for).
    pub preview: Option<Result<Vec<Preview>, IoError>>,
}

/// Secrets -> writers -> preview, for every face: loads the plan's secrets, runs every
/// writer first (a client that cannot do the plan stops here, before anything is
/// written), then previews the files when asked. Writes nothing: see [`apply`].
pub fn client_files(
    req: FilesRequest<'_>,
) -> Result<ClientFiles, crate::clients::write::WriteError> {
    let mut opts = req.options;
    opts.secrets = load_secrets(req.plan)?;
    let mut outputs = Vec::new();
    for c in req.clients {
        outputs.push((c, crate::clients::write::write(c, req.plan, &opts)?));
    }
    let files: Vec<PlannedFile> = outputs
        .iter()
        .flat_map(|(_, o)| o.files.iter().cloned())
        .collect();
    let preview = req.preview.map(|now| preview(&files, now));
    Ok(ClientFiles {
        outputs,
        files,
        preview,
    })
}

/// Reads the secrets the plan points at: the acme-dns accounts of its storage, or the
/// TSIG key of its key file. The writers themselves never read files.
pub(crate) fn load_secrets(
    plan: &crate::model::plan::Plan,
) -> Result<crate::clients::write::Secrets, crate::clients::write::WriteError> {
    use crate::model::plan::ZoneSpec;
    let mut s = crate::clients::write::Secrets::default();
    match &plan.zone {
        ZoneSpec::AcmeDns { storage, .. } => {
            let store =
                crate::zones::acme_dns::AccountStore::open(storage.as_deref()).map_err(|e| {
                    crate::clients::write::WriteError::Missing {
                        what: e.to_string(),
                        fix: "check the plan's acme-dns storage directory".into(),
                    }
                })?;
            s.accounts = store
                .load()
                .map_err(|e| crate::clients::write::WriteError::Missing {
                    what: e.to_string(),
                    fix: "check the acme-dns account file".into(),
                })?;
        }
        ZoneSpec::Rfc2136 { key_file, .. } => {
            let key = crate::zones::rfc2136::TsigKey::from_file(key_file).map_err(|e| {
                crate::clients::write::WriteError::Missing {
                    what: e.to_string(),
                    fix: "make the plan's key_file readable, or plan again with --key-file".into(),
                }
            })?;
            s.tsig = Some(key);
        }
        ZoneSpec::Provider {
            key_file: Some(f), ..
        } => {
            let key = crate::zones::provider::read_key(f).map_err(|e| {
                crate::clients::write::WriteError::Missing {
                    what: e.to_string(),
                    fix: e.fix().into(),
                }
            })?;
            s.api_key = Some(key);
        }
        _ => {}
    }
    Ok(s)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-30 10:20:30 UTC)
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn secret(p: PathBuf, body: &str, mask: &str) -> PlannedFile {
        PlannedFile::secret(p, body.into(), vec![mask.into()])
    }

    #[test]
    fn creates_dirs_0700_files_with_modes() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("new/sub/a.env");
        let b = t.path().join("new/b.yaml");
        let files = [
            secret(a.clone(), "S=hunter2\n", "hunter2"),
            PlannedFile::public(b.clone(), "k: v\n".into()),
        ];
        let w = apply(&files, now()).unwrap();
        assert!(w.iter().all(|x| x.action == Action::Create));
        assert_eq!(fs::read_to_string(&a).unwrap(), "S=hunter2\n");
        assert_eq!(mode(&a), 0o600);
        assert_eq!(mode(&b), 0o644);
        assert_eq!(mode(&t.path().join("new")), 0o700);
        assert_eq!(mode(&t.path().join("new/sub")), 0o700);
        assert_eq!(entries(&t.path().join("new")), ["b.yaml", "sub"]);
        // Again: unchanged, no backup.
        let w = apply(&files, now()).unwrap();
        assert!(w.iter().all(|x| x.action == Action::Unchanged));
        assert_eq!(entries(&t.path().join("new")), ["b.yaml", "sub"]);
    }

    /// A replaced file keeps its owner, group and mode (`root:traefik 0640` stayed so;
    /// main made it `root:root 0600`), unless it let others read a secret: then the mode
    /// is tightened, and the note says so.
    #[test]
    fn a_replaced_file_keeps_its_owner_group_and_mode_unless_a_secret_needs_tighter() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("traefik.env");
        fs::write(&p, "OLD=1\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        // As real root the file is given another group to keep; in a user namespace
        // (the lab's hermetic.sh maps only root) that group does not exist there, and
        // only the modes are checked.
        let root = fs::metadata("/proc/self").unwrap().uid() == 0
            && std::os::unix::fs::chown(&p, Some(0), Some(4242)).is_ok();
        let w = apply(&[secret(p.clone(), "S=hunter2\n", "hunter2")], now()).unwrap();
        assert_eq!(mode(&p), 0o640);
        assert_eq!(w[0].note, None);
        if root {
            let m = fs::metadata(&p).unwrap();
            assert_eq!((m.uid(), m.gid()), (0, 4242), "owner and group kept");
        }
        // World-readable with a secret: the others' bits go, and that is said.
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let w = apply(&[secret(p.clone(), "S=hunter3\n", "hunter3")], now()).unwrap();
        assert_eq!(mode(&p), 0o640);
        let note = w[0].note.clone().unwrap();
        assert!(note.contains("0644") && note.contains("0640"), "{note}");
        // An unchanged file keeps its mode too.
        let w = apply(&[secret(p.clone(), "S=hunter3\n", "hunter3")], now()).unwrap();
        assert_eq!(w[0].action, Action::Unchanged);
        assert_eq!(mode(&p), 0o640);
        // A new file gets the planned mode.
        let n = t.path().join("new.env");
        apply(&[secret(n.clone(), "S=x\n", "x")], now()).unwrap();
        assert_eq!(mode(&n), 0o600);
    }

    /// Two writes into one folder are locked against each other: while one holds the
    /// folder's lock, the other writes nothing and says who holds it (main had no lock).
    #[test]
    fn a_folder_being_written_is_locked() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sub/lego.env");
        let files = [secret(p.clone(), "S=hunter2\n", "hunter2")];
        let held = lock_folders(&files).unwrap();
        assert_eq!(held.len(), 1);
        let lock = t.path().join("sub").join(LOCK_FILE);
        assert!(lock.exists(), "in the output folder, created to hold it");
        assert!(!t.path().join(LOCK_FILE).exists(), "not in its parent");
        let e = apply(&files, now()).unwrap_err();
        assert!(matches!(e, IoError::Locked { .. }), "{e}");
        assert!(e.to_string().contains(LOCK_FILE), "{e}");
        assert!(!p.exists(), "nothing written");
        drop(held);
        assert!(!lock.exists(), "removed with the lock");
        assert!(
            !t.path().join("sub").exists(),
            "the empty folder it made too"
        );
        apply(&files, now()).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "S=hunter2\n");
        assert!(!lock.exists());
    }

    /// Issue 18 item 14: a lock per OUTPUT folder. Two writes into sibling folders that
    /// do not exist yet (main locked their shared parent, so the second one failed with
    /// "another acme-delegate write is writing into <parent>") both go ahead.
    #[test]
    fn writes_into_sibling_folders_do_not_block_each_other() {
        let t = tempfile::tempdir().unwrap();
        let a = [secret(t.path().join("run/a/lego.env"), "A=1\n", "1")];
        let b = [secret(t.path().join("run/b/lego.env"), "B=1\n", "1")];
        let held_a = lock_folders(&a).unwrap();
        let held_b = lock_folders(&b).unwrap();
        assert!(t.path().join("run/a").join(LOCK_FILE).exists());
        assert!(t.path().join("run/b").join(LOCK_FILE).exists());
        assert!(!t.path().join("run").join(LOCK_FILE).exists());
        // Each folder is still locked against a second write into it.
        assert!(matches!(apply(&a, now()), Err(IoError::Locked { .. })));
        drop(held_a);
        // A write into a while b is held goes ahead, and so does one into an existing
        // sibling c while a write into a new d holds its lock.
        apply(&a, now()).unwrap();
        fs::create_dir(t.path().join("run/c")).unwrap();
        let c = [secret(t.path().join("run/c/lego.env"), "C=1\n", "1")];
        let d = [secret(t.path().join("run/d/lego.env"), "D=1\n", "1")];
        let held_d = lock_folders(&d).unwrap();
        apply(&c, now()).unwrap();
        drop((held_b, held_d));
        apply(&b, now()).unwrap();
        for (f, want) in [("a", "A=1\n"), ("b", "B=1\n"), ("c", "C=1\n")] {
            let p = t.path().join("run").join(f).join("lego.env");
            assert_eq!(fs::read_to_string(p).unwrap(), want);
        }
        assert!(
            !t.path().join("run/d").exists(),
            "d was only locked, not written"
        );
        assert_eq!(entries(&t.path().join("run")), ["a", "b", "c"]);
    }

    #[test]
    fn differing_file_is_backed_up_not_clobbered() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("acme-dns-accounts.json");
        fs::write(&p, "{\"other\": \"account\"}\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let w = apply(&[secret(p.clone(), "{\"new\": 1}\n", "x")], now()).unwrap();
        let backup = t.path().join("acme-dns-accounts.json.bak-20261130102030");
        assert_eq!(
            w[0].action,
            Action::Replace {
                backup: backup.clone()
            }
        );
        assert_eq!(
            fs::read_to_string(&backup).unwrap(),
            "{\"other\": \"account\"}\n"
        );
        assert_eq!(mode(&backup), 0o640);
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\"new\": 1}\n");
        // The replaced file keeps its mode (issue 18: it was set to the planned 0600).
        assert_eq!(mode(&p), 0o640);
        // A second change the same second gets its own backup name.
        apply(&[secret(p.clone(), "{\"newer\": 2}\n", "x")], now()).unwrap();
        assert!(t
            .path()
            .join("acme-dns-accounts.json.bak-20261130102030-1")
            .exists());
    }

    #[test]
    fn symlink_target_is_refused_and_nothing_is_written() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let link = t.path().join("b.env");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let first = t.path().join("a.env");
        let files = [
            PlannedFile::public(first.clone(), "A=1\n".into()),
            PlannedFile::public(link.clone(), "B=2\n".into()),
        ];
        let e = apply(&files, now()).unwrap_err();
        assert!(matches!(e, IoError::Symlink { .. }), "{e}");
        assert!(e.to_string().contains("b.env"), "{e}");
        assert!(
            !first.exists(),
            "the preflight refuses before anything is written"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(preview(&files, now()).is_err());
    }

    #[test]
    fn failure_rolls_back_every_file_already_written() {
        let t = tempfile::tempdir().unwrap();
        let created = t.path().join("fresh/a.env");
        let replaced = t.path().join("b.env");
        fs::write(&replaced, "OLD=1\n").unwrap();
        // The third file's parent is a regular file: creating the directory fails.
        fs::write(t.path().join("blocker"), "").unwrap();
        let files = [
            PlannedFile::public(created.clone(), "A=1\n".into()),
            PlannedFile::public(replaced.clone(), "NEW=1\n".into()),
            PlannedFile::public(t.path().join("blocker/c.env"), "C=1\n".into()),
        ];
        let e = apply(&files, now()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("blocker"), "{msg}");
        assert!(msg.contains("rolled back"), "{msg}");
        match &e {
            IoError::Failed(f) => {
                assert_eq!(f.rolled_back, [replaced.clone(), created.clone()]);
                assert!(f.rollback_failed.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(!created.exists());
        assert!(
            !t.path().join("fresh").exists(),
            "the new directory is removed"
        );
        assert_eq!(fs::read_to_string(&replaced).unwrap(), "OLD=1\n");
        assert_eq!(
            entries(t.path()),
            ["b.env", "blocker"],
            "no backup or temp file left"
        );
    }

    #[test]
    fn not_writable_directory_fails_cleanly() {
        let t = tempfile::tempdir().unwrap();
        let ro = t.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        let other = t.path().join("ok.env");
        let files = [
            PlannedFile::public(other.clone(), "A=1\n".into()),
            PlannedFile::public(ro.join("x.env"), "X=1\n".into()),
        ];
        let r = apply(&files, now());
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
        // Root ignores directory permissions; then the write simply worked.
        if let Err(e) = r {
            let msg = e.to_string();
            assert!(msg.contains("x.env") && msg.contains("--out"), "{msg}");
            assert!(!other.exists(), "rolled back");
            assert!(entries(&ro).is_empty());
        }
    }

    #[test]
    fn dry_run_diff_masks_secrets_and_hides_unknown_old_lines() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("rfc2136.env");
        fs::write(&p, "KEY=name\nSECRET=old-secret-value\n").unwrap();
        let f = secret(
            p.clone(),
            "KEY=name\nSECRET=new-secret-value\n",
            "new-secret-value",
        );
        let pv = preview(std::slice::from_ref(&f), now()).unwrap();
        assert!(matches!(pv[0].action, Action::Replace { .. }));
        let d = &pv[0].diff;
        assert!(
            !d.contains("old-secret-value") && !d.contains("new-secret-value"),
            "{d}"
        );
        assert!(d.contains("+SECRET=****"), "{d}");
        assert!(d.contains(" KEY=name"), "{d}");
        let json = serde_json::to_string(&pv).unwrap();
        assert!(!json.contains("secret-value"), "{json}");
        // Dry run changes nothing.
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "KEY=name\nSECRET=old-secret-value\n"
        );
        assert_eq!(entries(t.path()), ["rfc2136.env"]);
        // A new file diffs against /dev/null.
        let n = PlannedFile::public(t.path().join("n.yml"), "a: 1\n".into());
        let pv = preview(&[n], now()).unwrap();
        assert_eq!(pv[0].action, Action::Create);
        assert!(pv[0].diff.contains("--- /dev/null") && pv[0].diff.contains("+a: 1"));
    }
}

//! Secrets given on the command line (`plan --key`, the wizard's key fields), stored as
//! files the plan names: a TSIG key as a BIND key file, a provider API key alone. 0600 in
//! a 0700 `keys/` folder of the user data dir; a file of the same name with other content
//! (another plan's key) is never replaced. Never printed.

use crate::dns::Name;
use crate::model::files::{file_safe, store_unique, StoreError};
use crate::zones::rfc2136::{KeyError, TsigKey};
use std::path::Path;

pub use crate::model::files::StoredFile as StoredKey;

/// Why a key given on the command line could not be stored. Each says to use a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The key itself is wrong (`ALG:NAME:SECRET`).
    #[error("--key: {0}")]
    Key(#[from] KeyError),
    #[error("--key: no user data dir to store the key in; use --key-file")]
    NoDataDir,
    #[error("--key: the API key is empty or spans lines; use --key-file")]
    BadApiKey,
    #[error("--key: {0}; use --key-file")]
    Store(#[from] StoreError),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl KeyStoreError {
    /// The problem in words, without the `--key:` flag and its fix (for the wizard).
    pub fn message(&self) -> String {
        match self {
            KeyStoreError::Key(e) => e.to_string(),
            KeyStoreError::NoDataDir => "no user data dir to store the key in".into(),
            KeyStoreError::BadApiKey => "the API key is empty or spans lines".into(),
            KeyStoreError::Store(e) => e.to_string(),
            KeyStoreError::Task(m) => format!("a background task failed: {m}"),
        }
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, KeyStoreError> + Send + 'static,
) -> Result<R, KeyStoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KeyStoreError::Task(e.to_string()))?
}

fn keys_dir() -> Result<std::path::PathBuf, KeyStoreError> {
    crate::model::config::project_dirs()
        .map(|d| d.data_dir().join("keys"))
        .ok_or(KeyStoreError::NoDataDir)
}

/// Stores a TSIG key given as `ALG:NAME:SECRET` in a BIND key file `keys/<name>.key` and
/// says where, and whether the file is new. The secret is validated first. A key file of
/// the same name whose content differs is kept: the key goes to `<name>-2.key`, ... (an
/// identical one is reused).
pub async fn store_tsig_key(spec: String) -> Result<StoredKey, KeyStoreError> {
    blocking(move || {
        let key = TsigKey::parse_kdig(&spec)?;
        write_key_file(&key, &spec, &keys_dir()?)
    })
    .await
}

/// Stores a provider API key in `keys/<provider>-<zone>.apikey` and says where, and
/// whether the file is new; as with TSIG keys, another key of the same name is kept: the
/// key goes to `<provider>-<zone>-2.apikey`, ... (an identical one is reused).
pub async fn store_api_key(
    provider: String,
    zone: Name,
    key: String,
) -> Result<StoredKey, KeyStoreError> {
    blocking(move || {
        let key = key.trim().to_string();
        if key.is_empty() || key.contains(['\n', '\r']) {
            return Err(KeyStoreError::BadApiKey);
        }
        write_api_key_file(&provider, &zone, &key, &keys_dir()?)
    })
    .await
}

fn write_api_key_file(
    provider: &str,
    zone: &Name,
    key: &str,
    dir: &Path,
) -> Result<StoredKey, KeyStoreError> {
    let stem = format!("{}-{}", file_safe(provider), file_safe(zone.without_dot()));
    Ok(store_unique(
        dir,
        &stem,
        "apikey",
        format!("{key}\n").as_bytes(),
    )?)
}

fn write_key_file(key: &TsigKey, spec: &str, dir: &Path) -> Result<StoredKey, KeyStoreError> {
    let secret = spec.trim().rsplit(':').next().unwrap_or_default();
    let text = format!(
        "key \"{}\" {{\n    algorithm {};\n    secret \"{secret}\";\n}};\n",
        key.name.without_dot(),
        key.algorithm.name()
    );
    Ok(store_unique(
        dir,
        &file_safe(key.name.without_dot()),
        "key",
        text.as_bytes(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_stored_key_is_0600_in_a_0700_dir_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("ad-setup-{}", std::process::id()));
        let spec = "hmac-sha256:acme-key.:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let key = TsigKey::parse_kdig(spec).unwrap();
        let stored = write_key_file(&key, spec, &dir.join("keys")).unwrap();
        let path = stored.path;
        assert!(stored.created);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("keys")), 0o700);
        let back = TsigKey::from_file(&path).unwrap();
        assert_eq!(back.name, key.name);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A key of the same name with another secret never replaces the stored one (main
    /// overwrote it: the earlier plan's prove and hook then failed with BADSIG); the same
    /// key again reuses its file.
    #[test]
    fn a_stored_key_is_never_replaced_by_another() {
        let dir = std::env::temp_dir().join(format!("ad-setup-keep-{}", std::process::id()));
        let keys = dir.join("keys");
        let first = "hmac-sha256:acme-update:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let wrong = "hmac-sha256:acme-update:d3JvbmcgIHdyb25nICB3cm9uZyAgd3Jvbmc=";
        let store =
            |spec: &str| write_key_file(&TsigKey::parse_kdig(spec).unwrap(), spec, &keys).unwrap();
        let a = store(first);
        let kept = std::fs::read(&a.path).unwrap();
        let b = store(wrong);
        assert!(b.created);
        assert_ne!(a.path, b.path, "a new name for the other key");
        assert!(b.path.ends_with("acme-update-2.key"), "{:?}", b.path);
        assert_eq!(
            std::fs::read(&a.path).unwrap(),
            kept,
            "the first key is kept"
        );
        let again = store(first);
        assert_eq!((again.path, again.created), (a.path, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The same rule for provider API keys (main replaced `keys/<provider>-<zone>.apikey`
    /// with whatever the last `plan --key` gave): another key gets a new name, 0600; the
    /// same key again reuses its file.
    #[test]
    fn a_stored_api_key_is_never_replaced_by_another() {
        let dir = std::env::temp_dir().join(format!("ad-setup-api-{}", std::process::id()));
        let keys = dir.join("keys");
        let zone = Name::from_ascii("pdns.lab.");
        let store = |key: &str| write_api_key_file("pdns", &zone, key, &keys).unwrap();
        let a = store("the-first-key");
        assert!(
            a.created && a.path.ends_with("pdns-pdns.lab.apikey"),
            "{a:?}"
        );
        let b = store("another-key");
        assert!(b.created);
        assert!(b.path.ends_with("pdns-pdns.lab-2.apikey"), "{:?}", b.path);
        assert_eq!(std::fs::read(&a.path).unwrap(), b"the-first-key\n", "kept");
        assert_eq!(std::fs::read(&b.path).unwrap(), b"another-key\n");
        let mode = std::fs::metadata(&b.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = store("the-first-key");
        assert_eq!((again.path, again.created), (a.path, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The texts are the ones `plan --key` always printed (as `SetupError::KeyStore`).
    #[test]
    fn errors_read_as_before() {
        assert_eq!(
            KeyStoreError::NoDataDir.to_string(),
            "--key: no user data dir to store the key in; use --key-file"
        );
        assert_eq!(
            KeyStoreError::BadApiKey.to_string(),
            "--key: the API key is empty or spans lines; use --key-file"
        );
        let dir = std::path::PathBuf::from("/x/keys");
        let e = KeyStoreError::from(StoreError::Io {
            dir,
            source: std::io::Error::from_raw_os_error(13),
        });
        assert_eq!(
            e.to_string(),
            "--key: cannot write in /x/keys: Permission denied (os error 13); use --key-file"
        );
        assert_eq!(
            e.message(),
            "cannot write in /x/keys: Permission denied (os error 13)"
        );
    }
}

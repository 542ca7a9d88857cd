//! The account files: [`ACCOUNTS_FILE`] (lego, cert-manager, joohoi's certbot hook) and
//! [`CLIENTSTORAGE_FILE`] (goacmedns layout: acme-dns-client, Caddy) in one directory,
//! written atomically with mode 0600.

use super::{Account, AcmeDnsApi, AcmeDnsError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The account file lego (`ACME_DNS_STORAGE_PATH`), joohoi's certbot hook and
/// cert-manager's Secret read: one JSON object keyed by domain.
pub const ACCOUNTS_FILE: &str = "acme-dns-accounts.json";
/// The same accounts in the goacmedns layout acme-dns-client and caddy-dns/acmedns read
/// (`/etc/acmedns/clientstorage.json`): they post to the stored `server_url`.
pub const CLIENTSTORAGE_FILE: &str = "clientstorage.json";

/// The goacmedns `Account` struct, field for field (clientstorage.json).
#[derive(Serialize)]
struct GoAcmednsAccount<'a> {
    fulldomain: &'a str,
    subdomain: &'a str,
    username: &'a str,
    password: &'a str,
    server_url: &'a str,
}

/// The account files in one directory (mode 0700): [`ACCOUNTS_FILE`] and
/// [`CLIENTSTORAGE_FILE`], both mode 0600, both written atomically.
#[derive(Clone, Debug)]
pub struct AccountStore {
    dir: PathBuf,
}

/// The default storage directory: the user data dir (`~/.local/share/acme-delegate` on
/// Linux).
pub fn default_store_dir() -> Result<PathBuf, AcmeDnsError> {
    crate::model::config::project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| AcmeDnsError::Storage {
            path: PathBuf::from("~"),
            detail: "no home directory: the user data directory cannot be found".into(),
            fix: "set HOME, or give the storage directory explicitly".into(),
        })
}

impl AccountStore {
    /// Opens (creating, mode 0700) `dir`, or the default directory when `None`. An
    /// existing directory open to others is narrowed to 0700.
    pub fn open(dir: Option<&Path>) -> Result<Self, AcmeDnsError> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => default_store_dir()?,
        };
        let serr = |detail: String| AcmeDnsError::Storage {
            path: dir.clone(),
            detail,
            fix: "give a storage directory this user can create and write".into(),
        };
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir)
                .map_err(|e| serr(format!("cannot create the directory: {e}")))?;
        }
        if !dir.is_dir() {
            return Err(serr("exists and is not a directory".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&dir).map_err(|e| serr(e.to_string()))?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| serr(format!("cannot restrict it to mode 0700: {e}")))?;
            }
        }
        Ok(AccountStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lego / cert-manager file (`ACME_DNS_STORAGE_PATH`).
    pub fn accounts_path(&self) -> PathBuf {
        self.dir.join(ACCOUNTS_FILE)
    }

    /// The acme-dns-client / Caddy file.
    pub fn clientstorage_path(&self) -> PathBuf {
        self.dir.join(CLIENTSTORAGE_FILE)
    }

    /// All stored accounts (none when the file does not exist yet).
    pub fn load(&self) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
        read_accounts(self.accounts_path())
    }

    /// The stored account of one domain key (see [`storage_key`](super::storage_key)).
    pub fn get(&self, key: &str) -> Result<Option<Account>, AcmeDnsError> {
        Ok(self.load()?.remove(&key.to_ascii_lowercase()))
    }

    /// The zones (fulldomain without the subdomain) of the stored accounts of the API at
    /// `base_url`: where that server has put its accounts so far. Unreadable: none.
    pub fn zones_of(&self, base_url: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in self.load().unwrap_or_default().values() {
            if a.server_url.as_deref().map(|u| u.trim_end_matches('/')) != Some(base_url) {
                continue;
            }
            let fd = a.fulldomain.trim_end_matches('.').to_ascii_lowercase();
            let sub = format!("{}.", a.subdomain.to_ascii_lowercase());
            if let Some(z) = fd.strip_prefix(&sub) {
                if !out.iter().any(|o| o == z) {
                    out.push(z.to_string());
                }
            }
        }
        out
    }

    /// The entry of one domain key in [`CLIENTSTORAGE_FILE`]: what acme-dns-client and
    /// Caddy post with (goacmedns layout, so no `allowfrom`). None when the file or the
    /// entry is missing.
    pub fn client_entry(&self, key: &str) -> Result<Option<Account>, AcmeDnsError> {
        Ok(read_accounts(self.clientstorage_path())?.remove(&key.to_ascii_lowercase()))
    }

    /// Stores one account under `key` and rewrites both files atomically.
    pub fn put(&self, key: &str, account: &Account) -> Result<(), AcmeDnsError> {
        let mut all = self.load()?;
        all.insert(key.to_ascii_lowercase(), account.clone());
        self.save(&all)
    }

    /// Writes both files (temp file in the same directory, fsync, rename).
    pub fn save(&self, all: &BTreeMap<String, Account>) -> Result<(), AcmeDnsError> {
        let json = serde_json::to_vec_pretty(all).expect("accounts serialize");
        write_atomic(&self.accounts_path(), &json)?;
        let client: BTreeMap<&str, GoAcmednsAccount<'_>> = all
            .iter()
            .map(|(k, a)| {
                (
                    k.as_str(),
                    GoAcmednsAccount {
                        fulldomain: &a.fulldomain,
                        subdomain: &a.subdomain,
                        username: &a.username,
                        password: a.password.expose(),
                        server_url: a.server_url.as_deref().unwrap_or(""),
                    },
                )
            })
            .collect();
        let json = serde_json::to_vec_pretty(&client).expect("accounts serialize");
        write_atomic(&self.clientstorage_path(), &json)
    }

    /// The stored account for `key`, or a new registration that is stored before it is
    /// returned. A failed registration stores nothing.
    pub async fn ensure(
        &self,
        api: &AcmeDnsApi,
        key: &str,
        allowfrom: &[String],
    ) -> Result<(Account, bool), AcmeDnsError> {
        let (me, k) = (self.clone(), key.to_string());
        if let Some(a) = off_worker(move || me.get(&k)).await? {
            return Ok((a, false));
        }
        let a = if api.zones().is_empty() {
            // The server's domain, as its earlier registrations here show it.
            let (me, base) = (self.clone(), api.base_url());
            let zones = off_worker(move || Ok(me.zones_of(&base))).await?;
            api.clone().expect_zones(zones).register(allowfrom).await?
        } else {
            api.register(allowfrom).await?
        };
        let (me, k, acct) = (self.clone(), key.to_string(), a.clone());
        off_worker(move || me.put(&k, &acct)).await?;
        Ok((a, true))
    }

    /// [`AccountStore::get`] and [`AccountStore::client_entry`], read off the async
    /// workers: (the registration, the entry clients post).
    pub async fn both(
        &self,
        key: &str,
    ) -> Result<(Option<Account>, Option<Account>), AcmeDnsError> {
        let (me, k) = (self.clone(), key.to_string());
        off_worker(move || Ok((me.get(&k)?, me.client_entry(&k)?))).await
    }
}

/// Runs blocking file work of the account store on tokio's blocking pool.
async fn off_worker<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, AcmeDnsError> + Send + 'static,
) -> Result<R, AcmeDnsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AcmeDnsError::Storage {
            path: PathBuf::new(),
            detail: format!("the file task failed: {e}"),
            fix: "run again; report a bug if it repeats".into(),
        })?
}

/// The accounts of one account file, keyed by domain (none when it does not exist yet).
fn read_accounts(path: PathBuf) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
    let text = match crate::model::files::read_text_limited(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(AcmeDnsError::Storage {
                path,
                detail: format!("cannot read it: {e}"),
                fix: "make it readable by this user (mode 0600)".into(),
            })
        }
    };
    accounts_from_json(&text, path)
}

/// The accounts of an account file's text (`path` is only named in errors). Never panics.
pub fn accounts_from_json(
    text: &str,
    path: PathBuf,
) -> Result<BTreeMap<String, Account>, AcmeDnsError> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(text).map_err(|e| AcmeDnsError::Storage {
        path,
        detail: format!("not an acme-dns account file ({e})"),
        fix: "it must be one JSON object keyed by domain, each value with username, \
              password, fulldomain and subdomain; move the broken file away"
            .into(),
    })
}

/// Writes `data` and a line break to `path` with [`crate::model::files::write_atomic`] (mode 0600,
/// no symlink followed): a reader sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), AcmeDnsError> {
    let text = [data, b"\n"].concat();
    crate::model::files::write_atomic(path, &text, 0o600).map_err(|e| AcmeDnsError::Storage {
        path: path.to_path_buf(),
        detail: format!("cannot write it: {e}"),
        fix: "check the free space and the permissions of the storage directory".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::acme_dns::tests::acct;

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "acme-dns-test-{tag}-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn storage_layout_modes_and_reuse() {
        let dir = tempdir("layout").join("nested");
        let store = AccountStore::open(Some(&dir)).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&dir), 0o700);
        assert!(store.load().unwrap().is_empty());
        let a = acct("9b1d0000-aaaa-bbbb-cccc-dddddddddd77", "3f0e4b2c-1111");
        store.put("WWW.example.test", &a).unwrap();

        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.accounts_path()).unwrap()).unwrap();
        let e = &v["www.example.test"];
        assert_eq!(e["username"], a.username);
        assert_eq!(e["password"], a.password.expose());
        assert_eq!(e["fulldomain"], a.fulldomain);
        assert_eq!(e["subdomain"], a.subdomain);
        assert_eq!(e["allowfrom"], serde_json::json!(["127.0.0.0/8"]));
        assert_eq!(e["server_url"], "http://127.0.0.1:8080");

        let c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.clientstorage_path()).unwrap()).unwrap();
        let ce = c["www.example.test"].as_object().unwrap();
        let mut keys: Vec<_> = ce.keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "fulldomain",
                "password",
                "server_url",
                "subdomain",
                "username"
            ]
        );
        assert_eq!(ce["server_url"], "http://127.0.0.1:8080");
        assert_eq!(ce["password"], a.password.expose());

        #[cfg(unix)]
        {
            assert_eq!(mode(&store.accounts_path()), 0o600);
            assert_eq!(mode(&store.clientstorage_path()), 0o600);
        }
        assert_eq!(store.get("www.example.test").unwrap(), Some(a.clone()));

        // A second account keeps the first; no temp files are left behind.
        let b = acct("other", "other-sub");
        store.put("api.example.test", &b).unwrap();
        let all = store.load().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all["www.example.test"], a);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn open_narrows_a_wide_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir("wide");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        AccountStore::open(Some(&dir)).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_a_file_written_by_lego() {
        // goacmedns layout: no allowfrom.
        let dir = tempdir("lego");
        let store = AccountStore::open(Some(&dir)).unwrap();
        std::fs::write(
            store.accounts_path(),
            r#"{"www.example.com":{"fulldomain":"x.acme-dns.example.net","subdomain":"x",
               "username":"u","password":"secret","server_url":"https://acme-dns.example.net"}}"#,
        )
        .unwrap();
        let a = store.get("www.example.com").unwrap().unwrap();
        assert!(a.allowfrom.is_empty());
        assert_eq!(a.target(), "x.acme-dns.example.net.");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_file_is_a_clear_error_and_is_not_overwritten() {
        let dir = tempdir("broken");
        let store = AccountStore::open(Some(&dir)).unwrap();
        std::fs::write(store.accounts_path(), "not json").unwrap();
        let e = store
            .put("a.example", &acct("u", "s"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(ACCOUNTS_FILE) && e.contains("fix:"), "{e}");
        assert_eq!(
            std::fs::read_to_string(store.accounts_path()).unwrap(),
            "not json"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces_whole_or_not_at_all() {
        let dir = tempdir("atomic");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.json");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let link = dir.join("link.json");
            std::os::unix::fs::symlink(&p, &link).unwrap();
            assert!(
                write_atomic(&link, b"evil").is_err(),
                "a symlink is not followed"
            );
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
            std::fs::remove_file(&link).unwrap();
        }
        // The rename target is a directory: the write fails, the temp file is removed.
        let target = dir.join("sub");
        std::fs::create_dir_all(target.join("x")).unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn ensure_reuses_a_stored_registration_without_asking() {
        // (the failing registration is in tests/acme_dns_lab.rs: no network in unit tests)
        let dir = tempdir("ensure");
        let store = AccountStore::open(Some(&dir)).unwrap();
        // Nothing is contacted: TEST-NET-1 would time out, and the test would notice.
        let api = AcmeDnsApi::new("http://192.0.2.1:1").unwrap();
        let a = acct("u", "s");
        store.put("www.example.test", &a).unwrap();
        let (got, fresh) = store.ensure(&api, "WWW.example.test", &[]).await.unwrap();
        assert_eq!(got, a);
        assert!(!fresh);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    /// A registration whose fulldomain leaves the zone of the server's earlier accounts
    /// is refused, and nothing is stored.
    #[tokio::test]
    async fn a_registration_in_another_zone_than_earlier_ones_is_not_stored() {
        let dir = tempdir("zone");
        let store = AccountStore::open(Some(&dir)).unwrap();
        let sub = "0a1b2c3d-0000-4000-8000-000000000001";
        let body = format!(
            r#"{{"username":"u-2","password":"{}","fulldomain":"{sub}.attacker.example","subdomain":"{sub}","allowfrom":[]}}"#,
            "p".repeat(40)
        );
        let url =
            crate::zones::acme_dns::api::tests::one_shot("201 Created", body.into_bytes(), false);
        let api = AcmeDnsApi::new(&url).unwrap();
        let mut old = acct("u-1", "s1");
        old.server_url = Some(api.base_url());
        store.put("old.example.test", &old).unwrap();
        assert_eq!(
            store.zones_of(&api.base_url()),
            vec!["acme.lab".to_string()]
        );
        let before = std::fs::read(store.accounts_path()).unwrap();
        let e = store
            .ensure(&api, "new.example.test", &[])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("serves acme.lab"), "{e}");
        assert_eq!(std::fs::read(store.accounts_path()).unwrap(), before);
        assert!(store.get("new.example.test").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

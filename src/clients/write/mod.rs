//! Issuing-client writers: pure functions from the saved plan (and the secrets it points
//! at, loaded beforehand) to the files a client needs, the next command(s) to run and
//! notes. One file per client. Nothing here touches the disk: the engine's `write` step is the one IO step.
//!
//! Secrets (acme-dns passwords, TSIG secrets) go only into files marked `secret`; every
//! Display, Debug, diff and JSON view masks them, and no next command or note holds one.

pub mod acmesh;
pub mod caddy;
pub mod cert_manager;
pub mod certbot;
pub mod certmate;
pub mod lego;
pub mod traefik;

use crate::findings::Finding;
use crate::model::name::InputName;
use crate::model::plan::{Plan, PlannedName, ZoneSpec};
use crate::zones::acme_dns::{plan_accounts, storage_key, two_values_conflicts, Account};
use crate::zones::rfc2136::TsigKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The mask shown instead of a secret.
pub const MASK: &str = "****";

/// Let's Encrypt's production directory: the default ACME server of every writer.
pub const DEFAULT_SERVER: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The issuing clients acme-delegate writes configs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Client {
    #[serde(rename = "lego")]
    Lego,
    #[serde(rename = "certbot")]
    Certbot,
    #[serde(rename = "acme.sh")]
    AcmeSh,
    #[serde(rename = "cert-manager")]
    CertManager,
    #[serde(rename = "caddy")]
    Caddy,
    #[serde(rename = "traefik")]
    Traefik,
    #[serde(rename = "certmate")]
    CertMate,
}

impl Client {
    pub const ALL: [Client; 7] = [
        Client::Lego,
        Client::Certbot,
        Client::AcmeSh,
        Client::CertManager,
        Client::Caddy,
        Client::Traefik,
        Client::CertMate,
    ];

    /// The name on the command line (`--client NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Client::Lego => "lego",
            Client::Certbot => "certbot",
            Client::AcmeSh => "acme.sh",
            Client::CertManager => "cert-manager",
            Client::Caddy => "caddy",
            Client::Traefik => "traefik",
            Client::CertMate => "certmate",
        }
    }

    pub fn parse(s: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One file a writer wants on disk.
#[derive(Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub contents: String,
    /// Unix mode, exactly (0600 for every file with a secret).
    pub mode: u32,
    /// It holds a password or a key.
    pub secret: bool,
    /// The secret values inside `contents`, masked in every view.
    masks: Vec<String>,
}

impl PlannedFile {
    /// A file without secrets (mode 0644).
    pub fn public(path: PathBuf, contents: String) -> Self {
        PlannedFile {
            path,
            contents,
            mode: 0o644,
            secret: false,
            masks: Vec::new(),
        }
    }

    /// A file holding the given secret values (mode 0600).
    pub fn secret(path: PathBuf, contents: String, masks: Vec<String>) -> Self {
        let mut masks: Vec<String> = masks.into_iter().filter(|m| !m.is_empty()).collect();
        // Longest first, so that a secret containing another is masked whole.
        masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
        PlannedFile {
            path,
            contents,
            mode: 0o600,
            secret: true,
            masks,
        }
    }

    /// The contents with every secret value replaced by `****`.
    pub fn masked(&self) -> String {
        mask_all(&self.contents, &self.masks)
    }

    /// The secret values of this file (to mask other text, e.g. an on-disk version).
    pub fn masks(&self) -> &[String] {
        &self.masks
    }
}

/// Replaces every mask in `text` by [`MASK`].
pub fn mask_all(text: &str, masks: &[String]) -> String {
    masks
        .iter()
        .filter(|m| !m.is_empty())
        .fold(text.to_string(), |t, m| t.replace(m.as_str(), MASK))
}

impl fmt::Debug for PlannedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlannedFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("secret", &self.secret)
            .field("contents", &self.masked())
            .finish()
    }
}

impl fmt::Display for PlannedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (mode {:04o}{})",
            self.path.display(),
            self.mode,
            if self.secret { ", holds a secret" } else { "" }
        )
    }
}

impl Serialize for PlannedFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PlannedFile", 3)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("mode", &format!("{:04o}", self.mode))?;
        st.serialize_field("secret", &self.secret)?;
        st.end()
    }
}

/// What a writer produces.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientOutput {
    pub files: Vec<PlannedFile>,
    /// The exact command(s) to run next, in order. Never hold a secret.
    pub next_commands: Vec<String>,
    pub notes: Vec<String>,
    /// Warnings to show before anything is written (e.g. `ACMEDNS_TWO_VALUES`).
    pub findings: Vec<Finding>,
}

/// The secrets the plan points at, read before the (pure) writers run.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// acme-dns accounts keyed as in the account file (NAME without `*.`).
    pub accounts: BTreeMap<String, Account>,
    /// The TSIG key of an RFC 2136 plan.
    pub tsig: Option<TsigKey>,
    /// The API key of a provider plan with `key_file` (PowerDNS).
    pub api_key: Option<crate::zones::provider::ApiKey>,
}

/// Where and how to write.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// `--out DIR`: every file under DIR instead of the client's default place.
    pub out: Option<PathBuf>,
    /// Running as root (certbot then uses /etc/letsencrypt).
    pub root: bool,
    pub home: PathBuf,
    /// The working directory (lego's default `.lego` is relative to it).
    pub cwd: PathBuf,
    /// How the hooks call acme-delegate (an absolute path: renewals re-run it).
    pub exe: PathBuf,
    /// The plan file (absolute), passed to the hooks.
    pub plan_path: PathBuf,
    /// The plan's id ([`plan_id`]), in the name of every file written, so that two plans
    /// never share a file and the same plan always rewrites its own.
    pub plan_id: String,
    /// The config file, passed to the hooks when one was given.
    pub config_path: Option<PathBuf>,
    /// The ACME account e-mail.
    pub email: Option<String>,
    /// The ACME directory URL ([`DEFAULT_SERVER`] when unset).
    pub server: Option<String>,
    /// Recursive resolvers (`host:port`) for clients that take them.
    pub resolvers: Vec<String>,
    /// The validation zone's servers are not reachable from where the client runs (a
    /// private zone): skip the client's own authoritative propagation check (lego
    /// `--dns.disable-cp`, acme.sh `--dnssleep`).
    pub private_zone: bool,
    pub secrets: Secrets,
}

impl WriteOptions {
    /// Options with the defaults of this process (cwd, home, root, exe). No secrets.
    pub fn for_plan(plan_path: &Path) -> Self {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let home = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_else(|| cwd.clone());
        WriteOptions {
            out: None,
            root: is_root(),
            home,
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("acme-delegate")),
            plan_id: plan_id(&absolute(&cwd, plan_path)),
            plan_path: absolute(&cwd, plan_path),
            cwd,
            config_path: None,
            email: None,
            server: None,
            resolvers: Vec::new(),
            private_zone: false,
            secrets: Secrets::default(),
        }
    }

    pub fn server(&self) -> &str {
        self.server.as_deref().unwrap_or(DEFAULT_SERVER)
    }

    /// `base/NAME` with the plan's id before NAME's extension (`acme-delegate.ini` ->
    /// `acme-delegate-<id>.ini`; a NAME without one gets `-<id>` at its end).
    pub fn file(&self, base: &Path, name: &str) -> PathBuf {
        base.join(tagged(name, &self.plan_id))
    }

    /// `--out DIR`, or the client's default directory.
    pub fn base(&self, default: PathBuf) -> PathBuf {
        match &self.out {
            Some(o) => absolute(&self.cwd, o),
            None => default,
        }
    }
}

/// The id of the plan at `path` (absolute), put in the name of every client file: the
/// file's stem (lower case, `[a-z0-9-]`, at most 24 characters; `plan` when nothing is
/// left), `-`, and 8 hex digits of the FNV-1a hash of the whole path. Two plan files never
/// share an id (two `plan.toml` in different folders differ in the hash), and one plan
/// file keeps its id for as long as it stays at that path.
pub fn plan_id(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut slug = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        slug.push(c);
    }
    slug.truncate(24);
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "plan" } else { slug };
    format!(
        "{slug}-{:08x}",
        fnv1a(path.to_string_lossy().as_bytes()) as u32
    )
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// NAME with `-ID` before its extension (the part after the last dot).
pub(crate) fn tagged(name: &str, id: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{id}.{ext}"),
        _ => format!("{name}-{id}"),
    }
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just could create tells the effective uid without
    // unsafe code; /proc/self is owned by the process's uid.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// Why a writer cannot produce a config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The client cannot use this kind of validation zone (as set up in the plan).
    #[error("{client} cannot use the plan's {kind} validation zone: {why}. Way out: {way_out}")]
    Unsupported {
        client: Client,
        kind: &'static str,
        why: String,
        way_out: String,
    },
    /// A secret the config needs is not there (no account stored for a name, no key).
    #[error("{what}. Fix: {fix}")]
    Missing { what: String, fix: String },
    /// A value cannot be written in the client's format.
    #[error("{what}. Fix: {fix}")]
    Unrepresentable { what: String, fix: String },
}

impl WriteError {
    fn unsupported(client: Client, plan: &Plan, why: &str, way_out: &str) -> Self {
        WriteError::Unsupported {
            client,
            kind: plan.zone.kind(),
            why: why.into(),
            way_out: way_out.into(),
        }
    }
}

/// Runs the writer of one client.
pub fn write(client: Client, plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    let mut out = match client {
        Client::Lego => lego::write(plan, opts),
        Client::Certbot => certbot::write(plan, opts),
        Client::AcmeSh => acmesh::write(plan, opts),
        Client::CertManager => cert_manager::write(plan, opts),
        Client::Caddy => caddy::write(plan, opts),
        Client::Traefik => traefik::write(plan, opts),
        Client::CertMate => certmate::write(plan, opts),
    }?;
    if matches!(plan.zone, ZoneSpec::AcmeDns { .. }) {
        out.findings
            .extend(two_values_findings(plan, &opts.secrets));
    }
    Ok(out)
}

/// `ACMEDNS_TWO_VALUES` for every acme-dns account the plan's names would need more than
/// two live TXT values on.
pub fn two_values_findings(plan: &Plan, secrets: &Secrets) -> Vec<Finding> {
    two_values_conflicts(&plan.inputs(), &secrets.accounts)
        .into_iter()
        .map(|c| {
            Finding::new(
                crate::findings::Code::AcmednsTwoValues,
                &c.identifiers.join(", "),
                c.explain(),
                "give each name its own acme-dns account (`acme-delegate plan --zone acme-dns` registers one per name; an apex and its wildcard share one), or issue the names in separate orders".into(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/// The names of one acme-dns account (or one challenge name): an apex and its wildcard.
#[derive(Clone, Debug)]
pub(crate) struct Group<'a> {
    /// The storage key: NAME without `*.`.
    pub key: String,
    pub identifiers: Vec<String>,
    pub names: Vec<&'a PlannedName>,
}

/// The plan's names grouped by challenge name, in plan order.
pub(crate) fn groups(plan: &Plan) -> Vec<Group<'_>> {
    let inputs: Vec<InputName> = plan.inputs();
    plan_accounts(&inputs)
        .into_iter()
        .map(|a| Group {
            names: plan
                .names
                .iter()
                .filter(|p| a.identifiers.contains(&p.name))
                .collect(),
            key: a.key,
            identifiers: a.identifiers,
        })
        .collect()
}

/// Every identifier of the plan, in order.
pub(crate) fn identifiers(plan: &Plan) -> Vec<String> {
    plan.names.iter().map(|n| n.name.clone()).collect()
}

/// The stored acme-dns account of a storage key.
pub(crate) fn account<'a>(opts: &'a WriteOptions, key: &str) -> Result<&'a Account, WriteError> {
    opts.secrets.accounts.get(key).ok_or_else(|| WriteError::Missing {
        what: format!("no acme-dns account is stored for {key}"),
        fix: format!(
            "run `acme-delegate plan --zone acme-dns --api URL {key}` to register it, then write again"
        ),
    })
}

/// The storage key of a planned name.
pub(crate) fn key_of(p: &PlannedName) -> String {
    crate::model::name::parse_input(&p.name)
        .map(|n| storage_key(&n))
        .unwrap_or_else(|_| p.name.trim_start_matches("*.").to_ascii_lowercase())
}

/// The TSIG key of an RFC 2136 plan.
pub(crate) fn tsig(opts: &WriteOptions) -> Result<&TsigKey, WriteError> {
    opts.secrets
        .tsig
        .as_ref()
        .ok_or_else(|| WriteError::Missing {
            what: "the TSIG key of the plan's RFC 2136 zone was not loaded".into(),
            fix: "check the plan's key_file (a BIND or knot key file this user can read)".into(),
        })
}

/// The TSIG secret in base64, as key files and clients take it.
pub(crate) fn tsig_secret_b64(key: &TsigKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key.secret.expose())
}

/// The RFC 2136 server of a plan as an address.
pub(crate) fn server_addr(server: &str) -> Result<SocketAddr, WriteError> {
    crate::model::config::parse_addr(server).ok_or_else(|| WriteError::Unrepresentable {
        what: format!("the plan's RFC 2136 server {server:?} is not an ip:port"),
        fix: "make a new plan with `--server IP:PORT` (clients such as certbot need an IP)".into(),
    })
}

/// One shell word, quoted when it needs to be.
pub(crate) fn sh_word(s: &str) -> Result<String, WriteError> {
    shlex::try_quote(s)
        .map(|c| c.into_owned())
        .map_err(|_| WriteError::Unrepresentable {
            what: "a value holds a NUL byte and cannot be given to a shell".into(),
            fix: "remove it from the plan or the options".into(),
        })
}

/// A command line, every word quoted for a POSIX shell.
pub(crate) fn sh_line<S: AsRef<str>>(words: &[S]) -> Result<String, WriteError> {
    let quoted: Result<Vec<String>, WriteError> =
        words.iter().map(|w| sh_word(w.as_ref())).collect();
    Ok(quoted?.join(" "))
}

/// An env file that a POSIX shell can source (`set -a; . FILE`), systemd's
/// `EnvironmentFile=` and dotenv parsers read: `KEY=value`, values quoted as the shell
/// needs. A newline in a value cannot be written.
pub(crate) fn env_file(header: &str, vars: &[(&str, String)]) -> Result<String, WriteError> {
    let mut s = String::new();
    for l in header.lines() {
        s.push_str("# ");
        s.push_str(l);
        s.push('\n');
    }
    for (k, v) in vars {
        if v.contains('\n') || v.contains('\r') {
            return Err(WriteError::Unrepresentable {
                what: format!("the value of {k} holds a line break"),
                fix: "an env file holds one line per variable; fix the value".into(),
            });
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&sh_word(v)?);
        s.push('\n');
    }
    Ok(s)
}

/// `set -a; . FILE; set +a; COMMAND`: run a command with an env file's variables.
pub(crate) fn with_env(env: &Path, command: &str) -> Result<String, WriteError> {
    Ok(format!(
        "set -a; . {}; set +a; {command}",
        sh_word(&env.to_string_lossy())?
    ))
}

/// A name without its trailing dot.
pub(crate) fn bare(n: &crate::dns::Name) -> String {
    n.without_dot().to_string()
}

/// A provider plan acme-delegate can configure with credentials: (provider, API URL,
/// API key), when the plan names the API and its key was loaded.
pub(crate) fn provider_api<'a>(
    plan: &'a Plan,
    opts: &'a WriteOptions,
) -> Option<(&'a str, &'a str, &'a str)> {
    match (&plan.zone, &opts.secrets.api_key) {
        (
            ZoneSpec::Provider {
                provider,
                api: Some(api),
                ..
            },
            Some(key),
        ) => Some((provider.as_str(), api.trim_end_matches('/'), key.expose())),
        _ => None,
    }
}

/// The acme-dns API of a plan.
pub(crate) fn acme_dns_api(plan: &Plan) -> Option<&str> {
    match &plan.zone {
        ZoneSpec::AcmeDns { api, .. } => Some(api.trim_end_matches('/')),
        _ => None,
    }
}

/// The goacmedns account map (lego `ACME_DNS_STORAGE_PATH`, caddy-dns/acmedns, acme-dns-
/// client): NAME -> {fulldomain, subdomain, username, password, server_url}.
pub(crate) fn goacmedns_json(
    plan: &Plan,
    opts: &WriteOptions,
) -> Result<(String, Vec<String>), WriteError> {
    #[derive(Serialize)]
    struct Go<'a> {
        fulldomain: &'a str,
        subdomain: &'a str,
        username: &'a str,
        password: &'a str,
        server_url: &'a str,
    }
    let api = acme_dns_api(plan).unwrap_or_default();
    let mut map = BTreeMap::new();
    let mut masks = Vec::new();
    for g in groups(plan) {
        let a = account(opts, &g.key)?;
        masks.push(a.password.expose().to_string());
        map.insert(
            g.key.clone(),
            Go {
                fulldomain: a.fulldomain.trim_end_matches('.'),
                subdomain: &a.subdomain,
                username: &a.username,
                password: a.password.expose(),
                server_url: a.server_url.as_deref().unwrap_or(api),
            },
        );
    }
    let json = serde_json::to_string_pretty(&map).map_err(|e| WriteError::Unrepresentable {
        what: format!("the account map does not serialise: {e}"),
        fix: "report this as a bug".into(),
    })?;
    Ok((json + "\n", masks))
}

#[cfg(test)]
pub(crate) mod testdata;
#[cfg(test)]
mod tests;

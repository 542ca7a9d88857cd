//! Issuing-client configs: where will the renewing client write the TXT record?
//!
//! [`parse_client_config`] reads one config file of lego, certbot, acme.sh, cert-manager,
//! Caddy or Traefik and returns one [`ClientWrite`] per solver / provider setup found in it.
//! [`rules`] turns those into findings. Pure functions; reading files is the only I/O.
//! Nothing here ever copies a secret value into a `ClientWrite`, an error or a finding.

mod caddy;
mod envfile;
mod ini;
mod kube;
pub mod rules;
mod yaml;

pub use rules::{applies_to, client_findings, unreadable_finding, where_it_writes};

use crate::dns::Name;
use envfile::{parse_env, Kv};
use ini::parse_ini;
use std::fmt;
use std::path::{Path, PathBuf};

/// The issuing client a config belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Lego,
    Certbot,
    AcmeSh,
    CertManager,
    Caddy,
    Traefik,
    CertMate,
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientKind::Lego => "lego",
            ClientKind::Certbot => "certbot",
            ClientKind::AcmeSh => "acme.sh",
            ClientKind::CertManager => "cert-manager",
            ClientKind::Caddy => "Caddy",
            ClientKind::Traefik => "Traefik",
            ClientKind::CertMate => "CertMate",
        })
    }
}

/// Does the client follow the `_acme-challenge` CNAME when it writes the TXT?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CnameFollow {
    Yes,
    No { why: String },
    Unknown { why: String },
}

/// A setting and where it came from. `file` is `None` when it is the config file itself
/// ([`ClientWrite::source`]); it names the other file (credentials INI, account.conf, env
/// file) otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub line: Option<usize>,
    pub file: Option<PathBuf>,
}

impl<T> Located<T> {
    /// `FILE:LINE` (or `FILE`), with `source` standing in for `file == None`.
    pub fn place(&self, source: &Path) -> String {
        let f = self.file.as_deref().unwrap_or(source).display();
        match self.line {
            Some(l) => format!("{f}:{l}"),
            None => f.to_string(),
        }
    }
}

fn loc<T>(value: T, line: usize, file: Option<&Path>) -> Located<T> {
    Located {
        value,
        line: Some(line),
        file: file.map(Path::to_path_buf),
    }
}

/// One solver / one provider setup found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientWrite {
    pub client: ClientKind,
    pub source: PathBuf,
    /// "rfc2136", "acme-dns", "manual-hook", or a provider code such as "cloudflare".
    pub method: String,
    pub follows_cname: CnameFollow,
    /// RFC 2136 server "ip:port", or the acme-dns API base URL.
    pub server: Option<Located<String>>,
    /// The zone the client will update, if the config pins one.
    pub zone: Option<Located<Name>>,
    /// The exact name the client writes the TXT at instead of `_acme-challenge.<name>`
    /// (acme.sh `--domain-alias X` -> X, `--challenge-alias X` -> `_acme-challenge.X`,
    /// Caddy `dns_challenge_override_domain X` -> X).
    pub alias: Option<Located<Name>>,
    /// Domains the config is for, when it says (exact identifiers).
    pub domains: Vec<String>,
    /// Zones the config is for (cert-manager `selector.dnsZones`): names in or below them.
    pub domain_zones: Vec<String>,
    /// Files holding secrets that the config references; the config itself when it holds a
    /// secret (TSIG secret, API token, acme-dns password).
    pub credential_files: Vec<PathBuf>,
    /// acme-dns accounts: (domain key, fulldomain), from a referenced storage file or inline.
    /// The key "" stands for a single account used for every name.
    pub acme_dns_accounts: Vec<(String, Name)>,
    /// acme-dns accounts known only by their subdomain (acme.sh `ACMEDNS_SUBDOMAIN`, Caddy's
    /// inline `subdomain`): (domain key, subdomain label). The fulldomain is
    /// `<subdomain>.<the server's domain>`, so the CNAME target must start with that label.
    pub acme_dns_subdomains: Vec<(String, Located<String>)>,
    /// The line that decides the CNAME handling, or where to add the setting that fixes it
    /// (`LEGO_DISABLE_CNAME_SUPPORT`, `dns01:`, `authenticator`, `Le_ChallengeAlias`, `tls`).
    pub cname_setting: Option<Located<String>>,
}

impl ClientWrite {
    fn new(client: ClientKind, source: &Path, method: &str, follows_cname: CnameFollow) -> Self {
        ClientWrite {
            client,
            source: source.to_path_buf(),
            method: method.to_string(),
            follows_cname,
            server: None,
            zone: None,
            alias: None,
            domains: vec![],
            domain_zones: vec![],
            credential_files: vec![],
            acme_dns_accounts: vec![],
            acme_dns_subdomains: vec![],
            cname_setting: None,
        }
    }

    fn add_credential_file(&mut self, p: PathBuf) {
        if !self.credential_files.contains(&p) {
            self.credential_files.push(p);
        }
    }
}

/// A config that could not be read or understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ClientConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file.display(), l, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ClientConfigError {}

fn cfg_err(file: &Path, line: Option<usize>, message: impl Into<String>) -> ClientConfigError {
    ClientConfigError {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

const MAX_CONFIG_BYTES: u64 = crate::model::files::MAX_INPUT_BYTES;

/// Reads a text config: not a directory, not binary, valid UTF-8, not empty.
fn read_text(path: &Path) -> Result<String, ClientConfigError> {
    let md =
        std::fs::metadata(path).map_err(|e| cfg_err(path, None, format!("cannot read: {e}")))?;
    if md.is_dir() {
        return Err(cfg_err(
            path,
            None,
            "is a directory, not a client config file",
        ));
    }
    if md.len() > MAX_CONFIG_BYTES {
        return Err(cfg_err(
            path,
            None,
            "too large for a client config (over 1 MiB)",
        ));
    }
    let bytes = crate::model::files::read_limited(path)
        .map_err(|e| cfg_err(path, None, format!("cannot read: {e}")))?;
    let line_of = |off: usize| bytes[..off].iter().filter(|b| **b == b'\n').count() + 1;
    if let Some(off) = bytes.iter().position(|b| *b == 0) {
        return Err(cfg_err(
            path,
            Some(line_of(off)),
            "binary data (NUL byte): not a text config",
        ));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            return Err(cfg_err(
                path,
                Some(line_of(e.valid_up_to())),
                "not UTF-8 text: not a client config",
            ))
        }
    };
    if text.trim().is_empty() {
        return Err(cfg_err(path, None, "empty file"));
    }
    Ok(text.trim_start_matches('\u{feff}').to_string())
}

/// Resolves a path named in a config relative to that config's folder.
fn resolve(config: &Path, p: &str) -> PathBuf {
    let p = Path::new(p.trim());
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// The file formats the readers know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientFormat {
    /// lego's environment file (`KEY=value`, `export` allowed).
    LegoEnv,
    /// certbot's renewal conf (INI).
    Certbot,
    /// acme.sh's domain conf (`Le_Domain=...`).
    AcmeSh,
    /// Kubernetes YAML (cert-manager Issuer/ClusterIssuer) or Traefik's YAML static config.
    Yaml,
    /// A Caddyfile.
    Caddyfile,
    /// Traefik's TOML static config.
    TraefikToml,
    /// A CertMate API request (`/api/certificates/create` body), as `write --client
    /// certmate` writes it.
    CertMate,
}

impl ClientFormat {
    pub const ALL: [ClientFormat; 7] = [
        ClientFormat::LegoEnv,
        ClientFormat::Certbot,
        ClientFormat::AcmeSh,
        ClientFormat::Yaml,
        ClientFormat::Caddyfile,
        ClientFormat::TraefikToml,
        ClientFormat::CertMate,
    ];
}

/// Parses `text` as `format`, whatever its name says; `path` is named in errors, and files
/// it refers to (credentials, account stores, `account.conf`, `traefik.env`) are looked
/// for relative to it. Never panics.
pub fn parse_client_text(
    format: ClientFormat,
    path: &Path,
    text: &str,
) -> Result<Vec<ClientWrite>, ClientConfigError> {
    match format {
        ClientFormat::LegoEnv => parse_lego_env(path, text),
        ClientFormat::Certbot => parse_certbot(path, text),
        ClientFormat::AcmeSh => parse_acmesh(path, text),
        ClientFormat::Yaml => kube::parse_yaml(path, text),
        ClientFormat::Caddyfile => caddy::parse(path, text),
        ClientFormat::TraefikToml => kube::parse_traefik_toml(path, text),
        ClientFormat::CertMate => parse_certmate(path, text),
    }
}

/// Parses one client config file. Never panics.
pub fn parse_client_config(path: &Path) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let text = read_text(path)?;
    let fname = path
        .file_name()
        .map(|f| f.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let has_line = |pred: &dyn Fn(&str) -> bool| text.lines().any(|l| pred(l.trim()));

    if fname.starts_with("caddyfile") || ext == "caddyfile" {
        return caddy::parse(path, &text);
    }
    if ext == "toml" {
        return kube::parse_traefik_toml(path, &text);
    }
    if ext == "json" {
        return parse_certmate(path, &text);
    }
    if ext == "yml" || ext == "yaml" || has_line(&|l| l.starts_with("apiVersion:")) {
        return kube::parse_yaml(path, &text);
    }
    if has_line(&|l| {
        l == "[renewalparams]" || (l.starts_with("manual-auth-hook") && l.contains("certbot-auth"))
    }) {
        return parse_certbot(path, &text);
    }
    if has_line(&|l| {
        l.starts_with("Le_Domain=")
            || l.strip_prefix("export ")
                .unwrap_or(l)
                .trim_start()
                .starts_with(ACMESH_DOMAINS)
    }) {
        return parse_acmesh(path, &text);
    }
    if has_line(&|l| {
        let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
        LEGO_PREFIXES.iter().any(|p| l.starts_with(p))
    }) {
        return parse_lego_env(path, &text);
    }
    if has_line(&|l| l.to_ascii_lowercase().starts_with("certificatesresolvers")) {
        return kube::parse_traefik_toml(path, &text);
    }
    if has_line(&|l| l.starts_with("tls") && l.ends_with('{')) {
        return caddy::parse(path, &text);
    }
    Err(cfg_err(
        path,
        None,
        "not a recognised client config (lego env file, certbot renewal conf, acme.sh domain \
         conf, cert-manager Issuer, Caddyfile or Traefik static config)",
    ))
}

// ---------------------------------------------------------------------------------------
// KEY=VALUE files (lego env files, acme.sh confs)

fn kv_get<'a>(kvs: &'a [Kv], key: &str) -> Option<&'a Kv> {
    kvs.iter()
        .rev()
        .find(|k| k.key == key && !k.value.is_empty())
}

fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

// ---------------------------------------------------------------------------------------
// lego (and Traefik, which embeds lego)

const LEGO_PREFIXES: &[&str] = &[
    "LEGO_",
    "RFC2136_",
    "DNSUPDATE_",
    "ACME_DNS_",
    "CF_DNS_API_TOKEN",
    "CLOUDFLARE_DNS_API_TOKEN",
    "PDNS_API_",
];

/// Variable names whose value is a secret (checked by name; values are never copied).
fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_uppercase();
    (k.ends_with("_SECRET")
        || k.ends_with("_TOKEN")
        || k.ends_with("_PASSWORD")
        || k.ends_with("_API_KEY"))
        && !k.ends_with("_FILE")
}

/// Normalises a lego provider code ("dnsupdate" is v5's "rfc2136", "acmedns" v5's "acme-dns").
fn lego_method(code: &str) -> String {
    match code.trim().to_ascii_lowercase().as_str() {
        "rfc2136" | "dnsupdate" => "rfc2136".into(),
        "acme-dns" | "acmedns" => "acme-dns".into(),
        o => o.to_string(),
    }
}

/// Reads a goacmedns / joohoi account store: `{ "<domain>": {"fulldomain": …}, … }`, or one
/// account object (key ""). Unreadable or malformed -> empty.
fn read_acme_dns_storage(path: &Path) -> Vec<(String, Name)> {
    read_side_file(path)
        .map(|text| acme_dns_accounts_from_json(&text))
        .unwrap_or_default()
}

/// A file a config refers to (credentials, account store, `account.conf`, `traefik.env`):
/// only a regular file of at most 4 MiB is read, so that a config naming `/dev/zero` or a
/// FIFO cannot hang or exhaust the checker. Unreadable -> `None`.
pub(crate) fn read_side_file(path: &Path) -> Option<String> {
    let md = std::fs::metadata(path).ok()?;
    if !md.is_file() || md.len() > MAX_CONFIG_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The (subdomain, fulldomain) of the account with `username` in a stored accounts file:
/// `acme-dns-accounts.json` beside the config, else in acme-delegate's data dir (where
/// `plan --zone acme-dns` stores its registrations).
fn stored_account_of(config: &Path, username: &str) -> Option<(String, Name)> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let mut files = vec![dir.join(crate::zones::acme_dns::ACCOUNTS_FILE)];
    if let Ok(d) = crate::zones::acme_dns::default_store_dir() {
        files.push(d.join(crate::zones::acme_dns::ACCOUNTS_FILE));
    }
    files.iter().find_map(|f| {
        let v: serde_json::Value = serde_json::from_str(&read_side_file(f)?).ok()?;
        v.as_object()?.values().find_map(|a| {
            if a.get("username")?.as_str()? != username {
                return None;
            }
            Some((
                a.get("subdomain")?.as_str()?.to_string(),
                Name::from_ascii(a.get("fulldomain")?.as_str()?),
            ))
        })
    })
}

fn acme_dns_accounts_from_json(text: &str) -> Vec<(String, Name)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return vec![];
    };
    if let Some(fd) = map.get("fulldomain").and_then(|v| v.as_str()) {
        return vec![(String::new(), Name::from_ascii(fd))];
    }
    map.iter()
        .filter_map(|(k, v)| {
            let fd = v.get("fulldomain")?.as_str()?;
            Some((
                k.trim_end_matches('.').to_ascii_lowercase(),
                Name::from_ascii(fd),
            ))
        })
        .collect()
}

/// Builds lego-style writes from environment settings. `provider` is the configured provider
/// (Traefik); without it the method is inferred from the variables present.
fn lego_writes(
    client: ClientKind,
    source: &Path,
    env: &[Kv],
    env_file: Option<&Path>,
    provider: Option<Located<String>>,
) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let get = |k: &str| kv_get(env, k);
    let file_is_source = env_file.is_none_or(|f| f == source);
    let ef = if file_is_source { None } else { env_file };
    let env_path = env_file.unwrap_or(source);

    let methods: Vec<String> = match &provider {
        Some(p) => vec![lego_method(&p.value)],
        None => {
            let mut m = Vec::new();
            if env
                .iter()
                .any(|k| k.key.starts_with("RFC2136_") || k.key.starts_with("DNSUPDATE_"))
            {
                m.push("rfc2136".to_string());
            }
            if env.iter().any(|k| k.key.starts_with("ACME_DNS_")) {
                m.push("acme-dns".to_string());
            }
            if env
                .iter()
                .any(|k| k.key.starts_with("CF_") || k.key.starts_with("CLOUDFLARE_"))
            {
                m.push("cloudflare".to_string());
            }
            if env.iter().any(|k| k.key.starts_with("PDNS_")) {
                m.push("pdns".to_string());
            }
            if m.is_empty() {
                return Err(cfg_err(
                    source,
                    None,
                    "no lego DNS provider settings found (RFC2136_*, DNSUPDATE_*, ACME_DNS_*, CF_*, PDNS_*)",
                ));
            }
            m
        }
    };

    let (follows, cname_setting) = match get("LEGO_DISABLE_CNAME_SUPPORT") {
        Some(kv) if is_true(&kv.value) => (
            CnameFollow::No {
                why: format!(
                    "LEGO_DISABLE_CNAME_SUPPORT={} at {}:{} turns off lego's CNAME following",
                    kv.value,
                    env_path.display(),
                    kv.line
                ),
            },
            Some(loc(
                format!("LEGO_DISABLE_CNAME_SUPPORT={}", kv.value),
                kv.line,
                ef,
            )),
        ),
        Some(kv) => (
            CnameFollow::Yes,
            Some(loc(
                format!("LEGO_DISABLE_CNAME_SUPPORT={}", kv.value),
                kv.line,
                ef,
            )),
        ),
        None => (CnameFollow::Yes, None),
    };

    let domains: Vec<String> = get("LEGO_DOMAINS")
        .map(|kv| {
            kv.value
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();

    let mut out = Vec::new();
    for method in methods {
        let mut w = ClientWrite::new(client, source, &method, follows.clone());
        w.cname_setting = cname_setting.clone();
        w.domains = domains.clone();
        let pick = |names: &[&str]| names.iter().find_map(|n| get(n));
        match method.as_str() {
            "rfc2136" => {
                if let Some(kv) = pick(&["DNSUPDATE_NAMESERVER", "RFC2136_NAMESERVER"]) {
                    w.server = Some(loc(kv.value.clone(), kv.line, ef));
                }
                if let Some(kv) = get("DNSUPDATE_ZONES") {
                    if let Some(z) = kv.value.split(',').map(str::trim).find(|z| !z.is_empty()) {
                        w.zone = Some(loc(Name::from_ascii(z), kv.line, ef));
                    }
                }
            }
            "pdns" => {
                if let Some(kv) = get("PDNS_API_URL") {
                    w.server = Some(loc(kv.value.clone(), kv.line, ef));
                }
            }
            "acme-dns" => {
                if let Some(kv) = get("ACME_DNS_API_BASE") {
                    w.server = Some(loc(kv.value.clone(), kv.line, ef));
                }
                if let Some(kv) = get("ACME_DNS_STORAGE_PATH") {
                    let p = resolve(env_path, &kv.value);
                    w.acme_dns_accounts = read_acme_dns_storage(&p);
                }
            }
            _ => {}
        }
        for kv in env {
            if kv.value.is_empty() {
                continue;
            }
            if kv.key.ends_with("_FILE") || kv.key == "ACME_DNS_STORAGE_PATH" {
                w.add_credential_file(resolve(env_path, &kv.value));
            } else if is_secret_key(&kv.key) {
                w.add_credential_file(env_path.to_path_buf());
            }
        }
        if let Some(p) = &provider {
            w.cname_setting = w.cname_setting.or_else(|| Some(p.clone()));
        }
        out.push(w);
    }
    Ok(out)
}

fn parse_lego_env(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let env = parse_env(path, text)?;
    lego_writes(ClientKind::Lego, path, &env, None, None)
}

// ---------------------------------------------------------------------------------------
// certbot renewal conf (configobj INI)

fn parse_certbot(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let ini = parse_ini(path, text)?;
    // A renewal conf keeps the options in [renewalparams] with underscores; a `certbot -c`
    // cli.ini has them outside any section, with dashes.
    let get = |key: &str| {
        ini.iter()
            .rev()
            .find(|(s, k, _, _)| {
                (s == "renewalparams" && k == key) || (s.is_empty() && k.replace('-', "_") == key)
            })
            .map(|(_, _, v, l)| (v.clone(), *l))
    };
    let Some((auth, auth_line)) = get("authenticator") else {
        return Err(cfg_err(
            path,
            None,
            "[renewalparams] has no `authenticator` line",
        ));
    };
    let setting = Some(loc(format!("authenticator = {auth}"), auth_line, None));
    if auth == "manual" {
        let (hook, hook_line) = get("manual_auth_hook").unwrap_or_default();
        let method = if hook.contains("acme-dns") || hook.contains("acmedns") {
            "acme-dns"
        } else {
            "manual-hook"
        };
        let why = if hook.is_empty() {
            "certbot's manual authenticator without a stored manual_auth_hook: someone creates the TXT by hand".to_string()
        } else {
            format!(
                "the manual_auth_hook at {}:{} decides where the TXT goes",
                path.display(),
                hook_line
            )
        };
        if let Some(ws) = acme_delegate_hook(path, &hook, hook_line, &setting) {
            return Ok(ws);
        }
        let mut w = ClientWrite::new(
            ClientKind::Certbot,
            path,
            method,
            CnameFollow::Unknown { why },
        );
        w.cname_setting = setting;
        return Ok(vec![w]);
    }
    let Some(plugin) = auth.strip_prefix("dns-") else {
        // webroot, standalone, nginx, apache: not DNS-01, nothing is written to the DNS.
        return Ok(vec![]);
    };
    let why = format!(
        "certbot's dns-{plugin} plugin always updates _acme-challenge.<name> in the zone it finds \
         by asking for the SOA of that name; it never reads the CNAME"
    );
    let mut w = ClientWrite::new(ClientKind::Certbot, path, plugin, CnameFollow::No { why });
    w.cname_setting = setting;
    let cred_key = format!("dns_{}_credentials", plugin.replace('-', "_"));
    if let Some((cred, _)) = get(&cred_key) {
        let cred_path = resolve(path, &cred);
        w.add_credential_file(cred_path.clone());
        if plugin == "rfc2136" {
            // Unreadable (e.g. root-only 0600) is normal for a non-root checker: skip it.
            if let Some(t) = read_side_file(&cred_path) {
                if let Ok(kvs) = parse_ini(&cred_path, &t) {
                    let find = |k: &str| kvs.iter().find(|(_, kk, _, _)| kk == k);
                    if let Some((_, _, server, line)) = find("dns_rfc2136_server") {
                        let port = find("dns_rfc2136_port")
                            .map(|x| x.2.clone())
                            .unwrap_or_else(|| "53".into());
                        let hp = if server.contains(':') {
                            format!("[{server}]:{port}")
                        } else {
                            format!("{server}:{port}")
                        };
                        w.server = Some(loc(hp, *line, Some(&cred_path)));
                    }
                }
            }
        }
    }
    Ok(vec![w])
}

/// certbot's manual auth hook when it is `acme-delegate [--plan P] hook certbot-auth`: the
/// hook writes each name's TXT where the plan says (the account for acme-dns, the target
/// otherwise), so the plan it names is read: one write per planned name. `None` for
/// another hook, or a plan that cannot be read (then the hook decides, unknown here).
fn acme_delegate_hook(
    path: &Path,
    hook: &str,
    hook_line: usize,
    setting: &Option<Located<String>>,
) -> Option<Vec<ClientWrite>> {
    let words = shlex::split(hook)?;
    let at = words.iter().position(|w| w == "hook")?;
    if words.get(at + 1).map(String::as_str) != Some("certbot-auth")
        || !words.first()?.contains("acme-delegate")
    {
        return None;
    }
    let plan_path = match words.iter().position(|w| w == "--plan") {
        Some(i) => resolve(path, words.get(i + 1)?),
        None => crate::model::plan::Plan::default_path()?,
    };
    let plan =
        crate::model::plan::Plan::from_toml(&read_side_file(&plan_path)?, &plan_path).ok()?;
    let acme_dns = matches!(plan.zone, crate::model::plan::ZoneSpec::AcmeDns { .. });
    let method = if acme_dns {
        "acme-dns"
    } else {
        plan.zone.kind()
    };
    let why = format!(
        "the manual_auth_hook at {}:{hook_line} is acme-delegate's: it writes the TXT for each name where the plan {} says",
        path.display(),
        plan_path.display()
    );
    Some(
        plan.names
            .iter()
            .map(|p| {
                let mut w = ClientWrite::new(
                    ClientKind::Certbot,
                    path,
                    method,
                    CnameFollow::No { why: why.clone() },
                );
                w.cname_setting = setting.clone();
                let key = p.name.trim_start_matches("*.").to_ascii_lowercase();
                w.domains = vec![p.name.to_ascii_lowercase()];
                if acme_dns {
                    w.acme_dns_accounts = vec![(key, p.target.clone())];
                } else {
                    w.alias = Some(loc(p.target.clone(), hook_line, None));
                }
                w
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// CertMate (API request bodies)

/// A CertMate `/api/certificates/create` body: `domain`, `dns_provider`, `account_id`,
/// `domain_alias`. CertMate uses alias mode: with acme-dns the alias is the account's
/// subdomain (its hook posts that label); otherwise the TXT goes to
/// `_acme-challenge.<domain_alias>`. The account body (`account_id` + `config`) beside it
/// gives the acme-dns API.
fn parse_certmate(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        cfg_err(
            path,
            Some(e.line()),
            format!("not JSON ({:?} error)", e.classify()),
        )
    })?;
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.contains(&format!("\"{key}\"")))
            .map_or(1, |i| i + 1)
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    if v.get("config").is_some() && v.get("account_id").is_some() {
        return Err(cfg_err(
            path,
            None,
            "a CertMate account body (account_id + config): give the certificate request \
             (certmate-create-*.json), which names the domain",
        ));
    }
    let (Some(domain), Some(provider)) = (s("domain"), s("dns_provider")) else {
        return Err(cfg_err(
            path,
            None,
            "not a CertMate certificate request (no `domain` and `dns_provider`)",
        ));
    };
    let method = lego_method(&provider);
    let mut w = ClientWrite::new(
        ClientKind::CertMate,
        path,
        &method,
        CnameFollow::No {
            why: "CertMate never follows the _acme-challenge CNAME: it writes at \
                  _acme-challenge.<domain_alias>, or at _acme-challenge.<domain> without one"
                .into(),
        },
    );
    w.domains = vec![domain.to_ascii_lowercase()];
    w.cname_setting = Some(loc("domain_alias".to_string(), line_of("domain"), None));
    let alias = s("domain_alias").filter(|a| !a.is_empty());
    if method == "acme-dns" {
        if let Some(a) = &alias {
            w.acme_dns_subdomains
                .push((String::new(), loc(a.clone(), line_of("domain_alias"), None)));
        }
        // The account body beside it: the API and the credentials file.
        if let (Some(id), Some(dir)) = (s("account_id"), path.parent()) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return Ok(vec![w]);
            };
            for p in rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p != path)
                .take(256)
            {
                let Some(t) = read_side_file(&p) else {
                    continue;
                };
                let Ok(a) = serde_json::from_str::<serde_json::Value>(&t) else {
                    continue;
                };
                if a.get("account_id").and_then(|x| x.as_str()) == Some(id.as_str()) {
                    if let Some(u) = a.pointer("/config/api_url").and_then(|x| x.as_str()) {
                        let l = t
                            .lines()
                            .position(|l| l.contains("\"api_url\""))
                            .map_or(1, |i| i + 1);
                        w.server = Some(loc(u.to_string(), l, Some(&p)));
                    }
                    w.add_credential_file(p);
                    break;
                }
            }
        }
    } else if let Some(a) = &alias {
        w.alias = Some(loc(
            Name::from_ascii(a).prepend(crate::model::name::CHALLENGE_LABEL),
            line_of("domain_alias"),
            None,
        ));
    }
    Ok(vec![w])
}

// ---------------------------------------------------------------------------------------
// acme.sh domain conf (and account.conf)

/// The variables of the env files `write --client acme.sh` writes (see
/// `clients::write::acmesh`): the names, the dnsapi hook and the aliases of the command,
/// as acme.sh stores them in `Le_Domain`/`Le_Alt`, `Le_Webroot` and `Le_ChallengeAlias`.
const ACMESH_DOMAINS: &str = "ACME_DELEGATE_DOMAINS";
const ACMESH_DNS: &str = "ACME_DELEGATE_DNS";
const ACMESH_ALIASES: &str = "ACME_DELEGATE_ALIASES";

/// An acme-delegate acme.sh env file in domain-conf terms: `Le_*` entries made from the
/// `ACME_DELEGATE_*` ones (same lines), added when the file has no `Le_Domain`.
fn acmesh_env_as_conf(conf: &mut Vec<Kv>) {
    if kv_get(conf, "Le_Domain").is_some() {
        return;
    }
    let Some(d) = kv_get(conf, ACMESH_DOMAINS).cloned() else {
        return;
    };
    let mut names = d.value.split(',').map(str::trim).filter(|s| !s.is_empty());
    let kv = |key: &str, value: String, line: usize| Kv {
        key: key.into(),
        value,
        line,
    };
    let mut add = vec![kv("Le_Domain", names.next().unwrap_or("").into(), d.line)];
    let alt: Vec<&str> = names.collect();
    if !alt.is_empty() {
        add.push(kv("Le_Alt", alt.join(","), d.line));
    }
    if let Some(h) = kv_get(conf, ACMESH_DNS) {
        add.push(kv("Le_Webroot", h.value.clone(), h.line));
    }
    if let Some(a) = kv_get(conf, ACMESH_ALIASES) {
        add.push(kv("Le_ChallengeAlias", a.value.clone(), a.line));
    }
    conf.extend(add);
}

fn parse_acmesh(path: &Path, text: &str) -> Result<Vec<ClientWrite>, ClientConfigError> {
    let mut conf = parse_env(path, text)?;
    acmesh_env_as_conf(&mut conf);
    let Some(main) = kv_get(&conf, "Le_Domain") else {
        return Err(cfg_err(path, None, "Le_Domain is empty"));
    };
    let mut domains = vec![(main.value.clone(), main.line)];
    if let Some(alt) = kv_get(&conf, "Le_Alt") {
        for d in alt.value.split(',').map(str::trim) {
            if !d.is_empty() && d != "no" {
                domains.push((d.to_string(), alt.line));
            }
        }
    }
    let list = |k: &str| -> (Vec<String>, Option<usize>) {
        match kv_get(&conf, k) {
            Some(kv) => {
                let mut v: Vec<String> =
                    kv.value.split(',').map(|s| s.trim().to_string()).collect();
                while v.last().is_some_and(|s| s.is_empty()) {
                    v.pop();
                }
                (v, Some(kv.line))
            }
            None => (vec![], None),
        }
    };
    let (webroots, _) = list("Le_Webroot");
    let (aliases, alias_line) = list("Le_ChallengeAlias");
    let positional = |v: &[String], i: usize| v.get(i).or(v.last()).cloned();

    // nsupdate settings live in account.conf (SAVED_NSUPDATE_*); look beside and above.
    let mut acct: Vec<(Kv, Option<PathBuf>)> = conf.iter().map(|k| (k.clone(), None)).collect();
    let dir = path.parent().unwrap_or(Path::new("."));
    for cand in [
        dir.join("account.conf"),
        dir.join("..").join("account.conf"),
    ] {
        if cand.as_path() == path {
            continue;
        }
        if let Some(t) = read_side_file(&cand) {
            if let Ok(kvs) = parse_env(&cand, &t) {
                acct.extend(kvs.into_iter().map(|k| (k, Some(cand.clone()))));
                break;
            }
        }
    }
    let setting = |name: &str| {
        acct.iter().rev().find(|(k, _)| {
            (k.key == name || k.key == format!("SAVED_{name}")) && !k.value.is_empty()
        })
    };

    let mut out = Vec::new();
    for (i, (domain, dline)) in domains.iter().enumerate() {
        let Some(hook) = positional(&webroots, i) else {
            continue;
        };
        if !hook.starts_with("dns") {
            continue; // webroot / standalone: not DNS-01
        }
        let method = match hook.as_str() {
            "dns" => "manual".to_string(),
            "dns_nsupdate" => "rfc2136".to_string(),
            "dns_acmedns" => "acme-dns".to_string(),
            "dns_cf" => "cloudflare".to_string(),
            o => o.trim_start_matches("dns_").to_string(),
        };
        let follows = CnameFollow::No {
            why: "acme.sh never follows the _acme-challenge CNAME; it writes at _acme-challenge.<name> \
                  unless --domain-alias / --challenge-alias is set"
                .to_string(),
        };
        let mut w = ClientWrite::new(ClientKind::AcmeSh, path, &method, follows);
        w.domains = vec![domain.trim_start_matches("*.").to_ascii_lowercase()];
        if domain.starts_with("*.") {
            w.domains.push(domain.to_ascii_lowercase());
        }
        let aline = alias_line.unwrap_or(*dline);
        w.cname_setting = Some(loc(
            if alias_line.is_some() {
                "Le_ChallengeAlias"
            } else {
                "Le_Domain"
            }
            .to_string(),
            if alias_line.is_some() {
                aline
            } else {
                main.line
            },
            None,
        ));
        if let Some(a) = positional(&aliases, i) {
            if !a.is_empty() && a != "no" {
                let target = match a.strip_prefix('=') {
                    Some(exact) => Name::from_ascii(exact),
                    None => Name::from_ascii(&a).prepend(crate::model::name::CHALLENGE_LABEL),
                };
                w.alias = Some(loc(target, aline, None));
            }
        }
        match method.as_str() {
            "rfc2136" => {
                if let Some((kv, f)) = setting("NSUPDATE_SERVER") {
                    let port = setting("NSUPDATE_SERVER_PORT")
                        .map(|(k, _)| k.value.clone())
                        .unwrap_or_else(|| "53".into());
                    let first = kv.value.split(',').next().unwrap_or("").trim();
                    w.server = Some(loc(format!("{first}:{port}"), kv.line, f.as_deref()));
                }
                if let Some((kv, f)) = setting("NSUPDATE_ZONE") {
                    w.zone = Some(loc(Name::from_ascii(&kv.value), kv.line, f.as_deref()));
                }
                if let Some((kv, f)) = setting("NSUPDATE_KEY") {
                    w.add_credential_file(resolve(f.as_deref().unwrap_or(path), &kv.value));
                }
            }
            "pdns" => {
                if let Some((kv, f)) = setting("PDNS_Url") {
                    w.server = Some(loc(kv.value.clone(), kv.line, f.as_deref()));
                }
            }
            "acme-dns" => {
                if let Some((kv, f)) = setting("ACMEDNS_BASE_URL") {
                    w.server = Some(loc(kv.value.clone(), kv.line, f.as_deref()));
                }
                // One account per certificate: the subdomain acme.sh posts for every name.
                let sub = setting("ACMEDNS_SUBDOMAIN").map(|(kv, _)| kv.value.clone());
                if let Some((kv, f)) = setting("ACMEDNS_SUBDOMAIN") {
                    w.acme_dns_subdomains
                        .push((String::new(), loc(kv.value.clone(), kv.line, f.as_deref())));
                }
                // The username's registration in a stored accounts file gives the whole
                // fulldomain (when it is the same account as the subdomain's).
                if let Some((kv, _)) = setting("ACMEDNS_USERNAME") {
                    if let Some((s, fd)) = stored_account_of(path, &kv.value) {
                        if sub.as_deref().is_none_or(|x| x == s) {
                            w.acme_dns_accounts.push((String::new(), fd));
                        }
                    }
                }
            }
            _ => {}
        }
        for (kv, f) in &acct {
            if !kv.value.is_empty() && is_secret_key(&kv.key) {
                w.add_credential_file(f.clone().unwrap_or_else(|| path.to_path_buf()));
            }
        }
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

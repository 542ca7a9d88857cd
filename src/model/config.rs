//! The TOML configuration: root hints, resolvers (vantage points), the system resolver,
//! timeouts. Errors name the file, the line and the key, and say how to fix it.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "ACME_DELEGATE_CONFIG";
const ROOT_HINTS: &str = include_str!("../../assets/named.root");
/// The built-in defaults, in the config file's own format (docs/config.md says so).
const DEFAULT_CONFIG: &str = include_str!("../../assets/default-config.toml");
const DEFAULT_CONFIG_PATH: &str = "assets/default-config.toml";

/// The user's folders for acme-delegate (config: config and plan; data: keys, acme-dns
/// accounts). `None` without a home directory. The one place that names them.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "acme-delegate")
}

/// A vantage point: a recursive resolver asked with RD set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolver {
    pub name: String,
    pub address: SocketAddr,
    /// The resolver the CA itself uses (`ca = true`, for a private CA): a negative
    /// cache, a failure or a wrong answer there is an error, not a warning.
    pub ca: bool,
}

/// The effective configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the file came from (None: built-in defaults).
    pub source: Option<PathBuf>,
    pub roots: Vec<SocketAddr>,
    pub timeout: Duration,
    pub attempts: u32,
    pub max_inflight: usize,
    /// From the start of one round of the live poll (`check --wait`) to the next.
    pub poll_interval: Duration,
    /// Queries started per second toward one server (0: no cap).
    pub max_qps_per_server: u32,
    pub resolvers: Vec<Resolver>,
    /// The "inside" view: the system resolvers (empty: not asked).
    pub system: Vec<SocketAddr>,
}

/// A configuration problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ", key `{k}`")?;
        }
        write!(f, ": {}. Fix: {}", self.message, self.fix)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    roots: Option<Vec<Spanned<String>>>,
    timeout_ms: Option<Spanned<u64>>,
    attempts: Option<Spanned<u32>>,
    max_inflight: Option<Spanned<usize>>,
    poll_interval_ms: Option<Spanned<u64>>,
    max_qps_per_server: Option<Spanned<u32>>,
    resolvers: Option<Vec<RawResolver>>,
    system: Option<RawSystem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResolver {
    name: Spanned<String>,
    address: Spanned<String>,
    ca: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    enabled: Option<bool>,
    resolv_conf: Option<Spanned<String>>,
    servers: Option<Vec<Spanned<String>>>,
}

impl Config {
    /// Built-in defaults: `assets/default-config.toml`, compiled in and read like a user
    /// file (Cloudflare, Google and Quad9, /etc/resolv.conf), over the IANA roots of
    /// `assets/named.root`.
    pub fn defaults() -> Config {
        let roots_only = Config {
            source: None,
            roots: parse_root_hints(ROOT_HINTS),
            timeout: Duration::ZERO,
            attempts: 0,
            max_inflight: 0,
            poll_interval: Duration::ZERO,
            max_qps_per_server: 0,
            resolvers: Vec::new(),
            system: Vec::new(),
        };
        // The asset is checked by a unit test; should it ever fail, the roots still stand.
        let path = Path::new(DEFAULT_CONFIG_PATH);
        match Config::over(roots_only.clone(), DEFAULT_CONFIG, path, false) {
            Ok(cfg) => Config {
                source: None,
                ..cfg
            },
            Err(_) => roots_only,
        }
    }

    /// The user config file (`<config dir>/acme-delegate/config.toml`).
    pub fn user_path() -> Option<PathBuf> {
        project_dirs().map(|d| d.config_dir().join("config.toml"))
    }

    /// `--config`, else `$ACME_DELEGATE_CONFIG`, else the user config file if it exists,
    /// else built-in defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::from_file(p);
        }
        if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
            return Config::from_file(Path::new(&p));
        }
        if let Some(p) = Config::user_path().filter(|p| p.exists()) {
            return Config::from_file(&p);
        }
        Ok(Config::defaults())
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::model::files::read_text_limited(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read it ({e})"),
            fix: "check the path given to --config or ACME_DELEGATE_CONFIG".into(),
        })?;
        Config::from_toml(&text, path)
    }

    /// A config file's settings over the built-in defaults.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::over(Config::defaults(), text, path, true)
    }

    /// `text`'s settings over `base`. `user`: a file the user wrote, whose `resolv_conf`
    /// must exist (the built-in defaults do without one when the machine has none).
    fn over(base: Config, text: &str, path: &Path, user: bool) -> Result<Config, ConfigError> {
        let located =
            |span: Option<Range<usize>>, key: Option<String>, message: String, fix: &str| {
                let line = span.map(|s| line_of(text, s.start));
                let key = key.or_else(|| line.and_then(|l| key_on_line(text, l)));
                ConfigError {
                    file: path.to_path_buf(),
                    line,
                    key,
                    message,
                    fix: fix.to_string(),
                }
            };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_string();
            let fix = if msg.contains("unknown field") {
                "remove or rename the key; known keys: roots, timeout_ms, attempts, max_inflight, poll_interval_ms, max_qps_per_server, [[resolvers]] name/address/ca, [system] enabled/resolv_conf/servers"
            } else {
                "see docs/config.md for the expected type of each key"
            };
            located(e.span(), None, msg, fix)
        })?;
        let mut cfg = base;
        cfg.source = Some(path.to_path_buf());
        let addr = |s: &Spanned<String>, key: &str| -> Result<SocketAddr, ConfigError> {
            parse_addr_checked(s.get_ref()).map_err(|e| {
                located(
                    Some(s.span()),
                    Some(key.to_string()),
                    format!("{:?} {}", s.get_ref(), e.problem()),
                    e.fix(),
                )
            })
        };
        if let Some(roots) = &raw.roots {
            if roots.is_empty() {
                return Err(located(
                    None,
                    Some("roots".into()),
                    "the list is empty".into(),
                    "give at least one root server, or remove the key to use the IANA roots",
                ));
            }
            cfg.roots = roots
                .iter()
                .map(|r| addr(r, "roots"))
                .collect::<Result<_, _>>()?;
        }
        if let Some(t) = &raw.timeout_ms {
            if !(1..=60_000).contains(t.get_ref()) {
                return Err(located(
                    Some(t.span()),
                    Some("timeout_ms".into()),
                    format!("{} is out of range", t.get_ref()),
                    "use a value from 1 to 60000 milliseconds",
                ));
            }
            cfg.timeout = Duration::from_millis(*t.get_ref());
        }
        if let Some(a) = &raw.attempts {
            if !(1..=5).contains(a.get_ref()) {
                return Err(located(
                    Some(a.span()),
                    Some("attempts".into()),
                    format!("{} is out of range", a.get_ref()),
                    "use 1 to 5",
                ));
            }
            cfg.attempts = *a.get_ref();
        }
        if let Some(m) = &raw.max_inflight {
            if !(1..=10_000).contains(m.get_ref()) {
                return Err(located(
                    Some(m.span()),
                    Some("max_inflight".into()),
                    format!("{} is out of range", m.get_ref()),
                    "use 1 to 10000",
                ));
            }
            cfg.max_inflight = *m.get_ref();
        }
        if let Some(p) = &raw.poll_interval_ms {
            if !(50..=600_000).contains(p.get_ref()) {
                return Err(located(
                    Some(p.span()),
                    Some("poll_interval_ms".into()),
                    format!("{} is out of range", p.get_ref()),
                    "use 50 to 600000 milliseconds",
                ));
            }
            cfg.poll_interval = Duration::from_millis(*p.get_ref());
        }
        if let Some(q) = &raw.max_qps_per_server {
            if *q.get_ref() > 1_000_000 {
                return Err(located(
                    Some(q.span()),
                    Some("max_qps_per_server".into()),
                    format!("{} is out of range", q.get_ref()),
                    "use 1 to 1000000 queries per second, or 0 for no cap",
                ));
            }
            cfg.max_qps_per_server = *q.get_ref();
        }
        if let Some(rs) = &raw.resolvers {
            cfg.resolvers = Vec::new();
            for r in rs {
                let name = r.name.get_ref().trim().to_string();
                if name.is_empty() {
                    return Err(located(
                        Some(r.name.span()),
                        Some("resolvers.name".into()),
                        "the name is empty".into(),
                        "name each resolver, e.g. name = \"cloudflare\"",
                    ));
                }
                if cfg.resolvers.iter().any(|o: &Resolver| o.name == name) {
                    return Err(located(
                        Some(r.name.span()),
                        Some("resolvers.name".into()),
                        format!("the name {name:?} is used twice"),
                        "give every resolver its own name",
                    ));
                }
                cfg.resolvers.push(Resolver {
                    name,
                    address: addr(&r.address, "resolvers.address")?,
                    ca: r.ca.unwrap_or(false),
                });
            }
        }
        if let Some(sys) = &raw.system {
            if sys.enabled == Some(false) {
                cfg.system = Vec::new();
            } else if let Some(servers) = &sys.servers {
                cfg.system = servers
                    .iter()
                    .map(|s| addr(s, "system.servers"))
                    .collect::<Result<_, _>>()?;
            } else if let Some(p) = &sys.resolv_conf {
                let file = Path::new(p.get_ref());
                if user && !file.is_file() {
                    return Err(located(
                        Some(p.span()),
                        Some("system.resolv_conf".into()),
                        format!("{:?} does not exist or is not a file", p.get_ref()),
                        "give the path of an existing resolv.conf (e.g. /etc/resolv.conf), or list the resolvers with `servers = [\"ip:port\"]`",
                    ));
                }
                cfg.system = read_resolv_conf(file);
            }
        }
        Ok(cfg)
    }
}

/// Why a server address was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Not an IP address with an optional port.
    Invalid,
    /// Port 0 cannot be sent to.
    PortZero,
    /// An IPv6 address without brackets: `::1:53` could be `[::1]:53` or `[::1:53]:53`.
    BareIpv6,
}

impl AddrError {
    /// What is wrong, after the quoted input.
    pub fn problem(&self) -> &'static str {
        match self {
            AddrError::Invalid => "is not an address with a port",
            AddrError::PortZero => "has port 0, which no server listens on",
            AddrError::BareIpv6 => {
                "is an IPv6 address without brackets: the last group could be the port or part of the address"
            }
        }
    }

    /// How to write it instead.
    pub fn fix(&self) -> &'static str {
        match self {
            AddrError::Invalid => {
                "write \"ip:port\", e.g. \"127.0.0.1:53\", or \"[::1]:53\" for IPv6"
            }
            AddrError::PortZero => "give the port the server listens on, usually 53",
            AddrError::BareIpv6 => {
                "put IPv6 addresses in brackets, with the port after them: \"[::1]:53\" (or \"[2001:db8::53]:53\")"
            }
        }
    }
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.problem(), self.fix())
    }
}

/// `ip:port`, `[v6]:port`, `[v6]`; a bare IPv4 address gets port 53. A bare IPv6 address
/// is refused (is `::1:53` the address `::1` and port 53?), and so is port 0.
pub fn parse_addr_checked(s: &str) -> Result<SocketAddr, AddrError> {
    let s = s.trim();
    let addr = if let Ok(a) = s.parse::<SocketAddr>() {
        a
    } else if let Ok(ip) = s.parse::<std::net::Ipv4Addr>() {
        SocketAddr::new(ip.into(), 53)
    } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Err(AddrError::BareIpv6);
    } else if let Some(ip) = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<std::net::Ipv6Addr>().ok())
    {
        SocketAddr::new(ip.into(), 53)
    } else {
        return Err(AddrError::Invalid);
    };
    if addr.port() == 0 {
        return Err(AddrError::PortZero);
    }
    Ok(addr)
}

/// [`parse_addr_checked`], without the reason.
pub fn parse_addr(s: &str) -> Option<SocketAddr> {
    parse_addr_checked(s).ok()
}

/// The 1-based line of a byte offset (TOML spans are byte ranges).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line - 1)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then(|| k.to_string())
}

/// The A/AAAA addresses of a root hints file, as `ip:53`.
pub fn parse_root_hints(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with(';'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [_, _, t, ip] if *t == "A" || *t == "AAAA" => ip.parse().ok(),
                [_, _, _, t, ip] if *t == "A" || *t == "AAAA" => ip.parse().ok(),
                _ => None,
            }
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// The `nameserver` lines of a resolv.conf, read by hickory-resolver's system config reader,
/// as `ip:53` (missing file, or no name server: none). Lines it does not know are skipped, as
/// before: the reader's warnings about them are not passed on (the library prints nothing).
pub fn read_resolv_conf(path: &Path) -> Vec<SocketAddr> {
    let Ok(bytes) = crate::model::files::read_limited(path) else {
        return Vec::new();
    };
    let quiet = tracing::subscriber::NoSubscriber::default();
    let parsed = tracing::subscriber::with_default(quiet, || {
        hickory_resolver::system_conf::parse_resolv_conf(bytes)
    });
    match parsed {
        Ok((conf, _)) => conf
            .name_servers()
            .iter()
            .map(|ns| SocketAddr::new(ns.ip, 53))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_the_iana_roots() {
        let c = Config::defaults();
        assert_eq!(c.roots.len(), 26);
        assert!(c.roots.contains(&"198.41.0.4:53".parse().unwrap()));
        assert!(c.roots.contains(&"[2001:dc3::35]:53".parse().unwrap()));
        assert_eq!(c.resolvers.len(), 3);
    }

    /// The defaults as the code held them before `assets/default-config.toml` became their
    /// source: the parsed asset must give exactly these.
    #[test]
    fn the_default_asset_is_the_old_defaults() {
        let resolver = |name: &str, address: &str| Resolver {
            name: name.into(),
            address: address.parse().unwrap(),
            ca: false,
        };
        let before = Config {
            source: None,
            roots: parse_root_hints(ROOT_HINTS),
            timeout: Duration::from_millis(2000),
            attempts: 2,
            max_inflight: 64,
            poll_interval: Duration::from_millis(1000),
            // 0 since the adaptive pacing (issue 19): the cap is an explicit choice.
            max_qps_per_server: 0,
            resolvers: vec![
                resolver("cloudflare", "1.1.1.1:53"),
                resolver("google", "8.8.8.8:53"),
                resolver("quad9", "9.9.9.9:53"),
            ],
            system: read_resolv_conf(Path::new("/etc/resolv.conf")),
        };
        assert_eq!(Config::defaults(), before);
        // The asset itself parses (no fallback hides an error in it).
        assert!(Config::from_toml(DEFAULT_CONFIG, Path::new(DEFAULT_CONFIG_PATH)).is_ok());
    }

    #[test]
    fn the_documented_contract_parses() {
        let t = r#"
roots = ["127.0.0.10:53", "[::1]:53"]
timeout_ms = 500
poll_interval_ms = 250
[[resolvers]]
name = "lab-unbound"
address = "127.0.0.53:53"
[system]
servers = ["127.0.0.55:53"]
"#;
        let c = Config::from_toml(t, Path::new("x.toml")).unwrap();
        assert_eq!(c.roots[1], "[::1]:53".parse().unwrap());
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert_eq!(c.poll_interval, Duration::from_millis(250));
        assert_eq!(
            Config::defaults().poll_interval,
            Duration::from_millis(1000)
        );
        assert_eq!(c.resolvers[0].name, "lab-unbound");
        assert_eq!(c.system, vec!["127.0.0.55:53".parse().unwrap()]);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let t = "timeout_ms = 100\n[[resolvers]]\nname = \"x\"\naddress = \"not-an-ip\"\n";
        let e = Config::from_toml(t, Path::new("/tmp/c.toml")).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_eq!(e.key.as_deref(), Some("resolvers.address"));
        let s = e.to_string();
        assert!(
            s.contains("/tmp/c.toml") && s.contains("line 4") && s.contains("ip:port"),
            "{s}"
        );

        let e = Config::from_toml("timeout_ms = 1\nrootz = []\n", Path::new("c.toml")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("rootz"), "{e}");

        let e = Config::from_toml("timeout_ms = \"fast\"\n", Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("timeout_ms"));

        let e = Config::from_toml("timeout_ms = 0\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("1 to 60000"), "{e}");

        let e = Config::from_toml("poll_interval_ms = 1\n", Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("poll_interval_ms"));
    }

    #[test]
    fn the_per_server_cap_is_off_by_default_and_checked() {
        // Politeness is the adaptive pacing's (dns::pacing); the cap is a hard limit on top.
        assert_eq!(Config::defaults().max_qps_per_server, 0);
        let c = Config::from_toml("max_qps_per_server = 0\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.max_qps_per_server, 0);
        let c = Config::from_toml("max_qps_per_server = 1000000\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.max_qps_per_server, 1_000_000);
        let e = Config::from_toml(
            "timeout_ms = 5\nmax_qps_per_server = 1000001\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("max_qps_per_server"));
        assert!(e.to_string().contains("0 for no cap"), "{e}");
    }

    #[test]
    fn addresses_refuse_port_zero_and_bare_ipv6() {
        assert_eq!(
            parse_addr("127.0.0.1"),
            Some("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_addr("[::1]:5353"),
            Some("[::1]:5353".parse().unwrap())
        );
        assert_eq!(parse_addr("[::1]"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(parse_addr_checked("127.0.0.1:0"), Err(AddrError::PortZero));
        assert_eq!(parse_addr_checked("[::1]:0"), Err(AddrError::PortZero));
        assert_eq!(parse_addr_checked("::1:53"), Err(AddrError::BareIpv6));
        assert_eq!(parse_addr_checked("2001:db8::1"), Err(AddrError::BareIpv6));
        assert_eq!(parse_addr_checked("ns1.example"), Err(AddrError::Invalid));
        let e = Config::from_toml("roots = [\"::1:53\"]\n", Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string().contains("[::1]:53") && e.to_string().contains("brackets"),
            "{e}"
        );
        let e = Config::from_toml(
            "[[resolvers]]\nname = \"x\"\naddress = \"127.0.0.1:0\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("port 0") && e.line == Some(3), "{e}");
    }

    #[test]
    fn a_missing_resolv_conf_is_an_error() {
        let e = Config::from_toml(
            "[system]\nresolv_conf = \"/nonexistent/resolv.conf\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("system.resolv_conf"));
        assert!(e.to_string().contains("/nonexistent/resolv.conf"), "{e}");
        assert!(e.to_string().contains("does not exist"), "{e}");
        // A device is not read at all (issue 18: only regular files are).
        let e = Config::from_file(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn resolv_conf_lines() {
        let d = std::env::temp_dir().join(format!("rc-{}", std::process::id()));
        std::fs::write(
            &d,
            "# x\nnameserver 127.0.0.55\nnameserver ::1\noptions x\nnameserver fe80::1%eth0\n",
        )
        .unwrap();
        assert_eq!(
            read_resolv_conf(&d),
            vec![
                "127.0.0.55:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
        std::fs::write(&d, "search example.test\n").unwrap();
        assert_eq!(read_resolv_conf(&d), vec![]);
        assert_eq!(
            read_resolv_conf(Path::new("/nonexistent/resolv.conf")),
            vec![]
        );
        std::fs::remove_file(d).ok();
    }
}

//! certbot: the manual authenticator with acme-delegate's own hooks. Neither certbot nor
//! its dns-rfc2136 plugin follows the `_acme-challenge` CNAME (certbot #8572), so the hook
//! (`acme-delegate hook certbot-auth` / `certbot-cleanup`) writes the TXT at the target
//! through the plan's zone and waits until every authoritative server serves it.
//!
//! The file written is a certbot config file (`certbot -c FILE`, configargparse `key =
//! value`). certbot stores the hooks in `renewal/<name>.conf` on the first issuance, so
//! `certbot renew` keeps using them. No secret is in it: the hook reads the plan's zone.

use super::{groups, sh_line, Client, ClientOutput, PlannedFile, WriteError, WriteOptions};
use crate::model::plan::{Plan, ZoneSpec};
use ini::{EscapePolicy, Ini, LineSeparator, WriteOption};
use std::path::{Path, PathBuf};

/// The config file name inside the base directory.
pub const INI: &str = "acme-delegate.ini";

/// certbot's directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub work: PathBuf,
    pub logs: PathBuf,
    /// Where the `-c` file goes.
    pub ini: PathBuf,
}

/// `/etc/letsencrypt` (and certbot's other system dirs) for root, else `~/.certbot/…`;
/// `--out DIR` puts all of them under DIR.
pub fn dirs(opts: &WriteOptions) -> Dirs {
    if opts.root && opts.out.is_none() {
        let config = PathBuf::from("/etc/letsencrypt");
        return Dirs {
            ini: config.join(INI),
            config,
            work: PathBuf::from("/var/lib/letsencrypt"),
            logs: PathBuf::from("/var/log/letsencrypt"),
        };
    }
    let base = opts.base(opts.home.join(".certbot"));
    Dirs {
        config: base.join("config"),
        work: base.join("work"),
        logs: base.join("logs"),
        ini: base.join(INI),
    }
}

/// The hook command line certbot runs (`certbot-auth` or `certbot-cleanup`).
pub fn hook_command(opts: &WriteOptions, which: &str) -> Result<String, WriteError> {
    let mut words: Vec<String> = vec![opts.exe.to_string_lossy().into_owned()];
    if let Some(c) = &opts.config_path {
        words.push("--config".into());
        words.push(c.to_string_lossy().into_owned());
    }
    words.push("--plan".into());
    words.push(opts.plan_path.to_string_lossy().into_owned());
    words.push("hook".into());
    words.push(which.into());
    sh_line(&words)
}

pub fn write(plan: &Plan, opts: &WriteOptions) -> Result<ClientOutput, WriteError> {
    match &plan.zone {
        ZoneSpec::AcmeDns { .. } | ZoneSpec::Rfc2136 { .. } => {}
        // The hook publishes through the provider's API (the plan names it and its key).
        ZoneSpec::Provider {
            api: Some(_),
            key_file: Some(_),
            ..
        } => {}
        ZoneSpec::Provider { provider, .. } => {
            return Err(WriteError::unsupported(
                Client::Certbot,
                plan,
                &format!("certbot's DNS plugins write _acme-challenge.NAME and never follow the CNAME, and acme-delegate holds no {provider} API token to run a hook"),
                &format!("use lego or Traefik (they follow the CNAME with `--dns {provider}`), or acme.sh with --domain-alias"),
            ))
        }
        ZoneSpec::Hosted { .. } => {
            return Err(WriteError::unsupported(
                Client::Certbot,
                plan,
                "the hosted service writes the TXT records itself",
                "let the service issue the certificate; `acme-delegate check NAME` shows the chain",
            ))
        }
    }
    let d = dirs(opts);
    let auth = hook_command(opts, "certbot-auth")?;
    let cleanup = hook_command(opts, "certbot-cleanup")?;
    let text = ini_text(opts, &d, &auth, &cleanup)?;
    let mut out = ClientOutput::default();
    out.files.push(PlannedFile::public(d.ini.clone(), text));
    let ini = d.ini.to_string_lossy().into_owned();
    // One certificate per challenge name keeps acme-dns at two values per account; RFC
    // 2136 takes every name in one certificate.
    let certs: Vec<Vec<String>> = match plan.zone {
        ZoneSpec::AcmeDns { .. } => groups(plan).into_iter().map(|g| g.identifiers).collect(),
        _ => vec![super::identifiers(plan)],
    };
    for names in certs {
        let mut words: Vec<String> = vec![
            "certbot".into(),
            "certonly".into(),
            "-c".into(),
            ini.clone(),
        ];
        words.push("--cert-name".into());
        words.push(names[0].trim_start_matches("*.").to_string());
        for n in names {
            words.push("-d".into());
            words.push(n);
        }
        out.next_commands.push(sh_line(&words)?);
    }
    out.notes.push(format!(
        "renew (e.g. daily from cron): {}",
        sh_line(&["certbot", "renew", "-c", &ini])?
    ));
    out.notes.push(
        "certbot's dns-rfc2136 plugin cannot follow the CNAME (certbot #8572): certbot calls `acme-delegate hook certbot-auth`, which writes the TXT at the target and returns once every authoritative server serves it".into(),
    );
    out.notes.push(format!(
        "the hooks run {} with the plan {}: keep both at these paths (certbot stores the hook command for renewals)",
        opts.exe.display(),
        opts.plan_path.display()
    ));
    Ok(out)
}

/// The `-c` config file: directories, the manual authenticator and the hooks.
fn ini_text(
    opts: &WriteOptions,
    d: &Dirs,
    auth: &str,
    cleanup: &str,
) -> Result<String, WriteError> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut pairs: Vec<(&str, String)> = vec![
        ("config-dir", path(&d.config)),
        ("work-dir", path(&d.work)),
        ("logs-dir", path(&d.logs)),
        ("server", opts.server().to_string()),
        ("authenticator", "manual".into()),
        ("preferred-challenges", "dns".into()),
        ("manual-auth-hook", auth.into()),
        ("manual-cleanup-hook", cleanup.into()),
        ("agree-tos", "true".into()),
        ("non-interactive", "true".into()),
    ];
    match &opts.email {
        Some(e) => pairs.push(("email", e.clone())),
        None => pairs.push(("register-unsafely-without-email", "true".into())),
    }
    let mut ini = Ini::new();
    for (k, v) in &pairs {
        if v.chars().any(|c| c.is_control()) {
            return Err(WriteError::Unrepresentable {
                what: format!("the certbot setting {k} would hold a control character"),
                fix: "use paths and values without line breaks".into(),
            });
        }
        ini.with_general_section().set(*k, v.as_str());
    }
    let mut buf = Vec::new();
    ini.write_to_opt(
        &mut buf,
        WriteOption {
            escape_policy: EscapePolicy::Nothing,
            line_separator: LineSeparator::CR,
            kv_separator: " = ",
        },
    )
    .map_err(|e| WriteError::Unrepresentable {
        what: format!("the certbot config does not serialise: {e}"),
        fix: "report this as a bug".into(),
    })?;
    let body = String::from_utf8(buf).map_err(|_| WriteError::Unrepresentable {
        what: "the certbot config is not UTF-8".into(),
        fix: "use UTF-8 paths".into(),
    })?;
    Ok(format!(
        "# certbot settings for acme-delegate's CNAME delegation (certbot -c THIS_FILE)\n{body}"
    ))
}

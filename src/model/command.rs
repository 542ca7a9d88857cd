//! Every command acme-delegate prints for the user to run, built in one place as an
//! argument vector and shell-quoted from there (POSIX `sh`, bash and zsh read it the
//! same: a wildcard name is quoted, so zsh finds no glob in it).
//!
//! The faces (cli, tui) print [`Argv::shell`]; tests split it back with `shlex` and run it.

use crate::model::plan::{Plan, ZoneSpec};
use std::path::{Path, PathBuf};

/// The program's name as the user runs it.
pub const PROGRAM: &str = "acme-delegate";

/// How long the printed re-check waits (`check --wait` needs a duration).
pub const RECHECK_WAIT: &str = "10m";

/// Where node_exporter's textfile collector reads (Debian's default).
pub const TEXTFILE: &str = "/var/lib/prometheus/node-exporter/acme-delegate.prom";

/// The printed cron schedule: every 6 hours, at minute 17.
pub const CRON_SCHEDULE: &str = "17 */6 * * *";

/// A command as its words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

impl Argv {
    pub fn new<S: Into<String>>(program: S) -> Argv {
        Argv(vec![program.into()])
    }

    pub fn arg(mut self, a: impl Into<String>) -> Argv {
        self.0.push(a.into());
        self
    }

    pub fn args<S: Into<String>>(mut self, a: impl IntoIterator<Item = S>) -> Argv {
        self.0.extend(a.into_iter().map(Into::into));
        self
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// The line to print: every word quoted as a POSIX shell needs (a NUL byte, which no
    /// shell can pass, is dropped).
    pub fn shell(&self) -> String {
        self.0
            .iter()
            .map(|w| {
                let w = w.replace('\0', "");
                shlex::try_quote(&w)
                    .map(|c| c.into_owned())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for Argv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shell())
    }
}

/// The global options every printed acme-delegate command carries: the config and the
/// plan, when they are not the defaults (the next command must read the same plan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Globals {
    pub config: Option<PathBuf>,
    pub plan: Option<PathBuf>,
}

impl Globals {
    /// `plan` is named unless it is the default plan (`Plan::default_path`), `config`
    /// unless it is the user config file; both as absolute paths (the user may run the
    /// command from another folder).
    pub fn new(config: Option<&Path>, plan: Option<&Path>) -> Globals {
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir()
                    .map(|d| d.join(p))
                    .unwrap_or_else(|_| p.to_path_buf())
            }
        };
        let default_plan = Plan::default_path();
        let user_config = crate::model::config::Config::user_path();
        Globals {
            config: config.map(abs).filter(|p| user_config.as_ref() != Some(p)),
            plan: plan.map(abs).filter(|p| default_plan.as_ref() != Some(p)),
        }
    }

    /// `acme-delegate [--config FILE] [--plan FILE]`.
    pub fn program(&self) -> Argv {
        let mut a = Argv::new(PROGRAM);
        if let Some(c) = &self.config {
            a = a.arg("--config").arg(c.display().to_string());
        }
        if let Some(p) = &self.plan {
            a = a.arg("--plan").arg(p.display().to_string());
        }
        a
    }

    /// `acme-delegate ... check NAME...`: one check now.
    pub fn check<S: AsRef<str>>(&self, names: &[S]) -> Argv {
        self.program()
            .arg("check")
            .args(names.iter().map(|n| n.as_ref().to_string()))
    }

    /// `acme-delegate ... check --wait 10m NAME...`: after publishing the CNAME.
    pub fn check_wait<S: AsRef<str>>(&self, names: &[S]) -> Argv {
        self.program()
            .arg("check")
            .arg("--wait")
            .arg(RECHECK_WAIT)
            .args(names.iter().map(|n| n.as_ref().to_string()))
    }

    /// `acme-delegate ... check --prometheus-textfile FILE NAME...`: what cron runs.
    pub fn check_textfile<S: AsRef<str>>(&self, names: &[S]) -> Argv {
        self.program()
            .arg("check")
            .arg("--prometheus-textfile")
            .arg(TEXTFILE)
            .args(names.iter().map(|n| n.as_ref().to_string()))
    }

    /// `acme-delegate ... prove`, when this kind of zone can publish a test TXT itself
    /// (acme-dns, RFC 2136); None for provider and hosted zones (`prove` exits 2 there).
    pub fn prove(&self, zone: &ZoneSpec) -> Option<Argv> {
        proves(zone).then(|| self.program().arg("prove"))
    }

    /// The cron line that keeps checking and feeds Prometheus.
    pub fn cron_line<S: AsRef<str>>(&self, names: &[S]) -> String {
        format!(
            "{CRON_SCHEDULE} {} >/dev/null",
            self.check_textfile(names).shell()
        )
    }

    /// What to run after `plan`: check until the CNAME is seen, then prove it (when the
    /// zone can), as argument vectors.
    pub fn after_plan<S: AsRef<str>>(&self, zone: &ZoneSpec, names: &[S]) -> Vec<Argv> {
        std::iter::once(self.check_wait(names))
            .chain(self.prove(zone))
            .collect()
    }
}

/// Can `prove` publish a test TXT in this kind of zone?
pub fn proves(zone: &ZoneSpec) -> bool {
    match zone {
        ZoneSpec::AcmeDns { .. } | ZoneSpec::Rfc2136 { .. } => true,
        // A provider zone proves through its API when the plan has one (`--api`, a key).
        ZoneSpec::Provider { api, key_file, .. } => api.is_some() && key_file.is_some(),
        ZoneSpec::Hosted { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::Name;

    fn split(line: &str) -> Vec<String> {
        shlex::split(line).expect("a shell line")
    }

    #[test]
    fn wildcards_and_spaces_are_quoted_and_split_back_to_the_same_words() {
        let g = Globals::new(None, Some(Path::new("/tmp/my plans/a.toml")));
        let a = g.check_wait(&["www.example.com", "*.example.com"]);
        let line = a.shell();
        assert!(line.contains("'*.example.com'"), "{line}");
        assert_eq!(split(&line), a.words());
        assert_eq!(
            a.words()[..6],
            [
                "acme-delegate",
                "--plan",
                "/tmp/my plans/a.toml",
                "check",
                "--wait",
                "10m"
            ]
        );
    }

    #[test]
    fn the_default_plan_is_not_named_and_another_one_is() {
        if let Some(d) = Plan::default_path() {
            assert_eq!(Globals::new(None, Some(&d)).plan, None);
        }
        let g = Globals::new(Some(Path::new("/c.toml")), Some(Path::new("p.toml")));
        let cwd = std::env::current_dir().unwrap().join("p.toml");
        assert_eq!(
            g.program().words(),
            [
                "acme-delegate",
                "--config",
                "/c.toml",
                "--plan",
                cwd.to_str().unwrap()
            ]
        );
    }

    #[test]
    fn prove_is_offered_only_where_it_can_publish() {
        let g = Globals::default();
        let provider = ZoneSpec::Provider {
            provider: "cloudflare".into(),
            domain: Name::from_ascii("acme.example.net"),
            api: None,
            key_file: None,
        };
        assert_eq!(g.prove(&provider), None);
        assert_eq!(g.after_plan(&provider, &["a.example"]).len(), 1);
        let driven = ZoneSpec::Provider {
            provider: "pdns".into(),
            domain: Name::from_ascii("acme.example.net"),
            api: Some("http://127.0.0.14:8081".into()),
            key_file: Some("/k".into()),
        };
        assert_eq!(g.after_plan(&driven, &["a.example"]).len(), 2);
        let hosted = ZoneSpec::Hosted {
            target: Name::from_ascii("x.hosted.example"),
        };
        assert_eq!(g.prove(&hosted), None);
        let acme = ZoneSpec::AcmeDns {
            api: "https://auth.example".into(),
            storage: None,
            allowfrom: vec![],
            domain: None,
        };
        assert_eq!(
            g.prove(&acme).map(|a| a.shell()),
            Some("acme-delegate prove".into())
        );
    }

    #[test]
    fn the_cron_line_checks_without_waiting_and_quotes_wildcards() {
        let line = Globals::default().cron_line(&["*.example.com"]);
        assert!(
            line.starts_with("17 */6 * * * acme-delegate check"),
            "{line}"
        );
        assert!(!line.contains("--wait"), "{line}");
        assert!(line.ends_with("'*.example.com' >/dev/null"), "{line}");
    }
}

//! INI files (certbot renewal confs, certbot DNS plugin credentials), read with `rust-ini`.
//!
//! rust-ini does the sections, `key = value`, comments and quotes. It does not say on which
//! line an entry stands, so each entry is matched, in order, to the first line at or after the
//! previous one that starts with its key. A line that is not `key = value` runs into the next
//! key in rust-ini; such a key is refused here at its first line, as the findings cite lines.

use super::{cfg_err, ClientConfigError};
use ini::{Ini, ParseOption};
use std::path::Path;

/// `(section, key, value, line)` for every `key = value` line, in file order.
pub(super) type IniEntry = (String, String, String, usize);

fn options() -> ParseOption {
    ParseOption {
        enabled_quote: true,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    }
}

/// The crate's message in the old reader's words where it has one; never file content.
fn message(msg: &str) -> String {
    if msg.starts_with("section must be ended") {
        "unclosed section header".into()
    } else if msg.contains("but found EOF") {
        "unterminated quote or section (truncated file?)".into()
    } else {
        msg.to_string()
    }
}

/// Does `line` hold `key`, followed by the separator (or the end: a key rust-ini ran on)?
fn holds_key(line: &str, key: &str) -> bool {
    line.trim_start()
        .strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.trim_start().starts_with(['=', ':']))
}

pub(super) fn parse_ini(path: &Path, text: &str) -> Result<Vec<IniEntry>, ClientConfigError> {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.len().max(1);
    let ini = Ini::load_from_str_opt(text, options()).map_err(|e| {
        // Column 1 is the line break that ends the line before (rust-ini counts it as the next).
        let line = if e.col == 1 { e.line - 1 } else { e.line };
        cfg_err(path, Some(line.clamp(1, last)), message(&e.msg))
    })?;
    let mut next = 0; // index of the first line not yet matched
    let mut out = Vec::new();
    for (section, props) in ini.iter() {
        // configobj's nested `[[sub]]` keeps its name without the inner brackets.
        let section = section.unwrap_or("").trim_matches(['[', ']']).trim();
        for (key, value) in props.iter() {
            let first = key.lines().next().unwrap_or("").trim();
            let at = (next..lines.len())
                .find(|i| holds_key(lines[*i], first))
                .unwrap_or(next.min(last - 1));
            next = at + 1;
            if key.contains('\n') || first.is_empty() {
                return Err(cfg_err(path, Some(at + 1), "expected `key = value`"));
            }
            out.push((
                section.to_string(),
                key.to_string(),
                value.to_string(),
                at + 1,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> Result<Vec<IniEntry>, ClientConfigError> {
        parse_ini(Path::new("x.conf"), text)
    }

    #[test]
    fn sections_keys_quotes_and_lines() {
        let t = "# c\nversion = 2.8.0\n\n[renewalparams]\n; c\nauthenticator = dns-rfc2136\n\
                 hook = \"/x y\"\n[[webroot_map]]\nexample.com = /var/www\n[renewalparams]\n\
                 authenticator = manual\n";
        let e = ini(t).unwrap();
        let row = |s: &str, k: &str, v: &str, l: usize| (s.into(), k.into(), v.into(), l);
        assert_eq!(
            e,
            vec![
                row("", "version", "2.8.0", 2),
                row("renewalparams", "authenticator", "dns-rfc2136", 6),
                row("renewalparams", "hook", "/x y", 7),
                row("webroot_map", "example.com", "/var/www", 9),
                row("renewalparams", "authenticator", "manual", 11),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = ini("[renewalparams]\njunk line\nkey = v\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "expected `key = value`")
        );
        let e = ini("a = 1\n[renewalparams\nk = v\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "unclosed section header")
        );
        let e = ini("[s]\nk = 'secret-value\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(!e.to_string().contains("secret-value"));
    }
}

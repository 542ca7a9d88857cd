//! `KEY=VALUE` files (lego env files, Traefik's `.env`, acme.sh confs), read with `dotenvy`.
//!
//! dotenvy does the quoting, escapes, `export`, comments and `$VAR` substitution; it does not
//! say on which line a variable stands, so each variable is matched, in order, to the first
//! line at or after the previous one that assigns it. Errors name the line and never quote it.

use super::{cfg_err, ClientConfigError};
use std::path::Path;

/// One `KEY=VALUE` assignment and the line it stands on.
#[derive(Clone, Debug)]
pub(super) struct Kv {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// `line` with an optional `export ` cut off, if it assigns a variable: (key, rest after `=`).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let l = line.trim_start();
    let l = l.strip_prefix("export ").map_or(l, str::trim_start);
    let (k, v) = l.split_once('=')?;
    Some((k.trim_end(), v))
}

fn skipped(line: &str) -> bool {
    let l = line.trim();
    l.is_empty() || l.starts_with('#')
}

fn is_var_name(k: &str) -> bool {
    k.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What is wrong with a line dotenvy refused, in the old reader's words.
fn why(line: &str) -> String {
    let Some((k, v)) = assignment(line) else {
        return "expected KEY=VALUE".into();
    };
    if !is_var_name(k) {
        return "expected KEY=VALUE with a shell variable name".into();
    }
    let v = v.trim_start();
    match v.chars().next().filter(|c| *c == '\'' || *c == '"') {
        Some(q) if !v[1..].contains(q) => format!("unterminated {q}-quoted value of {k}"),
        _ => format!("the value of {k} is not valid env-file syntax (quote a value with spaces)"),
    }
}

pub(super) fn parse_env(path: &Path, text: &str) -> Result<Vec<Kv>, ClientConfigError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut next = 0; // index of the first line not yet matched
    let mut out = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                let at = (next..lines.len())
                    .find(|i| assignment(lines[*i]).is_some_and(|(k, _)| k == key))
                    .unwrap_or(next.min(lines.len().saturating_sub(1)));
                next = at + 1;
                out.push(Kv {
                    key,
                    value,
                    line: at + 1,
                });
            }
            Err(_) => {
                let at = (next..lines.len()).find(|i| !skipped(lines[*i]));
                let line = at.map(|i| lines[i]).unwrap_or("");
                return Err(cfg_err(path, at.map(|i| i + 1), why(line)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kvs(text: &str) -> Vec<(String, String, usize)> {
        parse_env(Path::new("x.env"), text)
            .unwrap()
            .into_iter()
            .map(|k| (k.key, k.value, k.line))
            .collect()
    }

    #[test]
    fn quotes_comments_export_and_lines() {
        let t = "# c\n\nexport A=1\nB='two words' # note\nC=\"x\\\"y\"\n  D=plain # c\nE=\n";
        assert_eq!(
            kvs(t),
            vec![
                ("A".into(), "1".into(), 3),
                ("B".into(), "two words".into(), 4),
                ("C".into(), "x\"y".into(), 5),
                ("D".into(), "plain".into(), 6),
                ("E".into(), "".into(), 7),
            ]
        );
        // A repeated key is found on its own line each time.
        let t = "K=1\nL=2\nK=3\n";
        assert_eq!(kvs(t)[2], ("K".into(), "3".into(), 3));
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        let e = parse_env(Path::new("x.env"), "A=1\nnot an assignment\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "expected KEY=VALUE")
        );
        let e = parse_env(Path::new("x.env"), "S='secret-value\nB=2\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert_eq!(e.message, "unterminated '-quoted value of S");
        let e = parse_env(Path::new("x.env"), "A=1\n1X=secret-value\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(!e.to_string().contains("secret-value"));
    }
}

//! TSIG keys: the algorithms, the secret (never printed), and the readers of a BIND key
//! file, a knot key section and the kdig/knsupdate `-y` form.

use crate::dns::types::Name;
use crate::zones::update::WireKey;
use serde_saphyr::{Location, Spanned};
use std::fmt;
use std::path::Path;

/// The TSIG algorithms acme-delegate can sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsigAlgorithm {
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlgorithm {
    pub const ALL: [TsigAlgorithm; 3] = [
        TsigAlgorithm::HmacSha256,
        TsigAlgorithm::HmacSha384,
        TsigAlgorithm::HmacSha512,
    ];

    /// The RFC 8945 name without the trailing dot (`hmac-sha256`).
    pub fn name(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn supported_list() -> String {
        Self::ALL.map(|a| a.name()).join(", ")
    }

    /// Parses `hmac-sha256`, `HMAC-SHA256.`, ... The error lists the supported ones.
    pub fn parse(s: &str) -> Result<Self, AlgorithmError> {
        let n = s.trim().trim_end_matches('.').to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|a| a.name() == n)
            .ok_or_else(|| {
                let supported = Self::supported_list();
                match n.as_str() {
                    "hmac-sha1" | "hmac-sha224" | "hmac-md5" | "hmac-md5.sig-alg.reg.int" => {
                        AlgorithmError::Unsupported { name: n, supported }
                    }
                    _ => AlgorithmError::Unknown { name: n, supported },
                }
            })
    }
}

/// Why a TSIG algorithm name was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    #[error("TSIG algorithm {name} is not supported by acme-delegate (supported: {supported}); generate a new key with one of those, e.g. `keymgr -t NAME hmac-sha256` or `tsig-keygen -a hmac-sha256 NAME`")]
    Unsupported { name: String, supported: String },
    #[error("unknown TSIG algorithm {name:?} (supported: {supported})")]
    Unknown { name: String, supported: String },
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TSIG secret. Its Debug and Display print `****`, never the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    /// Decodes base64 (standard alphabet, padding optional, white space ignored). The
    /// error never echoes the secret.
    pub fn from_base64(s: &str) -> Result<Self, SecretError> {
        decode_base64(s).map(Secret)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// Why a secret could not be read. Never holds a character of the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is not valid base64 (bad character at position {0})")]
    BadCharacter(usize),
    #[error("the secret is not valid base64 (wrong length)")]
    Length,
    #[error("the secret is not valid base64 (bad '=' padding)")]
    Padding,
    #[error("the secret is empty")]
    Empty,
}

/// Standard base64 (RFC 4648), white space ignored, padding optional.
fn decode_base64(s: &str) -> Result<Vec<u8>, SecretError> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let out = LENIENT.decode(compact).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, b'=') if at > 0 => SecretError::Padding,
        base64::DecodeError::InvalidByte(at, _) => SecretError::BadCharacter(at + 1),
        base64::DecodeError::InvalidPadding => SecretError::Padding,
        _ => SecretError::Length,
    })?;
    if out.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(out)
}

/// A TSIG key: name, algorithm, secret. Debug never shows the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigKey {
    pub name: Name,
    pub algorithm: TsigAlgorithm,
    pub secret: Secret,
}

/// Why a key could not be read: where, what, and the fix. Never contains the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError {
    /// The file, or `-y argument`.
    pub source: String,
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}, line {}: {}", self.source, l, self.message)?,
            None => write!(f, "{}: {}", self.source, self.message)?,
        }
        write!(f, " (fix: {})", self.fix)
    }
}

impl std::error::Error for KeyError {}

const FORMATS: &str =
    "a BIND key file (`key \"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; };`), \
a knot key section (`key:` / `  - id: NAME` / `    algorithm: hmac-sha256` / `    secret: BASE64`) \
or the kdig/knsupdate -y form `hmac-sha256:NAME:BASE64`";

impl TsigKey {
    pub fn new(name: Name, algorithm: TsigAlgorithm, secret: Secret) -> Self {
        TsigKey {
            name,
            algorithm,
            secret,
        }
    }

    /// Reads the first key of a BIND key file, a knot conf (snippet) or a file holding the
    /// `-y` form (`alg:name:secret`).
    pub fn from_file(path: &Path) -> Result<TsigKey, KeyError> {
        let source = path.display().to_string();
        let text = crate::model::files::read_text_limited(path).map_err(|e| KeyError {
            source: source.clone(),
            line: None,
            message: format!("cannot read the key file: {e}"),
            fix: "check the path and that this user may read the file".into(),
        })?;
        Self::from_text(&text, &source)
    }

    /// Like [`TsigKey::from_file`], on text; `source` names it in errors.
    pub fn from_text(text: &str, source: &str) -> Result<TsigKey, KeyError> {
        Self::all_from_text(text, source)?
            .into_iter()
            .next()
            .ok_or_else(|| KeyError {
                source: source.into(),
                line: None,
                message: "no TSIG key found".into(),
                fix: format!("give {FORMATS}"),
            })
    }

    /// Every key of the text (BIND or knot format), or the one `-y` form.
    pub fn all_from_text(text: &str, source: &str) -> Result<Vec<TsigKey>, KeyError> {
        let stripped = strip_comments(text);
        let has_bind = stripped.split_whitespace().any(|w| w == "key") && stripped.contains('{');
        if has_bind {
            return parse_bind(&stripped, source);
        }
        if stripped
            .lines()
            .any(|l| l.trim_end() == "key:" || l.trim_start().starts_with("- id:"))
        {
            // knot's comments are YAML's (`#`); a secret may hold `//`.
            return parse_knot(text, source);
        }
        let lines: Vec<(usize, &str)> = stripped
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        match lines.as_slice() {
            [(n, l)] => Self::parse_kdig(l.trim())
                .map(|k| vec![k])
                .map_err(|mut e| {
                    e.source = source.into();
                    e.line = Some(n + 1);
                    e
                }),
            _ => Err(KeyError {
                source: source.into(),
                line: None,
                message: "not a TSIG key file in a format acme-delegate knows".into(),
                fix: format!("give {FORMATS}"),
            }),
        }
    }

    /// The kdig/knsupdate `-y` form: `[alg:]name:secret` (default algorithm hmac-sha256).
    pub fn parse_kdig(s: &str) -> Result<TsigKey, KeyError> {
        let err = |message: String, fix: &str| KeyError {
            source: "-y argument".into(),
            line: None,
            message,
            fix: fix.into(),
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        let (alg, name, secret) = match parts.as_slice() {
            [name, secret] => (TsigAlgorithm::HmacSha256, *name, *secret),
            [alg, name, secret] => (
                TsigAlgorithm::parse(alg).map_err(|m| {
                    err(
                        m.to_string(),
                        "use one of the supported algorithms in `ALG:NAME:SECRET`",
                    )
                })?,
                *name,
                *secret,
            ),
            _ => {
                return Err(err(
                    format!(
                        "expected `[ALGORITHM:]NAME:SECRET`, found {} field(s)",
                        parts.len()
                    ),
                    "write it as kdig -y takes it, e.g. `hmac-sha256:acme-update:BASE64`",
                ))
            }
        };
        if name.trim().is_empty() {
            return Err(err(
                "the key name is empty".into(),
                "write `ALGORITHM:NAME:SECRET`",
            ));
        }
        let secret = Secret::from_base64(secret).map_err(|m| {
            err(
                m.to_string(),
                "copy the secret again from the server's key file (base64, as keymgr or tsig-keygen print it)",
            )
        })?;
        Ok(TsigKey::new(Name::from_ascii(name), alg, secret))
    }

    /// The plain view the wire layer signs with.
    pub fn wire(&self) -> WireKey<'_> {
        WireKey {
            name: &self.name,
            algorithm: self.algorithm.name(),
            secret: self.secret.expose(),
        }
    }
}

/// Blanks out `#`, `//` and `/* */` comments, keeping line numbers (newlines stay).
/// Quoted strings are kept as they are.
fn strip_comments(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_quote = false;
    while i < b.len() {
        let c = b[i];
        if in_quote {
            if c == '"' {
                in_quote = false;
            }
            out.push(c);
            i += 1;
        } else if c == '"' {
            in_quote = true;
            out.push(c);
            i += 1;
        } else if c == '#' || (c == '/' && b.get(i + 1) == Some(&'/')) {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Semi,
}

fn tokenize(text: &str, source: &str) -> Result<Vec<(usize, Tok)>, KeyError> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '{' => toks.push((line, Tok::Open)),
            '}' => toks.push((line, Tok::Close)),
            ';' => toks.push((line, Tok::Semi)),
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            s.push(c)
                        }
                        None => {
                            return Err(KeyError {
                                source: source.into(),
                                line: Some(start),
                                message: "a quoted string is not closed".into(),
                                fix: "add the closing `\"`".into(),
                            })
                        }
                    }
                }
                toks.push((start, Tok::Quoted(s)));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = it.peek() {
                    if n.is_whitespace() || matches!(n, '{' | '}' | ';' | '"') {
                        break;
                    }
                    s.push(n);
                    it.next();
                }
                toks.push((line, Tok::Word(s)));
            }
        }
    }
    Ok(toks)
}

fn parse_bind(text: &str, source: &str) -> Result<Vec<TsigKey>, KeyError> {
    let toks = tokenize(text, source)?;
    let err = |line: usize, message: String, fix: &str| KeyError {
        source: source.into(),
        line: Some(line),
        message,
        fix: fix.into(),
    };
    let last_line = toks.last().map(|t| t.0).unwrap_or(1);
    let mut keys = Vec::new();
    let mut i = 0;
    // Skips a statement we do not care about (`options { ... };`, `server ... ;`).
    while i < toks.len() {
        let (kline, tok) = &toks[i];
        let is_key = matches!(tok, Tok::Word(w) if w == "key");
        if !is_key {
            let mut depth = 0;
            while i < toks.len() {
                match toks[i].1 {
                    Tok::Open => depth += 1,
                    Tok::Close => depth -= 1,
                    Tok::Semi if depth <= 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        let kline = *kline;
        let name = match toks.get(i + 1) {
            Some((_, Tok::Word(w) | Tok::Quoted(w))) => w.clone(),
            _ => {
                return Err(err(
                    kline,
                    "`key` is not followed by the key's name".into(),
                    "write `key \"NAME\" { ... };`",
                ))
            }
        };
        if !matches!(toks.get(i + 2), Some((_, Tok::Open))) {
            return Err(err(
                kline,
                format!("`key \"{name}\"` is not followed by `{{`"),
                "write `key \"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; };`",
            ));
        }
        i += 3;
        let mut alg: Option<TsigAlgorithm> = None;
        let mut secret: Option<Secret> = None;
        loop {
            let Some((line, tok)) = toks.get(i) else {
                return Err(err(
                    last_line,
                    format!("the block of key \"{name}\" is not closed"),
                    "end it with `};`",
                ));
            };
            let line = *line;
            match tok {
                Tok::Close => {
                    i += 1;
                    if matches!(toks.get(i), Some((_, Tok::Semi))) {
                        i += 1;
                    }
                    break;
                }
                Tok::Semi => i += 1,
                Tok::Word(w) if w == "algorithm" || w == "secret" => {
                    let value = match toks.get(i + 1) {
                        Some((_, Tok::Word(v) | Tok::Quoted(v))) => v.clone(),
                        _ => {
                            return Err(err(
                                line,
                                format!("`{w}` has no value"),
                                if w == "algorithm" {
                                    "write `algorithm hmac-sha256;`"
                                } else {
                                    "write `secret \"BASE64\";`"
                                },
                            ))
                        }
                    };
                    if !matches!(toks.get(i + 2), Some((_, Tok::Semi))) {
                        return Err(err(
                            line,
                            format!("`{w}` is not ended by `;`"),
                            "add the `;`",
                        ));
                    }
                    if w == "algorithm" {
                        alg = Some(TsigAlgorithm::parse(&value).map_err(|m| {
                            err(
                                line,
                                m.to_string(),
                                "change the `algorithm` line to a supported algorithm",
                            )
                        })?);
                    } else {
                        secret = Some(Secret::from_base64(&value).map_err(|m| {
                            err(
                                line,
                                m.to_string(),
                                "copy the secret again from the server (tsig-keygen / keymgr output)",
                            )
                        })?);
                    }
                    i += 3;
                }
                Tok::Word(w) => {
                    return Err(err(
                        line,
                        format!("unexpected `{w}` in key \"{name}\""),
                        "a key block holds only `algorithm ...;` and `secret \"...\";`",
                    ))
                }
                _ => {
                    return Err(err(
                        line,
                        format!("unexpected token in key \"{name}\""),
                        "a key block holds only `algorithm ...;` and `secret \"...\";`",
                    ))
                }
            }
        }
        let Some(alg) = alg else {
            return Err(err(
                kline,
                format!("key \"{name}\" has no `algorithm`"),
                "add `algorithm hmac-sha256;` (the algorithm the server has for this key)",
            ));
        };
        let Some(secret) = secret else {
            return Err(err(
                kline,
                format!("key \"{name}\" has no `secret`"),
                "add `secret \"BASE64\";`",
            ));
        };
        keys.push(TsigKey::new(Name::from_ascii(&name), alg, secret));
    }
    Ok(keys)
}

/// One item of knot's `key:` section (its other settings are not ours).
#[derive(serde::Deserialize)]
struct KnotKey {
    id: Spanned<String>,
    algorithm: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
}

/// A knot conf: only its `key:` section is read.
#[derive(serde::Deserialize)]
struct KnotConf {
    #[serde(default)]
    key: Option<Vec<KnotKey>>,
}

const KNOT_FORMAT: &str =
    "write knot's format: `  - id: NAME`, `    algorithm: hmac-sha256`, `    secret: BASE64`";

/// The `key:` section of a knot conf (or a snippet of key items without the header), read
/// by serde-saphyr. The other sections are blanked first, lines kept: knot's syntax is a
/// YAML subset plus its own, and only the keys are ours to read.
fn parse_knot(text: &str, source: &str) -> Result<Vec<TsigKey>, KeyError> {
    let err = |line: usize, message: String, fix: &str| KeyError {
        source: source.into(),
        line: Some(line),
        message,
        fix: fix.into(),
    };
    // A snippet of key items (`- id: ...` first), or a conf whose `key:` section is read.
    let snippet = text
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("- "));
    let section = key_section(text);
    let items = if snippet {
        serde_saphyr::from_str::<Vec<KnotKey>>(text)
    } else if section.trim().is_empty() {
        Ok(vec![])
    } else {
        serde_saphyr::from_str::<KnotConf>(&section).map(|c| c.key.unwrap_or_default())
    }
    .map_err(|e| KeyError {
        source: source.into(),
        line: e.location().map(|l| l.line() as usize).filter(|&l| l > 0),
        message: redact(
            &format!("not knot's key format: {}", yaml_message(&e)),
            text,
        ),
        fix: KNOT_FORMAT.into(),
    })?;
    let at = |l: &Location| l.line() as usize;
    let mut keys = Vec::new();
    for item in items {
        let (id, id_line) = (item.id.value.trim(), at(&item.id.referenced));
        if id.is_empty() {
            return Err(err(
                id_line,
                "the key id is empty".into(),
                "write `- id: NAME`",
            ));
        }
        let Some(alg) = item.algorithm else {
            return Err(err(
                id_line,
                format!("key {id} has no `algorithm`"),
                "add `    algorithm: hmac-sha256` under the id",
            ));
        };
        let algorithm = TsigAlgorithm::parse(&alg.value).map_err(|m| {
            err(
                at(&alg.referenced),
                m.to_string(),
                "change `algorithm:` to a supported algorithm",
            )
        })?;
        let Some(secret) = item.secret else {
            return Err(err(
                id_line,
                format!("key {id} has no `secret`"),
                "add `    secret: BASE64` under the id",
            ));
        };
        let bytes = Secret::from_base64(&secret.value).map_err(|m| {
            err(
                at(&secret.referenced),
                m.to_string(),
                "copy the secret again from the server (keymgr -t output)",
            )
        })?;
        keys.push(TsigKey::new(Name::from_ascii(id), algorithm, bytes));
    }
    Ok(keys)
}

/// `text` with every line outside the top-level `key:` section(s) blanked, so that line
/// numbers stay those of the file.
fn key_section(text: &str) -> String {
    let mut in_key = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let top_level = !line.trim().is_empty() && !line.starts_with([' ', '\t', '-', '#']);
        if top_level {
            in_key = line.trim_end() == "key:";
        }
        if in_key {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// serde-saphyr's message, without its snippet of the file (which could show a secret)
/// and without its place (the error names the line).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::{RenderOptions, SnippetMode};
    let mut opts = RenderOptions::default();
    opts.snippets = SnippetMode::Off;
    let text = e.without_snippet().render_with_options(opts);
    match text.rsplit_once(" at line ") {
        Some((message, _)) if e.location().is_some() => message.to_string(),
        _ => text,
    }
}

/// `message` with any secret of `text` (the value of a `secret:` line) masked.
fn redact(message: &str, text: &str) -> String {
    let mut out = message.to_string();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_matches(['"', '\'']);
            if k.trim().trim_start_matches("- ") == "secret" && v.len() >= 4 {
                out = out.replace(v, "****");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // A made-up 32-byte secret; it must never show up in any printed form.
    const B64: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";

    fn assert_no_secret(s: &str) {
        assert!(!s.contains(B64), "secret leaked: {s}");
        assert!(!s.contains("c2VjcmV0"), "secret leaked: {s}");
        assert!(!s.contains("secret-secret"), "secret leaked: {s}");
    }

    #[test]
    fn base64_decodes_and_rejects() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\n bG8=").unwrap(), b"hello");
        assert!(decode_base64("aGVsbG8*").is_err());
        assert!(decode_base64("a").is_err());
        assert!(decode_base64("").is_err());
        assert!(decode_base64("aG=Vs").is_err());
    }

    #[test]
    fn bind_key_file_with_comments() {
        let text = format!(
            "# made by tsig-keygen\n// another comment\n/* block\n comment */\nkey \"acme-update\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{B64}\";\n}};\n"
        );
        let k = TsigKey::from_text(&text, "t.key").unwrap();
        assert_eq!(k.name, Name::from_ascii("acme-update."));
        assert_eq!(k.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(k.secret.expose(), b"secret-secret-secret-secret-1234");
        assert_no_secret(&format!("{k:?}"));
        assert_no_secret(&format!("{} {:?}", k.secret, k.secret));
        assert_eq!(format!("{}", k.secret), "****");

        // several keys, and other statements in between
        let two = format!(
            "options {{ directory \"/x\"; }};\nkey a. {{ algorithm HMAC-SHA512; secret \"{B64}\"; }};\nkey \"b\" {{ secret \"{B64}\"; algorithm hmac-sha384.; }};"
        );
        let ks = TsigKey::all_from_text(&two, "t").unwrap();
        assert_eq!(ks.len(), 2);
        assert_eq!(ks[0].algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(ks[1].name.as_str(), "b.");
        assert_eq!(ks[1].algorithm, TsigAlgorithm::HmacSha384);
    }

    #[test]
    fn knot_key_section_and_snippet() {
        let conf = format!(
            "server:\n    listen: 127.0.0.12@53\n\nkey:\n  - id: acme-update\n    algorithm: hmac-sha256\n    secret: {B64}\n  - id: \"acme-admin.\"\n    algorithm: hmac-sha512 # the admin\n    secret: \"{B64}\"\n\nacl:\n  - id: x\n    key: acme-update\n"
        );
        let ks = TsigKey::all_from_text(&conf, "knot.conf").unwrap();
        assert_eq!(ks.len(), 2, "{ks:?}");
        assert_eq!(ks[0].name.as_str(), "acme-update.");
        assert_eq!(ks[1].name.as_str(), "acme-admin.");
        assert_eq!(ks[1].algorithm, TsigAlgorithm::HmacSha512);
        // keymgr -t output (a snippet with the header)
        let snip = format!("# hmac-sha256:acme-update:{B64}\nkey:\n  - id: acme-update\n    algorithm: hmac-sha256\n    secret: {B64}");
        let k = TsigKey::from_text(&snip, "keymgr").unwrap();
        assert_eq!(k.secret.len(), 32);
    }

    /// knot's conf read by serde-saphyr: a secret holding `//` is read whole (the comment
    /// stripper of the BIND reader cut it), other sections do not need to be YAML, and
    /// a broken key section names the file, the line and the fix, never the secret.
    #[test]
    fn knot_keys_through_serde_saphyr() {
        // 32 bytes whose base64 holds "//".
        let slashes = "//////////8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(decode_base64(slashes).unwrap().len(), 32);
        let conf = format!(
            "server:\n    listen: [ 127.0.0.1@53\n\nkey:\n- id: slash\n  algorithm: hmac-sha256\n  secret: {slashes}\n"
        );
        let k = TsigKey::from_text(&conf, "knot.conf").unwrap();
        assert_eq!(k.name.as_str(), "slash.");
        assert_eq!(k.secret.expose(), decode_base64(slashes).unwrap());

        // Scalars YAML would type (a number) are read as the text they are.
        let k = TsigKey::from_text(
            "key:\n  - id: 1234\n    algorithm: hmac-sha256\n    secret: 12345678\n",
            "knot.conf",
        )
        .unwrap();
        assert_eq!(k.name.as_str(), "1234.");
        assert_eq!(k.secret.expose(), decode_base64("12345678").unwrap());

        // The item is a mapping where a list is expected.
        let e = TsigKey::from_text(
            &format!("key:\n  id: k\n  algorithm: hmac-sha256\n  secret: {B64}\n"),
            "/etc/knot/knot.conf",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/etc/knot/knot.conf, line "), "{s}");
        assert!(s.contains("not knot's key format"), "{s}");
        assert!(s.contains("fix: write knot's format"), "{s}");
        assert_no_secret(&format!("{e} {e:?}"));

        // An item without its id: the line of the item.
        let e = TsigKey::from_text(
            &format!("key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: {B64}\n  - algorithm: hmac-sha256\n    secret: {B64}\n"),
            "knot.conf",
        )
        .unwrap_err();
        assert!(e.message.contains("id"), "{e}");
        assert!(matches!(e.line, Some(5 | 6)), "{e}");
        assert_no_secret(&format!("{e} {e:?}"));

        // Bad YAML inside the key section.
        let e = TsigKey::from_text(
            &format!("key:\n  - id: k\n    algorithm: [hmac-sha256\n    secret: {B64}\n"),
            "knot.conf",
        )
        .unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert_no_secret(&format!("{e} {e:?}"));

        // A whole knot.conf that includes its keys from other files: no key here.
        let e = TsigKey::from_text(
            "server:\n    listen: 127.0.0.12@53\ninclude: \"/run/tsig.conf\"\ninclude: \"/run/admin.conf\"\nacl:\n  - id: update\n    key: acme-update\n",
            "knot.conf",
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (None, "no TSIG key found"),
            "{e}"
        );

        // A snippet without the header, and a missing algorithm on the id's line.
        let e = TsigKey::from_text(&format!("- id: k\n  secret: {B64}\n"), "snip").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("no `algorithm`"), "{e}");
    }

    #[test]
    fn kdig_y_forms() {
        let k = TsigKey::parse_kdig(&format!("hmac-sha512:acme-admin:{B64}")).unwrap();
        assert_eq!(k.algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(k.name.as_str(), "acme-admin.");
        let k = TsigKey::parse_kdig(&format!("acme-update.:{B64}")).unwrap();
        assert_eq!(k.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(k.name.as_str(), "acme-update.");
        // a file holding the -y form (as the lab's tsig.kdig)
        let k =
            TsigKey::from_text(&format!("hmac-sha256:acme-update:{B64}\n"), "tsig.kdig").unwrap();
        assert_eq!(k.name.as_str(), "acme-update.");
    }

    #[test]
    fn errors_name_the_place_and_the_fix_without_the_secret() {
        // unknown algorithm: lists the supported ones
        let e = TsigKey::from_text(
            &format!("key \"k\" {{\n  algorithm hmac-foo;\n  secret \"{B64}\";\n}};"),
            "/etc/k.key",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("/etc/k.key, line 2"), "{s}");
        assert!(s.contains("hmac-sha256, hmac-sha384, hmac-sha512"), "{s}");
        assert!(s.contains("fix:"), "{s}");
        assert_no_secret(&s);

        let e = TsigKey::parse_kdig(&format!("hmac-md5:k:{B64}")).unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
        assert_no_secret(&e.to_string());

        // bad base64: the error names the line, never the secret
        let bad = format!("{}!{}", &B64[..10], &B64[10..]);
        let e = TsigKey::from_text(
            &format!("key \"k\" {{\n algorithm hmac-sha256;\n secret \"{bad}\";\n}};"),
            "k.key",
        )
        .unwrap_err();
        let s = format!("{e} {e:?}");
        assert_eq!(e.line, Some(3));
        assert!(s.contains("base64"), "{s}");
        assert!(!s.contains(&bad), "{s}");
        assert_no_secret(&s);

        let e = TsigKey::from_text(
            &format!("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: {bad}\n"),
            "knot.conf",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_no_secret(&format!("{e} {e:?}"));

        let e = TsigKey::parse_kdig(&format!("hmac-sha256:k:{bad}")).unwrap_err();
        assert_no_secret(&format!("{e} {e:?}"));

        // missing pieces
        let e =
            TsigKey::from_text("key \"k\" {\n algorithm hmac-sha256;\n};", "k.key").unwrap_err();
        assert!(e.message.contains("no `secret`"), "{e}");
        assert_eq!(e.line, Some(1));
        let e = TsigKey::from_text(&format!("key \"k\" {{\n secret \"{B64}\";\n"), "k.key")
            .unwrap_err();
        assert!(e.message.contains("not closed"), "{e}");
        assert_no_secret(&e.to_string());
        let e = TsigKey::from_text("hello world\nfoo\n", "junk").unwrap_err();
        assert!(e.fix.contains("kdig"), "{e}");
        let e = TsigKey::from_file(Path::new("/nonexistent/acme.key")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/acme.key"), "{e}");
    }
}

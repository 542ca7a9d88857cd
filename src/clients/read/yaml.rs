//! A small YAML reader: enough for Kubernetes manifests and Traefik static configs.
//!
//! Supports block mappings and sequences, flow `{..}` / `[..]` collections, quoted and plain
//! scalars, comments, block scalars (`|`, `>`) and multi-document streams (`---`). Every node
//! keeps the 1-based line it started on. Anchors, aliases, tags and complex keys are not
//! supported. Never panics; nesting is limited so hostile input cannot overflow the stack.

/// A YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Yv {
    Null,
    Str(String),
    /// (key, line of the key, value)
    Map(Vec<(String, usize, Yn)>),
    Seq(Vec<Yn>),
}

/// A node: a value and the line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Yn {
    pub line: usize,
    pub v: Yv,
}

/// A parse error: line and message (the message never quotes file content).
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

const MAX_DEPTH: usize = 64;

impl Yn {
    /// The value under `key` in a mapping (exact key).
    pub fn get(&self, key: &str) -> Option<&Yn> {
        self.entry(key).map(|(_, n)| n)
    }

    /// The value under `key` ignoring ASCII case.
    pub fn get_ci(&self, key: &str) -> Option<&Yn> {
        match &self.v {
            Yv::Map(m) => m
                .iter()
                .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, _, n)| n),
            _ => None,
        }
    }

    /// (line of the key, value) under `key`.
    pub fn entry(&self, key: &str) -> Option<(usize, &Yn)> {
        match &self.v {
            Yv::Map(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, l, n)| (*l, n)),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match &self.v {
            Yv::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn seq(&self) -> &[Yn] {
        match &self.v {
            Yv::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn map(&self) -> &[(String, usize, Yn)] {
        match &self.v {
            Yv::Map(m) => m,
            _ => &[],
        }
    }

    /// A list of strings (a sequence of scalars, or one scalar).
    pub fn strings(&self) -> Vec<String> {
        match &self.v {
            Yv::Str(s) => vec![s.clone()],
            Yv::Seq(items) => items
                .iter()
                .filter_map(|n| n.str().map(String::from))
                .collect(),
            _ => vec![],
        }
    }
}

#[derive(Clone, Debug)]
struct Line {
    no: usize,
    indent: usize,
    text: String,
}

fn err(line: usize, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        message: message.into(),
    }
}

/// Parses a YAML stream into its documents (empty documents are skipped).
pub fn parse_documents(text: &str) -> Result<Vec<Yn>, YamlError> {
    let mut docs = Vec::new();
    let mut cur: Vec<Line> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let t = raw.trim_end();
        if t == "---" || t.starts_with("--- ") || t == "..." {
            if !cur.is_empty() {
                docs.push(parse_doc(std::mem::take(&mut cur))?);
            }
            let rest = t.strip_prefix("---").unwrap_or("").trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                cur.push(Line {
                    no,
                    indent: 0,
                    text: rest.to_string(),
                });
            }
            continue;
        }
        if t.starts_with('%') {
            continue;
        }
        let stripped = strip_comment(t);
        if stripped.trim().is_empty() {
            continue;
        }
        let lead = &stripped[..stripped.len() - stripped.trim_start().len()];
        if lead.contains('\t') {
            return Err(err(
                no,
                "tab character in indentation (YAML allows spaces only)",
            ));
        }
        cur.push(Line {
            no,
            indent: lead.len(),
            text: stripped.trim().to_string(),
        });
    }
    if !cur.is_empty() {
        docs.push(parse_doc(cur)?);
    }
    Ok(docs)
}

/// Cuts a `# comment` that is outside quotes.
fn strip_comment(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for c in t.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => {
                if c == '#' && prev_space {
                    break;
                }
                // A quote only opens a quoted scalar at the start of a token.
                if (c == '"' || c == '\'') && (prev_space || out.ends_with([':', '[', '{', ','])) {
                    quote = Some(c);
                }
            }
        }
        prev_space = c == ' ' || c == '\t';
        out.push(c);
    }
    out
}

fn parse_doc(lines: Vec<Line>) -> Result<Yn, YamlError> {
    let mut p = Parser { lines, pos: 0 };
    let first_indent = p.lines[0].indent;
    let node = p.block(first_indent, 0)?;
    if p.pos < p.lines.len() {
        return Err(err(
            p.lines[p.pos].no,
            "unexpected indentation (less than the document's first line)",
        ));
    }
    Ok(node)
}

struct Parser {
    lines: Vec<Line>,
    pos: usize,
}

fn is_seq_item(t: &str) -> bool {
    t == "-" || t.starts_with("- ")
}

impl Parser {
    fn block(&mut self, indent: usize, depth: usize) -> Result<Yn, YamlError> {
        let Some(l) = self.lines.get(self.pos) else {
            return Ok(Yn {
                line: 0,
                v: Yv::Null,
            });
        };
        if depth > MAX_DEPTH {
            return Err(err(l.no, "nesting too deep"));
        }
        if is_seq_item(&l.text) {
            self.seq(indent, depth)
        } else if split_key(&l.text, l.no)?.is_some() {
            self.map(indent, depth)
        } else {
            let l = l.clone();
            self.pos += 1;
            let mut text = l.text.clone();
            if text.starts_with('{') || text.starts_with('[') {
                text = self.join_flow(text, indent, l.no)?;
            } else {
                // A multi-line plain scalar.
                while let Some(n) = self.lines.get(self.pos) {
                    if n.indent < indent
                        || (n.indent == indent && split_key(&n.text, n.no)?.is_some())
                    {
                        break;
                    }
                    text.push(' ');
                    text.push_str(&n.text);
                    self.pos += 1;
                }
            }
            inline(&text, l.no, depth)
        }
    }

    fn seq(&mut self, indent: usize, depth: usize) -> Result<Yn, YamlError> {
        let start = self.lines[self.pos].no;
        let mut items = Vec::new();
        while let Some(l) = self.lines.get(self.pos) {
            if l.indent != indent || !is_seq_item(&l.text) {
                break;
            }
            let rest = l.text[1..].trim_start().to_string();
            if rest.is_empty() {
                self.pos += 1;
                match self.lines.get(self.pos) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        items.push(self.block(ni, depth + 1)?);
                    }
                    _ => items.push(Yn {
                        line: l.no,
                        v: Yv::Null,
                    }),
                }
            } else {
                let off = l.text.len() - rest.len();
                let ni = indent + off;
                self.lines[self.pos].indent = ni;
                self.lines[self.pos].text = rest;
                items.push(self.block(ni, depth + 1)?);
            }
        }
        if let Some(l) = self.lines.get(self.pos) {
            if l.indent > indent {
                return Err(err(l.no, "unexpected indentation inside a sequence"));
            }
        }
        Ok(Yn {
            line: start,
            v: Yv::Seq(items),
        })
    }

    fn map(&mut self, indent: usize, depth: usize) -> Result<Yn, YamlError> {
        let start = self.lines[self.pos].no;
        let mut entries = Vec::new();
        while let Some(l) = self.lines.get(self.pos).cloned() {
            if l.indent != indent {
                break;
            }
            if is_seq_item(&l.text) {
                return Err(err(
                    l.no,
                    "a sequence item where a mapping key was expected",
                ));
            }
            let Some((key, rest)) = split_key(&l.text, l.no)? else {
                return Err(err(l.no, "expected `key: value`"));
            };
            self.pos += 1;
            let value = if rest.is_empty() {
                match self.lines.get(self.pos) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        self.block(ni, depth + 1)?
                    }
                    Some(n) if n.indent == indent && is_seq_item(&n.text) => {
                        self.seq(indent, depth + 1)?
                    }
                    _ => Yn {
                        line: l.no,
                        v: Yv::Null,
                    },
                }
            } else if rest.starts_with('|') || rest.starts_with('>') {
                let mut body = Vec::new();
                while let Some(n) = self.lines.get(self.pos) {
                    if n.indent <= indent {
                        break;
                    }
                    body.push(n.text.clone());
                    self.pos += 1;
                }
                Yn {
                    line: l.no,
                    v: Yv::Str(body.join("\n")),
                }
            } else if rest.starts_with('{') || rest.starts_with('[') {
                let text = self.join_flow(rest, indent, l.no)?;
                inline(&text, l.no, depth)?
            } else {
                let mut text = rest;
                while let Some(n) = self.lines.get(self.pos) {
                    if n.indent <= indent {
                        break;
                    }
                    text.push(' ');
                    text.push_str(&n.text);
                    self.pos += 1;
                }
                inline(&text, l.no, depth)?
            };
            entries.push((key, l.no, value));
        }
        if let Some(l) = self.lines.get(self.pos) {
            if l.indent > indent {
                return Err(err(l.no, "unexpected indentation inside a mapping"));
            }
        }
        Ok(Yn {
            line: start,
            v: Yv::Map(entries),
        })
    }

    /// A flow collection may go on over several more-indented lines.
    fn join_flow(
        &mut self,
        mut text: String,
        indent: usize,
        no: usize,
    ) -> Result<String, YamlError> {
        while !balanced(&text) {
            match self.lines.get(self.pos) {
                Some(n) if n.indent > indent => {
                    text.push(' ');
                    text.push_str(&n.text);
                    self.pos += 1;
                }
                _ => return Err(err(no, "unclosed `{` or `[` (truncated file?)")),
            }
        }
        Ok(text)
    }
}

fn balanced(s: &str) -> bool {
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            },
        }
    }
    depth <= 0 && quote.is_none()
}

/// `key: rest` -> Some((key, rest)); a line that is not a mapping entry -> None.
fn split_key(t: &str, no: usize) -> Result<Option<(String, String)>, YamlError> {
    if t.starts_with('{') || t.starts_with('[') {
        return Ok(None);
    }
    if let Some(q) = t.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let Some(end) = t[1..].find(q) else {
            return Err(err(no, "unterminated quoted string"));
        };
        let key = t[1..1 + end].to_string();
        let after = t[2 + end..].trim_start();
        return Ok(after
            .strip_prefix(':')
            .filter(|r| r.is_empty() || r.starts_with(' '))
            .map(|r| (key, r.trim().to_string())));
    }
    let b = t.as_bytes();
    for i in 0..b.len() {
        if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ') {
            let key = t[..i].trim().to_string();
            if key.is_empty() {
                return Ok(None);
            }
            return Ok(Some((key, t[i + 1..].trim().to_string())));
        }
    }
    Ok(None)
}

/// An inline value: a flow collection or a scalar.
fn inline(s: &str, no: usize, depth: usize) -> Result<Yn, YamlError> {
    let s = s.trim();
    if s.starts_with('{') || s.starts_with('[') {
        let chars: Vec<char> = s.chars().collect();
        let mut f = Flow { c: chars, i: 0, no };
        let v = f.value(depth)?;
        f.ws();
        if f.i < f.c.len() {
            return Err(err(no, "unexpected text after a flow collection"));
        }
        return Ok(v);
    }
    Ok(Yn {
        line: no,
        v: scalar(s, no)?,
    })
}

fn scalar(s: &str, no: usize) -> Result<Yv, YamlError> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut it = rest.chars();
        while let Some(c) = it.next() {
            match c {
                '"' => return Ok(Yv::Str(out)),
                '\\' => match it.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(o) => out.push(o),
                    None => break,
                },
                o => out.push(o),
            }
        }
        return Err(err(no, "unterminated double-quoted string"));
    }
    if let Some(rest) = s.strip_prefix('\'') {
        let mut out = String::new();
        let mut it = rest.chars().peekable();
        while let Some(c) = it.next() {
            if c == '\'' {
                if it.peek() == Some(&'\'') {
                    it.next();
                    out.push('\'');
                } else {
                    return Ok(Yv::Str(out));
                }
            } else {
                out.push(c);
            }
        }
        return Err(err(no, "unterminated single-quoted string"));
    }
    if s.is_empty() || s == "~" || s == "null" {
        return Ok(Yv::Null);
    }
    Ok(Yv::Str(s.to_string()))
}

struct Flow {
    c: Vec<char>,
    i: usize,
    no: usize,
}

impl Flow {
    fn ws(&mut self) {
        while self.i < self.c.len() && self.c[self.i].is_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Yn, YamlError> {
        if depth > MAX_DEPTH {
            return Err(err(self.no, "nesting too deep"));
        }
        self.ws();
        let line = self.no;
        match self.peek() {
            None => Err(err(self.no, "unexpected end of a flow collection")),
            Some('{') => {
                self.i += 1;
                let mut m = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        None => return Err(err(self.no, "unclosed `{`")),
                        Some('}') => {
                            self.i += 1;
                            break;
                        }
                        _ => {}
                    }
                    let key = self.scalar_token(true)?;
                    self.ws();
                    let v = if self.peek() == Some(':') {
                        self.i += 1;
                        self.ws();
                        if matches!(self.peek(), Some(',') | Some('}')) {
                            Yn { line, v: Yv::Null }
                        } else {
                            self.value(depth + 1)?
                        }
                    } else {
                        Yn { line, v: Yv::Null }
                    };
                    m.push((key, line, v));
                    self.ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {}
                        _ => return Err(err(self.no, "expected `,` or `}` in a flow mapping")),
                    }
                }
                Ok(Yn {
                    line,
                    v: Yv::Map(m),
                })
            }
            Some('[') => {
                self.i += 1;
                let mut s = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        None => return Err(err(self.no, "unclosed `[`")),
                        Some(']') => {
                            self.i += 1;
                            break;
                        }
                        _ => {}
                    }
                    s.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some(']') => {}
                        _ => return Err(err(self.no, "expected `,` or `]` in a flow sequence")),
                    }
                }
                Ok(Yn {
                    line,
                    v: Yv::Seq(s),
                })
            }
            Some(_) => {
                let t = self.scalar_token(false)?;
                let v = if t.is_empty() || t == "~" || t == "null" {
                    Yv::Null
                } else {
                    Yv::Str(t)
                };
                Ok(Yn { line, v })
            }
        }
    }

    fn scalar_token(&mut self, is_key: bool) -> Result<String, YamlError> {
        self.ws();
        if let Some(q) = self.peek().filter(|c| *c == '"' || *c == '\'') {
            let start = self.i;
            self.i += 1;
            while self.i < self.c.len() {
                if self.c[self.i] == q {
                    if q == '\'' && self.c.get(self.i + 1) == Some(&'\'') {
                        self.i += 2;
                        continue;
                    }
                    if q == '"' && self.i > 0 && self.c[self.i - 1] == '\\' {
                        self.i += 1;
                        continue;
                    }
                    self.i += 1;
                    let raw: String = self.c[start..self.i].iter().collect();
                    return match scalar(&raw, self.no)? {
                        Yv::Str(s) => Ok(s),
                        _ => Ok(String::new()),
                    };
                }
                self.i += 1;
            }
            return Err(err(self.no, "unterminated quoted string"));
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == ',' || c == '}' || c == ']' {
                break;
            }
            if is_key && c == ':' {
                break;
            }
            if !is_key && c == ':' && matches!(self.c.get(self.i + 1), Some(' ')) {
                break;
            }
            self.i += 1;
        }
        Ok(self.c[start..self.i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_seqs_and_flow() {
        let y = "a:\n  b: 1 # c\n  list:\n  - x: 1\n    y: \"two\"\n  - [3, 4]\nc: {name: n, key: 'k'}\n";
        let d = parse_documents(y).unwrap();
        assert_eq!(d.len(), 1);
        let a = d[0].get("a").unwrap();
        assert_eq!(a.get("b").unwrap().str(), Some("1"));
        let l = a.get("list").unwrap().seq();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].get("y").unwrap().str(), Some("two"));
        assert_eq!(l[0].entry("y").unwrap().0, 5);
        assert_eq!(l[1].seq().len(), 2);
        assert_eq!(d[0].get("c").unwrap().get("key").unwrap().str(), Some("k"));
        assert_eq!(d[0].entry("c").unwrap().0, 7);
    }

    #[test]
    fn multi_doc_and_errors() {
        assert_eq!(parse_documents("a: 1\n---\nb: 2\n---\n").unwrap().len(), 2);
        assert!(parse_documents("a: {b: [1, 2\n").is_err());
        assert!(parse_documents("a: \"open\n").is_err());
        assert!(parse_documents("a:\n\tb: 1\n").is_err());
        assert!(parse_documents("a:\n  b: 1\n c: 2\n").is_err());
        let deep = "[".repeat(10_000);
        assert!(parse_documents(&deep).is_err());
        let mut stairs = String::new();
        for i in 0..5000 {
            stairs.push_str(&" ".repeat(i));
            stairs.push_str("k:\n");
        }
        assert!(parse_documents(&stairs).is_err());
    }
}

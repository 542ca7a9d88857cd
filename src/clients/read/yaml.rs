//! YAML for Kubernetes manifests and Traefik static configs, read with `saphyr-parser`.
//!
//! The parser's spanned events are folded into a small tree in which every node and every
//! mapping key keeps the 1-based line it starts on (the findings cite those lines). Scalars
//! stay strings, as written; a plain empty, `~` or `null` is null. Mappings keep their keys in
//! document order, duplicates included (the first one wins on lookup). Anchors, aliases and
//! complex keys are refused. Nesting is limited so hostile input cannot exhaust the stack.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

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
        self.map()
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, _, n)| n)
    }

    /// (line of the key, value) under `key`.
    pub fn entry(&self, key: &str) -> Option<(usize, &Yn)> {
        self.map()
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, l, n)| (*l, n))
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

fn err(line: usize, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        message: message.into(),
    }
}

/// The scanner's message, without the one that quotes a character of the file. An error at
/// the end of the input (a truncated file) is cited at the line that opened what is left
/// unclosed, as the scanner would name the line after the last one.
fn scan_err(e: &ScanError, text: &str, open: &[Open]) -> YamlError {
    let info = e.info();
    let message = if info.starts_with("unexpected character") {
        "unexpected character"
    } else {
        info
    };
    let last_line = text.lines().count().max(1);
    let at_end = e.marker().index() >= text.chars().count();
    let line = match open.last() {
        Some(o) if at_end => o.line,
        _ => e.marker().line().clamp(1, last_line),
    };
    err(line, message)
}

/// A collection being built: its line, its items, and for a mapping the key awaiting a value.
struct Open {
    line: usize,
    map: bool,
    items: Vec<Yn>,
    entries: Vec<(String, usize, Yn)>,
    key: Option<(String, usize)>,
}

impl Open {
    fn new(line: usize, map: bool) -> Open {
        Open {
            line,
            map,
            items: vec![],
            entries: vec![],
            key: None,
        }
    }

    /// Adds a finished node: an item, a key, or the value of the pending key.
    fn add(&mut self, node: Yn) -> Result<(), YamlError> {
        if !self.map {
            self.items.push(node);
            return Ok(());
        }
        match self.key.take() {
            Some((key, key_line)) => {
                // An empty value belongs to the line of its key.
                let line = if node.v == Yv::Null {
                    key_line
                } else {
                    node.line
                };
                self.entries.push((key, key_line, Yn { line, ..node }));
            }
            None => {
                let key = match node.v {
                    Yv::Str(s) => s,
                    Yv::Null => String::new(),
                    _ => return Err(err(node.line, "complex mapping keys are not supported")),
                };
                self.key = Some((key, node.line));
            }
        }
        Ok(())
    }

    fn finish(self) -> Yn {
        let v = if self.map {
            Yv::Map(self.entries)
        } else {
            Yv::Seq(self.items)
        };
        Yn { line: self.line, v }
    }
}

fn scalar(value: &str, style: ScalarStyle) -> Yv {
    let null = style == ScalarStyle::Plain && matches!(value, "" | "~" | "null");
    if null {
        Yv::Null
    } else {
        Yv::Str(value.to_string())
    }
}

/// Parses a YAML stream into its documents (empty documents are skipped).
pub fn parse_documents(text: &str) -> Result<Vec<Yn>, YamlError> {
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span): (Event, Span) = event.map_err(|e| scan_err(&e, text, &open))?;
        let line = span.start.line();
        let node = match event {
            Event::Scalar(value, style, _, _) => Yn {
                line,
                v: scalar(&value, style),
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if open.len() >= MAX_DEPTH {
                    return Err(err(line, "nesting too deep"));
                }
                let map = matches!(event, Event::MappingStart(..));
                open.push(Open::new(line, map));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(o) => o.finish(),
                None => return Err(err(line, "unbalanced collection")),
            },
            Event::Alias(_) => return Err(err(line, "anchors and aliases are not supported")),
            _ => continue,
        };
        match open.last_mut() {
            Some(parent) => parent.add(node)?,
            None if node.v == Yv::Null => {} // an empty document
            None => docs.push(node),
        }
    }
    Ok(docs)
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
    fn nulls_lines_and_duplicates() {
        let y = "a:\nb: ~\nc: 'null'\nd:\n  - \n  - x\nb: second\n";
        let d = &parse_documents(y).unwrap()[0];
        assert_eq!(
            d.get("a"),
            Some(&Yn {
                line: 1,
                v: Yv::Null
            })
        );
        assert_eq!(d.get("b").unwrap().v, Yv::Null, "the first key wins");
        assert_eq!(d.get("c").unwrap().str(), Some("null"));
        assert_eq!(d.get("d").unwrap().seq()[1].line, 6);
        assert_eq!(d.map().len(), 5);
        let block = "k: |\n  {\"a\": 1}\nz: 2\n";
        let d = &parse_documents(block).unwrap()[0];
        assert_eq!(d.get("k").unwrap().str(), Some("{\"a\": 1}\n"));
        assert_eq!(d.entry("z").unwrap().0, 3);
    }

    #[test]
    fn multi_doc_and_errors() {
        assert_eq!(parse_documents("a: 1\n---\nb: 2\n---\n").unwrap().len(), 2);
        assert!(parse_documents("a: {b: [1, 2\n").is_err());
        assert!(parse_documents("a: \"open\n").is_err());
        assert!(parse_documents("a:\n\tb: 1\n").is_err());
        assert!(parse_documents("a:\n  b: 1\n c: 2\n").is_err());
        assert!(parse_documents("a: &x 1\nb: *x\n").is_err());
        assert!(parse_documents("? [a]\n: 1\n").is_err());
        let deep = "[".repeat(10_000);
        assert!(parse_documents(&deep).is_err());
        let dashes = "- ".repeat(100_000);
        assert_eq!(
            parse_documents(&dashes).unwrap_err().message,
            "nesting too deep"
        );
        let mut stairs = String::new();
        for i in 0..5000 {
            stairs.push_str(&" ".repeat(i));
            stairs.push_str("k:\n");
        }
        assert!(parse_documents(&stairs).is_err());
    }

    #[test]
    fn errors_do_not_quote_the_file() {
        let e = parse_documents("a: 1\nb: `secret-value\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.message.contains("secret"), "{}", e.message);
    }
}

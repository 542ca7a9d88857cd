//! Names in: validation, IDN to punycode, wildcard -> challenge name.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A fully-qualified, lower-case domain name in presentation form with a trailing dot
/// (`_acme-challenge.example.com.`); the root is `.`. Immutable and shared: a clone (a name
/// is copied into every hop, view and report entry) costs a reference count, not a copy.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Name {
    /// The owner relative to the zone (`_acme-challenge.www` in `example.com.`).
    pub fn relative_to(&self, zone: &Name) -> String {
        if zone.is_root() {
            return self.without_dot().to_string();
        }
        self.without_dot()
            .strip_suffix(&format!(".{}", zone.without_dot()))
            .unwrap_or(self.without_dot())
            .to_string()
    }

    /// The root name `.`.
    pub fn root() -> Self {
        Name(Arc::from("."))
    }

    /// Builds a name from presentation text that is already valid ASCII (as read off the
    /// wire or produced by [`parse_input`]). Adds the trailing dot, lower-cases.
    pub fn from_ascii(s: &str) -> Self {
        let s = s.trim();
        if s.is_empty() || s == "." {
            return Self::root();
        }
        let mut out = String::with_capacity(s.len() + 1);
        out.push_str(s);
        Self::from_ascii_owned(out)
    }

    /// [`Name::from_ascii`] for a string the caller owns (no copy when it is already clean).
    pub fn from_ascii_owned(mut s: String) -> Self {
        if s.trim().len() != s.len() {
            return Self::from_ascii(&s);
        }
        if s.is_empty() || s == "." {
            return Self::root();
        }
        s.make_ascii_lowercase();
        if !s.ends_with('.') {
            s.push('.');
        }
        Name(Arc::from(s))
    }

    /// The text with its trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text without the trailing dot (the root stays `.`).
    pub fn without_dot(&self) -> &str {
        if self.is_root() {
            "."
        } else {
            &self.0[..self.0.len() - 1]
        }
    }

    pub fn is_root(&self) -> bool {
        &*self.0 == "."
    }

    /// Number of labels (the root has 0).
    pub fn label_count(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.without_dot().split('.').count()
        }
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Vec<&str> {
        if self.is_root() {
            Vec::new()
        } else {
            self.without_dot().split('.').collect()
        }
    }

    /// The parent name (the root's parent is the root).
    pub fn parent(&self) -> Name {
        match self.without_dot().split_once('.') {
            Some((_, rest)) if !self.is_root() => Name(format!("{rest}.").into()),
            _ => Name::root(),
        }
    }

    /// `label.self`.
    pub fn prepend(&self, label: &str) -> Name {
        if self.is_root() {
            Name(format!("{}.", label.to_ascii_lowercase()).into())
        } else {
            Name(format!("{}.{}", label.to_ascii_lowercase(), self.0).into())
        }
    }

    /// True when `self` is `other` or below it.
    pub fn is_subdomain_of(&self, other: &Name) -> bool {
        other.is_root()
            || self == other
            || self
                .0
                .strip_suffix(&*other.0)
                .is_some_and(|head| head.ends_with('.'))
    }

    /// The ancestors from the top (excluding the root) down to and including `self`:
    /// `www.example.com.` -> `com.`, `example.com.`, `www.example.com.`.
    pub fn ancestors_top_down(&self) -> Vec<Name> {
        let labels = self.labels();
        (0..labels.len())
            .rev()
            .map(|i| Name(format!("{}.", labels[i..].join(".")).into()))
            .collect()
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.contains(char::is_whitespace) || s.contains("..") {
            return Err(serde::de::Error::custom(format!(
                "{s:?} is not a domain name"
            )));
        }
        Ok(Name::from_ascii(&s))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({})", self.0)
    }
}

/// A name the user asked about, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputName {
    /// What the user typed.
    pub input: String,
    /// The identifier as the certificate will carry it (`*.example.com` or `example.com`),
    /// in ASCII (punycode), without a trailing dot.
    pub identifier: String,
    /// The host name without any wildcard label.
    pub host: Name,
    /// `*.` was given.
    pub wildcard: bool,
    /// `_acme-challenge.<host>.`: where the CA looks (RFC 8555 8.4).
    pub challenge: Name,
}

/// Why a name was rejected: the name as given and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {input:?}: {reason}")]
pub struct NameError {
    pub input: String,
    pub reason: NameProblem,
}

/// What is wrong with a name (its Display is the reason users read).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("the name is empty; give a host name such as www.example.com")]
    Empty,
    #[error("it is an IP address: DNS-01 validates only domain names (there is no _acme-challenge name for an address); a certificate for an IP address needs the http-01 or tls-alpn-01 challenge (RFC 8738)")]
    IpAddress,
    #[error("a wildcard is allowed only as the whole leftmost label (*.example.com)")]
    MisplacedWildcard,
    #[error("the name has no labels")]
    NoLabels,
    #[error("it has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("IDNA2008 rejects it ({0}); check the spelling, or give the name as its registry shows it (e.g. xn--bcher-kva.example for bücher.example)")]
    Idna(IdnaProblem),
    #[error("it has an empty label once converted to ASCII (IDNA drops characters such as the soft hyphen U+00AD, and maps U+3002 to a dot)")]
    EmptyLabelAfterIdna,
    #[error("label {label:?} is {} octets long; a label has at most 63", label.len())]
    LabelTooLong { label: String },
    #[error("label {label:?} contains {found:?}; host names use only letters, digits and hyphens")]
    BadCharacter { label: String, found: char },
    #[error("label {label:?} starts or ends with a hyphen")]
    EdgeHyphen { label: String },
    #[error("IDNA2008 rejects label {label:?}: hyphens in the 3rd and 4th position are reserved for encoded labels (xn--); CAs refuse such names")]
    ReservedHyphens { label: String },
    #[error("it is {octets} octets long; with the _acme-challenge. prefix the name would exceed 253 octets")]
    TooLong { octets: usize },
    #[error("it has a single label; give a fully-qualified name such as example.com")]
    SingleLabel,
    #[error("its top-level label {tld:?} is all digits: no top-level domain is numeric (RFC 3696 section 2), and a CA refuses the name; give a name under a real TLD (example.com)")]
    NumericTld { tld: String },
    // CNAME targets (parse_target).
    #[error("a target needs labels separated by single dots")]
    TargetLabels,
    #[error("a label is longer than 63 octets or the name longer than 253")]
    TargetTooLong,
    #[error("use letters, digits, hyphens, underscores and dots only")]
    TargetCharacters,
}

/// Why IDNA (UTS 46 and IDNA2008) refused a name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdnaProblem {
    #[error("invalid punycode, a disallowed character, or hyphens in the 3rd and 4th position")]
    Uts46,
    #[error("a label does not decode")]
    DoesNotDecode,
    #[error("{0:?} (U+{code:04X}) is a symbol, not a letter or digit", code = *.0 as u32)]
    Symbol(char),
}

/// The label the CA prepends to the host (RFC 8555 8.4).
pub const CHALLENGE_LABEL: &str = "_acme-challenge";

/// Validates one name: trailing dot allowed, IDN converted to punycode, a leading `*.`
/// makes a wildcard, a pasted `_acme-challenge.` prefix is taken off.
pub fn parse_input(input: &str) -> Result<InputName, NameError> {
    let err = |reason: NameProblem| NameError {
        input: input.to_string(),
        reason,
    };
    let mut s = input.trim();
    if s.is_empty() {
        return Err(err(NameProblem::Empty));
    }
    if is_ip_address(s) {
        return Err(err(NameProblem::IpAddress));
    }
    if let Some(rest) = s.strip_suffix('.') {
        s = rest;
    }
    let mut wildcard = false;
    if let Some(rest) = s.strip_prefix("*.") {
        wildcard = true;
        s = rest;
    }
    if s.contains('*') {
        return Err(err(NameProblem::MisplacedWildcard));
    }
    let lower = s.to_lowercase();
    let mut s = lower.as_str();
    let prefix = format!("{CHALLENGE_LABEL}.");
    if let Some(rest) = s.strip_prefix(&prefix) {
        s = rest;
    }
    if s.is_empty() {
        return Err(err(NameProblem::NoLabels));
    }
    if s.split('.').any(|l| l.is_empty()) {
        return Err(err(NameProblem::EmptyLabel));
    }
    let ascii = if s.is_ascii() && !s.split('.').any(is_a_label) {
        s.to_string()
    } else {
        to_idna_ascii(s).map_err(err)?
    };
    for label in ascii.split('.') {
        if label.len() > 63 {
            return Err(err(NameProblem::LabelTooLong {
                label: label.to_string(),
            }));
        }
        if let Some(found) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(err(NameProblem::BadCharacter {
                label: label.to_string(),
                found,
            }));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(err(NameProblem::EdgeHyphen {
                label: label.to_string(),
            }));
        }
        if label.len() >= 4 && &label[2..4] == "--" && !is_a_label(label) {
            return Err(err(NameProblem::ReservedHyphens {
                label: label.to_string(),
            }));
        }
    }
    // The challenge name is 16 octets longer and must itself fit in 253.
    if ascii.len() + prefix.len() > 253 {
        return Err(err(NameProblem::TooLong {
            octets: ascii.len(),
        }));
    }
    if !ascii.contains('.') {
        return Err(err(NameProblem::SingleLabel));
    }
    if let Some(tld) = ascii
        .rsplit('.')
        .next()
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err(NameProblem::NumericTld {
            tld: tld.to_string(),
        }));
    }
    let host = Name::from_ascii(&ascii);
    Ok(InputName {
        input: input.to_string(),
        identifier: if wildcard {
            format!("*.{ascii}")
        } else {
            ascii.clone()
        },
        challenge: host.prepend(CHALLENGE_LABEL),
        host,
        wildcard,
    })
}

/// An IPv4 or IPv6 address (also `[v6]`, or `1.2.3.4.` with a trailing dot).
fn is_ip_address(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    s.parse::<std::net::IpAddr>().is_ok()
}

/// An IDNA A-label (`xn--...`): punycode that must decode to a valid U-label.
fn is_a_label(label: &str) -> bool {
    label.len() >= 4 && label[..4].eq_ignore_ascii_case("xn--")
}

/// IDNA to ASCII for names with non-ASCII or `xn--` labels: UTS 46 processing (mapping,
/// punycode, bidi and ContextJ rules, hyphen rules), then the IDNA2008 line UTS 46 does not
/// draw: a U-label holds only letters, marks, digits and hyphens (no symbols or emoji).
fn to_idna_ascii(s: &str) -> Result<String, NameProblem> {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    let ascii = Uts46::new()
        .to_ascii(
            s.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .map_err(|_| NameProblem::Idna(IdnaProblem::Uts46))?
        .into_owned();
    let (unicode, ok) = idna::domain_to_unicode(&ascii);
    if ok.is_err() {
        return Err(NameProblem::Idna(IdnaProblem::DoesNotDecode));
    }
    if let Some(c) = unicode
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '.' || is_mark(*c)))
    {
        return Err(NameProblem::Idna(IdnaProblem::Symbol(c)));
    }
    // IDNA maps some characters to nothing (U+00AD soft hyphen) and others to a dot
    // (U+3002 ideographic full stop): look at the labels again after it.
    let is_dot = |c: char| matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}');
    let given = s.strip_suffix(is_dot).unwrap_or(s).split(is_dot).count();
    let trimmed = ascii.strip_suffix('.').unwrap_or(&ascii);
    if trimmed.split('.').any(|l| l.is_empty()) || trimmed.split('.').count() != given {
        return Err(NameProblem::EmptyLabelAfterIdna);
    }
    Ok(trimmed.to_string())
}

/// A combining mark (the blocks IDNA2008 allows inside words; approximate).
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0670 | 0x06D6..=0x06ED | 0x0900..=0x0DFF | 0x0E31..=0x0EFF | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x200C | 0x200D | 0x20D0..=0x20FF | 0x302A..=0x302F | 0x3099 | 0x309A
        | 0xFE20..=0xFE2F)
}

/// A line of a names list without its `#` comment.
pub fn without_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or_default()
}

/// The names of a list (a file, a paste): one or more per line, separated by spaces,
/// commas or semicolons; `#` starts a comment. Each with its line number (from 1).
pub fn split_names(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().flat_map(|(i, line)| {
        without_comment(line)
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(move |t| (i + 1, t))
    })
}

/// Validates every name before anything is sent; merges exact duplicates, keeps order.
/// Linear in the number of names (a set of the identifiers seen).
pub fn parse_all<S: AsRef<str>>(inputs: &[S]) -> Result<Vec<InputName>, NameError> {
    let parsed = inputs
        .iter()
        .map(|i| parse_input(i.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(unique_names(parsed))
}

/// Names without exact duplicates (the same identifier), in their first order. Linear.
pub fn unique_names(names: Vec<InputName>) -> Vec<InputName> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    names
        .into_iter()
        .filter(|n| seen.insert(n.identifier.clone()))
        .collect()
}

/// Validates a CNAME target (any DNS name: underscores allowed, no wildcard).
pub fn parse_target(input: &str) -> Result<Name, NameError> {
    let err = |reason: NameProblem| NameError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim().trim_end_matches('.').to_ascii_lowercase();
    if s.is_empty() || s.split('.').any(|l| l.is_empty()) {
        return Err(err(NameProblem::TargetLabels));
    }
    if s.split('.').any(|l| l.len() > 63) || s.len() > 253 {
        return Err(err(NameProblem::TargetTooLong));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(err(NameProblem::TargetCharacters));
    }
    Ok(Name::from_ascii(&s))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_list_of_names_splits_on_spaces_commas_and_lines_without_comments() {
        let got: Vec<(usize, &str)> = split_names(
            "# shop\na.example.com, *.a.example.com;b.example.com\n\n  c.example.com # old\n",
        )
        .collect();
        assert_eq!(
            got,
            [
                (2, "a.example.com"),
                (2, "*.a.example.com"),
                (2, "b.example.com"),
                (4, "c.example.com")
            ]
        );
        assert_eq!(split_names("# only a comment\n").count(), 0);
    }
    use super::*;

    /// The problem is a value: a caller tells the cases apart without reading the text,
    /// and the text is the one users have always read.
    #[test]
    fn the_problem_is_a_value_with_the_old_words() {
        assert_eq!(
            parse_input("192.0.2.1").unwrap_err().reason,
            NameProblem::IpAddress
        );
        assert!(matches!(
            parse_input("a.-b-.example").unwrap_err().reason,
            NameProblem::EdgeHyphen { label } if label == "-b-"
        ));
        assert_eq!(
            parse_input("x.\u{2603}.example").unwrap_err().reason,
            NameProblem::Idna(IdnaProblem::Symbol('\u{2603}'))
        );
        assert_eq!(
            parse_input("x.\u{2603}.example").unwrap_err().to_string(),
            "invalid name \"x.\u{2603}.example\": IDNA2008 rejects it ('\u{2603}' (U+2603) is a symbol, not a letter or digit); check the spelling, or give the name as its registry shows it (e.g. xn--bcher-kva.example for bücher.example)"
        );
        assert_eq!(
            parse_input("example").unwrap_err().to_string(),
            "invalid name \"example\": it has a single label; give a fully-qualified name such as example.com"
        );
        let long = format!("{}.example", "a".repeat(64));
        assert_eq!(
            parse_input(&long).unwrap_err().reason.to_string(),
            format!(
                "label {:?} is 64 octets long; a label has at most 63",
                "a".repeat(64)
            )
        );
        assert_eq!(
            parse_target("a..b").unwrap_err().reason,
            NameProblem::TargetLabels
        );
    }

    #[test]
    fn host_wildcard_and_trailing_dot() {
        let n = parse_input("WWW.Example.com.").unwrap();
        assert_eq!(n.challenge.as_str(), "_acme-challenge.www.example.com.");
        assert!(!n.wildcard);
        let w = parse_input("*.example.com").unwrap();
        assert!(w.wildcard);
        assert_eq!(w.identifier, "*.example.com");
        assert_eq!(w.challenge.as_str(), "_acme-challenge.example.com.");
    }

    /// Found by the `names` fuzz target: "Y.\u{ad}" became the single-label "y." (the soft
    /// hyphen maps to nothing) and was accepted.
    #[test]
    fn characters_idna_drops_or_maps_to_dots_leave_no_empty_label() {
        for bad in [
            "Y.\u{ad}",
            "\u{ad}",
            "a.\u{ad}.example",
            "bücher\u{3002}\u{3002}example",
        ] {
            let e = parse_input(bad).unwrap_err();
            let reason = e.reason.to_string();
            assert!(reason.contains("label"), "{bad:?}: {reason}");
        }
        // A trailing ideographic full stop is a trailing dot.
        let n = parse_input("bücher.example\u{3002}").unwrap();
        assert_eq!(n.identifier, "xn--bcher-kva.example");
        let again = parse_input(&n.identifier).unwrap();
        assert_eq!(again.identifier, n.identifier);
    }

    #[test]
    fn idn_is_punycoded() {
        let n = parse_input("bücher.example").unwrap();
        assert_eq!(n.host.as_str(), "xn--bcher-kva.example.");
    }

    #[test]
    fn pasted_challenge_prefix_is_removed() {
        let n = parse_input("_acme-challenge.www.example.com").unwrap();
        assert_eq!(n.host.as_str(), "www.example.com.");
    }

    #[test]
    fn bad_names_are_rejected_with_the_name() {
        for (bad, needle) in [
            ("", "empty"),
            ("www..example.com", "empty label"),
            (&format!("{}.com", "a".repeat(64)), "63"),
            ("under_score.example.com", "'_'"),
            ("-bad.example.com", "hyphen"),
            ("www.*.example.com", "wildcard"),
            ("localhost", "single label"),
            (&format!("{}.com", vec!["a".repeat(60); 4].join(".")), "253"),
        ] {
            let e = parse_input(bad).unwrap_err();
            assert!(e.to_string().contains(needle), "{bad}: {e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn ip_addresses_are_refused_with_the_other_challenges_named() {
        for ip in [
            "192.0.2.1",
            "::1",
            "2001:db8::1",
            "[2001:db8::1]",
            "10.0.0.1.",
        ] {
            let e = parse_input(ip).unwrap_err().to_string();
            assert!(e.contains("IP address"), "{ip}: {e}");
            assert!(e.contains("http-01") && e.contains("tls-alpn-01"), "{e}");
        }
        // A name that merely looks numeric in one label is still a name.
        assert!(parse_input("1.2.3.example.com").is_ok());
        assert!(parse_input("example.123abc").is_ok());
    }

    /// An all-numeric TLD is refused (main accepted `www.example.123`).
    #[test]
    fn an_all_numeric_tld_is_refused() {
        for bad in ["www.example.123", "example.42.", "*.a.0", "1.2.3.4.5"] {
            let e = parse_input(bad).unwrap_err().to_string();
            assert!(e.contains("all digits"), "{bad}: {e}");
        }
    }

    #[test]
    fn idna2008_rejects_are_refused() {
        for bad in [
            "xn--zz.example.com",
            "xn--a.example.com",
            "☃.example.com",
            "ab--cd.example.com",
            "a\u{200D}b.example.com",
        ] {
            let e = parse_input(bad).unwrap_err().to_string();
            assert!(e.contains("IDNA2008"), "{bad}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
        assert_eq!(
            parse_input("xn--bcher-kva.example").unwrap().host.as_str(),
            "xn--bcher-kva.example."
        );
        assert_eq!(
            parse_input("Bücher.example").unwrap().host.as_str(),
            "xn--bcher-kva.example."
        );
    }

    #[test]
    fn parsing_is_linear() {
        let names: Vec<String> = (0..100_000).map(|i| format!("n{i}.bench.test")).collect();
        let t = std::time::Instant::now();
        let all = parse_all(&names).unwrap();
        assert_eq!(all.len(), 100_000);
        // The old linear scan per name took ~38 s (release); this takes well under a second.
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn duplicates_are_merged_in_order() {
        let all = parse_all(&["b.example.com", "a.example.com", "B.example.com."]).unwrap();
        let ids: Vec<_> = all.iter().map(|n| n.identifier.as_str()).collect();
        assert_eq!(ids, vec!["b.example.com", "a.example.com"]);
    }

    #[test]
    fn owned_text_becomes_the_same_name() {
        for text in [
            "WWW.Example.COM",
            "www.example.com.",
            " www.example.com ",
            ".",
            "",
            "  ",
        ] {
            let owned = Name::from_ascii_owned(text.to_string());
            assert_eq!(owned, Name::from_ascii(text), "{text:?}");
        }
        assert_eq!(Name::from_ascii_owned("A.B".into()).as_str(), "a.b.");
        assert_eq!(
            serde_json::to_string(&Name::from_ascii("x.y")).unwrap(),
            "\"x.y.\""
        );
    }
}

//! The names step's state: the typed names and each one's verdict.

use crate::model::name::{parse_input, InputName, NameProblem};
use crate::model::plan::Plan;
use crate::tui::widgets::text_field::TextField;

/// One typed name and its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub token: String,
    pub result: Result<InputName, NameProblem>,
    /// The same identifier came earlier: kept once.
    pub repeated: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamesState {
    pub input: TextField,
    pub parsed: Vec<Parsed>,
    /// The first row of the list on screen (it scrolls; it jumps to the first invalid
    /// name when there is one).
    pub offset: usize,
}

impl NamesState {
    /// The first name marked ✗.
    pub fn first_invalid(&self) -> Option<usize> {
        self.parsed.iter().position(|p| p.result.is_err())
    }
}

impl NamesState {
    pub fn from_plan(plan: &Plan) -> NamesState {
        let text = plan
            .names
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = NamesState {
            input: TextField::new(&text),
            parsed: vec![],
            offset: 0,
        };
        s.reparse();
        s
    }

    /// Validates every token again (cheap: names are short).
    pub fn reparse(&mut self) {
        let mut seen = std::collections::HashSet::new();
        self.parsed = self
            .input
            .value()
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                let result = parse_input(t).map_err(|e| e.reason);
                let repeated = match &result {
                    Ok(n) => !seen.insert(n.identifier.clone()),
                    Err(_) => false,
                };
                Parsed {
                    token: t.to_string(),
                    result,
                    repeated,
                }
            })
            .collect();
    }
}

/// Why the names step is not done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NamesNotReady {
    #[error("{bad} name{} marked ✗: fix or remove {} to go on", if *bad == 1 { " is" } else { "s are" }, if *bad == 1 { "it" } else { "them" })]
    Invalid { bad: usize },
    #[error("type at least one name, e.g. www.example.com")]
    Empty,
}

/// The names, when every one is valid.
pub fn ready(n: &NamesState) -> Result<Vec<InputName>, NamesNotReady> {
    let bad = n.parsed.iter().filter(|p| p.result.is_err()).count();
    if bad > 0 {
        return Err(NamesNotReady::Invalid { bad });
    }
    let ok: Vec<InputName> = n
        .parsed
        .iter()
        .filter(|p| !p.repeated)
        .filter_map(|p| p.result.clone().ok())
        .collect();
    if ok.is_empty() {
        return Err(NamesNotReady::Empty);
    }
    Ok(ok)
}

//! [`Text`]: a text of the report that every copy shares.
//!
//! 100,000 reports stay in memory until a run ends, and most of their texts repeat from
//! name to name: the vantage names, the server addresses, the outcome labels, the record
//! types, the reason a resolver was not asked. [`Text::interned`] keeps one copy of each
//! (the table forgets a text once no report holds it), so a report holds a pointer.

use serde::Serialize;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

/// An immutable text; a clone costs a reference count. Serialises as a string.
///
/// One pointer wide (the length lives with the text): a view holds five of them, and
/// 100,000 names hold 500,000 views.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<Box<str>>);

impl Text {
    /// One shared copy of `s` for every report (see the module's doc).
    pub fn interned(s: &str) -> Text {
        let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = t.texts.get(s) {
            return a.clone();
        }
        if t.texts.len() >= t.sweep_at {
            // Forget the texts no report holds any more (the table is then at most twice
            // the live ones).
            t.texts.retain(|a| Arc::strong_count(&a.0) > 1);
            t.sweep_at = (t.texts.len() * 2).max(MIN_SWEEP);
        }
        let a = Text::from(s);
        t.texts.insert(a.clone());
        a
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const MIN_SWEEP: usize = 1024;

struct Table {
    texts: HashSet<Text>,
    sweep_at: usize,
}

fn table() -> &'static Mutex<Table> {
    static T: OnceLock<Mutex<Table>> = OnceLock::new();
    T.get_or_init(|| {
        Mutex::new(Table {
            texts: HashSet::new(),
            sweep_at: MIN_SWEEP,
        })
    })
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    /// A copy of exactly the text's length when `s` has spare room (see
    /// [`crate::report::NameReport::tighten`]: no odd-sized hole is left behind).
    fn from(s: String) -> Text {
        if s.capacity() > s.len() {
            Text::from(s.as_str())
        } else {
            Text(Arc::new(s.into_boxed_str()))
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::new(Box::from(s)))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &**self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &**self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        **self.0 == **other
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_texts_share_one_copy_and_serialise_as_strings() {
        let a = Text::interned("NOT_ASKED");
        let b = Text::interned(&String::from("NOT_ASKED"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "NOT_ASKED");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"NOT_ASKED\"");
        assert_eq!(format!("{a} {a:?}"), "NOT_ASKED \"NOT_ASKED\"");
    }

    #[test]
    fn a_text_is_one_pointer_wide() {
        // Five texts in each of 500,000 views (100,000 names): a fat pointer would cost
        // 20 MB more.
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Option<Text>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn the_table_forgets_texts_no_report_holds() {
        for i in 0..3 * MIN_SWEEP {
            drop(Text::interned(&format!("gone-{i}")));
        }
        let kept = Text::interned("kept");
        for i in 0..3 * MIN_SWEEP {
            drop(Text::interned(&format!("later-{i}")));
        }
        let t = table().lock().unwrap();
        assert!(t.texts.len() <= 2 * MIN_SWEEP + 1, "{}", t.texts.len());
        assert!(t.texts.contains("kept"));
        drop(t);
        drop(kept);
    }
}

//! Shared widgets: the text and secret fields, the key bar, the poll grid and the findings
//! list. Lists render only the rows that fit (a slice), whatever their length.

pub mod findings_list;
pub mod key_bar;
pub mod poll_grid;
pub mod secret_field;
pub mod text_field;
pub mod text_pane;

/// The first row to show so that `selected` is visible in `height` rows, moving the
/// previous offset as little as possible.
pub fn scroll_to(offset: usize, selected: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// Cuts `s` to `width` characters, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}

/// `s` cut or padded to exactly `width` characters.
pub fn pad(s: &str, width: usize) -> String {
    let f = fit(s, width);
    let n = f.chars().count();
    format!("{f}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        assert_eq!(scroll_to(0, 3, 10), 0);
        assert_eq!(scroll_to(0, 12, 10), 3);
        assert_eq!(scroll_to(5, 2, 10), 2);
        assert_eq!(scroll_to(5, 9, 10), 5);
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}

//! Tabs, which Kurtosis's Starlark (starlark-go) accepts and starlark-rust rejects.
//!
//! starlark-go treats a tab as whitespace between tokens, and in indentation advances to the
//! next multiple of 8 columns. starlark-rust stops at any tab with "tabs are not allowed". We
//! hand it a copy of the text with each tab outside strings and comments turned into one space:
//! offsets stay the same, so spans still point into the original text. In indentation that is
//! only the same program when every indentation width keeps its order (a file indented with
//! tabs throughout, or with spaces and tabs on different levels consistently); otherwise the
//! text is left alone and the parse error stands.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// The text with tabs outside strings and comments replaced by spaces, when that parses as
/// starlark-go would parse the original.
pub(crate) fn untab(text: &str) -> Cow<'_, str> {
    if !text.contains('\t') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    // Indentation width as starlark-go counts it -> as the untabbed text counts it.
    let mut widths: BTreeMap<usize, usize> = BTreeMap::new();
    let mut consistent = true;
    let mut depth = 0usize;
    let mut line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        if line_start {
            line_start = false;
            let (mut go_col, start) = (0usize, i);
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                if bytes[i] == b'\t' {
                    go_col += 8 - go_col % 8;
                    out[i] = b' ';
                } else {
                    go_col += 1;
                }
                i += 1;
            }
            let blank = matches!(bytes.get(i), None | Some(b'\n' | b'\r' | b'#'));
            if !blank && *widths.entry(go_col).or_insert(i - start) != i - start {
                consistent = false;
            }
            continue;
        }
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'"' | b'\'') => {
                i = skip_string(bytes, i, quote);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\t' => out[i] = b' ',
            b'\\' => {
                // A line continuation: the next line does not start a statement.
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 2;
                    continue;
                }
                if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                    i += 3;
                    continue;
                }
            }
            b'\n' => line_start = depth == 0,
            _ => {}
        }
        i += 1;
    }
    // Wider in starlark-go must be wider here, and equal must stay equal.
    let ordered = widths
        .values()
        .zip(widths.values().skip(1))
        .all(|(narrower, wider)| narrower < wider);
    if !consistent || !ordered {
        return Cow::Borrowed(text);
    }
    match String::from_utf8(out) {
        Ok(untabbed) => Cow::Owned(untabbed),
        Err(_) => Cow::Borrowed(text),
    }
}

/// The index just past the string literal opening at `start`.
fn skip_string(bytes: &[u8], start: usize, quote: u8) -> usize {
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            // Raw strings too: a backslash keeps the next character in the string.
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            byte if byte == quote => {
                if !triple {
                    return i + 1;
                }
                if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::untab;

    #[test]
    fn tab_indentation_becomes_spaces_of_the_same_length() {
        let text = "def run(plan):\n\tif True:\n\t\tplan.print(\"a\tb\")\n";
        let untabbed = untab(text);
        assert_eq!(
            untabbed,
            "def run(plan):\n if True:\n  plan.print(\"a\tb\")\n"
        );
        assert_eq!(untabbed.len(), text.len());
    }

    #[test]
    fn tabs_in_strings_and_comments_stay() {
        let text = "x = \"\"\"\n\tkept\n\"\"\"  # a\tcomment\ny =\t[\n\t1,\n]\n";
        assert_eq!(
            untab(text),
            "x = \"\"\"\n\tkept\n\"\"\"  # a\tcomment\ny = [\n 1,\n]\n"
        );
    }

    #[test]
    fn inconsistent_mixing_is_left_alone() {
        // One tab is 8 columns to starlark-go: as deep as eight spaces, deeper than two.
        let text = "def f():\n\tif True:\n        return 1\n";
        assert_eq!(untab(text), text);
        let consistent = "def f():\n  if True:\n\t  return 1\n";
        assert_eq!(untab(consistent), "def f():\n  if True:\n   return 1\n");
    }
}

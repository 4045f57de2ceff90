//! The limits one check works within, so that no text, however hostile, can overflow the
//! stack, exhaust memory or run without end, natively or in WebAssembly.
//!
//! Parsers (starlark's, rnix's) and every walk over a syntax tree recurse once per level of
//! nesting, so nesting is measured on the text, before anything recurses, by [`too_deep`].

use crate::diagnostic::{Diagnostic, Rule};
use crate::text::Span;

/// The deepest nesting a file may have: brackets, blocks and the operators, attribute
/// accesses and calls chained in one expression, counted together. Real packages stay
/// below 30; a few hundred levels already overflow the 1 MiB stack of the wasm module.
pub const MAX_NESTING: usize = 100;

/// The deepest nesting of a module's values (lists, tuples, dicts, structs inside each
/// other): freezing a module recurses once per level. Real packages stay below 20; a few
/// thousand levels overflow the 1 MiB stack of the wasm module.
pub const MAX_VALUE_DEPTH: usize = 1000;

/// The most values (each list, dict, string, number...) one conversion to JSON goes
/// through: `json.encode`, and the output of `run` in the plan.
pub const MAX_JSON_VALUES: usize = 1_000_000;

/// How many Starlark calls deep an evaluation may go. Kurtosis's Starlark refuses recursion,
/// so only a chain of distinct functions goes deep, and real packages stay below 20;
/// starlark-rust's default of 50 refused valid chains. Each level takes native stack, of
/// which the wasm module has 1 MiB.
pub const MAX_CALL_DEPTH: usize = 100;

/// How many modules deep `import_module` may nest: each level is an evaluation inside the one
/// that imports it, on the same stack. Real packages stay below 10.
pub const MAX_IMPORT_DEPTH: usize = 32;

/// The bytes one evaluation may allocate on the Starlark heaps. A value that would take more
/// (`[0] * 1000000000`) is refused before it is made; growth step by step is stopped at the
/// next statement, so a check stays well below 512 MB in all.
pub const MEMORY_BUDGET: usize = 128 << 20;

/// The largest integer a product may make: 64 KiB (some 157,000 digits). Multiplying
/// larger ones takes seconds that no deadline can interrupt.
pub const MAX_INT_BYTES: usize = 64 << 10;
/// The most decimal digits of a number in text (`int("...")`, JSON), which take log2(10)
/// bits each: about [`MAX_INT_BYTES`].
pub const MAX_INT_DIGITS: usize = MAX_INT_BYTES * 12 / 5;

/// The most elements a `range` may have: a quarter of what a list within [`MEMORY_BUDGET`]
/// holds, because `zip` and `enumerate` make a tuple of values per element in one step that
/// nothing interrupts (`list(zip(range(8000000), range(8000000)))` peaked at 743 MB). A loop
/// over more would run into [`MAX_TICKS`] anyway; real packages loop over a few hundred.
pub const MAX_RANGE: u64 = (MEMORY_BUDGET / 8 / 4) as u64;

/// The largest Starlark file a check reads: far beyond any real module, and parsed in well
/// under a second.
pub const MAX_MODULE_BYTES: usize = 4 << 20;

/// The largest package file a check reads (`read_file`, and every other file): half the
/// memory budget, far beyond the data files real packages read.
pub const MAX_READ_BYTES: u64 = (MEMORY_BUDGET / 2) as u64;

/// Steps of evaluation (function calls and loop iterations) before we call it runaway: about
/// half a second natively for an empty loop, and far more than any real package needs.
pub const MAX_TICKS: u64 = 60_000_000;

/// The largest `kurtosis.yml`, and the largest package arguments, a check reads. Real ones
/// take a few KiB; a YAML parser builds several times the text in events and values.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Where the YAML or JSON text of `kurtosis.yml` or the package arguments passes the limits a
/// check reads it within, and what is wrong there: more than [`MAX_CONFIG_BYTES`], or brackets
/// nested past [`MAX_NESTING`] (the YAML parser takes time quadratic in that depth: 100,000
/// levels took 51 s).
pub(crate) fn config_text_problem(text: &str) -> Option<(usize, String)> {
    if text.len() > MAX_CONFIG_BYTES {
        return Some((
            0,
            format!(
                "it has {} KiB, and a check reads at most {} KiB",
                text.len().div_ceil(1 << 10),
                MAX_CONFIG_BYTES >> 10
            ),
        ));
    }
    let offset = first_too_deep_flow(text)?;
    Some((
        offset,
        format!("nested too deeply: more than {MAX_NESTING} levels of brackets"),
    ))
}

/// Byte offset of the bracket that opens the level past [`MAX_NESTING`] in YAML or JSON text.
/// Quoted scalars are skipped; a quote starts one only where a YAML scalar can start, so an
/// apostrophe inside plain text (`it's`) does not hide the brackets after it.
fn first_too_deep_flow(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // The last byte that was not a space: a quote after one of these starts a quoted scalar.
    let mut previous = b'\n';
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'"' | b'\'' if matches!(previous, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?') => {
                at += 1;
                loop {
                    match bytes.get(at) {
                        None => break,
                        // `\"` in double quotes, `''` in single quotes.
                        Some(b'\\') if byte == b'"' => at += 2,
                        Some(b'\'') if byte == b'\'' && bytes.get(at + 1) == Some(&b'\'') => {
                            at += 2
                        }
                        Some(&other) if other == byte => break,
                        Some(_) => at += 1,
                    }
                }
            }
            b'#' if matches!(previous, b'\n') || at > 0 && bytes[at - 1].is_ascii_whitespace() => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(at);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if byte == b'\n' || !byte.is_ascii_whitespace() {
            previous = byte;
        }
        at += 1;
    }
    None
}

/// Why the integer written as `text` cannot be made: more than [`MAX_INT_DIGITS`] digits.
/// Checked before parsing, which takes time quadratic in the digits.
pub(crate) fn too_many_digits(text: &str) -> Option<String> {
    (text.len() > MAX_INT_DIGITS).then(|| {
        format!(
            "a number of {} digits is larger than the integers a check holds ({} KiB)",
            text.len(),
            MAX_INT_BYTES >> 10
        )
    })
}

/// Why the JSON number `text` (in `json.decode` or the package arguments) cannot be a Starlark
/// value: an int past [`MAX_INT_BYTES`], or a float past the range of a double (`1e999`).
pub(crate) fn json_number_problem(text: &str) -> Option<String> {
    let is_int = !text.contains(['.', 'e', 'E']);
    if is_int && let Some(problem) = too_many_digits(text) {
        return Some(problem);
    }
    if is_int || text.parse::<f64>().is_ok_and(f64::is_finite) {
        return None;
    }
    let shown: String = text.chars().take(40).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    Some(format!(
        "the number {shown}{more} is out of the range of a float"
    ))
}

/// A diagnostic for a Starlark file larger than [`MAX_MODULE_BYTES`].
pub(crate) fn too_large(file: &str, text: &str) -> Option<Diagnostic> {
    (text.len() > MAX_MODULE_BYTES).then(|| {
        Diagnostic::new(
            Rule::FileTooLarge,
            file,
            Span::default(),
            format!(
                "this file has {} MiB, and a check reads Starlark files of at most {} MiB; it is not checked",
                text.len().div_ceil(1 << 20),
                MAX_MODULE_BYTES >> 20
            ),
        )
        .with_help("move data into files the package uploads (`plan.upload_files`) instead of Starlark source")
    })
}

/// The first place where the Starlark `text` nests deeper than [`MAX_NESTING`], as a
/// diagnostic. (`flake.nix` has limits of its own, in [`crate::flake`].)
pub(crate) fn too_deep(file: &str, text: &str) -> Option<Diagnostic> {
    let offset = first_too_deep(text)?;
    let end = text[offset..]
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8());
    Some(
        Diagnostic::new(
            Rule::NestingTooDeep,
            file,
            Span::new(offset as u32, end as u32),
            format!("nested too deeply: more than {MAX_NESTING} levels of brackets, blocks and chained operators; the file is not checked"),
        )
        .with_help("split the expression with variables, or the code into functions"),
    )
}

/// Byte offset of the token that passes [`MAX_NESTING`].
///
/// The depth at a token is an upper bound of the syntax tree's depth there: the number of
/// open brackets and indented blocks, plus at every bracket level the operators, dots and
/// closed brackets (calls, indexing) chained since the last `,`, `:`, `=`, `;` or line end,
/// since each of those can nest the tree one level deeper (`1 + 1 + 1`, `a.b.c`, `f()()`).
fn first_too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // The chain length at every open bracket level; level 0 is the statement itself.
    let mut chains: Vec<usize> = vec![0];
    let mut chained = 0;
    let mut indents: Vec<usize> = Vec::new();
    let mut at_line_start = true;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if at_line_start && chains.len() == 1 {
            let width = bytes[at..]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            at += width;
            at_line_start = false;
            match bytes.get(at) {
                None | Some(b'\n' | b'\r' | b'#') => continue,
                Some(_) => {
                    while indents.last().is_some_and(|&last| last >= width) {
                        indents.pop();
                    }
                    if width > 0 {
                        indents.push(width);
                    }
                    if indents.len() > MAX_NESTING {
                        return Some(at);
                    }
                    continue;
                }
            }
        }
        let mut deeper = false;
        match byte {
            // Inside brackets, a line break neither ends the expression nor indents.
            b'\n' if chains.len() == 1 => {
                at_line_start = true;
                chained -= chains[0];
                chains[0] = 0;
            }
            b'#' => {
                at = line_end(bytes, at);
                continue;
            }
            // A backslash joins two lines into one expression.
            b'\\' if bytes.get(at + 1) == Some(&b'\n') => {
                at += 2;
                continue;
            }
            b'\'' | b'"' => {
                at = string_end(bytes, at);
                continue;
            }
            b'(' | b'[' | b'{' => {
                chains.push(0);
                deeper = true;
            }
            b')' | b']' | b'}' => {
                if chains.len() > 1 {
                    chained -= chains.pop().unwrap_or(0);
                }
                if let Some(chain) = chains.last_mut() {
                    *chain += 1;
                    chained += 1;
                }
            }
            b',' | b':' | b';' | b'=' if !is_comparison(bytes, at) => {
                if let Some(chain) = chains.last_mut() {
                    chained -= *chain;
                    *chain = 0;
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' | b'!'
            | b'.' | b'=' => {
                if let Some(chain) = chains.last_mut() {
                    *chain += 1;
                    chained += 1;
                    deeper = true;
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let end = at
                    + bytes[at..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                if matches!(
                    &bytes[at..end],
                    b"and" | b"or" | b"not" | b"in" | b"if" | b"else" | b"lambda" | b"is"
                ) && let Some(chain) = chains.last_mut()
                {
                    *chain += 1;
                    chained += 1;
                    if chains.len() - 1 + chained + indents.len() > MAX_NESTING {
                        return Some(at);
                    }
                }
                at = end;
                continue;
            }
            _ => {}
        }
        // Each step deeper adds one level, so this is the depth of the step just taken.
        if deeper && chains.len() - 1 + chained + indents.len() > MAX_NESTING {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// `=` in `==`, `<=`, `>=`, `!=`: an operator, not an assignment.
fn is_comparison(bytes: &[u8], at: usize) -> bool {
    bytes[at] == b'='
        && (bytes.get(at + 1) == Some(&b'=')
            || at > 0 && matches!(bytes[at - 1], b'=' | b'<' | b'>' | b'!'))
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |position| from + position)
}

/// The offset just past the string that starts at `start`. A string that does not end (a
/// syntax error the parser will report) ends at its line's end, or the text's for a long one.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let long = bytes[start..].starts_with(&[quote; 3]);
    let mut at = start + if long { 3 } else { 1 };
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'\n' if !long => return at,
            byte if byte == quote && !long => return at + 1,
            byte if byte == quote && bytes[at..].starts_with(&[quote; 3]) => return at + 3,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error_at(text: &str) -> Option<usize> {
        first_too_deep(text)
    }

    #[test]
    fn brackets_at_the_limit_pass_and_one_more_is_refused_at_the_bracket() {
        let at_limit = format!(
            "x = {}1{}\n",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(depth_error_at(&at_limit), None);
        let past = format!(
            "x = {}1{}\n",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert_eq!(depth_error_at(&past), Some(4 + MAX_NESTING));
    }

    #[test]
    fn a_long_operator_chain_is_refused_where_it_passes_the_limit() {
        let text = format!("x = {}\n", vec!["1"; 300].join(" + "));
        let at = depth_error_at(&text).expect("too deep");
        assert_eq!(&text[at..at + 1], "+");
        assert_eq!(text[..at].matches('+').count(), MAX_NESTING);
    }

    #[test]
    fn chains_restart_after_commas_and_lines() {
        let list = format!("x = [{}]\n", vec!["a + b"; 1000].join(", "));
        assert_eq!(depth_error_at(&list), None);
        let lines = "x = a + b\n".repeat(1000);
        assert_eq!(depth_error_at(&lines), None);
        let calls = "x = f(a = 1, b = 2) == g(c = [1, 2])\n".repeat(100);
        assert_eq!(depth_error_at(&calls), None);
    }

    #[test]
    fn blocks_nest_by_indentation() {
        let nested: String = (0..=MAX_NESTING + 1)
            .map(|level| format!("{}x = {level}\n", " ".repeat(level)))
            .collect();
        let at = depth_error_at(&nested).expect("too deep");
        assert_eq!(
            &nested[at..nested[at..].find('\n').unwrap() + at],
            "x = 101"
        );
        let flat = "def f():\n    if x:\n        pass\n".repeat(200);
        assert_eq!(depth_error_at(&flat), None);
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = "(".repeat(MAX_NESTING * 2);
        let text = format!("x = '{deep}'\ny = \"\"\"{deep}\n{deep}\"\"\"\n# {deep}\n");
        assert_eq!(depth_error_at(&text), None);
    }

    #[test]
    fn lines_inside_brackets_do_not_indent() {
        let text = format!("x = [\n{}1,\n]  + y\n", " ".repeat(200));
        assert_eq!(depth_error_at(&text), None);
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        let text = format!("x = 'abc\ny = {}\n", "(".repeat(MAX_NESTING + 1));
        assert!(depth_error_at(&text).is_some());
    }
}

//! A forgiving tokenizer for the text around the cursor.
//!
//! starlark's own lexer reports an unfinished string or bracket as an error and the parser
//! gives up, yet that is exactly the state of the text while the user types
//! (`plan.exec(service_name="`). This scanner never fails: an unterminated string runs to the
//! end of its line (or of the file, for triple quotes) and brackets need not balance. It knows
//! only what the editor features need: names, strings, brackets, commas, `=`, `.`, comments.

use crate::text::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Name,
    /// A string literal; `closed` is false when the text ends before its closing quote.
    Str {
        closed: bool,
    },
    Number,
    /// `(`, `[` or `{`.
    Open(u8),
    /// `)`, `]` or `}`.
    Close(u8),
    Comma,
    /// A single `=`, as in `name = value`.
    Assign,
    Dot,
    Comment,
    /// Any other operator or punctuation (`==`, `+=`, `:`, ...).
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub span: Span,
    /// The first token of its line, at column 0, outside any bracket (or a name there): it
    /// starts a top-level statement (Kurtosis's Starlark has no top-level `if` or `for`, so
    /// nothing else does).
    pub starts_statement: bool,
}

impl Token {
    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.span.range()).unwrap_or("")
    }

    pub fn is_code(&self) -> bool {
        self.kind != Kind::Comment
    }
}

/// The tokens of `text`, comments included.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'\n' || byte == b'\r' {
            at_line_start = true;
            i += 1;
            continue;
        }
        if byte == b' ' || byte == b'\t' || byte == b'\x0c' || byte == b'\\' {
            at_line_start = false;
            i += 1;
            continue;
        }
        let start = i;
        let kind = if byte == b'#' {
            i = line_end(bytes, i);
            Kind::Comment
        } else if let Some(quote_at) = string_start(bytes, i) {
            let (end, closed) = string_end(bytes, quote_at);
            i = end;
            Kind::Str { closed }
        } else if byte.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            Kind::Number
        } else if is_name_start(text, i) {
            while i < bytes.len() && is_name_char(text, i) {
                i += char_len(text, i);
            }
            Kind::Name
        } else {
            i += 1;
            match byte {
                b'(' | b'[' | b'{' => Kind::Open(byte),
                b')' | b']' | b'}' => Kind::Close(byte),
                b',' => Kind::Comma,
                b'.' => Kind::Dot,
                b'=' if bytes.get(i) == Some(&b'=') => {
                    i += 1;
                    Kind::Other
                }
                b'=' => Kind::Assign,
                b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' => {
                    while i < bytes.len() && matches!(bytes[i], b'*' | b'/' | b'<' | b'>') {
                        i += 1;
                    }
                    if bytes.get(i) == Some(&b'=') {
                        i += 1;
                    }
                    Kind::Other
                }
                _ => {
                    // Skip the rest of a multi-byte character.
                    i = start + char_len(text, start);
                    Kind::Other
                }
            }
        };
        // A name at column 0 starts a statement even inside an unclosed bracket: the user is
        // typing in the statement above. A closing bracket at column 0 does not.
        let starts_statement =
            at_line_start && line_start_column(bytes, start) && (depth == 0 || kind == Kind::Name);
        if starts_statement {
            depth = 0;
        }
        at_line_start = false;
        match kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        tokens.push(Token {
            kind,
            span: Span::new(start as u32, i as u32),
            starts_statement: starts_statement && kind != Kind::Comment,
        });
    }
    tokens
}

fn line_start_column(bytes: &[u8], at: usize) -> bool {
    at == 0 || matches!(bytes[at - 1], b'\n' | b'\r')
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |at| from + at)
}

/// Where the opening quote is, when a string literal (with an `r`, `b` or `f` prefix) starts
/// at `i`.
fn string_start(bytes: &[u8], i: usize) -> Option<usize> {
    let mut at = i;
    while at < bytes.len() && at - i < 2 && matches!(bytes[at], b'r' | b'R' | b'b' | b'B' | b'f') {
        at += 1;
    }
    matches!(bytes.get(at), Some(b'"' | b'\'')).then_some(at)
}

/// The end of the string whose opening quote is at `quote_at`, and whether it is closed.
fn string_end(bytes: &[u8], quote_at: usize) -> (usize, bool) {
    let quote = bytes[quote_at];
    let triple = bytes.get(quote_at + 1) == Some(&quote) && bytes.get(quote_at + 2) == Some(&quote);
    let mut i = quote_at + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' | b'\r' if !triple => return (i, false),
            b if b == quote && !triple => return (i + 1, true),
            b if b == quote
                && bytes.get(i + 1) == Some(&quote)
                && bytes.get(i + 2) == Some(&quote) =>
            {
                return (i + 3, true);
            }
            _ => i += 1,
        }
    }
    (bytes.len(), false)
}

fn char_len(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(1, char::len_utf8)
}

fn is_name_start(text: &str, at: usize) -> bool {
    text[at..]
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
}

fn is_name_char(text: &str, at: usize) -> bool {
    text[at..]
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphanumeric())
}

/// The contents of a string token without its prefix and quotes, as a span into the text: what
/// the user sees as the value. For an unclosed string it runs to the token's end.
pub(crate) fn string_contents(text: &str, token: &Token) -> Span {
    let written = token.text(text).as_bytes();
    let Some(quote_at) = written.iter().position(|&b| b == b'"' || b == b'\'') else {
        return token.span;
    };
    let quote = written[quote_at];
    let triple = written.len() >= quote_at + 3
        && written[quote_at + 1] == quote
        && written[quote_at + 2] == quote;
    let open = quote_at + if triple { 3 } else { 1 };
    let close = match token.kind {
        Kind::Str { closed: true } => written.len().saturating_sub(if triple { 3 } else { 1 }),
        _ => written.len(),
    };
    let start = token.span.start + open.min(written.len()) as u32;
    let end = token.span.start + close.max(open.min(written.len())) as u32;
    Span::new(start, end)
}

/// The value of a plain string literal (no escapes resolved beyond `\"` and `\\`), or `None`
/// for a token that is not a string.
pub(crate) fn string_value(text: &str, token: &Token) -> Option<String> {
    if !matches!(token.kind, Kind::Str { .. }) {
        return None;
    }
    let inner = text.get(string_contents(text, token).range())?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            c => value.push(c),
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        tokenize(text)
            .iter()
            .map(|token| (token.kind, token.text(text)))
            .collect()
    }

    #[test]
    fn an_unfinished_string_runs_to_the_end_of_its_line() {
        assert_eq!(
            kinds("f(a=\"x\nb"),
            vec![
                (Kind::Name, "f"),
                (Kind::Open(b'('), "("),
                (Kind::Name, "a"),
                (Kind::Assign, "="),
                (Kind::Str { closed: false }, "\"x"),
                (Kind::Name, "b"),
            ]
        );
    }

    #[test]
    fn operators_with_equals_are_not_assignments() {
        let found: Vec<Kind> = kinds("a == b != c += d").iter().map(|t| t.0).collect();
        assert!(!found.contains(&Kind::Assign));
    }

    #[test]
    fn only_column_zero_tokens_outside_brackets_start_statements() {
        let text = "x = f(\n1)\n  z\nw = g(\n)\nv = h(\nu = 1\n";
        let starts: Vec<&str> = tokenize(text)
            .iter()
            .filter(|token| token.starts_statement)
            .map(|token| token.text(text))
            .collect();
        assert_eq!(starts, ["x", "w", "v", "u"]);
    }

    #[test]
    fn string_contents_exclude_prefix_and_quotes() {
        let text = "r'''ab''' \"cd";
        let tokens = tokenize(text);
        assert_eq!(&text[string_contents(text, &tokens[0]).range()], "ab");
        assert_eq!(&text[string_contents(text, &tokens[1]).range()], "cd");
        assert_eq!(string_value(text, &tokens[1]).as_deref(), Some("cd"));
    }

    #[test]
    fn any_text_tokenizes_within_bounds() {
        for text in ["\"\\", "'''", "é(", "r", "1.e", "\\\n", "🚀=\"🚀"] {
            for token in tokenize(text) {
                assert!(token.span.end as usize <= text.len(), "{text:?}");
                assert!(text.get(token.span.range()).is_some(), "{text:?}");
            }
        }
    }
}

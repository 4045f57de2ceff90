//! What surrounds an offset in the token stream: the word or string under it and the calls it
//! is inside, with their arguments so far. Works on text that does not parse.

use super::lex::{Kind, Token, string_value, tokenize};
use crate::text::Span;

/// One argument of a call as written so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arg {
    /// `Some(name)` once `name =` is written.
    pub keyword: Option<String>,
    /// The keyword's span, for `name =` arguments.
    pub keyword_span: Option<Span>,
    /// From the separator before it (`(` or `,`) to the one after, so that an offset in the
    /// blank after a comma is in this argument.
    pub span: Span,
    /// The value's tokens (after `=` for keywords): index range into the token list.
    pub value: std::ops::Range<usize>,
}

/// A call the offset is inside: between its `(` and its `)`, or after an unclosed `(`.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// The dotted callee, e.g. `["plan", "add_service"]`.
    pub callee: Vec<String>,
    /// The whole call, to the closing `)` or as far as it is written.
    pub span: Span,
    pub args: Vec<Arg>,
    /// The argument the offset is in.
    pub active: usize,
}

impl Call {
    pub fn keyword_given(&self, name: &str) -> bool {
        self.args
            .iter()
            .any(|arg| arg.keyword.as_deref() == Some(name))
    }

    /// How many arguments before the active one are positional.
    pub fn positional_before_active(&self) -> usize {
        self.args[..self.active.min(self.args.len())]
            .iter()
            .filter(|arg| arg.keyword.is_none())
            .count()
    }
}

/// The tokens of one file and what an offset is in.
pub(crate) struct Cursor<'t> {
    pub text: &'t str,
    pub tokens: Vec<Token>,
    pub offset: u32,
}

impl<'t> Cursor<'t> {
    /// `offset` is clamped to the text and to a character boundary.
    pub fn new(text: &'t str, offset: u32) -> Self {
        let mut at = (offset as usize).min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        Cursor {
            text,
            tokens: tokenize(text),
            offset: at as u32,
        }
    }

    /// The index of the token the offset is in or touches at its end (a word being typed).
    pub fn token_at(&self) -> Option<usize> {
        let offset = self.offset;
        self.tokens.iter().position(|token| {
            token.span.start <= offset
                && (offset < token.span.end
                    || (offset == token.span.end
                        && matches!(
                            token.kind,
                            Kind::Name | Kind::Str { closed: false } | Kind::Comment
                        )))
        })
    }

    /// The name token under the offset, preferring the one the offset ends (`plan.ad|`).
    pub fn name_at(&self) -> Option<usize> {
        let at = self.token_at()?;
        (self.tokens[at].kind == Kind::Name).then_some(at)
    }

    /// The string token the offset is inside (between its quotes).
    pub fn string_at(&self) -> Option<usize> {
        let at = self.token_at()?;
        let token = &self.tokens[at];
        let inside = super::lex::string_contents(self.text, token);
        (matches!(token.kind, Kind::Str { .. })
            && inside.start <= self.offset
            && self.offset <= inside.end)
            .then_some(at)
    }

    pub fn in_comment(&self) -> bool {
        self.token_at()
            .is_some_and(|at| self.tokens[at].kind == Kind::Comment)
    }

    /// The index of the code token before `index`, skipping comments.
    pub fn previous(&self, index: usize) -> Option<usize> {
        (0..index).rev().find(|&at| self.tokens[at].is_code())
    }

    /// The index of the code token after `index`, skipping comments.
    pub fn next(&self, index: usize) -> Option<usize> {
        (index + 1..self.tokens.len()).find(|&at| self.tokens[at].is_code())
    }

    /// The receiver chain before the `.` that precedes token `index` (`a.b.c` for `a.b.c.d`),
    /// or `None` when the token does not follow a dot.
    pub fn receiver(&self, index: usize) -> Option<Vec<String>> {
        let dot = self.previous(index)?;
        (self.tokens[dot].kind == Kind::Dot).then(|| self.dotted_before(dot).0)
    }

    /// The chain of names that ends just before token `end` (exclusive): `a.b` in `a.b(`.
    fn dotted_before(&self, end: usize) -> (Vec<String>, Option<usize>) {
        let mut names = Vec::new();
        let mut first = None;
        let mut at = self.previous(end);
        while let Some(index) = at {
            if self.tokens[index].kind != Kind::Name {
                break;
            }
            names.push(self.tokens[index].text(self.text).to_owned());
            first = Some(index);
            match self.previous(index) {
                Some(dot) if self.tokens[dot].kind == Kind::Dot => at = self.previous(dot),
                _ => break,
            }
        }
        names.reverse();
        (names, first)
    }

    /// The calls the offset is inside, innermost first.
    pub fn calls(&self) -> Vec<Call> {
        let mut open: Vec<usize> = Vec::new();
        for (index, token) in self.tokens.iter().enumerate() {
            if token.span.start >= self.offset {
                break;
            }
            if token.starts_statement {
                // A new top-level statement: brackets left open above it were never closed.
                open.clear();
            }
            match token.kind {
                Kind::Open(_) => open.push(index),
                Kind::Close(close) => {
                    if let Some(found) = open
                        .iter()
                        .rposition(|&at| matches(self.tokens[at].kind, close))
                    {
                        open.truncate(found);
                    }
                }
                _ => {}
            }
        }
        open.iter()
            .rev()
            .filter(|&&at| self.tokens[at].kind == Kind::Open(b'('))
            .filter_map(|&at| self.call_at(at))
            .collect()
    }

    /// The call whose `(` is token `paren`, when a name chain precedes it.
    pub fn call_at(&self, paren: usize) -> Option<Call> {
        let (callee, first) = self.dotted_before(paren);
        let first = first?;
        let mut args = Vec::new();
        let mut depth = 0usize;
        let mut arg_start = paren + 1;
        let mut end = self.text.len() as u32;
        let mut index = paren + 1;
        while index < self.tokens.len() {
            let token = self.tokens[index];
            if token.starts_statement {
                end = self.tokens[index - 1].span.end;
                break;
            }
            match token.kind {
                Kind::Open(_) => depth += 1,
                Kind::Close(_) if depth == 0 => {
                    end = token.span.end;
                    break;
                }
                Kind::Close(_) => depth -= 1,
                Kind::Comma if depth == 0 => {
                    args.push(self.arg(arg_start, index));
                    arg_start = index + 1;
                }
                _ => {}
            }
            index += 1;
        }
        args.push(self.arg(arg_start, index));
        // A trailing empty argument after the last comma only counts when the offset is in it.
        let active = args
            .iter()
            .position(|arg| self.offset <= arg.span.end.max(arg.span.start))
            .unwrap_or(args.len().saturating_sub(1));
        Some(Call {
            callee,
            span: Span::new(self.tokens[first].span.start, end),
            args,
            active,
        })
    }

    /// The argument made of tokens `start..end` (exclusive), separators not included.
    fn arg(&self, start: usize, end: usize) -> Arg {
        let code: Vec<usize> = (start..end).filter(|&i| self.tokens[i].is_code()).collect();
        let separator_end = start
            .checked_sub(1)
            .map_or(0, |before| self.tokens[before].span.end);
        let next_start = self
            .tokens
            .get(end)
            .map_or(self.text.len() as u32, |token| token.span.start);
        // An argument owns the space around it up to the separators, so an offset in the blank
        // after a comma is in the next argument.
        let span = Span::new(separator_end, next_start);
        match code.as_slice() {
            [name, assign, ..]
                if self.tokens[*name].kind == Kind::Name
                    && self.tokens[*assign].kind == Kind::Assign =>
            {
                Arg {
                    keyword: Some(self.tokens[*name].text(self.text).to_owned()),
                    keyword_span: Some(self.tokens[*name].span),
                    span,
                    value: assign + 1..end,
                }
            }
            _ => Arg {
                keyword: None,
                keyword_span: None,
                span,
                value: start..end,
            },
        }
    }

    /// The string literal that is the whole value of `arg`, if it is one.
    pub fn string_argument(&self, arg: &Arg) -> Option<String> {
        let code: Vec<&Token> = self.tokens[arg.value.clone()]
            .iter()
            .filter(|token| token.is_code())
            .collect();
        match code.as_slice() {
            [token] => string_value(self.text, token),
            _ => None,
        }
    }

    /// Whether the offset is where a value goes in `arg`: right after `name =`, or in an
    /// empty positional argument.
    pub fn at_empty_value(&self, arg: &Arg) -> bool {
        !self.tokens[arg.value.clone()]
            .iter()
            .any(|token| token.is_code() && token.span.start < self.offset)
            && arg.span.start <= self.offset
    }
}

fn matches(open: Kind, close: u8) -> bool {
    matches!(
        (open, close),
        (Kind::Open(b'('), b')') | (Kind::Open(b'['), b']') | (Kind::Open(b'{'), b'}')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text with `|` removed, and the offset where it was.
    fn at(marked: &str) -> (String, u32) {
        let offset = marked.find('|').unwrap() as u32;
        (marked.replacen('|', "", 1), offset)
    }

    #[test]
    fn an_unclosed_call_is_found_with_its_keywords() {
        let (text, offset) = at("x = plan.add_service(name=\"x\", con|\n");
        let cursor = Cursor::new(&text, offset);
        let calls = cursor.calls();
        assert_eq!(calls[0].callee, ["plan", "add_service"]);
        assert!(calls[0].keyword_given("name"));
        assert_eq!(calls[0].active, 1);
    }

    #[test]
    fn nested_calls_come_innermost_first() {
        let (text, offset) = at("f(a=g(b=1, |), c=2)");
        let cursor = Cursor::new(&text, offset);
        let calls = cursor.calls();
        let callees: Vec<_> = calls.iter().map(|call| call.callee.join(".")).collect();
        assert_eq!(callees, ["g", "f"]);
        assert_eq!(calls[0].active, 1);
        assert!(calls[1].keyword_given("c"));
    }

    #[test]
    fn a_closed_call_before_the_offset_is_not_enclosing() {
        let (text, offset) = at("f(1) |");
        assert!(Cursor::new(&text, offset).calls().is_empty());
    }

    #[test]
    fn a_new_top_level_statement_ends_an_unclosed_call() {
        let (text, offset) = at("f(a,\ndef g():\n    |");
        assert!(Cursor::new(&text, offset).calls().is_empty());
    }
}

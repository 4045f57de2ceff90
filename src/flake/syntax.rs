//! rnix parse errors as SF501 diagnostics.

use rnix::SyntaxKind::{self, *};
use rnix::TextRange;
use rnix::parser::ParseError;

use crate::diagnostic::{Diagnostic, Rule};
use crate::text::Span;

/// Most SF501 diagnostics for one file; a parse error cascade beyond this adds nothing.
const MAX_SYNTAX_DIAGNOSTICS: usize = 200;

/// Limits that keep rnix (whose recursive descent spends some fifteen stack frames per level of
/// nesting, recurses without a limit into lists and right-associative operators, and whose trees
/// drop recursively) inside a small stack (1 MiB in WebAssembly), and its parse time (quadratic on
/// long application chains and runs of path characters) short. No real flake comes near them.
const MAX_FILE_BYTES: usize = 4 << 20;
const MAX_TOKENS: usize = 200_000;
/// Brackets, keyword constructs and operator chains open at one point.
const MAX_NESTING: usize = 150;
const MAX_OPERAND_RUN: usize = 500;
const MAX_TREE_DEPTH: usize = 1_000;
/// rnix's tokenizer rescans a run of path characters (`a.b.c`, `1+1+1`) at every token in it.
const MAX_PATH_CHAR_RUN: usize = 4_096;

/// Parses `text`, or `None` when it is too large or too deeply nested to read safely.
pub fn parse(text: &str) -> Option<rnix::Parse<rnix::Root>> {
    if text.len() > MAX_FILE_BYTES
        || longest_path_char_run(text) > MAX_PATH_CHAR_RUN
        || !tokens_within_limits(text)
    {
        return None;
    }
    let parse = rnix::Root::parse(text);
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for event in parse.syntax().preorder() {
        match event {
            rnix::WalkEvent::Enter(_) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            rnix::WalkEvent::Leave(_) => depth = depth.saturating_sub(1),
        }
    }
    if deepest > MAX_TREE_DEPTH {
        // Dropping the tree would recurse as deep as it is: leak it instead (only for
        // pathological input).
        std::mem::forget(parse);
        return None;
    }
    Some(parse)
}

fn longest_path_char_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'_' | b'.' | b'+' | b'-') {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Estimates, from the tokens alone, how deeply rnix will recurse, and checks the limits.
fn tokens_within_limits(text: &str) -> bool {
    /// One open bracket (or the file itself).
    struct Frame {
        bracket: SyntaxKind,
        /// `let`, `with`, `assert`, `if` opened in this bracket: they nest until it closes.
        keywords: usize,
        /// Operators and lambdas since the last `;`, `,` or `=` in this bracket.
        chain: usize,
    }
    let new_frame = |bracket| Frame {
        bracket,
        keywords: 0,
        chain: 0,
    };
    let mut frames = vec![new_frame(TOKEN_WHITESPACE)];
    // Sum of `1 + keywords + chain` over all frames but the innermost, kept incrementally.
    let mut outer = 0usize;
    let mut tokens = 0usize;
    let mut run = 0usize;
    for (kind, _) in rnix::tokenize(text) {
        if kind.is_trivia() {
            continue;
        }
        tokens += 1;
        let frame = frames.last_mut().expect("the file's frame is never popped");
        match kind {
            TOKEN_L_BRACE | TOKEN_L_BRACK | TOKEN_L_PAREN | TOKEN_INTERPOL_START => {
                outer += 1 + frame.keywords + frame.chain;
                frames.push(new_frame(kind));
                run = 0;
            }
            TOKEN_R_BRACE | TOKEN_R_BRACK | TOKEN_R_PAREN | TOKEN_INTERPOL_END => {
                if frames.len() > 1 {
                    frames.pop();
                    let frame = frames.last().expect("checked");
                    outer = outer.saturating_sub(1 + frame.keywords + frame.chain);
                }
                run = 0;
            }
            TOKEN_IDENT | TOKEN_DOT | TOKEN_INTEGER | TOKEN_FLOAT | TOKEN_PATH | TOKEN_URI
            | TOKEN_STRING_END => {
                // Items of a list do not nest; anything else in a row is an application chain.
                if frame.bracket != TOKEN_L_BRACK {
                    run += 1;
                }
            }
            TOKEN_STRING_START | TOKEN_STRING_CONTENT => {}
            TOKEN_SEMICOLON | TOKEN_COMMA | TOKEN_ASSIGN => {
                frame.chain = 0;
                run = 0;
            }
            TOKEN_LET | TOKEN_WITH | TOKEN_ASSERT | TOKEN_IF => {
                frame.keywords += 1;
                run = 0;
            }
            _ => {
                frame.chain += 1;
                run = 0;
            }
        }
        let frame = frames.last().expect("the file's frame is never popped");
        let nesting = outer + 1 + frame.keywords + frame.chain;
        if tokens > MAX_TOKENS || nesting > MAX_NESTING || run > MAX_OPERAND_RUN {
            return false;
        }
    }
    true
}

/// One diagnostic per parse error (exact repeats dropped), in the order rnix reports them.
pub fn diagnostics(file: &str, text: &str, errors: &[ParseError]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for error in errors.iter().take(MAX_SYNTAX_DIAGNOSTICS) {
        let (span, message, help) = describe_error(text, error);
        let mut diagnostic = Diagnostic::new(Rule::FlakeSyntax, file, span, message);
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        if !out
            .iter()
            .any(|seen| seen.span == diagnostic.span && seen.message == diagnostic.message)
        {
            out.push(diagnostic);
        }
    }
    out
}

fn span(range: TextRange) -> Span {
    Span::new(range.start().into(), range.end().into())
}

fn end_of(text: &str) -> Span {
    let end = u32::try_from(text.len()).unwrap_or(u32::MAX);
    Span::new(end, end)
}

/// The source text of a range, shortened for a message; `None` when empty or blank.
fn snippet(text: &str, range: TextRange) -> Option<String> {
    let slice = text.get(usize::from(range.start())..usize::from(range.end()))?;
    let line = slice.trim().lines().next()?.trim();
    if line.is_empty() {
        return None;
    }
    let mut short: String = line.chars().take(24).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    Some(short.replace('`', "'"))
}

fn found(text: &str, range: TextRange, kind: Option<SyntaxKind>) -> String {
    match snippet(text, range) {
        Some(snippet) => format!("`{snippet}`"),
        None => kind.map_or_else(|| "this".to_owned(), |kind| kind_name(kind).to_owned()),
    }
}

fn describe_error(text: &str, error: &ParseError) -> (Span, String, Option<String>) {
    const CLOSE: &str = "close every `{`, `[`, `(`, string and `${` that is still open";
    match error {
        ParseError::Unexpected(range) => {
            (span(*range), format!("unexpected {} in the Nix expression", found(text, *range, None)), None)
        }
        ParseError::UnexpectedExtra(range) => (
            span(*range),
            format!("unexpected {} after the end of the flake's expression", found(text, *range, None)),
            Some("`flake.nix` holds a single attribute set `{ ... }`; remove the extra text or fix the braces before it".to_owned()),
        ),
        ParseError::UnexpectedWanted(got, range, wanted) => {
            let help = if wanted.contains(&TOKEN_SEMICOLON) {
                Some("end every `name = value` binding with `;`".to_owned())
            } else if wanted.iter().any(|kind| matches!(kind, TOKEN_R_BRACE | TOKEN_R_BRACK | TOKEN_R_PAREN)) {
                Some(CLOSE.to_owned())
            } else {
                None
            };
            (
                span(*range),
                format!("expected {}, found {}", expected(wanted), found(text, *range, Some(*got))),
                help,
            )
        }
        ParseError::UnexpectedDoubleBind(range) => (
            span(*range),
            "a function's argument pattern is bound twice with `@`".to_owned(),
            Some("keep one `name@` binding".to_owned()),
        ),
        ParseError::UnexpectedEOF => {
            (end_of(text), "unexpected end of file".to_owned(), Some(CLOSE.to_owned()))
        }
        ParseError::UnexpectedEOFWanted(wanted) => (
            end_of(text),
            format!("unexpected end of file, expected {}", expected(wanted)),
            Some(CLOSE.to_owned()),
        ),
        ParseError::DuplicatedArgs(range, name) => (
            span(*range),
            format!("argument `{name}` appears twice in the function's pattern"),
            Some(format!("remove one `{name}`")),
        ),
        ParseError::RecursionLimitExceeded => (
            Span::new(0, 0),
            "the expression is nested too deeply to be parsed".to_owned(),
            Some("split the deeply nested expression with `let` bindings".to_owned()),
        ),
        // `ParseError` is not `#[non_exhaustive]`, but be ready for new variants.
        #[allow(unreachable_patterns)]
        _ => (Span::new(0, 0), "the file is not valid Nix".to_owned(), None),
    }
}

/// "`;`", "`;` or `.`", "`a`, `b` or `c`".
fn expected(kinds: &[SyntaxKind]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for kind in kinds {
        let name = kind_name(*kind);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.split_last() {
        None => "something else".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn kind_name(kind: SyntaxKind) -> &'static str {
    match kind {
        TOKEN_COMMENT => "a comment",
        TOKEN_ERROR => "an invalid token",
        TOKEN_WHITESPACE => "whitespace",
        TOKEN_ASSERT => "`assert`",
        TOKEN_ELSE => "`else`",
        TOKEN_IF => "`if`",
        TOKEN_IN => "`in`",
        TOKEN_INHERIT => "`inherit`",
        TOKEN_LET => "`let`",
        TOKEN_OR => "`or`",
        TOKEN_REC => "`rec`",
        TOKEN_THEN => "`then`",
        TOKEN_WITH => "`with`",
        TOKEN_L_BRACE => "`{`",
        TOKEN_R_BRACE => "`}`",
        TOKEN_L_BRACK => "`[`",
        TOKEN_R_BRACK => "`]`",
        TOKEN_ASSIGN => "`=`",
        TOKEN_AT => "`@`",
        TOKEN_COLON => "`:`",
        TOKEN_COMMA => "`,`",
        TOKEN_DOT => "`.`",
        TOKEN_ELLIPSIS => "`...`",
        TOKEN_QUESTION => "`?`",
        TOKEN_SEMICOLON => "`;`",
        TOKEN_L_PAREN => "`(`",
        TOKEN_R_PAREN => "`)`",
        TOKEN_CONCAT => "`++`",
        TOKEN_INVERT => "`!`",
        TOKEN_UPDATE => "`//`",
        TOKEN_ADD => "`+`",
        TOKEN_SUB => "`-`",
        TOKEN_MUL => "`*`",
        TOKEN_DIV => "`/`",
        TOKEN_AND_AND => "`&&`",
        TOKEN_EQUAL => "`==`",
        TOKEN_IMPLICATION => "`->`",
        TOKEN_LESS => "`<`",
        TOKEN_LESS_OR_EQ => "`<=`",
        TOKEN_MORE => "`>`",
        TOKEN_MORE_OR_EQ => "`>=`",
        TOKEN_NOT_EQUAL => "`!=`",
        TOKEN_OR_OR => "`||`",
        TOKEN_PIPE_RIGHT => "`|>`",
        TOKEN_PIPE_LEFT => "`<|`",
        TOKEN_FLOAT => "a number",
        TOKEN_IDENT => "a name",
        TOKEN_INTEGER => "a number",
        TOKEN_INTERPOL_END => "`}`",
        TOKEN_INTERPOL_START => "`${`",
        TOKEN_PATH => "a path",
        TOKEN_URI => "a URI",
        TOKEN_STRING_CONTENT => "string content",
        TOKEN_STRING_END => "the end of the string",
        TOKEN_STRING_START => "a string",
        NODE_ATTRPATH | NODE_DYNAMIC => "an attribute name",
        NODE_IDENT => "a name",
        NODE_STRING => "a string",
        NODE_PATTERN | NODE_PAT_BIND | NODE_PAT_ENTRY | NODE_IDENT_PARAM => "a function argument",
        NODE_ATTR_SET => "an attribute set",
        NODE_LIST => "a list",
        _ => "an expression",
    }
}

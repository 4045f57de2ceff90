//! The top-level definitions of a Starlark file, read from starlark's AST.
//!
//! A file being edited often does not parse. Kurtosis's Starlark has no top-level `if` or
//! `for`, so a top-level statement starts at column 0: the statement holding the parse error
//! is blanked out (offsets kept) and the rest parsed again, so every other definition of the
//! file still has its place while the user types in one of them.

use starlark_syntax::syntax::ast::{
    AssignTargetP, AstExpr, AstLiteral, AstStmt, ExprP, ParameterP, StmtP,
};

use super::lex::{Token, tokenize};
use crate::text::Span;

/// Parse errors blanked out before giving up on a file.
const MAX_REPAIRS: usize = 8;

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub name: String,
    pub name_span: Span,
    /// The whole statement.
    pub span: Span,
    pub kind: ItemKind,
}

#[derive(Clone, Debug)]
pub(crate) enum ItemKind {
    Function {
        /// The parameters as written, e.g. `["plan", "name = \"web\""]`.
        params: Vec<String>,
        docstring: Option<String>,
    },
    Value {
        /// `name = import_module("locator")`: the locator as written.
        import: Option<String>,
    },
}

impl Item {
    /// `def name(a, b = 1)` or `name`, for hovers and completion details.
    pub fn signature(&self) -> String {
        match &self.kind {
            ItemKind::Function { params, .. } => {
                format!("def {}({})", self.name, params.join(", "))
            }
            ItemKind::Value {
                import: Some(locator),
            } => {
                format!("{} = import_module(\"{locator}\")", self.name)
            }
            ItemKind::Value { import: None } => self.name.clone(),
        }
    }

    pub fn docstring(&self) -> Option<&str> {
        match &self.kind {
            ItemKind::Function { docstring, .. } => docstring.as_deref(),
            ItemKind::Value { .. } => None,
        }
    }
}

/// The top-level functions and values of `text`, in order; names bound twice keep the first.
pub(crate) fn outline(path: &str, text: &str) -> Vec<Item> {
    let mut repaired = text.to_owned();
    let mut tokens: Option<Vec<Token>> = None;
    for _ in 0..=MAX_REPAIRS {
        let error = match crate::eval::parse(path, &repaired) {
            Ok(ast) => return items(ast.statement(), text),
            Err(error) => error,
        };
        let Some(at) = error.span().map(|span| span.span.begin().get()) else {
            break;
        };
        let tokens = tokens.get_or_insert_with(|| tokenize(text));
        let candidates = statements_around(tokens, at, text.len() as u32);
        if !candidates
            .into_iter()
            .any(|statement| blank(&mut repaired, statement))
        {
            break;
        }
    }
    Vec::new()
}

/// The top-level statements a parse error at `offset` may belong to, likeliest first: when the
/// error is at a statement's first token, the statement above is probably unfinished (as
/// `f(a,` is while the user types); then the statement holding it.
fn statements_around(tokens: &[Token], offset: u32, end: u32) -> Vec<Span> {
    let starts: Vec<u32> = tokens
        .iter()
        .filter(|token| token.starts_statement)
        .map(|token| token.span.start)
        .collect();
    let statement = |index: usize| {
        let start = if index == 0 { 0 } else { starts[index - 1] };
        Span::new(start, starts.get(index).copied().unwrap_or(end))
    };
    let index = starts.partition_point(|&start| start <= offset);
    let mut found = Vec::new();
    if index >= 2 && starts[index - 1] == offset {
        found.push(statement(index - 1));
    }
    found.push(statement(index));
    found
}

/// Replaces the span's characters (line breaks kept) with spaces; false when nothing changed.
fn blank(text: &mut String, span: Span) -> bool {
    let Some(part) = text.get(span.range()) else {
        return false;
    };
    let blanked: String = part
        .bytes()
        .map(|byte| match byte {
            b'\n' | b'\r' => byte as char,
            _ => ' ',
        })
        .collect();
    if blanked == part {
        return false;
    }
    text.replace_range(span.range(), &blanked);
    true
}

fn span_of(span: starlark::codemap::Span) -> Span {
    Span::new(span.begin().get(), span.end().get())
}

fn items(root: &AstStmt, text: &str) -> Vec<Item> {
    let mut found: Vec<Item> = Vec::new();
    for stmt in top_level(root) {
        let item = match &stmt.node {
            StmtP::Def(def) => Item {
                name: def.name.node.ident.clone(),
                name_span: span_of(def.name.span),
                span: span_of(stmt.span),
                kind: ItemKind::Function {
                    params: def
                        .params
                        .iter()
                        .filter(|param| {
                            !matches!(param.node, ParameterP::NoArgs | ParameterP::Slash)
                        })
                        .filter_map(|param| text.get(span_of(param.span).range()))
                        .map(str::to_owned)
                        .collect(),
                    docstring: docstring(&def.body),
                },
            },
            StmtP::Assign(assign) => match &assign.lhs.node {
                AssignTargetP::Identifier(ident) => Item {
                    name: ident.node.ident.clone(),
                    name_span: span_of(ident.span),
                    span: span_of(stmt.span),
                    kind: ItemKind::Value {
                        import: import_locator(&assign.rhs),
                    },
                },
                _ => continue,
            },
            _ => continue,
        };
        if !found.iter().any(|other| other.name == item.name) {
            found.push(item);
        }
    }
    found
}

fn top_level(stmt: &AstStmt) -> Vec<&AstStmt> {
    match &stmt.node {
        StmtP::Statements(stmts) => stmts.iter().flat_map(top_level).collect(),
        _ => vec![stmt],
    }
}

/// The string a function body starts with.
fn docstring(body: &AstStmt) -> Option<String> {
    let first = top_level(body).into_iter().next()?;
    match &first.node {
        StmtP::Expression(expr) => match &expr.node {
            ExprP::Literal(AstLiteral::String(text)) => Some(text.node.trim().to_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// The locator of `import_module("...")`, when `expr` is that call with a literal.
fn import_locator(expr: &AstExpr) -> Option<String> {
    let ExprP::Call(callee, args) = &expr.node else {
        return None;
    };
    let ExprP::Identifier(name) = &callee.node else {
        return None;
    };
    if name.node.ident != "import_module" {
        return None;
    }
    match &args.args.first()?.node.expr().node {
        ExprP::Literal(AstLiteral::String(locator)) => Some(locator.node.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_values_and_imports_are_listed_with_their_places() {
        let text = "lib = import_module(\"./lib.star\")\nPORT = 80\n\ndef run(plan, args = {}):\n    \"\"\"Starts it.\"\"\"\n    pass\n";
        let found = outline("main.star", text);
        let names: Vec<_> = found.iter().map(|item| item.name.as_str()).collect();
        assert_eq!(names, ["lib", "PORT", "run"]);
        assert!(matches!(&found[0].kind, ItemKind::Value { import: Some(l) } if l == "./lib.star"));
        assert_eq!(found[2].signature(), "def run(plan, args = {})");
        assert_eq!(found[2].docstring(), Some("Starts it."));
        assert_eq!(&text[found[2].name_span.range()], "run");
    }

    #[test]
    fn a_statement_that_does_not_parse_leaves_the_others() {
        let text =
            "def a():\n    pass\n\ndef b(plan):\n    plan.add_service(name=\"x\", con\n\nC = 1\n";
        let names: Vec<_> = outline("main.star", text)
            .into_iter()
            .map(|item| item.name)
            .collect();
        assert_eq!(names, ["a", "C"]);
    }
}

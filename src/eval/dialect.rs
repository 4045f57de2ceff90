//! Checks for what Kurtosis's Starlark (go-starlark with its default options) rejects but
//! starlark-rust accepts, and the entry point's signature.

use starlark::syntax::AstModule;
use starlark_syntax::syntax::ast::{AssignTargetP, AstStmt, ExprP, ParameterP, StmtP};

use crate::diagnostic::{Diagnostic, Rule};
use crate::text::Span;

fn span_of(span: starlark::codemap::Span) -> Span {
    Span::new(span.begin().get(), span.end().get())
}

/// Every dialect violation in one file.
pub(crate) fn check(file: &str, ast: &AstModule) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut globals: Vec<(String, Span)> = Vec::new();
    for stmt in top_level(ast.statement()) {
        match &stmt.node {
            StmtP::Load(load) => found.push(
                Diagnostic::new(
                    Rule::DialectViolation,
                    file,
                    span_of(stmt.span),
                    "`load()` is not available in Kurtosis",
                )
                .with_help(format!(
                    "use `module = import_module(\"{}\")` and `module.name`",
                    load.module.node
                )),
            ),
            StmtP::If(..) | StmtP::IfElse(..) => found.push(
                Diagnostic::new(
                    Rule::DialectViolation,
                    file,
                    span_of(stmt.span),
                    "`if` is not allowed at the top level of a file in Kurtosis",
                )
                .with_help("move the statement into a function, e.g. into `run`"),
            ),
            StmtP::For(..) => found.push(
                Diagnostic::new(
                    Rule::DialectViolation,
                    file,
                    span_of(stmt.span),
                    "`for` loops are not allowed at the top level of a file in Kurtosis",
                )
                .with_help("move the loop into a function, or use a comprehension"),
            ),
            StmtP::Assign(assign) => assigned_names(&assign.lhs, &mut |name, span| {
                note_global(file, name, span, &mut globals, &mut found)
            }),
            StmtP::AssignModify(target, ..) => assigned_names(target, &mut |name, span| {
                note_global(file, name, span, &mut globals, &mut found)
            }),
            StmtP::Def(def) => note_global(
                file,
                &def.name.node.ident,
                span_of(def.name.span),
                &mut globals,
                &mut found,
            ),
            _ => {}
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

fn assigned_names(
    target: &AssignTargetP<starlark_syntax::syntax::ast::AstNoPayload>,
    f: &mut dyn FnMut(&str, Span),
) {
    match target {
        AssignTargetP::Identifier(ident) => f(&ident.node.ident, span_of(ident.span)),
        AssignTargetP::Tuple(targets) => {
            for target in targets {
                assigned_names(&target.node, f);
            }
        }
        AssignTargetP::Index(_) | AssignTargetP::Dot(..) => {}
    }
}

fn note_global(
    file: &str,
    name: &str,
    span: Span,
    globals: &mut Vec<(String, Span)>,
    found: &mut Vec<Diagnostic>,
) {
    if let Some((_, first)) = globals.iter().find(|(global, _)| global == name) {
        found.push(
            Diagnostic::new(Rule::DialectViolation, file, span, format!("`{name}` is assigned twice at the top level; Kurtosis does not allow reassigning a global"))
                .with_label(file, *first, "first assigned here")
                .with_help("use a new name, or compute the value in a function"),
        );
    } else {
        globals.push((name.to_owned(), span));
    }
}

/// A parameter of the entry function: `*args` and `**kwargs` keep their stars in `name`.
pub(crate) struct Param {
    pub name: String,
    pub span: Span,
    pub has_default: bool,
    /// The default only stands for "the caller fills this in": `None`, `{}` or `[]`.
    pub placeholder_default: bool,
}

/// The parameters of `def <name>(...)` at the top level of a file, with the span of the name.
pub(crate) fn function_params(ast: &AstModule, name: &str) -> Option<(Span, Vec<Param>)> {
    top_level(ast.statement())
        .into_iter()
        .find_map(|stmt| match &stmt.node {
            StmtP::Def(def) if def.name.node.ident == name => {
                let params = def
                    .params
                    .iter()
                    .filter_map(|param| match &param.node {
                        ParameterP::Normal(ident, _, default) => Some(Param {
                            name: ident.node.ident.clone(),
                            span: span_of(param.span),
                            has_default: default.is_some(),
                            placeholder_default: default.as_ref().is_some_and(|default| {
                                match &default.node {
                                    ExprP::Identifier(name) => name.node.ident == "None",
                                    ExprP::Dict(entries) => entries.is_empty(),
                                    ExprP::List(items) => items.is_empty(),
                                    _ => false,
                                }
                            }),
                        }),
                        ParameterP::Args(ident, _) => Some(Param {
                            name: format!("*{}", ident.node.ident),
                            span: span_of(param.span),
                            has_default: true,
                            placeholder_default: false,
                        }),
                        ParameterP::KwArgs(ident, _) => Some(Param {
                            name: format!("**{}", ident.node.ident),
                            span: span_of(param.span),
                            has_default: true,
                            placeholder_default: false,
                        }),
                        ParameterP::NoArgs | ParameterP::Slash => None,
                    })
                    .collect();
                Some((span_of(def.name.span), params))
            }
            _ => None,
        })
}

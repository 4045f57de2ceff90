//! Spans of the arguments of every call in a file, so a diagnostic about one argument points
//! at that argument rather than at the whole call.

use std::collections::HashMap;

use starlark::syntax::AstModule;
use starlark_syntax::syntax::ast::{ArgumentP, AstExpr, AstStmt, ExprP};

use crate::text::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArgSite {
    /// `Some(name)` for `name = value`; `None` for a positional argument.
    pub name: Option<String>,
    /// The whole argument (`name = value`).
    pub span: Span,
    /// Only the value.
    pub value: Span,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CallSite {
    pub args: Vec<ArgSite>,
    /// The call spreads `*args` or `**kwargs`, so argument positions are unknown.
    pub spread: bool,
}

/// Every call expression of one file, by its span.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallSites {
    calls: HashMap<Span, CallSite>,
    /// Every dict and list literal, by its span: the (key, value) spans of its entries (lists
    /// have no keys), so a problem with one entry can point at that entry.
    literals: HashMap<Span, Vec<(Option<Span>, Span)>>,
}

fn span_of(span: starlark::codemap::Span) -> Span {
    Span::new(span.begin().get(), span.end().get())
}

impl CallSites {
    pub fn of(ast: &AstModule) -> Self {
        let mut sites = CallSites::default();
        visit_stmt(ast.statement(), &mut sites);
        sites
    }

    pub fn get(&self, call: Span) -> Option<&CallSite> {
        self.calls.get(&call)
    }

    /// The entries of the dict or list literal written exactly at `span`.
    pub fn literal(&self, span: Span) -> Option<&[(Option<Span>, Span)]> {
        self.literals.get(&span).map(Vec::as_slice)
    }
}

fn visit_stmt(stmt: &AstStmt, sites: &mut CallSites) {
    stmt.visit_expr(|expr| visit_expr(expr, sites));
    stmt.visit_stmt(|child| visit_stmt(child, sites));
}

fn visit_expr(expr: &AstExpr, sites: &mut CallSites) {
    if let ExprP::Call(_, args) = &expr.node {
        let mut site = CallSite::default();
        for arg in &args.args {
            match &arg.node {
                ArgumentP::Positional(value) => site.args.push(ArgSite {
                    name: None,
                    span: span_of(arg.span),
                    value: span_of(value.span),
                }),
                ArgumentP::Named(name, value) => site.args.push(ArgSite {
                    name: Some(name.node.clone()),
                    span: span_of(arg.span),
                    value: span_of(value.span),
                }),
                ArgumentP::Args(_) | ArgumentP::KwArgs(_) => site.spread = true,
            }
        }
        sites.calls.insert(span_of(expr.span), site);
    }
    match &expr.node {
        ExprP::Dict(entries) => {
            let entries = entries
                .iter()
                .map(|(key, value)| (Some(span_of(key.span)), span_of(value.span)))
                .collect();
            sites.literals.insert(span_of(expr.span), entries);
        }
        ExprP::List(items) => {
            let items = items
                .iter()
                .map(|item| (None, span_of(item.span)))
                .collect();
            sites.literals.insert(span_of(expr.span), items);
        }
        _ => {}
    }
    expr.visit_expr(|child| visit_expr(child, sites));
}

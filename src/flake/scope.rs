//! What Nix refuses about a flake's names when it parses the file, so that every `nix build`
//! of the flake stops, whatever output it asks for: a variable that nothing binds ("undefined
//! variable"; Nix resolves every variable while it parses, except under `with`, whose names are
//! only known when it runs) and a function argument named twice.

use std::collections::HashMap;

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode, WalkEvent};
use rowan::ast::AstNode;

use super::eval::{GLOBALS, ident_text, span_of, static_attr_name};
use crate::text::Span;

/// One use of a variable that nothing binds, with the names in scope there (for a suggestion).
pub struct Unbound {
    pub name: String,
    pub span: Span,
    pub in_scope: Vec<String>,
}

/// The most findings of one kind reported: Nix itself stops at the first, and a file of
/// nothing else must not make a report (with a suggestion each) of millions.
pub const MAX_REPORTED: usize = 100;

/// The first [`MAX_REPORTED`] uses of variables in `root` that no `let`, `rec` set, function
/// argument or Nix's base environment binds and no `with` may provide, in the order of the
/// text.
pub fn unbound_variables(root: &ast::Root) -> Vec<Unbound> {
    let mut scope = Scope::default();
    let mut found = Vec::new();
    for event in root.syntax().preorder() {
        if found.len() >= MAX_REPORTED {
            found.truncate(MAX_REPORTED);
            break;
        }
        match event {
            WalkEvent::Enter(node) => {
                if is_with_body(&node) {
                    scope.withs += 1;
                }
                if let Some(ident) = ast::Ident::cast(node.clone())
                    && is_variable(&ident)
                {
                    let name = ident_text(&ident);
                    if !scope.resolves(&name) {
                        found.push(Unbound {
                            span: span_of(&ident),
                            in_scope: scope.names(),
                            name,
                        });
                    }
                    continue;
                }
                // `inherit x;` takes `x` from outside the set or `let` it is written in.
                for (name, span) in inherited_names(&node) {
                    if !scope.resolves(&name) {
                        found.push(Unbound {
                            name,
                            span,
                            in_scope: scope.names(),
                        });
                    }
                }
                scope.bind(bound_names(&node));
            }
            WalkEvent::Leave(node) => {
                if is_with_body(&node) {
                    scope.withs -= 1;
                }
                scope.unbind(bound_names(&node));
            }
        }
    }
    found
}

#[derive(Default)]
struct Scope {
    /// How many bindings of each name are visible.
    visible: HashMap<String, usize>,
    /// How many `with` bodies the walk is in.
    withs: usize,
}

impl Scope {
    fn resolves(&self, name: &str) -> bool {
        self.withs > 0
            || self.visible.contains_key(name)
            || GLOBALS.contains(&name)
            // Nix's builtins under their `__` names (`__curPos`, `__currentSystem`, ...); which
            // exist depends on the version of Nix.
            || name.starts_with("__")
    }

    fn bind(&mut self, names: Vec<String>) {
        for name in names {
            *self.visible.entry(name).or_default() += 1;
        }
    }

    fn unbind(&mut self, names: Vec<String>) {
        for name in names {
            if let Some(count) = self.visible.get_mut(&name) {
                *count -= 1;
                if *count == 0 {
                    self.visible.remove(&name);
                }
            }
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.visible.keys().cloned().collect();
        names.extend(GLOBALS.iter().map(|name| (*name).to_owned()));
        names.sort();
        names
    }
}

/// A function argument named twice (`{ a, a }:`, `a@{ a }:`): "duplicate formal function
/// argument".
pub struct DuplicateArgument {
    pub name: String,
    pub span: Span,
    pub first: Span,
}

/// The first [`MAX_REPORTED`] arguments named twice in one function of `root`.
pub fn duplicate_arguments(root: &ast::Root) -> Vec<DuplicateArgument> {
    let mut found = Vec::new();
    for pattern in root.syntax().descendants().filter_map(ast::Pattern::cast) {
        let mut names: Vec<ast::Ident> = pattern
            .pat_entries()
            .filter_map(|entry| entry.ident())
            .chain(pattern.pat_bind().and_then(|bind| bind.ident()))
            .collect();
        names.sort_by_key(|ident| ident.syntax().text_range().start());
        let mut first_of: HashMap<String, Span> = HashMap::new();
        for ident in names {
            let name = ident_text(&ident);
            let span = span_of(&ident);
            match first_of.get(&name) {
                Some(&first) => found.push(DuplicateArgument { name, span, first }),
                None => {
                    first_of.insert(name, span);
                }
            }
        }
        if found.len() >= MAX_REPORTED {
            break;
        }
    }
    found.truncate(MAX_REPORTED);
    found
}

/// `body` of `with namespace; body`, where every name may come from `namespace`.
fn is_with_body(node: &SyntaxNode) -> bool {
    node.parent()
        .and_then(ast::With::cast)
        .and_then(|with| with.body())
        .is_some_and(|body| body.syntax() == node)
}

/// An identifier that names a variable, not an attribute, an argument or an inherited name.
fn is_variable(ident: &ast::Ident) -> bool {
    let Some(parent) = ident.syntax().parent() else {
        return true;
    };
    match parent.kind() {
        SyntaxKind::NODE_ATTRPATH
        | SyntaxKind::NODE_INHERIT
        | SyntaxKind::NODE_PAT_BIND
        | SyntaxKind::NODE_IDENT_PARAM => false,
        // `{ name ? default }`: only the default is an expression.
        SyntaxKind::NODE_PAT_ENTRY => ast::PatEntry::cast(parent)
            .and_then(|entry| entry.ident())
            .is_none_or(|name| name.syntax() != ident.syntax()),
        _ => true,
    }
}

/// The names a node binds for everything inside it: a `let`'s and a `rec` set's attributes
/// (their first key, when it is static) and inherited names, a function's arguments.
fn bound_names(node: &SyntaxNode) -> Vec<String> {
    if let Some(lambda) = ast::Lambda::cast(node.clone()) {
        return match lambda.param() {
            Some(ast::Param::IdentParam(param)) => {
                param.ident().map(|i| ident_text(&i)).into_iter().collect()
            }
            Some(ast::Param::Pattern(pattern)) => pattern
                .pat_entries()
                .filter_map(|entry| entry.ident())
                .chain(pattern.pat_bind().and_then(|bind| bind.ident()))
                .map(|ident| ident_text(&ident))
                .collect(),
            None => Vec::new(),
        };
    }
    let Some((entries, true)) = entries(node) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries {
        match entry {
            ast::Entry::AttrpathValue(value) => names.extend(
                value
                    .attrpath()
                    .and_then(|path| path.attrs().next())
                    .and_then(|attr| static_attr_name(&attr))
                    .map(|name| name.to_string()),
            ),
            ast::Entry::Inherit(inherit) => names.extend(
                inherit
                    .attrs()
                    .filter_map(|attr| static_attr_name(&attr))
                    .map(|name| name.to_string()),
            ),
        }
    }
    names
}

/// The entries of a set or a `let`, and whether their names are in scope inside it (in a
/// `let`, a `rec` set and a legacy `let { ... }`).
fn entries(node: &SyntaxNode) -> Option<(Vec<ast::Entry>, bool)> {
    if let Some(let_in) = ast::LetIn::cast(node.clone()) {
        return Some((let_in.entries().collect(), true));
    }
    if let Some(legacy) = ast::LegacyLet::cast(node.clone()) {
        return Some((legacy.entries().collect(), true));
    }
    let set = ast::AttrSet::cast(node.clone())?;
    Some((set.entries().collect(), set.rec_token().is_some()))
}

/// The names `inherit name;` (without `(from)`) takes from the scope around `node`, a set or
/// a `let`.
fn inherited_names(node: &SyntaxNode) -> Vec<(String, Span)> {
    let Some((entries, _)) = entries(node) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| match entry {
            ast::Entry::Inherit(inherit) if inherit.from().is_none() => Some(inherit),
            _ => None,
        })
        .flat_map(|inherit| inherit.attrs().collect::<Vec<_>>())
        .filter_map(|attr| Some((static_attr_name(&attr)?.to_string(), span_of(&attr))))
        .collect()
}

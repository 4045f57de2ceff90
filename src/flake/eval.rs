//! A small, lazy, conservative evaluator for the parts of a flake that can be read statically.
//!
//! It understands attribute sets (with Nix's merging of dotted keys), `let`, `rec`, `inherit`,
//! lambdas, strings with interpolation, lists, `//`, `with`, and a few library functions that
//! flakes use to produce per-system outputs (`flake-utils.lib.eachDefaultSystem`, `eachSystem`,
//! `lib.genAttrs`, `lib.recursiveUpdate`). Everything else is [`Value::Opaque`]: a value that may
//! be anything.
//!
//! The one promise that matters: an attribute set's `entries` are keys that certainly exist, and
//! when `dynamic` is false there are certainly no others. Whatever cannot be read (an unknown
//! function, an `import`, an `if`, a cycle, running out of fuel or depth) becomes opaque, and
//! opaque values never make a key look missing.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use rnix::ast::{self, HasEntry, InterpolPart};

use crate::text::Span;

/// Deepest nesting of evaluation before a value is given up as opaque.
const MAX_DEPTH: u32 = 64;
/// Evaluation steps for one flake; beyond this every value is opaque.
const FUEL: u32 = 200_000;
/// Longest attribute path (`a.b.c...`) or merge nesting that is read.
const MAX_PATH: usize = 64;
/// Longest remembered name path of an opaque value (`pkgs.dockerTools.buildImage`).
const MAX_OPAQUE_PATH: usize = 12;
/// Longest string or list that is built; longer ones are opaque (`b = a ++ a; c = b ++ b; ...`).
const MAX_STRING: usize = 1 << 16;
const MAX_LIST: usize = 1 << 14;

/// The systems `flake-utils.lib.eachDefaultSystem` uses (the `nix-systems/default` list).
pub const DEFAULT_SYSTEMS: [&str; 4] = [
    "aarch64-darwin",
    "aarch64-linux",
    "x86_64-darwin",
    "x86_64-linux",
];

/// Names of Nix's base environment: lexically visible everywhere, so `with` cannot shadow them.
pub(super) const GLOBALS: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "builtins",
    "derivation",
    "derivationStrict",
    "dirOf",
    "false",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "null",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
    "true",
];

/// dockerTools / nix2container functions whose result `docker load` accepts.
const IMAGE_BUILDERS: &[&str] = &[
    "buildImage",
    "buildLayeredImage",
    "streamLayeredImage",
    "buildImageWithNixDb",
    "buildLayeredImageWithNixDb",
];

/// nixpkgs builders whose result is an ordinary package, not a container image.
const NOT_IMAGE_BUILDERS: &[&str] = &[
    "mkDerivation",
    "writeText",
    "writeTextFile",
    "writeTextDir",
    "writeScript",
    "writeScriptBin",
    "writeShellScript",
    "writeShellScriptBin",
    "writeShellApplication",
    "buildGoModule",
    "buildRustPackage",
    "buildNpmPackage",
    "buildPythonApplication",
    "buildPythonPackage",
    "mkShell",
];

fn node_text<N: ast::AstNode>(node: &N) -> String {
    node.syntax().text().to_string()
}

/// The source text of a node when it is short and on one line.
fn display_text<N: ast::AstNode>(node: &N) -> Option<String> {
    let text = node_text(node);
    let text = text.trim();
    (text.len() <= 80 && !text.contains('\n')).then(|| text.to_owned())
}

pub fn span_of<N: ast::AstNode>(node: &N) -> Span {
    let range = node.syntax().text_range();
    Span::new(range.start().into(), range.end().into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThunkId(u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeId(u32);

/// A value, as far as it is known.
#[derive(Clone, Debug)]
pub enum Value {
    Attrs(Rc<Attrs>),
    /// A string and, when it comes from a literal in the flake, where.
    Str(Rc<str>, Option<Span>),
    List(Rc<[ThunkId]>),
    Lambda(ast::Lambda, ScopeId),
    /// A partially applied library function.
    Prim(Prim, Rc<[ThunkId]>),
    Null,
    Opaque(Rc<Opaque>),
}

#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub entries: BTreeMap<Rc<str>, AttrEntry>,
    /// There may be keys besides `entries`.
    pub dynamic: bool,
    /// The only keys there may be besides `entries` are system names (the system list of
    /// `eachDefaultSystem` comes from an input the flake may override).
    pub systems_only: bool,
}

impl Attrs {
    /// Unknown keys of any name may exist.
    pub fn open(&self) -> bool {
        self.dynamic && !self.systems_only
    }

    fn merged_openness(a: &Attrs, b: &Attrs) -> (bool, bool) {
        let dynamic = a.dynamic || b.dynamic;
        (dynamic, dynamic && !a.open() && !b.open())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct AttrEntry {
    pub thunk: ThunkId,
    /// Where the key is written in the flake (its first definition), if it is.
    pub span: Option<Span>,
}

/// An unknown value, with what little is known about where it comes from.
#[derive(Clone, Debug, Default)]
pub struct Opaque {
    /// The names it was reached through (`["pkgs", "dockerTools", "buildImage"]`), when the value
    /// is an attribute of something unknown.
    pub path: Vec<Rc<str>>,
    /// Set when the value is the result of calling a recognised builder.
    pub call: Option<Call>,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub kind: CallKind,
    /// The function as written, e.g. `pkgs.dockerTools.buildLayeredImage`.
    pub func: String,
    /// The names the function was reached through, e.g. `nixpkgs`, `legacyPackages`,
    /// `x86_64-linux`, `dockerTools`, `buildLayeredImage`.
    pub path: Vec<Rc<str>>,
    pub func_span: Span,
    pub arg: ThunkId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// dockerTools or nix2container image builder.
    Image,
    /// A nixpkgs builder of ordinary packages (`stdenv.mkDerivation`, `writeText`, ...).
    NotImage,
    /// The raw `derivation` builtin: could build anything, an image tarball included.
    Derivation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    /// `lib.genAttrs names f`.
    GenAttrs,
    /// `flake-utils.lib.eachSystem systems f` (`default`: `eachDefaultSystem f`); `map`: the
    /// `...Map` variants, which return `{ <system> = f system; }`.
    EachSystem { default: bool, map: bool },
    /// `lib.recursiveUpdate lhs rhs`.
    RecursiveUpdate,
}

impl Prim {
    fn arity(self) -> usize {
        match self {
            Prim::EachSystem { default: true, .. } => 1,
            _ => 2,
        }
    }
}

enum ThunkState {
    Pending(Pending),
    /// Being forced (or a placeholder not yet filled): forcing it again is a cycle.
    Forcing,
    Done(Value),
}

#[derive(Clone)]
enum Pending {
    Expr(ast::Expr, ScopeId),
    Lookup(Rc<str>, ScopeId),
    /// `arg.name`, or `default` when `arg` certainly lacks `name` (pattern formals).
    SelectOr(ThunkId, Rc<str>, Option<(ast::Expr, ScopeId)>),
    Apply(ThunkId, ThunkId),
    /// `lib.recursiveUpdate lhs rhs` on one attribute; `None` is an unknown left side.
    RecursiveUpdate(Option<ThunkId>, ThunkId),
}

enum ScopeKind {
    Vars(HashMap<Rc<str>, ThunkId>),
    With(ThunkId),
}

struct Scope {
    parent: Option<ScopeId>,
    kind: ScopeKind,
}

/// Result of selecting one attribute.
pub enum Sel {
    Found(Value, Option<Span>),
    /// The value is an attribute set without the key, or not an attribute set: certain.
    Absent,
    Unknown(Value),
}

/// An attribute defined twice in one attribute set (or `let`), which Nix refuses to evaluate:
/// "attribute 'a' already defined", or "dynamic attribute ..." for a `${...}` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// The attribute path, up to the key defined twice.
    pub path: String,
    pub first: Option<Span>,
    pub second: Span,
    /// The second definition's key is `${...}`: Nix never merges those.
    pub dynamic: bool,
}

pub struct Evaluator {
    /// Every certain duplicate in the sets built so far; the reader takes them.
    pub duplicates: Vec<Duplicate>,
    thunks: Vec<ThunkState>,
    scopes: Vec<Scope>,
    fuel: u32,
    depth: u32,
    /// Nesting of attribute set literals being merged (`add_entries` within `add_entries`).
    build_depth: usize,
    unknown: Rc<Opaque>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetKind {
    Plain,
    Rec,
    Let,
}

/// One attribute set under construction.
#[derive(Default)]
struct BNode {
    entries: BTreeMap<Rc<str>, BEntry>,
    dynamic: bool,
}

struct BEntry {
    val: BVal,
    span: Option<Span>,
    /// Created by a `${...}` key: Nix never merges these.
    from_dynamic: bool,
}

enum BVal {
    Node(BNode),
    Leaf(Pending),
}

#[derive(Clone)]
struct Comp {
    name: Rc<str>,
    span: Span,
    dynamic: bool,
}

/// An entry with a `${...}` key, inserted after the static ones (as Nix does).
struct Deferred {
    prefix: Vec<Comp>,
    rest: Vec<ast::Attr>,
    leaf: Pending,
    key_scope: ScopeId,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new()
    }
}

impl Evaluator {
    pub fn new() -> Self {
        Evaluator {
            duplicates: Vec::new(),
            thunks: Vec::new(),
            scopes: Vec::new(),
            fuel: FUEL,
            depth: 0,
            build_depth: 0,
            unknown: Rc::new(Opaque::default()),
        }
    }

    // ---- storage ----

    /// Uses up fuel for work that is not one evaluation step (copying a big attribute set).
    fn spend(&mut self, amount: usize) {
        self.fuel = self
            .fuel
            .saturating_sub(u32::try_from(amount).unwrap_or(u32::MAX));
    }

    fn alloc(&mut self, state: ThunkState) -> ThunkId {
        // Every thunk costs a little fuel, so memory stays bounded however the flake loops.
        self.spend(1);
        self.thunks.push(state);
        ThunkId((self.thunks.len() - 1) as u32)
    }

    pub fn alloc_value(&mut self, value: Value) -> ThunkId {
        self.alloc(ThunkState::Done(value))
    }

    pub fn alloc_expr(&mut self, expr: ast::Expr, scope: ScopeId) -> ThunkId {
        self.alloc(ThunkState::Pending(Pending::Expr(expr, scope)))
    }

    pub fn alloc_apply(&mut self, function: ThunkId, arg: ThunkId) -> ThunkId {
        self.alloc(ThunkState::Pending(Pending::Apply(function, arg)))
    }

    /// A thunk to be filled later with [`Evaluator::fill_apply`]; forcing it first is a cycle.
    pub fn alloc_placeholder(&mut self) -> ThunkId {
        self.alloc(ThunkState::Forcing)
    }

    pub fn fill_apply(&mut self, placeholder: ThunkId, function: ThunkId, arg: ThunkId) {
        self.thunks[placeholder.0 as usize] = ThunkState::Pending(Pending::Apply(function, arg));
    }

    fn new_scope(&mut self, parent: Option<ScopeId>, kind: ScopeKind) -> ScopeId {
        self.spend(1);
        self.scopes.push(Scope { parent, kind });
        ScopeId((self.scopes.len() - 1) as u32)
    }

    pub fn root_scope(&mut self) -> ScopeId {
        self.new_scope(None, ScopeKind::Vars(HashMap::new()))
    }

    fn bind(&mut self, scope: ScopeId, name: Rc<str>, thunk: ThunkId) {
        if let ScopeKind::Vars(vars) = &mut self.scopes[scope.0 as usize].kind {
            vars.insert(name, thunk);
        }
    }

    pub fn opaque(&self) -> Value {
        Value::Opaque(self.unknown.clone())
    }

    fn opaque_path(&self, path: Vec<Rc<str>>) -> Value {
        if path.is_empty() {
            return self.opaque();
        }
        Value::Opaque(Rc::new(Opaque { path, call: None }))
    }

    /// True once the evaluator gave up somewhere for lack of fuel.
    pub fn exhausted(&self) -> bool {
        self.fuel == 0
    }

    // ---- forcing ----

    pub fn force(&mut self, thunk: ThunkId) -> Value {
        let index = thunk.0 as usize;
        match std::mem::replace(&mut self.thunks[index], ThunkState::Forcing) {
            ThunkState::Done(value) => {
                self.thunks[index] = ThunkState::Done(value.clone());
                value
            }
            ThunkState::Forcing => self.opaque(),
            ThunkState::Pending(pending) => {
                if self.fuel == 0 || self.depth >= MAX_DEPTH {
                    self.fuel = self.fuel.saturating_sub(1);
                    self.thunks[index] = ThunkState::Pending(pending);
                    return self.opaque();
                }
                self.fuel -= 1;
                self.depth += 1;
                let value = self.run(pending);
                self.depth -= 1;
                self.thunks[index] = ThunkState::Done(value.clone());
                value
            }
        }
    }

    fn run(&mut self, pending: Pending) -> Value {
        match pending {
            Pending::Expr(expr, scope) => self.eval(&expr, scope),
            Pending::Lookup(name, scope) => self.lookup(&name, scope),
            Pending::SelectOr(arg, name, default) => {
                let value = self.force(arg);
                match self.select(value, &name) {
                    Sel::Found(value, _) => value,
                    Sel::Absent => match default {
                        Some((expr, scope)) => self.eval(&expr, scope),
                        None => self.opaque_path(vec![name]),
                    },
                    Sel::Unknown(value) => value,
                }
            }
            Pending::Apply(function, arg) => {
                let function = self.force(function);
                self.apply(function, arg, None)
            }
            Pending::RecursiveUpdate(lhs, rhs) => {
                let rhs = self.force(rhs);
                let lhs = lhs.map(|lhs| self.force(lhs));
                self.recursive_update(lhs, rhs)
            }
        }
    }

    /// Selects `name` from a forced value.
    pub fn select(&mut self, value: Value, name: &Rc<str>) -> Sel {
        match value {
            Value::Attrs(attrs) => match attrs.entries.get(name) {
                Some(entry) => {
                    let span = entry.span;
                    let thunk = entry.thunk;
                    Sel::Found(self.force(thunk), span)
                }
                None if attrs.dynamic => Sel::Unknown(self.opaque_path(vec![name.clone()])),
                None => Sel::Absent,
            },
            Value::Opaque(opaque) => {
                let mut path = opaque.path.clone();
                if path.len() >= MAX_OPAQUE_PATH {
                    path.remove(0);
                }
                path.push(name.clone());
                // `flake-utils.lib.system.x86_64-linux` is the string "x86_64-linux".
                if is_flake_utils_system_path(&path) {
                    return Sel::Found(Value::Str(name.clone(), None), None);
                }
                Sel::Unknown(self.opaque_path(path))
            }
            Value::Str(..) | Value::List(_) | Value::Lambda(..) | Value::Prim(..) | Value::Null => {
                Sel::Absent
            }
        }
    }

    // ---- expressions ----

    pub fn eval(&mut self, expr: &ast::Expr, scope: ScopeId) -> Value {
        if self.fuel == 0 || self.depth >= MAX_DEPTH {
            self.fuel = self.fuel.saturating_sub(1);
            return self.opaque();
        }
        self.fuel -= 1;
        self.depth += 1;
        let value = self.eval_inner(expr, scope);
        self.depth -= 1;
        value
    }

    fn eval_inner(&mut self, expr: &ast::Expr, scope: ScopeId) -> Value {
        match expr {
            ast::Expr::Paren(paren) => match paren.expr() {
                Some(inner) => self.eval(&inner, scope),
                None => self.opaque(),
            },
            ast::Expr::Root(root) => match root.expr() {
                Some(inner) => self.eval(&inner, scope),
                None => self.opaque(),
            },
            ast::Expr::AttrSet(set) => {
                let kind = if set.rec_token().is_some() {
                    SetKind::Rec
                } else {
                    SetKind::Plain
                };
                let (attrs, _) = self.build_set(set, scope, kind);
                Value::Attrs(Rc::new(attrs))
            }
            ast::Expr::LetIn(let_in) => {
                let (_, inner) = self.build_set(let_in, scope, SetKind::Let);
                match let_in.body() {
                    Some(body) => self.eval(&body, inner),
                    None => self.opaque(),
                }
            }
            ast::Expr::Lambda(lambda) => Value::Lambda(lambda.clone(), scope),
            ast::Expr::Apply(apply) => {
                let (Some(function), Some(argument)) = (apply.lambda(), apply.argument()) else {
                    return self.opaque();
                };
                let function_value = self.eval(&function, scope);
                let arg = self.alloc_expr(argument, scope);
                self.apply(function_value, arg, Some(&function))
            }
            ast::Expr::Select(select) => self.eval_select(select, scope),
            ast::Expr::Str(string) => self.eval_str(string, scope),
            ast::Expr::Ident(ident) => {
                let name: Rc<str> = ident_text(ident).into();
                self.lookup(&name, scope)
            }
            ast::Expr::List(list) => {
                let items: Vec<ThunkId> = list
                    .items()
                    .map(|item| self.alloc_expr(item, scope))
                    .collect();
                Value::List(items.into())
            }
            ast::Expr::BinOp(binop) => {
                let (Some(lhs), Some(rhs), Some(op)) = (binop.lhs(), binop.rhs(), binop.operator())
                else {
                    return self.opaque();
                };
                match op {
                    ast::BinOpKind::Update => {
                        let lhs = self.eval(&lhs, scope);
                        let rhs = self.eval(&rhs, scope);
                        self.update(lhs, rhs)
                    }
                    ast::BinOpKind::Concat => {
                        let lhs = self.eval(&lhs, scope);
                        let rhs = self.eval(&rhs, scope);
                        match (lhs, rhs) {
                            (Value::List(a), Value::List(b)) if a.len() + b.len() <= MAX_LIST => {
                                self.spend((a.len() + b.len()) / 8);
                                Value::List(
                                    a.iter().chain(b.iter()).copied().collect::<Vec<_>>().into(),
                                )
                            }
                            _ => self.opaque(),
                        }
                    }
                    _ => self.opaque(),
                }
            }
            ast::Expr::With(with) => {
                let (Some(namespace), Some(body)) = (with.namespace(), with.body()) else {
                    return self.opaque();
                };
                let namespace = self.alloc_expr(namespace, scope);
                let inner = self.new_scope(Some(scope), ScopeKind::With(namespace));
                self.eval(&body, inner)
            }
            ast::Expr::Assert(assert) => match assert.body() {
                Some(body) => self.eval(&body, scope),
                None => self.opaque(),
            },
            _ => self.opaque(),
        }
    }

    fn eval_select(&mut self, select: &ast::Select, scope: ScopeId) -> Value {
        let (Some(base), Some(attrpath)) = (select.expr(), select.attrpath()) else {
            return self.opaque();
        };
        let mut value = self.eval(&base, scope);
        for attr in attrpath.attrs() {
            let Some((name, _)) = self.attr_name(&attr, scope) else {
                return self.opaque();
            };
            match self.select(value, &name) {
                Sel::Found(next, _) => value = next,
                Sel::Absent => {
                    return match select.default_expr() {
                        Some(default) => self.eval(&default, scope),
                        None => self.opaque(),
                    };
                }
                Sel::Unknown(next) => {
                    if select.default_expr().is_some() {
                        return self.opaque();
                    }
                    value = next;
                }
            }
        }
        value
    }

    fn eval_str(&mut self, string: &ast::Str, scope: ScopeId) -> Value {
        let mut out = String::new();
        for part in string.normalized_parts() {
            match part {
                InterpolPart::Literal(text) => out.push_str(&text),
                InterpolPart::Interpolation(interpol) => {
                    let Some(expr) = interpol.expr() else {
                        return self.opaque();
                    };
                    match self.eval(&expr, scope) {
                        Value::Str(text, _) => out.push_str(&text),
                        _ => return self.opaque(),
                    }
                    if out.len() > MAX_STRING {
                        return self.opaque();
                    }
                }
            }
        }
        self.spend(out.len() / 64);
        Value::Str(out.into(), Some(span_of(string)))
    }

    /// The name of an attribute and whether it is dynamic (`${...}` or an interpolated string);
    /// `None` when it cannot be known.
    fn attr_name(&mut self, attr: &ast::Attr, scope: ScopeId) -> Option<(Rc<str>, bool)> {
        if let Some(name) = static_attr_name(attr) {
            return Some((name, false));
        }
        let value = match attr {
            ast::Attr::Ident(_) => return None,
            ast::Attr::Str(string) => self.eval_str(string, scope),
            ast::Attr::Dynamic(dynamic) => match dynamic.expr() {
                Some(expr) => self.eval(&expr, scope),
                None => return None,
            },
        };
        match value {
            Value::Str(name, _) => Some((name, true)),
            _ => None,
        }
    }

    fn lookup(&mut self, name: &Rc<str>, scope: ScopeId) -> Value {
        let mut withs = Vec::new();
        let mut current = Some(scope);
        let mut steps = 0usize;
        while let Some(id) = current {
            steps += 1;
            if steps > 100_000 {
                return self.opaque();
            }
            let scope = &self.scopes[id.0 as usize];
            match &scope.kind {
                ScopeKind::Vars(vars) => {
                    if let Some(&thunk) = vars.get(name) {
                        return self.force(thunk);
                    }
                }
                ScopeKind::With(namespace) => withs.push(*namespace),
            }
            current = scope.parent;
        }
        if GLOBALS.contains(&&**name) || name.starts_with("__") {
            return match &**name {
                "null" => Value::Null,
                _ => self.opaque_path(vec![name.clone()]),
            };
        }
        for namespace in withs {
            match self.force(namespace) {
                Value::Attrs(attrs) => match attrs.entries.get(name) {
                    Some(entry) => {
                        let thunk = entry.thunk;
                        return self.force(thunk);
                    }
                    None if attrs.dynamic => return self.opaque_path(vec![name.clone()]),
                    None => continue,
                },
                Value::Opaque(opaque) => {
                    let mut path = opaque.path.clone();
                    if path.len() >= MAX_OPAQUE_PATH {
                        path.remove(0);
                    }
                    path.push(name.clone());
                    if is_flake_utils_system_path(&path) {
                        return Value::Str(name.clone(), None);
                    }
                    return self.opaque_path(path);
                }
                _ => continue,
            }
        }
        self.opaque_path(vec![name.clone()])
    }

    // ---- functions ----

    fn apply(&mut self, function: Value, arg: ThunkId, function_expr: Option<&ast::Expr>) -> Value {
        match function {
            Value::Lambda(lambda, scope) => self.call_lambda(&lambda, scope, arg),
            Value::Prim(prim, args) => {
                let mut args = args.to_vec();
                args.push(arg);
                self.call_prim(prim, args)
            }
            Value::Opaque(opaque) => {
                if opaque
                    .call
                    .as_ref()
                    .is_some_and(|call| call.kind != CallKind::Image)
                {
                    // `writeShellScriptBin "name" "text"`: still the same kind of package.
                    return Value::Opaque(opaque);
                }
                let Some(last) = opaque.path.last() else {
                    return self.opaque();
                };
                // Library functions are recognised by name only when reached through a `lib`
                // (`flake-utils.lib.eachSystem`, `nixpkgs.lib.genAttrs`, `with nixpkgs.lib;`):
                // a function of the same name from an imported file may mean something else.
                let from_lib = opaque.path[..opaque.path.len() - 1]
                    .iter()
                    .any(|name| &**name == "lib");
                let prim = match &**last {
                    _ if !from_lib => None,
                    "eachDefaultSystem" => Some(Prim::EachSystem {
                        default: true,
                        map: false,
                    }),
                    "eachDefaultSystemMap" => Some(Prim::EachSystem {
                        default: true,
                        map: true,
                    }),
                    "eachSystem" => Some(Prim::EachSystem {
                        default: false,
                        map: false,
                    }),
                    "eachSystemMap" => Some(Prim::EachSystem {
                        default: false,
                        map: true,
                    }),
                    "genAttrs" => Some(Prim::GenAttrs),
                    "recursiveUpdate" => Some(Prim::RecursiveUpdate),
                    _ => None,
                };
                if let Some(prim) = prim {
                    return self.call_prim(prim, vec![arg]);
                }
                let kind = classify_call(&opaque.path);
                match (kind, function_expr) {
                    (Some(kind), Some(function_expr)) => Value::Opaque(Rc::new(Opaque {
                        path: Vec::new(),
                        call: Some(Call {
                            kind,
                            func: display_text(function_expr).unwrap_or_else(|| {
                                opaque
                                    .path
                                    .iter()
                                    .map(|name| &**name)
                                    .collect::<Vec<_>>()
                                    .join(".")
                            }),
                            path: opaque.path.clone(),
                            func_span: span_of(function_expr),
                            arg,
                        }),
                    })),
                    _ => self.opaque(),
                }
            }
            _ => self.opaque(),
        }
    }

    fn call_lambda(&mut self, lambda: &ast::Lambda, scope: ScopeId, arg: ThunkId) -> Value {
        let (Some(param), Some(body)) = (lambda.param(), lambda.body()) else {
            return self.opaque();
        };
        let inner = self.new_scope(Some(scope), ScopeKind::Vars(HashMap::new()));
        match param {
            ast::Param::IdentParam(param) => {
                if let Some(ident) = param.ident() {
                    self.bind(inner, ident_text(&ident).into(), arg);
                }
            }
            ast::Param::Pattern(pattern) => {
                for entry in pattern.pat_entries() {
                    let Some(ident) = entry.ident() else { continue };
                    let name: Rc<str> = ident_text(&ident).into();
                    let default = entry.default().map(|default| (default, inner));
                    let thunk = self.alloc(ThunkState::Pending(Pending::SelectOr(
                        arg,
                        name.clone(),
                        default,
                    )));
                    self.bind(inner, name, thunk);
                }
                if let Some(ident) = pattern.pat_bind().and_then(|bind| bind.ident()) {
                    self.bind(inner, ident_text(&ident).into(), arg);
                }
            }
        }
        self.eval(&body, inner)
    }

    fn call_prim(&mut self, prim: Prim, args: Vec<ThunkId>) -> Value {
        if args.len() < prim.arity() {
            return Value::Prim(prim, args.into());
        }
        match prim {
            Prim::GenAttrs => {
                let Some(names) = self.string_list(args[0]) else {
                    return self.opaque();
                };
                let mut attrs = Attrs::default();
                for (name, span) in names {
                    let name_thunk = self.alloc_value(Value::Str(name.clone(), span));
                    let thunk = self.alloc_apply(args[1], name_thunk);
                    attrs
                        .entries
                        .entry(name)
                        .or_insert(AttrEntry { thunk, span });
                }
                Value::Attrs(Rc::new(attrs))
            }
            Prim::EachSystem { default, map } => {
                let (systems, function, systems_dynamic) = if default {
                    let systems = DEFAULT_SYSTEMS
                        .iter()
                        .map(|system| (Rc::from(*system), None))
                        .collect();
                    // The list comes from flake-utils' `systems` input, which a flake may override.
                    (systems, args[0], true)
                } else {
                    match self.string_list(args[0]) {
                        Some(systems) => (systems, args[1], false),
                        None => return self.opaque(),
                    }
                };
                let mut results = Vec::new();
                for (system, span) in systems {
                    let system_thunk = self.alloc_value(Value::Str(system.clone(), span));
                    let thunk = self.alloc_apply(function, system_thunk);
                    results.push((system, span, thunk));
                }
                if map {
                    let mut attrs = Attrs {
                        entries: BTreeMap::new(),
                        dynamic: systems_dynamic,
                        systems_only: systems_dynamic,
                    };
                    for (system, span, thunk) in results {
                        attrs
                            .entries
                            .entry(system)
                            .or_insert(AttrEntry { thunk, span });
                    }
                    return Value::Attrs(Rc::new(attrs));
                }
                self.transpose_systems(results, systems_dynamic)
            }
            Prim::RecursiveUpdate => {
                let rhs = self.force(args[1]);
                let lhs = self.force(args[0]);
                self.recursive_update(Some(lhs), rhs)
            }
        }
    }

    /// flake-utils' `eachSystem`: `{ k = { <system> = (f system).k; }; }` for every key `k`.
    fn transpose_systems(
        &mut self,
        results: Vec<(Rc<str>, Option<Span>, ThunkId)>,
        systems_dynamic: bool,
    ) -> Value {
        let mut per_system = Vec::new();
        let mut any_unknown = false;
        for (system, span, thunk) in results {
            match self.force(thunk) {
                Value::Attrs(attrs) => {
                    any_unknown |= attrs.dynamic;
                    per_system.push((system, span, Some(attrs)));
                }
                _ => {
                    any_unknown = true;
                    per_system.push((system, span, None));
                }
            }
        }
        if self.fuel == 0 {
            return self.opaque();
        }
        let mut keys: BTreeMap<Rc<str>, Option<Span>> = BTreeMap::new();
        for (_, _, attrs) in &per_system {
            if let Some(attrs) = attrs {
                for (key, entry) in &attrs.entries {
                    keys.entry(key.clone()).or_insert(entry.span);
                }
            }
        }
        let mut out = Attrs {
            entries: BTreeMap::new(),
            dynamic: any_unknown,
            systems_only: false,
        };
        for (key, key_span) in keys {
            let mut inner = Attrs {
                entries: BTreeMap::new(),
                dynamic: systems_dynamic,
                systems_only: systems_dynamic,
            };
            for (system, span, attrs) in &per_system {
                match attrs {
                    Some(attrs) => match attrs.entries.get(&key) {
                        Some(entry) => {
                            inner.entries.entry(system.clone()).or_insert(AttrEntry {
                                thunk: entry.thunk,
                                span: span.or(entry.span),
                            });
                        }
                        None if attrs.dynamic => {
                            inner.dynamic = true;
                            inner.systems_only = false;
                        }
                        None => {}
                    },
                    None => {
                        inner.dynamic = true;
                        inner.systems_only = false;
                    }
                }
            }
            let thunk = self.alloc_value(Value::Attrs(Rc::new(inner)));
            out.entries.insert(
                key,
                AttrEntry {
                    thunk,
                    span: key_span,
                },
            );
        }
        Value::Attrs(Rc::new(out))
    }

    /// A list of strings, each with its literal's place, when it is entirely static.
    fn string_list(&mut self, list: ThunkId) -> Option<Vec<(Rc<str>, Option<Span>)>> {
        let Value::List(items) = self.force(list) else {
            return None;
        };
        let mut out = Vec::new();
        for &item in items.iter() {
            match self.force(item) {
                Value::Str(text, span) => out.push((text, span)),
                _ => return None,
            }
        }
        Some(out)
    }

    /// `lhs // rhs`.
    fn update(&mut self, lhs: Value, rhs: Value) -> Value {
        match (lhs, rhs) {
            (Value::Attrs(lhs), Value::Attrs(rhs)) => {
                self.spend((lhs.entries.len() + rhs.entries.len()) / 4);
                let (dynamic, systems_only) = Attrs::merged_openness(&lhs, &rhs);
                let mut out = Attrs {
                    entries: rhs.entries.clone(),
                    dynamic,
                    systems_only,
                };
                self.add_left_only(&mut out, &lhs, rhs.dynamic);
                Value::Attrs(Rc::new(out))
            }
            (Value::Opaque(_), Value::Attrs(rhs)) => {
                self.spend(rhs.entries.len() / 4);
                Value::Attrs(Rc::new(Attrs {
                    entries: rhs.entries.clone(),
                    dynamic: true,
                    systems_only: false,
                }))
            }
            _ => self.opaque(),
        }
    }

    /// Adds to a merge the keys only `lhs` has. When `rhs` is dynamic it may still replace
    /// them: the key exists, its value is unknown.
    fn add_left_only(&mut self, out: &mut Attrs, lhs: &Attrs, rhs_dynamic: bool) {
        for (key, entry) in &lhs.entries {
            if out.entries.contains_key(key) {
                continue;
            }
            let entry = if rhs_dynamic {
                let value = self.opaque();
                AttrEntry {
                    thunk: self.alloc_value(value),
                    span: entry.span,
                }
            } else {
                *entry
            };
            out.entries.insert(key.clone(), entry);
        }
    }

    /// `lib.recursiveUpdate lhs rhs`; `lhs` `None` is unknown.
    fn recursive_update(&mut self, lhs: Option<Value>, rhs: Value) -> Value {
        match (lhs, rhs) {
            (Some(Value::Attrs(lhs)), Value::Attrs(rhs)) => {
                self.spend((lhs.entries.len() + rhs.entries.len()) / 4);
                let (dynamic, systems_only) = Attrs::merged_openness(&lhs, &rhs);
                let mut out = Attrs {
                    entries: BTreeMap::new(),
                    dynamic,
                    systems_only,
                };
                for (key, entry) in &rhs.entries {
                    let thunk = match lhs.entries.get(key) {
                        Some(left) => self.alloc(ThunkState::Pending(Pending::RecursiveUpdate(
                            Some(left.thunk),
                            entry.thunk,
                        ))),
                        None if lhs.dynamic => self.alloc(ThunkState::Pending(
                            Pending::RecursiveUpdate(None, entry.thunk),
                        )),
                        None => entry.thunk,
                    };
                    out.entries.insert(
                        key.clone(),
                        AttrEntry {
                            thunk,
                            span: entry.span,
                        },
                    );
                }
                self.add_left_only(&mut out, &lhs, rhs.dynamic);
                Value::Attrs(Rc::new(out))
            }
            (None | Some(Value::Opaque(_)), Value::Attrs(rhs)) => {
                let mut out = Attrs {
                    entries: BTreeMap::new(),
                    dynamic: true,
                    systems_only: false,
                };
                for (key, entry) in &rhs.entries {
                    let thunk = self.alloc(ThunkState::Pending(Pending::RecursiveUpdate(
                        None,
                        entry.thunk,
                    )));
                    out.entries.insert(
                        key.clone(),
                        AttrEntry {
                            thunk,
                            span: entry.span,
                        },
                    );
                }
                Value::Attrs(Rc::new(out))
            }
            (_, Value::Opaque(_)) => self.opaque(),
            // Not both attribute sets: the right side wins.
            (_, rhs) => rhs,
        }
    }

    // ---- attribute sets and let ----

    /// Builds the bindings of an attribute set or `let`; returns them and the scope the values
    /// see (the new recursive scope for `rec` and `let`).
    fn build_set(
        &mut self,
        node: &impl HasEntry,
        outer: ScopeId,
        kind: SetKind,
    ) -> (Attrs, ScopeId) {
        let inner = match kind {
            SetKind::Plain => outer,
            SetKind::Rec | SetKind::Let => {
                self.new_scope(Some(outer), ScopeKind::Vars(HashMap::new()))
            }
        };
        let mut root = BNode::default();
        let mut deferred = Vec::new();
        self.add_entries(&mut root, &[], node, inner, outer, &mut deferred);

        // `rec` and `let` see their own static keys; `${...}` keys are added afterwards.
        let mut placeholders = HashMap::new();
        if kind != SetKind::Plain {
            for name in root.entries.keys() {
                let placeholder = self.alloc_placeholder();
                placeholders.insert(name.clone(), placeholder);
                self.bind(inner, name.clone(), placeholder);
            }
        }

        let mut rounds = 0;
        while !deferred.is_empty() && rounds < MAX_PATH {
            rounds += 1;
            for item in std::mem::take(&mut deferred) {
                self.insert_deferred(&mut root, item, &mut deferred);
            }
        }
        if !deferred.is_empty() {
            root.dynamic = true;
        }
        if kind == SetKind::Let {
            // `let` has no dynamic bindings; whatever was added is not a variable.
            root.entries
                .retain(|name, _| placeholders.contains_key(name));
        }

        let mut attrs = Attrs {
            entries: BTreeMap::new(),
            dynamic: root.dynamic,
            systems_only: false,
        };
        for (name, entry) in root.entries {
            let state = self.finalize_val(entry.val, 0);
            let thunk = match placeholders.get(&name) {
                Some(&placeholder) => {
                    self.thunks[placeholder.0 as usize] = state;
                    placeholder
                }
                None => self.alloc(state),
            };
            attrs.entries.insert(
                name,
                AttrEntry {
                    thunk,
                    span: entry.span,
                },
            );
        }
        (attrs, inner)
    }

    fn finalize_val(&mut self, val: BVal, depth: usize) -> ThunkState {
        match val {
            BVal::Leaf(pending) => ThunkState::Pending(pending),
            BVal::Node(node) => {
                let mut attrs = Attrs {
                    entries: BTreeMap::new(),
                    dynamic: node.dynamic,
                    systems_only: false,
                };
                if depth > MAX_PATH {
                    attrs.dynamic = true;
                } else {
                    for (name, entry) in node.entries {
                        let state = self.finalize_val(entry.val, depth + 1);
                        let thunk = self.alloc(state);
                        attrs.entries.insert(
                            name,
                            AttrEntry {
                                thunk,
                                span: entry.span,
                            },
                        );
                    }
                }
                ThunkState::Done(Value::Attrs(Rc::new(attrs)))
            }
        }
    }

    /// Adds the entries of a binding node (an attribute set literal or `let`) below `prefix`.
    /// Values and `${...}` keys are evaluated in `scope`; a plain `inherit x;` looks `x` up in
    /// `inherit_scope`.
    fn add_entries(
        &mut self,
        root: &mut BNode,
        prefix: &[Comp],
        node: &impl HasEntry,
        scope: ScopeId,
        inherit_scope: ScopeId,
        deferred: &mut Vec<Deferred>,
    ) {
        if prefix.len() > MAX_PATH || self.build_depth > MAX_PATH {
            mark_dynamic(root, prefix);
            return;
        }
        self.build_depth += 1;
        self.add_entries_inner(root, prefix, node, scope, inherit_scope, deferred);
        self.build_depth -= 1;
    }

    fn add_entries_inner(
        &mut self,
        root: &mut BNode,
        prefix: &[Comp],
        node: &impl HasEntry,
        scope: ScopeId,
        inherit_scope: ScopeId,
        deferred: &mut Vec<Deferred>,
    ) {
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => {
                    let from = inherit
                        .from()
                        .and_then(|from| from.expr())
                        .map(|expr| self.alloc_expr(expr, scope));
                    for attr in inherit.attrs() {
                        let Some(name) = static_attr_name(&attr) else {
                            mark_dynamic(root, prefix);
                            continue;
                        };
                        let leaf = match from {
                            Some(from) => Pending::SelectOr(from, name.clone(), None),
                            None => Pending::Lookup(name.clone(), inherit_scope),
                        };
                        let mut path = prefix.to_vec();
                        path.push(Comp {
                            name,
                            span: span_of(&attr),
                            dynamic: false,
                        });
                        // An inherited attribute is never merged with another definition.
                        self.insert(root, &path, leaf, deferred, false);
                    }
                }
                ast::Entry::AttrpathValue(binding) => {
                    let (Some(attrpath), Some(value)) = (binding.attrpath(), binding.value())
                    else {
                        mark_dynamic(root, prefix);
                        continue;
                    };
                    let attrs: Vec<ast::Attr> = attrpath.attrs().collect();
                    if attrs.is_empty() || prefix.len() + attrs.len() > MAX_PATH {
                        mark_dynamic(root, prefix);
                        continue;
                    }
                    let mut path = prefix.to_vec();
                    let mut rest = attrs.as_slice();
                    while let Some((first, tail)) = rest.split_first() {
                        let Some(name) = static_attr_name(first) else {
                            break;
                        };
                        path.push(Comp {
                            name,
                            span: span_of(first),
                            dynamic: false,
                        });
                        rest = tail;
                    }
                    let leaf = Pending::Expr(value, scope);
                    if rest.is_empty() {
                        self.insert(root, &path, leaf, deferred, true);
                    } else {
                        // Nix creates the static prefix now and adds the `${...}` part later.
                        if !self.ensure_node(root, &path, deferred) {
                            continue;
                        }
                        deferred.push(Deferred {
                            prefix: path,
                            rest: rest.to_vec(),
                            leaf,
                            key_scope: scope,
                        });
                    }
                }
            }
        }
    }

    fn insert_deferred(&mut self, root: &mut BNode, item: Deferred, deferred: &mut Vec<Deferred>) {
        let mut path = item.prefix;
        for attr in &item.rest {
            match self.attr_name(attr, item.key_scope) {
                Some((name, dynamic)) => path.push(Comp {
                    name,
                    span: span_of(attr),
                    dynamic,
                }),
                None => {
                    mark_dynamic(root, &path);
                    return;
                }
            }
        }
        self.insert(root, &path, item.leaf, deferred, true);
    }

    /// Makes sure `path` leads to a node, creating or expanding as needed; false on a conflict.
    fn ensure_node(
        &mut self,
        root: &mut BNode,
        path: &[Comp],
        deferred: &mut Vec<Deferred>,
    ) -> bool {
        let mut node = root;
        for (index, comp) in path.iter().enumerate() {
            if !node.entries.contains_key(&comp.name) {
                node.entries.insert(
                    comp.name.clone(),
                    BEntry {
                        val: BVal::Node(BNode::default()),
                        span: Some(comp.span),
                        from_dynamic: comp.dynamic,
                    },
                );
            } else {
                let entry = node.entries.get_mut(&comp.name).expect("checked above");
                if comp.dynamic
                    || entry.from_dynamic
                    || !self.expand(entry, &path[..=index], deferred)
                {
                    // A path through an attribute merges only with an attribute set literal.
                    if comp.dynamic || !merges_in_nix(entry) {
                        self.note_duplicate(&path[..=index], entry.span);
                    }
                    node.dynamic = true;
                    return false;
                }
            }
            match &mut node
                .entries
                .get_mut(&comp.name)
                .expect("inserted above")
                .val
            {
                BVal::Node(next) => node = next,
                BVal::Leaf(_) => return false,
            }
        }
        true
    }

    /// Turns a leaf that is a plain attribute set literal into a node so more keys can merge in.
    fn expand(&mut self, entry: &mut BEntry, path: &[Comp], deferred: &mut Vec<Deferred>) -> bool {
        match &entry.val {
            BVal::Node(_) => true,
            BVal::Leaf(Pending::Expr(ast::Expr::AttrSet(set), scope))
                if set.rec_token().is_none() =>
            {
                let set = set.clone();
                let scope = *scope;
                // The literal's keys are inserted relative to a fresh node, then moved in; their
                // `${...}` parts go to `deferred` with full paths.
                let mut sub = BNode::default();
                let mut sub_deferred = Vec::new();
                self.add_entries(&mut sub, &[], &set, scope, scope, &mut sub_deferred);
                for mut item in sub_deferred {
                    let mut prefix = path.to_vec();
                    prefix.append(&mut item.prefix);
                    item.prefix = prefix;
                    deferred.push(item);
                }
                entry.val = BVal::Node(sub);
                true
            }
            BVal::Leaf(_) => false,
        }
    }

    /// Inserts a value at `path` (at least one component), merging as Nix does.
    fn insert(
        &mut self,
        root: &mut BNode,
        path: &[Comp],
        leaf: Pending,
        deferred: &mut Vec<Deferred>,
        mergeable: bool,
    ) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        if !self.ensure_node(root, parents, deferred) {
            return;
        }
        let node = node_at(root, parents).expect("ensured above");
        match node.entries.get_mut(&last.name) {
            None => {
                node.entries.insert(
                    last.name.clone(),
                    BEntry {
                        val: BVal::Leaf(leaf),
                        span: Some(last.span),
                        from_dynamic: last.dynamic,
                    },
                );
            }
            Some(existing) => {
                // `a.b = 1; a = { c = 2; };` merges; anything else is a duplicate, which Nix
                // rejects: give up on this set rather than guess.
                let leaf_ref = &leaf;
                let literal = match leaf_ref {
                    Pending::Expr(ast::Expr::AttrSet(set), scope)
                        if set.rec_token().is_none() && mergeable =>
                    {
                        Some((set.clone(), *scope))
                    }
                    _ => None,
                };
                let ok = match literal {
                    Some((set, value_scope))
                        if !last.dynamic
                            && !existing.from_dynamic
                            && self.expand(existing, path, deferred) =>
                    {
                        let BVal::Node(target) = &mut existing.val else {
                            unreachable!("an expanded entry is a node")
                        };
                        let mut sub_deferred = Vec::new();
                        self.add_entries(
                            target,
                            &[],
                            &set,
                            value_scope,
                            value_scope,
                            &mut sub_deferred,
                        );
                        for mut item in sub_deferred {
                            let mut prefix = path.to_vec();
                            prefix.append(&mut item.prefix);
                            item.prefix = prefix;
                            deferred.push(item);
                        }
                        true
                    }
                    _ => false,
                };
                if !ok {
                    // Nix merges two attribute set literals (`rec` ones too, which this
                    // reading does not); anything else is its "already defined" error.
                    let both_literals = mergeable
                        && matches!(leaf_ref, Pending::Expr(ast::Expr::AttrSet(_), _))
                        && merges_in_nix(existing);
                    if last.dynamic || !both_literals {
                        let first = existing.span;
                        self.note_duplicate(path, first);
                    }
                    node.dynamic = true;
                }
            }
        }
    }
}

impl Evaluator {
    fn note_duplicate(&mut self, path: &[Comp], first: Option<Span>) {
        let Some(last) = path.last() else {
            return;
        };
        let names: Vec<&str> = path.iter().map(|comp| &*comp.name).collect();
        self.duplicates.push(Duplicate {
            path: names.join("."),
            first,
            second: last.span,
            dynamic: last.dynamic,
        });
    }
}

/// Whether Nix merges more keys into this definition: only an attribute set literal (or a
/// set made of attribute paths) takes them.
fn merges_in_nix(entry: &BEntry) -> bool {
    matches!(
        entry.val,
        BVal::Node(_) | BVal::Leaf(Pending::Expr(ast::Expr::AttrSet(_), _))
    )
}

fn node_at<'a>(root: &'a mut BNode, path: &[Comp]) -> Option<&'a mut BNode> {
    let mut node = root;
    for comp in path {
        match &mut node.entries.get_mut(&comp.name)?.val {
            BVal::Node(next) => node = next,
            BVal::Leaf(_) => return None,
        }
    }
    Some(node)
}

/// Marks the deepest existing node along `path` as having unknown keys.
fn mark_dynamic(root: &mut BNode, path: &[Comp]) {
    let mut node = root;
    for comp in path {
        match node.entries.get(&comp.name) {
            Some(BEntry {
                val: BVal::Node(_), ..
            }) => {}
            _ => break,
        }
        match &mut node.entries.get_mut(&comp.name).expect("checked above").val {
            BVal::Node(next) => node = next,
            BVal::Leaf(_) => unreachable!("checked above"),
        }
    }
    node.dynamic = true;
}

/// The text of an identifier (`or` is an identifier too).
pub fn ident_text(ident: &ast::Ident) -> String {
    match ident.ident_token() {
        Some(token) => token.text().to_owned(),
        None => node_text(ident),
    }
}

/// The name of an attribute that needs no evaluation: an identifier or a string without `${}`.
pub(super) fn static_attr_name(attr: &ast::Attr) -> Option<Rc<str>> {
    match attr {
        ast::Attr::Ident(ident) => Some(ident_text(ident).into()),
        ast::Attr::Str(string) => {
            let mut out = String::new();
            for part in string.normalized_parts() {
                match part {
                    InterpolPart::Literal(text) => out.push_str(&text),
                    InterpolPart::Interpolation(_) => return None,
                }
            }
            Some(out.into())
        }
        ast::Attr::Dynamic(_) => None,
    }
}

/// `flake-utils.lib.system.<system>` (or `with flake-utils.lib.system; <system>`).
fn is_flake_utils_system_path(path: &[Rc<str>]) -> bool {
    let n = path.len();
    n >= 3 && &*path[n - 3] == "lib" && &*path[n - 2] == "system" && looks_like_system(&path[n - 1])
}

/// `x86_64-linux`, `aarch64-darwin`, `riscv64-linux`, ...
pub fn looks_like_system(name: &str) -> bool {
    match name.split_once('-') {
        Some((arch, os)) => {
            !arch.is_empty()
                && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && matches!(
                    os,
                    "linux"
                        | "darwin"
                        | "freebsd"
                        | "openbsd"
                        | "netbsd"
                        | "windows"
                        | "none"
                        | "cygwin"
                )
        }
        None => false,
    }
}

/// What calling an unknown function with this name path produces, when recognisable.
fn classify_call(path: &[Rc<str>]) -> Option<CallKind> {
    let last = &**path.last()?;
    let from_image_library = path[..path.len() - 1]
        .iter()
        .any(|name| &**name == "dockerTools" || name.contains("nix2container") || &**name == "n2c");
    if IMAGE_BUILDERS.contains(&last) && from_image_library {
        return Some(CallKind::Image);
    }
    if last == "derivation" && (path.len() == 1 || (path.len() == 2 && &*path[0] == "builtins")) {
        return Some(CallKind::Derivation);
    }
    if NOT_IMAGE_BUILDERS.contains(&last) {
        return Some(CallKind::NotImage);
    }
    None
}

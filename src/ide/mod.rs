//! Answers to editor questions (hover, completion, signature help, go to definition, document
//! symbols) over byte offsets, in the crate's own types: the LSP server converts them to
//! lsp-types and positions to UTF-16, the web playground to CodeMirror's.
//!
//! An [`Analysis`] joins what the checker found (a [`CheckResult`]: the plan, how locators
//! resolve) with the files as they are now (a [`SourceProvider`], open buffers included). The
//! text being edited usually does not parse, so what concerns the cursor is read from a
//! forgiving token stream ([`lex`], [`cursor`]) and what concerns whole files from starlark's
//! AST, repaired statement by statement ([`outline`]). Builtins are described only by
//! [`crate::builtins::builtins`], the table that validates their arguments.
//!
//! Files are package-relative paths, as everywhere in the crate. Offsets are bytes; any offset
//! is accepted (past the end, inside a character) and clamped. Nothing here panics.

mod complete;
mod cursor;
mod definition;
mod hover;
mod lex;
mod markdown;
mod outline;
mod signature;
mod symbols;

use serde::Serialize;

use crate::builtins::{BuiltinInfo, BuiltinKind, ParamInfo, builtins};
use crate::check::CheckResult;
use crate::flake::FlakeFile;
use crate::package::Resolution;
use crate::source::{EntryKind, SourceProvider};
use crate::text::Span;
use cursor::{Arg, Call, Cursor};
use outline::Item;

/// Markdown for the thing under the cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hover {
    pub markdown: String,
    /// What the hover describes (a name, a keyword, a string).
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionKind {
    /// A global function or type constructor (`ServiceConfig`).
    Builtin,
    /// A `plan.*` instruction.
    Instruction,
    /// `name = ` inside a call.
    Argument,
    /// A function defined in a module.
    Function,
    /// A value defined in a module.
    Value,
    Service,
    Port,
    FlakeOutput,
    File,
    Folder,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    /// One line: a signature, a type, where a service is added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// The text the completion replaces (the word or string contents typed so far).
    pub replace: Span,
    pub insert: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureHelp {
    /// `plan.exec(service_name: str, recipe: ExecRecipe, ...) -> ExecResult`.
    pub label: String,
    pub params: Vec<SignatureParam>,
    /// Index into `params` of the argument the cursor is in, when it binds to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_param: Option<usize>,
    /// Markdown: the builtin's documentation.
    pub documentation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureParam {
    /// Byte offsets of this parameter in [`SignatureHelp::label`].
    pub label: Span,
    /// Markdown.
    pub documentation: String,
}

/// A place to jump to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub file: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    Function,
    Value,
    /// A service the plan adds from this file.
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The whole definition.
    pub span: Span,
    /// The name within it.
    pub selection_span: Span,
    pub children: Vec<Symbol>,
}

/// Editor questions about one state of a package.
///
/// `source` reads the files as the editor has them; `result` is a check of the package
/// (possibly of a slightly older state: answers that rest on it, such as service names, are
/// then as of that check).
pub struct Analysis<'a> {
    source: &'a dyn SourceProvider,
    result: &'a CheckResult,
    table: Vec<BuiltinInfo>,
}

impl<'a> Analysis<'a> {
    pub fn new(source: &'a dyn SourceProvider, result: &'a CheckResult) -> Self {
        Analysis {
            source,
            result,
            table: builtins(),
        }
    }

    /// Documentation of the builtin, instruction, argument, module member or function under
    /// the cursor; on a `NixBuildSpec` call also the plan's view of its image.
    pub fn hover(&self, file: &str, offset: u32) -> Option<Hover> {
        let text = self.starlark_text(file)?;
        hover::hover(self, file, &Cursor::new(&text, offset))
    }

    /// What may be written at the cursor: globals, `plan.` instructions, keyword arguments not
    /// yet given, module members, and values the argument expects (service names, port ids,
    /// flake outputs, file and folder paths).
    pub fn completions(&self, file: &str, offset: u32) -> Vec<Completion> {
        match self.starlark_text(file) {
            Some(text) => complete::completions(self, file, &Cursor::new(&text, offset)),
            None => Vec::new(),
        }
    }

    /// The signature of the builtin whose call the cursor is in, with the argument it is at.
    pub fn signature_help(&self, file: &str, offset: u32) -> Option<SignatureHelp> {
        let text = self.starlark_text(file)?;
        signature::signature_help(self, &Cursor::new(&text, offset))
    }

    /// Where the thing under the cursor is defined: a locator's file, a flake folder's
    /// `flake.nix`, a `flake_output`'s attribute, a module member's or a function's `def`.
    pub fn definition(&self, file: &str, offset: u32) -> Vec<Target> {
        match self.starlark_text(file) {
            Some(text) => definition::definition(self, file, &Cursor::new(&text, offset)),
            None => Vec::new(),
        }
    }

    /// The file's top-level functions and values, and the services the plan adds from it
    /// (inside the function that adds them).
    pub fn document_symbols(&self, file: &str) -> Vec<Symbol> {
        match self.starlark_text(file) {
            Some(text) => symbols::document_symbols(self, file, &text),
            None => Vec::new(),
        }
    }

    fn text(&self, file: &str) -> Option<String> {
        self.source.read(file).ok()
    }

    /// The text of a `.star` file; other files (`kurtosis.yml`, `flake.nix`) get no answers.
    fn starlark_text(&self, file: &str) -> Option<String> {
        file.ends_with(".star").then(|| self.text(file)).flatten()
    }

    /// The builtin a callee names: `plan.<instruction>` or a global.
    fn builtin(&self, callee: &[String]) -> Option<&BuiltinInfo> {
        let (kind, name) = match callee {
            [receiver, name] if receiver == "plan" => (BuiltinKind::Instruction, name),
            [name] => (BuiltinKind::Global, name),
            _ => return None,
        };
        self.table
            .iter()
            .find(|info| info.kind == kind && info.name == *name)
    }

    /// The top-level definitions of a Starlark file.
    fn outline(&self, file: &str) -> Vec<Item> {
        self.text(file)
            .map(|text| outline::outline(file, &text))
            .unwrap_or_default()
    }

    /// The source path a locator written in `file` names, when it is readable here.
    fn resolve(&self, file: &str, locator: &str) -> Option<String> {
        let caller = self.result.locator_of(file);
        let absolute = self.result.resolver.absolute(&caller, locator).ok()?;
        match self.result.resolver.resolve(&absolute) {
            Resolution::Local { path, .. } => Some(path),
            Resolution::Remote { .. } => None,
        }
    }

    /// The module a top-level `name = import_module("...")` of `file` binds, as a path.
    fn imported_module(&self, file: &str, name: &str) -> Option<String> {
        self.outline(file)
            .into_iter()
            .find_map(|item| match item.kind {
                outline::ItemKind::Value {
                    import: Some(locator),
                } if item.name == name => self.resolve(file, &locator),
                _ => None,
            })
    }

    fn entry_kind(&self, path: &str) -> Option<EntryKind> {
        self.source.entry(path).map(|entry| entry.kind)
    }

    /// The flake a `NixBuildSpec` call names, as `(folder, flake.nix path)`, from its literal
    /// `build_context_dir` (relative to the calling file) and `flake_location_dir` (relative
    /// to the context, as the checker resolves them).
    fn flake_of(&self, file: &str, cursor: &Cursor, call: &Call) -> Option<(String, String)> {
        let info = self.builtin(&call.callee)?;
        let context = self.string_arg(cursor, info, call, "build_context_dir")?;
        let context = self.resolve(file, &context)?;
        let flake_dir = self
            .string_arg(cursor, info, call, "flake_location_dir")
            .map_or_else(
                || context.clone(),
                |dir| crate::source::join(&context, dir.trim_start_matches('/')),
            );
        let flake_file = crate::source::join(&flake_dir, "flake.nix");
        Some((flake_dir, flake_file))
    }

    /// The flake a `NixBuildSpec` call names, read.
    fn read_flake(&self, flake_dir: &str, flake_file: &str) -> Option<FlakeFile> {
        let text = self.source.read(flake_file).ok()?;
        let has_lock = self
            .source
            .entry(&crate::source::join(flake_dir, "flake.lock"))
            .is_some();
        Some(FlakeFile::read(flake_file, &text, has_lock).0)
    }

    /// The string literal given for parameter `name` in `call`.
    fn string_arg(
        &self,
        cursor: &Cursor,
        info: &BuiltinInfo,
        call: &Call,
        name: &str,
    ) -> Option<String> {
        call.args
            .iter()
            .enumerate()
            .find(|(index, _)| param_of(info, call, *index).is_some_and(|p| p.name == name))
            .and_then(|(_, arg)| cursor.string_argument(arg))
    }

    /// The service named by the innermost enclosing call that names one (`service_name`,
    /// `plan.add_service(name=...)`, ...): the service a recipe's `port_id` belongs to.
    fn service_in_scope(&self, cursor: &Cursor, calls: &[Call]) -> Option<String> {
        calls.iter().find_map(|call| {
            let info = self.builtin(&call.callee)?;
            call.args.iter().enumerate().find_map(|(index, arg)| {
                let param = param_of(info, call, index)?;
                let names_service = expected(info, param.name) == Some(Expect::ServiceName)
                    || (info.kind == BuiltinKind::Instruction
                        && info.name == "add_service"
                        && param.name == "name");
                names_service.then(|| cursor.string_argument(arg)).flatten()
            })
        })
    }

    /// Every service the plan adds, once, with the port ids of its config.
    fn services(&self) -> Vec<(&str, &crate::plan::ServiceConfig, &crate::plan::Location)> {
        let mut seen = std::collections::HashSet::new();
        let mut found = Vec::new();
        for step in &self.result.plan.steps {
            if let crate::plan::Instruction::AddService { name, config, .. } = &step.instruction
                && seen.insert(name.as_str())
            {
                found.push((name.as_str(), config, &step.at));
            }
        }
        found
    }
}

/// The parameter argument `index` of `call` binds to: by keyword, or by position.
fn param_of<'i>(info: &'i BuiltinInfo, call: &Call, index: usize) -> Option<&'i ParamInfo> {
    let arg: &Arg = call.args.get(index)?;
    match &arg.keyword {
        Some(keyword) => info.params.iter().find(|param| param.name == keyword),
        None => {
            let position = call.args[..index]
                .iter()
                .filter(|arg| arg.keyword.is_none())
                .count();
            info.params.get(position)
        }
    }
}

/// What kind of value a parameter takes, where the editor can offer the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    ServiceName,
    PortId,
    FlakeOutput,
    Locator(Paths),
}

/// Which entries a locator may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paths {
    /// A `.star` module (folders on the way).
    Module,
    /// Any file (folders on the way).
    File,
    FileOrFolder,
    Folder,
    /// `flake_location_dir`: a folder, relative to `build_context_dir`.
    FlakeFolder,
}

fn expected(info: &BuiltinInfo, param: &str) -> Option<Expect> {
    let instruction = info.kind == BuiltinKind::Instruction;
    Some(match (info.name, param) {
        (_, "service_name") => Expect::ServiceName,
        (
            "get_service" | "remove_service" | "start_service" | "stop_service" | "set_service",
            "name",
        ) if instruction => Expect::ServiceName,
        (_, "port_id") => Expect::PortId,
        ("NixBuildSpec", "flake_output") => Expect::FlakeOutput,
        ("NixBuildSpec", "flake_location_dir") => Expect::Locator(Paths::FlakeFolder),
        (_, "build_context_dir") => Expect::Locator(Paths::Folder),
        ("import_module", "module_file") => Expect::Locator(Paths::Module),
        ("read_file", "src") => Expect::Locator(Paths::File),
        ("upload_files", "src") if instruction => Expect::Locator(Paths::FileOrFolder),
        _ => return None,
    })
}

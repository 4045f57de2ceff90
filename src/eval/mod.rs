//! Evaluating a package's Starlark with Kurtosis's builtins, recording the plan as it goes.

mod args;
mod budget;
mod builtins;
mod cache;
mod callsites;
mod depth;
mod dialect;
mod missing_args;
mod percent;
mod session;
mod values;

use std::collections::HashMap;
use std::rc::Rc;

use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{BeforeStmtFunc, Evaluator};
use starlark::syntax::{AstModule, Dialect};
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::structs::StructRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Value, ValueLike};

use cache::{Effect, Evaluated};
use session::StatementTracker;
pub(crate) use session::{Place, Session, State};

use crate::diagnostic::{Diagnostic, Fix, Rule};
use crate::limits;
use crate::source::ReadError;
use crate::text::Span;
use values::{PlanObject, Unknown};

pub(crate) use args::{BuiltinDef, DESCRIPTION_PARAM, Param};
pub use builtins::{GLOBAL_NAMES, INSTRUCTION_NAMES};
pub(crate) use builtins::{INSTRUCTIONS as INSTRUCTION_DEFS, MODULE_DOCS, globals as global_defs};
pub use cache::CheckCache;

/// Kurtosis runs go-starlark with its default options; these are the nearest starlark-rust
/// settings. What go-starlark forbids beyond them is checked in [`dialect`].
const DIALECT: Dialect = Dialect {
    enable_top_level_stmt: true,
    enable_keyword_only_arguments: true,
    ..Dialect::Standard
};

pub(crate) fn globals() -> Globals {
    GlobalsBuilder::extended_by(&[LibraryExtension::StructType, LibraryExtension::Json])
        .with(builtins::register)
        .with(percent::register)
        .with(budget::register)
        .build()
}

/// Parses a module as a check does: Kurtosis's dialect, with tabs and line endings read as
/// starlark-go reads them (our copy of the lexer, vendor/starlark_syntax, does that).
pub(crate) fn parse(path: &str, text: &str) -> starlark::Result<AstModule> {
    AstModule::parse(path, text.to_owned(), &DIALECT)
}

/// `%`, `*` and the calls of the string methods that can grow a value become calls of
/// functions of ours, in modules that need them: keyed formats ([`percent`]) and the memory
/// budget ([`budget`]).
pub(crate) fn rewrite_calls(ast: &mut AstModule, text: &str) {
    let mut operators = HashMap::new();
    if text.contains('%') {
        operators.insert("%".to_owned(), percent::PERCENT.to_owned());
    }
    if text.contains('*') {
        operators.insert("*".to_owned(), budget::TIMES.to_owned());
    }
    let methods = budget::methods_to_guard(text);
    if !operators.is_empty() || !methods.is_empty() {
        ast.rewrite_calls(&operators, methods, budget::METHOD, budget::ATTR);
    }
}

/// Turns an error that stopped evaluation into a diagnostic.
pub(crate) fn error_diagnostic(error: &starlark::Error, fallback: &Place) -> Diagnostic {
    let message = error.without_diagnostic().to_string();
    let message = message.trim().trim_start_matches("error: ").to_owned();
    let place = error
        .span()
        .map(Place::of)
        .or_else(|| {
            error
                .call_stack()
                .frames
                .iter()
                .rev()
                .find_map(|frame| frame.location.as_ref().map(Place::of))
        })
        .unwrap_or_else(|| fallback.clone());
    let (rule, help) = match error.kind() {
        starlark::ErrorKind::Parser(_) => (Rule::SyntaxError, None),
        starlark::ErrorKind::Scope(_)
            if message.starts_with("Variable") && message.contains("not found") =>
        {
            (Rule::UndefinedName, None)
        }
        starlark::ErrorKind::Value(_) if message.contains("has no attribute") => {
            (Rule::UnknownAttribute, None)
        }
        _ if message.starts_with(budget::MESSAGE_START)
            || message.starts_with("Heap memory limit") =>
        {
            (
                Rule::MemoryLimit,
                Some(
                    "make smaller values: a check refuses what would not fit in its memory budget"
                        .to_owned(),
                ),
            )
        }
        _ if message.starts_with(budget::RANGE_START) => (
            Rule::RunawayEvaluation,
            Some(
                "loop over fewer elements; a check goes through at most 60 million steps"
                    .to_owned(),
            ),
        ),
        _ if message.contains("Execution duration limit") || message.contains("cancelled") => (
            Rule::RunawayEvaluation,
            Some(
                "evaluation stopped: look for a loop that never ends or grows without bound"
                    .to_owned(),
            ),
        ),
        starlark::ErrorKind::StackOverflow(_) => (
            Rule::DialectViolation,
            Some(format!(
                "calls nest more than {} deep: a function that calls itself, which Kurtosis's Starlark does not allow (rewrite it with a loop), or a chain of calls too long for a check",
                limits::MAX_CALL_DEPTH
            )),
        ),
        _ => (Rule::EvaluationError, None),
    };
    let message = match rule {
        Rule::RunawayEvaluation if !message.starts_with(budget::RANGE_START) => {
            "evaluation did not finish: it ran too long (an endless or very large loop?)".to_owned()
        }
        // starlark's own heap check says only that the limit has passed.
        Rule::MemoryLimit if !message.starts_with(budget::MESSAGE_START) => {
            budget::exceeded(None).without_diagnostic().to_string()
        }
        _ => message,
    };
    let unknown_operand = message.contains(values::UNKNOWN_TYPE_IN_MESSAGE);
    let mut diagnostic = Diagnostic::new(rule, place.file.clone(), place.span, message);
    if let Some(help) = help {
        diagnostic = diagnostic.with_help(help);
    } else if matches!(rule, Rule::EvaluationError | Rule::UnknownAttribute)
        && (values::stand_in_shaped() || unknown_operand)
    {
        // A stand-in for an unknown value (an argument not given, a value of an unavailable
        // package) decided a length, a loop or a branch before this failure, or is itself the
        // operand that failed: it may be an artefact, not a defect of the package.
        diagnostic = diagnostic
            .with_severity(crate::diagnostic::Severity::Warning)
            .with_help("evaluation stopped here, possibly only because some values are unknown here (package arguments not given, or from an unavailable package); pass the arguments or make the package available (`--packages`) to check this");
    }
    // The call chain, innermost first, as labels: where the failing function was called from.
    for frame in error.call_stack().frames.iter().rev().skip(1).take(3) {
        if let Some(location) = &frame.location {
            let caller = Place::of(location);
            if caller != place {
                diagnostic = diagnostic.with_label(
                    caller.file,
                    caller.span,
                    format!("in a call to `{}` from here", frame.name),
                );
            }
        }
    }
    diagnostic
}

/// From "... `add_servce`, did you mean `add_service`?" (an undefined variable or attribute):
/// the edit renaming the misspelt identifier inside the diagnostic's span.
fn suggested_name_fix(diagnostic: &Diagnostic, text: &str) -> Option<Fix> {
    let (before, suggestion) = diagnostic.message.rsplit_once(", did you mean `")?;
    let suggestion = suggestion.strip_suffix("`?")?;
    // The last quoted name before the suggestion: "Variable `x` not found", "... attribute `x`".
    let written = before.split('`').skip(1).step_by(2).last()?;
    let attribute = diagnostic.rule == Rule::UnknownAttribute;
    let start = diagnostic.span.start as usize;
    let within = text.get(start..diagnostic.span.end as usize)?;
    let is_identifier = |c: char| c.is_alphanumeric() || c == '_';
    let (offset, _) = within.match_indices(written).find(|&(at, _)| {
        let preceding = within[..at].trim_end().chars().next_back();
        let follows = within[at + written.len()..].chars().next();
        !follows.is_some_and(is_identifier)
            && if attribute {
                preceding == Some('.')
            } else {
                !within[..at].chars().next_back().is_some_and(is_identifier)
            }
    })?;
    let at = (start + offset) as u32;
    Some(Fix::rename(
        written,
        Span::new(at, at + written.len() as u32),
        suggestion,
    ))
}

/// Why a module could not be loaded; the reason has been reported.
pub(crate) enum LoadFailure {
    /// Parse error, evaluation error, cycle: reported already.
    Reported,
}

impl<'a> Session<'a> {
    /// Reports an error that stopped evaluation, with a fix when starlark names the one
    /// identifier a misspelt name was meant to be.
    fn report_error(&self, error: &starlark::Error, fallback: &Place) {
        let mut diagnostic = error_diagnostic(error, fallback);
        // Growth past the budget trips at whichever allocation or statement check comes first,
        // and that differs natively and in wasm (starlark's heap chunks follow the pointer
        // width); the statement that was running is the same everywhere.
        if diagnostic.rule == Rule::MemoryLimit
            && diagnostic.message.contains(budget::GROWTH)
            && let Some(statement) = self.statement.place()
        {
            diagnostic.file = statement.file;
            diagnostic.span = statement.span;
        }
        let fix = {
            let state = self.state.borrow();
            state
                .files
                .get(&diagnostic.file)
                .and_then(|file| suggested_name_fix(&diagnostic, &file.text))
        };
        self.report(diagnostic.with_fix(fix));
    }

    fn new_evaluator_limits(&self, eval: &mut Evaluator<'_, '_, 'a>) {
        // The setters only fail when called twice or with zero.
        let _ = eval.set_max_tick_count(limits::MAX_TICKS);
        let _ = eval.set_max_heap_size(limits::MEMORY_BUDGET);
        let _ = eval.set_max_callstack_size(limits::MAX_CALL_DEPTH);
        if let Some(interrupt) = self.interrupt {
            eval.set_check_cancelled(Box::new(interrupt));
        }
        eval.before_stmt_for_dap(BeforeStmtFunc::Dyn(Box::new(StatementTracker(
            self.statement.clone(),
        ))));
    }

    /// Where to report an evaluation error that carries no place of its own: the statement
    /// being evaluated, else `fallback`.
    fn unplaced_error_at(&self, fallback: Place) -> Place {
        self.statement.place().unwrap_or(fallback)
    }

    /// Reads, parses and evaluates one module (once; later calls get the cached result).
    pub(crate) fn load_module(
        &self,
        path: &str,
        locator: &str,
        requested_at: Option<&Place>,
    ) -> Result<FrozenModule, LoadFailure> {
        let result = self.load_module_once(path, locator, requested_at);
        // The importing module is kept only with what it imported.
        let serial = match result {
            Ok(_) => self.state.borrow().kept.get(path).map(|kept| kept.serial),
            Err(_) => None,
        };
        match serial {
            Some(serial) => {
                if let Some(effects) = self.recorded.borrow_mut().last_mut() {
                    effects.push(Effect::Import {
                        path: path.to_owned(),
                        locator: locator.to_owned(),
                        requested_at: requested_at.cloned(),
                        serial,
                    });
                }
            }
            None => self.effects.set(true),
        }
        result
    }

    fn load_module_once(
        &self,
        path: &str,
        locator: &str,
        requested_at: Option<&Place>,
    ) -> Result<FrozenModule, LoadFailure> {
        {
            let state = self.state.borrow();
            match state.modules.get(path) {
                Some(Some(module)) => return Ok(module.clone()),
                Some(None) => {
                    drop(state);
                    self.report_cycle(path, requested_at);
                    return Err(LoadFailure::Reported);
                }
                None => {}
            }
        }
        if let Some(place) = requested_at
            && self.state.borrow().loading.len() >= limits::MAX_IMPORT_DEPTH
        {
            self.report(
                Diagnostic::new(
                    Rule::NestingTooDeep,
                    place.file.clone(),
                    place.span,
                    format!(
                        "modules import each other more than {} deep here; `{path}` is not checked",
                        limits::MAX_IMPORT_DEPTH
                    ),
                )
                .with_help("import the modules from fewer levels, e.g. all from `main.star`"),
            );
            return Err(LoadFailure::Reported);
        }
        let text = match self.read(path) {
            Ok(text) => text,
            Err(error) => {
                match requested_at {
                    Some(place) => self.report(self.read_error(path, error, place)),
                    // The main file: nothing imports it, so the error is its own.
                    None if self.state.borrow().loading.is_empty() => {
                        let place = Place {
                            file: path.to_owned(),
                            span: Span::default(),
                        };
                        self.report(self.read_error(path, error, &place).with_help(format!(
                            "Kurtosis runs a package from its main file, `{path}` at the package root unless `--main-file` names another"
                        )));
                    }
                    None => {}
                }
                return Err(LoadFailure::Reported);
            }
        };
        // The parser and every walk over the tree recurse once per level: refuse what would
        // overflow the stack before they start.
        if let Some(too_deep) =
            limits::too_large(path, &text).or_else(|| limits::too_deep(path, &text))
        {
            self.state.borrow_mut().files.insert(path, &text);
            self.report(too_deep);
            return Err(LoadFailure::Reported);
        }
        let (parsed, kept) = match self.cache.entry(path, &text) {
            Ok(found) => found,
            Err(error) => {
                self.state.borrow_mut().files.insert(path, &text);
                self.report_error(
                    &error,
                    &Place {
                        file: path.to_owned(),
                        span: Span::default(),
                    },
                );
                return Err(LoadFailure::Reported);
            }
        };
        {
            let mut state = self.state.borrow_mut();
            state.files.insert(path, &text);
            state.call_sites.insert(path.to_owned(), parsed.call_sites);
            state.locators.insert(path.to_owned(), locator.to_owned());
            state.diagnostics.extend(parsed.dialect);
            state.modules.insert(path.to_owned(), None);
            state.loading.push(path.to_owned());
        }
        self.recorded.borrow_mut().push(Vec::new());
        let outer_effects = self.effects.replace(false);
        let reused = kept.filter(|kept| self.reusable(kept, locator) && self.replay(kept));
        let (result, kept) = match reused {
            Some(kept) => (Ok(kept.module.clone()), Some(kept)),
            None => {
                // A replay given up midway leaves its imports loaded; they are imported again.
                if let Some(effects) = self.recorded.borrow_mut().last_mut() {
                    effects.clear();
                }
                self.effects.set(false);
                let (result, bytes) = self.evaluate(path, parsed.ast);
                let effects = self
                    .recorded
                    .borrow_mut()
                    .last_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let kept = match &result {
                    Ok(module)
                        if self.cache.keeps()
                            && !self.effects.get()
                            && !values::stand_in_shaped() =>
                    {
                        self.keep(locator, module, effects, bytes)
                    }
                    _ => None,
                };
                self.cache.set_evaluated(path, kept.clone());
                // What was verified may rest on the evaluation just replaced.
                self.verified.borrow_mut().clear();
                (result, kept)
            }
        };
        self.recorded.borrow_mut().pop();
        self.effects.set(outer_effects);
        let mut state = self.state.borrow_mut();
        state.loading.pop();
        match result {
            Ok(module) => {
                if let Some(kept) = kept {
                    state.kept.insert(path.to_owned(), kept);
                }
                state.modules.insert(path.to_owned(), Some(module.clone()));
                Ok(module)
            }
            Err(failure) => {
                state.modules.remove(path);
                Err(failure)
            }
        }
    }

    /// The text of the file at `path`, read once per check.
    fn read(&self, path: &str) -> Result<String, ReadError> {
        if let Some(text) = self.texts.borrow().get(path) {
            return Ok(text.clone());
        }
        let text = self.source.read(path)?;
        self.texts
            .borrow_mut()
            .insert(path.to_owned(), text.clone());
        Ok(text)
    }

    /// Evaluates the top level of a parsed module; also gives the bytes its heap holds.
    fn evaluate(
        &self,
        path: &str,
        ast: Rc<AstModule>,
    ) -> (Result<FrozenModule, LoadFailure>, usize) {
        // Evaluation consumes the tree: copied only when the cache keeps it for the next check.
        let ast = Rc::try_unwrap(ast).unwrap_or_else(|kept| (*kept).clone());
        let loader = LoadStatementLoader {
            session: self,
            from: path,
        };
        Module::with_temp_heap(|module| {
            let mut eval = Evaluator::new(&module);
            eval.extra = Some(self);
            eval.set_loader(&loader);
            self.new_evaluator_limits(&mut eval);
            let result = eval.eval_module(ast, &self.globals);
            drop(eval);
            let bytes = module.heap().allocated_bytes();
            self.settled_bytes
                .set(self.settled_bytes.get().saturating_add(bytes));
            let too_deep = result.as_ref().ok().and_then(|_| too_deep_global(&module));
            if let Some(name) = too_deep {
                self.report(too_deep_value(path, &name));
                return (Err(LoadFailure::Reported), bytes);
            }
            let result = match result {
                Ok(_) => module.freeze().map_err(|error| {
                    self.report_error(
                        &starlark::Error::from(error),
                        &Place {
                            file: path.to_owned(),
                            span: Span::default(),
                        },
                    );
                    LoadFailure::Reported
                }),
                Err(error) => {
                    self.report_error(
                        &error,
                        &self.unplaced_error_at(Place {
                            file: path.to_owned(),
                            span: Span::default(),
                        }),
                    );
                    Err(LoadFailure::Reported)
                }
            };
            (result, bytes)
        })
    }

    /// A new kept evaluation of a module whose top level did only `effects`.
    fn keep(
        &self,
        locator: &str,
        module: &FrozenModule,
        effects: Vec<Effect>,
        bytes: usize,
    ) -> Option<Rc<Evaluated>> {
        let mut bytes_with_imports = bytes;
        let mut import_depth = 0;
        for effect in &effects {
            if let Effect::Import { path, serial, .. } = effect {
                let imported = self
                    .state
                    .borrow()
                    .kept
                    .get(path)
                    .filter(|imported| imported.serial == *serial)
                    .cloned()?;
                bytes_with_imports = bytes_with_imports.saturating_add(imported.bytes_with_imports);
                import_depth = import_depth.max(imported.import_depth + 1);
            }
        }
        Some(Rc::new(Evaluated {
            serial: self.cache.next_serial(),
            locator: locator.to_owned(),
            module: module.clone(),
            effects,
            bytes,
            bytes_with_imports,
            import_depth,
            last_statement: self.statement.span(),
        }))
    }

    /// Whether a fresh evaluation would do exactly what `kept` records: the same locator, the
    /// modules it imported unchanged, and the limits it ran within still holding.
    fn reusable(&self, kept: &Evaluated, locator: &str) -> bool {
        let depth = self.state.borrow().loading.len();
        kept.locator == locator
            && depth + kept.import_depth <= limits::MAX_IMPORT_DEPTH
            && self
                .settled_bytes
                .get()
                .saturating_add(kept.bytes_with_imports)
                <= limits::MEMORY_BUDGET
            // Past the deadline, evaluating would stop: do it. (Asked once per replay, as an
            // evaluation would not notice in between.)
            && (self.replaying.get() || !self.interrupt.is_some_and(|interrupt| interrupt()))
            && kept
                .imports()
                .all(|(path, locator, serial)| self.unchanged(path, locator, serial))
    }

    /// Whether importing `path` as `locator` now gives the evaluation with `serial`.
    fn unchanged(&self, path: &str, locator: &str, serial: u64) -> bool {
        {
            let state = self.state.borrow();
            if let Some(loaded) = state.kept.get(path) {
                return loaded.serial == serial;
            }
            if state.modules.contains_key(path) {
                return false;
            }
        }
        self.verify(path)
            .is_some_and(|kept| kept.serial == serial && kept.locator == locator)
    }

    /// The kept evaluation of `path`, if its text and those of the modules it imported are
    /// unchanged.
    fn verify(&self, path: &str) -> Option<Rc<Evaluated>> {
        if let Some(known) = self.verified.borrow().get(path) {
            return known.clone();
        }
        // Imports were kept before their importer, with lower serials: this ends.
        let text = self.read(path).ok()?;
        let kept = self.cache.evaluated_for(path, &text).filter(|kept| {
            kept.imports()
                .all(|(path, locator, serial)| self.unchanged(path, locator, serial))
        });
        self.verified
            .borrow_mut()
            .insert(path.to_owned(), kept.clone());
        kept
    }

    /// Does to the check what evaluating the module `kept` is of did: its imports, in order,
    /// and its reports. `false` when an import did not give the evaluation it gave then.
    fn replay(&self, kept: &Evaluated) -> bool {
        let outer = self.replaying.replace(true);
        let mut replayed = true;
        for effect in &kept.effects {
            match effect {
                Effect::Report(diagnostic) => self.report(diagnostic.clone()),
                Effect::Import {
                    path,
                    locator,
                    requested_at,
                    serial,
                } => {
                    let loaded = self.load_module(path, locator, requested_at.as_ref());
                    let same = loaded.is_ok()
                        && (self.state.borrow().kept.get(path))
                            .is_some_and(|loaded| loaded.serial == *serial);
                    if !same {
                        replayed = false;
                        break;
                    }
                }
            }
        }
        self.replaying.set(outer);
        if replayed {
            self.settled_bytes
                .set(self.settled_bytes.get().saturating_add(kept.bytes));
            self.statement.set(kept.last_statement.clone());
        }
        replayed
    }

    fn report_cycle(&self, path: &str, requested_at: Option<&Place>) {
        let chain = {
            let state = self.state.borrow();
            let start = state
                .loading
                .iter()
                .position(|loading| loading == path)
                .unwrap_or(0);
            let mut chain: Vec<String> = state.loading[start..].to_vec();
            chain.push(path.to_owned());
            chain.join(" -> ")
        };
        let place = requested_at.cloned().unwrap_or_default();
        self.report(
            Diagnostic::new(
                Rule::ImportCycle,
                place.file,
                place.span,
                format!("modules import each other in a cycle: {chain}"),
            )
            .with_help("move what both modules need into a third module that imports neither"),
        );
    }

    pub(crate) fn read_error(&self, path: &str, error: ReadError, place: &Place) -> Diagnostic {
        Diagnostic::new(
            Rule::FileNotFound,
            place.file.clone(),
            place.span,
            format!("cannot read `{path}`: {error}"),
        )
    }
}

/// The first global of `module` whose value nests deeper than [`limits::MAX_VALUE_DEPTH`]:
/// freezing it would recurse once per level.
fn too_deep_global(module: &Module) -> Option<String> {
    module.names().find_map(|name| {
        let value = module.get(name.as_str())?;
        depth::too_deep(value, limits::MAX_VALUE_DEPTH).then(|| name.as_str().to_owned())
    })
}

fn too_deep_value(path: &str, name: &str) -> Diagnostic {
    Diagnostic::new(
        Rule::NestingTooDeep,
        path,
        Span::default(),
        format!(
            "the value of `{name}` nests more than {} levels of lists, tuples, dicts and structs; the module is not checked further",
            limits::MAX_VALUE_DEPTH
        ),
    )
    .with_help("keep nested data flat, e.g. a list of records instead of a record inside each record")
}

/// Serves `load()` statements as `import_module` would, so that after reporting `load()` as
/// unsupported the rest of the file is still checked.
struct LoadStatementLoader<'s, 'a> {
    session: &'s Session<'a>,
    from: &'s str,
}

impl starlark::eval::FileLoader for LoadStatementLoader<'_, '_> {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        let caller = self.session.locator_of(self.from);
        let unavailable = || starlark::Error::new_other(anyhow::anyhow!("cannot load `{path}`"));
        let absolute = self
            .session
            .resolver
            .absolute(&caller, path)
            .map_err(|_| unavailable())?;
        match self.session.resolver.resolve(&absolute) {
            crate::package::Resolution::Local {
                path: local,
                locator,
                ..
            } => self
                .session
                .load_module(&local, &locator, None)
                .map_err(|_| unavailable()),
            crate::package::Resolution::Remote { .. } => Err(unavailable()),
        }
    }
}

/// Converts a Starlark value to JSON for the plan; Kurtosis objects give their fields. A value
/// nested deeper than [`limits::MAX_NESTING`] (built in a loop) is not converted: the
/// conversion, and dropping its result, would recurse that deep. Nor is one of more than
/// [`limits::MAX_JSON_VALUES`] values, which would take seconds and gigabytes (`run` returning
/// `list(range(16000000))`).
pub(crate) fn to_json(value: Value) -> Option<serde_json::Value> {
    to_json_within(
        value,
        limits::MAX_NESTING,
        &mut limits::MAX_JSON_VALUES.clone(),
    )
}

fn to_json_within(
    value: Value,
    levels: usize,
    values_left: &mut usize,
) -> Option<serde_json::Value> {
    use serde_json::Value as Json;
    let levels = levels.checked_sub(1)?;
    *values_left = values_left.checked_sub(1)?;
    if value.is_none() {
        return Some(Json::Null);
    }
    if let Some(flag) = value.unpack_bool() {
        return Some(Json::Bool(flag));
    }
    if let Some(text) = value.unpack_str() {
        return Some(Json::String(text.to_owned()));
    }
    if value.get_type() == "int" || value.get_type() == "float" {
        return value.to_json_value().ok();
    }
    if let Some(list) = ListRef::from_value(value) {
        return list
            .content()
            .iter()
            .map(|item| to_json_within(*item, levels, values_left))
            .collect::<Option<Vec<_>>>()
            .map(Json::Array);
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return tuple
            .content()
            .iter()
            .map(|item| to_json_within(*item, levels, values_left))
            .collect::<Option<Vec<_>>>()
            .map(Json::Array);
    }
    if let Some(dict) = DictRef::from_value(value) {
        let mut map = serde_json::Map::new();
        for (key, item) in dict.iter() {
            let key = match key.unpack_str() {
                Some(key) => key.to_owned(),
                None => key.to_str(),
            };
            map.insert(key, to_json_within(item, levels, values_left)?);
        }
        return Some(Json::Object(map));
    }
    if let Some(fields) = StructRef::from_value(value) {
        let mut map = serde_json::Map::new();
        for (key, item) in fields.iter() {
            map.insert(
                key.as_str().to_owned(),
                to_json_within(item, levels, values_left)?,
            );
        }
        return Some(Json::Object(map));
    }
    if value.downcast_ref::<Unknown>().is_some() {
        return Some(Json::Null);
    }
    builtins::object_json(value)
}

/// Applies YAML merge keys (`<<: *anchor`), as the YAML parser behind `kurtosis run --args-file`
/// does; package arguments reach us as JSON with `<<` left as an ordinary key. Keys written in
/// a mapping win over merged ones; with a list of mappings, earlier ones win.
fn apply_merge_keys(value: &mut serde_json::Value) {
    use serde_json::Value as Json;
    match value {
        Json::Array(items) => items.iter_mut().for_each(apply_merge_keys),
        Json::Object(map) => {
            map.values_mut().for_each(apply_merge_keys);
            let sources = match map.get("<<") {
                Some(Json::Object(source)) => vec![source.clone()],
                Some(Json::Array(items)) if items.iter().all(Json::is_object) => items
                    .iter()
                    .filter_map(|item| item.as_object().cloned())
                    .collect(),
                _ => return,
            };
            map.remove("<<");
            for source in sources {
                for (key, item) in source {
                    map.entry(key).or_insert(item);
                }
            }
        }
        _ => {}
    }
}

/// Evaluates `main_path` and calls its entry function; the plan accumulates in the session.
pub(crate) fn run_package(
    session: &Session,
    main_path: &str,
    function: &str,
    args: Option<(&serde_json::Value, Place)>,
) -> Option<serde_json::Value> {
    values::reset_stand_in_shape();
    let locator = session.resolver.locator_of(main_path);
    let module = session.load_module(main_path, &locator, None).ok()?;
    let entry_place = Place {
        file: main_path.to_owned(),
        span: Span::default(),
    };
    let Ok(run) = module.get(function) else {
        session.report(
            Diagnostic::new(
                Rule::EntryPoint,
                main_path,
                Span::default(),
                format!("`{main_path}` has no `{function}` function, which Kurtosis calls to run the package"),
            )
            .with_help(format!("add `def {function}(plan, args):` (or `def {function}(plan):`) to `{main_path}`")),
        );
        return None;
    };
    let text = session
        .state
        .borrow()
        .files
        .get(main_path)
        .map(|file| file.text.clone())
        .unwrap_or_default();
    let params = parse(main_path, &text)
        .ok()
        .and_then(|ast| dialect::function_params(&ast, function));
    let Some((name_span, params)) = params else {
        session.report(Diagnostic::new(
            Rule::EntryPoint,
            main_path,
            Span::default(),
            format!("`{function}` in `{main_path}` must be a function defined with `def`"),
        ));
        return None;
    };
    let takes_plan = match params.first() {
        Some(param) if param.name == "plan" => true,
        Some(dialect::Param { name, span, .. }) => {
            session.report(
                Diagnostic::new(
                    Rule::EntryPoint,
                    main_path,
                    *span,
                    format!(
                        "the first parameter of `{function}` must be called `plan`, not `{name}`"
                    ),
                )
                .with_help(format!(
                    "Kurtosis passes the plan as the first argument: `def {function}(plan, ...)`"
                )),
            );
            return None;
        }
        None => false,
    };
    let rest = if takes_plan {
        &params[1..]
    } else {
        &params[..]
    };
    let args_dict_positional = rest.len() == 1 && rest[0].name == "args";
    let Some((args_value, args_place)) = args else {
        return run_without_args(
            session,
            &run,
            function,
            takes_plan,
            args_dict_positional,
            rest,
            entry_place,
            name_span,
        );
    };
    let mut merged_args = args_value.clone();
    apply_merge_keys(&mut merged_args);
    let args_value = &merged_args;
    let serde_json::Value::Object(arg_map) = args_value else {
        session.report(
            Diagnostic::new(
                Rule::InvalidArgs,
                args_place.file.clone(),
                args_place.span,
                "package arguments must be a JSON or YAML object",
            )
            .with_help("pass them as `--args '{\"name\": \"value\"}'`"),
        );
        return None;
    };
    if !args_dict_positional {
        let accepts_kwargs = rest.iter().any(|param| param.name.starts_with("**"));
        let mut bad = false;
        for key in arg_map.keys() {
            if !accepts_kwargs && !rest.iter().any(|param| &param.name == key) {
                bad = true;
                let known: Vec<&str> = rest.iter().map(|param| param.name.as_str()).collect();
                let mut diagnostic = Diagnostic::new(
                    Rule::InvalidArgs,
                    args_place.file.clone(),
                    args_place.span,
                    format!("the argument `{key}` does not match any parameter of `{function}`"),
                )
                .with_label(main_path, name_span, "parameters declared here");
                if let Some(suggestion) =
                    crate::diagnostic::did_you_mean(key, known.iter().copied())
                {
                    diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                }
                session.report(diagnostic);
            }
        }
        for dialect::Param {
            name,
            span,
            has_default,
            ..
        } in rest
        {
            if !has_default && !arg_map.contains_key(name) {
                bad = true;
                session.report(
                    Diagnostic::new(Rule::InvalidArgs, main_path, *span, format!("`{function}` needs the argument `{name}`, and none was given"))
                        .with_help(format!("pass it with `--args '{{\"{name}\": ...}}'`, or give the parameter a default")),
                );
            }
        }
        if bad {
            return None;
        }
    }

    call_entry(session, &run, &entry_place, |heap| {
        let mut positional: Vec<Value> = Vec::new();
        if takes_plan {
            positional.push(heap.alloc(PlanObject));
        }
        let mut named: Vec<(&str, Value)> = Vec::new();
        if args_dict_positional {
            positional.push(heap.alloc(args_value.clone()));
        } else {
            for (key, value) in arg_map {
                named.push((key.as_str(), heap.alloc(value.clone())));
            }
        }
        (positional, named)
    })
}

/// Calls the entry function when no arguments were given: what it reads from them is unknown
/// instead of missing, so the rest of the package is still checked, and one warning names
/// what it reads. (With arguments given, Kurtosis's errors apply.)
#[allow(clippy::too_many_arguments)]
fn run_without_args(
    session: &Session,
    run: &starlark::values::OwnedFrozenValue,
    function: &str,
    takes_plan: bool,
    args_dict_positional: bool,
    params: &[dialect::Param],
    entry_place: Place,
    name_span: Span,
) -> Option<serde_json::Value> {
    // As with `args.get(key, None)`, a placeholder default stands for a value to be given.
    let required: Vec<&dialect::Param> = if args_dict_positional {
        Vec::new()
    } else {
        params
            .iter()
            .filter(|param| !param.has_default || param.placeholder_default)
            .collect()
    };
    let args_read = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let output = call_entry(session, run, &entry_place, |heap| {
        let mut positional: Vec<Value> = Vec::new();
        if takes_plan {
            positional.push(heap.alloc(PlanObject));
        }
        if args_dict_positional {
            positional.push(heap.alloc(missing_args::ArgsNotGiven::new(args_read.clone())));
        }
        let named = required
            .iter()
            .map(|param| (param.name.as_str(), heap.alloc(Unknown)))
            .collect();
        (positional, named)
    });
    let mut unknown: Vec<String> = required.iter().map(|param| param.name.clone()).collect();
    unknown.extend(
        args_read
            .lock()
            .map(|keys| keys.clone())
            .unwrap_or_default(),
    );
    if !unknown.is_empty() {
        let names = unknown
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let example = unknown
            .iter()
            .map(|name| format!("\"{name}\": ..."))
            .collect::<Vec<_>>()
            .join(", ");
        let mut diagnostic = Diagnostic::new(
            Rule::ArgsNotGiven,
            &entry_place.file,
            name_span,
            format!("no package arguments were given, so what `{function}` reads from them is unknown here: {names}; what depends on them is checked only in part"),
        )
        .with_help(format!("pass them as `kurtosis run` takes them to check everything: `--args '{{{example}}}'` or `--args-file FILE`"));
        for param in &required {
            diagnostic = diagnostic.with_label(
                &entry_place.file,
                param.span,
                if param.has_default {
                    format!("`{}` defaults to a placeholder", param.name)
                } else {
                    format!("`{}` has no default", param.name)
                },
            );
        }
        session.report(diagnostic);
    }
    output
}

/// Calls the entry function with the arguments `arguments` allocates, and turns its result
/// into the plan's output.
fn call_entry<'n>(
    session: &Session,
    run: &starlark::values::OwnedFrozenValue,
    entry_place: &Place,
    arguments: impl for<'v> FnOnce(
        starlark::values::Heap<'v>,
    ) -> (Vec<Value<'v>>, Vec<(&'n str, Value<'v>)>),
) -> Option<serde_json::Value> {
    Module::with_temp_heap(|module| {
        let mut eval = Evaluator::new(&module);
        eval.extra = Some(session);
        session.new_evaluator_limits(&mut eval);
        let heap = eval.heap();
        let run = heap.access_owned_frozen_value(run);
        let (positional, named) = arguments(heap);
        match eval.eval_function(run, &positional, &named) {
            Ok(result) => to_json(result),
            Err(error) => {
                let place = session.unplaced_error_at(entry_place.clone());
                session.report_error(&error, &place);
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml_merge_keys_are_applied() {
        let mut args = serde_json::json!({
            "a": {"<<": {"x": 1, "y": 2}, "y": 3},
            "b": [{"<<": [{"p": 1}, {"p": 2, "q": 2}]}],
        });
        super::apply_merge_keys(&mut args);
        assert_eq!(
            args,
            serde_json::json!({"a": {"x": 1, "y": 3}, "b": [{"p": 1, "q": 2}]})
        );
    }
}

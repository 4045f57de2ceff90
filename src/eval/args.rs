//! Binding and checking the arguments of Kurtosis builtins, the way Kurtosis's argument
//! framework does (positional in declaration order, keywords by name, an optional
//! `description` everywhere), but reporting every problem with its own span and carrying on.

use std::collections::BTreeMap;

use starlark::eval::{Arguments, Evaluator};
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{StarlarkValue, Value, ValueLike};

use super::session::{Place, Session};
use super::values::{Origin, Unknown, is_unknown};
use crate::diagnostic::{Diagnostic, Fix, Rule, did_you_mean};
use crate::text::Span;

/// One parameter of a builtin. The same entry drives argument binding, and the editor's
/// hover, completion and signature help, so they cannot drift apart.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub required: bool,
    /// The Starlark types it accepts, as written in documentation (`str | NixBuildSpec`).
    pub ty: &'static str,
    /// What Kurtosis really uses when the argument is left out, when that is a value.
    pub default: Option<&'static str>,
    /// Markdown: what it means, and where Kurtosis's behaviour differs from its docs.
    pub doc: &'static str,
}

pub(crate) const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
        ty: "",
        default: None,
        doc: "",
    }
}

pub(crate) const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
        ty: "",
        default: None,
        doc: "",
    }
}

impl Param {
    pub const fn ty(self, ty: &'static str) -> Self {
        Param { ty, ..self }
    }

    pub const fn default(self, default: &'static str) -> Self {
        Param {
            default: Some(default),
            ..self
        }
    }

    pub const fn doc(self, doc: &'static str) -> Self {
        Param { doc, ..self }
    }
}

pub(crate) type BuiltinFn =
    for<'v> fn(&Call<'v>, &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>>;

/// One builtin: its Kurtosis name, its parameters in declaration (positional) order, and the
/// function that runs once the arguments are bound.
pub(crate) struct BuiltinDef {
    pub name: &'static str,
    /// `plan.` for instructions, empty for globals; used in messages.
    pub prefix: &'static str,
    pub params: &'static [Param],
    pub run: BuiltinFn,
    /// Accepts any arguments (only `print`, which always fails in Kurtosis).
    pub variadic: bool,
    /// What it returns, as a type name (`Service`, `str`, `None`).
    pub returns: &'static str,
    /// Markdown: what it does, and where Kurtosis's behaviour differs from its docs.
    pub doc: &'static str,
}

impl BuiltinDef {
    /// A global builtin or type constructor.
    pub const fn global(name: &'static str, params: &'static [Param], run: BuiltinFn) -> Self {
        BuiltinDef {
            name,
            prefix: "",
            params,
            run,
            variadic: false,
            returns: "",
            doc: "",
        }
    }

    /// A `plan.*` instruction.
    pub const fn instruction(name: &'static str, params: &'static [Param], run: BuiltinFn) -> Self {
        BuiltinDef {
            name,
            prefix: "plan.",
            params,
            run,
            variadic: false,
            returns: "",
            doc: "",
        }
    }

    pub const fn returns(self, returns: &'static str) -> Self {
        BuiltinDef { returns, ..self }
    }

    pub const fn doc(self, doc: &'static str) -> Self {
        BuiltinDef { doc, ..self }
    }

    pub const fn variadic(self) -> Self {
        BuiltinDef {
            variadic: true,
            ..self
        }
    }
}

impl std::fmt::Debug for BuiltinDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.prefix, self.name)
    }
}

impl BuiltinDef {
    pub fn display_name(&self) -> String {
        format!("{}{}", self.prefix, self.name)
    }

    /// The default of a string parameter, unquoted: the checks and the plan use the very value
    /// the documentation shows.
    pub fn default_str(&self, name: &str) -> Option<&'static str> {
        let literal = self
            .params
            .iter()
            .find(|param| param.name == name)?
            .default?;
        literal.strip_prefix('"')?.strip_suffix('"')
    }
}

/// Kurtosis adds this optional argument to every builtin, after the others.
const DESCRIPTION: &str = "description";

pub(crate) const DESCRIPTION_PARAM: Param = opt(DESCRIPTION)
    .ty("str")
    .doc("What Kurtosis shows for this step in its output instead of its own summary; a non-empty string. Every builtin takes it, types included.");

#[derive(Clone, Copy)]
struct Bound<'v> {
    value: Value<'v>,
    span: Span,
}

/// A builtin call with its arguments bound to parameters.
pub(crate) struct Call<'v> {
    pub def: &'static BuiltinDef,
    /// The call expression.
    pub place: Place,
    bound: Vec<Option<Bound<'v>>>,
    description: Option<Bound<'v>>,
    /// How many arguments were given by position.
    pub positional: usize,
    /// Some argument was missing or unusable: the result is a stand-in.
    pub incomplete: std::cell::Cell<bool>,
}

pub(crate) fn invoke<'v>(
    def: &'static BuiltinDef,
    args: &Arguments<'v, '_>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    // Only a module importing others, and nothing else, can be kept (`Session::of`);
    // `import_module` says itself when it did more.
    let imports = std::ptr::eq(def, &super::builtins::IMPORT_MODULE);
    if !imports {
        Session::of(eval);
    }
    if def.variadic {
        let place = eval
            .call_stack_top_location()
            .map(|location| Place::of(&location))
            .unwrap_or_default();
        let call = Call {
            def,
            place,
            bound: Vec::new(),
            description: None,
            positional: 0,
            incomplete: std::cell::Cell::new(false),
        };
        return (def.run)(&call, eval);
    }
    let call = bind(def, args, eval)?;
    if call.incomplete.get() {
        // Missing or unknown arguments were reported; the rest is still checked by `run`, but
        // its result would rest on guesses.
        let _ = (def.run)(&call, eval)?;
        Session::of(eval);
        return Ok(eval.heap().alloc(Unknown));
    }
    (def.run)(&call, eval)
}

fn bind<'v>(
    def: &'static BuiltinDef,
    args: &Arguments<'v, '_>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Call<'v>> {
    // What it reports is recorded with the module: binding changes nothing else.
    let session = Session::unmarked(eval);
    let place = eval
        .call_stack_top_location()
        .map(|location| Place::of(&location))
        .unwrap_or_default();
    let site = session
        .state
        .borrow()
        .call_sites
        .get(&place.file)
        .and_then(|sites| sites.get(place.span))
        .cloned()
        .unwrap_or_default();
    let positional_sites: Vec<_> = site.args.iter().filter(|arg| arg.name.is_none()).collect();
    let named_site = |name: &str| {
        site.args
            .iter()
            .find(|arg| arg.name.as_deref() == Some(name))
    };

    let mut call = Call {
        def,
        place: place.clone(),
        bound: vec![None; def.params.len()],
        description: None,
        positional: 0,
        incomplete: std::cell::Cell::new(false),
    };
    let name = def.display_name();

    for (index, value) in args.positions(eval.heap())?.enumerate() {
        let span = match (site.spread, positional_sites.get(index)) {
            (false, Some(arg)) => arg.value,
            _ => place.span,
        };
        call.positional = index + 1;
        if index < def.params.len() {
            call.bound[index] = Some(Bound { value, span });
        } else if index == def.params.len() {
            call.description = Some(Bound { value, span });
        } else {
            session.report(
                Diagnostic::new(
                    Rule::UnknownArgument,
                    &place.file,
                    span,
                    format!(
                        "`{name}` takes at most {} positional arguments, got {}",
                        def.params.len() + 1,
                        index + 1
                    ),
                )
                .with_help(format!("name the arguments: {}", signature(def))),
            );
            call.incomplete.set(true);
        }
    }

    for (key, value) in args.names_map()? {
        let key = key.as_str();
        let span = match (site.spread, named_site(key)) {
            (false, Some(arg)) => arg.value,
            _ => place.span,
        };
        let slot = if key == DESCRIPTION {
            Some(&mut call.description)
        } else {
            def.params
                .iter()
                .position(|param| param.name == key)
                .map(|index| &mut call.bound[index])
        };
        match slot {
            Some(slot) if slot.is_some() => {
                session.report(Diagnostic::new(
                    Rule::UnknownArgument,
                    &place.file,
                    span,
                    format!("`{name}` got two values for `{key}` (one positional, one by name)"),
                ));
                call.incomplete.set(true);
            }
            Some(slot) => *slot = Some(Bound { value, span }),
            None => {
                let written_name = match (site.spread, named_site(key)) {
                    (false, Some(arg)) => Some(arg.span),
                    _ => None,
                };
                let arg_span = written_name.unwrap_or(place.span);
                let known = def
                    .params
                    .iter()
                    .map(|param| param.name)
                    .chain([DESCRIPTION]);
                let mut diagnostic = Diagnostic::new(
                    Rule::UnknownArgument,
                    &place.file,
                    arg_span,
                    format!("`{name}` has no argument `{key}`"),
                );
                diagnostic = match did_you_mean(key, known) {
                    Some(suggestion) => {
                        // A named argument starts with its name.
                        let fix = written_name.map(|arg| {
                            let name = Span::new(arg.start, arg.start + key.len() as u32);
                            Fix::rename(key, name, suggestion)
                        });
                        diagnostic
                            .with_help(format!("did you mean `{suggestion}`?"))
                            .with_fix(fix)
                    }
                    None => diagnostic.with_help(format!("`{name}` takes {}", signature(def))),
                };
                session.report(diagnostic);
                call.incomplete.set(true);
            }
        }
    }

    let missing: Vec<&str> = def
        .params
        .iter()
        .zip(&call.bound)
        .filter(|(param, bound)| param.required && bound.is_none())
        .map(|(param, _)| param.name)
        .collect();
    if !missing.is_empty() && !site.spread {
        let list = missing
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if missing.len() == 1 {
            "argument"
        } else {
            "arguments"
        };
        session.report(
            Diagnostic::new(
                Rule::MissingArgument,
                &place.file,
                place.span,
                format!("`{name}` is missing the required {noun} {list}"),
            )
            .with_help(format!("`{name}` takes {}", signature(def))),
        );
    }
    if !missing.is_empty() {
        call.incomplete.set(true);
    }
    if let Some(description) = call.description {
        call.check_string(session, DESCRIPTION, description);
    }
    Ok(call)
}

/// `(name, config, force_update=...)` for help texts.
fn signature(def: &BuiltinDef) -> String {
    let params: Vec<String> = def
        .params
        .iter()
        .map(|param| {
            if param.required {
                param.name.to_owned()
            } else {
                format!("{}=...", param.name)
            }
        })
        .collect();
    format!("({})", params.join(", "))
}

/// A Kurtosis type name for messages ("a string", "an integer").
pub(crate) fn describe(value: Value) -> String {
    let type_name = value.get_type();
    let article = match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'I' | 'E') => "an",
        _ => "a",
    };
    let repr = value.to_repr();
    let repr = if repr.chars().count() > 40 {
        format!("{}...", repr.chars().take(37).collect::<String>())
    } else {
        repr
    };
    format!("{article} {type_name} (`{repr}`)")
}

impl<'v> Call<'v> {
    fn index(&self, name: &str) -> usize {
        self.def
            .params
            .iter()
            .position(|param| param.name == name)
            .unwrap_or_else(|| panic!("{} has no parameter {name}", self.def.name))
    }

    fn bound(&self, name: &str) -> Option<Bound<'v>> {
        self.bound[self.index(name)]
    }

    /// The raw value of an argument, if given (stand-ins included).
    pub fn value(&self, name: &str) -> Option<Value<'v>> {
        self.bound(name).map(|bound| bound.value)
    }

    /// The value of an argument, if given and not `None`.
    pub fn given(&self, name: &str) -> Option<Value<'v>> {
        self.value(name).filter(|value| !value.is_none())
    }

    /// The place of an argument's value, or of the call when it was not given.
    pub fn place_of(&self, name: &str) -> Place {
        Place {
            file: self.place.file.clone(),
            span: self.bound(name).map_or(self.place.span, |bound| bound.span),
        }
    }

    /// The edit that deletes argument `name` as written (with the comma before it, else the
    /// one after it), titled `title`; `None` when it was not given by name.
    pub fn removal_fix(&self, session: &Session, name: &str, title: &str) -> Option<Fix> {
        let state = session.state.borrow();
        let args = &state
            .call_sites
            .get(&self.place.file)?
            .get(self.place.span)?
            .args;
        let index = args
            .iter()
            .position(|arg| arg.name.as_deref() == Some(name))?;
        let span = match (
            index.checked_sub(1).map(|before| &args[before]),
            args.get(index + 1),
        ) {
            (Some(before), _) => Span::new(before.span.end, args[index].span.end),
            (None, Some(after)) => Span::new(args[index].span.start, after.span.start),
            (None, None) => args[index].span,
        };
        Some(Fix {
            title: title.to_owned(),
            span,
            replacement: String::new(),
        })
    }

    /// Where this call and each given argument are, for objects that check later.
    pub fn origin(&self) -> Origin {
        Origin {
            call: self.place.clone(),
            args: self
                .def
                .params
                .iter()
                .zip(&self.bound)
                .filter_map(|(param, bound)| bound.map(|bound| (param.name, bound.span)))
                .collect(),
        }
    }

    pub fn description(&self) -> Option<String> {
        self.description
            .and_then(|bound| bound.value.unpack_str())
            .map(str::to_owned)
    }

    /// Reports a problem with argument `name` (or the call, if it was not given).
    pub fn report<'s>(
        &self,
        session: &'s Session,
        rule: Rule,
        name: &str,
        message: impl Into<String>,
    ) -> DiagnosticBuilder<'s> {
        let place = self.place_of(name);
        DiagnosticBuilder {
            session_diagnostics: &session.state,
            diagnostic: Some(Diagnostic::new(rule, place.file, place.span, message)),
        }
    }

    /// Reports a problem at a given place (one entry of an argument).
    pub fn report_at<'s>(
        &self,
        session: &'s Session,
        rule: Rule,
        place: &Place,
        message: impl Into<String>,
    ) -> DiagnosticBuilder<'s> {
        DiagnosticBuilder {
            session_diagnostics: &session.state,
            diagnostic: Some(Diagnostic::new(
                rule,
                place.file.clone(),
                place.span,
                message,
            )),
        }
    }

    fn wrong_type(&self, session: &Session, name: &str, value: Value<'v>, expected: &str) {
        self.incomplete_if_required(name);
        self.report(
            session,
            Rule::WrongType,
            name,
            format!(
                "`{name}` of `{}` must be {expected}, got {}",
                self.def.display_name(),
                describe(value)
            ),
        );
    }

    fn incomplete_if_required(&self, name: &str) {
        if self.def.params[self.index(name)].required {
            self.incomplete.set(true);
        }
    }

    fn check_string(&self, session: &Session, name: &str, bound: Bound<'v>) -> Option<String> {
        if is_unknown(bound.value) {
            return None;
        }
        match bound.value.unpack_str() {
            Some("") => {
                self.incomplete_if_required_or_description(name);
                session.report(
                    Diagnostic::new(
                        Rule::EmptyString,
                        &self.place.file,
                        bound.span,
                        format!(
                            "`{name}` of `{}` must not be an empty string",
                            self.def.display_name()
                        ),
                    )
                    .with_help(if self.is_optional(name) {
                        format!("leave `{name}` out to use its default")
                    } else {
                        format!("give `{name}` a value")
                    }),
                );
                None
            }
            Some(text) => Some(text.to_owned()),
            None => {
                session.report(Diagnostic::new(
                    Rule::WrongType,
                    &self.place.file,
                    bound.span,
                    format!(
                        "`{name}` of `{}` must be a string, got {}",
                        self.def.display_name(),
                        describe(bound.value)
                    ),
                ));
                self.incomplete_if_required_or_description(name);
                None
            }
        }
    }

    fn is_optional(&self, name: &str) -> bool {
        name == DESCRIPTION || !self.def.params[self.index(name)].required
    }

    fn incomplete_if_required_or_description(&self, name: &str) {
        if name != DESCRIPTION {
            self.incomplete_if_required(name);
        }
    }

    /// A non-empty string argument (Kurtosis's `NonEmptyString`).
    pub fn string(&self, session: &Session, name: &str) -> Option<String> {
        let bound = self.bound(name)?;
        self.check_string(session, name, bound)
    }

    /// A string argument that may be empty.
    pub fn any_string(&self, session: &Session, name: &str) -> Option<String> {
        let bound = self.bound(name)?;
        if is_unknown(bound.value) {
            return None;
        }
        match bound.value.unpack_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.wrong_type(session, name, bound.value, "a string");
                None
            }
        }
    }

    pub fn bool(&self, session: &Session, name: &str) -> Option<bool> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        match value.unpack_bool() {
            Some(flag) => Some(flag),
            None => {
                self.wrong_type(session, name, value, "`True` or `False`");
                None
            }
        }
    }

    /// An integer argument, checked against an inclusive range.
    pub fn int(&self, session: &Session, name: &str, min: i64, max: i64) -> Option<i64> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        let Some(number) = value.unpack_i32().map(i64::from) else {
            self.wrong_type(session, name, value, "an integer");
            return None;
        };
        if number < min || number > max {
            self.incomplete_if_required(name);
            let bounds = if max == i64::MAX {
                format!("at least {min}")
            } else {
                format!("between {min} and {max}")
            };
            self.report(
                session,
                Rule::OutOfRange,
                name,
                format!(
                    "`{name}` of `{}` must be {bounds}, got {number}",
                    self.def.display_name()
                ),
            );
            return None;
        }
        Some(number)
    }

    /// A list (or tuple) of strings.
    pub fn string_list(&self, session: &Session, name: &str) -> Option<Vec<String>> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        let items = match (ListRef::from_value(value), TupleRef::from_value(value)) {
            (Some(list), _) => list.content().to_vec(),
            (None, Some(tuple)) => tuple.content().to_vec(),
            _ => {
                self.wrong_type(session, name, value, "a list of strings");
                return None;
            }
        };
        let mut strings = Vec::with_capacity(items.len());
        let mut valid = true;
        for (index, item) in items.into_iter().enumerate() {
            if is_unknown(item) {
                return None;
            }
            match item.unpack_str() {
                Some(text) => strings.push(text.to_owned()),
                None => {
                    let (_, place) = session.entry_place(&self.place_of(name), None, index);
                    self.report_at(
                        session,
                        Rule::WrongType,
                        &place,
                        format!(
                            "`{name}` of `{}` must hold only strings, but holds {}",
                            self.def.display_name(),
                            describe(item)
                        ),
                    )
                    .help("quote it, or convert it with `str(...)`");
                    valid = false;
                }
            }
        }
        if !valid {
            self.incomplete_if_required(name);
            return None;
        }
        Some(strings)
    }

    /// The entries of a dict argument.
    pub fn dict(
        &self,
        session: &Session,
        name: &str,
        expected: &str,
    ) -> Option<Vec<(Value<'v>, Value<'v>)>> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        match DictRef::from_value(value) {
            Some(dict) => Some(dict.iter().collect()),
            None => {
                self.wrong_type(session, name, value, expected);
                None
            }
        }
    }

    /// A dict of strings to strings (`env_vars`, `labels`, ...).
    pub fn string_dict(&self, session: &Session, name: &str) -> Option<BTreeMap<String, String>> {
        let entries = self.dict(session, name, "a dict of strings to strings")?;
        let mut map = BTreeMap::new();
        let mut valid = true;
        for (index, (key, value)) in entries.into_iter().enumerate() {
            if is_unknown(key) || is_unknown(value) {
                continue;
            }
            match (key.unpack_str(), value.unpack_str()) {
                (Some(key), Some(value)) => {
                    map.insert(key.to_owned(), value.to_owned());
                }
                (key_text, _) => {
                    let (key_place, value_place) =
                        session.entry_place(&self.place_of(name), None, index);
                    let (culprit, place, help) = match key_text {
                        None => (key, key_place, "write the key as a string"),
                        Some(_) => (
                            value,
                            value_place,
                            "quote the value, e.g. `\"8080\"` rather than `8080`, or convert it with `str(...)`",
                        ),
                    };
                    self.report_at(
                        session,
                        Rule::WrongType,
                        &place,
                        format!(
                            "`{name}` of `{}` must map strings to strings, but holds {}",
                            self.def.display_name(),
                            describe(culprit)
                        ),
                    )
                    .help(help);
                    valid = false;
                }
            }
        }
        if !valid {
            self.incomplete_if_required(name);
            return None;
        }
        Some(map)
    }

    /// An argument that must be one Kurtosis object type.
    pub fn object<T: StarlarkValue<'v>>(
        &self,
        session: &Session,
        name: &str,
        expected: &str,
    ) -> Option<&'v T> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        match value.downcast_ref::<T>() {
            Some(object) => Some(object),
            None => {
                self.wrong_type(session, name, value, expected);
                None
            }
        }
    }

    /// Any value, as JSON (future references stay strings).
    pub fn json(&self, session: &Session, name: &str) -> Option<serde_json::Value> {
        let value = self.given(name).filter(|value| !is_unknown(*value))?;
        match super::to_json(value) {
            Some(json) => Some(json),
            None => {
                self.wrong_type(
                    session,
                    name,
                    value,
                    "a JSON-like value (string, number, bool, list, dict)",
                );
                None
            }
        }
    }
}

/// Adds help or labels to a reported diagnostic; it is recorded when dropped.
pub(crate) struct DiagnosticBuilder<'s> {
    session_diagnostics: &'s std::cell::RefCell<super::session::State>,
    diagnostic: Option<Diagnostic>,
}

impl DiagnosticBuilder<'_> {
    pub fn help(mut self, help: impl Into<String>) -> Self {
        if let Some(diagnostic) = self.diagnostic.take() {
            self.diagnostic = Some(diagnostic.with_help(help));
        }
        self
    }

    pub fn fix(mut self, fix: Option<Fix>) -> Self {
        if let Some(diagnostic) = self.diagnostic.take() {
            self.diagnostic = Some(diagnostic.with_fix(fix));
        }
        self
    }

    pub fn severity(mut self, severity: crate::diagnostic::Severity) -> Self {
        if let Some(diagnostic) = self.diagnostic.take() {
            self.diagnostic = Some(diagnostic.with_severity(severity));
        }
        self
    }

    pub fn label(mut self, place: &Place, message: impl Into<String>) -> Self {
        if let Some(diagnostic) = self.diagnostic.take() {
            self.diagnostic = Some(diagnostic.with_label(place.file.clone(), place.span, message));
        }
        self
    }
}

impl Drop for DiagnosticBuilder<'_> {
    fn drop(&mut self) {
        if let Some(diagnostic) = self.diagnostic.take() {
            self.session_diagnostics
                .borrow_mut()
                .diagnostics
                .push(diagnostic);
        }
    }
}

//! The pure core: read the package, evaluate it, validate, and produce diagnostics and a plan.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::diagnostic::{self, Diagnostic, JsonDiagnostic, Rule};
use crate::eval::{self, CheckCache, Place, Session, State};
use crate::files::SourceFiles;
use crate::package::{MANIFEST_FILE, Manifest, Resolver, parse_manifest};
use crate::plan::Plan;
use crate::source::{Entry, ReadError, SourceProvider};
use crate::text::{PositionEncoding, Span};

/// The package arguments, as given to `--args` or in an `--args-file`.
#[derive(Clone, Debug)]
pub struct ArgsInput {
    /// A file path, or `--args` for inline text; diagnostics name it.
    pub origin: String,
    /// JSON or YAML.
    pub text: String,
}

/// Settings of one check.
pub struct CheckOptions {
    /// The main file, relative to the package root (`--main-file`).
    pub main_file: String,
    /// The entry function (`--main-function-name`).
    pub main_function: String,
    pub args: Option<ArgsInput>,
    /// The Nix system images are built for.
    pub system: String,
    /// A source path holding `github.com/<org>/<repo>/...` checkouts of dependencies.
    pub packages_dir: Option<String>,
    /// The registry NixBuildSpec images are pushed to (`--push`): the plan says where each
    /// will live.
    pub push: Option<String>,
    /// Asked now and then; `true` stops the evaluation (a wall-clock deadline).
    pub interrupt: Option<Box<dyn Fn() -> bool>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            main_file: "main.star".to_owned(),
            main_function: "run".to_owned(),
            args: None,
            system: DEFAULT_SYSTEM.to_owned(),
            packages_dir: None,
            push: None,
            interrupt: None,
        }
    }
}

pub const DEFAULT_SYSTEM: &str = "x86_64-linux";

/// What a check found.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub diagnostics: Vec<Diagnostic>,
    pub plan: Plan,
    pub files: SourceFiles,
    /// How this check resolved locators, for the editor to resolve them the same way.
    pub(crate) resolver: Resolver,
    /// The locator of every Starlark file the check loaded, by source path.
    pub(crate) locators: HashMap<String, String>,
}

/// The `--format json` document.
#[derive(serde::Serialize)]
pub struct JsonReport<'a> {
    pub diagnostics: Vec<JsonDiagnostic>,
    pub plan: &'a Plan,
}

impl CheckResult {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn json_report(&self, encoding: PositionEncoding) -> JsonReport<'_> {
        JsonReport {
            diagnostics: diagnostic::to_json_diagnostics(&self.diagnostics, &self.files, encoding),
            plan: &self.plan,
        }
    }

    pub fn render_human(&self, color: bool) -> String {
        diagnostic::render_human(&self.diagnostics, &self.files, color)
    }

    /// The locator of the Starlark file at `path`, as relative locators in it resolve.
    pub(crate) fn locator_of(&self, path: &str) -> String {
        self.locators
            .get(path)
            .cloned()
            .unwrap_or_else(|| self.resolver.locator_of(path))
    }
}

/// Checks the package whose root `source` reads.
pub fn check(source: &dyn SourceProvider, options: &CheckOptions) -> CheckResult {
    check_with(source, options, &CheckCache::for_one_check())
}

/// [`check`], reusing what `cache` kept from the check that last used it: the parses of files
/// whose text did not change, and the evaluations of modules that provably evaluate the same
/// (see [`CheckCache`]); it keeps those of this check. The result is the same as [`check`]'s.
pub fn check_with(
    source: &dyn SourceProvider,
    options: &CheckOptions,
    cache: &CheckCache,
) -> CheckResult {
    let mut diagnostics = Vec::new();
    let mut files = SourceFiles::default();
    let manifest = match source.read(MANIFEST_FILE) {
        Ok(text) => {
            files.insert(MANIFEST_FILE, &text);
            parse_manifest(&text, &mut diagnostics)
        }
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(Rule::PackageManifest, MANIFEST_FILE, Span::default(), format!("cannot read `kurtosis.yml`: {error}"))
                    .with_help("a Kurtosis package is a folder with `kurtosis.yml` (holding `name: github.com/<org>/<repo>`) and `main.star`"),
            );
            None
        }
    };
    // Without a usable name, still check the Starlark under a stand-in name.
    let manifest = manifest.unwrap_or_else(|| Manifest {
        name: "github.com/unnamed/package".to_owned(),
        ..Manifest::default()
    });
    let args = options.args.as_ref().and_then(|input| {
        files.insert(&input.origin, &input.text);
        parse_args(input, &mut diagnostics)
    });

    let resolver = Resolver::new(&manifest, options.packages_dir.as_deref());
    if let Some(dir) = &options.packages_dir {
        let manifest_text = files.get(MANIFEST_FILE).map(|file| file.text.clone());
        check_pins(
            source,
            &resolver,
            dir,
            manifest_text.as_deref(),
            &mut diagnostics,
        );
    }
    cache.begin(&resolver);
    let source = EntriesOnce {
        source,
        entries: Default::default(),
    };
    let session = Session {
        source: &source,
        cache,
        resolver,
        globals: eval::globals(),
        system: options.system.clone(),
        interrupt: options.interrupt.as_deref(),
        state: RefCell::new(State {
            files,
            ..State::default()
        }),
        statement: Default::default(),
        settled_bytes: Default::default(),
        effects: Default::default(),
        recorded: Default::default(),
        replaying: Default::default(),
        texts: Default::default(),
        verified: Default::default(),
    };
    let args_place = options.args.as_ref().map(|input| Place {
        file: input.origin.clone(),
        span: Span::new(0, input.text.len() as u32),
    });
    let output = match (&args, args_place) {
        (Some(value), Some(place)) => eval::run_package(
            &session,
            &options.main_file,
            &options.main_function,
            Some((value, place)),
        ),
        _ if options.args.is_some() => None,
        _ => eval::run_package(&session, &options.main_file, &options.main_function, None),
    };

    let resolver = session.resolver;
    cache.keep_only_used();
    let state = session.state.into_inner();
    diagnostics.extend(state.diagnostics);
    diagnostic::normalize(&mut diagnostics);
    let plan = Plan {
        package: manifest.name,
        system: options.system.clone(),
        steps: state.steps,
        images: state
            .images
            .into_iter()
            .map(|image| image.pushed_to(options.push.as_deref()))
            .collect(),
        output,
    };
    CheckResult {
        diagnostics,
        plan,
        files: state.files,
        resolver,
        locators: state.locators,
    }
}

/// `source`, asked once per path what is there: builtins ask again and again about the same
/// folders (those of every `NixBuildSpec`, every imported module), and each question may be a
/// system call, or in WebAssembly a call out to JavaScript. The files do not change during a
/// check.
struct EntriesOnce<'a> {
    source: &'a dyn SourceProvider,
    entries: RefCell<HashMap<String, Option<Entry>>>,
}

impl SourceProvider for EntriesOnce<'_> {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        self.source.read(path)
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        if let Some(entry) = self.entries.borrow().get(path) {
            return *entry;
        }
        let entry = self.source.entry(path);
        self.entries.borrow_mut().insert(path.to_owned(), entry);
        entry
    }

    fn list(&self, dir: &str) -> Vec<String> {
        self.source.list(dir)
    }
}

/// Says once, at its `replace:` entry, when the packages folder holds a pinned dependency
/// only at another version: that version is never used in its place.
fn check_pins(
    source: &dyn SourceProvider,
    resolver: &Resolver,
    packages_dir: &str,
    manifest_text: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for pin in resolver.pins() {
        let pinned = crate::source::join(packages_dir, &pin.checkout_name());
        if source.entry(&pinned).is_some() {
            continue;
        }
        let others = other_checkouts(source, packages_dir, &pin.repository);
        if others.is_empty() {
            continue;
        }
        let span = manifest_text.map_or_else(Span::default, |text| {
            crate::package::replace_entry_span(text, &pin.replaced)
        });
        let others = others
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        diagnostics.push(
            Diagnostic::new(
                Rule::RemoteUnavailable,
                MANIFEST_FILE,
                span,
                format!(
                    "`{}` is pinned at `{}`, but the packages folder holds only {others}, which may be another version; it is treated as unavailable",
                    pin.repository, pin.reference
                ),
            )
            .with_help(format!(
                "put a checkout of `{}` at `{}` (`starflake deps fetch` does)",
                pin.reference,
                pin.checkout_name()
            )),
        );
    }
}

/// The checkouts of `repository` in the packages folder, unpinned (`github.com/o/r`) or at
/// any ref (`github.com/o/r@v1`), as paths relative to the folder.
fn other_checkouts(
    source: &dyn SourceProvider,
    packages_dir: &str,
    repository: &str,
) -> Vec<String> {
    let (owner, name) = repository.rsplit_once('/').unwrap_or(("", repository));
    let versioned = format!("{name}@");
    source
        .list(&crate::source::join(packages_dir, owner))
        .into_iter()
        .filter(|entry| *entry == name || entry.starts_with(&versioned))
        .map(|entry| format!("{owner}/{entry}"))
        .filter(|checkout| {
            source
                .entry(&crate::source::join(packages_dir, checkout))
                .is_some()
        })
        .collect()
}

/// Parses `--args` as Kurtosis does: JSON first, then YAML (the SDK's `maybeParseYaml` converts
/// any text that is not valid JSON with `ghodss/yaml`, a YAML 1.1 parser).
fn parse_args(input: &ArgsInput, diagnostics: &mut Vec<Diagnostic>) -> Option<serde_json::Value> {
    if input.text.trim().is_empty() {
        return Some(serde_json::Value::Object(Default::default()));
    }
    if let Some((offset, problem)) = crate::limits::config_text_problem(&input.text) {
        diagnostics.push(
            Diagnostic::new(
                Rule::InvalidArgs,
                &input.origin,
                Span::new(offset as u32, offset as u32),
                format!("the package arguments are not read: {problem}"),
            )
            .with_help("pass the values the package needs; put large data in files of the package"),
        );
        return None;
    }
    let value = parse_args_text(input, diagnostics)?;
    if let Some((number, problem)) = unrepresentable_number(&value) {
        // serde_json writes an exponent `e+999`; the text may have `e999`, `E+999`...
        let written = [
            number.clone(),
            number.replace("e+", "e"),
            number.replace("e+", "E"),
            number.replace('e', "E"),
        ];
        let span = written
            .iter()
            .find_map(|form| Some((input.text.find(form.as_str())?, form.len())))
            .map_or(Span::default(), |(at, len)| {
                Span::new(at as u32, (at + len) as u32)
            });
        diagnostics.push(
            Diagnostic::new(
                Rule::InvalidArgs,
                &input.origin,
                span,
                format!("the package arguments hold a number Starlark cannot: {problem}"),
            )
            .with_help("pass it as a string, or as a smaller number"),
        );
        return None;
    }
    Some(value)
}

/// The first number in `value` that no Starlark int or float holds, and why.
fn unrepresentable_number(value: &serde_json::Value) -> Option<(String, String)> {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::Number(number) => {
                let text = number.to_string();
                if let Some(problem) = crate::limits::json_number_problem(&text) {
                    return Some((text, problem));
                }
            }
            serde_json::Value::Array(items) => pending.extend(items.iter().rev()),
            serde_json::Value::Object(fields) => pending.extend(fields.values().rev()),
            _ => {}
        }
    }
    None
}

/// The package arguments as JSON, else as YAML.
fn parse_args_text(
    input: &ArgsInput,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<serde_json::Value> {
    let json_error = match serde_json::from_str::<serde_json::Value>(&input.text) {
        Ok(value) => return Some(value),
        Err(error) => error,
    };
    // Text with quoted keys was meant as JSON: YAML's flow syntax forgives its mistakes
    // (a trailing comma, `{"a": }` for null), and Kurtosis runs it, but say so.
    let looks_like_json =
        input.text.trim_start().starts_with(['{', '[']) && input.text.contains("\":");
    let json_offset = offset_of(&input.text, json_error.line(), json_error.column());
    let json_message = first_line_of(&json_error.to_string());
    match serde_yaml_ng::from_str::<serde_json::Value>(&input.text) {
        Ok(value) => {
            if looks_like_json {
                let offset = json_offset.min(input.text.len()) as u32;
                diagnostics.push(
                    Diagnostic::new(
                        Rule::InvalidArgs,
                        &input.origin,
                        Span::new(offset, offset),
                        format!("the package arguments are not valid JSON ({json_message}); Kurtosis reads them as YAML instead"),
                    )
                    .with_severity(crate::diagnostic::Severity::Warning)
                    .with_help("fix the JSON, so that the arguments mean what they look like"),
                );
            }
            Some(value)
        }
        Err(yaml_error) => {
            let (offset, message) = if looks_like_json {
                (json_offset, json_message)
            } else {
                let offset = yaml_error.location().map_or(0, |location| location.index());
                (offset, first_line_of(&yaml_error.to_string()))
            };
            let offset = offset.min(input.text.len()) as u32;
            diagnostics.push(
                Diagnostic::new(
                    Rule::InvalidArgs,
                    &input.origin,
                    Span::new(offset, offset),
                    format!("the package arguments are not valid JSON or YAML: {message}"),
                )
                .with_help("pass an object, e.g. `--args '{\"name\": \"value\"}'`"),
            );
            None
        }
    }
}

/// An error message without its ` at line L column C` suffix.
fn first_line_of(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start + column.saturating_sub(1)
}

//! `import_module`, `read_file` and the disabled `print`.

use starlark::environment::FrozenModule;
use starlark::eval::Evaluator;
use starlark::values::Value;
use starlark::values::structs::AllocStruct;

use super::super::args::{BuiltinDef, Call, req};
use super::super::session::{Place, Session};
use super::super::values::Unknown;
use crate::diagnostic::{Diagnostic, Rule};
use crate::package::Resolution;
use crate::source::EntryKind;

pub(crate) static IMPORT_MODULE: BuiltinDef =
    BuiltinDef::global(
        "import_module",
        &[req("module_file")
            .ty("str")
            .doc("A locator of a `.star` file: relative to the calling file (`./lib.star`), `/`-rooted at the package, or `github.com/<org>/<repo>/path.star` for another package.")],
        import_module,
    )
    .returns("module")
    .doc("Runs another `.star` file once and returns its global names as a module (`lib.deploy(plan)`). Kurtosis's replacement for `load()`, which it rejects; modules may not import each other in a cycle.");

pub(crate) static READ_FILE: BuiltinDef = BuiltinDef::global(
    "read_file",
    &[req("src")
        .ty("str")
        .doc("A locator of the file: relative to the calling file, `/`-rooted at the package, or `github.com/...` for another package's file.")],
    read_file,
)
.returns("str")
.doc("The text of a file of the package, read while the Starlark runs (unlike `plan.upload_files`, which copies files into the enclave).");

pub(crate) static PRINT: BuiltinDef = BuiltinDef::global("print", &[], print)
    .variadic()
    .returns("None")
    .doc("Not available in Kurtosis: calling it is an error. Use `plan.print(msg)`, which prints when the plan runs.");

/// Where a locator written at `place` points, reporting a malformed one.
pub(crate) fn resolve_locator(
    session: &Session,
    place: &Place,
    locator: &str,
) -> Option<Resolution> {
    let caller = session.locator_of(&place.file);
    match session.resolver.absolute(&caller, locator) {
        Ok(absolute) => Some(session.resolver.resolve(&absolute)),
        Err(problem) => {
            session.report(
                Diagnostic::new(Rule::InvalidLocator, &place.file, place.span, problem).with_help(
                    "inside a package write `/path/from/repository/root` or `./relative/path`",
                ),
            );
            None
        }
    }
}

/// Reports that a dependency is not available locally, once per package: its stand-in values
/// make every later use of it quiet.
pub(crate) fn report_remote(session: &Session, place: &Place, locator: &str) {
    let package = crate::package::parse_github_locator(locator)
        .map(|(repository, _, _)| repository)
        .unwrap_or_else(|_| locator.to_owned());
    if !session
        .state
        .borrow_mut()
        .unavailable_packages
        .insert(package.clone())
    {
        return;
    }
    session.report(
        Diagnostic::new(
            Rule::RemoteUnavailable,
            &place.file,
            place.span,
            format!("`{locator}` is in the package `{package}`, which is not available locally; what it provides is not checked"),
        )
        .with_help(format!(
            "run `starflake deps fetch` to fetch the package's dependencies into the package cache, pass `--packages DIR` with a checkout at `DIR/{}`, or add `replace: {{ {package}: ../local/path }}` to kurtosis.yml",
            session.resolver.checkout_name(&package)
        )),
    );
}

fn import_module<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    // Importing leaves the module's top level reusable; anything else here does not.
    let session = Session::unmarked(eval);
    let Some(module) = imported_module(call, session) else {
        session.effects.set(true);
        return Ok(eval.heap().alloc(Unknown));
    };
    let heap = eval.heap();
    let mut members = Vec::new();
    for name in module.names() {
        if let Ok(owned) = module.get(name.as_str()) {
            members.push((
                name.as_str().to_owned(),
                heap.access_owned_frozen_value(&owned),
            ));
        }
    }
    Ok(heap.alloc(AllocStruct(members)))
}

/// The module `import_module` imports, after reporting why there is none.
fn imported_module(call: &Call, session: &Session) -> Option<FrozenModule> {
    let place = call.place_of("module_file");
    let locator = call.string(session, "module_file")?;
    let (path, absolute, in_root_package) = match resolve_locator(session, &place, &locator)? {
        Resolution::Local {
            path,
            locator,
            in_root_package,
        } => (path, locator, in_root_package),
        Resolution::Remote { locator } => {
            report_remote(session, &place, &locator);
            return None;
        }
    };
    if session.source.entry(&path).map(|entry| entry.kind) != Some(EntryKind::File) {
        if in_root_package {
            session.report(
                Diagnostic::new(Rule::FileNotFound, &place.file, place.span, format!("there is no module `{path}` in the package"))
                    .with_help("relative locators start from the folder of the calling file; a leading `/` starts from the package root"),
            );
        } else {
            report_remote(session, &place, &absolute);
        }
        return None;
    }
    session.load_module(&path, &absolute, Some(&place)).ok()
}

fn read_file<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let place = call.place_of("src");
    let Some(locator) = call.string(session, "src") else {
        return Ok(eval.heap().alloc(Unknown));
    };
    let Some(resolution) = resolve_locator(session, &place, &locator) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    match resolution {
        Resolution::Remote { locator } => {
            report_remote(session, &place, &locator);
            Ok(eval.heap().alloc(Unknown))
        }
        Resolution::Local {
            path,
            locator,
            in_root_package,
        } => match session.source.read(&path) {
            Ok(text) => Ok(eval.heap().alloc(text)),
            Err(crate::source::ReadError::NotFound) if !in_root_package => {
                report_remote(session, &place, &locator);
                Ok(eval.heap().alloc(Unknown))
            }
            Err(error) => {
                session.report(
                    Diagnostic::new(Rule::FileNotFound, &place.file, place.span, format!("cannot read `{path}`: {error}"))
                        .with_help("relative locators start from the folder of the calling file; a leading `/` starts from the package root"),
                );
                Ok(eval.heap().alloc(Unknown))
            }
        },
    }
}

fn print<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    session.report(
        Diagnostic::new(Rule::DialectViolation, &call.place.file, call.place.span, "the builtin `print` is not supported by Kurtosis")
            .with_help("use `plan.print(...)`, which runs in order with the other instructions and resolves future references"),
    );
    Ok(Value::new_none())
}

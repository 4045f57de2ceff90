//! Files artifacts: `plan.upload_files`, `plan.render_templates`, `plan.store_service_files`
//! and `plan.get_files_artifact`, with the plan-wide name checks Kurtosis makes.

use std::collections::BTreeMap;

use starlark::eval::Evaluator;
use starlark::values::Value;
use starlark::values::structs::StructRef;

use super::super::args::{BuiltinDef, Call, Param, describe, opt, req};
use super::super::session::{Place, Session};
use super::super::values::{Unknown, is_unknown};
use super::helpers::{report_remote, resolve_locator};
use super::instructions::{record, require_service};
use crate::diagnostic::{Diagnostic, Rule, did_you_mean};
use crate::package::Resolution;
use crate::plan::{Instruction, Template};

pub(crate) static UPLOAD_FILES: BuiltinDef =
    BuiltinDef::instruction(
        "upload_files",
        &[
            req("src")
                .ty("str")
                .doc("A locator of a file or folder: relative to the calling file, `/`-rooted at the package, or `github.com/...` for another package's files. Kurtosis refuses uploads of about 2 GB or more."),
            ARTIFACT_NAME,
        ],
        upload_files,
    )
    .returns("str")
    .doc("Copies a file or folder of the package into the enclave as a files artifact, and returns the artifact's name for `ServiceConfig.files` and the tasks' `files`.");

/// The name of a files artifact an instruction creates.
const ARTIFACT_NAME: Param = opt("name").ty("str").doc(
    "The files artifact's name, unique in the enclave; left out, Kurtosis makes up a unique one.",
);

pub(crate) static RENDER_TEMPLATES: BuiltinDef = BuiltinDef::instruction(
    "render_templates",
    &[
        req("config")
            .ty("dict[str, struct]")
            .doc("The files to write, by path inside the artifact; each value is `struct(template = \"...\", data = {...})`, rendered with Go's `text/template`."),
        ARTIFACT_NAME,
    ],
    render_templates,
)
.returns("str")
.doc("Renders Go templates into a new files artifact and returns its name. Templates are rendered when the plan runs, so future references in `data` work.");

pub(crate) static STORE_SERVICE_FILES: BuiltinDef = BuiltinDef::instruction(
    "store_service_files",
    &[
        req("service_name")
            .ty("str")
            .doc("The service whose files to copy; it must exist at this point of the plan."),
        req("src")
            .ty("str")
            .doc("The absolute path of a file or folder in the service's container."),
        ARTIFACT_NAME,
        opt("depends_on")
            .ty("str")
            .doc("A string holding future references (such as an exec's output) of instructions that must run first; only its references matter, to order instructions run in parallel."),
    ],
    store_service_files,
)
.returns("str")
.doc("Copies a file or folder out of a running service's container into a new files artifact, and returns its name.");

pub(crate) static GET_FILES_ARTIFACT: BuiltinDef =
    BuiltinDef::instruction(
        "get_files_artifact",
        &[req("name")
            .ty("str")
            .doc("The name of a files artifact that an earlier instruction of the plan created.")],
        get_files_artifact,
    )
    .returns("str")
    .doc("The files artifact of that name, which must exist at this point of the plan; useful to fail early on a name that comes from arguments.");

/// Whether files artifact `name` exists at this point, reporting it at `place` when it does
/// not; `true` also when it cannot be known (a future reference, an opaque plan).
pub(crate) fn require_artifact(session: &Session, place: &Place, name: &str) -> bool {
    if name.contains("{{kurtosis:") {
        return true;
    }
    let state = session.state.borrow();
    if state.artifacts.contains_key(name) || state.opaque {
        return true;
    }
    let known: Vec<String> = state.artifacts.keys().cloned().collect();
    let candidate = did_you_mean(name, known.iter().map(String::as_str)).and_then(|candidate| {
        state
            .artifacts
            .get(candidate)
            .map(|at| (candidate.to_owned(), at.clone()))
    });
    drop(state);
    let mut diagnostic = Diagnostic::new(
        Rule::UnknownArtifact,
        &place.file,
        place.span,
        format!("no files artifact named `{name}` exists at this point of the plan"),
    );
    diagnostic = match candidate {
        Some((candidate, at)) => diagnostic
            .with_fix(session.literal_fix(place, &candidate))
            .with_label(at.file, at.span, format!("`{candidate}` is created here"))
            .with_help(format!("did you mean `{candidate}`?")),
        None => diagnostic.with_help("create it first with `plan.upload_files`, `plan.render_templates`, `plan.store_service_files` or a task's `store`, and use the name it returns"),
    };
    session.report(diagnostic);
    false
}

/// Records a new files artifact name at `place`. With `unique`, a name created before is
/// reported, as Kurtosis's validation does for the instructions that name artifacts.
pub(crate) fn add_artifact(session: &Session, name: &str, place: &Place, unique: bool) {
    let first = session.state.borrow().artifacts.get(name).cloned();
    if let Some(first) = first {
        if unique && !name.contains("{{kurtosis:") {
            session.report(
                Diagnostic::new(
                    Rule::DuplicateArtifact,
                    &place.file,
                    place.span,
                    format!("a files artifact named `{name}` already exists"),
                )
                .with_label(first.file, first.span, "first created here")
                .with_help("give each files artifact its own `name`, or leave `name` out for a generated one"),
            );
        }
        return;
    }
    session
        .state
        .borrow_mut()
        .artifacts
        .insert(name.to_owned(), place.clone());
}

/// A deterministic name for an artifact created without `name` (Kurtosis picks a random one).
pub(crate) fn generated_artifact_name(session: &Session) -> String {
    format!("files-artifact-{}", session.next_id())
}

/// The artifact name an instruction creates: its `name` argument, or a generated one.
/// `None` when the name cannot be known (reported, or a stand-in: the plan becomes opaque).
fn artifact_name(session: &Session, call: &Call, unique: bool) -> Option<String> {
    let name = match call.given("name") {
        None => generated_artifact_name(session),
        Some(value) if is_unknown(value) => {
            session.state.borrow_mut().opaque = true;
            return None;
        }
        Some(_) => call.string(session, "name")?,
    };
    let place = if call.given("name").is_some() {
        call.place_of("name")
    } else {
        call.place.clone()
    };
    add_artifact(session, &name, &place, unique);
    Some(name)
}

fn is_http_url(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
}

fn upload_files<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let src = call.string(session, "src");
    let place = call.place_of("src");
    let mut path = None;
    let mut src_usable = src.is_some();
    if let Some(src) = &src {
        if !is_http_url(src) {
            match resolve_locator(session, &place, src) {
                None => src_usable = false,
                Some(Resolution::Remote { locator }) => report_remote(session, &place, &locator),
                Some(Resolution::Local {
                    path: local,
                    locator,
                    in_root_package,
                }) => match session.source.entry(&local) {
                    Some(_) => path = Some(local),
                    None if in_root_package => {
                        session.report(
                            Diagnostic::new(
                                Rule::FileNotFound,
                                &place.file,
                                place.span,
                                format!("there is no file or folder `{local}` in the package to upload"),
                            )
                            .with_help("relative locators start from the folder of the calling file; a leading `/` starts from the package root"),
                        );
                        src_usable = false;
                    }
                    None => report_remote(session, &place, &locator),
                },
            }
        }
    }
    let name = artifact_name(session, call, true);
    let (Some(src), Some(name), true, false) = (src, name, src_usable, call.incomplete.get())
    else {
        return Ok(eval.heap().alloc(Unknown));
    };
    record(
        session,
        call,
        Instruction::UploadFiles {
            src,
            path,
            name: name.clone(),
        },
    )?;
    Ok(eval.heap().alloc(name))
}

/// A light check of Go template syntax: every `{{` is closed.
fn template_problem(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                if after[..close].contains("{{") {
                    return Some(
                        "an action `{{` is opened again before it is closed with `}}`".to_owned(),
                    );
                }
                rest = &after[close + 2..];
            }
            None => return Some("an action `{{` is never closed with `}}`".to_owned()),
        }
    }
    None
}

fn render_templates<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let entries = call.dict(
        session,
        "config",
        "a dict of file paths to struct(template = ..., data = ...)",
    );
    let mut templates = BTreeMap::new();
    let mut complete = entries.is_some();
    for (key, value) in entries.unwrap_or_default() {
        if is_unknown(key) || is_unknown(value) {
            complete = false;
            continue;
        }
        let Some(path) = key.unpack_str() else {
            call.report(
                session,
                Rule::WrongType,
                "config",
                format!(
                    "the keys of `config` must be file paths (strings), got {}",
                    describe(key)
                ),
            );
            complete = false;
            continue;
        };
        let Some(fields) = StructRef::from_value(value) else {
            call.report(
                session,
                Rule::WrongType,
                "config",
                format!(
                    "`config[\"{path}\"]` must be a struct, got {}",
                    describe(value)
                ),
            )
            .help(format!(
                "write `\"{path}\": struct(template = ..., data = {{...}})`"
            ));
            complete = false;
            continue;
        };
        let field = |wanted: &str| {
            fields
                .iter()
                .find(|(name, _)| name.as_str() == wanted)
                .map(|(_, value)| value)
        };
        let (template, data) = (field("template"), field("data"));
        let (Some(template), Some(data)) = (template, data) else {
            let missing = if template.is_none() {
                "template"
            } else {
                "data"
            };
            call.report(
                session,
                Rule::MissingArgument,
                "config",
                format!("`config[\"{path}\"]` has no `{missing}` field"),
            )
            .help(format!(
                "write `\"{path}\": struct(template = ..., data = {{...}})`"
            ));
            complete = false;
            continue;
        };
        if is_unknown(template) || is_unknown(data) {
            complete = false;
            continue;
        }
        let Some(template) = template.unpack_str() else {
            call.report(
                session,
                Rule::WrongType,
                "config",
                format!(
                    "the `template` of `config[\"{path}\"]` must be a string, got {}",
                    describe(template)
                ),
            );
            complete = false;
            continue;
        };
        if let Some(problem) = template_problem(template) {
            call.report(
                session,
                Rule::InvalidValue,
                "config",
                format!("the template for `{path}` is not a valid Go template: {problem}"),
            );
        }
        let Some(data) = super::super::to_json(data) else {
            call.report(
                session,
                Rule::WrongType,
                "config",
                format!(
                    "the `data` of `config[\"{path}\"]` must be JSON-like (dicts, lists, strings, numbers, bools), got {}",
                    describe(data)
                ),
            );
            complete = false;
            continue;
        };
        templates.insert(
            path.to_owned(),
            Template {
                template: template.to_owned(),
                data,
            },
        );
    }
    let name = artifact_name(session, call, true);
    let (Some(name), true, false) = (name, complete, call.incomplete.get()) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    record(
        session,
        call,
        Instruction::RenderTemplates {
            name: name.clone(),
            config: templates,
        },
    )?;
    Ok(eval.heap().alloc(name))
}

fn store_service_files<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let service_name = call.string(session, "service_name");
    if let Some(service_name) = &service_name {
        require_service(session, call, "service_name", service_name);
    }
    let src = call.string(session, "src");
    let _ = call.any_string(session, "depends_on");
    let name = artifact_name(session, call, true);
    let (Some(service_name), Some(src), Some(name), false) =
        (service_name, src, name, call.incomplete.get())
    else {
        return Ok(eval.heap().alloc(Unknown));
    };
    record(
        session,
        call,
        Instruction::StoreServiceFiles {
            service_name,
            src,
            name: name.clone(),
        },
    )?;
    Ok(eval.heap().alloc(name))
}

fn get_files_artifact<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let Some(name) = call.string(session, "name") else {
        return Ok(eval.heap().alloc(Unknown));
    };
    require_artifact(session, &call.place_of("name"), &name);
    if call.incomplete.get() {
        return Ok(eval.heap().alloc(Unknown));
    }
    record(
        session,
        call,
        Instruction::GetFilesArtifact { name: name.clone() },
    )?;
    Ok(eval.heap().alloc(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_syntax() {
        assert_eq!(template_problem("plain"), None);
        assert_eq!(template_problem("{{ .Name }} and {{.X}}"), None);
        assert!(template_problem("{{ .Name ").is_some());
        assert!(template_problem("{{ .Name {{ .X }}").is_some());
    }

    #[test]
    fn urls() {
        assert!(is_http_url("https://example.com/x.json"));
        assert!(!is_http_url("github.com/org/repo/file"));
        assert!(!is_http_url("./static"));
    }
}

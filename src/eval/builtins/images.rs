//! Resolving a service's image source when an instruction uses it: NixBuildSpec paths relative
//! to the file that makes the instruction call, containment in the package, the flake itself,
//! and one image name per source.

use std::collections::hash_map::Entry;

use super::super::session::{Place, Session};
use super::super::values::Origin;
use super::types::{IMAGE_BUILD_SPEC, ImageChoice};
use crate::diagnostic::{Diagnostic, Fix, Rule};
use crate::flake::{FlakeCheck, FlakeFile, FlakeSummary};
use crate::package::Resolution;
use crate::plan::{Image, ImageSource, NixBuild};
use crate::source::{EntryKind, join};

/// Folders that start absolute host paths, as opposed to Kurtosis's `/` (the repository root).
const HOST_ROOTS: &[&str] = &[
    "home", "Users", "nix", "tmp", "usr", "etc", "var", "opt", "root", "mnt", "srv", "private",
];

/// Registers the image of a service or task in the plan; returns the image name.
pub(crate) fn register_image(
    session: &Session,
    choice: &ImageChoice,
    instruction: &Place,
) -> Option<String> {
    if let Some((name, argument)) = choice.name_and_argument() {
        check_image_name(session, instruction, &argument, name);
    }
    match choice {
        ImageChoice::Unknown => None,
        ImageChoice::Name(name, origin) => {
            add_image(session, name, &origin.call, ImageSource::Registry);
            Some(name.clone())
        }
        ImageChoice::Registry(spec, origin) => {
            let source = ImageSource::RegistrySpec {
                registry: spec.registry.clone(),
                has_credentials: spec.username.is_some() || spec.has_password,
            };
            add_image(session, &spec.image, &origin.call, source);
            Some(spec.image.clone())
        }
        ImageChoice::Dockerfile(spec, origin) => {
            let context_place = origin.arg("build_context_dir");
            let context = resolve_dir(
                session,
                instruction,
                &context_place,
                &spec.build_context_dir,
                "build_context_dir",
            )?;
            let file = spec
                .build_file
                .as_deref()
                .or(IMAGE_BUILD_SPEC.default_str("build_file"))
                .unwrap_or_default();
            let dockerfile = join(&context, file);
            if session.source.entry(&dockerfile).map(|entry| entry.kind) != Some(EntryKind::File) {
                let place = if spec.build_file.is_some() {
                    origin.arg("build_file")
                } else {
                    context_place
                };
                session.report(
                    at_use(instruction, &place, Rule::DockerfileNotFound, format!("there is no Dockerfile at `{dockerfile}`"))
                        .with_help("`build_file` is relative to `build_context_dir`, which is relative to the file that adds the service"),
                );
            }
            let source = ImageSource::Dockerfile {
                context_dir: context,
                dockerfile,
                target_stage: spec.target_stage.clone(),
                build_args: spec.build_args.clone(),
            };
            add_image(session, &spec.image_name, &origin.call, source);
            Some(spec.image_name.clone())
        }
        ImageChoice::Nix(spec, origin) => {
            let context_place = origin.arg("build_context_dir");
            let context = resolve_dir(
                session,
                instruction,
                &context_place,
                &spec.build_context_dir,
                "build_context_dir",
            )?;
            let flake_place = origin.arg("flake_location_dir");
            let flake_dir = join(&context, spec.flake_location_dir.trim_start_matches('/'));
            if escapes(&flake_dir) {
                report_escape(
                    session,
                    instruction,
                    &flake_place,
                    &spec.flake_location_dir,
                    "flake_location_dir",
                );
                return None;
            }
            let flake_file = join(&flake_dir, "flake.nix");
            match session.source.entry(&flake_file) {
                Some(entry) if entry.leaves_root => {
                    report_escape(
                        session,
                        instruction,
                        &flake_place,
                        &spec.flake_location_dir,
                        "flake_location_dir",
                    );
                    return None;
                }
                Some(entry) if entry.kind == EntryKind::File => {}
                _ => {
                    let mut diagnostic = at_use(
                        instruction,
                        &flake_place,
                        Rule::FlakeNotFound,
                        format!("there is no `flake.nix` at `{flake_file}`"),
                    );
                    diagnostic = match session.source.entry(&join(&context, "flake.nix")) {
                        Some(entry) if entry.kind == EntryKind::File && !flake_dir.eq(&context) => {
                            diagnostic.with_help("`build_context_dir` holds a flake.nix: use `flake_location_dir = \".\"`")
                        }
                        _ => diagnostic.with_help(format!(
                            "`flake_location_dir` is relative to `build_context_dir` (`{}`), which is relative to the file that adds the service",
                            if context.is_empty() { "." } else { &context }
                        )),
                    };
                    session.report(diagnostic);
                    return None;
                }
            }
            if !(flake_dir == context
                || flake_dir.starts_with(&format!("{context}/"))
                || context.is_empty())
            {
                session.report(
                    at_use(
                        instruction,
                        &flake_place,
                        Rule::FlakeOutsideContext,
                        format!("the flake folder `{flake_dir}` is outside `build_context_dir` (`{context}`)"),
                    )
                    .with_help("Nix builds the flake from its own folder; keep the flake inside the build context so both name the same files"),
                );
            }
            let flake = check_flake(session, &flake_dir, &flake_file, spec, origin);
            let build = NixBuild::new(
                &flake_dir,
                &context,
                spec.flake_output.as_deref(),
                &session.system,
                flake,
            );
            add_image(
                session,
                &spec.image_name,
                &origin.call,
                ImageSource::Nix(build),
            );
            Some(spec.image_name.clone())
        }
    }
}

/// A problem of an image spec argument written at `argument`. Kurtosis finds it only when an
/// instruction uses the spec (its paths are relative to that instruction's file), so a spec
/// written outside the instruction (a module-level constant, a helper's result) is reported at
/// the instruction, with the argument as a label; paths that never use it report nothing.
fn at_use(
    instruction: &Place,
    argument: &Place,
    rule: Rule,
    message: impl Into<String>,
) -> Diagnostic {
    let inside_instruction = argument.file == instruction.file
        && instruction.span.start <= argument.span.start
        && argument.span.end <= instruction.span.end;
    if inside_instruction {
        Diagnostic::new(rule, &argument.file, argument.span, message)
    } else {
        Diagnostic::new(rule, &instruction.file, instruction.span, message).with_label(
            &argument.file,
            argument.span,
            "given here, in an image spec this instruction uses",
        )
    }
}

/// Reports an image name that Docker would refuse; Kurtosis finds it only when it pulls or
/// builds the image of an instruction.
fn check_image_name(session: &Session, instruction: &Place, argument: &Place, name: &str) {
    if name.contains("{{kurtosis:") {
        return;
    }
    let Err(problem) = crate::imageref::parse(name) else {
        return;
    };
    let lower = name.to_lowercase();
    let help = if lower != name && crate::imageref::parse(&lower).is_ok() {
        format!("Docker image names are lower-case: \"{lower}\"")
    } else {
        "an image name looks like `name`, `org/name:tag` or `registry:5000/org/name:tag`".to_owned()
    };
    session.report(
        at_use(
            instruction,
            argument,
            Rule::InvalidImageName,
            format!("`{name}` is not a valid image name: {problem}"),
        )
        .with_help(help),
    );
}

fn escapes(path: &str) -> bool {
    path == ".." || path.starts_with("../") || path.starts_with('/')
}

fn report_escape(
    session: &Session,
    instruction: &Place,
    place: &Place,
    written: &str,
    argument: &str,
) {
    session.report(
        at_use(
            instruction,
            place,
            Rule::PathEscapesPackage,
            format!("`{argument}` \"{written}\" leads outside the package"),
        )
        .with_help("Kurtosis uploads only the package, so builds can use only files inside it; move the folder into the package"),
    );
}

/// Resolves a build folder locator written at `place` for an instruction at `instruction`.
fn resolve_dir(
    session: &Session,
    instruction: &Place,
    place: &Place,
    written: &str,
    argument: &str,
) -> Option<String> {
    let caller = session.locator_of(&instruction.file);
    let absolute = match session.resolver.absolute(&caller, written) {
        Ok(absolute) => absolute,
        Err(problem) => {
            session.report(at_use(instruction, place, Rule::InvalidLocator, problem));
            return None;
        }
    };
    if written.starts_with('/') {
        let first = written
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        let inside = match session.resolver.resolve(&absolute) {
            Resolution::Local { path, .. } => session.source.entry(&path).is_some(),
            Resolution::Remote { .. } => false,
        };
        if !inside && HOST_ROOTS.contains(&first) {
            session.report(
                at_use(
                    instruction,
                    place,
                    Rule::PathEscapesPackage,
                    format!("`{argument}` \"{written}\" looks like an absolute path on this machine; in Kurtosis a leading `/` means the root of the package's repository"),
                )
                .with_help("write the path relative to the file that adds the service, e.g. \"./nix\""),
            );
            return None;
        }
    }
    if !session.resolver.in_root_package(&absolute) {
        report_escape(session, instruction, place, written, argument);
        return None;
    }
    match session.resolver.resolve(&absolute) {
        Resolution::Local { path, .. } => {
            if session
                .source
                .entry(&path)
                .is_some_and(|entry| entry.leaves_root)
            {
                report_escape(session, instruction, place, written, argument);
                return None;
            }
            Some(path)
        }
        Resolution::Remote { .. } => None,
    }
}

/// Reads the flake (once per check), reports what is wrong with this use of it (once per
/// output and image name), and returns its summary for the plan.
fn check_flake(
    session: &Session,
    flake_dir: &str,
    flake_file: &str,
    spec: &super::types::NixSpec,
    origin: &Origin,
) -> Option<FlakeSummary> {
    let mut state = session.state.borrow_mut();
    let state = &mut *state;
    let flake = match state.flakes.entry(flake_file.to_owned()) {
        Entry::Occupied(read) => read.into_mut(),
        Entry::Vacant(unread) => {
            let text = match session.source.read(flake_file) {
                Ok(text) => text,
                Err(error) => {
                    let place = origin.arg("flake_location_dir");
                    state.diagnostics.push(
                        session.read_error(flake_file, error, &place).with_help(
                            "Nix builds the image from this flake: make it a text file inside the package",
                        ),
                    );
                    return None;
                }
            };
            state.files.insert(flake_file, &text);
            let has_lock_file = session
                .source
                .entry(&join(flake_dir, "flake.lock"))
                .is_some();
            let (flake, findings) = FlakeFile::read(flake_file, &text, has_lock_file);
            state.diagnostics.extend(findings);
            unread.insert(flake)
        }
    };
    let key = (
        flake_file.to_owned(),
        spec.flake_output.clone(),
        spec.image_name.clone(),
    );
    if state.checked_flakes.insert(key) {
        let findings = flake.check_use(&FlakeCheck {
            flake_file,
            flake_output: spec.flake_output.as_deref(),
            system: &session.system,
            image_name: &spec.image_name,
        });
        let output_place = origin.arg("flake_output");
        for finding in findings {
            let mut finding = placed_at_use(finding, &origin.call, &output_place);
            if finding.rule == Rule::FlakeOutputMissing {
                finding.fix = spec
                    .flake_output
                    .as_deref()
                    .and_then(|output| flake.suggest_output(output, &session.system))
                    .zip(state.files.get(&output_place.file))
                    .and_then(|(suggestion, file)| {
                        Fix::replace_literal(&file.text, output_place.span, &suggestion)
                    });
            }
            state.diagnostics.push(finding);
        }
    }
    flake.summary().cloned()
}

/// Findings about one use of a flake point back at the NixBuildSpec. A missing output is fixed
/// in the `.star` file, so SF502 and SF503 are reported at the `flake_output` argument (the
/// call, without one) with the flake's place as a label; the others stay in the flake, with the
/// call as a label.
fn placed_at_use(finding: Diagnostic, call: &Place, output: &Place) -> Diagnostic {
    let flake_label = match finding.rule {
        Rule::FlakeOutputMissing => "the flake's outputs, which lack it",
        Rule::FlakeNonLinux => "the flake builds it only for this system",
        _ => return finding.with_label(&call.file, call.span, "image requested here"),
    };
    let (flake_file, flake_span) = (finding.file.clone(), finding.span);
    Diagnostic {
        file: output.file.clone(),
        span: output.span,
        ..finding
    }
    .with_label(flake_file, flake_span, flake_label)
}

/// Adds an image to the plan, reporting a name given to two different sources.
fn add_image(session: &Session, name: &str, defined_at: &Place, source: ImageSource) {
    let mut state = session.state.borrow_mut();
    if let Some((index, first)) = state.image_origins.get(name) {
        let existing = &state.images[*index];
        if existing.source != source {
            let first = first.clone();
            let describe = |source: &ImageSource| match source {
                ImageSource::Registry | ImageSource::RegistrySpec { .. } => {
                    "pulled from a registry".to_owned()
                }
                ImageSource::Dockerfile { dockerfile, .. } => format!("built from `{dockerfile}`"),
                ImageSource::Nix(build) => format!("built from `{}`", build.installable),
            };
            let message = format!(
                "the image name `{name}` is {} here but {} elsewhere; Kurtosis would silently keep only one",
                describe(&source),
                describe(&existing.source)
            );
            state.diagnostics.push(
                Diagnostic::new(
                    Rule::ConflictingImageName,
                    &defined_at.file,
                    defined_at.span,
                    message,
                )
                .with_label(first.file, first.span, "first given this name here")
                .with_help(
                    "give each image source its own `image_name`, e.g. with a different tag",
                ),
            );
        }
        return;
    }
    let location = defined_at.location(&state.files);
    let index = state.images.len();
    state
        .image_origins
        .insert(name.to_owned(), (index, defined_at.clone()));
    state.images.push(Image {
        name: name.to_owned(),
        defined_at: location,
        source,
        push_to: None,
    });
}

//! Static checks of the `flake.nix` a `NixBuildSpec` builds its image from.
//!
//! The flake is parsed with rnix and its `outputs` read by a small lazy evaluator
//! ([`eval`]) that understands what flakes commonly write (attribute sets, `let`, `rec`,
//! `inherit`, `//`, lambdas, `flake-utils.lib.eachDefaultSystem`, `eachSystem`, `lib.genAttrs`)
//! and treats everything else as unknown. Findings are only reported when the static reading is
//! certain: an unknown part of the outputs never produces "output missing".
//!
//! The lookup follows `nix build <flake>#<fragment>` (Nix 2.8):
//! - no fragment: `packages.<system>.default`, then `defaultPackage.<system>`;
//! - fragment `x`: `packages.<system>.x`, `legacyPackages.<system>.x`, then `x` itself.

mod eval;
mod scope;
mod syntax;
#[cfg(test)]
mod tests;

use std::rc::Rc;

use rnix::ast;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Rule, did_you_mean};
use crate::text::Span;
use eval::{AttrEntry, CallKind, Evaluator, Sel, ThunkId, Value, span_of};

/// One use of a flake: what a `NixBuildSpec` asks of it.
#[derive(Clone, Copy, Debug)]
pub struct FlakeCheck<'a> {
    /// Path of `flake.nix` relative to the package root, e.g. `nix/app/flake.nix`; used as the
    /// diagnostics' file.
    pub flake_file: &'a str,
    /// `None`: no `flake_output` (Nix's default lookup); `Some("x")`: the fragment `#x`.
    pub flake_output: Option<&'a str>,
    /// The system the image is built for, e.g. `x86_64-linux`.
    pub system: &'a str,
    /// e.g. `my-app` or `registry:5000/org/app:v1`.
    pub image_name: &'a str,
}

/// What a static reading of the flake finds, for the plan preview.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlakeSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The flake declares inputs (in `inputs`, or as arguments of `outputs`), or may.
    pub has_inputs: bool,
    /// Full attribute paths known statically, e.g. `packages.x86_64-linux.default`.
    pub outputs: Vec<String>,
    /// Parts of the outputs could not be read statically.
    pub dynamic: bool,
}

/// A `flake.nix` parsed and read once, then checked for every `NixBuildSpec` that uses it:
/// packages often build many images from one flake.
pub struct FlakeFile {
    reading: Reading,
    /// Made on first request: listing every output forces much of the flake.
    summary: Option<Option<FlakeSummary>>,
}

enum Reading {
    /// Syntax errors: Nix cannot read it either.
    Broken,
    /// Too large or deeply nested to read safely, or not an attribute set: nothing is said.
    Opaque,
    Read(Box<Flake>),
}

impl FlakeFile {
    /// Reads the flake and says what concerns the file itself: syntax errors (SF501) and
    /// inputs without a lock file (SF505). Never a false error.
    pub fn read(
        flake_file: &str,
        flake_text: &str,
        has_lock_file: bool,
    ) -> (Self, Vec<Diagnostic>) {
        let file = |reading| FlakeFile {
            reading,
            summary: None,
        };
        let Some(parse) = syntax::parse(flake_text) else {
            // Too large or too deeply nested to read safely: say nothing rather than guess.
            return (file(Reading::Opaque), Vec::new());
        };
        if !parse.errors().is_empty() {
            let errors = syntax::diagnostics(flake_file, flake_text, parse.errors());
            return (file(Reading::Broken), errors);
        }
        let tree = parse.tree();
        let mut findings = duplicate_arguments(flake_file, &tree);
        findings.extend(unbound_variables(flake_file, &tree));
        let Some(mut flake) = Flake::read(&tree) else {
            return (file(Reading::Opaque), findings);
        };
        findings.extend(flake.duplicates(flake_file));
        if !has_lock_file {
            findings.extend(flake.unlocked_inputs(flake_file));
        }
        (file(Reading::Read(Box::new(flake))), findings)
    }

    /// What is wrong with one use of the flake (SF502, SF503, SF504, SF506).
    pub fn check_use(&mut self, check: &FlakeCheck) -> Vec<Diagnostic> {
        match &mut self.reading {
            Reading::Read(flake) => {
                let mut findings = flake.check_output(check);
                findings.extend(flake.duplicates(check.flake_file));
                findings
            }
            Reading::Broken | Reading::Opaque => Vec::new(),
        }
    }

    /// The output a misspelt `flake_output` was meant to name, as SF502's help suggests it.
    pub fn suggest_output(&mut self, flake_output: &str, system: &str) -> Option<String> {
        match &mut self.reading {
            Reading::Read(flake) => flake.suggest_output(flake_output, system),
            Reading::Broken | Reading::Opaque => None,
        }
    }

    /// Where the output `nix build <flake>#<flake_output>` builds for `system` is written: the
    /// deepest key of its attribute path that has a place in the file. `None` when no
    /// candidate is known to exist.
    pub fn output_span(&mut self, flake_output: Option<&str>, system: &str) -> Option<Span> {
        let Reading::Read(flake) = &mut self.reading else {
            return None;
        };
        for path in candidates(flake_output, system)? {
            match flake.find(&path) {
                Found::Yes(..) => return flake.deepest_span(&path),
                Found::No => continue,
                Found::Unknown => return None,
            }
        }
        None
    }

    /// The description, inputs and statically known outputs; `None` when the flake has
    /// syntax errors.
    pub fn summary(&mut self) -> Option<&FlakeSummary> {
        let reading = &mut self.reading;
        let summary = self.summary.get_or_insert_with(|| match reading {
            Reading::Broken => None,
            Reading::Opaque => Some(FlakeSummary {
                dynamic: true,
                ..FlakeSummary::default()
            }),
            Reading::Read(flake) => {
                let summary = flake.summary();
                // Listing every output builds sets `nix build` may never evaluate: a dynamic
                // duplicate there is no certain error. A static one is (Nix finds it when it
                // parses the file): the next use reports it.
                flake.ev.duplicates.retain(|duplicate| !duplicate.dynamic);
                Some(summary)
            }
        });
        summary.as_ref()
    }
}

/// SF501 for every function argument named twice, which Nix refuses to parse.
fn duplicate_arguments(flake_file: &str, tree: &rnix::Root) -> Vec<Diagnostic> {
    scope::duplicate_arguments(tree)
        .into_iter()
        .map(|duplicate| {
            Diagnostic::new(
                Rule::FlakeSyntax,
                flake_file,
                duplicate.span,
                format!(
                    "the function argument `{}` is named twice; Nix refuses to parse the flake",
                    duplicate.name
                ),
            )
            .with_label(flake_file, duplicate.first, "first named here")
            .with_help("give each argument of the function its own name")
        })
        .collect()
}

/// SF508 for every use of a variable that nothing binds: Nix refuses such a file when it
/// parses it, before any output is evaluated.
fn unbound_variables(flake_file: &str, tree: &rnix::Root) -> Vec<Diagnostic> {
    scope::unbound_variables(tree)
        .into_iter()
        .map(|unbound| {
            let help = match did_you_mean(&unbound.name, unbound.in_scope.iter().map(String::as_str)) {
                Some(name) => format!("did you mean `{name}`?"),
                None => format!(
                    "bind it first: take it as an argument of `outputs` (`{{ self, nixpkgs, {0}, ... }}:`, with an input of that name) or define it with `let {0} = ...; in`",
                    unbound.name
                ),
            };
            Diagnostic::new(
                Rule::FlakeUndefinedVariable,
                flake_file,
                unbound.span,
                format!(
                    "undefined variable `{}`; Nix refuses to evaluate the flake",
                    unbound.name
                ),
            )
            .with_help(help)
        })
        .collect()
}

/// The attribute paths `nix build <flake>#<fragment>` tries, in order, as Nix displays them.
pub fn candidate_attr_paths(flake_output: Option<&str>, system: &str) -> Vec<String> {
    candidates(flake_output, system)
        .map(|paths| paths.iter().map(|path| format_attr_path(path)).collect())
        .unwrap_or_default()
}

/// A name read from the flake, with where it is written.
struct Named {
    name: String,
    span: Option<Span>,
}

/// The statically read parts of one flake.
struct Flake {
    ev: Evaluator,
    description: Option<String>,
    inputs_span: Option<Span>,
    /// Declared in `inputs`.
    inputs: Vec<Named>,
    /// `inputs` could hold more than `inputs` says.
    inputs_dynamic: bool,
    /// Arguments of `outputs` not declared in `inputs`: Nix resolves them through the registry.
    implicit_inputs: Vec<Named>,
    outputs_span: Option<Span>,
    /// The value of `outputs inputs`, when `outputs` is a function.
    outputs: Option<ThunkId>,
}

/// Whether an attribute path exists.
enum Found {
    /// With the span of every key along the path (where known).
    Yes(Value, Vec<Option<Span>>),
    No,
    Unknown,
}

impl Flake {
    fn read(root: &ast::Root) -> Option<Flake> {
        let mut ev = Evaluator::new();
        let scope = ev.root_scope();
        let expr = root.expr()?;
        let Value::Attrs(top) = ev.eval(&expr, scope) else {
            return None;
        };
        let mut flake = Flake {
            ev,
            description: None,
            inputs_span: None,
            inputs: Vec::new(),
            inputs_dynamic: top.dynamic,
            implicit_inputs: Vec::new(),
            outputs_span: None,
            outputs: None,
        };
        let entry = |name: &str| top.entries.get(name).copied();
        if let Some(description) = entry("description")
            && let Value::Str(text, _) = flake.ev.force(description.thunk)
        {
            flake.description = Some(text.to_string());
        }
        if let Some(inputs) = entry("inputs") {
            flake.inputs_span = inputs.span;
            match flake.ev.force(inputs.thunk) {
                Value::Attrs(attrs) => {
                    flake.inputs_dynamic |= attrs.dynamic;
                    flake.inputs = attrs
                        .entries
                        .iter()
                        .map(|(name, entry)| Named {
                            name: name.to_string(),
                            span: entry.span,
                        })
                        .collect();
                }
                _ => flake.inputs_dynamic = true,
            }
        }
        if let Some(outputs) = entry("outputs") {
            flake.outputs_span = outputs.span;
            if let Value::Lambda(lambda, _) = flake.ev.force(outputs.thunk) {
                if let Some(ast::Param::Pattern(pattern)) = lambda.param() {
                    for formal in pattern.pat_entries() {
                        let Some(ident) = formal.ident() else {
                            continue;
                        };
                        let name = eval::ident_text(&ident);
                        if name != "self" && !flake.inputs.iter().any(|input| input.name == name) {
                            flake.implicit_inputs.push(Named {
                                name,
                                span: Some(span_of(&ident)),
                            });
                        }
                    }
                }
                // `outputs (inputs // { self = <the outputs>; })`; the inputs are unknown.
                let result = flake.ev.alloc_placeholder();
                let mut arg = eval::Attrs {
                    dynamic: true,
                    ..Default::default()
                };
                arg.entries.insert(
                    "self".into(),
                    AttrEntry {
                        thunk: result,
                        span: None,
                    },
                );
                let arg = flake.ev.alloc_value(Value::Attrs(Rc::new(arg)));
                flake.ev.fill_apply(result, outputs.thunk, arg);
                flake.outputs = Some(result);
            }
        }
        Some(flake)
    }

    /// Follows `path` through the outputs.
    fn find(&mut self, path: &[Rc<str>]) -> Found {
        let Some(outputs) = self.outputs else {
            return Found::Unknown;
        };
        let mut value = self.ev.force(outputs);
        if !matches!(value, Value::Attrs(_)) {
            // Not an attribute set: Nix fails on the flake itself, not on a missing output.
            return Found::Unknown;
        }
        let mut spans = Vec::new();
        // Once an attribute set along the path has unknown keys, say nothing below it.
        let mut open = false;
        for name in path {
            if let Value::Attrs(attrs) = &value {
                open |= attrs.open();
            }
            match self.ev.select(value, name) {
                Sel::Found(next, span) => {
                    value = next;
                    spans.push(span);
                }
                Sel::Absent if open => return Found::Unknown,
                Sel::Absent => return Found::No,
                Sel::Unknown(_) => return Found::Unknown,
            }
        }
        Found::Yes(value, spans)
    }

    /// The keys of the attribute set at `path`, when it is one and fully known.
    fn static_keys(&mut self, path: &[Rc<str>]) -> Option<Vec<(Rc<str>, AttrEntry)>> {
        match self.find(path) {
            Found::Yes(Value::Attrs(attrs), _) if !attrs.dynamic => Some(
                attrs
                    .entries
                    .iter()
                    .map(|(name, entry)| (name.clone(), *entry))
                    .collect(),
            ),
            _ => None,
        }
    }

    // ---- SF505 ----

    fn unlocked_inputs(&self, flake_file: &str) -> Option<Diagnostic> {
        let names: Vec<&Named> = self.inputs.iter().chain(&self.implicit_inputs).collect();
        if names.is_empty() {
            return None;
        }
        let span = self
            .inputs_span
            .or_else(|| self.implicit_inputs.first().and_then(|input| input.span))
            .unwrap_or_default();
        let listed = quote_list(names.iter().map(|input| input.name.as_str()), 6);
        let dir = match flake_file.rsplit_once('/') {
            Some((dir, _)) if !dir.is_empty() => dir,
            _ => ".",
        };
        let mut help = format!(
            "run `nix flake lock` in `{dir}` and commit `flake.lock`; without it every build resolves the inputs anew from the network and writes a lock file into the package"
        );
        if !self.implicit_inputs.is_empty() {
            let implicit = quote_list(
                self.implicit_inputs.iter().map(|input| input.name.as_str()),
                6,
            );
            let (verb, pronoun) = if self.implicit_inputs.len() == 1 {
                ("is", "it")
            } else {
                ("are", "them")
            };
            help.push_str(&format!(
                "; {implicit} {verb} an argument of `outputs` but not declared in `inputs`, so Nix looks {pronoun} up in the flake registry: declare {pronoun} with a `url`"
            ));
        }
        Some(
            Diagnostic::new(
                Rule::FlakeUnlockedInputs,
                flake_file,
                span,
                format!("the flake has inputs ({listed}) but no `flake.lock` beside it"),
            )
            .with_help(help),
        )
    }

    // ---- SF502, SF503, SF504, SF506 ----

    /// SF507 for every attribute defined twice in the sets read since the last call: Nix
    /// evaluates those sets too, and stops there.
    fn duplicates(&mut self, flake_file: &str) -> Vec<Diagnostic> {
        let mut found: Vec<eval::Duplicate> = std::mem::take(&mut self.ev.duplicates);
        // A function's body is read once per call (one per system, say): report each place once.
        found.sort_by_key(|duplicate| (duplicate.second.start, duplicate.second.end));
        found.dedup_by_key(|duplicate| duplicate.second);
        found
            .into_iter()
            .map(|duplicate| {
                let kind = if duplicate.dynamic { "dynamic attribute" } else { "attribute" };
                let mut diagnostic = Diagnostic::new(
                    Rule::FlakeDuplicateAttribute,
                    flake_file,
                    duplicate.second,
                    format!("{kind} `{}` is already defined in this attribute set; Nix refuses to evaluate the flake", duplicate.path),
                )
                .with_help(if duplicate.dynamic {
                    "Nix never merges keys written `${...}`: write the key once, e.g. `packages.${system} = { web = ...; hello = ...; };`"
                } else {
                    "define it once; Nix merges two definitions only when both are attribute set literals"
                });
                if let Some(first) = duplicate.first {
                    diagnostic = diagnostic.with_label(flake_file, first, "first defined here");
                }
                diagnostic
            })
            .collect()
    }

    fn check_output(&mut self, check: &FlakeCheck) -> Vec<Diagnostic> {
        let Some(candidates) = candidates(check.flake_output, check.system) else {
            return Vec::new();
        };
        if self.outputs.is_none() {
            return Vec::new();
        }
        for (index, path) in candidates.iter().enumerate() {
            match self.find(path) {
                Found::No => continue,
                Found::Unknown => return Vec::new(),
                Found::Yes(value, _) => {
                    return self
                        .check_selected(check, &candidates[index], value)
                        .into_iter()
                        .collect();
                }
            }
        }
        vec![self.missing_output(check, &candidates)]
    }

    /// What the flake defines for `system`: full attribute paths, and the short names
    /// `flake_output` may give for them.
    fn outputs_for(&mut self, system: &str) -> (Vec<String>, Vec<String>) {
        let system: Rc<str> = system.into();
        let mut existing: Vec<String> = Vec::new();
        let mut short_names: Vec<String> = Vec::new();
        for top in ["packages", "legacyPackages"] {
            if let Some(keys) = self.static_keys(&[top.into(), system.clone()]) {
                for (name, _) in keys {
                    existing.push(format_attr_path(&[
                        top.into(),
                        system.clone(),
                        name.clone(),
                    ]));
                    short_names.push(format_component(&name));
                }
            }
        }
        let default_package: [Rc<str>; 2] = ["defaultPackage".into(), system];
        if let Found::Yes(..) = self.find(&default_package) {
            existing.push(format_attr_path(&default_package));
        }
        (existing, short_names)
    }

    fn suggest_output(&mut self, flake_output: &str, system: &str) -> Option<String> {
        let fragment = normalized_fragment(Some(flake_output))?;
        let (existing, short_names) = self.outputs_for(system);
        closest_output(&fragment, &existing, &short_names).map(str::to_owned)
    }

    /// SF502 or SF503: no candidate exists for the target system.
    fn missing_output(&mut self, check: &FlakeCheck, candidates: &[Vec<Rc<str>>]) -> Diagnostic {
        let system = check.system;
        let shown: Vec<String> = candidates
            .iter()
            .map(|path| format_attr_path(path))
            .collect();
        let tried = join_quoted_and(&shown);
        let first = &shown[0];
        let fragment = normalized_fragment(check.flake_output);

        // Where does it exist instead? Same lookup with another system.
        let templates = system_templates(fragment.as_deref(), system);
        let mut elsewhere: Vec<(String, String, Option<Span>)> = Vec::new();
        let mut unknown_linux = false;
        let mut seen_systems = Vec::new();
        for template in &templates {
            let Some(slot) = template.iter().position(|part| &**part == SYSTEM_SLOT) else {
                continue;
            };
            let Some(systems) = self.static_keys(&template[..slot]) else {
                if is_linux(system) {
                    // The set of systems is unknown: another Linux system could have it.
                    unknown_linux |= self.find(&template[..slot]).is_unknown_or_attrs();
                }
                continue;
            };
            for (other, _) in systems {
                if &*other == system || seen_systems.contains(&other) {
                    continue;
                }
                let mut path = template.clone();
                path[slot] = other.clone();
                match self.find(&path) {
                    Found::Yes(_, spans) => {
                        seen_systems.push(other.clone());
                        let span = spans.get(slot).copied().flatten();
                        elsewhere.push((other.to_string(), format_attr_path(&path), span));
                    }
                    Found::Unknown if is_linux(&other) => unknown_linux = true,
                    _ => {}
                }
            }
        }

        let non_linux_only = is_linux(system)
            && !elsewhere.is_empty()
            && elsewhere.iter().all(|(other, _, _)| !is_linux(other))
            && !unknown_linux;
        let wanted = match fragment.as_deref().and_then(parse_attr_path) {
            // A full attribute path names the output itself.
            Some(path) if path.len() > 1 => path
                .iter()
                .map(|part| format_component(part))
                .collect::<Vec<_>>()
                .join("."),
            Some(path) => format!(
                "packages.{}.{}",
                format_component(system),
                path.first()
                    .map_or_else(|| "\"\"".to_owned(), |name| format_component(name))
            ),
            None => format!("packages.{}.default", format_component(system)),
        };

        if non_linux_only {
            let defined = quote_list(elsewhere.iter().map(|(_, path, _)| path.as_str()), 6);
            let span = elsewhere
                .iter()
                .find_map(|(_, _, span)| *span)
                .or(self.outputs_span)
                .unwrap_or_default();
            let diagnostic = Diagnostic::new(
                Rule::FlakeNonLinux,
                check.flake_file,
                span,
                format!(
                    "flake output `{first}` does not exist: the flake builds this output only for non-Linux systems ({defined}), and a container needs a Linux image built for `{system}`"
                ),
            )
            .with_help(format!(
                "add `{wanted}` to the flake, built with the packages of `{system}` (for example by wrapping the outputs in `flake-utils.lib.eachDefaultSystem (system: ...)`)"
            ));
            return diagnostic;
        }

        let (existing, short_names) = self.outputs_for(system);

        let mut help = if existing.is_empty() {
            format!("the flake defines no packages for `{system}`")
        } else {
            format!(
                "the flake defines {} for `{system}`",
                quote_list(existing.iter().map(String::as_str), 8)
            )
        };
        let suggestion = fragment
            .as_deref()
            .and_then(|fragment| closest_output(fragment, &existing, &short_names));
        if let Some(suggestion) = suggestion {
            help.push_str(&format!(
                "; did you mean `flake_output = \"{suggestion}\"`?"
            ));
        } else {
            if !elsewhere.is_empty() {
                let systems = quote_list(elsewhere.iter().map(|(other, _, _)| other.as_str()), 6);
                help.push_str(&format!(", and builds this output only for {systems}"));
            }
            if existing.is_empty() {
                help.push_str(&format!("; add `{wanted}`"));
            } else {
                help.push_str(&format!(
                    "; set `flake_output` to one of them, or add `{wanted}`"
                ));
            }
        }

        let span = self
            .deepest_span(&candidates[0])
            .or(self.outputs_span)
            .unwrap_or_default();
        Diagnostic::new(
            Rule::FlakeOutputMissing,
            check.flake_file,
            span,
            format!("flake output `{first}` does not exist: Nix tries {tried}"),
        )
        .with_help(help)
    }

    /// The span of the deepest key along `path` that exists and is written in the flake.
    fn deepest_span(&mut self, path: &[Rc<str>]) -> Option<Span> {
        let mut best = None;
        for len in 1..=path.len() {
            match self.find(&path[..len]) {
                Found::Yes(_, spans) => {
                    if let Some(Some(span)) = spans.last() {
                        best = Some(*span);
                    }
                }
                _ => break,
            }
        }
        best
    }

    /// SF504 / SF506 on the output Nix would build.
    fn check_selected(
        &mut self,
        check: &FlakeCheck,
        path: &[Rc<str>],
        value: Value,
    ) -> Option<Diagnostic> {
        let Value::Opaque(opaque) = value else {
            return None;
        };
        let call = opaque.call.clone()?;
        let shown = format_attr_path(path);
        match call.kind {
            CallKind::Derivation => None,
            CallKind::NotImage => {
                let diagnostic = Diagnostic::new(
                    Rule::FlakeNotAnImage,
                    check.flake_file,
                    call.func_span,
                    format!(
                        "flake output `{shown}` is built with `{}`, which makes a package, not a container image",
                        call.func
                    ),
                )
                .with_help(
                    "wrap the package in an image, e.g. `pkgs.dockerTools.buildLayeredImage { name = \"...\"; tag = \"latest\"; contents = [ package ]; }`, and select that output",
                );
                Some(diagnostic)
            }
            CallKind::Image => self.check_image_name(check, &call),
        }
    }

    fn check_image_name(&mut self, check: &FlakeCheck, call: &eval::Call) -> Option<Diagnostic> {
        let Value::Attrs(args) = self.ev.force(call.arg) else {
            return None;
        };
        let name_entry = args.entries.get("name").copied()?;
        let Value::Str(name, name_span) = self.ev.force(name_entry.thunk) else {
            return None;
        };
        let name_span = name_span.or(name_entry.span).unwrap_or(call.func_span);
        enum Tag {
            Missing,
            Static(Rc<str>, Span),
            Unknown,
        }
        let tag = match args.entries.get("tag").copied() {
            None if args.dynamic => Tag::Unknown,
            None => Tag::Missing,
            Some(entry) => match self.ev.force(entry.thunk) {
                Value::Str(tag, span) => {
                    Tag::Static(tag, span.or(entry.span).unwrap_or(call.func_span))
                }
                Value::Null => Tag::Missing,
                _ => Tag::Unknown,
            },
        };
        let tool = if call
            .path
            .iter()
            .any(|part| part.contains("nix2container") || &**part == "n2c")
        {
            "nix2container"
        } else {
            "dockerTools"
        };
        let builder = call
            .path
            .last()
            .map_or("buildImage", |name| &**name)
            .to_owned();

        let wanted = ImageRef::parse(check.image_name);
        let wanted_tag = wanted.tag.unwrap_or("latest");
        let flake_repo = strip_docker_library(&name);
        if flake_repo != wanted.repo {
            let tag_fix = match &tag {
                Tag::Missing => format!(" and `tag = \"{wanted_tag}\";`"),
                _ => String::new(),
            };
            let alternative = match &tag {
                Tag::Static(tag, _) => format!(", or set `image_name` to `{name}:{tag}`"),
                _ => String::new(),
            };
            let diagnostic = Diagnostic::new(
                Rule::FlakeImageTagMismatch,
                check.flake_file,
                name_span,
                format!(
                    "the flake names its image `{name}`, but `image_name` is `{}`: the loaded image will not have the name the service asks for",
                    check.image_name
                ),
            )
            .with_help(format!(
                "set `name = \"{}\";`{tag_fix} in the `{builder}` call{alternative}",
                wanted.repo
            ));
            return Some(diagnostic);
        }
        if wanted.digest {
            return None;
        }
        let diagnostic = match tag {
            Tag::Unknown => return None,
            Tag::Missing => Diagnostic::new(
                Rule::FlakeImageTagMismatch,
                check.flake_file,
                name_span,
                format!(
                    "the flake sets no `tag`, so {tool} tags the image `{name}` with its Nix hash, not `{wanted_tag}` as `image_name` `{}` asks",
                    check.image_name
                ),
            )
            .with_help(format!("add `tag = \"{wanted_tag}\";` to the `{builder}` call")),
            Tag::Static(tag, span) if *tag != *wanted_tag => {
                let implied = if wanted.tag.is_none() { " (no tag means `latest`)" } else { "" };
                Diagnostic::new(
                    Rule::FlakeImageTagMismatch,
                    check.flake_file,
                    span,
                    format!(
                        "the flake tags its image `{name}:{tag}`, but `image_name` `{}` asks for `{name}:{wanted_tag}`{implied}",
                        check.image_name
                    ),
                )
                .with_help(format!(
                    "set `tag = \"{wanted_tag}\";` in the flake, or set `image_name` to `{name}:{tag}`"
                ))
            }
            Tag::Static(..) => return None,
        };
        Some(diagnostic)
    }

    // ---- summary ----

    fn summary(&mut self) -> FlakeSummary {
        let mut summary = FlakeSummary {
            description: self.description.clone(),
            has_inputs: !self.inputs.is_empty()
                || !self.implicit_inputs.is_empty()
                || self.inputs_dynamic,
            outputs: Vec::new(),
            dynamic: false,
        };
        self.list_outputs(&mut summary);
        summary.dynamic |= self.ev.exhausted();
        summary
    }

    fn list_outputs(&mut self, summary: &mut FlakeSummary) {
        let Some(outputs) = self.outputs else {
            summary.dynamic = true;
            return;
        };
        let value = self.ev.force(outputs);
        let mut path = Vec::new();
        match value {
            Value::Attrs(attrs) => {
                summary.dynamic |= attrs.dynamic;
                for (name, entry) in attrs.entries.iter() {
                    path.push(name.clone());
                    let depth = output_depth(name);
                    self.walk(entry.thunk, &mut path, depth, summary);
                    path.pop();
                }
            }
            _ => summary.dynamic = true,
        }
    }

    fn walk(
        &mut self,
        thunk: ThunkId,
        path: &mut Vec<Rc<str>>,
        remaining: usize,
        summary: &mut FlakeSummary,
    ) {
        const MAX_OUTPUTS: usize = 1000;
        if summary.outputs.len() >= MAX_OUTPUTS {
            summary.dynamic = true;
            return;
        }
        if remaining == 0 {
            summary.outputs.push(format_attr_path(path));
            return;
        }
        match self.ev.force(thunk) {
            Value::Attrs(attrs) => {
                summary.dynamic |= attrs.dynamic;
                for (name, entry) in attrs.entries.iter() {
                    path.push(name.clone());
                    self.walk(entry.thunk, path, remaining - 1, summary);
                    path.pop();
                }
            }
            Value::Opaque(_) => summary.dynamic = true,
            _ => {}
        }
    }
}

impl Found {
    fn is_unknown_or_attrs(&self) -> bool {
        matches!(self, Found::Unknown | Found::Yes(Value::Attrs(_), _))
    }
}

/// How many levels below a top-level output name the interesting attributes are.
fn output_depth(name: &str) -> usize {
    match name {
        "packages" | "legacyPackages" | "apps" | "checks" | "devShells" => 2,
        "defaultPackage"
        | "defaultApp"
        | "devShell"
        | "formatter"
        | "overlays"
        | "nixosModules"
        | "nixosConfigurations"
        | "darwinConfigurations"
        | "darwinModules"
        | "homeConfigurations"
        | "homeManagerModules"
        | "homeModules"
        | "flakeModules"
        | "templates" => 1,
        _ => 0,
    }
}

// ---- attribute paths ----

/// Stands for the system in [`system_templates`].
const SYSTEM_SLOT: &str = "\u{0}system";

/// The system-dependent candidates, with [`SYSTEM_SLOT`] in place of the system: the
/// `packages.<system>.` and `legacyPackages.<system>.` prefixes, and a full attribute path that
/// names the target system itself (`packages.x86_64-linux.web`).
fn system_templates(fragment: Option<&str>, system: &str) -> Vec<Vec<Rc<str>>> {
    match fragment {
        None => vec![
            vec!["packages".into(), SYSTEM_SLOT.into(), "default".into()],
            vec!["defaultPackage".into(), SYSTEM_SLOT.into()],
        ],
        Some(fragment) => {
            let Some(rest) = parse_attr_path(fragment) else {
                return Vec::new();
            };
            let mut templates: Vec<Vec<Rc<str>>> = ["packages", "legacyPackages"]
                .into_iter()
                .map(|top| {
                    let mut path: Vec<Rc<str>> = vec![top.into(), SYSTEM_SLOT.into()];
                    path.extend(rest.iter().map(|part| Rc::from(part.as_str())));
                    path
                })
                .collect();
            if let Some(slot) = rest.iter().position(|part| part == system) {
                let mut path: Vec<Rc<str>> =
                    rest.iter().map(|part| Rc::from(part.as_str())).collect();
                path[slot] = SYSTEM_SLOT.into();
                templates.push(path);
            }
            templates
        }
    }
}

/// `None` and `Some("")` both mean the default package; `%XX` is decoded as in a flake URL.
fn normalized_fragment(flake_output: Option<&str>) -> Option<String> {
    let fragment = flake_output?;
    if fragment.is_empty() {
        return None;
    }
    Some(percent_decode(fragment))
}

fn closest_output<'a>(
    fragment: &str,
    existing: &'a [String],
    short_names: &'a [String],
) -> Option<&'a str> {
    did_you_mean(
        fragment,
        short_names.iter().chain(existing).map(String::as_str),
    )
}

/// The attribute paths Nix tries, in order; `None` when the fragment is malformed.
fn candidates(flake_output: Option<&str>, system: &str) -> Option<Vec<Vec<Rc<str>>>> {
    let to_rc = |path: Vec<String>| {
        path.into_iter()
            .map(|part| Rc::from(part.as_str()))
            .collect::<Vec<Rc<str>>>()
    };
    match normalized_fragment(flake_output) {
        None => Some(vec![
            to_rc(vec!["packages".into(), system.into(), "default".into()]),
            to_rc(vec!["defaultPackage".into(), system.into()]),
        ]),
        Some(fragment) => {
            // Nix joins the strings first, then parses each as an attribute path.
            let mut out = Vec::new();
            for prefix in ["packages", "legacyPackages"] {
                let joined = format!("{prefix}.{}.{fragment}", quote_if_needed_for_path(system));
                out.push(to_rc(parse_attr_path(&joined)?));
            }
            out.push(to_rc(parse_attr_path(&fragment)?));
            Some(out)
        }
    }
}

/// A system name inside a path string: quoted when it contains a dot.
fn quote_if_needed_for_path(system: &str) -> String {
    if system.contains('.') {
        format!("\"{system}\"")
    } else {
        system.to_owned()
    }
}

/// Nix's `parseAttrPath`: `.` separates, `"..."` quotes (dots included); a trailing empty
/// component is dropped. `None` on a missing closing quote.
fn parse_attr_path(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(std::mem::take(&mut current)),
            '"' => loop {
                match chars.next() {
                    None => return None,
                    Some('"') => break,
                    Some(c) => current.push(c),
                }
            },
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    Some(out)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(high * 16 + low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// An attribute name as Nix writes it in a path: bare when it is an identifier, else quoted.
fn format_component(name: &str) -> String {
    let mut chars = name.chars();
    let bare = match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        }
        _ => false,
    };
    if bare
        && !matches!(
            name,
            "if" | "then" | "else" | "let" | "in" | "rec" | "with" | "inherit" | "assert" | "or"
        )
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn format_attr_path(path: &[Rc<str>]) -> String {
    path.iter()
        .map(|part| format_component(part))
        .collect::<Vec<_>>()
        .join(".")
}

fn is_linux(system: &str) -> bool {
    system.ends_with("-linux")
}

/// "`a`, `b` and `c`".
fn join_quoted_and(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// "`a`, `b`, `c`" with at most `limit` items, then "and N more".
fn quote_list<'a>(items: impl Iterator<Item = &'a str>, limit: usize) -> String {
    let items: Vec<&str> = items.collect();
    let mut out: Vec<String> = items
        .iter()
        .take(limit)
        .map(|item| format!("`{item}`"))
        .collect();
    if items.len() > limit {
        out.push(format!("and {} more", items.len() - limit));
    }
    out.join(", ")
}

/// `image_name` split as Docker reads it.
struct ImageRef<'a> {
    repo: &'a str,
    tag: Option<&'a str>,
    digest: bool,
}

impl<'a> ImageRef<'a> {
    fn parse(reference: &'a str) -> Self {
        let (without_digest, digest) = match reference.split_once('@') {
            Some((name, _)) => (name, true),
            None => (reference, false),
        };
        let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match without_digest[slash..].rfind(':') {
            Some(colon) => (
                &without_digest[..slash + colon],
                Some(&without_digest[slash + colon + 1..]),
            ),
            None => (without_digest, None),
        };
        ImageRef {
            repo: strip_docker_library(repo),
            tag: tag.filter(|tag| !tag.is_empty()),
            digest,
        }
    }
}

fn strip_docker_library(repo: &str) -> &str {
    repo.strip_prefix("docker.io/library/").unwrap_or(repo)
}

//! Completion: names, members, keyword arguments, and the values an argument expects.

use super::cursor::{Call, Cursor};
use super::lex::{Kind, string_contents};
use super::outline::{Item, ItemKind};
use super::{Analysis, Completion, CompletionKind, Expect, Paths, expected, markdown, param_of};
use crate::builtins::{BuiltinInfo, BuiltinKind};
use crate::source::{EntryKind, join};
use crate::text::Span;

pub(super) fn completions(analysis: &Analysis, file: &str, cursor: &Cursor) -> Vec<Completion> {
    if cursor.in_comment() {
        return Vec::new();
    }
    let calls = cursor.calls();
    if let Some(string) = cursor.string_at() {
        return in_string(analysis, file, cursor, &calls, string);
    }
    // The word being typed, or an empty one at the cursor.
    let (word, replace) = match cursor.name_at() {
        Some(at) => (Some(at), cursor.tokens[at].span),
        None => (None, Span::new(cursor.offset, cursor.offset)),
    };
    let receiver = match word {
        Some(at) => cursor.receiver(at),
        None => after_dot(cursor),
    };
    if let Some(receiver) = receiver {
        return members(analysis, file, &receiver, replace);
    }
    if word.is_none()
        && cursor
            .token_at()
            .is_some_and(|at| cursor.tokens[at].span.start < cursor.offset)
    {
        // Inside a number, an operator or a closed string's quotes: nothing to offer.
        return Vec::new();
    }
    let mut found = Vec::new();
    if let Some(call) = calls.first()
        && let Some(info) = analysis.builtin(&call.callee)
    {
        if word.is_none() {
            found.extend(quoted_values(
                analysis, file, cursor, &calls, call, info, replace,
            ));
        }
        if may_name_keyword(cursor, call, word) {
            found.extend(keywords(info, call, replace));
        }
    }
    found.extend(globals(analysis, replace));
    found.extend(
        analysis
            .outline(file)
            .iter()
            .map(|item| item_completion(item, file, replace)),
    );
    found
}

/// The receiver chain when the cursor is right after `name.`.
fn after_dot(cursor: &Cursor) -> Option<Vec<String>> {
    let before = cursor
        .tokens
        .iter()
        .rposition(|token| token.span.end <= cursor.offset && token.is_code())?;
    if cursor.tokens[before].kind != Kind::Dot || cursor.tokens[before].span.end != cursor.offset {
        return None;
    }
    // The chain before the dot, as for a name written after it.
    cursor.receiver(before + 1)
}

/// `plan.` instructions or the top-level definitions of an imported module.
fn members(analysis: &Analysis, file: &str, receiver: &[String], replace: Span) -> Vec<Completion> {
    if receiver == ["plan"] {
        return analysis
            .table
            .iter()
            .filter(|info| info.kind == BuiltinKind::Instruction)
            .map(|info| builtin_completion(info, CompletionKind::Instruction, replace))
            .collect();
    }
    let [module] = receiver else {
        return Vec::new();
    };
    let Some(path) = analysis.imported_module(file, module) else {
        return Vec::new();
    };
    analysis
        .outline(&path)
        .iter()
        .filter(|item| !item.name.starts_with('_'))
        .map(|item| item_completion(item, &path, replace))
        .collect()
}

fn builtin_completion(info: &BuiltinInfo, kind: CompletionKind, replace: Span) -> Completion {
    Completion {
        label: info.name.to_owned(),
        kind,
        detail: Some(markdown::signature(info).0),
        documentation: Some(markdown::builtin(info)),
        replace,
        insert: info.name.to_owned(),
    }
}

fn globals(analysis: &Analysis, replace: Span) -> Vec<Completion> {
    analysis
        .table
        .iter()
        .filter(|info| info.kind == BuiltinKind::Global)
        .map(|info| builtin_completion(info, CompletionKind::Builtin, replace))
        .collect()
}

fn item_completion(item: &Item, file: &str, replace: Span) -> Completion {
    Completion {
        label: item.name.clone(),
        kind: match item.kind {
            ItemKind::Function { .. } => CompletionKind::Function,
            ItemKind::Value { .. } => CompletionKind::Value,
        },
        detail: Some(item.signature()),
        documentation: Some(markdown::item(item, file)),
        replace,
        insert: item.name.clone(),
    }
}

/// Whether the cursor is where an argument's keyword goes: an argument with no `=` yet, at
/// its first token.
fn may_name_keyword(cursor: &Cursor, call: &Call, word: Option<usize>) -> bool {
    let Some(arg) = call.args.get(call.active) else {
        return false;
    };
    if arg.keyword.is_some() {
        return false;
    }
    let first = cursor.tokens[arg.value.clone()]
        .iter()
        .position(|token| token.is_code())
        .map(|index| arg.value.start + index);
    match (first, word) {
        (None, _) => true,
        (Some(first), Some(word)) => first == word,
        (Some(_), None) => false,
    }
}

/// `name = ` for every parameter not given yet, in positional order.
fn keywords(info: &BuiltinInfo, call: &Call, replace: Span) -> Vec<Completion> {
    let positional = call.positional_before_active();
    info.params
        .iter()
        .enumerate()
        .filter(|(index, param)| *index >= positional && !call.keyword_given(param.name))
        .map(|(_, param)| Completion {
            label: format!("{} =", param.name),
            kind: CompletionKind::Argument,
            detail: Some(markdown::param_label(param)),
            documentation: Some(markdown::param(info, param)),
            replace,
            insert: format!("{} = ", param.name),
        })
        .collect()
}

/// Values for an argument with no value yet (`service_name=|`), quoted.
fn quoted_values(
    analysis: &Analysis,
    file: &str,
    cursor: &Cursor,
    calls: &[Call],
    call: &Call,
    info: &BuiltinInfo,
    replace: Span,
) -> Vec<Completion> {
    let Some(arg) = call.args.get(call.active) else {
        return Vec::new();
    };
    if !cursor.at_empty_value(arg) {
        return Vec::new();
    }
    let Some(expect) = param_of(info, call, call.active).and_then(|p| expected(info, p.name))
    else {
        return Vec::new();
    };
    values(analysis, file, cursor, calls, call, expect)
        .into_iter()
        .map(|value| Completion {
            insert: format!("\"{}\"", value.label),
            ..value.completion(replace)
        })
        .collect()
}

/// A value an argument may take.
struct Value {
    label: String,
    kind: CompletionKind,
    detail: Option<String>,
}

impl Value {
    fn completion(self, replace: Span) -> Completion {
        Completion {
            insert: self.label.clone(),
            label: self.label,
            kind: self.kind,
            detail: self.detail,
            documentation: None,
            replace,
        }
    }
}

/// Completions inside a string literal: the values its argument expects.
fn in_string(
    analysis: &Analysis,
    file: &str,
    cursor: &Cursor,
    calls: &[Call],
    string: usize,
) -> Vec<Completion> {
    let Some(call) = calls.first() else {
        return Vec::new();
    };
    let Some(info) = analysis.builtin(&call.callee) else {
        return Vec::new();
    };
    let Some(expect) = param_of(info, call, call.active).and_then(|p| expected(info, p.name))
    else {
        return Vec::new();
    };
    let contents = string_contents(cursor.text, &cursor.tokens[string]);
    if let Expect::Locator(paths) = expect {
        return locator_paths(analysis, file, cursor, call, info, paths, contents);
    }
    values(analysis, file, cursor, calls, call, expect)
        .into_iter()
        .map(|value| value.completion(contents))
        .collect()
}

/// Service names, port ids or flake outputs (locators need the typed text: see
/// [`locator_paths`]).
fn values(
    analysis: &Analysis,
    file: &str,
    cursor: &Cursor,
    calls: &[Call],
    call: &Call,
    expect: Expect,
) -> Vec<Value> {
    match expect {
        Expect::ServiceName => analysis
            .services()
            .into_iter()
            .map(|(name, config, at)| Value {
                label: name.to_owned(),
                kind: CompletionKind::Service,
                detail: Some(format!("image {}, added at {at}", config.image)),
            })
            .collect(),
        Expect::PortId => {
            let scope = analysis.service_in_scope(cursor, calls);
            analysis
                .services()
                .into_iter()
                .filter(|(name, _, _)| scope.as_deref().is_none_or(|scope| scope == *name))
                .flat_map(|(name, config, _)| {
                    config.ports.iter().map(move |(id, port)| Value {
                        label: id.clone(),
                        kind: CompletionKind::Port,
                        detail: Some(format!(
                            "port {}/{} of `{name}`",
                            port.number,
                            port.transport_protocol.to_lowercase()
                        )),
                    })
                })
                .collect()
        }
        Expect::FlakeOutput => flake_outputs(analysis, file, cursor, call),
        Expect::Locator(_) => Vec::new(),
    }
}

/// The outputs of the flake a `NixBuildSpec` names: the short names Nix finds for the plan's
/// system first (`app` for `packages.x86_64-linux.app`), then every attribute path.
fn flake_outputs(analysis: &Analysis, file: &str, cursor: &Cursor, call: &Call) -> Vec<Value> {
    let Some((dir, flake_file)) = analysis.flake_of(file, cursor, call) else {
        return Vec::new();
    };
    let Some(mut flake) = analysis.read_flake(&dir, &flake_file) else {
        return Vec::new();
    };
    let Some(summary) = flake.summary() else {
        return Vec::new();
    };
    let system = &analysis.result.plan.system;
    let mut short: Vec<Value> = Vec::new();
    for output in &summary.outputs {
        for top in ["packages", "legacyPackages"] {
            if let Some(name) = output
                .strip_prefix(top)
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| rest.strip_prefix(system.as_str()))
                .and_then(|rest| rest.strip_prefix('.'))
                && !short.iter().any(|value| value.label == name)
            {
                short.push(Value {
                    label: name.to_owned(),
                    kind: CompletionKind::FlakeOutput,
                    detail: Some(output.clone()),
                });
            }
        }
    }
    let full = summary.outputs.iter().map(|output| Value {
        label: output.clone(),
        kind: CompletionKind::FlakeOutput,
        detail: Some(format!("in `{flake_file}`")),
    });
    short.into_iter().chain(full).collect()
}

/// Files and folders for a locator, from the folder typed so far: relative to the calling
/// file, `/`-rooted at the repository, `flake_location_dir` relative to `build_context_dir`.
fn locator_paths(
    analysis: &Analysis,
    file: &str,
    cursor: &Cursor,
    call: &Call,
    info: &BuiltinInfo,
    paths: Paths,
    contents: Span,
) -> Vec<Completion> {
    let Some(typed) = cursor
        .text
        .get(contents.start as usize..cursor.offset as usize)
    else {
        return Vec::new();
    };
    let folder_part = typed.rfind('/').map_or("", |slash| &typed[..=slash]);
    let folder = match paths {
        Paths::FlakeFolder => analysis
            .string_arg(cursor, info, call, "build_context_dir")
            .and_then(|context| analysis.resolve(file, &context))
            .map(|context| join(&context, folder_part.trim_start_matches('/'))),
        _ if folder_part.is_empty() => analysis.resolve(file, "."),
        _ => analysis.resolve(file, folder_part),
    };
    let Some(folder) = folder else {
        return Vec::new();
    };
    // Replace the path segment the cursor is in, up to the next `/` or the closing quote.
    let segment_start = contents.start + folder_part.len() as u32;
    let rest = cursor
        .text
        .get(cursor.offset as usize..contents.end as usize)
        .unwrap_or("");
    let segment_end = cursor.offset + rest.find('/').unwrap_or(rest.len()) as u32;
    let replace = Span::new(segment_start, segment_end);
    let folders_only = matches!(paths, Paths::Folder | Paths::FlakeFolder);
    analysis
        .source
        .list(&folder)
        .into_iter()
        .filter(|name| !name.starts_with('.'))
        .filter_map(|name| {
            let kind = analysis.entry_kind(&join(&folder, &name))?;
            let wanted = match (kind, paths) {
                (EntryKind::Dir, _) => true,
                (EntryKind::File, Paths::Module) => name.ends_with(".star"),
                (EntryKind::File, Paths::File | Paths::FileOrFolder) => true,
                (EntryKind::File, _) => false,
            };
            wanted.then(|| {
                let is_dir = kind == EntryKind::Dir;
                Completion {
                    insert: if is_dir && !folders_only {
                        format!("{name}/")
                    } else {
                        name.clone()
                    },
                    label: name,
                    kind: if is_dir {
                        CompletionKind::Folder
                    } else {
                        CompletionKind::File
                    },
                    detail: None,
                    documentation: None,
                    replace,
                }
            })
        })
        .collect()
}

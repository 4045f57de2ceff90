//! Builtins, parameters, definitions and plan images as Markdown, shared by hover, completion
//! and signature help. Empty documentation fields are left out rather than shown empty.

use std::fmt::Write;

use super::outline::Item;
use crate::builtins::{BuiltinInfo, ParamInfo};
use crate::plan::{Image, ImageSource, describe_flake, shell_words};
use crate::text::Span;

/// `plan.add_service(name: str, config: ServiceConfig, ...) -> Service`, with the byte span of
/// every parameter in it.
pub(crate) fn signature(info: &BuiltinInfo) -> (String, Vec<Span>) {
    let mut label = format!("{}(", info.qualified_name());
    let mut spans = Vec::new();
    if info.variadic {
        label.push_str("*args");
    }
    for (index, param) in info.params.iter().enumerate() {
        if index > 0 {
            label.push_str(", ");
        }
        let start = label.len() as u32;
        label.push_str(&param_label(param));
        spans.push(Span::new(start, label.len() as u32));
    }
    label.push(')');
    if !info.returns.is_empty() {
        let _ = write!(label, " -> {}", info.returns);
    }
    (label, spans)
}

/// `name: str`, `force_update: bool = False` or `wait: str = …` for an optional argument whose
/// default is not a value.
pub(crate) fn param_label(param: &ParamInfo) -> String {
    let mut label = param.name.to_owned();
    if !param.ty.is_empty() {
        let _ = write!(label, ": {}", param.ty);
    }
    match (param.required, param.default) {
        (true, _) => {}
        (false, Some(default)) => {
            let _ = write!(label, " = {default}");
        }
        (false, None) => label.push_str(" = …"),
    }
    label
}

/// The whole builtin: signature, documentation, then every argument.
pub(crate) fn builtin(info: &BuiltinInfo) -> String {
    let mut out = format!("```python\n{}\n```\n", signature(info).0);
    if !info.doc.is_empty() {
        let _ = write!(out, "\n{}\n", info.doc);
    }
    let params: Vec<&ParamInfo> = info.params.iter().collect();
    if !params.is_empty() {
        out.push_str("\n**Arguments**\n\n");
        for param in params {
            let _ = write!(out, "- {}", param_summary(param));
            if !param.doc.is_empty() {
                let _ = write!(out, ": {}", param.doc);
            }
            out.push('\n');
        }
    }
    out
}

/// One argument of a builtin, for hovering its keyword.
pub(crate) fn param(info: &BuiltinInfo, param: &ParamInfo) -> String {
    let mut out = format!(
        "```python\n{}\n```\nArgument of `{}`: {}.\n",
        param_label(param),
        info.qualified_name(),
        requirement(param)
    );
    if !param.doc.is_empty() {
        let _ = write!(out, "\n{}\n", param.doc);
    }
    out
}

/// `` `name` `str`, required `` for argument lists.
fn param_summary(param: &ParamInfo) -> String {
    let mut summary = format!("`{}`", param.name);
    if !param.ty.is_empty() {
        let _ = write!(summary, " `{}`", param.ty);
    }
    let _ = write!(summary, ", {}", requirement(param));
    summary
}

fn requirement(param: &ParamInfo) -> String {
    match (param.required, param.default) {
        (true, _) => "required".to_owned(),
        (false, Some(default)) => format!("optional, default `{default}`"),
        (false, None) => "optional".to_owned(),
    }
}

/// A function or value defined in a Starlark file, with where.
pub(crate) fn item(item: &Item, file: &str) -> String {
    let mut out = format!("```python\n{}\n```\n", item.signature());
    if let Some(doc) = item.docstring() {
        let _ = write!(out, "\n{doc}\n");
    }
    let _ = write!(out, "\nDefined in `{file}`.\n");
    out
}

/// What the plan does with the image a `NixBuildSpec` call gives: the flake reference, the
/// attributes Nix tries, what the flake offers and the exact command.
pub(crate) fn nix_image(image: &Image) -> String {
    let ImageSource::Nix(build) = &image.source else {
        return String::new();
    };
    let mut out = format!("**In the plan**: image `{}`\n\n", image.name);
    let _ = writeln!(out, "- flake reference `{}`", build.installable);
    if !build.attribute_candidates.is_empty() {
        let tried: Vec<String> = build
            .attribute_candidates
            .iter()
            .map(|path| format!("`{path}`"))
            .collect();
        let _ = writeln!(out, "- Nix tries {}", tried.join(", then "));
    }
    if let Some(flake) = &build.flake {
        let _ = writeln!(out, "- {}", describe_flake(flake));
    }
    let _ = write!(out, "\n```sh\n{}\n```\n", shell_words(&build.command));
    out
}

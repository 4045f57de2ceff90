//! `kurtosis.yml`: the package's name and its dependency replacements.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::locator::parse_github_locator;
use crate::diagnostic::{Diagnostic, Rule};
use crate::text::Span;

pub const MANIFEST_FILE: &str = "kurtosis.yml";

/// The parts of `kurtosis.yml` that matter for checking.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// `github.com/<org>/<repo>[/path]`, without a trailing slash.
    pub name: String,
    pub description: Option<String>,
    /// Locator prefix → replacement (a locator, possibly with `@ref`, or a local path).
    pub replace: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawManifest {
    name: Option<serde_yaml_ng::Value>,
    description: Option<serde_yaml_ng::Value>,
    replace: Option<BTreeMap<String, String>>,
}

/// Parses `kurtosis.yml`; problems become diagnostics, and a usable manifest comes back
/// whenever the name could be read.
pub fn parse_manifest(text: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<Manifest> {
    if let Some((offset, problem)) = crate::limits::config_text_problem(text) {
        diagnostics.push(
            Diagnostic::new(
                Rule::PackageManifest,
                MANIFEST_FILE,
                Span::new(offset as u32, offset as u32),
                format!("`kurtosis.yml` is not read: {problem}"),
            )
            .with_help(
                "`kurtosis.yml` needs only the package `name`, and `replace` for dependencies",
            ),
        );
        return None;
    }
    let raw: RawManifest = match serde_yaml_ng::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            let offset = error
                .location()
                .map_or(0, |location| location.index() as u32)
                .min(text.len() as u32);
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            diagnostics.push(
                Diagnostic::new(
                    Rule::PackageManifest,
                    MANIFEST_FILE,
                    Span::new(offset, offset),
                    format!("`kurtosis.yml` is not valid: {message}"),
                )
                .with_help(
                    "`kurtosis.yml` is a YAML mapping such as `name: github.com/my-org/my-package`",
                ),
            );
            return None;
        }
    };
    let name_span = key_span(text, "name");
    let name = match raw.name {
        Some(serde_yaml_ng::Value::String(name)) => name,
        Some(other) if !matches!(other, serde_yaml_ng::Value::Null) => {
            diagnostics.push(
                Diagnostic::new(
                    Rule::PackageName,
                    MANIFEST_FILE,
                    name_span,
                    "the package `name` must be a string",
                )
                .with_help("write it as `name: github.com/<org>/<repo>`"),
            );
            return None;
        }
        _ => {
            diagnostics.push(
                Diagnostic::new(
                    Rule::PackageName,
                    MANIFEST_FILE,
                    name_span,
                    "`kurtosis.yml` has no package `name`",
                )
                .with_help(
                    "add a line `name: github.com/<org>/<repo>` naming where the package lives",
                ),
            );
            return None;
        }
    };
    let name = name.trim().trim_end_matches('/').to_owned();
    if let Err(problem) = parse_github_locator(&name) {
        diagnostics.push(
            Diagnostic::new(
                Rule::PackageName,
                MANIFEST_FILE,
                name_span,
                format!("the package name `{name}` is not a valid package locator: {problem}"),
            )
            .with_help(
                "Kurtosis package names have the form `github.com/<org>/<repo>[/path/to/package]`",
            ),
        );
        return None;
    }
    let description = raw.description.and_then(|value| match value {
        serde_yaml_ng::Value::String(text) => Some(text),
        _ => None,
    });
    Some(Manifest {
        name,
        description,
        replace: raw.replace.unwrap_or_default(),
    })
}

/// The span of the value after `key:` on a top-level line, or the start of the file.
pub(crate) fn key_span(text: &str, key: &str) -> Span {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
        {
            let value = rest.trim();
            if !value.is_empty() {
                let start = offset + key.len() + 1 + rest.find(value).unwrap_or(0);
                return Span::new(start as u32, (start + value.len()) as u32);
            }
            return Span::new(offset as u32, (offset + key.len()) as u32);
        }
        offset += line.len();
    }
    Span::new(0, 0)
}

/// The span of the value of the `replace:` entry for `replaced`, or of `replace` itself.
pub fn replace_entry_span(text: &str, replaced: &str) -> Span {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let entry = line.trim_start().trim_start_matches(['"', '\'']);
        if let Some(rest) = entry.strip_prefix(replaced)
            && let Some(value) = rest.trim_start_matches(['"', '\'', '/']).strip_prefix(':')
        {
            let value = value.trim();
            let start = offset + line.find(value).unwrap_or(0);
            return Span::new(start as u32, (start + value.len()) as u32);
        }
        offset += line.len();
    }
    key_span(text, "replace")
}

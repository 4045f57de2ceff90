//! Renderers: rustc-style terminal text and the JSON shape other tools rely on.

use annotate_snippets::{Level, Renderer, Snippet};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::files::SourceFiles;
use crate::text::{PositionEncoding, Range};

/// One diagnostic in the `--format json` shape (and the wasm module's `check`).
#[derive(Clone, Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub range: Range,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<JsonLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<JsonFix>,
}

/// An edit that fixes the diagnostic, in its file.
#[derive(Clone, Debug, Serialize)]
pub struct JsonFix {
    pub title: String,
    pub range: Range,
    pub replacement: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub range: Range,
    pub message: String,
}

pub fn to_json_diagnostics(
    diagnostics: &[Diagnostic],
    files: &SourceFiles,
    encoding: PositionEncoding,
) -> Vec<JsonDiagnostic> {
    diagnostics
        .iter()
        .map(|diagnostic| JsonDiagnostic {
            code: diagnostic.rule.code(),
            name: diagnostic.rule.name(),
            severity: diagnostic.severity,
            message: diagnostic.message.clone(),
            file: diagnostic.file.clone(),
            range: files.range(&diagnostic.file, diagnostic.span, encoding),
            labels: diagnostic
                .labels
                .iter()
                .map(|label| JsonLabel {
                    file: label.file.clone(),
                    range: files.range(&label.file, label.span, encoding),
                    message: label.message.clone(),
                })
                .collect(),
            help: diagnostic.help.clone(),
            fix: diagnostic.fix.as_ref().map(|fix| JsonFix {
                title: fix.title.clone(),
                range: files.range(&diagnostic.file, fix.span, encoding),
                replacement: fix.replacement.clone(),
            }),
        })
        .collect()
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Info => Level::Info,
        Severity::Hint => Level::Note,
    }
}

/// rustc-style text for every diagnostic, followed by a one-line summary.
pub fn render_human(diagnostics: &[Diagnostic], files: &SourceFiles, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for diagnostic in diagnostics {
        let code = diagnostic.rule.code();
        let mut message = level(diagnostic.severity)
            .title(&diagnostic.message)
            .id(code);
        let mut snippets: Vec<(String, Snippet)> = Vec::new();
        match files.get(&diagnostic.file) {
            Some(file) => {
                let span = clamp(diagnostic.span.range(), &file.text);
                snippets.push((
                    diagnostic.file.clone(),
                    Snippet::source(&file.text)
                        .origin(&diagnostic.file)
                        .fold(true)
                        .annotation(level(diagnostic.severity).span(span)),
                ));
            }
            None => message = message.footer(Level::Note.title(&diagnostic.file)),
        }
        for label in &diagnostic.labels {
            let Some(file) = files.get(&label.file) else {
                continue;
            };
            let span = clamp(label.span.range(), &file.text);
            let annotation = Level::Info.span(span).label(&label.message);
            match snippets.iter_mut().find(|(path, _)| *path == label.file) {
                Some((_, snippet)) => {
                    let taken = std::mem::replace(snippet, Snippet::source(""));
                    *snippet = taken.annotation(annotation);
                }
                None => snippets.push((
                    label.file.clone(),
                    Snippet::source(&file.text)
                        .origin(&label.file)
                        .fold(true)
                        .annotation(annotation),
                )),
            }
        }
        for (_, snippet) in snippets {
            message = message.snippet(snippet);
        }
        if let Some(help) = &diagnostic.help {
            message = message.footer(Level::Help.title(help));
        }
        out.push_str(&renderer.render(message).to_string());
        out.push_str("\n\n");
    }
    out.push_str(&summary(diagnostics));
    out.push('\n');
    out
}

fn clamp(range: std::ops::Range<usize>, text: &str) -> std::ops::Range<usize> {
    let end = range.end.min(text.len());
    range.start.min(end)..end
}

/// "2 errors, 1 warning" or "no problems found".
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let parts: Vec<String> = [
        (count(Severity::Error), "error"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Info), "info"),
        (count(Severity::Hint), "hint"),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, word)| match (n, word) {
        (1, _) | (_, "info") => format!("{n} {word}"),
        _ => format!("{n} {word}s"),
    })
    .collect();
    if parts.is_empty() {
        "no problems found".to_owned()
    } else {
        parts.join(", ")
    }
}

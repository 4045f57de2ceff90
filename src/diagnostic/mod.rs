//! One diagnostic model, rendered as terminal text, JSON, LSP or in the playground.

mod render;
mod rules;

pub use render::{JsonDiagnostic, JsonFix, JsonLabel, render_human, summary, to_json_diagnostics};
pub use rules::{RULES_DOC, Rule, RuleInfo, rules_doc, rules_markdown};

use serde::{Deserialize, Serialize};

use crate::text::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    Hint,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Hint => "hint",
        }
    }
}

/// A secondary place that explains a diagnostic ("first defined here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub file: String,
    pub span: Span,
    pub message: String,
}

/// An edit that fixes a diagnostic: `replacement` written over `span` of the diagnostic's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the edit does, as an editor offers it ("Change `env_var` to `env_vars`").
    pub title: String,
    pub span: Span,
    pub replacement: String,
}

/// One finding, in byte offsets; positions are computed when it is rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
    /// Path relative to the package root, `/`-separated.
    pub file: String,
    pub span: Span,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Set where the help names the one replacement that fixes the problem.
    pub fix: Option<Fix>,
}

/// The most characters of a message, help or label a diagnostic shows: one that quotes a value
/// (a `fail` message, an image name, an argument) could otherwise be megabytes of text.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Cuts `text` to its first `most` characters, saying how long it was.
pub(crate) fn shorten(text: &mut String, most: usize) {
    if let Some((cut, _)) = text.char_indices().nth(most) {
        let chars = text.chars().count();
        text.truncate(cut);
        text.push_str(&format!(" … ({chars} characters in all)"));
    }
}

fn shortened(text: impl Into<String>) -> String {
    let mut text = text.into();
    shorten(&mut text, MAX_TEXT_CHARS);
    text
}

impl Diagnostic {
    /// A diagnostic with the rule's default severity.
    pub fn new(
        rule: Rule,
        file: impl Into<String>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            rule,
            severity: rule.info().severity,
            message: shortened(message),
            file: file.into(),
            span,
            labels: Vec::new(),
            help: None,
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(shortened(help));
        self
    }

    pub fn with_label(
        mut self,
        file: impl Into<String>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        self.labels.push(Label {
            file: file.into(),
            span,
            message: shortened(message),
        });
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into a stable order and drops exact repeats (a function called twice
/// reports the same problem twice).
pub fn normalize(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (
            a.file.as_str(),
            a.span.start,
            a.span.end,
            a.rule.code(),
            &a.message,
        )
            .cmp(&(
                b.file.as_str(),
                b.span.start,
                b.span.end,
                b.rule.code(),
                &b.message,
            ))
    });
    diagnostics.dedup();
}

impl Fix {
    /// `written` (a name) replaced by `suggestion`.
    pub fn rename(written: &str, span: Span, suggestion: &str) -> Fix {
        Fix {
            title: format!("Change `{written}` to `{suggestion}`"),
            span,
            replacement: suggestion.to_owned(),
        }
    }

    /// The string literal written at `span` of `text` replaced by `value` in the same quotes;
    /// `None` when no plain literal is written there (a variable, an expression, escapes).
    pub fn replace_literal(text: &str, span: Span, value: &str) -> Option<Fix> {
        let written = text.get(span.range())?;
        let quote = written.chars().next().filter(|c| matches!(c, '"' | '\''))?;
        let inner = written.strip_prefix(quote)?.strip_suffix(quote)?;
        if inner.contains([quote, '\\']) || value.contains([quote, '\\', '\n']) {
            return None;
        }
        Some(Fix {
            title: format!("Change {written} to {quote}{value}{quote}"),
            span,
            replacement: format!("{quote}{value}{quote}"),
        })
    }
}

/// "did you mean `x`?" for a misspelt name, when one candidate is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

//! The one diagnostic model as LSP diagnostics, positioned in the negotiated encoding.

use std::str::FromStr;

use lsp_types::{DiagnosticSeverity, Uri};

use super::messages::{self, CodeDescription, DiagnosticRelatedInformation, Location};

use crate::diagnostic::{Diagnostic, Severity};
use crate::files::SourceFiles;
use crate::text::{PositionEncoding, Range, Span};

/// What the checker read, to position spans and name files.
pub(crate) struct Positions<'a> {
    pub files: &'a SourceFiles,
    pub encoding: PositionEncoding,
    /// The URI of a file the checker names (relative to the package root).
    pub uri_of: &'a dyn Fn(&str) -> Option<Uri>,
}

impl Positions<'_> {
    pub fn range(&self, file: &str, span: Span) -> messages::Range {
        lsp_range(self.files.range(file, span, self.encoding))
    }
}

pub(crate) fn lsp_range(range: Range) -> messages::Range {
    let position = |position: crate::text::Position| messages::Position {
        line: position.line,
        character: position.character,
    };
    messages::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub(crate) fn to_lsp(diagnostic: &Diagnostic, positions: &Positions) -> messages::Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .labels
        .iter()
        .filter_map(|label| {
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: (positions.uri_of)(&label.file)?,
                    range: positions.range(&label.file, label.span),
                },
                message: label.message.clone(),
            })
        })
        .collect();
    // LSP has no place for a help: it goes below the message, as the terminal shows it.
    let message = match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    messages::Diagnostic {
        range: positions.range(&diagnostic.file, diagnostic.span),
        severity: match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
            Severity::Hint => DiagnosticSeverity::HINT,
        },
        code: diagnostic.rule.code().to_owned(),
        code_description: Uri::from_str(&diagnostic.rule.documentation_url())
            .ok()
            .map(|href| CodeDescription { href }),
        source: "starflake",
        message,
        related_information: (!related.is_empty()).then_some(related),
    }
}

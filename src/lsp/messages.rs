//! The LSP messages the server reads and writes, with only the fields it uses.
//!
//! lsp-types' structs carry every field of the protocol (`InitializeParams` alone is a tree of
//! hundreds of capability types), and their serde code was most of the server's share of the
//! WebAssembly module. These hold what the server reads (unknown fields are ignored, as
//! before) and what it sends (the same JSON lsp-types wrote). lsp-types still gives the `Uri`,
//! which checks URIs, the numbered kinds (plain integers in JSON) and the method names.

use lsp_types::{CompletionItemKind, DiagnosticSeverity, SymbolKind, Uri};
use serde::{Deserialize, Serialize};

// ------------------------------------------------------------------------------- both ways

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
pub(crate) struct Position {
    pub line: u32,
    pub character: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
pub(crate) struct Range {
    pub start: Position,
    pub end: Position,
}

#[derive(Deserialize)]
pub(crate) struct TextDocumentIdentifier {
    pub uri: Uri,
}

// ------------------------------------------------------------------------------- read

#[derive(Deserialize)]
pub(crate) struct InitializeParams {
    pub capabilities: ClientCapabilities,
}

#[derive(Deserialize)]
pub(crate) struct ClientCapabilities {
    pub general: Option<GeneralClientCapabilities>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GeneralClientCapabilities {
    pub position_encodings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DidOpenTextDocumentParams {
    pub text_document: TextDocumentItem,
}

#[derive(Deserialize)]
pub(crate) struct TextDocumentItem {
    pub uri: Uri,
    pub version: i32,
    pub text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DidChangeTextDocumentParams {
    pub text_document: VersionedTextDocumentIdentifier,
    pub content_changes: Vec<TextDocumentContentChangeEvent>,
}

#[derive(Deserialize)]
pub(crate) struct VersionedTextDocumentIdentifier {
    pub uri: Uri,
    pub version: i32,
}

#[derive(Deserialize)]
pub(crate) struct TextDocumentContentChangeEvent {
    pub range: Option<Range>,
    pub text: String,
}

/// `didClose`, and `documentSymbol`: a document and nothing else.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TextDocumentParams {
    pub text_document: TextDocumentIdentifier,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CodeActionParams {
    pub text_document: TextDocumentIdentifier,
    pub range: Range,
    pub context: CodeActionContext,
}

/// The diagnostics the client sends back are not read: the server knows what it published.
#[derive(Deserialize)]
pub(crate) struct CodeActionContext {
    pub only: Option<Vec<String>>,
}

/// Hover, completion, signature help and definition: a position in a document.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TextDocumentPositionParams {
    pub text_document: TextDocumentIdentifier,
    pub position: Position,
}

// ------------------------------------------------------------------------------- written

#[derive(Clone, PartialEq, Serialize)]
pub(crate) struct Location {
    pub uri: Uri,
    pub range: Range,
}

#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TextEdit {
    pub range: Range,
    pub new_text: String,
}

#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Diagnostic {
    pub range: Range,
    pub severity: DiagnosticSeverity,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_description: Option<CodeDescription>,
    pub source: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_information: Option<Vec<DiagnosticRelatedInformation>>,
}

#[derive(Clone, PartialEq, Serialize)]
pub(crate) struct CodeDescription {
    pub href: Uri,
}

#[derive(Clone, PartialEq, Serialize)]
pub(crate) struct DiagnosticRelatedInformation {
    pub location: Location,
    pub message: String,
}

#[derive(Serialize)]
pub(crate) struct PublishDiagnosticsParams {
    pub uri: Uri,
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// A quick fix.
#[derive(PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CodeAction {
    pub title: String,
    pub kind: &'static str,
    pub diagnostics: Vec<Diagnostic>,
    pub edit: WorkspaceEdit,
    pub is_preferred: bool,
}

pub(crate) const QUICKFIX: &str = "quickfix";

#[derive(PartialEq, Serialize)]
pub(crate) struct WorkspaceEdit {
    /// Edits by document URI.
    pub changes: std::collections::BTreeMap<String, Vec<TextEdit>>,
}

/// Markdown, the one kind of documentation the server writes.
#[derive(Serialize)]
pub(crate) struct MarkupContent {
    pub kind: &'static str,
    pub value: String,
}

impl MarkupContent {
    pub fn markdown(value: String) -> MarkupContent {
        MarkupContent {
            kind: "markdown",
            value,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Hover {
    pub contents: MarkupContent,
    pub range: Range,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletionItem {
    pub label: String,
    pub kind: CompletionItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<MarkupContent>,
    pub text_edit: TextEdit,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignatureHelp {
    pub signatures: Vec<SignatureInformation>,
    pub active_signature: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_parameter: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignatureInformation {
    pub label: String,
    pub documentation: MarkupContent,
    pub parameters: Vec<ParameterInformation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_parameter: Option<u32>,
}

#[derive(Serialize)]
pub(crate) struct ParameterInformation {
    /// Where the parameter is in the signature's label: start and end, counted like positions.
    pub label: [u32; 2],
    pub documentation: MarkupContent,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentSymbol {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub kind: SymbolKind,
    pub range: Range,
    pub selection_range: Range,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<DocumentSymbol>>,
}

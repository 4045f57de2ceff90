//! Hover, completion, signature help, go to definition and document symbols: the answers of
//! [`crate::ide`], over byte offsets, converted to LSP positions here at the edge.

use lsp_types::{CompletionItemKind, SymbolKind, Uri};

use super::diagnostics::lsp_range;
use super::messages::{
    CompletionItem, DocumentSymbol, Hover, Location, MarkupContent, ParameterInformation, Position,
    Range, SignatureHelp, SignatureInformation, TextDocumentParams, TextDocumentPositionParams,
    TextEdit,
};
use super::workspace::{PackageSource, absolute_in};
use super::{Server, uri};
use crate::check::CheckResult;
use crate::ide::{self, Analysis, CompletionKind};
use crate::source::SourceProvider;
use crate::text::{LineIndex, PositionEncoding, Span};

/// One file's text with its line index, to turn LSP positions into byte offsets and back.
struct FileText {
    text: String,
    index: LineIndex,
    encoding: PositionEncoding,
}

impl FileText {
    fn new(text: String, encoding: PositionEncoding) -> Self {
        FileText {
            index: LineIndex::new(&text),
            text,
            encoding,
        }
    }

    fn offset(&self, position: Position) -> u32 {
        let position = crate::text::Position {
            line: position.line,
            character: position.character,
        };
        self.index.offset(&self.text, position, self.encoding)
    }

    fn range(&self, span: Span) -> Range {
        lsp_range(self.index.range(&self.text, span, self.encoding))
    }
}

/// A question about one open file: its package, as the last check saw it, and its text now.
struct Asked<'a> {
    server: &'a Server,
    root: &'a str,
    source: PackageSource<'a>,
    result: &'a CheckResult,
    /// The file, relative to the package root, as the IDE layer names files.
    file: String,
    text: FileText,
    encoding: PositionEncoding,
}

impl Asked<'_> {
    fn analysis(&self) -> Analysis<'_> {
        Analysis::new(&self.source, self.result)
    }

    /// The place of a span in another file of the package.
    fn location(&self, file: &str, span: Span) -> Option<Location> {
        let text = FileText::new(self.source.read(file).ok()?, self.encoding);
        Some(Location {
            uri: self.server.uri_of(&absolute_in(self.root, file))?,
            range: text.range(span),
        })
    }
}

impl Server {
    /// The file a request is about, if it belongs to a checked package.
    fn asked(&self, uri: &Uri) -> Option<Asked<'_>> {
        let path = uri::path_of(uri.as_str())?;
        let (root, package) = self.packages.get_key_value(&self.root_of(&path)?)?;
        let result = package.result.as_ref()?;
        let source = PackageSource {
            root,
            documents: &self.documents,
            files: self.files.as_ref(),
        };
        let file = relative_to(root, &path);
        let text = FileText::new(source.read(&file).ok()?, self.encoding);
        Some(Asked {
            server: self,
            root,
            source,
            result,
            file,
            text,
            encoding: self.encoding,
        })
    }

    /// The file and byte offset a position names.
    fn at(&self, position: &TextDocumentPositionParams) -> Option<(Asked<'_>, u32)> {
        let asked = self.asked(&position.text_document.uri)?;
        let offset = asked.text.offset(position.position);
        Some((asked, offset))
    }

    pub(super) fn hover(&self, params: TextDocumentPositionParams) -> Option<Hover> {
        let (asked, offset) = self.at(&params)?;
        let hover = asked.analysis().hover(&asked.file, offset)?;
        Some(Hover {
            contents: MarkupContent::markdown(hover.markdown),
            range: asked.text.range(hover.span),
        })
    }

    pub(super) fn completion(&self, params: TextDocumentPositionParams) -> Vec<CompletionItem> {
        let Some((asked, offset)) = self.at(&params) else {
            return Vec::new();
        };
        let completions = asked.analysis().completions(&asked.file, offset);
        completions
            .into_iter()
            .map(|completion| CompletionItem {
                kind: completion_kind(completion.kind),
                detail: completion.detail,
                documentation: completion.documentation.map(MarkupContent::markdown),
                text_edit: TextEdit {
                    range: asked.text.range(completion.replace),
                    new_text: completion.insert,
                },
                label: completion.label,
            })
            .collect()
    }

    pub(super) fn signature_help(
        &self,
        params: TextDocumentPositionParams,
    ) -> Option<SignatureHelp> {
        let (asked, offset) = self.at(&params)?;
        let help = asked.analysis().signature_help(&asked.file, offset)?;
        // Parameter labels are offsets into the signature label, counted like positions.
        let count = |end: u32| {
            let prefix = help.label.get(..end as usize).unwrap_or(&help.label);
            match self.encoding {
                PositionEncoding::Utf8 => prefix.len() as u32,
                PositionEncoding::Utf16 => prefix.encode_utf16().count() as u32,
                PositionEncoding::Utf32 => prefix.chars().count() as u32,
            }
        };
        let parameters = help
            .params
            .iter()
            .map(|param| ParameterInformation {
                label: [count(param.label.start), count(param.label.end)],
                documentation: MarkupContent::markdown(param.documentation.clone()),
            })
            .collect();
        let active = help.active_param.map(|index| index as u32);
        Some(SignatureHelp {
            signatures: vec![SignatureInformation {
                label: help.label.clone(),
                documentation: MarkupContent::markdown(help.documentation),
                parameters,
                active_parameter: active,
            }],
            active_signature: 0,
            active_parameter: active,
        })
    }

    pub(super) fn definition(&self, params: TextDocumentPositionParams) -> Vec<Location> {
        let Some((asked, offset)) = self.at(&params) else {
            return Vec::new();
        };
        let targets = asked.analysis().definition(&asked.file, offset);
        targets
            .iter()
            .filter_map(|target| asked.location(&target.file, target.span))
            .collect()
    }

    pub(super) fn document_symbols(&self, params: TextDocumentParams) -> Vec<DocumentSymbol> {
        let Some(asked) = self.asked(&params.text_document.uri) else {
            return Vec::new();
        };
        let symbols = asked.analysis().document_symbols(&asked.file);
        symbols
            .into_iter()
            .map(|symbol| document_symbol(symbol, &asked.text))
            .collect()
    }
}

/// `path` relative to the package root `root`, as the checker names package files.
fn relative_to(root: &str, path: &str) -> String {
    let inside = path.strip_prefix(root).unwrap_or(path);
    inside.trim_start_matches('/').to_owned()
}

fn completion_kind(kind: CompletionKind) -> CompletionItemKind {
    match kind {
        CompletionKind::Builtin => CompletionItemKind::CLASS,
        CompletionKind::Instruction => CompletionItemKind::METHOD,
        CompletionKind::Argument => CompletionItemKind::PROPERTY,
        CompletionKind::Function => CompletionItemKind::FUNCTION,
        CompletionKind::Value => CompletionItemKind::VARIABLE,
        CompletionKind::Service => CompletionItemKind::VALUE,
        CompletionKind::Port => CompletionItemKind::ENUM_MEMBER,
        CompletionKind::FlakeOutput => CompletionItemKind::MODULE,
        CompletionKind::File => CompletionItemKind::FILE,
        CompletionKind::Folder => CompletionItemKind::FOLDER,
    }
}

fn document_symbol(symbol: ide::Symbol, text: &FileText) -> DocumentSymbol {
    let children: Vec<DocumentSymbol> = symbol
        .children
        .into_iter()
        .map(|child| document_symbol(child, text))
        .collect();
    DocumentSymbol {
        name: symbol.name,
        detail: symbol.detail,
        kind: match symbol.kind {
            ide::SymbolKind::Function => SymbolKind::FUNCTION,
            ide::SymbolKind::Value => SymbolKind::VARIABLE,
            ide::SymbolKind::Service => SymbolKind::OBJECT,
        },
        range: text.range(symbol.span),
        selection_range: text.range(symbol.selection_span),
        children: (!children.is_empty()).then_some(children),
    }
}

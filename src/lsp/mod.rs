//! The language server core: JSON-RPC messages in, messages out, no I/O and no clock.
//!
//! A transport (`starflake lsp` on stdio, or the wasm module's `LspServer`) feeds every message
//! it receives to [`Server::handle`] and sends what comes back. Re-checks after an edit are
//! deferred: the transport asks [`Server::deferred_after_ms`] and calls [`Server::run_deferred`]
//! once that long has passed without a new message, so a burst of keystrokes costs one check.

mod diagnostics;
mod features;
mod messages;
mod protocol;
pub mod uri;
mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use lsp_types::Uri;
use lsp_types::notification::{self, Notification as _};
use lsp_types::request::{self, Request as _};
use serde_json::{Value, json};

use crate::check::{CheckOptions, CheckResult, check_with};
use crate::eval::CheckCache;
use crate::source::{Entry, EntryKind, ReadError};
use crate::text::{LineIndex, PositionEncoding};
use diagnostics::Positions;
use messages::{
    CodeAction, CodeActionParams, DidChangeTextDocumentParams, DidOpenTextDocumentParams,
    InitializeParams, PublishDiagnosticsParams, QUICKFIX, TextDocumentContentChangeEvent,
    TextDocumentParams, TextEdit, WorkspaceEdit,
};
use protocol::{ErrorCode, Incoming, ResponseError};
use workspace::{Document, Documents, PackageSource, absolute_in, package_root};

/// How long after the last edit a package is checked again.
pub const DEBOUNCE_MS: u32 = 150;

/// Read-only access to the files on disk, by absolute `/`-separated path
/// (`/home/u/pkg/main.star`, `c:/Users/u/pkg/main.star` on Windows).
pub trait WorkspaceFiles {
    fn read(&self, path: &str) -> Result<String, ReadError>;
    /// `leaves_root`: a symlink on the way resolves outside the package holding `path`.
    fn entry(&self, path: &str) -> Option<Entry>;
    /// The names in a folder, with their kinds; empty when it cannot be read.
    fn read_dir(&self, path: &str) -> Vec<(String, EntryKind)>;
    /// What stops one check that runs too long, by the transport's clock (the core has none);
    /// asked once per check.
    fn check_interrupt(&self) -> Option<Box<dyn Fn() -> bool>> {
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    AwaitingInitialize,
    Running,
    ShutDown,
}

/// What was last published for one package, by absolute path of the file.
#[derive(Default)]
struct Package {
    published: BTreeMap<String, Vec<Published>>,
    /// The last check, which editor questions about the package rest on.
    result: Option<CheckResult>,
    /// What the last check kept, so that a re-check parses only what was edited and evaluates
    /// only the modules that changed or import one that did.
    cache: CheckCache,
}

/// A diagnostic as sent, with the quick fix a code action offers for it.
#[derive(Clone, PartialEq)]
struct Published {
    diagnostic: messages::Diagnostic,
    fix: Option<(String, TextEdit)>,
}

pub struct Server {
    files: Box<dyn WorkspaceFiles>,
    lifecycle: Lifecycle,
    exit_code: Option<i32>,
    encoding: PositionEncoding,
    documents: Documents,
    /// Packages with an open file, by root folder.
    packages: BTreeMap<String, Package>,
    /// Packages to check again when the deferred work runs.
    stale: BTreeSet<String>,
    /// The folder of dependency checkouts (`github.com/<org>/<repo>[@<ref>]/`), absolute.
    packages_dir: Option<String>,
}

impl Server {
    pub fn new(files: Box<dyn WorkspaceFiles>) -> Server {
        Server {
            files,
            lifecycle: Lifecycle::AwaitingInitialize,
            exit_code: None,
            encoding: PositionEncoding::Utf16,
            documents: Documents::new(),
            packages: BTreeMap::new(),
            stale: BTreeSet::new(),
            packages_dir: None,
        }
    }

    /// Resolves `github.com/...` dependencies from this folder, as `starflake check --packages`
    /// does (the native server passes the package cache `starflake deps fetch` fills).
    pub fn with_packages_dir(mut self, dir: impl Into<String>) -> Server {
        self.packages_dir = Some(dir.into());
        self
    }

    /// One JSON-RPC message as text; returns the messages to send, as text, in order.
    pub fn handle(&mut self, message: &str) -> Vec<String> {
        let mut out = Vec::new();
        match protocol::parse(message) {
            Err(error) => out.push(protocol::response(Value::Null, Err(error))),
            Ok(Incoming::Request { id, method, params }) => {
                let result = self.request(&method, params);
                out.push(protocol::response(id, result));
            }
            Ok(Incoming::Notification { method, params }) => {
                self.notification(&method, params, &mut out)
            }
            // Replies to requests this server never sends.
            Ok(Incoming::Response) => {}
        }
        out
    }

    /// Milliseconds until deferred work (debounced re-checks) is due, if any is pending.
    pub fn deferred_after_ms(&self) -> Option<u32> {
        (!self.stale.is_empty()).then_some(DEBOUNCE_MS)
    }

    /// Runs the deferred work now; returns the messages to send.
    pub fn run_deferred(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for root in std::mem::take(&mut self.stale) {
            self.check_package(&root, &mut out);
        }
        out
    }

    /// `Some(code)` once `exit` was received (0 after `shutdown`, 1 otherwise).
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, ResponseError> {
        match (self.lifecycle, method) {
            (Lifecycle::AwaitingInitialize, request::Initialize::METHOD) => {
                let result = self.initialize(protocol::params(params)?);
                self.lifecycle = Lifecycle::Running;
                Ok(result)
            }
            (Lifecycle::AwaitingInitialize, _) => Err(ResponseError::new(
                ErrorCode::ServerNotInitialized,
                "the server is not initialized yet: send `initialize` first",
            )),
            (Lifecycle::ShutDown, _) => Err(ResponseError::new(
                ErrorCode::InvalidRequest,
                "the server is shut down: only `exit` is accepted",
            )),
            (Lifecycle::Running, request::Initialize::METHOD) => Err(ResponseError::new(
                ErrorCode::InvalidRequest,
                "the server is already initialized",
            )),
            (Lifecycle::Running, request::Shutdown::METHOD) => {
                self.lifecycle = Lifecycle::ShutDown;
                self.stale.clear();
                Ok(Value::Null)
            }
            (Lifecycle::Running, request::CodeActionRequest::METHOD) => {
                protocol::to_value(self.code_actions(protocol::params(params)?))
            }
            (Lifecycle::Running, request::HoverRequest::METHOD) => {
                protocol::to_value(self.hover(protocol::params(params)?))
            }
            (Lifecycle::Running, request::Completion::METHOD) => {
                protocol::to_value(self.completion(protocol::params(params)?))
            }
            (Lifecycle::Running, request::SignatureHelpRequest::METHOD) => {
                protocol::to_value(self.signature_help(protocol::params(params)?))
            }
            (Lifecycle::Running, request::GotoDefinition::METHOD) => {
                protocol::to_value(self.definition(protocol::params(params)?))
            }
            (Lifecycle::Running, request::DocumentSymbolRequest::METHOD) => {
                protocol::to_value(self.document_symbols(protocol::params(params)?))
            }
            (Lifecycle::Running, _) => Err(ResponseError::new(
                ErrorCode::MethodNotFound,
                format!("`{method}` is not supported"),
            )),
        }
    }

    fn notification(&mut self, method: &str, params: Value, out: &mut Vec<String>) {
        if method == notification::Exit::METHOD {
            self.exit_code = Some(if self.lifecycle == Lifecycle::ShutDown {
                0
            } else {
                1
            });
            return;
        }
        if self.lifecycle != Lifecycle::Running {
            return;
        }
        // A notification cannot be answered: one with bad parameters is dropped.
        match method {
            notification::DidOpenTextDocument::METHOD => {
                if let Ok(params) = protocol::params(params) {
                    self.did_open(params, out);
                }
            }
            notification::DidChangeTextDocument::METHOD => {
                if let Ok(params) = protocol::params(params) {
                    self.did_change(params);
                }
            }
            notification::DidCloseTextDocument::METHOD => {
                if let Ok(params) = protocol::params(params) {
                    self.did_close(params, out);
                }
            }
            // Files changed on disk: whatever was read from there may be out of date.
            notification::DidChangeWatchedFiles::METHOD => {
                self.stale.extend(self.packages.keys().cloned());
            }
            _ => {}
        }
    }

    fn initialize(&mut self, params: InitializeParams) -> Value {
        let offered = params
            .capabilities
            .general
            .and_then(|general| general.position_encodings)
            .unwrap_or_default();
        let (encoding, kind) = if offered.iter().any(|kind| kind == "utf-8") {
            (PositionEncoding::Utf8, "utf-8")
        } else {
            (PositionEncoding::Utf16, "utf-16")
        };
        self.encoding = encoding;
        // `textDocumentSync` 2: incremental changes.
        json!({
            "capabilities": {
                "positionEncoding": kind,
                "textDocumentSync": 2,
                "codeActionProvider": { "codeActionKinds": [QUICKFIX] },
                "hoverProvider": true,
                "completionProvider": { "triggerCharacters": [".", "\"", "/", "("] },
                "signatureHelpProvider": { "triggerCharacters": ["(", ","] },
                "definitionProvider": true,
                "documentSymbolProvider": true,
            },
            "serverInfo": { "name": "starflake", "version": env!("CARGO_PKG_VERSION") },
        })
    }

    fn did_open(&mut self, params: DidOpenTextDocumentParams, out: &mut Vec<String>) {
        let document = params.text_document;
        let Some(path) = uri::path_of(document.uri.as_str()) else {
            return;
        };
        self.documents.insert(
            path.clone(),
            Document {
                uri: document.uri.as_str().to_owned(),
                text: document.text,
                version: document.version,
            },
        );
        let mut published = BTreeSet::new();
        if let Some(root) = package_root(&path, &self.documents, self.files.as_ref()) {
            self.stale.remove(&root);
            published = self.check_package(&root, out);
        }
        // A file just opened gets its list even when it is empty or unchanged, so the client
        // knows it was checked.
        if !published.contains(&path) {
            out.extend(self.publish(&path));
        }
    }

    fn did_change(&mut self, params: DidChangeTextDocumentParams) {
        let Some(path) = uri::path_of(params.text_document.uri.as_str()) else {
            return;
        };
        let Some(document) = self.documents.get_mut(&path) else {
            return;
        };
        for change in params.content_changes {
            apply_change(&mut document.text, change, self.encoding);
        }
        document.version = params.text_document.version;
        if let Some(root) = self.root_of(&path) {
            self.stale.insert(root);
        }
    }

    fn did_close(&mut self, params: TextDocumentParams, out: &mut Vec<String>) {
        let Some(path) = uri::path_of(params.text_document.uri.as_str()) else {
            return;
        };
        let root = self.root_of(&path);
        if self.documents.remove(&path).is_none() {
            return;
        }
        let Some(root) = root else {
            return;
        };
        let still_open = self
            .documents
            .keys()
            .any(|open| self.root_of(open).as_ref() == Some(&root));
        if still_open {
            // The file on disk replaces the buffer.
            self.stale.insert(root);
        } else {
            self.stale.remove(&root);
            if let Some(package) = self.packages.remove(&root) {
                out.extend(
                    package
                        .published
                        .keys()
                        .filter_map(|path| self.publish(path)),
                );
            }
        }
    }

    /// The checked package an open file belongs to.
    fn root_of(&self, path: &str) -> Option<String> {
        self.packages
            .keys()
            .filter(|root| is_inside(path, root))
            .max_by_key(|root| root.len())
            .cloned()
    }

    /// Checks one package and publishes the diagnostics of every file whose list changed,
    /// including an empty list where problems were fixed; returns the files published.
    fn check_package(&mut self, root: &str, out: &mut Vec<String>) -> BTreeSet<String> {
        let source = PackageSource {
            root,
            documents: &self.documents,
            files: self.files.as_ref(),
        };
        let package = self.packages.entry(root.to_owned()).or_default();
        let options = CheckOptions {
            packages_dir: self.packages_dir.clone(),
            interrupt: self.files.check_interrupt(),
            ..CheckOptions::default()
        };
        let result = check_with(&source, &options, &package.cache);
        let uri_of = |file: &str| self.uri_of(&absolute_in(root, file));
        let positions = Positions {
            files: &result.files,
            encoding: self.encoding,
            uri_of: &uri_of,
        };
        let mut published: BTreeMap<String, Vec<Published>> = BTreeMap::new();
        for diagnostic in &result.diagnostics {
            published
                .entry(absolute_in(root, &diagnostic.file))
                .or_default()
                .push(Published {
                    diagnostic: diagnostics::to_lsp(diagnostic, &positions),
                    fix: diagnostic.fix.as_ref().map(|fix| {
                        let edit = TextEdit {
                            range: positions.range(&diagnostic.file, fix.span),
                            new_text: fix.replacement.clone(),
                        };
                        (fix.title.clone(), edit)
                    }),
                });
        }
        let package = self.packages.entry(root.to_owned()).or_default();
        let before = std::mem::replace(&mut package.published, published);
        package.result = Some(result);
        let package = &self.packages[root];
        let changed: BTreeSet<String> = before
            .iter()
            .filter(|(path, old)| package.published.get(*path) != Some(old))
            .map(|(path, _)| path.clone())
            .chain(
                package
                    .published
                    .iter()
                    .filter(|(path, new)| before.get(*path) != Some(new))
                    .map(|(path, _)| path.clone()),
            )
            .collect();
        out.extend(changed.iter().filter_map(|path| self.publish(path)));
        changed
    }

    /// `textDocument/publishDiagnostics` for one file: what every package reports on it.
    fn publish(&self, path: &str) -> Option<String> {
        let mut diagnostics: Vec<messages::Diagnostic> = Vec::new();
        for published in self.published(path) {
            if !diagnostics.contains(&published.diagnostic) {
                diagnostics.push(published.diagnostic.clone());
            }
        }
        let document = self.documents.get(path);
        let params = PublishDiagnosticsParams {
            uri: self.uri_of(path)?,
            diagnostics,
            version: document.map(|document| document.version),
        };
        Some(protocol::notification(
            notification::PublishDiagnostics::METHOD,
            params,
        ))
    }

    /// What every package published for one file.
    fn published(&self, path: &str) -> impl Iterator<Item = &Published> {
        self.packages
            .values()
            .flat_map(move |package| package.published.get(path).into_iter().flatten())
    }

    /// `textDocument/codeAction`: the quick fixes of the diagnostics in the range.
    fn code_actions(&self, params: CodeActionParams) -> Vec<CodeAction> {
        let wants_quick_fixes = params
            .context
            .only
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|kind| QUICKFIX.starts_with(kind.as_str())));
        let Some(path) = uri::path_of(params.text_document.uri.as_str()) else {
            return Vec::new();
        };
        if !wants_quick_fixes {
            return Vec::new();
        }
        let mut actions: Vec<CodeAction> = Vec::new();
        for published in self.published(&path) {
            let Some((title, edit)) = &published.fix else {
                continue;
            };
            if !overlaps(published.diagnostic.range, params.range) {
                continue;
            }
            let action = CodeAction {
                title: title.clone(),
                kind: QUICKFIX,
                diagnostics: vec![published.diagnostic.clone()],
                edit: WorkspaceEdit {
                    changes: [(
                        params.text_document.uri.as_str().to_owned(),
                        vec![edit.clone()],
                    )]
                    .into_iter()
                    .collect(),
                },
                is_preferred: true,
            };
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
        actions
    }

    /// The URI of a file: the client's own spelling if it is open.
    fn uri_of(&self, path: &str) -> Option<Uri> {
        match self.documents.get(path) {
            Some(document) => Uri::from_str(&document.uri).ok(),
            None => Uri::from_str(&uri::uri_of(path)).ok(),
        }
    }
}

/// Applies one content change; a range outside the text is clamped to it.
fn apply_change(
    text: &mut String,
    change: TextDocumentContentChangeEvent,
    encoding: PositionEncoding,
) {
    let Some(range) = change.range else {
        *text = change.text;
        return;
    };
    let index = LineIndex::new(text);
    let offset = |position: messages::Position| {
        index.offset(
            text,
            crate::text::Position {
                line: position.line,
                character: position.character,
            },
            encoding,
        ) as usize
    };
    let (start, end) = (offset(range.start), offset(range.end));
    let (start, end) = (start.min(end), start.max(end));
    text.replace_range(start..end, &change.text);
}

/// Whether two ranges overlap or touch (a cursor at either end of a diagnostic is on it).
fn overlaps(a: messages::Range, b: messages::Range) -> bool {
    let key = |position: messages::Position| (position.line, position.character);
    key(a.start) <= key(b.end) && key(b.start) <= key(a.end)
}

/// Whether `path` is inside the folder `root`.
fn is_inside(path: &str, root: &str) -> bool {
    root == "/"
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

//! The language server's message handler, as an editor drives it: `initialize`, then a run of
//! messages, each either any text at all or a well-formed open, edit, close or question whose
//! text and positions are fuzzed, over a package held in memory.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use starflake::lsp::{Server, WorkspaceFiles};
use starflake::source::{Entry, EntryKind, ReadError};

const ROOT: &str = "/pkg";

/// Enough messages to open, edit and question a few files; more only slows each run.
const MAX_STEPS: usize = 24;

#[derive(Arbitrary, Debug)]
struct Session {
    /// The client offers UTF-8 positions (otherwise the server counts in UTF-16).
    utf8: bool,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    Raw(String),
    Open {
        file: File,
        text: String,
    },
    Replace {
        file: File,
        text: String,
    },
    Edit {
        file: File,
        start: Position,
        end: Position,
        text: String,
    },
    Close {
        file: File,
    },
    Ask {
        question: Question,
        file: File,
        at: Position,
    },
    FilesChanged,
    Deferred,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum File {
    Main,
    Library,
    Manifest,
    Flake,
    OutsidePackage,
}

impl File {
    fn uri(self) -> &'static str {
        match self {
            File::Main => "file:///pkg/main.star",
            File::Library => "file:///pkg/lib/util.star",
            File::Manifest => "file:///pkg/kurtosis.yml",
            File::Flake => "file:///pkg/flake.nix",
            File::OutsidePackage => "file:///elsewhere/loose.star",
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Position {
    line: u32,
    character: u32,
}

impl Position {
    fn to_json(self) -> Value {
        json!({ "line": self.line, "character": self.character })
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Question {
    Hover,
    Completion,
    SignatureHelp,
    Definition,
    Symbols,
    CodeAction,
}

/// The package on disk: what a file not open in the editor reads as.
struct MemoryFiles(BTreeMap<String, String>);

impl MemoryFiles {
    fn package() -> Self {
        let files = [
            ("kurtosis.yml", "name: github.com/fuzz/lsp\n"),
            (
                "main.star",
                "util = import_module(\"/lib/util.star\")\n\ndef run(plan, args):\n    plan.add_service(name = util.NAME, config = ServiceConfig(image = \"nginx\"))\n",
            ),
            ("lib/util.star", "NAME = \"web\"\n"),
        ];
        MemoryFiles(
            files
                .into_iter()
                .map(|(path, text)| (format!("{ROOT}/{path}"), text.to_owned()))
                .collect(),
        )
    }

    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.0.keys().any(|file| file.starts_with(&prefix))
    }
}

impl WorkspaceFiles for MemoryFiles {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        match self.0.get(path) {
            Some(text) => Ok(text.clone()),
            None if self.is_dir(path) => Err(ReadError::IsDir),
            None => Err(ReadError::NotFound),
        }
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        let kind = if self.0.contains_key(path) {
            EntryKind::File
        } else if self.is_dir(path) {
            EntryKind::Dir
        } else {
            return None;
        };
        Some(Entry {
            kind,
            leaves_root: false,
        })
    }

    fn read_dir(&self, path: &str) -> Vec<(String, EntryKind)> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<(String, EntryKind)> = self
            .0
            .keys()
            .filter_map(|file| file.strip_prefix(&prefix))
            .map(|rest| match rest.split_once('/') {
                Some((folder, _)) => (folder.to_owned(), EntryKind::Dir),
                None => (rest.to_owned(), EntryKind::File),
            })
            .collect();
        names.dedup();
        names
    }
}

struct Client {
    server: Server,
    next_id: u64,
    versions: BTreeMap<&'static str, i32>,
}

impl Client {
    fn send(&mut self, message: &str) {
        for reply in self.server.handle(message) {
            assert_valid_json(&reply);
        }
    }

    fn request(&mut self, method: &str, params: Value) {
        self.next_id += 1;
        let message =
            json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params });
        self.send(&message.to_string());
    }

    fn notify(&mut self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.send(&message.to_string());
    }

    fn version(&mut self, file: File) -> i32 {
        let version = self.versions.entry(file.uri()).or_insert(0);
        *version += 1;
        *version
    }

    fn change(&mut self, file: File, change: Value) {
        let version = self.version(file);
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": file.uri(), "version": version },
                "contentChanges": [change],
            }),
        );
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Raw(text) => self.send(&text),
            Step::Open { file, text } => {
                let version = self.version(file);
                let language = if file.uri().ends_with(".star") { "starlark" } else { "plaintext" };
                self.notify(
                    "textDocument/didOpen",
                    json!({ "textDocument": {
                        "uri": file.uri(), "languageId": language, "version": version, "text": text,
                    } }),
                );
            }
            Step::Replace { file, text } => self.change(file, json!({ "text": text })),
            Step::Edit { file, start, end, text } => self.change(
                file,
                json!({ "range": { "start": start.to_json(), "end": end.to_json() }, "text": text }),
            ),
            Step::Close { file } => {
                self.notify("textDocument/didClose", json!({ "textDocument": { "uri": file.uri() } }))
            }
            Step::Ask { question, file, at } => {
                let document = json!({ "uri": file.uri() });
                let at_position = json!({ "textDocument": document, "position": at.to_json() });
                match question {
                    Question::Hover => self.request("textDocument/hover", at_position),
                    Question::Completion => self.request("textDocument/completion", at_position),
                    Question::SignatureHelp => {
                        self.request("textDocument/signatureHelp", at_position)
                    }
                    Question::Definition => self.request("textDocument/definition", at_position),
                    Question::Symbols => self.request(
                        "textDocument/documentSymbol",
                        json!({ "textDocument": document }),
                    ),
                    Question::CodeAction => self.request(
                        "textDocument/codeAction",
                        json!({
                            "textDocument": document,
                            "range": { "start": at.to_json(), "end": at.to_json() },
                            "context": { "diagnostics": [] },
                        }),
                    ),
                }
            }
            Step::FilesChanged => self.notify(
                "workspace/didChangeWatchedFiles",
                json!({ "changes": [{ "uri": File::Library.uri(), "type": 2 }] }),
            ),
            Step::Deferred => self.deferred(),
        }
    }

    fn deferred(&mut self) {
        for message in self.server.run_deferred() {
            assert_valid_json(&message);
        }
    }
}

/// Every message the server sends is one JSON value (what any client parses first).
fn assert_valid_json(message: &str) {
    if let Err(error) = serde_json::from_str::<Value>(message) {
        panic!("the server sent invalid JSON ({error}): {message}");
    }
}

fuzz_target!(|session: Session| {
    let mut client = Client {
        server: Server::new(Box::new(MemoryFiles::package())),
        next_id: 0,
        versions: BTreeMap::new(),
    };
    let encodings = if session.utf8 {
        vec!["utf-8", "utf-16"]
    } else {
        vec!["utf-16"]
    };
    client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": "file:///pkg",
            "capabilities": { "general": { "positionEncodings": encodings } },
        }),
    );
    client.notify("initialized", json!({}));
    for step in session.steps.into_iter().take(MAX_STEPS) {
        client.step(step);
    }
    client.deferred();
});

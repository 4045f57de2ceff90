//! The language server on the generated 20,000-line package (the one `benches/check.rs`
//! checks), on disk as an editor's workspace is: a one-character edit in one module, from
//! `didChange` to `publishDiagnostics`, beside a full check of the same package measured in
//! the same run; then the server's memory (RSS) over thousands of such edits.
//!
//! `cargo bench --bench lsp`

mod large_package;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use starflake::lsp::Server;
use starflake::lsp::uri::uri_of;
use starflake::native::FsSource;
use starflake::native::lsp::FsWorkspace;
use starflake::{CheckOptions, check};

/// The allocator the `starflake` command uses, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EDITED: &str = "src/m50.star";
const TIMED_EDITS: usize = 41;
const MEMORY_EDITS: usize = 2_000;
const FULL_CHECKS: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Resident memory of this process, in MB.
fn resident_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0.0);
    // SAFETY: sysconf only reads a configuration value.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    pages * page_size / 1e6
}

/// The edited module's `PREFIX = "m50"` line, where deleting the `0` names its services like
/// module 5's (duplicate services: an error in every edit that removes it, none after the next).
fn prefix_position(text: &str) -> (usize, usize) {
    let line = text
        .lines()
        .position(|line| line.starts_with("PREFIX = "))
        .expect("the module has a PREFIX");
    (line, "PREFIX = \"m5".len())
}

struct Editor {
    server: Server,
    uri: String,
    version: i32,
    line: usize,
    character: usize,
}

impl Editor {
    /// Deletes or re-inserts the character, and lets the debounced check run at once; returns
    /// the messages published.
    fn edit(&mut self) -> Vec<String> {
        self.version += 1;
        // Odd versions delete the `0`, even ones put it back.
        let (end, text) = if self.version % 2 == 1 {
            (self.character + 1, "")
        } else {
            (self.character, "0")
        };
        let change = json!({
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": { "uri": self.uri, "version": self.version },
                "contentChanges": [{
                    "range": {
                        "start": { "line": self.line, "character": self.character },
                        "end": { "line": self.line, "character": end },
                    },
                    "text": text,
                }],
            },
        });
        let mut out = self.server.handle(&change.to_string());
        out.extend(self.server.run_deferred());
        out
    }
}

fn main() {
    let root = std::env::temp_dir().join(format!("starflake-bench-lsp-{}", std::process::id()));
    for (path, text) in large_package::files() {
        let file = root.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let full = median(
        (0..FULL_CHECKS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(check(&FsSource::new(&root), &CheckOptions::default()));
                start.elapsed()
            })
            .collect(),
    );

    let mut server = Server::new(Box::new(FsWorkspace));
    let initialize = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } });
    server.handle(&initialize.to_string());
    let edited = root.join(EDITED);
    let text = std::fs::read_to_string(&edited).unwrap();
    let uri = uri_of(&edited.to_string_lossy());
    let open = json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "starlark", "version": 0, "text": text } } });
    let opened = Instant::now();
    server.handle(&open.to_string());
    let first = opened.elapsed();
    let (line, character) = prefix_position(&text);
    let mut editor = Editor {
        server,
        uri,
        version: 0,
        line,
        character,
    };

    let mut samples = Vec::new();
    for _ in 0..TIMED_EDITS {
        let start = Instant::now();
        let published = editor.edit();
        samples.push(start.elapsed());
        assert!(
            published
                .iter()
                .any(|message| message.contains("textDocument/publishDiagnostics")),
            "every edit changes the diagnostics"
        );
    }
    let edit = median(samples);

    let memory_before = resident_mb();
    for _ in 0..MEMORY_EDITS {
        std::hint::black_box(editor.edit());
    }
    let memory_after = resident_mb();
    let _ = std::fs::remove_dir_all(Path::new(&root));

    println!("package     : the generated 20,000-line package, on disk");
    println!(
        "first check : {:>8.2} ms (didOpen to publishDiagnostics)",
        milliseconds(first)
    );
    println!(
        "edit        : {:>8.2} ms (median of {TIMED_EDITS}; one-character didChange to publishDiagnostics)",
        milliseconds(edit)
    );
    println!(
        "full check  : {:>8.2} ms (median of {FULL_CHECKS}; `check` of the same package)",
        milliseconds(full)
    );
    println!(
        "ratio       : {:>8.2}x the full check",
        edit.as_secs_f64() / full.as_secs_f64()
    );
    println!(
        "memory      : {memory_before:.1} MB resident before {MEMORY_EDITS} more edits, {memory_after:.1} MB after"
    );
}

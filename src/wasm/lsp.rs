//! The WebAssembly transport of the language server: an `LspServer` class that takes one
//! JSON-RPC message at a time and hands every outgoing message to a JavaScript callback.
//!
//! Framing, timers and the channel to the editor (Node IPC, stdio, a Web Worker's `postMessage`)
//! stay in JavaScript, where they differ; the server core ([`crate::lsp::Server`]) is the one the
//! native `starflake lsp` runs. Files on disk come through three synchronous callbacks, so the
//! same module works over Node's `fs` and over a snapshot the editor sends to a Web Worker.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::{CallbackSource, describe, entry_kind_from_js, js_error, type_error};
use crate::lsp::{Server, WorkspaceFiles};
use crate::source::{Entry, EntryKind, ReadError, SourceProvider};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The server's read-only view of the disk. Every callback is synchronous and gets an absolute,
 * `/`-separated path; open documents never reach them (the server keeps their text). */
export interface LspFiles {
  /** The text of a file, or null/undefined when there is none. A thrown exception is reported
   * as a problem reading that file. */
  readFile(path: string): string | Uint8Array | null | undefined;
  /** What is at `path`: "file", "dir", or null/undefined when nothing (also when it throws). */
  stat(path: string): "file" | "dir" | null | undefined;
  /** The entries of a folder as `[name, "file" | "dir"]` pairs (other kinds are left out);
   * empty when it is not a folder. */
  readDir(path: string): [string, "file" | "dir"][];
}
"#;

/// A JavaScript object with `readFile`, `stat` and `readDir`.
struct CallbackFiles {
    /// `readFile` and `stat`, read as the Workspace reads its callbacks.
    files: CallbackSource,
    read_dir: Function,
}

impl CallbackFiles {
    fn from_js(files: &JsValue) -> Result<CallbackFiles, JsValue> {
        let callback = |name: &str| {
            Reflect::get(files, &JsValue::from_str(name))
                .ok()
                .and_then(|value| value.dyn_into::<Function>().ok())
                .ok_or_else(|| {
                    type_error(&format!(
                        "LspServer files need a `{name}(path)` function \
                         (readFile, stat and readDir, all synchronous)"
                    ))
                })
        };
        if !files.is_object() {
            return Err(type_error(
                "LspServer needs an object with readFile(path), stat(path) and readDir(path)",
            ));
        }
        Ok(CallbackFiles {
            files: CallbackSource {
                this: files.clone(),
                read: callback("readFile")?,
                read_name: "readFile",
                exists: callback("stat")?,
            },
            read_dir: callback("readDir")?,
        })
    }
}

impl WorkspaceFiles for CallbackFiles {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        self.files.read(path)
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        self.files.entry(path)
    }

    fn read_dir(&self, path: &str) -> Vec<(String, EntryKind)> {
        let Ok(entries) = self
            .read_dir
            .call1(&self.files.this, &JsValue::from_str(path))
        else {
            return Vec::new();
        };
        let Some(entries) = entries.dyn_ref::<Array>() else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|entry| {
                let pair = entry.dyn_into::<Array>().ok()?;
                let name = pair.get(0).as_string()?;
                let kind = entry_kind_from_js(Ok(pair.get(1)))?;
                Some((name, kind))
            })
            .collect()
    }

    fn check_interrupt(&self) -> Option<Box<dyn Fn() -> bool>> {
        Some(super::interrupt_after(super::DEFAULT_TIMEOUT_MS))
    }
}

/// The language server: `send` one JSON-RPC message (text) in; every message out goes to the
/// `output` callback, in order, as text. Work the server debounces is due `deferredAfterMs`
/// after the last message; call `runDeferred` then (a timer in the host does it).
#[wasm_bindgen]
pub struct LspServer {
    server: Server,
    output: Function,
}

#[wasm_bindgen]
impl LspServer {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "LspFiles")] files: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(message: string) => void")] output: Function,
    ) -> Result<LspServer, JsValue> {
        console_error_panic_hook::set_once();
        let files = CallbackFiles::from_js(&files)?;
        Ok(LspServer {
            server: Server::new(Box::new(files)),
            output,
        })
    }

    /// Handles one JSON-RPC message (a request, a response or a notification, as JSON text).
    /// Throws a TypeError when `message` is not a string, and otherwise only when the
    /// `output` callback throws.
    pub fn send(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] message: JsValue,
    ) -> Result<(), JsValue> {
        // Taken as any value: wasm-bindgen's own string glue reads a non-string (the parsed
        // message object, say) as a string anyway and traps the module.
        let Some(message) = message.as_string() else {
            return Err(type_error(
                "LspServer.send takes one JSON-RPC message as text (JSON.stringify it first)",
            ));
        };
        let replies = self.server.handle(&message);
        self.emit(replies)
    }

    /// Milliseconds until debounced work (diagnostics after an edit) is due; undefined when
    /// there is none.
    #[wasm_bindgen(getter, js_name = deferredAfterMs)]
    pub fn deferred_after_ms(&self) -> Option<u32> {
        self.server.deferred_after_ms()
    }

    /// Runs the debounced work now and sends what it produces.
    #[wasm_bindgen(js_name = runDeferred)]
    pub fn run_deferred(&mut self) -> Result<(), JsValue> {
        let messages = self.server.run_deferred();
        self.emit(messages)
    }

    /// The process exit code once the client sent `exit` (0 after `shutdown`, 1 without);
    /// undefined while the server runs.
    #[wasm_bindgen(getter, js_name = exitCode)]
    pub fn exit_code(&self) -> Option<i32> {
        self.server.exit_code()
    }
}

impl LspServer {
    fn emit(&self, messages: Vec<String>) -> Result<(), JsValue> {
        for message in messages {
            self.output
                .call1(&JsValue::NULL, &JsValue::from_str(&message))
                .map_err(|error| {
                    js_error(&format!(
                        "the LspServer output callback threw: {}",
                        describe(&error)
                    ))
                })?;
        }
        Ok(())
    }
}

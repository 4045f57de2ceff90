//! The WebAssembly boundary: a `Workspace` class for JavaScript (the playground, editors, Node).
//!
//! Thin on purpose: it turns JavaScript values into a [`SourceProvider`] and [`CheckOptions`],
//! calls [`check`], and hands back exactly the document `starflake check --format json` prints.
//! Results cross as JSON text parsed with `JSON.parse`: serde_json's `arbitrary_precision` (forced
//! on by starlark) would turn numbers into objects through serde-wasm-bindgen, and JSON text is
//! also the faster path. Nothing here may panic on input: every bad value becomes a thrown
//! JavaScript `Error`, every problem in the package a diagnostic.
//!
//! The TypeScript types below are the contract; `scripts/wasm-types.mjs` checks every fixture's
//! real output against them.

use std::collections::HashMap;

use js_sys::{Array, Function, JSON, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::builtins::{BuiltinInfo, BuiltinKind};
use crate::check::{ArgsInput, CheckOptions, CheckResult, DEFAULT_SYSTEM, JsonReport, check};
use crate::diagnostic::{Diagnostic, Rule, RuleInfo};
use crate::files::SourceFiles;
use crate::package::{MANIFEST_FILE, Manifest, Resolver};
use crate::plan::Plan;
use crate::pretty_json::pretty_json;
use crate::source::{Entry, EntryKind, MemorySource, ReadError, SourceProvider, normalize};
use crate::text::{PositionEncoding, Span};

mod lsp;

/// The wall-clock budget of one check when the options give none.
const DEFAULT_TIMEOUT_MS: f64 = 1000.0;

/// Stops a check `timeout_ms` after it starts, by the browser's clock.
fn interrupt_after(timeout_ms: f64) -> Box<dyn Fn() -> bool> {
    let deadline = js_sys::Date::now() + timeout_ms;
    Box::new(move || js_sys::Date::now() > deadline)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** How the `character` of a position is counted. */
export type PositionEncodingName = "utf-16" | "utf-8" | "utf-32";

/** Settings of a Workspace; every field is optional. */
export interface WorkspaceOptions {
  /** How `range.*.character` is counted: "utf-16" (the default: JavaScript strings, LSP,
   * CodeMirror, Monaco), "utf-8" (bytes) or "utf-32" (code points). */
  positionEncoding?: PositionEncodingName;
  /** The package arguments as JSON or YAML text, like `--args`. An object is
   * `JSON.stringify`-ed first. */
  args?: string | { [key: string]: Json };
  /** The file name diagnostics about `args` use (default "--args", as the CLI says). */
  argsOrigin?: string;
  /** The Nix system images are built for (default "x86_64-linux"). */
  system?: string;
  /** The main file, relative to the package root (default "main.star"). */
  mainFile?: string;
  /** The entry function (default "run"). */
  mainFunction?: string;
  /** Text that replaces the package's `kurtosis.yml`. */
  kurtosisYml?: string;
  /** A folder of the file source holding `github.com/<org>/<repo>/...` dependencies. */
  packagesDir?: string;
  /** Wall-clock budget of one check in milliseconds (default 1000); past it evaluation stops
   * with an SF004 diagnostic. 0 or Infinity: no deadline (a step limit still applies). */
  timeoutMs?: number;
}

/** Package files by path relative to the package root ("main.star", "app/flake.nix"). */
export type FileMap = { [path: string]: string } | Map<string, string>;

/** Package files read on demand. Both callbacks are synchronous and get normalized paths
 * relative to the package root ("" is the root itself). */
export interface FileCallbacks {
  /** The text of a file, or null/undefined when there is none. A thrown exception becomes a
   * diagnostic about that file. */
  read(path: string): string | null | undefined;
  /** What is at `path`: "file", "dir", or null/undefined when nothing (also when it throws). */
  exists(path: string): "file" | "dir" | null | undefined;
}

export type Files = FileMap | FileCallbacks;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Severity = "error" | "warning" | "info" | "hint";

/** 0-based line and character (counted in the Workspace's position encoding). */
export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }

export interface DiagnosticLabel { file: string; range: Range; message: string }

/** An edit that fixes the diagnostic: `replacement` written over `range` of its file. */
export interface DiagnosticFix { title: string; range: Range; replacement: string }

export interface Diagnostic {
  /** The stable rule code, e.g. "SF203". */
  code: string;
  /** The rule name, e.g. "wrong-type". */
  name: string;
  severity: Severity;
  message: string;
  /** Path relative to the package root, or the args origin. */
  file: string;
  range: Range;
  labels?: DiagnosticLabel[];
  help?: string;
  fix?: DiagnosticFix;
}

/** 1-based line and column (in characters). */
export interface Location { file: string; line: number; column: number }

export interface PortSpec {
  number: number;
  transport_protocol: string;
  application_protocol?: string;
  /** A duration such as "2m"; null disables the wait. */
  wait: string | null;
  url?: string;
}

export type FilesMount =
  | string
  | { artifact_names?: string[]; persistent_key?: string; size?: number };

export type Recipe =
  | { kind: "exec"; command: string[]; extract?: { [key: string]: string } }
  | { kind: "get_http"; port_id: string; endpoint: string; extract?: { [key: string]: string };
      headers?: { [key: string]: string } }
  | { kind: "post_http"; port_id: string; endpoint: string; body: string; content_type: string;
      extract?: { [key: string]: string }; headers?: { [key: string]: string } };

export interface ReadyCondition {
  recipe: Recipe; field: string; assertion: string; target_value: Json; interval: string;
  timeout: string;
}

export interface ServiceConfig {
  image: string;
  ports?: { [id: string]: PortSpec };
  public_ports?: { [id: string]: PortSpec };
  files?: { [path: string]: FilesMount };
  entrypoint?: string[];
  cmd?: string[];
  env_vars?: { [key: string]: string };
  private_ip_address_placeholder?: string;
  max_cpu?: number;
  min_cpu?: number;
  max_memory?: number;
  min_memory?: number;
  ready_conditions?: ReadyCondition;
  labels?: { [key: string]: string };
  user?: { uid: number; gid?: number };
  tolerations?: Json[];
  node_selectors?: { [key: string]: string };
  files_to_be_moved?: { [key: string]: string };
  tini_enabled?: boolean;
  tty_enabled?: boolean;
  devices?: string[];
  publish_udp?: boolean;
  capabilities?: string[];
  gpu?: Json;
  privileged?: boolean;
  host_pid_namespace?: boolean;
  bind_mounts?: { [key: string]: string };
}

export interface StoreSpec { src: string; name: string }

/** One `plan.*` call; field names follow Kurtosis's argument names. */
export type Instruction =
  | { instruction: "add_service"; name: string; config: ServiceConfig; force_update?: boolean }
  | { instruction: "set_service"; name: string; config: ServiceConfig }
  | { instruction: "remove_service"; name: string }
  | { instruction: "start_service"; name: string }
  | { instruction: "stop_service"; name: string }
  | { instruction: "get_service"; name: string }
  | { instruction: "get_services" }
  | { instruction: "get_files_artifact"; name: string }
  | { instruction: "exec"; service_name: string; recipe: Recipe; acceptable_codes?: number[];
      skip_code_check?: boolean }
  | { instruction: "request"; service_name: string; recipe: Recipe; acceptable_codes?: number[];
      skip_code_check?: boolean }
  | { instruction: "wait"; service_name?: string; recipe: Recipe; field: string; assertion: string;
      target_value: Json; interval: string; timeout: string }
  | { instruction: "verify"; value: Json; assertion: string; target_value: Json }
  | { instruction: "print"; msg: string }
  | { instruction: "upload_files"; src: string; path?: string; name: string }
  | { instruction: "render_templates"; name: string;
      config: { [path: string]: { template: string; data: Json } } }
  | { instruction: "store_service_files"; service_name: string; src: string; name: string }
  | { instruction: "run_sh"; run: string; image: string; files?: { [path: string]: FilesMount };
      store?: StoreSpec[]; env_vars?: { [key: string]: string }; wait?: string }
  | { instruction: "run_python"; run: string; image: string; args?: string[]; packages?: string[];
      files?: { [path: string]: FilesMount }; store?: StoreSpec[]; wait?: string }
  | { instruction: "get_cluster_type" };

export type Step = { at: Location; description?: string } & Instruction;

/** One `nix build`, fully resolved. */
export interface NixBuild {
  flake_dir: string;
  context_dir: string;
  flake_output?: string;
  /** The attribute paths Nix tries, in order (empty when the fragment cannot be parsed). */
  attribute_candidates: string[];
  installable: string;
  /** The exact command line, to run in the package root. */
  command: string[];
  /** What a static reading of flake.nix finds; absent when it has syntax errors. */
  flake?: FlakeSummary;
}

export interface FlakeSummary {
  description?: string;
  /** It declares inputs (in `inputs` or as arguments of `outputs`), or may. */
  has_inputs: boolean;
  /** Attribute paths of the outputs known statically, e.g. "packages.x86_64-linux.default". */
  outputs: string[];
  /** Some outputs cannot be known without evaluating Nix. */
  dynamic: boolean;
}

export type ImageSource =
  | { source: "registry" }
  | { source: "registry_spec"; registry?: string; has_credentials?: boolean }
  | { source: "dockerfile"; context_dir: string; dockerfile: string; target_stage?: string;
      build_args?: { [key: string]: string } }
  | ({ source: "nix" } & NixBuild);

export type Image = { name: string; defined_at: Location } & ImageSource;

export interface Plan {
  /** The package name from kurtosis.yml. */
  package: string;
  system: string;
  steps: Step[];
  images: Image[];
  /** What `run` returned. */
  output?: Json;
}

/** Exactly the document `starflake check --format json` prints. */
export interface CheckReport { diagnostics: Diagnostic[]; plan: Plan }

/** A check report with the terminal texts of `starflake check` and `starflake plan`. */
export interface Analysis extends CheckReport {
  /** The diagnostics as `starflake check` prints them (no color), ending in a summary line. */
  rendered: string;
  /** The plan as `starflake plan` prints it. */
  renderedPlan: string;
}

export interface RuleInfo { code: string; name: string; severity: Severity; summary: string }

/** One parameter of a builtin, in positional order. */
export interface ParamInfo {
  name: string;
  required: boolean;
  /** The Starlark types it accepts, e.g. `str | NixBuildSpec`. */
  type: string;
  /** What Kurtosis really uses when it is left out, as a Starlark literal, when that is a value. */
  default?: string;
  /** Markdown. */
  doc: string;
}

/** A Kurtosis builtin: the table that also drives starflake's argument checks. */
export interface BuiltinInfo {
  name: string;
  kind: 'global' | 'instruction';
  /** In positional order, ending with the `description` every builtin takes. */
  params: ParamInfo[];
  /** Accepts any arguments (only the global `print`, which Kurtosis rejects). */
  variadic: boolean;
  /** The type it returns. */
  returns: string;
  /** Markdown. */
  doc: string;
}

export interface Builtins {
  /** Every predeclared Kurtosis type and function (NixBuildSpec, ServiceConfig, import_module, ...). */
  globals: BuiltinInfo[];
  /** Every `plan.*` instruction. */
  instructions: BuiltinInfo[];
}
"#;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The settings of a workspace, checked once when it is made.
#[derive(Clone, Debug)]
struct Settings {
    encoding: PositionEncoding,
    args: Option<ArgsInput>,
    system: String,
    main_file: String,
    main_function: String,
    kurtosis_yml: Option<String>,
    packages_dir: Option<String>,
    /// `None`: no wall-clock deadline.
    timeout_ms: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        let defaults = CheckOptions::default();
        Settings {
            encoding: PositionEncoding::Utf16,
            args: None,
            system: DEFAULT_SYSTEM.to_owned(),
            main_file: defaults.main_file,
            main_function: defaults.main_function,
            kurtosis_yml: None,
            packages_dir: None,
            timeout_ms: Some(DEFAULT_TIMEOUT_MS),
        }
    }
}

const OPTION_NAMES: &[&str] = &[
    "positionEncoding",
    "args",
    "argsOrigin",
    "system",
    "mainFile",
    "mainFunction",
    "kurtosisYml",
    "packagesDir",
    "timeoutMs",
];

impl Settings {
    fn from_js(options: &JsValue) -> Result<Settings, JsValue> {
        let mut settings = Settings::default();
        if options.is_undefined() || options.is_null() {
            return Ok(settings);
        }
        if !options.is_object() {
            return Err(type_error("Workspace options must be an object"));
        }
        for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !OPTION_NAMES.contains(&key.as_str()) {
                let hint = crate::diagnostic::did_you_mean(&key, OPTION_NAMES.iter().copied())
                    .map(|name| format!("; did you mean `{name}`?"))
                    .unwrap_or_default();
                return Err(type_error(&format!(
                    "unknown Workspace option `{key}`{hint} (known: {})",
                    OPTION_NAMES.join(", ")
                )));
            }
        }
        if let Some(name) = string_field(options, "positionEncoding")? {
            settings.encoding = parse_encoding(&name)?;
        }
        let origin = string_field(options, "argsOrigin")?.unwrap_or_else(|| "--args".to_owned());
        if let Some(args) = field(options, "args")? {
            let text = match args.as_string() {
                Some(text) => text,
                None if args.is_object() => JSON::stringify(&args)
                    .ok()
                    .and_then(|text| text.as_string())
                    .ok_or_else(|| type_error("`args` could not be turned into JSON"))?,
                None => return Err(type_error("`args` must be JSON or YAML text, or an object")),
            };
            settings.args = Some(ArgsInput { origin, text });
        }
        if let Some(system) = string_field(options, "system")? {
            settings.system = system;
        }
        if let Some(main_file) = string_field(options, "mainFile")? {
            settings.main_file = normalize(&main_file);
        }
        if let Some(main_function) = string_field(options, "mainFunction")? {
            settings.main_function = main_function;
        }
        settings.kurtosis_yml = string_field(options, "kurtosisYml")?;
        settings.packages_dir = string_field(options, "packagesDir")?.map(|dir| normalize(&dir));
        if let Some(timeout) = field(options, "timeoutMs")? {
            let timeout = timeout
                .as_f64()
                .filter(|ms| !ms.is_nan() && *ms >= 0.0)
                .ok_or_else(|| {
                    type_error("`timeoutMs` must be a number of milliseconds, 0 or more")
                })?;
            settings.timeout_ms = (timeout > 0.0 && timeout.is_finite()).then_some(timeout);
        }
        Ok(settings)
    }

    fn check_options(&self) -> CheckOptions {
        let interrupt = self.timeout_ms.map(interrupt_after);
        CheckOptions {
            main_file: self.main_file.clone(),
            main_function: self.main_function.clone(),
            args: self.args.clone(),
            system: self.system.clone(),
            packages_dir: self.packages_dir.clone(),
            push: None,
            interrupt,
        }
    }
}

fn parse_encoding(name: &str) -> Result<PositionEncoding, JsValue> {
    match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "utf8" => Ok(PositionEncoding::Utf8),
        "utf16" => Ok(PositionEncoding::Utf16),
        "utf32" => Ok(PositionEncoding::Utf32),
        _ => Err(type_error(&format!(
            "unknown position encoding `{name}`; use \"utf-16\", \"utf-8\" or \"utf-32\""
        ))),
    }
}

fn encoding_name(encoding: PositionEncoding) -> &'static str {
    match encoding {
        PositionEncoding::Utf8 => "utf-8",
        PositionEncoding::Utf16 => "utf-16",
        PositionEncoding::Utf32 => "utf-32",
    }
}

/// A thrown `TypeError`: the caller passed something of the wrong shape.
fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// A thrown `Error`.
fn js_error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// `object[key]`, or `None` when it is `undefined` or `null`.
fn field(object: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    let value = Reflect::get(object, &JsValue::from_str(key)).map_err(|error| {
        type_error(&format!("cannot read option `{key}`: {}", describe(&error)))
    })?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

fn string_field(object: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match field(object, key)? {
        None => Ok(None),
        Some(value) => value
            .as_string()
            .map(Some)
            .ok_or_else(|| type_error(&format!("option `{key}` must be a string"))),
    }
}

/// A thrown JavaScript value as text: an `Error`'s message, or the value itself.
fn describe(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    if let Some(text) = value.as_string() {
        return text;
    }
    JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| "an exception that is not an Error".to_owned())
}

/// Package files read through two synchronous JavaScript callbacks: one that reads a file's
/// text, one that says whether a path is a file or a folder. The Workspace's `{read, exists}`
/// and the LspServer's `{readFile, stat}` are both this.
struct CallbackSource {
    this: JsValue,
    read: Function,
    /// The read callback's name, for messages about what it returned.
    read_name: &'static str,
    exists: Function,
}

impl SourceProvider for CallbackSource {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        let value = self.read.call1(&self.this, &JsValue::from_str(path));
        text_from_js(value, self.read_name).and_then(|text| {
            text.ok_or_else(|| match self.entry(path) {
                Some(Entry {
                    kind: EntryKind::Dir,
                    ..
                }) => ReadError::IsDir,
                _ => ReadError::NotFound,
            })
        })
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        let kind = entry_kind_from_js(self.exists.call1(&self.this, &JsValue::from_str(path)))?;
        Some(Entry {
            kind,
            leaves_root: false,
        })
    }
}

/// What a file-reading callback returned: the text, `None` for null/undefined (no such file),
/// or why it is unusable.
fn text_from_js(
    returned: Result<JsValue, JsValue>,
    callback: &str,
) -> Result<Option<String>, ReadError> {
    let value = returned.map_err(|error| {
        ReadError::Other(format!(
            "the `{callback}` callback threw: {}",
            describe(&error)
        ))
    })?;
    if let Some(text) = value.as_string() {
        return Ok(Some(text));
    }
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        return crate::source::utf8_text(bytes.to_vec()).map(Some);
    }
    if Reflect::get(&value, &JsValue::from_str("then")).is_ok_and(|then| then.is_function()) {
        return Err(ReadError::Other(format!(
            "the `{callback}` callback returned a Promise; it must return the text synchronously"
        )));
    }
    Err(ReadError::Other(format!(
        "the `{callback}` callback returned {}, not a string",
        value.js_typeof().as_string().unwrap_or_default()
    )))
}

/// What an `exists`/`stat` callback returned: "file", "dir" (or "directory", or `true` for a
/// file); anything else, or a throw, means nothing is there.
fn entry_kind_from_js(returned: Result<JsValue, JsValue>) -> Option<EntryKind> {
    let value = returned.ok()?;
    match value.as_string().as_deref() {
        Some("file") => Some(EntryKind::File),
        Some("dir" | "directory") => Some(EntryKind::Dir),
        _ if value.as_bool() == Some(true) => Some(EntryKind::File),
        _ => None,
    }
}

/// A source whose `kurtosis.yml` is replaced.
struct ManifestOverride<'a> {
    inner: &'a dyn SourceProvider,
    manifest: &'a str,
}

impl SourceProvider for ManifestOverride<'_> {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        if path == MANIFEST_FILE {
            Ok(self.manifest.to_owned())
        } else {
            self.inner.read(path)
        }
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        if path == MANIFEST_FILE {
            return Some(Entry {
                kind: EntryKind::File,
                leaves_root: false,
            });
        }
        match self.inner.entry(path) {
            // The package root exists even when only the override is in it.
            None if path.is_empty() => Some(Entry {
                kind: EntryKind::Dir,
                leaves_root: false,
            }),
            found => found,
        }
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let mut names = self.inner.list(dir);
        if dir.is_empty() && !names.iter().any(|name| name == MANIFEST_FILE) {
            names.push(MANIFEST_FILE.to_owned());
            names.sort();
        }
        names
    }
}

/// The `files` argument: a map of texts or a pair of callbacks.
enum Files {
    Memory(MemorySource),
    Callbacks(CallbackSource),
}

impl Files {
    fn from_js(files: &JsValue) -> Result<Files, JsValue> {
        if !files.is_object() {
            return Err(type_error(
                "files must be an object of path → text, a Map, or {read(path), exists(path)}",
            ));
        }
        if let Some(map) = files.dyn_ref::<js_sys::Map>() {
            let mut source = MemorySource::new();
            let mut failure = None;
            map.for_each(&mut |text, path| {
                if failure.is_some() {
                    return;
                }
                match (path.as_string(), text.as_string()) {
                    (Some(path), Some(text)) => source.insert(&path, text),
                    (path, _) => failure = Some(not_text(&path.unwrap_or_default())),
                }
            });
            return failure.map_or(Ok(Files::Memory(source)), Err);
        }
        let read = Reflect::get(files, &JsValue::from_str("read")).unwrap_or(JsValue::UNDEFINED);
        if let Some(read) = read.dyn_ref::<Function>() {
            let exists =
                Reflect::get(files, &JsValue::from_str("exists")).unwrap_or(JsValue::UNDEFINED);
            let exists = exists.dyn_into::<Function>().map_err(|_| {
                type_error("a file source with `read` needs an `exists(path)` function too")
            })?;
            return Ok(Files::Callbacks(CallbackSource {
                this: files.clone(),
                read: read.clone(),
                read_name: "read",
                exists,
            }));
        }
        let mut source = MemorySource::new();
        for entry in Object::entries(files.unchecked_ref::<Object>()).iter() {
            let entry: Array = entry.unchecked_into();
            let path = entry.get(0).as_string().unwrap_or_default();
            let text = entry.get(1).as_string().ok_or_else(|| not_text(&path))?;
            source.insert(&path, text);
        }
        Ok(Files::Memory(source))
    }

    fn provider(&self) -> &dyn SourceProvider {
        match self {
            Files::Memory(source) => source,
            Files::Callbacks(source) => source,
        }
    }
}

fn not_text(path: &str) -> JsValue {
    type_error(&format!("files[\"{path}\"] must be a string"))
}

/// The `analyze()` document: the report plus both terminal texts.
#[derive(Serialize)]
struct Analysis<'a> {
    #[serde(flatten)]
    report: JsonReport<'a>,
    rendered: String,
    #[serde(rename = "renderedPlan")]
    rendered_plan: String,
}

#[derive(Serialize)]
struct Builtins {
    globals: Vec<BuiltinInfo>,
    instructions: Vec<BuiltinInfo>,
}

/// Serializes to JSON text and parses it in JavaScript: plain objects, arrays and numbers.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|error| js_error(&error.to_string()))?;
    JSON::parse(&text).map_err(|error| js_error(&describe(&error)))
}

/// Checks Kurtosis packages. Made once with options, then used for any number of checks; it
/// keeps no state between them.
#[wasm_bindgen]
pub struct Workspace {
    settings: Settings,
}

#[wasm_bindgen]
impl Workspace {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "WorkspaceOptions")] options: JsValue,
    ) -> Result<Workspace, JsValue> {
        console_error_panic_hook::set_once();
        let settings = Settings::from_js(&options)?;
        Ok(Workspace { settings })
    }

    /// The starflake version.
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// Every rule with its code, name, default severity and summary.
    #[wasm_bindgen(unchecked_return_type = "RuleInfo[]")]
    pub fn rules() -> Result<JsValue, JsValue> {
        let rules: Vec<RuleInfo> = Rule::ALL.iter().map(|rule| rule.info()).collect();
        to_js(&rules)
    }

    /// The predeclared builtins and `plan.*` instructions with their parameters, types,
    /// defaults and documentation, for completion, hover and signature help.
    #[wasm_bindgen(unchecked_return_type = "Builtins")]
    pub fn builtins() -> Result<JsValue, JsValue> {
        let (globals, instructions) = crate::builtins::builtins()
            .into_iter()
            .partition(|builtin| builtin.kind == BuiltinKind::Global);
        to_js(&Builtins {
            globals,
            instructions,
        })
    }

    /// The position encoding of this workspace's ranges.
    #[wasm_bindgen(getter, js_name = positionEncoding, unchecked_return_type = "PositionEncodingName")]
    pub fn position_encoding(&self) -> String {
        encoding_name(self.settings.encoding).to_owned()
    }

    /// Checks a package: `{diagnostics, plan}`, the same document `starflake check --format json`
    /// prints (with the workspace's position encoding).
    #[wasm_bindgen(unchecked_return_type = "CheckReport")]
    pub fn check(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Files")] files: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.show(View::Check, &self.run(&files)?)
    }

    /// Like `check`, as JSON text: exactly what `starflake check --format json` prints.
    #[wasm_bindgen(js_name = checkJson, unchecked_return_type = "string")]
    pub fn check_json(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Files")] files: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.show(View::CheckJson, &self.run(&files)?)
    }

    /// The diagnostics as `starflake check` prints them in a terminal (no color).
    #[wasm_bindgen(unchecked_return_type = "string")]
    pub fn render(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Files")] files: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.show(View::Render, &self.run(&files)?)
    }

    /// The plan as `starflake plan` prints it.
    #[wasm_bindgen(js_name = renderPlan, unchecked_return_type = "string")]
    pub fn render_plan(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Files")] files: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.show(View::RenderPlan, &self.run(&files)?)
    }

    /// One check, every view of it: the report plus the terminal texts (for the playground).
    #[wasm_bindgen(unchecked_return_type = "Analysis")]
    pub fn analyze(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Files")] files: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.show(View::Analyze, &self.run(&files)?)
    }

    /// What `method` shows when its check did not run because the module trapped: one
    /// `SF900 internal-error` diagnostic saying `problem`, and an empty plan. The npm
    /// package's wrapper (pkg/starflake.js) calls it on the fresh instance it started.
    #[wasm_bindgen(js_name = internalError, skip_typescript)]
    pub fn internal_error(&self, method: &str, problem: &str) -> Result<JsValue, JsValue> {
        let view = View::from_method(method)
            .ok_or_else(|| type_error(&format!("no Workspace method `{method}` shows a check")))?;
        let diagnostic = Diagnostic::new(
            Rule::InternalError,
            self.settings.main_file.as_str(),
            Span::default(),
            format!(
                "starflake's checker failed ({problem}) and was restarted; this check did not run"
            ),
        )
        .with_help(format!(
            "check again (any edit does); if the same package fails again, please report it at {}/issues",
            env!("CARGO_PKG_REPOSITORY")
        ));
        let result = CheckResult {
            diagnostics: vec![diagnostic],
            plan: Plan {
                system: self.settings.system.clone(),
                ..Plan::default()
            },
            files: SourceFiles::default(),
            resolver: Resolver::new(&Manifest::default(), None),
            locators: HashMap::new(),
        };
        self.show(view, &result)
    }
}

/// The ways a Workspace shows a check, one per method.
#[derive(Clone, Copy)]
enum View {
    Check,
    CheckJson,
    Render,
    RenderPlan,
    Analyze,
}

impl View {
    fn from_method(method: &str) -> Option<View> {
        Some(match method {
            "check" => View::Check,
            "checkJson" => View::CheckJson,
            "render" => View::Render,
            "renderPlan" => View::RenderPlan,
            "analyze" => View::Analyze,
            _ => return None,
        })
    }
}

impl Workspace {
    fn show(&self, view: View, result: &CheckResult) -> Result<JsValue, JsValue> {
        let encoding = self.settings.encoding;
        match view {
            View::Check => to_js(&result.json_report(encoding)),
            View::CheckJson => serde_json::to_string(&result.json_report(encoding))
                .map(|json| JsValue::from(pretty_json(&json) + "\n"))
                .map_err(|error| js_error(&error.to_string())),
            View::Render => Ok(result.render_human(false).into()),
            View::RenderPlan => Ok(crate::plan::render_human(&result.plan).into()),
            View::Analyze => to_js(&Analysis {
                report: result.json_report(encoding),
                rendered: result.render_human(false),
                rendered_plan: crate::plan::render_human(&result.plan),
            }),
        }
    }

    fn run(&self, files: &JsValue) -> Result<CheckResult, JsValue> {
        let files = Files::from_js(files)?;
        let options = self.settings.check_options();
        let result = match &self.settings.kurtosis_yml {
            Some(manifest) => check(
                &ManifestOverride {
                    inner: files.provider(),
                    manifest,
                },
                &options,
            ),
            None => check(files.provider(), &options),
        };
        Ok(result)
    }
}

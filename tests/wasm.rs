//! The wasm module as JavaScript sees it, run in Node by wasm-bindgen-test:
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test --target wasm32-unknown-unknown --no-default-features --test wasm
//! ```
//!
//! The test binary links the library, so its JavaScript glue exports the same `Workspace` class
//! as `pkg/`. The tests call that class through JavaScript (not the Rust functions behind it), so
//! they cover the boundary itself: option parsing, file callbacks, thrown errors, JSON results.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, JSON, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen]
extern "C" {
    /// The exported class, reached through the glue module (see [`api`]).
    #[wasm_bindgen(js_namespace = __starflake_api, js_name = Workspace)]
    type Workspace;

    #[wasm_bindgen(constructor, catch, js_namespace = __starflake_api, js_class = Workspace)]
    fn new(options: &JsValue) -> Result<Workspace, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn check(this: &Workspace, files: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = checkJson)]
    fn check_json(this: &Workspace, files: &JsValue) -> Result<String, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn render(this: &Workspace, files: &JsValue) -> Result<String, JsValue>;

    #[wasm_bindgen(method, catch, js_name = renderPlan)]
    fn render_plan(this: &Workspace, files: &JsValue) -> Result<String, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn analyze(this: &Workspace, files: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, getter, js_name = positionEncoding)]
    fn position_encoding(this: &Workspace) -> String;

    #[wasm_bindgen(method)]
    fn free(this: &Workspace);

    #[wasm_bindgen(static_method_of = Workspace, js_namespace = __starflake_api, js_class = Workspace)]
    fn version() -> String;

    #[wasm_bindgen(static_method_of = Workspace, js_namespace = __starflake_api, js_class = Workspace)]
    fn rules() -> JsValue;

    #[wasm_bindgen(static_method_of = Workspace, js_namespace = __starflake_api, js_class = Workspace)]
    fn builtins() -> JsValue;
}

/// Makes the glue module of this test binary reachable as `globalThis.__starflake_api`.
/// wasm-bindgen-test-runner runs Node with a CommonJS `run.cjs` beside `wasm-bindgen-test.js`.
fn api() {
    let setup = Function::new_no_args(
        "if (!globalThis.__starflake_api) {
             globalThis.__starflake_api = process.mainModule.require('./wasm-bindgen-test.js');
         }",
    );
    setup
        .call0(&JsValue::NULL)
        .expect("the test glue module is reachable");
}

fn new_workspace(options: &str) -> Workspace {
    api();
    let options = JSON::parse(options).expect("options are JSON");
    Workspace::new(&options).expect("valid options")
}

fn js(value: &str) -> JsValue {
    JSON::parse(value).expect("test JSON")
}

fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |value, key| {
        let key = match key.parse::<u32>() {
            Ok(index) => JsValue::from(index),
            Err(_) => JsValue::from_str(key),
        };
        Reflect::get(&value, &key).unwrap_or(JsValue::UNDEFINED)
    })
}

fn string(value: &JsValue, path: &str) -> String {
    get(value, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string in {}", stringify(value)))
}

fn number(value: &JsValue, path: &str) -> f64 {
    get(value, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {}", stringify(value)))
}

fn length(value: &JsValue, path: &str) -> u32 {
    get(value, path)
        .dyn_into::<Array>()
        .map(|array| array.length())
        .unwrap_or_else(|_| panic!("{path} is not an array"))
}

fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

fn codes(report: &JsValue) -> Vec<String> {
    get(report, "diagnostics")
        .unchecked_into::<Array>()
        .iter()
        .map(|diagnostic| string(&diagnostic, "code"))
        .collect()
}

/// A JavaScript object of path → text.
fn files(entries: &[(&str, &str)]) -> JsValue {
    let object = Object::new();
    for (path, text) in entries {
        Reflect::set(&object, &JsValue::from_str(path), &JsValue::from_str(text)).unwrap();
    }
    object.into()
}

const MANIFEST: &str = "name: github.com/starflake-tests/wasm\n";

const FLAKE: &str = r#"{
  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      system = "x86_64-linux";
      name = "image.tar";
      builder = "/bin/sh";
    };
  };
}
"#;

const VALID_MAIN: &str = r#"def run(plan, args):
    image = NixBuildSpec(
        image_name = "hello-web:latest",
        build_context_dir = "./app",
        flake_location_dir = ".",
    )
    web = plan.add_service(
        name = "web",
        config = ServiceConfig(
            image = image,
            ports = {"http": PortSpec(number = 8080, application_protocol = "http")},
        ),
    )
    return web.ports["http"].url
"#;

fn valid_package() -> JsValue {
    files(&[
        ("kurtosis.yml", MANIFEST),
        ("main.star", VALID_MAIN),
        ("app/flake.nix", FLAKE),
    ])
}

#[wasm_bindgen_test]
fn a_valid_package_checks_clean_and_previews_its_plan() {
    let workspace = new_workspace("{}");
    let report = workspace.check(&valid_package()).unwrap();
    assert_eq!(
        codes(&report),
        Vec::<String>::new(),
        "{}",
        stringify(&report)
    );
    assert_eq!(
        string(&report, "plan.package"),
        "github.com/starflake-tests/wasm"
    );
    assert_eq!(string(&report, "plan.steps.0.instruction"), "add_service");
    assert_eq!(string(&report, "plan.steps.0.name"), "web");
    assert_eq!(
        number(&report, "plan.steps.0.config.ports.http.number"),
        8080.0
    );
    assert_eq!(string(&report, "plan.images.0.source"), "nix");
    assert_eq!(string(&report, "plan.images.0.installable"), "path:./app");
    assert_eq!(string(&report, "plan.images.0.command.0"), "nix");
    assert_eq!(string(&report, "plan.output"), "http://web:8080");
    // Plain JSON values: objects, arrays and numbers, never Maps or number wrappers.
    assert!(get(&report, "plan.steps").is_instance_of::<Array>());
    assert!(!get(&report, "plan").is_instance_of::<js_sys::Map>());

    let text = workspace.check_json(&valid_package()).unwrap();
    assert!(text.ends_with("}\n"));
    assert_eq!(stringify(&JSON::parse(&text).unwrap()), stringify(&report));
    assert_eq!(
        workspace.render(&valid_package()).unwrap(),
        "no problems found\n"
    );
    let plan = workspace.render_plan(&valid_package()).unwrap();
    assert!(
        plan.contains("add_service web image hello-web:latest"),
        "{plan}"
    );

    let analysis = workspace.analyze(&valid_package()).unwrap();
    assert_eq!(
        stringify(&get(&analysis, "plan")),
        stringify(&get(&report, "plan"))
    );
    assert_eq!(string(&analysis, "rendered"), "no problems found\n");
    assert_eq!(string(&analysis, "renderedPlan"), plan);
}

/// A wrong argument on a line that holds an emoji (two UTF-16 units, one code point, four bytes).
const EMOJI_MAIN: &str = "def run(plan, args):\n    icon = \"🚀\"; image = NixBuildSpec(image_name = 3, build_context_dir = \"./app\", flake_location_dir = \".\")\n    plan.add_service(name = \"web\", config = ServiceConfig(image = image))\n";

#[wasm_bindgen_test]
fn positions_count_utf16_units_by_default_and_other_encodings_on_request() {
    let package = files(&[
        ("kurtosis.yml", MANIFEST),
        ("main.star", EMOJI_MAIN),
        ("app/flake.nix", FLAKE),
    ]);
    let report = new_workspace("{}").check(&package).unwrap();
    let wrong_type = get(&report, "diagnostics")
        .unchecked_into::<Array>()
        .iter()
        .find(|diagnostic| string(diagnostic, "code") == "SF203")
        .unwrap_or_else(|| panic!("an SF203 diagnostic in {}", stringify(&report)));
    assert_eq!(string(&wrong_type, "file"), "main.star");
    assert_eq!(number(&wrong_type, "range.start.line"), 1.0);
    assert_eq!(number(&wrong_type, "range.end.line"), 1.0);

    // Slicing the JavaScript string of that line with the UTF-16 range gives the argument.
    let line = js_sys::JsString::from(EMOJI_MAIN.lines().nth(1).unwrap());
    let start = number(&wrong_type, "range.start.character");
    let end = number(&wrong_type, "range.end.character");
    let marked = String::from(line.slice(start as u32, end as u32));
    assert!(
        marked == "3" || marked == "image_name = 3",
        "the range marks `{marked}`"
    );
    let utf16_start =
        line.index_of("image_name = 3", 0) as f64 + if marked == "3" { 13.0 } else { 0.0 };
    assert_eq!(start, utf16_start);

    // The same diagnostic counted in code points (one less) and in bytes (two more).
    for (encoding, shift) in [("utf-32", -1.0), ("utf-8", 2.0)] {
        let workspace = new_workspace(&format!(r#"{{"positionEncoding": "{encoding}"}}"#));
        assert_eq!(workspace.position_encoding(), encoding);
        let report = workspace.check(&package).unwrap();
        let diagnostics = get(&report, "diagnostics").unchecked_into::<Array>();
        let other = diagnostics
            .iter()
            .find(|d| string(d, "code") == "SF203")
            .unwrap();
        assert_eq!(
            number(&other, "range.start.character"),
            start + shift,
            "{encoding}"
        );
        assert_eq!(
            number(&other, "range.end.character"),
            end + shift,
            "{encoding}"
        );
    }
}

#[wasm_bindgen_test]
fn a_runaway_loop_ends_with_sf004_at_the_deadline() {
    let package = files(&[
        ("kurtosis.yml", MANIFEST),
        (
            "main.star",
            // Two loops within the `range` limit, so only the deadline can stop them.
            "def run(plan, args):\n    total = 0\n    for i in range(100000):\n        for j in range(100000):\n            total += j\n",
        ),
    ]);
    let workspace = new_workspace(r#"{"timeoutMs": 200}"#);
    let started = js_sys::Date::now();
    let report = workspace.check(&package).unwrap();
    let elapsed = js_sys::Date::now() - started;
    assert_eq!(codes(&report), ["SF004"]);
    assert!(string(&report, "diagnostics.0.message").contains("did not finish"));
    // at the statement that was running, not at the top of the file
    assert_eq!(number(&report, "diagnostics.0.range.start.line"), 4.0);
    assert!(
        elapsed < 2000.0,
        "the 200 ms deadline stopped it after {elapsed} ms"
    );
    // The workspace is still usable afterwards.
    assert_eq!(
        codes(&workspace.check(&valid_package()).unwrap()),
        Vec::<String>::new()
    );
}

/// `{read, exists}` callbacks over the given files, with a `read` that throws for `throws`.
fn callbacks(entries: &[(&str, &str)], throws: &str) -> JsValue {
    let source = Function::new_with_args(
        "files, throws",
        "const dirs = new Set(['']);
         for (const path of Object.keys(files)) {
             const parts = path.split('/');
             for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
         }
         return {
             reads: [],
             read(path) {
                 this.reads.push(path);
                 if (path === throws) throw new Error('disk on fire: ' + path);
                 return files[path];
             },
             exists(path) {
                 if (path in files) return 'file';
                 return dirs.has(path) ? 'dir' : null;
             },
         };",
    );
    source
        .call2(&JsValue::NULL, &files(entries), &JsValue::from_str(throws))
        .unwrap()
}

#[wasm_bindgen_test]
fn callbacks_serve_the_same_package_as_an_object_and_a_map() {
    let entries = [
        ("kurtosis.yml", MANIFEST),
        ("main.star", VALID_MAIN),
        ("app/flake.nix", FLAKE),
    ];
    let workspace = new_workspace("{}");
    let expected = workspace.check_json(&files(&entries)).unwrap();

    let source = callbacks(&entries, "");
    assert_eq!(workspace.check_json(&source).unwrap(), expected);
    let reads: Vec<String> = get(&source, "reads")
        .unchecked_into::<Array>()
        .iter()
        .filter_map(|p| p.as_string())
        .collect();
    assert!(
        reads.contains(&"main.star".to_owned()) && reads.contains(&"app/flake.nix".to_owned()),
        "{reads:?}"
    );

    let map = js_sys::Map::new();
    for (path, text) in entries {
        map.set(&JsValue::from_str(path), &JsValue::from_str(text));
    }
    assert_eq!(workspace.check_json(&map).unwrap(), expected);

    // A class instance: `read` and `exists` are found on the prototype and called as methods.
    let class = Function::new_with_args(
        "files",
        "class Disk {
             constructor(files) { this.files = files; }
             read(path) { return this.files[path]; }
             exists(path) { return path in this.files ? 'file' : (path === '' || path === 'app') ? 'dir' : undefined; }
         }
         return new Disk(files);",
    );
    let disk = class.call1(&JsValue::NULL, &files(&entries)).unwrap();
    assert_eq!(workspace.check_json(&disk).unwrap(), expected);
}

#[wasm_bindgen_test]
fn a_throwing_callback_becomes_a_diagnostic_not_a_trap() {
    let workspace = new_workspace("{}");
    let main = "lib = import_module(\"/lib.star\")\n\ndef run(plan, args):\n    return lib.X\n";
    let entries = [
        ("kurtosis.yml", MANIFEST),
        ("main.star", main),
        ("lib.star", "X = 1\n"),
    ];
    let report = workspace.check(&callbacks(&entries, "lib.star")).unwrap();
    assert_eq!(codes(&report), ["SF007"], "{}", stringify(&report));
    let message = string(&report, "diagnostics.0.message");
    assert!(message.contains("disk on fire: lib.star"), "{message}");
    assert_eq!(number(&report, "diagnostics.0.range.start.line"), 0.0);

    // `exists` throwing means "absent".
    let throwing_exists = Function::new_with_args(
        "files",
        "return {
             read(path) { return files[path]; },
             exists(path) {
                 if (path === 'lib.star') throw new Error('no');
                 return path in files ? 'file' : path === '' ? 'dir' : null;
             },
         };",
    )
    .call1(&JsValue::NULL, &files(&entries))
    .unwrap();
    let report = workspace.check(&throwing_exists).unwrap();
    assert_eq!(codes(&report), ["SF007"], "{}", stringify(&report));
    assert!(string(&report, "diagnostics.0.message").contains("lib.star"));

    // A Promise from `read` is reported, not awaited.
    let promise = Function::new_with_args(
        "files",
        "return {
             read(path) { return path === 'lib.star' ? Promise.resolve(files[path]) : files[path]; },
             exists(path) { return path in files ? 'file' : path === '' ? 'dir' : null; },
         };",
    )
    .call1(&JsValue::NULL, &files(&entries))
    .unwrap();
    let report = workspace.check(&promise).unwrap();
    assert_eq!(codes(&report), ["SF007"], "{}", stringify(&report));
    let message = string(&report, "diagnostics.0.message");
    assert!(message.contains("returned a Promise"), "{message}");

    // And the module still works.
    assert_eq!(
        codes(&workspace.check(&valid_package()).unwrap()),
        Vec::<String>::new()
    );
}

fn throws_type_error(result: Result<impl Sized, JsValue>, needle: &str) {
    let Err(error) = result else {
        panic!("expected a TypeError about {needle}")
    };
    assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");
    let message = String::from(error.unchecked_into::<js_sys::Error>().message());
    assert!(message.contains(needle), "{message}");
}

#[wasm_bindgen_test]
fn bad_input_throws_a_type_error() {
    api();
    throws_type_error(
        Workspace::new(&js(r#"{"positionEncodng": "utf-8"}"#)),
        "did you mean `positionEncoding`",
    );
    throws_type_error(
        Workspace::new(&js(r#"{"positionEncoding": "utf-7"}"#)),
        "utf-7",
    );
    throws_type_error(Workspace::new(&js(r#"{"timeoutMs": -1}"#)), "timeoutMs");
    throws_type_error(Workspace::new(&js(r#"{"mainFile": 3}"#)), "mainFile");
    throws_type_error(Workspace::new(&JsValue::from_str("utf-16")), "options");
    let workspace = new_workspace("{}");
    throws_type_error(workspace.check(&JsValue::from(42)), "files");
    throws_type_error(workspace.check(&JsValue::NULL), "files");
    throws_type_error(workspace.check(&js(r#"{"main.star": 3}"#)), "main.star");
    throws_type_error(workspace.check(&js(r#"{"read": 1}"#)), "read");
    let read_only = Function::new_no_args("return { read() { return null; } }")
        .call0(&JsValue::NULL)
        .unwrap();
    throws_type_error(workspace.check(&read_only), "exists");
    // No options at all is fine, and an empty package is a diagnostic for each missing file.
    let bare = Workspace::new(&JsValue::UNDEFINED).unwrap();
    assert_eq!(bare.position_encoding(), "utf-16");
    assert_eq!(codes(&bare.check(&js("{}")).unwrap()), ["SF101", "SF007"]);
}

#[wasm_bindgen_test]
fn options_reach_the_check() {
    let main = "def go(plan, args):\n    return args[\"who\"]\n";
    let entries = [
        ("kurtosis.yml", "name: github.com/x/ignored\n"),
        ("src/entry.star", main),
    ];
    let workspace = new_workspace(
        r#"{"mainFile": "./src/entry.star", "mainFunction": "go", "args": {"who": "world"},
            "system": "aarch64-linux", "kurtosisYml": "name: github.com/x/override\n"}"#,
    );
    let report = workspace.check(&files(&entries)).unwrap();
    assert_eq!(
        codes(&report),
        Vec::<String>::new(),
        "{}",
        stringify(&report)
    );
    assert_eq!(string(&report, "plan.output"), "world");
    assert_eq!(string(&report, "plan.system"), "aarch64-linux");
    assert_eq!(string(&report, "plan.package"), "github.com/x/override");

    // Bad YAML arguments are reported against the origin the options name.
    let workspace = new_workspace(
        r#"{"mainFile": "src/entry.star", "mainFunction": "go", "args": "who: [", "argsOrigin": "args.yaml"}"#,
    );
    let report = workspace.check(&files(&entries)).unwrap();
    assert_eq!(codes(&report), ["SF010"]);
    assert_eq!(string(&report, "diagnostics.0.file"), "args.yaml");
}

#[wasm_bindgen_test]
fn version_rules_and_builtins() {
    api();
    assert_eq!(Workspace::version(), env!("CARGO_PKG_VERSION"));
    let rules = Workspace::rules().unchecked_into::<Array>();
    assert_eq!(
        rules.length() as usize,
        starflake::diagnostic::Rule::ALL.len()
    );
    let first = rules.get(0);
    for key in ["code", "name", "severity", "summary"] {
        assert!(get(&first, key).is_string(), "{key}");
    }
    assert!(rules.iter().any(|rule| string(&rule, "code") == "SF004"));
    let builtins = Workspace::builtins();
    let globals: Vec<String> = get(&builtins, "globals")
        .unchecked_into::<Array>()
        .iter()
        .map(|global| string(&global, "name"))
        .collect();
    assert!(
        globals.iter().any(|name| name == "NixBuildSpec"),
        "{globals:?}"
    );
    assert!(length(&builtins, "instructions") > 0);
}

fn memory_bytes() -> f64 {
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

#[wasm_bindgen_test]
fn two_thousand_checks_keep_memory_flat() {
    let workspace = new_workspace("{}");
    let package = valid_package();
    let broken = files(&[
        ("kurtosis.yml", MANIFEST),
        ("main.star", EMOJI_MAIN),
        ("app/flake.nix", FLAKE),
    ]);
    // Warm up: the allocator settles on its working set.
    for _ in 0..50 {
        workspace.check(&package).unwrap();
        workspace.analyze(&broken).unwrap();
    }
    let before = memory_bytes();
    for round in 0..2000 {
        let report = if round % 2 == 0 {
            workspace.check(&package)
        } else {
            workspace.check(&broken)
        };
        assert!(report.is_ok());
    }
    let after = memory_bytes();
    wasm_bindgen_test::console_log!(
        "linear memory: {before} bytes before, {after} after 2,000 checks"
    );
    // Linear memory only grows, in 64 KiB pages: a leak of even 1 KiB per check would add 30 pages.
    assert!(
        after - before <= 4.0 * 65536.0,
        "memory grew from {before} to {after} bytes over 2,000 checks"
    );
    workspace.free();
}

/// Every prefix of the test files (cut at each character) and odd arguments: whatever the input,
/// a check returns diagnostics; a panic would trap and fail the test.
#[wasm_bindgen_test]
fn truncated_and_odd_input_never_traps() {
    let workspace = new_workspace(r#"{"timeoutMs": 500}"#);
    let cuts = |text: &'static str| {
        text.char_indices()
            .map(move |(at, _)| &text[..at])
            .step_by(3)
    };
    for main in cuts(VALID_MAIN).chain(cuts(EMOJI_MAIN)) {
        let report = workspace.check(&files(&[
            ("kurtosis.yml", MANIFEST),
            ("main.star", main),
            ("app/flake.nix", FLAKE),
        ]));
        assert!(report.is_ok(), "main.star = {main:?}");
    }
    for flake in cuts(FLAKE) {
        let report = workspace.check(&files(&[
            ("kurtosis.yml", MANIFEST),
            ("main.star", VALID_MAIN),
            ("app/flake.nix", flake),
        ]));
        assert!(report.is_ok(), "flake.nix = {flake:?}");
    }
    for manifest in cuts(MANIFEST) {
        let report = workspace.check(&files(&[
            ("kurtosis.yml", manifest),
            ("main.star", VALID_MAIN),
            ("app/flake.nix", FLAKE),
        ]));
        assert!(report.is_ok(), "kurtosis.yml = {manifest:?}");
    }
    for args in [
        "",
        "null",
        "[]",
        "1",
        "\"x\"",
        "{",
        "a: [",
        "{\"a\": }",
        "- 1\n- 2",
        "\u{feff}{}",
        "{\"🚀\": 1}",
    ] {
        let options = Object::new();
        Reflect::set(
            &options,
            &JsValue::from_str("args"),
            &JsValue::from_str(args),
        )
        .unwrap();
        let workspace = Workspace::new(&options).unwrap();
        assert!(workspace.check(&valid_package()).is_ok(), "args = {args:?}");
    }
}

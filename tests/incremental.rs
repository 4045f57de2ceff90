//! Checking with a kept [`CheckCache`], as the language server does after each edit, gives
//! exactly what a fresh check gives: the same diagnostics and the same plan, whatever was
//! edited (a leaf module, an imported one, `main.star`, `kurtosis.yml`, a file read at the top
//! level), through errors, import cycles and deleted modules.

use std::collections::BTreeMap;
use std::path::Path;

use starflake::source::MemorySource;
use starflake::text::PositionEncoding;
use starflake::{ArgsInput, CheckCache, CheckOptions, CheckResult, check, check_with};

/// The files under `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("a readable fixture folder") {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let relative = path.strip_prefix(root).expect("under the root");
                files.insert(relative.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn fixture(name: &str) -> BTreeMap<String, String> {
    read_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

/// What a check shows: the terminal report, then the JSON report (diagnostics and plan).
fn shown(result: &CheckResult) -> String {
    let json = serde_json::to_string_pretty(&result.json_report(PositionEncoding::Utf16))
        .expect("the report serializes");
    format!("{}\n{json}", result.render_human(false))
}

/// Checks `files` with `cache` and on its own, and asserts both show the same.
fn assert_same(
    step: &str,
    files: &BTreeMap<String, String>,
    options: &CheckOptions,
    cache: &CheckCache,
) {
    let source: MemorySource = files.clone().into_iter().collect();
    let cached = shown(&check_with(&source, options, cache));
    let fresh = shown(&check(&source, options));
    pretty_assertions::assert_eq!(cached, fresh, "after: {step}");
}

/// `files` with `from` replaced by `to` in `path`, which must contain it.
fn edit(files: &mut BTreeMap<String, String>, path: &str, from: &str, to: &str) {
    let text = files
        .get_mut(path)
        .unwrap_or_else(|| panic!("{path} exists"));
    assert!(text.contains(from), "{path} contains {from:?}");
    *text = text.replacen(from, to, 1);
}

#[test]
fn edits_give_what_a_fresh_check_gives() {
    let mut files = fixture("incremental");
    let options = CheckOptions::default();
    let cache = CheckCache::new();
    let step = |name: &str, files: &BTreeMap<String, String>| {
        assert_same(name, files, &options, &cache);
        // Checking again unchanged reuses everything that can be.
        assert_same(&format!("{name}, checked again"), files, &options, &cache);
    };
    step("the first check", &files);

    edit(&mut files, "lib/config.star", "PORT = 8080", "PORT = 9090");
    step("a leaf module edited", &files);

    edit(
        &mut files,
        "lib/naming.star",
        "PREFIX = \"app\"",
        "PREFIX = \"svc\"",
    );
    step("a module imported by an imported module edited", &files);

    edit(
        &mut files,
        "lib/services.star",
        "[\"web\", \"api\"]",
        "[\"web\", \"api\", \"db\"]",
    );
    step("an imported module edited", &files);

    edit(
        &mut files,
        "main.star",
        "    return config.SETTINGS",
        "    plan.print(\"done\")\n    return config.SETTINGS",
    );
    step("main.star edited", &files);

    edit(
        &mut files,
        "lib/config.star",
        "IMAGE = \"nginx:1.25\"",
        "IMAGE = nginx",
    );
    step("an evaluation error in a leaf module", &files);
    edit(
        &mut files,
        "lib/config.star",
        "IMAGE = nginx",
        "IMAGE = \"nginx:1.27\"",
    );
    step("the evaluation error fixed", &files);

    edit(
        &mut files,
        "lib/naming.star",
        "def name(kind):",
        "def name(kind)",
    );
    step("a syntax error in a module imported twice over", &files);
    edit(
        &mut files,
        "lib/naming.star",
        "def name(kind)",
        "def name(kind):",
    );
    step("the syntax error fixed", &files);

    edit(
        &mut files,
        "lib/services.star",
        "    return plan.add_service(",
        "    return plan.add_service(\n        nme = name,",
    );
    step("a wrong argument in a function of a kept module", &files);
    edit(&mut files, "lib/services.star", "\n        nme = name,", "");
    step("the wrong argument removed", &files);

    edit(&mut files, "static/greeting.txt", "hello", "bonjour");
    step("a file read at a module's top level changed", &files);
    files.remove("static/greeting.txt");
    step("the file read at the top level deleted", &files);
    files.insert("static/greeting.txt".to_owned(), "hello again\n".to_owned());
    step("the file read at the top level back", &files);

    edit(
        &mut files,
        "kurtosis.yml",
        "github.com/test/incremental",
        "github.com/test/renamed",
    );
    step("the package renamed in kurtosis.yml", &files);
    files.insert(
        "kurtosis.yml".to_owned(),
        "name: github.com/test/renamed\nreplace:\n  github.com/test/other: ../other\n".to_owned(),
    );
    step("a replace added to kurtosis.yml", &files);

    edit(
        &mut files,
        "lib/config.star",
        "IMAGE = \"nginx:1.27\"",
        "services = import_module(\"./services.star\")\nIMAGE = \"nginx:1.27\"",
    );
    step("an import cycle", &files);
    edit(
        &mut files,
        "lib/config.star",
        "services = import_module(\"./services.star\")\n",
        "",
    );
    step("the import cycle broken", &files);

    let naming = files.remove("lib/naming.star").expect("naming.star exists");
    step("an imported module deleted", &files);
    files.insert("lib/naming.star".to_owned(), naming);
    step("the deleted module back", &files);

    edit(
        &mut files,
        "lib/legacy.star",
        "TAG = ",
        "print(IMAGE)\nTAG = ",
    );
    step("a builtin called at a module's top level", &files);
    edit(&mut files, "lib/legacy.star", "print(IMAGE)\n", "");
    step("the builtin call removed", &files);

    edit(
        &mut files,
        "main.star",
        "legacy = import_module(\"/lib/legacy.star\")",
        "legacy = import_module(\"/lib/missing.star\")",
    );
    step("an import of a module that does not exist", &files);
    edit(
        &mut files,
        "main.star",
        "legacy = import_module(\"/lib/missing.star\")",
        "legacy = import_module(\"/lib/legacy.star\")",
    );
    step("the import fixed", &files);

    edit(
        &mut files,
        "main.star",
        "config = import_module(\"/lib/config.star\")\n",
        "",
    );
    edit(&mut files, "main.star", "config.PORT", "8080");
    edit(
        &mut files,
        "main.star",
        "return config.SETTINGS",
        "return services.config.SETTINGS",
    );
    step("a module imported only through another", &files);
}

#[test]
fn package_arguments_and_entry_points_change_between_checks() {
    let files = fixture("incremental");
    let cache = CheckCache::new();
    assert_same("no arguments", &files, &CheckOptions::default(), &cache);
    let options = CheckOptions {
        args: Some(ArgsInput {
            origin: "--args".to_owned(),
            text: "{\"unknown\": 1}".to_owned(),
        }),
        ..CheckOptions::default()
    };
    assert_same("arguments given", &files, &options, &cache);
    let options = CheckOptions {
        main_function: "start".to_owned(),
        ..CheckOptions::default()
    };
    assert_same("another entry function", &files, &options, &cache);
    let options = CheckOptions {
        main_file: "lib/services.star".to_owned(),
        ..CheckOptions::default()
    };
    assert_same("another main file", &files, &options, &cache);
    let options = CheckOptions {
        packages_dir: Some("packages".to_owned()),
        ..CheckOptions::default()
    };
    assert_same("a packages folder", &files, &options, &cache);
}

/// Every golden fixture, checked twice with one cache: both checks give what a fresh check
/// gives. (Not those that run out of time: where they stop depends on the clock.)
#[test]
fn golden_fixtures_checked_again_give_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/fixtures/check exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.is_dir())
        .filter(|path| !path.to_string_lossy().contains("runaway"))
        .collect();
    cases.sort();
    for case in cases {
        let files = read_tree(&case);
        let args = ["args.json", "args.yaml"]
            .into_iter()
            .find_map(|name| Some((name, files.get(name)?)))
            .map(|(name, text)| ArgsInput {
                origin: name.to_owned(),
                text: text.clone(),
            });
        let options = CheckOptions {
            args,
            packages_dir: case
                .join("packages")
                .is_dir()
                .then(|| "packages".to_owned()),
            ..CheckOptions::default()
        };
        let cache = CheckCache::new();
        let name = case.file_name().unwrap_or_default().to_string_lossy();
        assert_same(&format!("{name}, first check"), &files, &options, &cache);
        assert_same(&format!("{name}, checked again"), &files, &options, &cache);
    }
}

//! The editor features of `starflake::ide`, on the package in `tests/fixtures/ide/package`
//! (a main file, modules, a flake) edited in memory. `|` in a test's text marks the cursor.

use std::path::Path;
use std::sync::OnceLock;

use starflake::builtins::{BuiltinKind, builtins};
use starflake::check::{CheckOptions, CheckResult, check};
use starflake::ide::{Analysis, Completion, CompletionKind, SymbolKind, Target};
use starflake::source::MemorySource;

const FIXTURE: &str = "tests/fixtures/ide/package";

/// The fixture package with `file` replaced by `marked` (without its `|`), and the offset of
/// the `|`. The check is of the fixture as saved: while the user types, the text rarely
/// parses, and the editor answers from the last check.
struct Editor {
    source: MemorySource,
    result: &'static CheckResult,
    file: String,
    offset: u32,
}

impl Editor {
    fn open(file: &str, marked: &str) -> Self {
        let offset = marked
            .find('|')
            .expect("the text marks the cursor with `|`") as u32;
        static CHECKED: OnceLock<CheckResult> = OnceLock::new();
        let result = CHECKED.get_or_init(|| check(&fixture(), &CheckOptions::default()));
        let mut source = fixture();
        source.insert(file, marked.replacen('|', "", 1));
        Editor {
            source,
            result,
            file: file.to_owned(),
            offset,
        }
    }

    fn analysis(&self) -> Analysis<'_> {
        Analysis::new(&self.source, self.result)
    }

    fn hover(&self) -> String {
        self.analysis()
            .hover(&self.file, self.offset)
            .map(|hover| hover.markdown)
            .unwrap_or_default()
    }

    fn completions(&self) -> Vec<Completion> {
        self.analysis().completions(&self.file, self.offset)
    }

    fn labels(&self, kind: CompletionKind) -> Vec<String> {
        self.completions()
            .into_iter()
            .filter(|item| item.kind == kind)
            .map(|item| item.label)
            .collect()
    }

    fn definition(&self) -> Vec<Target> {
        self.analysis().definition(&self.file, self.offset)
    }

    /// The text a target points at.
    fn target_text(&self, target: &Target) -> String {
        use starflake::source::SourceProvider;
        let text = self.source.read(&target.file).unwrap();
        text[target.span.start as usize..target.span.end as usize].to_owned()
    }
}

fn fixture() -> MemorySource {
    fn walk(dir: &Path, root: &Path, source: &mut MemorySource) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, source);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                source.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut source = MemorySource::new();
    walk(Path::new(FIXTURE), Path::new(FIXTURE), &mut source);
    source
}

fn main_star() -> String {
    std::fs::read_to_string(Path::new(FIXTURE).join("main.star")).unwrap()
}

/// `main.star` of the fixture with `|` inserted before the `nth` (0-based) occurrence of
/// `needle`, shifted by `shift` bytes.
fn main_at(needle: &str, shift: usize) -> String {
    let text = main_star();
    let at = text.find(needle).expect("needle in main.star") + shift;
    format!("{}|{}", &text[..at], &text[at..])
}

// ---- hover ----

#[test]
fn hover_on_an_instruction_shows_its_signature_and_every_argument() {
    let markdown = Editor::open("main.star", &main_at("add_service(", 2)).hover();
    assert!(markdown.contains("plan.add_service(name"), "{markdown}");
    assert!(markdown.contains("- `config`"), "{markdown}");
    assert!(
        markdown.contains("- `description` `str`, optional"),
        "{markdown}"
    );
}

#[test]
fn hover_on_a_keyword_argument_shows_its_type_requirement_and_documentation() {
    let markdown = Editor::open("main.star", &main_at("flake_output =", 1)).hover();
    assert!(markdown.contains("flake_output: str"), "{markdown}");
    assert!(
        markdown.contains("Argument of `NixBuildSpec`: optional."),
        "{markdown}"
    );
    assert!(markdown.contains("packages.<system>.default"), "{markdown}");
}

#[test]
fn hover_on_nix_build_spec_shows_the_image_as_the_plan_builds_it() {
    let markdown = Editor::open("main.star", &main_at("NixBuildSpec", 3)).hover();
    assert!(markdown.contains("image `api`"), "{markdown}");
    assert!(
        markdown.contains("flake reference `path:./nix/app#api`"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Nix tries `packages.x86_64-linux.api`, then"),
        "{markdown}"
    );
    assert!(markdown.contains("flake \"the api image\""), "{markdown}");
    assert!(
        markdown.contains("nix --extra-experimental-features 'nix-command flakes' build --no-link --json --log-format internal-json --system x86_64-linux path:./nix/app#api"),
        "{markdown}"
    );
}

#[test]
fn hover_answers_for_every_builtin_and_every_argument_of_the_table() {
    for info in builtins() {
        let callee = info.qualified_name();
        let marked = format!("def run(plan):\n    {callee}|()\n");
        let markdown = Editor::open("main.star", &marked).hover();
        assert!(
            markdown.contains(&format!("{callee}(")),
            "{callee}: {markdown}"
        );
        if !info.doc.is_empty() {
            assert!(markdown.contains(info.doc), "{callee}");
        }
        for param in &info.params {
            let marked = format!("def run(plan):\n    {callee}({}| = 1)\n", param.name);
            let markdown = Editor::open("main.star", &marked).hover();
            assert!(
                markdown.contains(&format!("Argument of `{callee}`")),
                "{callee}.{}: {markdown}",
                param.name
            );
            if !param.ty.is_empty() {
                assert!(markdown.contains(param.ty), "{callee}.{}", param.name);
            }
            if let Some(default) = param.default {
                assert!(markdown.contains(default), "{callee}.{}", param.name);
            }
        }
    }
}

#[test]
fn hover_on_a_module_member_shows_its_def_and_docstring() {
    let markdown = Editor::open("main.star", &main_at("add_web", 3)).hover();
    assert!(markdown.contains("def add_web(plan)"), "{markdown}");
    assert!(markdown.contains("Adds the web front end."), "{markdown}");
    assert!(markdown.contains("`lib/services.star`"), "{markdown}");
}

// ---- completion ----

#[test]
fn completion_after_plan_dot_at_the_end_of_a_line_offers_every_instruction() {
    let editor = Editor::open("main.star", "def run(plan):\n    plan.|\n");
    let instructions = editor.labels(CompletionKind::Instruction);
    assert_eq!(instructions, starflake::INSTRUCTION_NAMES);
    assert!(editor.labels(CompletionKind::Builtin).is_empty());
}

#[test]
fn completion_of_a_word_offers_globals_and_the_files_definitions() {
    let editor = Editor::open("main.star", "X = 1\ndef run(plan):\n    Nix|");
    let items = editor.completions();
    let nix = items
        .iter()
        .find(|item| item.label == "NixBuildSpec")
        .unwrap();
    assert_eq!(nix.kind, CompletionKind::Builtin);
    assert_eq!(nix.replace.start, editor.offset - 3);
    assert!(
        items
            .iter()
            .any(|item| item.label == "X" && item.kind == CompletionKind::Value)
    );
    assert!(
        items
            .iter()
            .any(|item| item.label == "run" && item.kind == CompletionKind::Function)
    );
}

#[test]
fn completion_in_an_unfinished_call_offers_the_keyword_arguments_not_yet_given() {
    let editor = Editor::open(
        "main.star",
        "def run(plan):\n    plan.add_service(name=\"x\", con|",
    );
    let arguments = editor.labels(CompletionKind::Argument);
    assert_eq!(arguments, ["config =", "force_update =", "description ="]);
    let config = editor
        .completions()
        .into_iter()
        .find(|item| item.label == "config =")
        .unwrap();
    assert_eq!(config.insert, "config = ");
}

#[test]
fn completion_offers_service_names_where_a_service_is_expected() {
    let editor = Editor::open(
        "main.star",
        &main_at("plan.upload_files", 0).replace("|", "plan.exec(service_name=|)\n    "),
    );
    let services: Vec<(String, String)> = editor
        .completions()
        .into_iter()
        .filter(|item| item.kind == CompletionKind::Service)
        .map(|item| (item.label, item.insert))
        .collect();
    assert_eq!(
        services,
        [
            ("web".to_owned(), "\"web\"".to_owned()),
            ("api".to_owned(), "\"api\"".to_owned())
        ]
    );
    let in_string = Editor::open(
        "main.star",
        &main_at("plan.upload_files", 0).replace("|", "plan.get_service(\"w|\")\n    "),
    );
    assert_eq!(in_string.labels(CompletionKind::Service), ["web", "api"]);
}

#[test]
fn completion_offers_the_port_ids_of_the_service_a_recipe_is_for() {
    let editor = Editor::open("main.star", &main_at("\"http\", endpoint", 1));
    assert_eq!(editor.labels(CompletionKind::Port), ["http", "metrics"]);
    let standalone = Editor::open(
        "main.star",
        &main_at("plan.upload_files", 0)
            .replace("|", "r = GetHttpRequestRecipe(port_id = \"|\")\n    "),
    );
    assert_eq!(
        standalone.labels(CompletionKind::Port),
        ["http", "metrics", "grpc"]
    );
}

#[test]
fn completion_offers_the_flakes_outputs_in_flake_output() {
    let editor = Editor::open("main.star", &main_at("\"api\",\n            ),", 1));
    let outputs = editor.labels(CompletionKind::FlakeOutput);
    assert_eq!(
        outputs,
        [
            "api",
            "default",
            "packages.x86_64-linux.api",
            "packages.x86_64-linux.default"
        ]
    );
}

#[test]
fn completion_offers_paths_relative_to_the_calling_file_or_the_root() {
    let relative = Editor::open("main.star", "m = import_module(\"./lib/|\")\n");
    let modules: Vec<String> = relative
        .completions()
        .into_iter()
        .map(|item| item.label)
        .collect();
    assert_eq!(modules, ["helpers.star", "services.star"]);

    let rooted = Editor::open("lib/helpers.star", "t = read_file(\"/|\")\n");
    let labels: Vec<(String, CompletionKind, String)> = rooted
        .completions()
        .into_iter()
        .map(|item| (item.label, item.kind, item.insert))
        .collect();
    assert!(labels.contains(&("lib".to_owned(), CompletionKind::Folder, "lib/".to_owned())));
    assert!(labels.contains(&(
        "kurtosis.yml".to_owned(),
        CompletionKind::File,
        "kurtosis.yml".to_owned()
    )));

    let from_module = Editor::open("lib/helpers.star", "t = read_file(\"|\")\n");
    let labels: Vec<String> = from_module
        .completions()
        .into_iter()
        .map(|item| item.label)
        .collect();
    assert_eq!(labels, ["helpers.star", "services.star"]);
}

#[test]
fn completion_of_flake_location_dir_lists_folders_of_the_build_context() {
    let editor = Editor::open(
        "main.star",
        &main_at("app\",\n                flake_output", 0),
    );
    let folders = editor.labels(CompletionKind::Folder);
    assert_eq!(folders, ["app"]);
    assert!(editor.labels(CompletionKind::File).is_empty());
}

#[test]
fn completion_after_a_module_name_offers_its_functions_and_values() {
    let editor = Editor::open("main.star", &main_at("add_web(plan)", 0));
    let items = editor.completions();
    let names: Vec<(&str, CompletionKind)> = items
        .iter()
        .map(|item| (item.label.as_str(), item.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("WEB_PORT", CompletionKind::Value),
            ("add_web", CompletionKind::Function)
        ]
    );
}

#[test]
fn completion_offers_nothing_in_comments() {
    let editor = Editor::open("main.star", "# plan.|\n");
    assert!(editor.completions().is_empty());
}

// ---- signature help ----

#[test]
fn signature_help_follows_positional_and_keyword_arguments() {
    let editor = Editor::open("main.star", "def run(plan):\n    plan.exec(\"web\", |");
    let help = editor
        .analysis()
        .signature_help("main.star", editor.offset)
        .unwrap();
    assert!(
        help.label.starts_with("plan.exec(service_name"),
        "{}",
        help.label
    );
    let active = &help.params[help.active_param.unwrap()];
    assert!(
        help.label[active.label.start as usize..active.label.end as usize].starts_with("recipe")
    );

    let keyword = Editor::open(
        "main.star",
        "def run(plan):\n    plan.exec(recipe = x, service_name = |",
    );
    let help = keyword
        .analysis()
        .signature_help("main.star", keyword.offset)
        .unwrap();
    let active = &help.params[help.active_param.unwrap()];
    assert!(
        help.label[active.label.start as usize..active.label.end as usize]
            .starts_with("service_name")
    );

    let typing = Editor::open(
        "main.star",
        "def run(plan):\n    plan.add_service(name=\"x\", con|",
    );
    let help = typing
        .analysis()
        .signature_help("main.star", typing.offset)
        .unwrap();
    let active = &help.params[help.active_param.unwrap()];
    assert!(
        help.label[active.label.start as usize..active.label.end as usize].starts_with("config")
    );
}

#[test]
fn signature_help_is_the_innermost_builtin_call() {
    let editor = Editor::open(
        "main.star",
        "def run(plan):\n    plan.add_service(name = \"x\", config = ServiceConfig(image = \"a\", |))",
    );
    let help = editor
        .analysis()
        .signature_help("main.star", editor.offset)
        .unwrap();
    assert!(help.label.starts_with("ServiceConfig("), "{}", help.label);
}

#[test]
fn signature_help_answers_for_every_builtin() {
    for info in builtins() {
        let callee = info.qualified_name();
        let editor = Editor::open("main.star", &format!("def run(plan):\n    {callee}(|"));
        let help = editor
            .analysis()
            .signature_help("main.star", editor.offset)
            .unwrap();
        assert!(help.label.starts_with(&format!("{callee}(")), "{callee}");
        assert_eq!(help.params.len(), info.params.len(), "{callee}");
        assert_eq!(help.active_param, (!info.variadic).then_some(0), "{callee}");
        let expected_kind = if callee.starts_with("plan.") {
            BuiltinKind::Instruction
        } else {
            BuiltinKind::Global
        };
        assert_eq!(info.kind, expected_kind);
    }
}

// ---- definition ----

#[test]
fn definition_of_a_locator_is_its_file() {
    let editor = Editor::open("main.star", &main_at("./lib/services", 3));
    assert_eq!(
        editor.definition(),
        [Target {
            file: "lib/services.star".to_owned(),
            span: Default::default()
        }]
    );
    let upload = Editor::open("main.star", &main_at("./static/index", 3));
    assert_eq!(upload.definition()[0].file, "static/index.html");
}

#[test]
fn definition_of_flake_location_dir_is_the_flake() {
    let editor = Editor::open(
        "main.star",
        &main_at("app\",\n                flake_output", 1),
    );
    assert_eq!(editor.definition()[0].file, "nix/app/flake.nix");
}

#[test]
fn definition_of_flake_output_is_the_attribute_in_the_flake() {
    let editor = Editor::open("main.star", &main_at("\"api\",\n            ),", 2));
    let targets = editor.definition();
    assert_eq!(targets[0].file, "nix/app/flake.nix");
    assert_eq!(editor.target_text(&targets[0]), "api");
}

#[test]
fn definition_of_a_module_member_is_its_def() {
    let editor = Editor::open("main.star", &main_at("add_web(plan)", 2));
    let targets = editor.definition();
    assert_eq!(targets[0].file, "lib/services.star");
    assert_eq!(editor.target_text(&targets[0]), "add_web");
}

#[test]
fn definition_of_a_local_function_is_its_def() {
    let editor = Editor::open(
        "main.star",
        "def helper():\n    pass\n\ndef run(plan):\n    help|er()\n",
    );
    let targets = editor.definition();
    assert_eq!(targets[0].file, "main.star");
    assert_eq!(targets[0].span.start, 4);
}

// ---- document symbols ----

#[test]
fn document_symbols_are_the_definitions_and_the_services_each_adds() {
    let editor = Editor::open(
        "lib/services.star",
        &format!(
            "|{}",
            std::fs::read_to_string(Path::new(FIXTURE).join("lib/services.star")).unwrap()
        ),
    );
    let symbols = editor.analysis().document_symbols("lib/services.star");
    let outline: Vec<(&str, SymbolKind, Vec<&str>)> = symbols
        .iter()
        .map(|symbol| {
            (
                symbol.name.as_str(),
                symbol.kind,
                symbol
                    .children
                    .iter()
                    .map(|child| child.name.as_str())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        outline,
        [
            ("WEB_PORT", SymbolKind::Value, vec![]),
            ("add_web", SymbolKind::Function, vec!["web"]),
        ]
    );
    let web = &symbols[1].children[0];
    assert_eq!(web.kind, SymbolKind::Service);
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("lib/services.star")).unwrap();
    let call = &text[web.span.start as usize..web.span.end as usize];
    assert!(
        call.starts_with("plan.add_service(") && call.ends_with(')'),
        "{call}"
    );
}

#[test]
fn document_symbols_of_a_file_being_edited_keep_the_statements_that_parse() {
    let editor = Editor::open(
        "main.star",
        "|A = 1\n\ndef broken(plan):\n    plan.add_service(name=\"x\", con\n\ndef fine():\n    pass\n",
    );
    let names: Vec<String> = editor
        .analysis()
        .document_symbols("main.star")
        .into_iter()
        .map(|symbol| symbol.name)
        .collect();
    assert_eq!(names, ["A", "fine"]);
}

#[test]
fn files_that_are_not_starlark_get_no_answers() {
    let editor = Editor::open("nix/app/flake.nix", "{ outputs = { self }: { packages.|");
    assert!(editor.completions().is_empty());
    assert!(
        editor
            .analysis()
            .hover("nix/app/flake.nix", editor.offset - 3)
            .is_none()
    );
    assert!(
        editor
            .analysis()
            .document_symbols("kurtosis.yml")
            .is_empty()
    );
}

// ---- robustness ----

#[test]
fn no_question_panics_at_any_offset_of_any_prefix_of_the_files() {
    let files = ["main.star", "lib/services.star"];
    for file in files {
        let full = std::fs::read_to_string(Path::new(FIXTURE).join(file)).unwrap();
        // Every prefix (as while typing), cut at every 7th byte to keep the test quick.
        for cut in (0..=full.len())
            .step_by(7)
            .filter(|&cut| full.is_char_boundary(cut))
        {
            let text = format!("{}🚀|", &full[..cut]);
            let editor = Editor::open(file, &text);
            let analysis = editor.analysis();
            let len = text.len() as u32;
            for offset in [
                0,
                editor.offset / 2,
                editor.offset - 1,
                editor.offset,
                len + 10,
            ] {
                let bounded =
                    |span: starflake::text::Span| span.start <= span.end && span.end <= len;
                if let Some(hover) = analysis.hover(file, offset) {
                    assert!(bounded(hover.span));
                }
                for item in analysis.completions(file, offset) {
                    assert!(bounded(item.replace), "{file} {cut} {offset} {item:?}");
                }
                analysis.signature_help(file, offset);
                analysis.definition(file, offset);
            }
            for symbol in analysis.document_symbols(file) {
                assert!(symbol.span.end <= len);
            }
        }
    }
}

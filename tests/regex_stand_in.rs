//! `vendor/regex` puts regex-lite behind regex's API for the whole dependency graph (see its
//! README). starlark is the one crate that matches text with it at run time, to parse
//! docstrings: these tests go through every pattern it compiles, so a pattern regex-lite cannot
//! take fails here rather than as a panic inside the wasm module.

use starlark::docs::{DocString, DocStringKind};
use starlark::environment::{Globals, Module};
use starlark::eval::Evaluator;
use starlark::syntax::{AstModule, Dialect};

const GREETER: &str = r#"
def greet(name, loud = False):
    """Says hello.

    Picks the words with care.

    Args:
        name: who to greet,
          on two lines
        loud: shout it

    Returns:
        the greeting
    """
    return "hi " + name
"#;

#[test]
fn starlark_docstrings_split_into_summary_arguments_and_returns() {
    let ast = AstModule::parse("greeter.star", GREETER.to_owned(), &Dialect::Standard).unwrap();
    let module = Module::with_temp_heap(|module| {
        let mut eval = Evaluator::new(&module);
        eval.eval_module(ast, &Globals::standard()).unwrap();
        drop(eval);
        module.freeze().unwrap()
    });
    let docs = format!("{:?}", module.documentation());
    for expected in [
        "Says hello.",
        "Picks the words with care.",
        "who to greet, on two lines",
        "shout it",
        "the greeting",
    ] {
        assert!(docs.contains(expected), "no {expected:?} in {docs}");
    }
    assert!(!docs.contains("Args:"), "the Args: section stays in {docs}");
}

#[test]
fn rust_docstrings_lose_hidden_lines_of_rust_code_blocks_only() {
    let text = "Adds one.\n\nDetails.\n\n```\n# use hidden;\nshown();\n```\n\n```python\n# a comment\n```\n";
    let docs = DocString::from_docstring(DocStringKind::Rust, text).unwrap();
    assert_eq!(docs.summary, "Adds one.");
    let details = docs.details.unwrap();
    assert!(!details.contains("use hidden"), "{details}");
    assert!(details.contains("shown();"), "{details}");
    assert!(details.contains("# a comment"), "{details}");
}

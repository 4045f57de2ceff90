//! The limits of one check (`starflake::limits`), on in-memory packages: input past them gets
//! its own diagnostic, at the place the limit is passed, and the check answers at once.
//! (The golden fixtures `invalid-nesting-too-deep`, `invalid-memory-limit*` show the full
//! reports; `cargo bench --bench hostile` measures time and memory of a release build.)

use std::time::{Duration, Instant};

use starflake::diagnostic::{Diagnostic, Rule};
use starflake::limits::{MAX_IMPORT_DEPTH, MAX_NESTING};
use starflake::source::MemorySource;
use starflake::{CheckOptions, check};

const MANIFEST: &str = "name: github.com/starflake-tests/limits\n";

/// Checks `files` (with a manifest) within a 2 s deadline; the check must answer well before
/// 5 s, even in a debug build.
fn diagnostics(files: &[(String, String)]) -> Vec<Diagnostic> {
    let mut source = MemorySource::new().with("kurtosis.yml", MANIFEST);
    for (path, text) in files {
        source.insert(path, text.clone());
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(2);
    let options = CheckOptions {
        interrupt: Some(Box::new(move || Instant::now() > deadline)),
        ..CheckOptions::default()
    };
    let result = check(&source, &options);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    result.diagnostics
}

fn main_star(text: String) -> Vec<Diagnostic> {
    diagnostics(&[("main.star".to_owned(), text)])
}

fn only(diagnostics: &[Diagnostic], rule: Rule) -> &Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].rule, rule, "{diagnostics:#?}");
    &diagnostics[0]
}

#[test]
fn fifty_thousand_nested_parentheses_stop_at_the_one_past_the_limit() {
    let text = format!(
        "def run(plan, args):\n    x = {}1{}\n",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let found = main_star(text);
    let diagnostic = only(&found, Rule::NestingTooDeep);
    let prefix = "def run(plan, args):\n    x = ";
    assert_eq!(
        diagnostic.span.start as usize,
        prefix.len() + MAX_NESTING - 1
    );
}

#[test]
fn every_kind_of_deep_nesting_is_refused_before_parsing() {
    let run = |body: String| format!("def run(plan, args):\n    x = {body}\n");
    let cases = [
        run(format!("{}{}", "[".repeat(20_000), "]".repeat(20_000))),
        run(vec!["1"; 200_000].join(" + ")),
        run(format!("{}1", "-".repeat(100_000))),
        run(format!("args{}", ".a".repeat(100_000))),
        run(format!("str{}", "()".repeat(100_000))),
        run(format!(
            "{}1{}",
            "{\"a\": ".repeat(10_000),
            "}".repeat(10_000)
        )),
        // One space per level keeps the file under the size limit.
        (1..=2_000)
            .map(|level| format!("{}if True:\n", " ".repeat(level)))
            .fold("def run(plan, args):\n".to_owned(), |text, line| {
                text + &line
            })
            + &" ".repeat(2_001)
            + "pass\n",
    ];
    for text in cases {
        only(&main_star(text), Rule::NestingTooDeep);
    }
}

#[test]
fn modules_importing_each_other_too_deep_stop_at_the_import_past_the_limit() {
    let count = MAX_IMPORT_DEPTH + 20;
    let mut files: Vec<(String, String)> = (0..count)
        .map(|index| {
            let text = match index + 1 < count {
                true => format!(
                    "next = import_module(\"/m{}.star\")\nvalue = next.value + 1\n",
                    index + 1
                ),
                false => "value = 0\n".to_owned(),
            };
            (format!("m{index}.star"), text)
        })
        .collect();
    files.push((
        "main.star".to_owned(),
        "m = import_module(\"/m0.star\")\n\ndef run(plan, args):\n    return m.value\n".to_owned(),
    ));
    let found = diagnostics(&files);
    let diagnostic = found
        .iter()
        .find(|d| d.rule == Rule::NestingTooDeep)
        .unwrap_or_else(|| panic!("{found:#?}"));
    // main.star and m0 ..= m{MAX - 2} are MAX modules being evaluated at once: the import in
    // the last of them is the one refused.
    assert_eq!(diagnostic.file, format!("m{}.star", MAX_IMPORT_DEPTH - 2));
}

#[test]
fn a_huge_repetition_is_refused_before_it_is_made() {
    for expression in [
        "[0] * 1000000000",
        "'a' * 2000000000",
        "1000000000 * (0,)",
        "['x'] * 100000000000000",
        // Small on the heap (one string shared), a gigabyte once joined or printed.
        "['a' * 1000000] * 1000",
        "[[0] * 10000] * 10000",
    ] {
        let found = main_star(format!(
            "def run(plan, args):\n    x = 1\n    y = {expression}\n"
        ));
        let diagnostic = only(&found, Rule::MemoryLimit);
        // At the repetition itself.
        assert_eq!(
            diagnostic.span.start as usize,
            "def run(plan, args):\n    x = 1\n    y = ".len(),
            "{expression}"
        );
    }
}

#[test]
fn a_string_method_that_would_pass_the_budget_is_refused_before_it_runs() {
    // Each value is within the budget (`s` 1 MiB, `l` 256 references to it, `a` 5 MB); each
    // call would make more than the budget of them.
    let setup = "def run(plan, args):\n    s = 'ab' * 524288\n    l = [s] * 16\n    l = l + l + l + l + l + l + l + l + l + l + l + l + l + l + l + l\n    a = 'a' * 5000000\n    y = ";
    let cases = [
        (
            format!(
                "'aaaa'{}",
                format!(".replace('a', '{}')", "a".repeat(1024)).repeat(3)
            ),
            "a chain of constants, which starlark would fold while compiling",
        ),
        ("s.replace('a', 'x' * 300)".to_owned(), "one replacement"),
        ("s.join(['x'] * 200)".to_owned(), "a long separator"),
        (format!("'{}'.format(*l)", "{}".repeat(256)), "format"),
        (
            format!("'{}'.format(s)", "{0}".repeat(200)),
            "one argument printed many times",
        ),
        (
            "'{}'.format(l)".to_owned(),
            "a value printed with what it holds",
        ),
        (
            format!("'{}' % tuple(l)", "%s".repeat(256)),
            "a percent format",
        ),
        (
            format!("'{}' % {{'a': s}}", "%(a)s".repeat(200)),
            "a keyed percent format",
        ),
        ("a.split('a')".to_owned(), "pieces that each take a string"),
        (
            "a.replace('a', 'a ').split()".to_owned(),
            "a whitespace split",
        ),
        (
            "a.elems()".to_owned(),
            "the characters, as a list of them would take",
        ),
    ];
    for (call, why) in cases {
        let found = main_star(format!("{setup}{call}\n"));
        assert_eq!(found.len(), 1, "{why}: {call}: {found:#?}");
        assert_eq!(
            found[0].rule,
            Rule::MemoryLimit,
            "{why}: {call}: {found:#?}"
        );
        assert_eq!(found[0].span.start as usize, setup.len(), "{why}: {call}");
        assert!(
            found[0].message.contains("this value would take"),
            "{why}: sized before it is made: {found:#?}"
        );
    }
}

#[test]
fn a_string_method_taken_as_a_value_is_sized_when_called() {
    let setup = "def run(plan, args):\n    s = 'ab' * 524288\n";
    let cases = [
        (
            "f = s.replace\n    y = f('a', 'x' * 300)",
            "a method in a variable",
        ),
        ("y = (s.join)(['x'] * 200)", "a method in parentheses"),
        ("f = getattr(s, 'join')\n    y = f(['x'] * 200)", "getattr"),
        (
            "t = struct(f = s.replace)\n    y = t.f('a', 'x' * 300)",
            "a method in a struct",
        ),
    ];
    for (code, why) in cases {
        let text = format!("{setup}    {code}\n");
        let found = main_star(text.clone());
        let diagnostic = only(&found, Rule::MemoryLimit);
        // Sized before the call made it, not found by the heap check after.
        assert!(
            diagnostic.message.contains("this value would take"),
            "{why}: {diagnostic:#?}"
        );
        let call_line = text[..diagnostic.span.start as usize].lines().count();
        assert_eq!(call_line, text.lines().count(), "{why}: {code}");
    }
    // A method taken on a module's top level is frozen with it, and still sized in `run`.
    let found = diagnostics(&[
        (
            "lib.star".to_owned(),
            "REPLACE = ('ab' * 524288).replace\n".to_owned(),
        ),
        (
            "main.star".to_owned(),
            "lib = import_module('/lib.star')\n\ndef run(plan, args):\n    return lib.REPLACE('a', 'x' * 300)\n"
                .to_owned(),
        ),
    ]);
    let diagnostic = only(&found, Rule::MemoryLimit);
    assert!(
        diagnostic.message.contains("this value would take"),
        "{diagnostic:#?}"
    );
}

#[test]
fn string_methods_taken_as_values_still_work() {
    let found = main_star(
        "def run(plan, args):\n    f = 'banana'.replace\n    if (\n        f('a', 'o', 2) != 'bonona'\n        or getattr('a,b', 'split')(',') != ['a', 'b']\n        or getattr(1, 'replace', None) != None\n        or getattr(struct(x = 2), 'x') != 2\n        or type(f) != 'function'\n        or str(f) != str('banana'.upper).replace('upper', 'replace')\n        or not hasattr('a', 'join')\n    ):\n        fail('wrong')\n".to_owned(),
    );
    assert!(found.is_empty(), "{found:#?}");
    let found = main_star("def run(plan, args):\n    return getattr(1, 'replace')\n".to_owned());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .message
            .contains("`.replace` not supported on type `int`"),
        "{found:#?}"
    );
}

#[test]
fn a_list_holding_itself_is_printed_once() {
    let found = main_star(
        "def run(plan, args):\n    x = [1]\n    x.append(x)\n    if '{}'.format(x) != '[1, [...]]':\n        fail('printed ' + '{}'.format(x))\n".to_owned(),
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn ordinary_string_methods_still_work() {
    let found = main_star(
        "def run(plan, args):\n    parts = 'a,b,,c'.split(',')\n    if (\n        ','.join(parts) != 'a,b,,c'\n        or 'banana'.replace('a', 'o', 2) != 'bonona'\n        or '{}-{x}'.format(1, x = 'y') != '1-y'\n        or 'a b'.split() != ['a', 'b']\n        or 'a\\nb'.splitlines() != ['a', 'b']\n        or list('ab'.elems()) != ['a', 'b']\n        or '%s/%d' % ('p', 2) != 'p/2'\n    ):\n        fail('wrong')\n    return {'x': 1}.get('x')\n".to_owned(),
    );
    assert!(found.is_empty(), "{found:#?}");
    // A receiver without the method says so as before.
    let found = main_star("def run(plan, args):\n    return (1).replace('a', 'b')\n".to_owned());
    let diagnostic = only(&found, Rule::UnknownAttribute);
    assert!(diagnostic.message.contains("replace"), "{diagnostic:#?}");
}

#[test]
fn values_growing_step_by_step_stop_at_the_statement_past_the_budget() {
    let found = main_star(
        "def run(plan, args):\n    s = 'ab'\n    for i in range(64):\n        s = s + s\n"
            .to_owned(),
    );
    only(&found, Rule::MemoryLimit);
    let found = main_star(
        "def run(plan, args):\n    x = 3\n    for i in range(64):\n        x = x * x\n".to_owned(),
    );
    only(&found, Rule::MemoryLimit);
}

#[test]
fn ordinary_products_still_work() {
    let found = main_star(
        "def run(plan, args):\n    return ('ab' * 3, [1] * 2, 6 * 7, 2 * 1.5, (1,) * 2, 10000000000 * 3, [{'a': 1}] * 3, ['ab' * 100] * 100)\n".to_owned(),
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_range_longer_than_a_check_goes_through_is_refused_at_the_call() {
    for expression in [
        "list(range(1000000000))",
        "max(range(-5, 2000000000, 1))",
        "range(0, -2000000000, -1)",
    ] {
        let found = main_star(format!("def run(plan, args):\n    return {expression}\n"));
        let diagnostic = only(&found, Rule::RunawayEvaluation);
        assert!(
            diagnostic.message.starts_with("this range has"),
            "{}",
            diagnostic.message
        );
    }
    let found = main_star(
        "def run(plan, args):\n    return len(range(0, 8388608, 2)) + len(range(5, 0, -1))\n"
            .to_owned(),
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_starlark_file_past_the_size_limit_is_not_parsed() {
    let found = main_star(format!(
        "# {}\ndef run(plan, args):\n    pass\n",
        "a".repeat(starflake::limits::MAX_MODULE_BYTES)
    ));
    only(&found, Rule::FileTooLarge);
}

#[test]
fn a_module_value_nested_past_the_limit_is_refused_before_it_is_frozen() {
    let found = main_star(format!(
        "def deep():\n    x = []\n    for i in range({}):\n        x = [x]\n    return x\n\nDEEP = deep()\n\ndef run(plan, args):\n    return str(DEEP)\n",
        starflake::limits::MAX_VALUE_DEPTH
    ));
    let diagnostic = only(&found, Rule::NestingTooDeep);
    assert!(
        diagnostic.message.contains("`DEEP`"),
        "{}",
        diagnostic.message
    );
    // One level less is an ordinary value.
    let found = main_star(format!(
        "def deep():\n    x = []\n    for i in range({}):\n        x = [x]\n    return x\n\nDEEP = deep()\n\ndef run(plan, args):\n    return len(DEEP)\n",
        starflake::limits::MAX_VALUE_DEPTH - 1
    ));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_fail_message_shows_at_most_a_thousand_characters() {
    let found = main_star("def run(plan, args):\n    fail('x' * 100000)\n".to_owned());
    let diagnostic = only(&found, Rule::EvaluationError);
    assert!(
        diagnostic.message.len() < 1100
            && diagnostic.message.ends_with("(100001 characters in all)"),
        "{}",
        diagnostic.message
    );
}

/// Checks `main.star` with `args` and `manifest` in place of the usual ones.
fn with_args_and_manifest(main: &str, args: Option<&str>, manifest: &str) -> Vec<Diagnostic> {
    let source = MemorySource::new()
        .with("kurtosis.yml", manifest)
        .with("main.star", main);
    let options = CheckOptions {
        args: args.map(|text| starflake::ArgsInput {
            origin: "args.json".to_owned(),
            text: text.to_owned(),
        }),
        ..CheckOptions::default()
    };
    check(&source, &options).diagnostics
}

const RETURN_ARGS: &str = "def run(plan, args):\n    return args\n";

#[test]
fn a_json_number_past_what_starlark_holds_is_a_diagnostic() {
    for text in ["1e999", "-1e400"] {
        let found = main_star(format!(
            "def run(plan, args):\n    return json.decode('{text}')\n"
        ));
        let diagnostic = only(&found, Rule::EvaluationError);
        assert!(
            diagnostic.message.contains("out of the range of a float"),
            "{diagnostic:#?}"
        );
        let args = format!("{{\"a\": [1, {text}]}}");
        let found = with_args_and_manifest(RETURN_ARGS, Some(&args), MANIFEST);
        let diagnostic = only(&found, Rule::InvalidArgs);
        let at = args.find(text).unwrap() as u32;
        assert_eq!(
            (diagnostic.span.start, diagnostic.span.end),
            (at, at + text.len() as u32)
        );
    }
    let digits = "9".repeat(200_000);
    let found = main_star(format!(
        "def run(plan, args):\n    return json.decode('{digits}')\n"
    ));
    assert!(
        only(&found, Rule::EvaluationError)
            .message
            .contains("digits")
    );
    // What fits still decodes, big ints included.
    let found = with_args_and_manifest(
        "def run(plan, args):\n    if json.decode('[123456789012345678901234567890, 1.5e300]')[0] != 123456789012345678901234567890:\n        fail('wrong')\n",
        Some("{\"big\": 123456789012345678901234567890}"),
        MANIFEST,
    );
    assert_eq!(found, [], "{found:#?}");
}

#[test]
fn arguments_and_manifest_nested_past_the_limit_are_not_parsed() {
    let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let start = Instant::now();
    let found = with_args_and_manifest(RETURN_ARGS, Some(&deep), MANIFEST);
    let diagnostic = only(&found, Rule::InvalidArgs);
    assert!(
        diagnostic.message.contains("nested too deeply"),
        "{diagnostic:#?}"
    );
    // The bracket that opens level MAX_NESTING + 1: `{` is the first level.
    assert_eq!(
        diagnostic.span.start as usize,
        "{\"a\": ".len() + MAX_NESTING - 1
    );
    let manifest = format!(
        "{MANIFEST}x: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let found = with_args_and_manifest(RETURN_ARGS, None, &manifest);
    assert!(
        found
            .iter()
            .any(|diagnostic| diagnostic.rule == Rule::PackageManifest
                && diagnostic.file == "kurtosis.yml"
                && diagnostic.message.contains("nested too deeply")),
        "{found:#?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    // Brackets inside quoted scalars, and an apostrophe in plain text, are not nesting.
    let quoted = format!(
        "name: 'it''s {}'\nlist: [\"{}\", it's]\n",
        "[".repeat(200),
        "{".repeat(200)
    );
    let found = with_args_and_manifest(RETURN_ARGS, Some(&quoted), MANIFEST);
    assert_eq!(found, [], "{found:#?}");
}

#[test]
fn arguments_past_the_size_limit_are_not_parsed() {
    let huge = format!(
        "{{\"a\": \"{}\"}}",
        "x".repeat(starflake::limits::MAX_CONFIG_BYTES)
    );
    let found = with_args_and_manifest(RETURN_ARGS, Some(&huge), MANIFEST);
    assert!(only(&found, Rule::InvalidArgs).message.contains("KiB"));
}

#[test]
fn a_missing_main_file_is_an_error_of_its_own() {
    let source = MemorySource::new().with("kurtosis.yml", MANIFEST);
    let found = check(&source, &CheckOptions::default()).diagnostics;
    let diagnostic = only(&found, Rule::FileNotFound);
    assert_eq!(diagnostic.file, "main.star");
}

/// `def f0(x): return f1(x) + 1` ... `def f{depth}(x): return x`, called from `run`.
fn call_chain(depth: usize) -> String {
    let mut text = String::new();
    for level in 0..depth {
        text.push_str(&format!(
            "def f{level}(x):\n    return f{}(x) + 1\n",
            level + 1
        ));
    }
    text.push_str(&format!("def f{depth}(x):\n    return x\n"));
    text.push_str("def run(plan, args):\n    return f0(0)\n");
    text
}

#[test]
fn a_long_chain_of_distinct_calls_is_not_taken_for_recursion() {
    // starlark-rust stops at 50 calls by default; Kurtosis's Starlark refuses only recursion.
    let found = main_star(call_chain(starflake::limits::MAX_CALL_DEPTH - 3));
    assert_eq!(found, [], "{found:#?}");
    let found = main_star(call_chain(starflake::limits::MAX_CALL_DEPTH + 1));
    assert!(
        only(&found, Rule::DialectViolation)
            .help
            .as_deref()
            .is_some_and(|help| help.contains("calls nest more than")),
        "{found:#?}"
    );
}

/// `main.star` adding 200 services that share one dict of environment variables holding
/// `blob_bytes` bytes: small on the heap, the whole dict in each step of the plan.
fn services_sharing_one_env(blob_bytes: usize) -> String {
    format!(
        "def run(plan, args):\n    env = {{\"BLOB\": \"x\" * {blob_bytes}}}\n    for index in range(200):\n        plan.add_service(name = \"web-%d\" % index, config = ServiceConfig(image = \"nginx\", env_vars = env))\n"
    )
}

#[test]
fn plan_steps_past_the_budget_stop_at_the_step_that_passes_it() {
    let main = services_sharing_one_env(8_000_000);
    // Counting 128 MiB of steps takes seconds in a debug build: a deadline of its own.
    let source = MemorySource::new()
        .with("kurtosis.yml", MANIFEST)
        .with("main.star", main.as_str());
    let deadline = Instant::now() + Duration::from_secs(120);
    let options = CheckOptions {
        interrupt: Some(Box::new(move || Instant::now() > deadline)),
        ..CheckOptions::default()
    };
    let diagnostics = check(&source, &options).diagnostics;
    let memory = only(&diagnostics, Rule::MemoryLimit);
    assert!(
        memory
            .message
            .contains("the plan's steps would take more than 128 MiB"),
        "{}",
        memory.message
    );
    let add_service = main.find("plan.add_service").unwrap() as u32;
    assert_eq!(memory.span.start, add_service, "{memory:?}");
}

#[test]
fn a_plan_within_the_budget_keeps_every_step() {
    let source = MemorySource::new()
        .with("kurtosis.yml", MANIFEST)
        .with("main.star", services_sharing_one_env(100_000));
    let result = check(&source, &CheckOptions::default());
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    assert_eq!(result.plan.steps.len(), 200);
}

#[test]
fn a_message_quoting_a_huge_value_shows_two_thousand_characters_of_it() {
    let main = "def run(plan, args):\n    plan.add_service(name = \"a\" * 10000000, config = ServiceConfig(image = \"nginx\"))\n";
    let found = main_star(main.to_owned());
    assert!(!found.is_empty());
    for diagnostic in &found {
        let texts = [&diagnostic.message]
            .into_iter()
            .chain(&diagnostic.help)
            .chain(diagnostic.labels.iter().map(|label| &label.message));
        for text in texts {
            assert!(text.chars().count() < 2100, "{} characters", text.len());
        }
    }
    assert!(
        found
            .iter()
            .any(|diagnostic| diagnostic.message.ends_with("characters in all)")),
        "{found:#?}"
    );
}

#[test]
fn int_of_more_digits_than_a_number_holds_is_refused_before_parsing() {
    let found = main_star("def run(plan, args):\n    return int(\"9\" * 4000000)\n".to_owned());
    let memory = only(&found, Rule::MemoryLimit);
    assert!(
        memory.message.contains("a number of 4000000 digits"),
        "{}",
        memory.message
    );
}

#[test]
fn int_still_converts_as_starlark_does() {
    let main = "def run(plan, args):\n    if int(\"9\" * 100000) % 10 != 9 or int(\"ff\", 16) != 255 or int(\"0x10\", 0) != 16 or int(\"12\", base = 8) != 10 or int(3.7) != 3 or int() != 0 or int(True) != 1:\n        fail(\"int changed\")\n";
    assert_eq!(main_star(main.to_owned()), []);
}

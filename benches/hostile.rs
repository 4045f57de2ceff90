//! Hostile packages against `starflake check`: for each, the time to answer, the peak memory
//! of the `starflake check` process (its VmHWM, as GNU `time` reports it) and the outcome. The goal: every
//! one answers (a diagnostic, or "no problems found" for a package that is valid after all)
//! within 2.5 s and 512 MB, with the default limits, never
//! aborting or hanging.
//!
//! `cargo bench --bench hostile` (exits non-zero when a package misses the goal)

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STARFLAKE: &str = env!("CARGO_BIN_EXE_starflake");
const TIME_GOAL: Duration = Duration::from_millis(2500);
const MEMORY_GOAL_MB: f64 = 512.0;
/// A check still running after this long is a hang.
const HANG: Duration = Duration::from_secs(30);

const MANIFEST: &str = "name: github.com/starflake-hostile/package\n";

/// `main.star` whose `run` holds `body` (indented already).
fn run_with(body: &str) -> String {
    format!("def run(plan, args):\n{body}\n")
}

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("{}{middle}{}", open.repeat(depth), close.repeat(depth))
}

fn chain(term: &str, operator: &str, terms: usize) -> String {
    vec![term; terms].join(operator)
}

fn nested_ifs(depth: usize) -> String {
    let mut text = String::new();
    for level in 1..=depth {
        let _ = writeln!(text, "{}if True:", " ".repeat(level * 4));
    }
    let _ = writeln!(text, "{}pass", " ".repeat((depth + 1) * 4));
    text
}

/// `count` modules, each importing the next.
fn import_chain(count: usize) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = (0..count)
        .map(|index| {
            let text = if index + 1 < count {
                format!(
                    "next = import_module(\"/m{}.star\")\nvalue = next.value + 1\n",
                    index + 1
                )
            } else {
                "value = 0\n".to_owned()
            };
            (format!("m{index}.star"), text)
        })
        .collect();
    files.push((
        "main.star".to_owned(),
        run_with("    return import_module(\"/m0.star\").value"),
    ));
    files
}

const DUPLICATE_DYNAMIC_FLAKE: &str = r#"{
  outputs = { self }: let system = "x86_64-linux"; in {
    packages.${system}.web = derivation { inherit system; name = "web"; builder = "/bin/sh"; };
    packages.${system}.hello = derivation { inherit system; name = "hello"; builder = "/bin/sh"; };
  };
}
"#;

struct Case {
    name: &'static str,
    files: Vec<(String, String)>,
    /// Made in the package folder before the check: a named pipe at this path.
    fifo: Option<&'static str>,
}

fn case(name: &'static str, main: String) -> Case {
    Case {
        name,
        files: vec![("main.star".to_owned(), main)],
        fifo: None,
    }
}

fn cases() -> Vec<Case> {
    let expression = |text: String| run_with(&format!("    x = {text}\n    return x"));
    vec![
        case(
            "50,000 nested parentheses",
            expression(nested("(", "1", ")", 50_000)),
        ),
        case(
            "20,000 nested lists",
            expression(nested("[", "", "]", 20_000)),
        ),
        case(
            "10,000 nested dicts",
            expression(nested("{\"a\": ", "1", "}", 10_000)),
        ),
        case("200,000 `+` terms", expression(chain("1", " + ", 200_000))),
        case(
            "100,000 unary minus",
            expression(format!("{}1", "-".repeat(100_000))),
        ),
        case(
            "100,000 attribute accesses",
            expression(format!("args{}", ".a".repeat(100_000))),
        ),
        case(
            "100,000 calls of a call",
            expression(format!("str{}", "()".repeat(100_000))),
        ),
        case("3,000 nested `if` blocks", run_with(&nested_ifs(3_000))),
        case(
            "deep list built at run time",
            format!(
                "def deep():\n    x = []\n    for i in range(1000000):\n        x = [x]\n    return x\n\n{}",
                run_with("    return deep()")
            ),
        ),
        case(
            "[0] * 1000000000",
            expression("[0] * 1000000000".to_owned()),
        ),
        case(
            "'a' * 2000000000",
            expression("'a' * 2000000000".to_owned()),
        ),
        case(
            "\"%s\" * 100000000 % ...",
            expression("(\"%s\" * 100000000) % ()".to_owned()),
        ),
        case(
            "string doubling",
            run_with("    s = 'ab'\n    for i in range(64):\n        s = s + s"),
        ),
        case("1 << 1000000000", expression("1 << 1000000000".to_owned())),
        case(
            "deep list frozen and printed",
            format!(
                "def deep():\n    x = []\n    for i in range(1000000):\n        x = [x]\n    return x\n\nDEEP = deep()\n\n{}",
                run_with("    return str(DEEP)")
            ),
        ),
        case(
            "int squaring",
            run_with("    x = 3\n    for i in range(64):\n        x = x * x"),
        ),
        case(
            "range(1000000000) loop",
            run_with("    n = 0\n    for i in range(1000000000):\n        n += i"),
        ),
        case(
            "list(range(1000000000))",
            expression("list(range(1000000000))".to_owned()),
        ),
        case(
            "max(range(1000000000))",
            expression("max(range(1000000000))".to_owned()),
        ),
        case(
            "giant dict comprehension",
            expression("{i: i for i in range(1000000000)}".to_owned()),
        ),
        case(
            "giant list comprehension",
            expression("[i for i in range(1000000000)]".to_owned()),
        ),
        case(
            "list(range(4000000)), foldable while compiling",
            expression("list(range(4000000))".to_owned()),
        ),
        case(
            "sorted(range(4000000))",
            expression("sorted(range(4000000), reverse = True)".to_owned()),
        ),
        case(
            "list(zip(range(4000000), range(4000000)))",
            expression("list(zip(range(4000000), range(4000000)))".to_owned()),
        ),
        case(
            "one string shared 1,000 times, joined",
            expression("\",\".join([\"a\" * 1000000] * 1000)".to_owned()),
        ),
        case(
            "a 10,000 x 10,000 list of shared rows, printed",
            expression("str([[0] * 10000] * 10000)".to_owned()),
        ),
        case(
            "replace chain",
            expression(format!(
                "\"aaaa\"{}",
                ".replace(\"a\", \"aaaa\")".repeat(13)
            )),
        ),
        case(
            "replace taken as a value, then called",
            run_with(
                "    grow = (\"a\" * 100000000).replace\n    return len(grow(\"a\", \"aaaa\"))",
            ),
        ),
        case(
            "a 1,000,000-deep list printed",
            run_with(
                "    x = []\n    for i in range(1000000):\n        x = [x]\n    return str(x)",
            ),
        ),
        case(
            "a 1,000,000-deep tuple hashed",
            run_with(
                "    x = ()\n    for i in range(1000000):\n        x = (x,)\n    return {x: 1}",
            ),
        ),
        case(
            "50 MB string literal",
            expression(format!("\"{}\"", "a".repeat(50 << 20))),
        ),
        case(
            "50 MB comment",
            format!("# {}\n{}", "a".repeat(50 << 20), run_with("    pass")),
        ),
        case(
            "json.decode of 1e999",
            expression("json.decode(\"1e999\")".to_owned()),
        ),
        case(
            "an empty string repeated 2,147,483,647 times",
            expression("len(\"\" * 2147483647)".to_owned()),
        ),
        case(
            "a 100,000-deep list formatted with %r",
            run_with(
                "    x = []\n    for i in range(100000):\n        x = [x]\n    return len(\"%r\" % (x,))",
            ),
        ),
        case(
            "120 distinct functions calling each other",
            (0..120)
                .map(|index| format!("def f{index}(a):\n    return f{}(a + 1)\n", index + 1))
                .collect::<String>()
                + "def f120(a):\n    return a\n"
                + &run_with("    return f0(0)"),
        ),
        case(
            "20,000 diagnostics, each with a label",
            "x = 1\n".repeat(20_000) + &run_with("    pass"),
        ),
        case(
            "int() of 4,000,000 digits",
            expression("int(\"9\" * 4000000)".to_owned()),
        ),
        case(
            "200 services sharing one 10 MB dict",
            run_with(
                "    env = {\"BLOB\": \"x\" * 10000000}\n    for index in range(200):\n        plan.add_service(name = \"web-%d\" % index, config = ServiceConfig(image = \"nginx\", env_vars = env))",
            ),
        ),
        case(
            "1,000,000 plan.print steps",
            run_with("    for index in range(1000000):\n        plan.print(\"step\")"),
        ),
        Case {
            name: "kurtosis.yml nested 100,000 deep",
            files: vec![
                (
                    "kurtosis.yml".to_owned(),
                    format!("{MANIFEST}description: {}\n", nested("[", "", "]", 100_000)),
                ),
                ("main.star".to_owned(), run_with("    pass")),
            ],
            fifo: None,
        },
        Case {
            name: "2,000 modules importing each other",
            files: import_chain(2_000),
            fifo: None,
        },
        Case {
            name: "read_file of a named pipe",
            files: vec![(
                "main.star".to_owned(),
                expression("read_file(\"fifo\")".to_owned()),
            )],
            fifo: Some("fifo"),
        },
        Case {
            name: "flake with a dynamic attribute defined twice",
            files: vec![
                (
                    "main.star".to_owned(),
                    run_with(
                        "    plan.add_service(name = \"web\", config = ServiceConfig(image = NixBuildSpec(image_name = \"web:1\", build_context_dir = \"./app\", flake_location_dir = \".\", flake_output = \"web\")))",
                    ),
                ),
                (
                    "app/flake.nix".to_owned(),
                    DUPLICATE_DYNAMIC_FLAKE.to_owned(),
                ),
            ],
            fifo: None,
        },
        Case {
            name: "flake of 90,000 undefined variables",
            files: vec![
                (
                    "main.star".to_owned(),
                    run_with(
                        "    plan.add_service(name = \"web\", config = ServiceConfig(image = NixBuildSpec(image_name = \"web:1\", build_context_dir = \"./app\", flake_location_dir = \".\", flake_output = \"web\")))",
                    ),
                ),
                (
                    "app/flake.nix".to_owned(),
                    format!("{{ outputs = {{ self }}: [ {} ]; }}\n", "x ".repeat(90_000)),
                ),
            ],
            fifo: None,
        },
    ]
}

struct Outcome {
    elapsed: Duration,
    peak_mb: f64,
    /// The first line of the report, or how the process ended.
    summary: String,
    /// Answered with a diagnostic, within the goals.
    good: bool,
}

fn write_package(dir: &Path, case: &Case) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("kurtosis.yml"), MANIFEST).unwrap();
    for (path, text) in &case.files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    if let Some(fifo) = case.fifo {
        let path =
            std::ffi::CString::new(dir.join(fifo).into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    }
}

/// Runs `starflake check` on `dir` under GNU `time`, for the peak memory of the check alone:
/// the kernel's account of a child of this process would include this process's own peak,
/// which holds the generated packages.
fn check(dir: &Path) -> Outcome {
    let report_file = dir.with_extension("time");
    let start = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report_file)
        .arg(STARFLAKE)
        .args(["check", "--color", "never"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("/usr/bin/time (Debian package `time`) runs starflake");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        if start.elapsed() > HANG && !hung {
            hung = true;
            // SAFETY: signals our own process group (time and starflake).
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let report = reader.join().unwrap_or_default();
    // The last line is the peak in KiB; a line before says how the command ended, if badly.
    let timing = std::fs::read_to_string(&report_file).unwrap_or_default();
    let _ = std::fs::remove_file(&report_file);
    let peak_mb = timing
        .lines()
        .last()
        .and_then(|line| line.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0);
    let diagnostic = report
        .lines()
        .find(|line| line.starts_with("error") || line.starts_with("warning"))
        .map(str::to_owned);
    let (summary, answered) = if hung {
        (format!("HANG (killed after {} s)", HANG.as_secs()), false)
    } else if let Some(signal) = timing
        .lines()
        .find(|line| line.contains("terminated by signal"))
    {
        (format!("KILLED: {signal}"), false)
    } else {
        match (status.code(), diagnostic) {
            (Some(1), Some(line)) => (line, true),
            // A package that is valid after all (its values fit the limits): the answer is
            // that it has no problem.
            (Some(0), None) if report.contains("no problems found") => {
                ("no problems found".to_owned(), true)
            }
            (code, line) => (
                format!(
                    "exit {code:?}: {}",
                    line.unwrap_or_else(|| "no diagnostic".to_owned())
                ),
                false,
            ),
        }
    };
    Outcome {
        elapsed,
        peak_mb,
        good: answered && elapsed <= TIME_GOAL && peak_mb <= MEMORY_GOAL_MB,
        summary,
    }
}

fn main() {
    let base: PathBuf =
        std::env::temp_dir().join(format!("starflake-hostile-{}", std::process::id()));
    let mut missed = 0;
    println!("{:<46} {:>8} {:>9}  outcome", "package", "time", "peak");
    for case in cases() {
        let dir = base.join(case.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
        write_package(&dir, &case);
        let outcome = check(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        if !outcome.good {
            missed += 1;
        }
        let mut summary = outcome.summary;
        if summary.len() > 110 {
            let mut end = 110;
            while !summary.is_char_boundary(end) {
                end -= 1;
            }
            summary.truncate(end);
        }
        println!(
            "{:<46} {:>6.2} s {:>6.0} MB  {} {summary}",
            case.name,
            outcome.elapsed.as_secs_f64(),
            outcome.peak_mb,
            if outcome.good { "ok  " } else { "MISS" },
        );
    }
    let _ = std::fs::remove_dir_all(&base);
    if missed > 0 {
        println!("{missed} package(s) missed the goal");
        std::process::exit(1);
    }
}

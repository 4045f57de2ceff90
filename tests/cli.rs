//! The command line as a user runs it: exit codes, output formats, arguments.

#![cfg(feature = "native")]

use std::path::Path;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
        .display()
        .to_string()
}

fn starflake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_starflake"))
        .args(args)
        .env("NO_COLOR", "1")
        // No package cache: what a check finds must not depend on this machine's cache.
        .env(
            "STARFLAKE_PACKAGES_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-package-cache"),
        )
        .output()
        .expect("starflake runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_valid_package_exits_zero() {
    let output = starflake(&["check", &fixture("valid-registry-image")]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("no problems found"));
}

#[test]
fn errors_exit_one_and_name_file_line_and_column() {
    let output = starflake(&["check", &fixture("invalid-flake-not-found")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("--> main.star:5:"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_usage_exits_two() {
    assert_eq!(
        starflake(&["check", "--format", "yaml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        starflake(&["check", "/nonexistent/package"]).status.code(),
        Some(2)
    );
    assert_eq!(
        starflake(&["check", ".", "--args-file", "/nonexistent/args.json"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let output = starflake(&[
        "check",
        "--format",
        "json",
        &fixture("invalid-duplicate-service"),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let diagnostic = &json["diagnostics"][0];
    assert_eq!(diagnostic["code"], "SF303");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["file"], "main.star");
    assert!(diagnostic["range"]["start"]["line"].is_u64());
    assert!(diagnostic["range"]["end"]["character"].is_u64());
    assert!(json["plan"]["steps"].is_array());
}

#[test]
fn inline_args_reach_run() {
    let package = fixture("valid-run-kwargs");
    let output = starflake(&[
        "plan",
        "--format",
        "json",
        "--args",
        "{\"replicas\": 3}",
        &package,
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["plan"]["steps"].as_array().unwrap().len(), 3);
}

#[test]
fn plan_prints_the_nix_command() {
    let output = starflake(&["plan", &fixture("valid-nix-service")]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.contains("nix --extra-experimental-features 'nix-command flakes' build"),
        "{text}"
    );
    assert!(text.contains("path:./app"), "{text}");
}

#[test]
fn rules_lists_every_code() {
    let text = stdout(&starflake(&["rules"]));
    for rule in starflake::diagnostic::Rule::ALL {
        assert!(text.contains(rule.code()), "{}", rule.code());
    }
}

#[test]
fn rules_explains_one_rule_by_code_or_name() {
    let rule = starflake::diagnostic::Rule::FlakeOutsideContext;
    for args in [
        &["rules", "--explain", "SF406"][..],
        &["rules", "sf406"],
        &["rules", "flake-outside-context"],
    ] {
        let text = stdout(&starflake(args));
        assert!(
            text.starts_with("# SF406 flake-outside-context (warning)"),
            "{args:?}: {text}"
        );
        assert!(text.ends_with(&rule.explanation()), "{args:?}: {text}");
    }
    let unknown = starflake(&["rules", "--explain", "flake-outsid-context"]);
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("did you mean `flake-outside-context`?"),
        "{message}"
    );
}

//! What starflake says about a flake's names, against Nix itself: for every expression below,
//! starflake reports an undefined variable (SF508) exactly when `nix-instantiate --parse`
//! refuses the expression with "undefined variable", and names the same one; likewise a
//! function argument named twice (SF501). Parsing evaluates nothing and needs no store or
//! network; Nix must be installed (`.ci/run` does it).

use std::process::Command;

use starflake::diagnostic::Rule;
use starflake::flake::FlakeFile;

/// Each expression has at most one undefined variable, so that which one Nix names first
/// does not depend on the order it binds in.
const EXPRESSIONS: &[&str] = &[
    // Bound: function arguments, `let`, `rec`, `inherit`, Nix's own names.
    "{ outputs = { self, nixpkgs }: { a = nixpkgs; }; }",
    "{ outputs = { self, ... }@inputs: inputs.nixpkgs; }",
    "x: y: x y",
    "args@{ a, ... }: args",
    "{ a ? b, b ? 1 }: a",
    "let f = { x ? y, y ? x }: x; in f {}",
    "let a = 1; b = a; in b",
    "let a = a; in a",
    "let a.b = 1; in a.b",
    "let { body = a; a = 1; }",
    "rec { a = 1; b = a; }",
    "rec { a.b = 1; c = a; }",
    "rec { \"s\" = 1; t = s; }",
    "rec { a = { b = c; }; c = 1; }",
    "rec { ${\"a\"} = 1; }",
    "let inherit (builtins) map; in map",
    "let x = { a = 1; }; inherit (x) a; in a",
    "let a = 1; in { inherit a; }",
    "let a = 1; in let inherit a; in a",
    "let s = \"a\"; in { ${s} = 1; }",
    "{ a.b = 1; }.a.b",
    "x: x ? a",
    "x: x.a or x",
    "\"${builtins.toString 1}\"",
    "[ true false null __curPos derivationStrict (import ./x.nix) (toString 1) ]",
    "with builtins; foo",
    "x: with x; y",
    "let a = 1; in with {}; b",
    // Unbound.
    "with x; y",
    "{ a ? b }: a",
    "x: x.a or y",
    "{ inherit a; }",
    "rec { inherit a; }",
    "let inherit a; in a",
    "{ inherit \"a\"; }",
    "{ a = b; }",
    "let a = 1; in b",
    "(with {}; a) + b",
    "{ a = 1; }.${b}",
    "\"${c}\"",
    "./${d}",
    "[ e ]",
    "if f then 1 else 2",
    "assert g; 1",
    "{ a = rec { b = 1; c = b; }; d = b; }",
    "{ outputs = { self, nixpkgs }: { packages = nixpgks.legacyPackages; }; }",
];

/// The variable `nix-instantiate --parse` says is undefined, if any.
fn undefined_for_nix(expression: &str) -> Option<String> {
    let output = Command::new("nix-instantiate")
        .args(["--parse", "-E", expression])
        .output()
        .expect("nix-instantiate runs (install Nix: .ci/run does)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        return None;
    }
    let name = stderr
        .split("undefined variable '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next());
    match name {
        Some(name) => Some(name.to_owned()),
        None => panic!("Nix refuses `{expression}` for another reason:\n{stderr}"),
    }
}

/// The variables starflake says are undefined, in the order of the text.
fn undefined_for_starflake(expression: &str) -> Vec<String> {
    let (_, diagnostics) = FlakeFile::read("flake.nix", expression, true);
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.rule == Rule::FlakeUndefinedVariable)
        .map(|diagnostic| {
            expression[diagnostic.span.range()]
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

#[test]
fn undefined_variables_are_the_ones_nix_refuses() {
    let mut wrong = Vec::new();
    for expression in EXPRESSIONS {
        let nix = undefined_for_nix(expression);
        let ours = undefined_for_starflake(expression);
        if ours.first() != nix.as_ref() || ours.len() > 1 {
            wrong.push(format!("`{expression}`: Nix {nix:?}, starflake {ours:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

const ARGUMENTS: &[&str] = &[
    "{ a, b }: a",
    "{ a, ... }@args: args",
    "{ a, b ? a }: b",
    "x: { x }: x",
    "{ a, a }: a",
    "a@{ a }: a",
    "{ a, ... }@a: a",
    "{ self, nixpkgs, b ? 1, nixpkgs }: self",
];

#[test]
fn arguments_named_twice_are_the_ones_nix_refuses() {
    let mut wrong = Vec::new();
    for expression in ARGUMENTS {
        let output = Command::new("nix-instantiate")
            .args(["--parse", "-E", expression])
            .output()
            .expect("nix-instantiate runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let nix = stderr
            .split("duplicate formal function argument '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next());
        assert!(
            output.status.success() || nix.is_some(),
            "Nix refuses `{expression}` for another reason:\n{stderr}"
        );
        let (_, diagnostics) = FlakeFile::read("flake.nix", expression, true);
        let ours: Vec<&str> = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.rule == Rule::FlakeSyntax)
            .map(|diagnostic| &expression[diagnostic.span.range()])
            .collect();
        if ours.first().copied() != nix || ours.len() > 1 {
            wrong.push(format!("`{expression}`: Nix {nix:?}, starflake {ours:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

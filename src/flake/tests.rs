use super::*;
use crate::diagnostic::Severity;

const FILE: &str = "nix/app/flake.nix";

struct Case<'a> {
    text: &'a str,
    output: Option<&'a str>,
    image: &'a str,
    lock: bool,
    system: &'a str,
}

impl<'a> Case<'a> {
    fn new(text: &'a str) -> Self {
        Case {
            text,
            output: None,
            image: "app",
            lock: true,
            system: "x86_64-linux",
        }
    }
    fn output(mut self, output: &'a str) -> Self {
        self.output = Some(output);
        self
    }
    fn image(mut self, image: &'a str) -> Self {
        self.image = image;
        self
    }
    fn unlocked(mut self) -> Self {
        self.lock = false;
        self
    }
    fn system(mut self, system: &'a str) -> Self {
        self.system = system;
        self
    }
    fn run(&self) -> Vec<Diagnostic> {
        let check = FlakeCheck {
            flake_file: FILE,
            flake_output: self.output,
            system: self.system,
            image_name: self.image,
        };
        check_flake(self.text, self.lock, &check)
    }
}

/// The summary of a flake file with a lock file beside it.
fn summarize(text: &str) -> Option<FlakeSummary> {
    FlakeFile::read(FILE, text, true).0.summary().cloned()
}

/// What the checker reports for a flake file used once.
fn check_flake(text: &str, has_lock_file: bool, check: &FlakeCheck) -> Vec<Diagnostic> {
    let (mut flake, mut findings) = FlakeFile::read(check.flake_file, text, has_lock_file);
    findings.extend(flake.check_use(check));
    findings
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.rule.code()).collect()
}

fn span_text<'a>(text: &'a str, diagnostic: &Diagnostic) -> &'a str {
    &text[diagnostic.span.range()]
}

#[track_caller]
fn assert_clean(case: Case) {
    let diagnostics = case.run();
    assert!(
        diagnostics.is_empty(),
        "expected no findings, got {diagnostics:#?}"
    );
}

#[track_caller]
fn single(case: &Case, rule: Rule) -> Diagnostic {
    let diagnostics = case.run();
    assert_eq!(
        diagnostics.len(),
        1,
        "expected exactly one {rule:?}, got {diagnostics:#?}"
    );
    assert_eq!(diagnostics[0].rule, rule, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].file, FILE);
    diagnostics.into_iter().next().unwrap()
}

// ---------------------------------------------------------------- valid flakes

const RAW_DERIVATION: &str = r#"{
  description = "an image built without nixpkgs";
  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      name = "image.tar";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "echo image > $out" ];
    };
  };
}
"#;

#[test]
fn raw_derivation_flake_is_clean() {
    assert_clean(Case::new(RAW_DERIVATION));
    assert_clean(Case::new(RAW_DERIVATION).unlocked());
    assert_clean(Case::new(RAW_DERIVATION).output("default"));
    assert_clean(Case::new(RAW_DERIVATION).output("packages.x86_64-linux.default"));
}

#[test]
fn default_package_is_the_fallback_without_fragment() {
    let text = r#"{
      outputs = { self }: {
        defaultPackage.x86_64-linux = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
      };
    }"#;
    assert_clean(Case::new(text));
    assert_clean(Case::new(text).output("defaultPackage.x86_64-linux"));
}

#[test]
fn fragment_default_does_not_fall_back_to_default_package() {
    let text = r#"{
      outputs = { self }: {
        defaultPackage.x86_64-linux = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
      };
    }"#;
    let d = single(&Case::new(text).output("default"), Rule::FlakeOutputMissing);
    assert_eq!(
        d.message,
        "flake output `packages.x86_64-linux.default` does not exist: Nix tries `packages.x86_64-linux.default`, `legacyPackages.x86_64-linux.default` and `default`"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("`defaultPackage.x86_64-linux`"),
        "{d:#?}"
    );
}

const EACH_DEFAULT_SYSTEM: &str = r#"{
  description = "flake-utils";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  inputs.flake-utils.url = "github:numtide/flake-utils";
  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = nixpkgs.legacyPackages.${system};
        app = pkgs.callPackage ./app.nix { };
      in {
        packages.default = pkgs.dockerTools.buildLayeredImage {
          name = "app";
          tag = "latest";
          contents = [ app ];
        };
        packages.server = app;
        devShells.default = pkgs.mkShell { buildInputs = [ pkgs.go ]; };
      });
}
"#;

#[test]
fn each_default_system_is_read() {
    assert_clean(Case::new(EACH_DEFAULT_SYSTEM));
    assert_clean(Case::new(EACH_DEFAULT_SYSTEM).output("server"));
    assert_clean(Case::new(EACH_DEFAULT_SYSTEM).system("aarch64-linux"));
    // A system outside the default list: flake-utils' `systems` input may be overridden.
    assert_clean(Case::new(EACH_DEFAULT_SYSTEM).system("riscv64-linux"));
    let d = single(
        &Case::new(EACH_DEFAULT_SYSTEM).output("web"),
        Rule::FlakeOutputMissing,
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("`packages.x86_64-linux.server`"),
        "{d:#?}"
    );
    // The deepest key along `packages.x86_64-linux.web` written in the flake.
    assert_eq!(span_text(EACH_DEFAULT_SYSTEM, &d), "packages");
}

#[test]
fn each_default_system_with_merges_and_with() {
    let text = r#"{
      inputs.flake-utils.url = "github:numtide/flake-utils";
      outputs = { self, nixpkgs, flake-utils, ... }:
        with flake-utils.lib;
        eachDefaultSystem (system: {
          packages.default = nixpkgs.legacyPackages.${system}.hello;
        }) // {
          overlays.default = final: prev: { };
        };
    }"#;
    assert_clean(Case::new(text));
    let d = single(&Case::new(text).output("hello"), Rule::FlakeOutputMissing);
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("`packages.x86_64-linux.default`")
    );
    let summary = summarize(text).unwrap();
    assert!(
        summary.outputs.contains(&"overlays.default".to_owned()),
        "{summary:#?}"
    );
    assert!(
        summary
            .outputs
            .contains(&"packages.aarch64-darwin.default".to_owned()),
        "{summary:#?}"
    );
}

#[test]
fn each_system_with_a_literal_list() {
    let text = r#"{
      inputs.flake-utils.url = "github:numtide/flake-utils";
      outputs = { self, nixpkgs, flake-utils }:
        flake-utils.lib.eachSystem [ "x86_64-linux" "aarch64-linux" ] (system: {
          packages.default = nixpkgs.legacyPackages.${system}.hello;
        });
    }"#;
    assert_clean(Case::new(text));
    assert_clean(Case::new(text).system("aarch64-linux"));
    // The list is exact: another system certainly has nothing.
    let d = single(
        &Case::new(text).system("riscv64-linux"),
        Rule::FlakeOutputMissing,
    );
    assert!(
        d.message.contains("`packages.riscv64-linux.default`"),
        "{d:#?}"
    );

    let with_system_names = r#"{
      outputs = { self, nixpkgs, flake-utils }:
        flake-utils.lib.eachSystem (with flake-utils.lib.system; [ x86_64-linux aarch64-darwin ]) (system: {
          packages.default = nixpkgs.legacyPackages.${system}.hello;
        });
    }"#;
    assert_clean(Case::new(with_system_names));
    let d = single(
        &Case::new(with_system_names).output("web"),
        Rule::FlakeOutputMissing,
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("`packages.x86_64-linux.default`")
    );
}

#[test]
fn each_system_with_an_unknown_list_is_dynamic() {
    let text = r#"{
      outputs = { self, nixpkgs, flake-utils, systems }:
        flake-utils.lib.eachSystem (import systems) (system: {
          packages.default = nixpkgs.legacyPackages.${system}.hello;
        });
    }"#;
    assert_clean(Case::new(text).output("anything"));
    assert_clean(Case::new(text).system("riscv64-linux"));
}

const GEN_ATTRS: &str = r#"{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { self, nixpkgs }:
    let
      supportedSystems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" ];
      forAllSystems = nixpkgs.lib.genAttrs supportedSystems;
      forEach = f: nixpkgs.lib.genAttrs supportedSystems (system: f nixpkgs.legacyPackages.${system});
    in {
      packages = forAllSystems (system: {
        default = nixpkgs.legacyPackages.${system}.hello;
        web = nixpkgs.legacyPackages.${system}.nginx;
      });
      apps = forEach (pkgs: { default = { type = "app"; program = "${pkgs.hello}/bin/hello"; }; });
      devShells = nixpkgs.lib.genAttrs [ "x86_64-linux" ] (system: { default = null; });
    };
}
"#;

#[test]
fn gen_attrs_is_read() {
    assert_clean(Case::new(GEN_ATTRS));
    assert_clean(Case::new(GEN_ATTRS).output("web"));
    assert_clean(Case::new(GEN_ATTRS).output("apps.x86_64-linux.default"));
    assert_clean(Case::new(GEN_ATTRS).system("aarch64-linux"));
    let d = single(
        &Case::new(GEN_ATTRS).output("wbe"),
        Rule::FlakeOutputMissing,
    );
    let help = d.help.as_deref().unwrap();
    assert!(
        help.contains("did you mean `flake_output = \"web\"`?"),
        "{help}"
    );
    // The key that exists for the system: the string in the list.
    assert_eq!(span_text(GEN_ATTRS, &d), "\"x86_64-linux\"");
    // Not in the list, and the list is literal.
    let d = single(
        &Case::new(GEN_ATTRS).system("riscv64-linux"),
        Rule::FlakeOutputMissing,
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("only for `aarch64-darwin`, `aarch64-linux`, `x86_64-linux`"),
        "{d:#?}"
    );
}

#[test]
fn gen_attrs_over_an_unknown_list_is_dynamic() {
    let text = r#"{
      outputs = { self, nixpkgs }:
        let forAllSystems = nixpkgs.lib.genAttrs nixpkgs.lib.systems.flakeExposed;
        in { packages = forAllSystems (system: { default = nixpkgs.legacyPackages.${system}.hello; }); };
    }"#;
    assert_clean(Case::new(text).output("anything"));
    assert_clean(Case::new(text).system("riscv64-linux"));
}

#[test]
fn let_bound_system_in_keys() {
    let forms = [
        r#"packages.${system}.default = pkgs.hello;"#,
        r#"packages."${system}".default = pkgs.hello;"#,
        r#"packages.${system} = { default = pkgs.hello; };"#,
        r#"packages = { ${system} = { default = pkgs.hello; }; };"#,
        r#"packages = { "x86_64-linux".default = pkgs.hello; };"#,
        r#"packages.${system}.default = pkgs.hello; packages.aarch64-darwin.default = pkgs.hello;"#,
    ];
    for form in forms {
        let text = format!(
            r#"{{
              inputs.nixpkgs.url = "github:NixOS/nixpkgs";
              outputs = {{ self, nixpkgs }}:
                let
                  system = "x86_64-linux";
                  pkgs = nixpkgs.legacyPackages.${{system}};
                in {{
                  {form}
                }};
            }}"#
        );
        assert_clean(Case::new(&text));
        let d = single(&Case::new(&text).output("web"), Rule::FlakeOutputMissing);
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("`packages.x86_64-linux.default`"),
            "{form}: {d:#?}"
        );
    }
}

#[test]
fn dotted_keys_merge_like_nix() {
    let text = r#"{
      outputs = { self }: {
        packages.x86_64-linux.a = derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; };
        packages.x86_64-linux.b = derivation { name = "b"; system = "x86_64-linux"; builder = "/bin/sh"; };
        packages.aarch64-linux = { c = null; };
        packages.aarch64-linux.d = null;
      };
    }"#;
    assert_clean(Case::new(text).output("a"));
    assert_clean(Case::new(text).output("b"));
    assert_clean(Case::new(text).output("c").system("aarch64-linux"));
    assert_clean(Case::new(text).output("d").system("aarch64-linux"));
    let d = single(&Case::new(text), Rule::FlakeOutputMissing);
    assert_eq!(span_text(text, &d), "x86_64-linux");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("the flake defines `packages.x86_64-linux.a`, `packages.x86_64-linux.b` for `x86_64-linux`"),
        "{d:#?}"
    );
}

#[test]
fn rec_inherit_and_self_references() {
    let text = r#"{
      outputs = { self, nixpkgs }: rec {
        image = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
        packages.x86_64-linux = { inherit image; default = packages.x86_64-linux.image; };
        legacyPackages.x86_64-linux = { inherit (self.packages.x86_64-linux) image; extra = null; };
      };
    }"#;
    assert_clean(Case::new(text));
    assert_clean(Case::new(text).output("image"));
    assert_clean(Case::new(text).output("extra"));
    assert_clean(Case::new(text).output("image.name"));
    single(&Case::new(text).output("missing"), Rule::FlakeOutputMissing);
}

#[test]
fn unknown_merges_imports_and_frameworks_are_dynamic() {
    let texts = [
        // `//` with an unknown right side may replace anything.
        r#"{ outputs = { self, nixpkgs }: { packages.x86_64-linux.a = null; } // import ./more.nix { inherit nixpkgs; }; }"#,
        // Unknown left side: the known keys of the right side are certain, others are not.
        r#"{ outputs = { self, nixpkgs }: (import ./base.nix) // { packages.aarch64-darwin.a = null; }; }"#,
        r#"{ outputs = inputs: import ./outputs.nix inputs; }"#,
        r#"{ outputs = inputs@{ flake-parts, ... }: flake-parts.lib.mkFlake { inherit inputs; } { systems = [ "x86_64-linux" ]; }; }"#,
        r#"{ outputs = { self, nixpkgs }: { packages = builtins.listToAttrs (map (s: { name = s; value = { }; }) [ "x86_64-linux" ]); }; }"#,
        r#"{ outputs = { self, nixpkgs }: { packages.x86_64-linux = if true then { } else { }; }; }"#,
        r#"{ outputs = { self, nixpkgs }: { packages.x86_64-linux = nixpkgs.lib.mapAttrs (n: v: v) { }; }; }"#,
        r#"{ outputs = { self, nixpkgs }: let x = import ./x.nix; in { packages.${x} = { }; }; }"#,
        r#"{ outputs = { self, nixpkgs }: with nixpkgs; { packages.x86_64-linux = something; }; }"#,
        r#"{ outputs = { self }: { packages = self.packages; }; }"#,
        r#"{ outputs = { self, nixpkgs }: nixpkgs.lib.recursiveUpdate (import ./a.nix) { packages.x86_64-linux.b = null; }; }"#,
        r#"{ outputs = { self, nixpkgs }: { packages.x86_64-linux.a = null; packages.${nixpkgs.system}.b = null; }; }"#,
        r#"{ outputs = { self, nixpkgs }: { packages.x86_64-linux = { a = null; } // (if true then { } else { web = null; }); }; }"#,
    ];
    for text in texts {
        let diagnostics = Case::new(text).output("web").run();
        assert!(diagnostics.is_empty(), "{text}: {diagnostics:#?}");
        let diagnostics = Case::new(text).run();
        assert!(diagnostics.is_empty(), "{text}: {diagnostics:#?}");
    }
}

#[test]
fn library_functions_are_only_recognised_through_a_lib() {
    // An `eachSystem` from an imported file may be `genAttrs` under another name.
    let text = r#"{
      outputs = { self, nixpkgs }:
        let my = import ./lib.nix { inherit nixpkgs; };
        in { packages = my.eachSystem (system: { default = nixpkgs.legacyPackages.${system}.hello; }); };
    }"#;
    assert_clean(Case::new(text));
    assert_clean(Case::new(text).output("web"));
    let inherited = r#"{
      outputs = { self, nixpkgs, flake-utils }:
        let inherit (flake-utils.lib) eachSystem; in
        eachSystem [ "x86_64-linux" ] (system: { packages.default = null; });
    }"#;
    assert_clean(Case::new(inherited));
    single(
        &Case::new(inherited).output("web"),
        Rule::FlakeOutputMissing,
    );
}

#[test]
fn known_merges_are_read() {
    let text = r#"{
      outputs = { self, nixpkgs }:
        { packages.x86_64-linux.a = null; }
        // { packages.aarch64-linux.b = null; }
        // nixpkgs.lib.recursiveUpdate { packages.x86_64-linux.c = null; } { packages.x86_64-linux.d = null; };
    }"#;
    // `//` is shallow: the last `packages` wins; recursiveUpdate merges deeply.
    assert_clean(Case::new(text).output("c"));
    assert_clean(Case::new(text).output("d"));
    single(&Case::new(text).output("a"), Rule::FlakeOutputMissing);
    single(
        &Case::new(text).output("b").system("aarch64-linux"),
        Rule::FlakeOutputMissing,
    );
}

#[test]
fn legacy_packages_and_raw_paths() {
    let text = r#"{
      outputs = { self, nixpkgs }: {
        legacyPackages.x86_64-linux.tool = null;
        packages.x86_64-linux."my.app" = null;
        images.web = null;
      };
    }"#;
    assert_clean(Case::new(text).output("tool"));
    assert_clean(Case::new(text).output("images.web"));
    assert_clean(Case::new(text).output("\"my.app\""));
    assert_clean(Case::new(text).output("packages.x86_64-linux.\"my.app\""));
    assert_clean(Case::new(text).output("%22my.app%22"));
    let d = single(&Case::new(text).output("my.app"), Rule::FlakeOutputMissing);
    assert!(
        d.message.contains("`packages.x86_64-linux.my.app`"),
        "{d:#?}"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("`packages.x86_64-linux.\"my.app\"`"),
        "{d:#?}"
    );
    // A malformed fragment (unclosed quote) is Nix's error to report, not ours.
    assert_clean(Case::new(text).output("\"my.app"));
}

#[test]
fn outputs_that_are_not_functions_or_sets_say_nothing() {
    for text in [
        "{ }",
        "{ outputs = import ./outputs.nix; }",
        "{ outputs = { }; }",
        "let x = 1; in x",
        "[ 1 2 ]",
        "{ outputs = { self }: null; }",
        "{ outputs = { self }: { packages = null; }; }",
    ] {
        let diagnostics = Case::new(text).run();
        let unexpected: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.rule != Rule::FlakeOutputMissing || !text.contains("packages = null"))
            .collect();
        assert!(unexpected.is_empty(), "{text}: {diagnostics:#?}");
    }
}

#[test]
fn let_bound_flake_attributes_are_read() {
    let text = r#"let
      name = "app";
    in {
      inputs = { };
      outputs = { self }: {
        packages.x86_64-linux.${name} = derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; };
      };
    }"#;
    assert_clean(Case::new(text).output("app").unlocked());
    single(&Case::new(text).unlocked(), Rule::FlakeOutputMissing);
}

// ---------------------------------------------------------------- SF501

#[test]
fn syntax_errors_are_reported_with_exact_spans() {
    let text = "{\n  outputs = { self }: {\n    packages.x86_64-linux.default = 1\n  };\n}\n";
    let diagnostics = Case::new(text).run();
    assert!(!diagnostics.is_empty());
    assert!(
        diagnostics
            .iter()
            .all(|d| d.rule == Rule::FlakeSyntax && d.severity == Severity::Error)
    );
    let first = &diagnostics[0];
    assert_eq!(first.file, FILE);
    assert_eq!(span_text(text, first), "}");
    assert_eq!(first.span.start as usize, text.find("};").unwrap());
    assert!(first.message.contains("expected"), "{first:#?}");
    assert!(first.message.contains("found `}`"), "{first:#?}");
    assert_eq!(
        first.help.as_deref(),
        Some("end every `name = value` binding with `;`")
    );
}

#[test]
fn all_syntax_errors_are_reported() {
    let text = "{\n  a = ;\n  b = 1 +;\n  c = 3;\n}";
    let diagnostics = Case::new(text).run();
    assert!(diagnostics.len() >= 2, "{diagnostics:#?}");
    assert!(diagnostics.iter().all(|d| d.rule == Rule::FlakeSyntax));
    let lines: Vec<usize> = diagnostics
        .iter()
        .map(|d| text[..d.span.start as usize].matches('\n').count())
        .collect();
    assert!(lines.contains(&1) && lines.contains(&2), "{diagnostics:#?}");
    assert!(summarize(text).is_none());
}

#[test]
fn truncated_file_reports_end_of_file() {
    let text = "{\n  outputs = { self }: {\n    packages.x86_64-linux.default = null;\n";
    let diagnostics = Case::new(text).run();
    assert!(!diagnostics.is_empty());
    let eof = diagnostics
        .iter()
        .find(|d| d.message.starts_with("unexpected end of file"))
        .expect("eof error");
    assert_eq!(eof.span, Span::new(text.len() as u32, text.len() as u32));
    assert!(eof.help.as_deref().unwrap().contains("close every"));
}

#[test]
fn extra_text_after_the_flake() {
    let text = "{ outputs = { self }: { }; }\n}";
    let diagnostics = Case::new(text).run();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.rule == Rule::FlakeSyntax && span_text(text, d) == "}"),
        "{diagnostics:#?}"
    );
}

// ---------------------------------------------------------------- SF502

const TWO_PACKAGES: &str = r#"{
  outputs = { self }: {
    packages.x86_64-linux.default = derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; };
    packages.x86_64-linux.server = derivation { name = "b"; system = "x86_64-linux"; builder = "/bin/sh"; };
  };
}
"#;

#[test]
fn one_reading_serves_every_use() {
    let (mut flake, findings) = FlakeFile::read(FILE, TWO_PACKAGES, true);
    assert!(findings.is_empty(), "{findings:#?}");
    let uses = [
        None,
        Some("server"),
        Some("web"),
        Some("server"),
        Some("web"),
    ];
    let codes: Vec<Vec<&str>> = uses
        .iter()
        .map(|output| {
            codes(&flake.check_use(&FlakeCheck {
                flake_file: FILE,
                flake_output: *output,
                system: "x86_64-linux",
                image_name: "app",
            }))
        })
        .collect();
    assert_eq!(
        codes,
        [vec![], vec![], vec!["SF502"], vec![], vec!["SF502"]]
    );
}

#[test]
fn missing_output_names_the_candidates_and_existing_outputs() {
    let d = single(
        &Case::new(TWO_PACKAGES).output("web"),
        Rule::FlakeOutputMissing,
    );
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        "flake output `packages.x86_64-linux.web` does not exist: Nix tries `packages.x86_64-linux.web`, `legacyPackages.x86_64-linux.web` and `web`"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "the flake defines `packages.x86_64-linux.default`, `packages.x86_64-linux.server` for `x86_64-linux`; set `flake_output` to one of them, or add `packages.x86_64-linux.web`"
        )
    );
    assert_eq!(span_text(TWO_PACKAGES, &d), "x86_64-linux");
}

#[test]
fn missing_output_suggests_a_close_name() {
    let d = single(
        &Case::new(TWO_PACKAGES).output("sevrer"),
        Rule::FlakeOutputMissing,
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .ends_with("did you mean `flake_output = \"server\"`?"),
        "{d:#?}"
    );
}

#[test]
fn missing_default_output() {
    let text = r#"{
      outputs = { self }: {
        packages.x86_64-linux.server = null;
      };
    }"#;
    let d = single(&Case::new(text), Rule::FlakeOutputMissing);
    assert_eq!(
        d.message,
        "flake output `packages.x86_64-linux.default` does not exist: Nix tries `packages.x86_64-linux.default` and `defaultPackage.x86_64-linux`"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("set `flake_output` to one of them"),
        "{d:#?}"
    );
    let empty = r#"{ outputs = { self }: { }; }"#;
    let d = single(&Case::new(empty), Rule::FlakeOutputMissing);
    assert_eq!(span_text(empty, &d), "outputs");
    assert_eq!(
        d.help.as_deref(),
        Some(
            "the flake defines no packages for `x86_64-linux`; add `packages.x86_64-linux.default`"
        )
    );
}

#[test]
fn output_only_for_another_linux_is_missing_not_non_linux() {
    let text = r#"{
      outputs = { self }: {
        packages.aarch64-linux.default = null;
        packages.aarch64-darwin.default = null;
      };
    }"#;
    let d = single(&Case::new(text), Rule::FlakeOutputMissing);
    let help = d.help.as_deref().unwrap();
    assert!(
        help.contains("only for `aarch64-linux`, `aarch64-darwin`")
            || help.contains("only for `aarch64-darwin`, `aarch64-linux`"),
        "{help}"
    );
}

// ---------------------------------------------------------------- SF503

/// The example of Kurtosis's NixBuildSpec documentation.
const KURTOSIS_DOCS: &str = r#"{
  description = "My project";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
  };

  outputs = { self, nixpkgs, myservice }: {
    defaultPackage.aarch64-darwin = nixpkgs.lib.dockerTools.buildImage {
      name = "myservice";
      tag = "latest";
      contents = [ myservice ];
      config.Cmd = [ "myservice-binary" ];
    };
  };
}
"#;

#[test]
fn kurtosis_docs_example_is_darwin_only_and_unlocked() {
    let case = Case::new(KURTOSIS_DOCS).image("myservice").unlocked();
    let diagnostics = case.run();
    assert_eq!(codes(&diagnostics), ["SF505", "SF503"], "{diagnostics:#?}");

    let unlocked = &diagnostics[0];
    assert_eq!(unlocked.severity, Severity::Warning);
    assert_eq!(span_text(KURTOSIS_DOCS, unlocked), "inputs");
    assert_eq!(
        unlocked.message,
        "the flake has inputs (`nixpkgs`, `myservice`) but no `flake.lock` beside it"
    );
    let help = unlocked.help.as_deref().unwrap();
    assert!(
        help.starts_with("run `nix flake lock` in `nix/app` and commit `flake.lock`"),
        "{help}"
    );
    assert!(
        help.contains("`myservice` is an argument of `outputs` but not declared in `inputs`"),
        "{help}"
    );

    let non_linux = &diagnostics[1];
    assert_eq!(non_linux.severity, Severity::Error);
    assert_eq!(span_text(KURTOSIS_DOCS, non_linux), "aarch64-darwin");
    assert_eq!(
        non_linux.message,
        "flake output `packages.x86_64-linux.default` does not exist: the flake builds this output only for non-Linux systems (`defaultPackage.aarch64-darwin`), and a container needs a Linux image built for `x86_64-linux`"
    );
    assert!(
        non_linux
            .help
            .as_deref()
            .unwrap()
            .starts_with("add `packages.x86_64-linux.default` to the flake")
    );
    assert!(
        non_linux
            .help
            .as_deref()
            .unwrap()
            .contains("eachDefaultSystem")
    );

    // With a lock file only the system problem remains; for a darwin target it is fine.
    assert_eq!(
        codes(&Case::new(KURTOSIS_DOCS).image("myservice").run()),
        ["SF503"]
    );
    assert_clean(
        Case::new(KURTOSIS_DOCS)
            .image("myservice")
            .system("aarch64-darwin"),
    );
}

#[test]
fn each_system_over_darwin_only_is_non_linux() {
    let text = r#"{
      outputs = { self, nixpkgs, flake-utils }:
        flake-utils.lib.eachSystem [ "aarch64-darwin" "x86_64-darwin" ] (system: {
          packages.web = nixpkgs.legacyPackages.${system}.hello;
        });
    }"#;
    let d = single(&Case::new(text).output("web"), Rule::FlakeNonLinux);
    assert_eq!(span_text(text, &d), "\"aarch64-darwin\"");
    assert!(
        d.message
            .contains("(`packages.aarch64-darwin.web`, `packages.x86_64-darwin.web`)"),
        "{d:#?}"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("add `packages.x86_64-linux.web`")
    );
}

#[test]
fn full_attribute_paths_also_find_other_systems() {
    let text = r#"{
      outputs = { self }: {
        packages.aarch64-darwin.web = null;
        images.aarch64-darwin.web = null;
      };
    }"#;
    let d = single(
        &Case::new(text).output("packages.x86_64-linux.web"),
        Rule::FlakeNonLinux,
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("add `packages.x86_64-linux.web` to the flake"),
        "{d:#?}"
    );
    let d = single(
        &Case::new(text).output("images.x86_64-linux.web"),
        Rule::FlakeNonLinux,
    );
    assert!(
        d.message.contains("(`images.aarch64-darwin.web`)"),
        "{d:#?}"
    );
    assert_eq!(span_text(text, &d), "aarch64-darwin");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .starts_with("add `images.x86_64-linux.web` to the flake"),
        "{d:#?}"
    );
}

// ---------------------------------------------------------------- SF504

fn image_flake(args: &str) -> String {
    format!(
        r#"{{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs";
  outputs = {{ self, nixpkgs }}:
    let
      pkgs = nixpkgs.legacyPackages.x86_64-linux;
      image = pkgs.dockerTools.buildLayeredImage {{
        {args}
        contents = [ pkgs.hello ];
      }};
    in {{
      packages.x86_64-linux.default = image;
    }};
}}
"#
    )
}

#[test]
fn image_name_and_tag_that_match_are_clean() {
    let text = image_flake(r#"name = "app"; tag = "latest";"#);
    assert_clean(Case::new(&text).image("app"));
    assert_clean(Case::new(&text).image("app:latest"));
    assert_clean(Case::new(&text).image("docker.io/library/app:latest"));
    let text = image_flake(r#"name = "registry:5000/org/app"; tag = "v1";"#);
    assert_clean(Case::new(&text).image("registry:5000/org/app:v1"));
    // A digest pins the content; only the repository is compared.
    assert_clean(Case::new(&text).image(
        "registry:5000/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ));
}

#[test]
fn image_name_mismatch() {
    let text = image_flake(r#"name = "web"; tag = "latest";"#);
    let d = single(&Case::new(&text).image("app"), Rule::FlakeImageTagMismatch);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(span_text(&text, &d), "\"web\"");
    assert_eq!(
        d.message,
        "the flake names its image `web`, but `image_name` is `app`: the loaded image will not have the name the service asks for"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "set `name = \"app\";` in the `buildLayeredImage` call, or set `image_name` to `web:latest`"
        )
    );
    // Registries are not normalised beyond `docker.io/library/`.
    let text = image_flake(r#"name = "app"; tag = "latest";"#);
    single(
        &Case::new(&text).image("localhost:5000/app"),
        Rule::FlakeImageTagMismatch,
    );
}

#[test]
fn image_without_tag_gets_a_hash_tag() {
    let text = image_flake(r#"name = "app";"#);
    let d = single(&Case::new(&text).image("app"), Rule::FlakeImageTagMismatch);
    assert_eq!(span_text(&text, &d), "\"app\"");
    assert_eq!(
        d.message,
        "the flake sets no `tag`, so dockerTools tags the image `app` with its Nix hash, not `latest` as `image_name` `app` asks"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("add `tag = \"latest\";` to the `buildLayeredImage` call")
    );
    let d = single(
        &Case::new(&text).image("app:v2"),
        Rule::FlakeImageTagMismatch,
    );
    assert_eq!(
        d.help.as_deref(),
        Some("add `tag = \"v2\";` to the `buildLayeredImage` call")
    );
    // `tag = null` is the same as no tag.
    let text = image_flake(r#"name = "app"; tag = null;"#);
    single(&Case::new(&text).image("app"), Rule::FlakeImageTagMismatch);
}

#[test]
fn image_tag_mismatch() {
    let text = image_flake(r#"name = "app"; tag = "v1";"#);
    let d = single(&Case::new(&text).image("app"), Rule::FlakeImageTagMismatch);
    assert_eq!(span_text(&text, &d), "\"v1\"");
    assert_eq!(
        d.message,
        "the flake tags its image `app:v1`, but `image_name` `app` asks for `app:latest` (no tag means `latest`)"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("set `tag = \"latest\";` in the flake, or set `image_name` to `app:v1`")
    );
    assert_clean(Case::new(&text).image("app:v1"));
}

#[test]
fn image_name_and_tag_from_let_and_interpolation() {
    let text = r#"{
      outputs = { self, nixpkgs, flake-utils }:
        flake-utils.lib.eachDefaultSystem (system:
          let
            pkgs = import nixpkgs { inherit system; };
            name = "app";
            version = "1.2";
          in {
            packages.default = pkgs.dockerTools.buildImage rec {
              inherit name;
              tag = "v${version}-${system}";
              config.Cmd = [ "${pkgs.hello}/bin/hello" ];
            };
          });
    }"#;
    assert_clean(Case::new(text).image("app:v1.2-x86_64-linux"));
    let d = single(
        &Case::new(text).image("app:v1.2"),
        Rule::FlakeImageTagMismatch,
    );
    assert_eq!(span_text(text, &d), "\"v${version}-${system}\"");
    assert!(d.message.contains("`app:v1.2-x86_64-linux`"), "{d:#?}");
    let d = single(
        &Case::new(text).image("other:v1.2-x86_64-linux"),
        Rule::FlakeImageTagMismatch,
    );
    assert_eq!(span_text(text, &d), "\"app\"");
}

#[test]
fn image_builders_are_recognised_in_many_spellings() {
    let calls = [
        "pkgs.dockerTools.buildImage",
        "pkgs.dockerTools.streamLayeredImage",
        "nixpkgs.legacyPackages.${system}.dockerTools.buildLayeredImage",
        "(import nixpkgs { inherit system; }).dockerTools.buildImage",
        "(with pkgs; dockerTools.buildImage)",
        "(with pkgs.dockerTools; buildLayeredImage)",
        "nix2container.packages.${system}.nix2container.buildImage",
        "n2c.buildImage",
    ];
    for call in calls {
        let text = format!(
            r#"{{
              outputs = {{ self, nixpkgs, nix2container }}:
                let
                  system = "x86_64-linux";
                  pkgs = nixpkgs.legacyPackages.${{system}};
                  n2c = nix2container.packages.${{system}}.nix2container;
                in {{ packages.${{system}}.default = {call} {{ name = "web"; tag = "latest"; }}; }};
            }}"#
        );
        let d = single(&Case::new(&text).image("app"), Rule::FlakeImageTagMismatch);
        assert_eq!(span_text(&text, &d), "\"web\"", "{call}");
        assert_clean(Case::new(&text).image("web"));
    }
}

#[test]
fn nix2container_without_tag_says_nix2container() {
    let text = r#"{
      outputs = { self, nixpkgs, nix2container }: {
        packages.x86_64-linux.default = nix2container.packages.x86_64-linux.nix2container.buildImage { name = "app"; };
      };
    }"#;
    let d = single(&Case::new(text), Rule::FlakeImageTagMismatch);
    assert!(
        d.message
            .contains("so nix2container tags the image `app` with its Nix hash"),
        "{d:#?}"
    );
}

#[test]
fn image_arguments_that_are_not_static_say_nothing() {
    for args in [
        r#"{ name = pname; tag = "latest"; }"#,
        r#"({ tag = "x"; } // common)"#,
        r#"(common // { name = "app"; })"#,
        r#"{ name = "app"; tag = version; }"#,
        r#"{ name = "app-${toString 1}"; tag = "latest"; }"#,
        r#"common"#,
    ] {
        let text = format!(
            r#"{{ outputs = {{ self, nixpkgs }}: let pkgs = nixpkgs.legacyPackages.x86_64-linux; inherit (pkgs) pname version common; in {{
                packages.x86_64-linux.default = pkgs.dockerTools.buildImage {args};
            }}; }}"#
        );
        assert_clean(Case::new(&text).image("app"));
    }
}

#[test]
fn image_check_follows_self_and_only_the_selected_output() {
    let text = r#"{
      outputs = { self, nixpkgs }: let pkgs = nixpkgs.legacyPackages.x86_64-linux; in {
        packages.x86_64-linux.image = pkgs.dockerTools.buildImage { name = "web"; tag = "latest"; };
        packages.x86_64-linux.default = self.packages.x86_64-linux.image;
        packages.x86_64-linux.other = pkgs.dockerTools.buildImage { name = "other"; tag = "latest"; };
      };
    }"#;
    single(&Case::new(text).image("app"), Rule::FlakeImageTagMismatch);
    assert_clean(Case::new(text).image("web"));
    assert_clean(Case::new(text).image("other").output("other"));
}

#[test]
fn image_check_follows_self_inside_each_default_system() {
    let text = r#"{
      outputs = { self, nixpkgs, flake-utils }:
        flake-utils.lib.eachDefaultSystem (system:
          let pkgs = nixpkgs.legacyPackages.${system}; in {
            packages.image = pkgs.dockerTools.buildLayeredImage { name = "web"; tag = "latest"; };
            packages.default = self.packages.${system}.image;
          });
    }"#;
    let d = single(&Case::new(text).image("app"), Rule::FlakeImageTagMismatch);
    assert_eq!(span_text(text, &d), "\"web\"");
    assert_clean(Case::new(text).image("web:latest"));
}

// ---------------------------------------------------------------- SF505

#[test]
fn unlocked_inputs() {
    let d = single(
        &Case::new(EACH_DEFAULT_SYSTEM).unlocked(),
        Rule::FlakeUnlockedInputs,
    );
    assert_eq!(span_text(EACH_DEFAULT_SYSTEM, &d), "inputs");
    assert_eq!(
        d.message,
        "the flake has inputs (`flake-utils`, `nixpkgs`) but no `flake.lock` beside it"
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "run `nix flake lock` in `nix/app` and commit `flake.lock`; without it every build resolves the inputs anew from the network and writes a lock file into the package"
        )
    );
    assert!(d.labels.is_empty());
    // Implicit inputs only: the span is the argument.
    let text =
        "{ outputs = { self, nixpkgs }: { packages.x86_64-linux.default = nixpkgs.hello; }; }";
    let d = single(&Case::new(text).unlocked(), Rule::FlakeUnlockedInputs);
    assert_eq!(span_text(text, &d), "nixpkgs");
    // No inputs at all.
    assert_clean(
        Case::new(
            "{ inputs = { }; outputs = { self }: { packages.x86_64-linux.default = null; }; }",
        )
        .unlocked(),
    );
    assert_clean(
        Case::new("{ outputs = inputs: { packages.x86_64-linux.default = null; }; }").unlocked(),
    );
}

#[test]
fn flake_at_package_root_says_dot() {
    let diagnostics = check_flake(
        EACH_DEFAULT_SYSTEM,
        false,
        &FlakeCheck {
            flake_file: "flake.nix",
            flake_output: None,
            system: "x86_64-linux",
            image_name: "app",
        },
    );
    assert_eq!(codes(&diagnostics), ["SF505"]);
    assert!(
        diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("run `nix flake lock` in `.`")
    );
}

// ---------------------------------------------------------------- SF506

#[test]
fn package_builders_are_not_images() {
    let text = r#"{
      outputs = { self, nixpkgs }: let pkgs = nixpkgs.legacyPackages.x86_64-linux; in {
        packages.x86_64-linux.default = pkgs.stdenv.mkDerivation { pname = "app"; version = "1"; };
        packages.x86_64-linux.script = pkgs.writeShellScriptBin "app" "echo hi";
        packages.x86_64-linux.hello = pkgs.hello;
        packages.x86_64-linux.raw = builtins.derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; };
      };
    }"#;
    let d = single(&Case::new(text), Rule::FlakeNotAnImage);
    assert_eq!(d.severity, Severity::Info);
    assert_eq!(span_text(text, &d), "pkgs.stdenv.mkDerivation");
    assert!(
        d.message.starts_with(
            "flake output `packages.x86_64-linux.default` is built with `pkgs.stdenv.mkDerivation`"
        ),
        "{d:#?}"
    );
    assert_eq!(codes(&Case::new(text).output("script").run()), ["SF506"]);
    assert_clean(Case::new(text).output("hello"));
    assert_clean(Case::new(text).output("raw"));
}

// ---------------------------------------------------------------- summary

#[test]
fn summary_of_a_static_flake() {
    let summary = summarize(TWO_PACKAGES).unwrap();
    assert_eq!(
        summary,
        FlakeSummary {
            description: None,
            has_inputs: false,
            outputs: vec![
                "packages.x86_64-linux.default".into(),
                "packages.x86_64-linux.server".into()
            ],
            dynamic: false,
        }
    );
    let summary = summarize(KURTOSIS_DOCS).unwrap();
    assert_eq!(summary.description.as_deref(), Some("My project"));
    assert!(summary.has_inputs);
    assert_eq!(summary.outputs, ["defaultPackage.aarch64-darwin"]);
    assert!(!summary.dynamic);
}

#[test]
fn summary_of_dynamic_flakes() {
    let summary = summarize(EACH_DEFAULT_SYSTEM).unwrap();
    assert_eq!(summary.description.as_deref(), Some("flake-utils"));
    assert!(summary.has_inputs);
    assert!(
        summary.dynamic,
        "eachDefaultSystem's system list can be overridden"
    );
    for system in eval::DEFAULT_SYSTEMS {
        assert!(
            summary
                .outputs
                .contains(&format!("packages.{system}.default")),
            "{summary:#?}"
        );
        assert!(
            summary
                .outputs
                .contains(&format!("devShells.{system}.default")),
            "{summary:#?}"
        );
    }
    let summary = summarize(GEN_ATTRS).unwrap();
    assert!(!summary.dynamic, "{summary:#?}");
    assert!(
        summary
            .outputs
            .contains(&"apps.aarch64-darwin.default".to_owned())
    );
    assert!(
        summary
            .outputs
            .contains(&"devShells.x86_64-linux.default".to_owned())
    );
    let summary = summarize("{ outputs = { self, nixpkgs }: { }; }").unwrap();
    assert!(summary.has_inputs, "`nixpkgs` is an implicit input");
    assert!(
        !summarize("{ outputs = { self }: { }; }")
            .unwrap()
            .has_inputs
    );
    let summary = summarize("{ outputs = inputs: import ./outputs.nix inputs; }").unwrap();
    assert!(summary.dynamic);
    assert!(summary.outputs.is_empty());
    assert!(summarize("{ outputs = ").is_none());
}

// ---------------------------------------------------------------- helpers

#[test]
fn candidates_follow_nix() {
    assert_eq!(
        candidate_attr_paths(None, "x86_64-linux"),
        [
            "packages.x86_64-linux.default",
            "defaultPackage.x86_64-linux"
        ]
    );
    assert_eq!(
        candidate_attr_paths(Some(""), "x86_64-linux"),
        [
            "packages.x86_64-linux.default",
            "defaultPackage.x86_64-linux"
        ]
    );
    assert_eq!(
        candidate_attr_paths(Some("default"), "aarch64-linux"),
        [
            "packages.aarch64-linux.default",
            "legacyPackages.aarch64-linux.default",
            "default"
        ]
    );
    assert_eq!(
        candidate_attr_paths(Some("a.\"b.c\""), "x86_64-linux"),
        [
            "packages.x86_64-linux.a.\"b.c\"",
            "legacyPackages.x86_64-linux.a.\"b.c\"",
            "a.\"b.c\""
        ]
    );
    assert!(candidate_attr_paths(Some("\"open"), "x86_64-linux").is_empty());
    assert_eq!(
        parse_attr_path("a..b."),
        Some(vec!["a".to_owned(), String::new(), "b".to_owned()])
    );
    assert_eq!(
        parse_attr_path("\"x.y\".z"),
        Some(vec!["x.y".to_owned(), "z".to_owned()])
    );
}

#[test]
fn image_references_split_like_docker() {
    let parse = |s| {
        let r = ImageRef::parse(s);
        (r.repo, r.tag, r.digest)
    };
    assert_eq!(parse("app"), ("app", None, false));
    assert_eq!(parse("app:v1"), ("app", Some("v1"), false));
    assert_eq!(
        parse("registry:5000/org/app"),
        ("registry:5000/org/app", None, false)
    );
    assert_eq!(
        parse("registry:5000/org/app:v1"),
        ("registry:5000/org/app", Some("v1"), false)
    );
    assert_eq!(
        parse("docker.io/library/app:v1"),
        ("app", Some("v1"), false)
    );
    assert_eq!(parse("app@sha256:abc"), ("app", None, true));
}

#[test]
fn attribute_names_are_quoted_when_needed() {
    assert_eq!(format_component("x86_64-linux"), "x86_64-linux");
    assert_eq!(format_component("my.app"), "\"my.app\"");
    assert_eq!(format_component("1app"), "\"1app\"");
    assert_eq!(format_component("in"), "\"in\"");
    assert_eq!(format_component(""), "\"\"");
}

// ---------------------------------------------------------------- robustness

fn check_everything(text: &str) {
    let (mut flake, _) = FlakeFile::read(FILE, text, false);
    for output in [None, Some("web"), Some("packages.x86_64-linux.default")] {
        let _ = flake.check_use(&FlakeCheck {
            flake_file: FILE,
            flake_output: output,
            system: "x86_64-linux",
            image_name: "app",
        });
    }
    let _ = summarize(text);
}

#[test]
fn never_panics_on_truncated_flakes() {
    let samples = [
        RAW_DERIVATION,
        EACH_DEFAULT_SYSTEM,
        GEN_ATTRS,
        KURTOSIS_DOCS,
        TWO_PACKAGES,
        "{ a = ''\n  multi ${x}\n  line''; b = \"esc\\\"aped ${y}\"; c = ./path/${z}; d = <nixpkgs>; e = http://x.y; }",
    ];
    for sample in samples {
        for (index, _) in sample.char_indices() {
            check_everything(&sample[..index]);
            check_everything(&sample[index..]);
        }
    }
}

#[test]
fn never_panics_on_random_input() {
    // A small deterministic generator (xorshift) over Nix-ish fragments and raw bytes.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ";",
        "=",
        ":",
        ".",
        ",",
        "@",
        "...",
        "?",
        "//",
        "++",
        "rec",
        "let",
        "in",
        "inherit",
        "with",
        "if",
        "then",
        "else",
        "or",
        "self",
        "packages",
        "x86_64-linux",
        "${",
        "\"",
        "''",
        "a",
        "outputs",
        "inputs",
        "eachDefaultSystem",
        "genAttrs",
        "system",
        "dockerTools.buildImage",
        "name",
        "tag",
        " ",
        "\n",
        "#",
        "/*",
        "*/",
        "1",
        "./p",
        "\\",
        "$",
        "é",
        "\u{0}",
    ];
    for _ in 0..3000 {
        let len = (next() % 60) as usize;
        let mut text = String::new();
        for _ in 0..len {
            if next() % 10 == 0 {
                text.push(char::from_u32((next() % 0x250) as u32).unwrap_or('?'));
            } else {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
        }
        check_everything(&text);
    }
}

#[test]
fn never_panics_on_deep_or_recursive_input() {
    let depth = 5000;
    let inputs = [
        format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
        format!("{}{}", "{ a = ".repeat(depth), "1; }".repeat(depth)),
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("{{ outputs = {{ self }}: {{ packages.x86_64-linux{} = 1; }}; }}", ".a".repeat(depth)),
        format!("{}{{ }}", "let a = 1; in ".repeat(depth)),
        format!("{{ outputs = {{ self }}: {}{{ }}; }}", "x: ".repeat(depth)),
        format!("{{ outputs = {{ self }}: {}{{ }}; }}", "{ } // ".repeat(depth)),
        "{ outputs = { self }: let f = x: f x; in f 1; }".to_owned(),
        "{ outputs = { self }: let f = x: { packages = f x; } // f x; in f 1; }".to_owned(),
        "{ outputs = { self }: let a = b; b = a; in { packages = a; }; }".to_owned(),
        "{ outputs = { self }: rec { packages = packages; }; }".to_owned(),
        "{ outputs = { self }: { packages = self.packages // self.packages; }; }".to_owned(),
        "{ outputs = { self, f }: let g = n: f.lib.eachDefaultSystem (s: { packages.default = g n; }); in g 1; }"
            .to_owned(),
        format!(
            "{{ outputs = {{ self, l }}: let {} in {{ packages = x0; }}; }}",
            (0..200).map(|i| format!("x{i} = l.lib.genAttrs [ \"a\" \"b\" ] (s: x{});", i + 1)).collect::<String>()
        ),
    ];
    // Exponential growth: doubling strings and lists, and many copies of a big set.
    let doubling_strings = format!(
        "{{ outputs = {{ self }}: let a0 = \"xx\"; {} in {{ packages.x86_64-linux.${{a60}} = null; }}; }}",
        (1..=60)
            .map(|i| format!("a{i} = \"${{a{p}}}${{a{p}}}\"; ", p = i - 1))
            .collect::<String>()
    );
    let doubling_lists = format!(
        "{{ outputs = {{ self, nixpkgs }}: let l0 = [ \"a\" \"b\" ]; {} in {{ packages = nixpkgs.lib.genAttrs l60 (s: {{ }}); }}; }}",
        (1..=60)
            .map(|i| format!("l{i} = l{p} ++ l{p}; ", p = i - 1))
            .collect::<String>()
    );
    let big_set: String = (0..400).map(|i| format!("k{i} = null; ")).collect();
    let names: String = (0..400).map(|i| format!("\"s{i}\" ")).collect();
    let wide_copies = format!(
        "{{ outputs = {{ self, nixpkgs }}: let big = {{ {big_set} }}; in {{ packages = nixpkgs.lib.genAttrs [ {names} ] (s: big // {{ x = null; }}); }}; }}"
    );
    let inputs: Vec<String> = inputs
        .into_iter()
        .chain([doubling_strings, doubling_lists, wide_copies])
        .collect();
    for input in &inputs {
        // A thread with the default test stack size, as callers have.
        let input = input.clone();
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || check_everything(&input))
            .unwrap()
            .join()
            .unwrap();
    }
}

#[test]
fn output_span_is_where_the_attribute_nix_builds_is_written() {
    let text = "{\n  outputs = { self }: {\n    packages.x86_64-linux = {\n      api = derivation { system = \"x86_64-linux\"; name = \"api\"; builder = \"/bin/sh\"; };\n    };\n    defaultPackage.x86_64-linux = self.packages.x86_64-linux.api;\n  };\n}\n";
    let (mut flake, _) = FlakeFile::read(FILE, text, true);
    let written = |span: Option<Span>| span.map(|span| &text[span.range()]);
    assert_eq!(
        written(flake.output_span(Some("api"), "x86_64-linux")),
        Some("api")
    );
    // No fragment: `packages.<system>.default` is absent, `defaultPackage.<system>` is used.
    assert_eq!(
        written(flake.output_span(None, "x86_64-linux")),
        Some("x86_64-linux")
    );
    assert_eq!(flake.output_span(Some("web"), "x86_64-linux"), None);
}

// ---------------------------------------------------------------- attributes defined twice

/// A flake whose `outputs` body is `bindings` (with `system` bound to x86_64-linux) and which
/// builds `packages.x86_64-linux.web`.
fn outputs_with(bindings: &str) -> String {
    format!(
        r#"{{
  outputs = {{ self }}: let system = "x86_64-linux"; drv = derivation {{ inherit system; name = "x"; builder = "/bin/sh"; }}; in {{
{bindings}
  }};
}}
"#
    )
}

/// The (second place, first place) texts of every SF507 that `bindings` get, checking `web`.
fn duplicates_in(bindings: &str) -> Vec<(String, String)> {
    let text = outputs_with(bindings);
    Case::new(&text)
        .output("web")
        .run()
        .iter()
        .filter(|d| d.rule == Rule::FlakeDuplicateAttribute)
        .map(|d| {
            assert_eq!(d.labels.len(), 1, "{d:#?}");
            (
                span_text(&text, d).to_owned(),
                text[d.labels[0].span.range()].to_owned(),
            )
        })
        .collect()
}

/// Nix 2.8: "dynamic attribute 'x86_64-linux' already defined".
#[test]
fn a_dynamic_key_given_twice_is_refused_as_nix_refuses_it() {
    let text =
        outputs_with("    packages.${system}.web = drv;\n    packages.${system}.hello = drv;");
    let diagnostic = Case::new(&text)
        .output("web")
        .run()
        .into_iter()
        .find(|d| d.rule == Rule::FlakeDuplicateAttribute)
        .expect("SF507");
    assert_eq!(span_text(&text, &diagnostic), "${system}");
    assert!(text[..diagnostic.span.start as usize].contains("packages.${system}.web"));
    assert!(
        diagnostic
            .message
            .contains("dynamic attribute `packages.x86_64-linux`"),
        "{}",
        diagnostic.message
    );
    assert_eq!(diagnostic.labels[0].message, "first defined here");
    assert!(diagnostic.labels[0].span.start < diagnostic.span.start);
}

/// Each case as `nix-instantiate --eval` (Nix 2.8) answers it.
#[test]
fn static_duplicates_are_refused_where_nix_refuses_them() {
    let twice = |first: &str, second: &str| vec![(second.to_owned(), first.to_owned())];
    // error: attribute 'a' already defined
    assert_eq!(
        duplicates_in("a = 1; a = 2; packages.${system}.web = drv;"),
        twice("a", "a")
    );
    // error: attribute 'a.b' already defined
    assert_eq!(
        duplicates_in("a = 1; a.b = 2; packages.${system}.web = drv;"),
        twice("a", "a")
    );
    assert_eq!(
        duplicates_in("a.b = 1; a.b = 2; packages.${system}.web = drv;"),
        twice("b", "b")
    );
    assert_eq!(
        duplicates_in("a = drv; a.b = 1; packages.${system}.web = drv;"),
        twice("a", "a")
    );
}

#[test]
fn merges_nix_allows_are_not_duplicates() {
    for bindings in [
        "a.b = 1; a = { c = 2; }; packages.${system}.web = drv;",
        "a = { c = 2; }; a.b = 1; packages.${system}.web = drv;",
        "a = { b = 1; }; a = { c = 2; }; packages.${system}.web = drv;",
        "a = rec { c = 2; }; a.b = 1; packages.${system}.web = drv;",
        "packages.${system} = { web = drv; hello = drv; };",
        "packages.x86_64-linux.web = drv; packages.x86_64-linux.hello = drv;",
    ] {
        assert_eq!(
            duplicates_in(bindings),
            Vec::<(String, String)>::new(),
            "{bindings}"
        );
    }
}

/// Nix finds a static duplicate when it parses the file, a dynamic one only when it
/// evaluates the set: `nix build .#web` never evaluates `checks`.
#[test]
fn a_dynamic_duplicate_in_a_set_nix_never_evaluates_is_not_reported() {
    let text =
        outputs_with("packages.${system}.web = drv; checks = { ${system} = 1; ${system} = 2; };");
    assert!(
        Case::new(&text).output("web").run().is_empty(),
        "{:#?}",
        Case::new(&text).output("web").run()
    );
}

/// Nix stops at the first undefined variable; a file of nothing else gets a bounded report.
#[test]
fn undefined_variables_are_reported_up_to_a_bound() {
    let text = format!("{{ outputs = {{ self }}: [ {} ]; }}", "x ".repeat(1000));
    let (_, diagnostics) = FlakeFile::read(FILE, &text, true);
    assert_eq!(diagnostics.len(), scope::MAX_REPORTED);
    assert!(
        diagnostics
            .iter()
            .all(|d| d.rule == Rule::FlakeUndefinedVariable && span_text(&text, d) == "x")
    );
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some(
            "bind it first: take it as an argument of `outputs` (`{ self, nixpkgs, x, ... }:`, with an input of that name) or define it with `let x = ...; in`"
        )
    );
}

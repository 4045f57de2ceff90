//! The registry of rules: every diagnostic starflake can report, with a stable code.
//!
//! Codes never change meaning once released; the README's table is generated from this list
//! (`starflake rules --format markdown`).

use serde::Serialize;

use super::Severity;

/// What a rule is, for `starflake rules`, the README and the playground.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RuleInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! rules {
    ($($variant:ident = ($code:literal, $name:literal, $severity:ident, $summary:literal);)*) => {
        /// Every rule starflake checks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            pub fn info(self) -> RuleInfo {
                match self {
                    $(Rule::$variant => RuleInfo {
                        code: $code,
                        name: $name,
                        severity: Severity::$severity,
                        summary: $summary,
                    },)*
                }
            }
        }
    };
}

impl Rule {
    pub fn code(self) -> &'static str {
        self.info().code
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

rules! {
    // SF0xx: Starlark syntax, evaluation and the Kurtosis dialect.
    SyntaxError = ("SF001", "syntax-error", Error, "The file is not valid Starlark.");
    UndefinedName = ("SF002", "undefined-name", Error, "A name is used that is neither defined nor predeclared by Kurtosis.");
    EvaluationError = ("SF003", "evaluation-error", Error, "Evaluating the Starlark failed (a type error, `fail()`, a bad index, ...).");
    RunawayEvaluation = ("SF004", "runaway-evaluation", Error, "Evaluation took too many steps or too long, as an endless loop does.");
    DialectViolation = ("SF005", "kurtosis-dialect", Error, "A construct Kurtosis's Starlark rejects: `load()`, top-level `print`, top-level `if`/`for`, global reassignment, recursion, sets.");
    ImportCycle = ("SF006", "import-cycle", Error, "Modules import each other in a cycle.");
    FileNotFound = ("SF007", "file-not-found", Error, "A module, file or folder named by a locator does not exist in the package.");
    RemoteUnavailable = ("SF008", "remote-package-unavailable", Warning, "A locator names another package that is not available locally; its values are not checked.");
    EntryPoint = ("SF009", "entrypoint", Error, "`main.star` lacks a usable `run` function, or its parameters do not fit Kurtosis's rules.");
    InvalidArgs = ("SF010", "invalid-args", Error, "The package arguments (`--args`, `--args-file`) are not a JSON or YAML object, or do not fit `run`'s parameters.");
    InvalidLocator = ("SF011", "invalid-locator", Error, "A locator is malformed, or imports the package's own files by absolute URL.");
    NestingTooDeep = ("SF012", "nesting-too-deep", Error, "Brackets, blocks and chained operators nest deeper than a check accepts (100 levels), or modules import each other more than 32 deep; what is too deep is not checked.");
    MemoryLimit = ("SF013", "memory-limit", Error, "Evaluation would take more memory than a check allows (128 MiB of Starlark values); it stops before.");
    FileTooLarge = ("SF014", "file-too-large", Error, "A Starlark file is larger than a check reads (4 MiB); it is not checked.");
    // SF1xx: the package itself.
    PackageManifest = ("SF101", "kurtosis-yml", Error, "`kurtosis.yml` is missing, not valid YAML, or its fields are wrong.");
    PackageName = ("SF102", "package-name", Error, "The `name` in `kurtosis.yml` is not a `github.com/<org>/<repo>[/path]` locator.");
    // SF2xx: arguments of Kurtosis builtins.
    MissingArgument = ("SF201", "missing-argument", Error, "A required argument of a Kurtosis builtin is missing.");
    UnknownArgument = ("SF202", "unknown-argument", Error, "A builtin got an argument it does not take, or too many positional arguments.");
    WrongType = ("SF203", "wrong-type", Error, "An argument has the wrong type.");
    EmptyString = ("SF204", "empty-string", Error, "An argument that must be a non-empty string is empty.");
    OutOfRange = ("SF205", "out-of-range", Error, "A number is outside its allowed range (ports 1-65535, memory >= 6 MB, ...).");
    InvalidValue = ("SF206", "invalid-value", Error, "A value is not one of the allowed values or has a malformed format (duration, protocol, assertion, ...).");
    ConflictingArguments = ("SF207", "conflicting-arguments", Error, "Arguments that exclude each other were given together.");
    DeprecatedArgument = ("SF208", "deprecated-argument", Warning, "An argument Kurtosis deprecates; it still works.");
    UnknownAttribute = ("SF209", "unknown-attribute", Error, "An attribute or instruction that does not exist (`plan.add_servce`).");
    // SF3xx: the plan, as Kurtosis validates it before running.
    InvalidServiceName = ("SF301", "invalid-service-name", Error, "A service name breaks RFC 1035 (lower-case letters, digits, '-', 1-63 characters).");
    InvalidPortId = ("SF302", "invalid-port-id", Error, "A port id breaks RFC 6335 (lower-case letters, digits, '-', 1-15 characters).");
    DuplicateService = ("SF303", "duplicate-service", Error, "Two services have the same name.");
    UnknownService = ("SF304", "unknown-service", Error, "An instruction names a service that does not exist at that point of the plan.");
    UnknownPort = ("SF305", "unknown-port", Error, "A recipe names a port id the service does not declare.");
    UnknownArtifact = ("SF306", "unknown-artifact", Error, "A files artifact is used that no earlier instruction creates.");
    DuplicateArtifact = ("SF307", "duplicate-artifact", Error, "Two instructions create files artifacts with the same name.");
    InvalidLabel = ("SF308", "invalid-label", Error, "A service label key or value breaks Docker's or Kubernetes's rules.");
    PrivilegedNotAllowed = ("SF309", "privileged-mode", Warning, "`privileged`, `host_pid_namespace` or `bind_mounts` need explicit opt-in when the package runs.");
    // SF4xx: image sources.
    FlakeNotFound = ("SF401", "flake-not-found", Error, "No `flake.nix` at the place a NixBuildSpec names.");
    PathEscapesPackage = ("SF402", "path-escapes-package", Error, "A build path leaves the package (through `..`, an absolute host path or a symlink).");
    InvalidImageName = ("SF403", "invalid-image-name", Error, "An image name is not a valid Docker image reference.");
    ConflictingImageName = ("SF404", "conflicting-image-name", Error, "One image name is given to two different image sources; Kurtosis would silently keep the last.");
    DockerfileNotFound = ("SF405", "dockerfile-not-found", Error, "An ImageBuildSpec's Dockerfile is not in its build context.");
    FlakeOutsideContext = ("SF406", "flake-outside-context", Warning, "`flake_location_dir` leaves `build_context_dir`; Nix sees only the flake's folder.");
    PositionalNixBuildSpec = ("SF407", "positional-nix-build-spec", Warning, "NixBuildSpec called with positional arguments; Kurtosis binds them as (flake_location_dir, build_context_dir, image_name), not the documented order.");
    // SF5xx: the flake, read statically.
    FlakeSyntax = ("SF501", "flake-syntax", Error, "`flake.nix` is not valid Nix.");
    FlakeOutputMissing = ("SF502", "flake-output-missing", Error, "The selected flake output does not exist for the target system.");
    FlakeNonLinux = ("SF503", "flake-non-linux", Error, "The flake builds this output only for non-Linux systems, which cannot run in a container.");
    FlakeImageTagMismatch = ("SF504", "flake-image-mismatch", Warning, "The `name`/`tag` the flake gives its image differ from `image_name`.");
    FlakeUnlockedInputs = ("SF505", "flake-unlocked-inputs", Warning, "The flake has inputs but no `flake.lock`; the build needs the network and writes into the package.");
    FlakeNotAnImage = ("SF506", "flake-not-an-image", Info, "The selected output does not look like a container image builder.");
    FlakeDuplicateAttribute = ("SF507", "flake-duplicate-attribute", Error, "An attribute is defined twice in one attribute set of the flake, which Nix refuses to evaluate.");
}

/// The rule table as Markdown, as the README shows it.
pub fn rules_markdown() -> String {
    let mut out =
        String::from("| code | name | default severity | what it reports |\n|---|---|---|---|\n");
    for rule in Rule::ALL {
        let info = rule.info();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            info.code,
            info.name,
            info.severity.as_str(),
            info.summary.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        let names: HashSet<_> = Rule::ALL.iter().map(|rule| rule.name()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert_eq!(names.len(), Rule::ALL.len());
    }
}

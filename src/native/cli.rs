//! The `starflake` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::FsSource;
use crate::check::{ArgsInput, CheckOptions, CheckResult, DEFAULT_SYSTEM, check};
use crate::diagnostic::Rule;
use crate::text::PositionEncoding;

#[derive(Parser)]
#[command(
    name = "starflake",
    version,
    about = "Check, preview, build and deploy Kurtosis packages whose images come from Nix flakes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a package: evaluate its Starlark and validate services, images and flakes.
    Check(CheckArgs),
    /// Print the plan: what `run` would do, in order, and how every image is built.
    Plan(CheckArgs),
    /// Build every NixBuildSpec image with Nix, load it into Docker and tag it `image_name`.
    Build(BuildArgs),
    /// Build the images, then deploy the package into an enclave on the local Docker engine.
    Run(RunArgs),
    /// List, inspect or remove the enclaves `run` made.
    Enclave {
        #[command(subcommand)]
        command: EnclaveCommand,
    },
    /// Fetch the package's dependencies into the package cache.
    Deps {
        #[command(subcommand)]
        command: DepsCommand,
    },
    /// Serve the Language Server Protocol on stdin and stdout, for editors.
    Lsp {
        /// Accepted for clients that pass it (VS Code's); stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// List every rule with its code, severity and summary, or explain one rule.
    Rules {
        /// The rule to explain, by code or name (`SF401`, `flake-not-found`).
        #[arg(value_name = "CODE")]
        rule: Option<String>,
        /// The rule to explain, as the positional argument does.
        #[arg(long, value_name = "CODE", conflicts_with = "rule")]
        explain: Option<String>,
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// The package folder (holding kurtosis.yml and main.star).
    #[arg(default_value = ".")]
    path: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Package arguments as JSON or YAML text, as with `kurtosis run --args`.
    #[arg(long, conflicts_with = "args_file")]
    args: Option<String>,
    /// A JSON or YAML file with the package arguments.
    #[arg(long)]
    args_file: Option<PathBuf>,
    /// A folder holding dependencies as `github.com/<org>/<repo>/...` (`.../<repo>@<ref>/` when
    /// pinned) [default: the package cache of `starflake deps fetch`].
    #[arg(long)]
    packages: Option<PathBuf>,
    /// The Nix system to build images for [default: x86_64-linux; for `build` and `run`, the
    /// Docker engine's].
    #[arg(long)]
    system: Option<String>,
    /// The main file of the package.
    #[arg(long, default_value = "main.star")]
    main_file: String,
    /// The function Kurtosis calls in the main file.
    #[arg(long, default_value = "run")]
    main_function_name: String,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Stop evaluating after this many seconds (at most a day).
    #[arg(long, default_value = "2", value_parser = parse_timeout)]
    timeout: Duration,
    /// Push every Nix image to this OCI registry (`host[:port][/path]`) as
    /// `REGISTRY/<image_name>`; the plan shows where each image will live.
    #[arg(long, value_name = "REGISTRY")]
    push: Option<String>,
}

#[derive(Args)]
struct BuildArgs {
    #[command(flatten)]
    check: CheckArgs,
    #[command(flatten)]
    build: super::build::BuildFlags,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    check: CheckArgs,
    #[command(flatten)]
    run: super::run::RunFlags,
}

#[derive(Subcommand)]
enum EnclaveCommand {
    /// List the enclaves: name, services, when it was created.
    Ls {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show an enclave's services: state, ports, image and its Nix store path.
    Inspect {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Remove everything labelled with the enclave: containers, volumes, network, files.
    Rm {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Release the enclave's lock held by a command on another machine that has ended
    /// (one on this machine that has ended is taken over by the next command by itself).
    Unlock { name: String },
}

#[derive(Subcommand)]
enum DepsCommand {
    /// Clone every `github.com/...` dependency (transitively, at the version `replace:` pins)
    /// with git into the package cache, which the other commands read by default.
    Fetch {
        /// The package folder (holding kurtosis.yml).
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The package cache [default: $STARFLAKE_PACKAGES_DIR, else starflake/packages in the
        /// platform's cache folder].
        #[arg(long)]
        packages: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Human,
    Json,
    /// The README's table.
    Markdown,
    /// Every rule's explanation: `docs/rules.md`.
    Docs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args, false),
        Command::Plan(args) => run_check(&args, true),
        Command::Build(args) => match options(&args.check) {
            Ok((source, options)) => {
                super::build::run(source, options, &args.build, settings(&args.check))
            }
            Err(message) => usage_error(&message),
        },
        Command::Run(args) => match options(&args.check) {
            Ok((source, options)) => {
                super::run::run(source, options, &args.run, settings(&args.check))
            }
            Err(message) => usage_error(&message),
        },
        Command::Enclave { command } => {
            use super::run::EnclaveCommand as Do;
            let (command, format) = match command {
                EnclaveCommand::Ls { format } => (Do::List, format),
                EnclaveCommand::Inspect { name, format } => (Do::Inspect(name), format),
                EnclaveCommand::Rm { name, format } => (Do::Remove(name), format),
                EnclaveCommand::Unlock { name } => (Do::Unlock(name), Format::Human),
            };
            super::run::enclave_command(command, matches!(format, Format::Json))
        }
        Command::Deps {
            command: DepsCommand::Fetch { path, packages },
        } => fetch_dependencies(&path, packages),
        Command::Lsp { stdio: _ } => super::lsp::run(),
        Command::Rules {
            rule,
            explain,
            format,
        } => match rule.or(explain) {
            None => {
                print!("{}", render_rules(format));
                ExitCode::SUCCESS
            }
            Some(wanted) => match Rule::find(&wanted) {
                Some(rule) => {
                    print!("{}", explain_rule(rule, format));
                    ExitCode::SUCCESS
                }
                None => {
                    let names = || Rule::ALL.iter().flat_map(|rule| [rule.code(), rule.name()]);
                    let hint =
                        crate::diagnostic::did_you_mean(&wanted.to_ascii_uppercase(), names())
                            .or_else(|| crate::diagnostic::did_you_mean(&wanted, names()))
                            .map(|near| format!(" (did you mean `{near}`?)"))
                            .unwrap_or_default();
                    usage_error(&format!(
                        "there is no rule `{wanted}`{hint}; `starflake rules` lists them"
                    ))
                }
            },
        },
    }
}

fn fetch_dependencies(package: &Path, packages: Option<PathBuf>) -> ExitCode {
    let Some(cache) = packages.or_else(super::deps::default_packages_dir) else {
        return usage_error("no cache folder is known here; give one with `--packages DIR`");
    };
    let fetched = match super::deps::fetch(package, &cache) {
        Ok(fetched) => fetched,
        Err(message) => return usage_error(&message),
    };
    let mut failed = false;
    for dependency in &fetched {
        match dependency {
            super::deps::Fetched::Cloned(name) => println!("fetched {name}"),
            super::deps::Fetched::AlreadyThere(name) => println!("up to date {name}"),
            super::deps::Fetched::Failed(name, message) => {
                failed = true;
                eprintln!("error: cannot fetch {name}: {message}");
            }
        }
    }
    println!("{} dependencies in {}", fetched.len(), cache.display());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// `--timeout`: seconds, from a tenth of a second (less would stop every package before it
/// starts) to a day.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    const MOST: f64 = 24.0 * 3600.0;
    match text.parse::<f64>() {
        Ok(seconds) if (0.0..=MOST).contains(&seconds) => {
            Ok(Duration::from_secs_f64(seconds.max(0.1)))
        }
        _ => Err(format!("expected a number of seconds from 0 to {MOST}")),
    }
}

/// The settings `build` and `run` share with `check`.
fn settings(args: &CheckArgs) -> super::build::Settings {
    super::build::Settings {
        color: color(args.color),
        json: matches!(args.format, Format::Json),
        eval_timeout: args.timeout,
        system_given: args.system.is_some(),
    }
}

/// Reads the options shared by every command that checks a package.
fn options(args: &CheckArgs) -> Result<(FsSource, CheckOptions), String> {
    if !args.path.is_dir() {
        return Err(format!(
            "`{}` is not a folder; give the package folder (the one holding kurtosis.yml)",
            args.path.display()
        ));
    }
    let source = FsSource::new(&args.path);
    let args_input = match (&args.args, &args.args_file) {
        (Some(text), _) => Some(ArgsInput {
            origin: "--args".to_owned(),
            text: text.clone(),
        }),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .map_err(|error| format!("cannot read `{}`: {error}", file.display()))?;
            Some(ArgsInput {
                origin: file.display().to_string(),
                text,
            })
        }
        (None, None) => None,
    };
    // Without `--packages`, the package cache `starflake deps fetch` fills, when there is one.
    let packages_dir = args
        .packages
        .clone()
        .or_else(|| super::deps::default_packages_dir().filter(|dir| dir.is_dir()))
        .map(|dir| absolute(&dir))
        .transpose()?;
    let options = CheckOptions {
        main_file: crate::source::normalize(&args.main_file),
        main_function: args.main_function_name.clone(),
        args: args_input,
        system: args
            .system
            .clone()
            .unwrap_or_else(|| DEFAULT_SYSTEM.to_owned()),
        packages_dir,
        push: args.push.clone(),
        interrupt: Some(super::interrupt_after(args.timeout)),
    };
    Ok((source, options))
}

fn absolute(dir: &Path) -> Result<String, String> {
    let dir = std::path::absolute(dir)
        .map_err(|error| format!("cannot use `{}`: {error}", dir.display()))?;
    Ok(dir.to_string_lossy().into_owned())
}

fn color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

fn run_check(args: &CheckArgs, print_plan: bool) -> ExitCode {
    let (source, options) = match options(args) {
        Ok(found) => found,
        Err(message) => return usage_error(&message),
    };
    let result = check(&source, &options);
    report(&result, args, print_plan);
    if result.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn report(result: &CheckResult, args: &CheckArgs, print_plan: bool) {
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let _ = writeln!(stdout, "{}", check_json(result));
        }
        Format::Human => {
            let rendered = result.render_human(color(args.color));
            if print_plan {
                eprint!("{rendered}");
                let _ = write!(stdout, "{}", crate::plan::render_human(&result.plan));
            } else {
                let _ = write!(stdout, "{rendered}");
            }
        }
    }
}

/// The JSON document of `check --format json`: the diagnostics and the plan.
pub(crate) fn check_json(result: &CheckResult) -> String {
    serde_json::to_string_pretty(&result.json_report(PositionEncoding::Utf16)).unwrap_or_default()
}

/// One rule's explanation, as `starflake rules CODE` prints it.
fn explain_rule(rule: Rule, format: RulesFormat) -> String {
    let info = rule.info();
    match format {
        RulesFormat::Json => {
            let document = serde_json::json!({
                "code": info.code,
                "name": info.name,
                "severity": info.severity,
                "summary": info.summary,
                "explanation": rule.explanation(),
                "doc_anchor": rule.doc_anchor(),
            });
            serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
        }
        RulesFormat::Human | RulesFormat::Markdown | RulesFormat::Docs => format!(
            "# {} {} ({})\n\n{}\n\n{}",
            info.code,
            info.name,
            info.severity.as_str(),
            info.summary,
            rule.explanation()
        ),
    }
}

fn render_rules(format: RulesFormat) -> String {
    let infos: Vec<_> = Rule::ALL.iter().map(|rule| rule.info()).collect();
    match format {
        RulesFormat::Json => serde_json::to_string_pretty(&infos).unwrap_or_default() + "\n",
        RulesFormat::Markdown => crate::diagnostic::rules_markdown(),
        RulesFormat::Docs => crate::diagnostic::rules_doc(),
        RulesFormat::Human => infos
            .iter()
            .map(|info| {
                format!(
                    "{:6} {:28} {:8} {}\n",
                    info.code,
                    info.name,
                    info.severity.as_str(),
                    info.summary
                )
            })
            .collect(),
    }
}

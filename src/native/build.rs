//! `starflake build`: check the package, then for every NixBuildSpec image of the plan run
//! its `nix build` command, stream the output into Docker and tag it as `image_name`.
//!
//! Images build in parallel (bounded by `--jobs`); results print in plan order. A store path
//! loaded before (and still in Docker) is not loaded again. Ctrl-C stops Nix and the loads
//! and leaves `image_name` where it was.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::FsSource;
use super::docker::{self, ConnectError, Engine, LoadCache, OutputKind};
use super::nix::{self, Activity, BuildError, NixEvent};
use super::push::{self, PushError, Pushed, Registry, Target};
use crate::check::{CheckOptions, CheckResult, check};
use crate::plan::{Image, ImageSource, NixBuild, shell_words};

/// Lines of the build log kept for an error report.
const LOG_TAIL: usize = 25;
/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;
/// What follows a load that the engine's going away cut short.
pub(crate) const NO_PARTIAL_IMAGE: &str = "An image Docker did not receive whole is not kept: once the engine answers again, run the command again";

/// The options of `starflake build` beyond those of `check`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BuildFlags {
    /// Build at most this many images at once [default: the number of CPUs].
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Print the commands a build would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print only errors and the result lines.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the full build log of every image.
    #[arg(short, long)]
    pub verbose: bool,
    /// Load every image even when its store path was loaded before.
    #[arg(long)]
    pub no_cache: bool,
    /// Push to the `--push` registry over plain HTTP even when it is not on loopback.
    #[arg(long)]
    pub insecure_registry: bool,
}

/// Settings of the command line that `check` shares.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    /// Colour diagnostics.
    pub color: bool,
    /// Print the results as one JSON document on stdout.
    pub json: bool,
    /// How long the Starlark evaluation may take (`--timeout`), counted from when it starts:
    /// finding Nix and Docker first must not eat into it.
    pub eval_timeout: Duration,
    /// Whether `--system` was given: otherwise images are built for the Docker engine's system.
    pub system_given: bool,
}

/// Runs `starflake build`; returns 0 when every image is in Docker, 1 when something failed,
/// 130 after Ctrl-C.
pub fn run(
    source: FsSource,
    options: CheckOptions,
    flags: &BuildFlags,
    settings: Settings,
) -> ExitCode {
    block_on(build(source, options, flags, settings))
}

/// Runs the async part of a command (`starflake build`, `run`, `enclave`) on a new runtime;
/// its result is the exit code.
pub(crate) fn block_on(command: impl Future<Output = u8>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(command);
    // Do not wait for blocking reads of children that were killed.
    runtime.shutdown_timeout(Duration::from_secs(1));
    ExitCode::from(code)
}

/// A failure of `build`, `run` or `enclave` before there is a report to print. Said on
/// stderr; with `--format json` also as the document on stdout,
/// `{"error": {"stage", "message", "details"}}`, so whoever reads stdout always gets JSON.
#[derive(Debug, Serialize)]
pub(crate) struct CommandFailure {
    /// What was being done: `package`, `docker`, `nix`, `system`, `preflight`, `enclave`,
    /// `lock`, `images`, `build`, `state`.
    stage: &'static str,
    message: String,
    /// Lines printed before the message, e.g. one per instruction that cannot run.
    details: Vec<String>,
    #[serde(skip)]
    exit_code: u8,
}

impl CommandFailure {
    pub fn new(stage: &'static str, message: impl Into<String>) -> Self {
        CommandFailure {
            stage,
            message: message.into(),
            details: Vec::new(),
            exit_code: 1,
        }
    }

    /// A failure of the command line itself (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CommandFailure {
            exit_code: 2,
            ..CommandFailure::new("package", message)
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    /// Prints the failure; returns the exit code.
    pub fn report(self, json: bool) -> u8 {
        for detail in &self.details {
            eprintln!("{detail}");
        }
        eprintln!("error: {}", self.message);
        if json {
            let document = serde_json::json!({ "error": &self });
            println!(
                "{}",
                serde_json::to_string_pretty(&document).unwrap_or_default()
            );
        }
        self.exit_code
    }
}

/// The package folder as an absolute path.
pub(crate) fn package_root(source: &FsSource) -> Result<PathBuf, CommandFailure> {
    std::path::absolute(source.root()).map_err(|error| {
        CommandFailure::usage(format!(
            "cannot resolve `{}`: {error}",
            source.root().display()
        ))
    })
}

/// The engine `Engine::connect` found (said with `verbose`).
pub(crate) fn connected(
    engine: Result<Engine, ConnectError>,
    verbose: bool,
) -> Result<Engine, CommandFailure> {
    let engine = engine.map_err(|error| CommandFailure::new("docker", error.to_string()))?;
    if verbose {
        eprintln!(
            "using the Docker engine {} at {} ({}/{})",
            engine.server_version, engine.host, engine.os_type, engine.architecture
        );
    }
    Ok(engine)
}

/// What `starflake build` and `starflake run` do once the tools are found: choose the system
/// to build for (see `choose_system`), start the evaluation deadline and check the package.
/// Prints the system note (with `notes`), the diagnostics, and on errors that nothing was
/// `done`; an error is the exit code.
pub(crate) fn check_package(
    source: &FsSource,
    mut options: CheckOptions,
    engine: Option<&Engine>,
    settings: Settings,
    notes: bool,
    done: &str,
) -> Result<CheckResult, u8> {
    options.system = match choose_system(engine, &options.system, settings.system_given) {
        Ok((system, note)) => {
            if let Some(note) = note
                && notes
            {
                eprintln!("{note}");
            }
            system
        }
        Err(message) => return Err(CommandFailure::new("system", message).report(settings.json)),
    };
    if options.interrupt.is_some() {
        options.interrupt = Some(super::interrupt_after(settings.eval_timeout));
    }
    let result = check(source, &options);
    if result.has_errors() {
        if settings.json {
            // stdout stays JSON: the document `starflake check --format json` prints
            println!("{}", super::cli::check_json(&result));
        }
        eprint!("{}", result.render_human(settings.color));
        let count = result.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
            "error: the package has {count} error{}; nothing was {done}",
            if count == 1 { "" } else { "s" }
        );
        return Err(1);
    }
    if notes && !result.diagnostics.is_empty() {
        eprint!("{}", result.render_human(settings.color));
    }
    Ok(result)
}

async fn build(
    source: FsSource,
    options: CheckOptions,
    flags: &BuildFlags,
    settings: Settings,
) -> u8 {
    let root = match package_root(&source) {
        Ok(root) => root,
        Err(failure) => return failure.report(settings.json),
    };
    let notes = !flags.quiet;
    let registry = match options.push.as_deref() {
        Some(address) => match Registry::new(address, flags.insecure_registry) {
            Ok(registry) => Some(registry),
            Err(error) => return CommandFailure::usage(error.to_string()).report(settings.json),
        },
        None => None,
    };
    if !flags.dry_run && !nix::on_path("nix") {
        let missing = nix::DetectError::missing("nix").to_string();
        return CommandFailure::new("nix", missing).report(settings.json);
    }
    // The tools, up front: a missing one is one clear message, not one per image. A push
    // needs no Docker engine; one that answers still chooses the system, as for a dry run.
    let engine = if flags.dry_run || registry.is_some() {
        tokio::time::timeout(Duration::from_secs(3), Engine::connect())
            .await
            .ok()
            .and_then(Result::ok)
    } else {
        match connected(Engine::connect().await, flags.verbose) {
            Ok(engine) => Some(engine),
            Err(failure) => return failure.report(settings.json),
        }
    };
    let result = match check_package(&source, options, engine.as_ref(), settings, notes, "built") {
        Ok(result) => result,
        Err(code) => return code,
    };

    let mut images: Vec<(&Image, &NixBuild)> = Vec::new();
    for image in &result.plan.images {
        match &image.source {
            ImageSource::Nix(nix_build) => images.push((image, nix_build)),
            ImageSource::Dockerfile { .. } if notes => eprintln!(
                "note: `{}` is a Dockerfile build ({}); `starflake build` builds NixBuildSpec images only",
                image.name, image.defined_at
            ),
            _ if notes && flags.verbose => eprintln!(
                "note: `{}` comes from a registry; nothing to build",
                image.name
            ),
            _ => {}
        }
    }
    if images.is_empty() {
        if settings.json {
            print_json(&[], false);
        } else if notes {
            eprintln!("nothing to build: the plan uses no NixBuildSpec image");
        }
        return 0;
    }

    if flags.dry_run {
        print_dry_run(&root, &images, engine.is_some());
        return 0;
    }
    // The engine the images go into, asked after a failure whether it went away.
    let loaded_into = engine.clone().filter(|_| registry.is_none());
    let destination = match (registry, engine) {
        (Some(registry), engine) => {
            let who = match &engine {
                Some(engine) => format!("the Docker engine at {}", engine.host),
                None => format!("the push target (--system {})", result.plan.system),
            };
            Destination::Registry {
                registry,
                target: Target::for_system(&result.plan.system, who),
                pull_into: None,
            }
        }
        (None, Some(engine)) => Destination::Docker(engine),
        (None, None) => {
            let message = "Docker was not reached";
            return CommandFailure::new("docker", message).report(settings.json);
        }
    };

    if notes {
        let mut seen = BTreeSet::new();
        for (_, nix_build) in &images {
            if seen.insert(nix_build.flake_dir.clone()) {
                for warning in git_warnings(&root, &nix_build.flake_dir) {
                    eprintln!("{warning}");
                }
            }
        }
    }

    let started = Instant::now();
    // `nix --version` takes about as long as building a small image from cache, so it runs
    // beside the builds; a missing `nix` was caught above from PATH alone.
    let nix_version = tokio::spawn(nix::detect("nix"));
    let pushing = matches!(destination, Destination::Registry { .. });
    let interrupt = interrupt_on_ctrl_c();
    let (results, interrupted) = build_all(destination, &root, &images, flags, &interrupt).await;
    match nix_version.await {
        Ok(Ok(version)) if flags.verbose => eprintln!("using {}", version.text),
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            // An unusable Nix explains whatever the builds reported.
            return CommandFailure::new("nix", error.to_string()).report(settings.json);
        }
        Err(error) => eprintln!("warning: could not read the Nix version: {error}"),
    }

    let reports: Vec<Report> = images
        .iter()
        .zip(&results)
        .map(|((image, nix_build), result)| Report::new(image, nix_build, result, interrupted))
        .collect();
    if settings.json {
        print_json(&reports, interrupted);
    } else {
        let mut stdout = std::io::stdout().lock();
        for report in &reports {
            let _ = writeln!(stdout, "{}", report.line());
        }
    }
    let mut failed = 0;
    for ((image, nix_build), result) in images.iter().zip(&results) {
        if let Err(error) = result {
            if matches!(error, JobError::Interrupted) || interrupted {
                continue;
            }
            failed += 1;
            eprint!("{}", render_failure(image, nix_build, error, &root));
        }
    }
    if interrupted {
        eprintln!("interrupted: images not yet loaded keep their previous tags");
        return EXIT_INTERRUPTED;
    }
    if failed > 0
        && let Some(engine) = &loaded_into
        && engine.gone().await
    {
        eprintln!(
            "error: {} {NO_PARTIAL_IMAGE}",
            engine.gone_message("during the build")
        );
    }
    if notes {
        let count = |status| reports.iter().filter(|r| r.status == status).count();
        let (loaded, pushed) = (count(Status::Loaded), count(Status::Pushed));
        let cached = reports.len() - loaded - pushed - failed;
        let done = if pushing {
            format!("{pushed} pushed")
        } else {
            format!("{loaded} loaded, {cached} already loaded")
        };
        eprintln!(
            "{} image{} in {:.1}s: {done}, {failed} failed",
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        );
    }
    if failed > 0 { 1 } else { 0 }
}

/// A token cancelled by the first Ctrl-C; a second one leaves at once. Listening from the
/// start of a command means no Ctrl-C falls between two stages unheard.
pub(crate) fn interrupt_on_ctrl_c() -> CancellationToken {
    let interrupt = CancellationToken::new();
    let cancel = interrupt.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    interrupt
}

/// Builds and loads every image, `--jobs` at a time; `interrupt` (Ctrl-C) cancels them.
/// Returns the results in the order of `images`, and whether it was interrupted.
async fn build_all(
    destination: Destination,
    root: &Path,
    images: &[(&Image, &NixBuild)],
    flags: &BuildFlags,
    interrupt: &CancellationToken,
) -> (Vec<Result<Done, JobError>>, bool) {
    let jobs = flags
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let progress = Progress::new(images, flags);
    let context = Context {
        destination,
        root: root.to_path_buf(),
        cancel: interrupt.child_token(),
        cache: LoadCache::open_default(),
        permits: Semaphore::new(jobs),
        use_cache: !flags.no_cache,
        progress,
    };
    let results = {
        let all = futures_util::future::join_all(
            images
                .iter()
                .enumerate()
                .map(|(index, (image, nix_build))| run_job(&context, index, image, nix_build)),
        );
        tokio::pin!(all);
        tokio::select! {
            results = &mut all => results,
            () = interrupt.cancelled() => {
                context.progress.note("interrupted: stopping the builds and loads…");
                all.await
            }
        }
    };
    context.progress.clear();
    (results, context.cancel.is_cancelled())
}

/// An image of the plan as the build step of `starflake run` left it in Docker.
#[derive(Clone, Debug)]
pub(crate) struct BuiltImage {
    /// `image_name` as the package wrote it.
    pub name: String,
    pub image_id: String,
    pub store_path: String,
}

/// The build step of `starflake run`: builds and loads every NixBuildSpec image as
/// `starflake build` does (the same progress on stderr), prints each failure. `Err` holds
/// the exit code when an image failed (1) or Ctrl-C came (130).
pub(crate) async fn build_for_run(
    engine: &Engine,
    registry: Option<Registry>,
    root: &Path,
    images: &[(&Image, &NixBuild)],
    jobs: Option<u16>,
    interrupt: &CancellationToken,
) -> Result<Vec<BuiltImage>, u8> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let flags = BuildFlags {
        jobs,
        ..BuildFlags::default()
    };
    // Whatever the engine cannot run is refused here, before anything starts.
    let target = engine
        .system()
        .ok()
        .map(|system| Target::for_system(&system, format!("the Docker engine at {}", engine.host)));
    let destination = match (registry, &target) {
        (Some(registry), Some(target)) => Destination::Registry {
            registry,
            target: target.clone(),
            pull_into: Some(engine.clone()),
        },
        _ => Destination::Docker(engine.clone()),
    };
    let (results, interrupted) = build_all(destination, root, images, &flags, interrupt).await;
    if interrupted {
        eprintln!("interrupted: nothing was started");
        return Err(EXIT_INTERRUPTED);
    }
    let mut built = Vec::new();
    let mut failed = false;
    for ((image, nix_build), result) in images.iter().zip(results) {
        let checked = match (result, &target) {
            (Ok(done), Some(target)) if done.pushed.is_none() => {
                match engine.image_platform(&done.image_id).await {
                    Ok(platform) => push::check_platform(&platform, target)
                        .map(|()| done)
                        .map_err(JobError::Push),
                    Err(error) => Err(JobError::Inspect(error)),
                }
            }
            (result, _) => result,
        };
        match checked {
            Ok(done) => built.push(BuiltImage {
                name: image.name.clone(),
                image_id: done.image_id,
                store_path: done.store_path,
            }),
            Err(error) => {
                failed = true;
                eprint!("{}", render_failure(image, nix_build, &error, root));
            }
        }
    }
    if failed { Err(1) } else { Ok(built) }
}

/// The system to build for: the engine's, unless `--system` says otherwise. Returns a note
/// to print when the two differ or the engine's is unknown.
pub(crate) fn choose_system(
    engine: Option<&Engine>,
    given: &str,
    explicit: bool,
) -> Result<(String, Option<String>), String> {
    let Some(engine) = engine else {
        return Ok((
            given.to_owned(),
            Some(format!(
                "note: Docker is not reachable, so the commands use `--system {given}`; a real build uses the engine's system"
            )),
        ));
    };
    match engine.system() {
        Ok(system) if explicit && system != given => Ok((
            given.to_owned(),
            Some(format!(
                "warning: building for {given} (--system), but the Docker engine at {} runs {system}; the images need emulation there",
                engine.host
            )),
        )),
        Ok(system) => Ok((system, None)),
        Err(reason) if explicit => Ok((
            given.to_owned(),
            Some(format!("warning: {reason}; building for {given} as given")),
        )),
        Err(reason) => Err(format!(
            "{reason}\n  pass `--system <nix system>` to build anyway"
        )),
    }
}

fn print_dry_run(root: &Path, images: &[(&Image, &NixBuild)], engine_known: bool) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "# in {}", root.display());
    for (image, nix_build) in images {
        let reference = docker::full_reference(&image.name);
        let _ = writeln!(stdout, "\n# {reference}  ({})", image.defined_at);
        let _ = writeln!(stdout, "{}", shell_words(&nix_build.command));
        let _ = match &image.push_to {
            Some(pushed) => writeln!(
                stdout,
                "#   then push the output to `{pushed}` (layers streamed, blobs the registry has skipped)"
            ),
            None => writeln!(
                stdout,
                "#   then stream the output into Docker (`docker load -i <out>`, or `<out> | docker load` for a stream script)\n#   and tag the loaded image `{reference}`"
            ),
        };
    }
    if !engine_known {
        let _ = writeln!(
            stdout,
            "\n# Docker was not reachable: `--system` is the one given (or the default), not the engine's"
        );
    }
}

// ---------------------------------------------------------------------------------------
// one image

/// Where built images go.
enum Destination {
    /// Loaded into the engine and tagged `image_name`.
    Docker(Engine),
    /// Pushed to the registry, after a check that `target` can run them; for `run`, then
    /// pulled by digest into the engine and tagged `image_name`.
    Registry {
        registry: Registry,
        target: Target,
        pull_into: Option<Engine>,
    },
}

struct Context {
    destination: Destination,
    /// Store paths loaded before, per engine.
    cache: LoadCache,
    root: PathBuf,
    cancel: CancellationToken,
    permits: Semaphore,
    use_cache: bool,
    progress: Progress,
}

#[derive(Debug)]
enum JobError {
    Nix(BuildError),
    Output(docker::OutputError),
    Load(docker::LoadError),
    Tag(docker::TagError),
    Inspect(docker::InspectError),
    Push(PushError),
    Interrupted,
}

impl From<docker::InspectError> for JobError {
    fn from(error: docker::InspectError) -> Self {
        JobError::Inspect(error)
    }
}

impl From<docker::TagError> for JobError {
    fn from(error: docker::TagError) -> Self {
        JobError::Tag(error)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// Built (or found in the store) and loaded now.
    Loaded,
    /// Its store path was loaded before; the image is still there.
    Cached,
    /// Built and pushed to the registry.
    Pushed,
    Failed,
    Interrupted,
}

#[derive(Debug)]
struct Done {
    drv_path: Option<String>,
    store_path: String,
    image_id: String,
    reference: String,
    kind: Option<OutputKind>,
    size: Option<u64>,
    cached: bool,
    pushed: Option<Pushed>,
}

async fn run_job(
    context: &Context,
    index: usize,
    image: &Image,
    nix_build: &NixBuild,
) -> Result<Done, JobError> {
    let progress = &context.progress;
    let _permit = tokio::select! {
        permit = context.permits.acquire() => permit.map_err(|_| JobError::Interrupted)?,
        () = context.cancel.cancelled() => return Err(JobError::Interrupted),
    };
    progress.start(index, format!("nix build {}", nix_build.installable));
    // A name Docker cannot tag (a digest) fails now, not after a long build.
    if let Err(error) = docker::split_reference(&image.name) {
        let error = JobError::Tag(error);
        progress.finish(index, false, failure_word(&error).to_owned());
        return Err(error);
    }
    let started = Instant::now();
    let built = nix::run_build(
        &nix_build.command,
        &context.root,
        LOG_TAIL,
        &context.cancel,
        |event, line| progress.nix_event(index, event, line),
    )
    .await
    .map_err(|error| match error {
        BuildError::Interrupted => JobError::Interrupted,
        other => JobError::Nix(other),
    });
    let built = match built {
        Ok(built) => built,
        Err(error) => {
            progress.finish(index, false, failure_word(&error).to_owned());
            return Err(error);
        }
    };
    let store_path = built.main_output().unwrap_or_default().to_owned();
    progress.step(
        index,
        format!(
            "built {store_path} in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
    );
    let result = match &context.destination {
        Destination::Docker(engine) => {
            load_and_tag(context, engine, index, image, &store_path).await
        }
        Destination::Registry {
            registry,
            target,
            pull_into,
        } => {
            let pushed = push_image(context, registry, target, index, image, &store_path).await;
            match (pushed, pull_into) {
                (Ok(done), Some(engine)) => pull_and_tag(context, engine, index, image, done).await,
                (pushed, _) => pushed,
            }
        }
    };
    match &result {
        Ok(Done {
            pushed: Some(pushed),
            ..
        }) => progress.finish(
            index,
            true,
            format!(
                "pushed {} in {:.1}s ({} blobs sent, {} already there)",
                short_id(&pushed.digest),
                started.elapsed().as_secs_f64(),
                pushed.uploaded,
                pushed.skipped
            ),
        ),
        Ok(done) if done.cached => progress.finish(
            index,
            true,
            format!("already loaded as {}", short_id(&done.image_id)),
        ),
        Ok(done) => progress.finish(
            index,
            true,
            format!(
                "loaded {} in {:.1}s",
                short_id(&done.image_id),
                started.elapsed().as_secs_f64()
            ),
        ),
        Err(error) => progress.finish(index, false, failure_word(error).to_owned()),
    }
    result.map(|done| Done {
        drv_path: built.drv_path.clone(),
        ..done
    })
}

/// Pushes a built image to the registry, straight from the store path.
async fn push_image(
    context: &Context,
    registry: &Registry,
    target: &Target,
    index: usize,
    image: &Image,
    store_path: &str,
) -> Result<Done, JobError> {
    let progress = &context.progress;
    let path = Path::new(store_path);
    let (kind, size) = docker::sniff(path).map_err(JobError::Output)?;
    let reference = crate::plan::push_reference(registry.address(), &image.name);
    progress.step(index, format!("pushing {} to {reference}", kind.describe()));
    let sent = Arc::new(AtomicU64::new(0));
    let push = registry.push(&image.name, path, kind, Some(target), sent.clone());
    tokio::pin!(push);
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let pushed = loop {
        tokio::select! {
            result = &mut push => break result.map_err(JobError::Push)?,
            () = context.cancel.cancelled() => return Err(JobError::Interrupted),
            _ = ticks.tick() => {
                progress.detail(index, format!("pushing {}: {} sent", kind.describe(), HumanBytes(sent.load(Ordering::Relaxed))));
            }
        }
    };
    Ok(Done {
        drv_path: None,
        store_path: store_path.to_owned(),
        image_id: pushed.digest.clone(),
        reference: pushed.reference.clone(),
        kind: Some(kind),
        size: (kind != OutputKind::Script).then_some(size),
        cached: false,
        pushed: Some(pushed),
    })
}

/// Pulls a pushed image into the engine by digest and tags it `image_name`.
async fn pull_and_tag(
    context: &Context,
    engine: &Engine,
    index: usize,
    image: &Image,
    done: Done,
) -> Result<Done, JobError> {
    let Some(pushed) = &done.pushed else {
        return Ok(done);
    };
    let repository = pushed
        .reference
        .rsplit_once(':')
        .map_or(pushed.reference.as_str(), |(repository, _)| repository);
    context.progress.step(
        index,
        format!("pulling {repository}@{}", short_id(&pushed.digest)),
    );
    let id = engine.pull(repository, &pushed.digest).await?;
    engine.tag(&id, &image.name).await?;
    Ok(Done {
        image_id: id,
        ..done
    })
}

async fn load_and_tag(
    context: &Context,
    engine: &Engine,
    index: usize,
    image: &Image,
    store_path: &str,
) -> Result<Done, JobError> {
    let progress = &context.progress;
    let reference = docker::full_reference(&image.name);
    let current = engine.image_id(&reference).await?;

    if context.use_cache
        && let Some(id) = engine.cached_image(&context.cache, store_path).await
    {
        if current.as_deref() != Some(id.as_str()) {
            engine.tag(&id, &image.name).await?;
            if let Some(old) = current {
                engine.remove_if_dangling(&old).await;
            }
        }
        return Ok(Done {
            drv_path: None,
            store_path: store_path.to_owned(),
            image_id: id,
            reference,
            kind: None,
            size: None,
            cached: true,
            pushed: None,
        });
    }

    let path = Path::new(store_path);
    let (kind, size) = docker::sniff(path).map_err(JobError::Output)?;
    if context.cancel.is_cancelled() {
        return Err(JobError::Interrupted);
    }
    let size_text = match kind {
        OutputKind::Script => "streamed".to_owned(),
        _ => HumanBytes(size).to_string(),
    };
    progress.step(index, format!("loading {} ({size_text})", kind.describe()));
    let upload = Arc::new(docker::Upload::default());
    let load = engine.load(path, kind, upload.clone());
    tokio::pin!(load);
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let mut finishing = false;
    let loaded = loop {
        tokio::select! {
            result = &mut load => break result.map_err(JobError::Load)?,
            () = context.cancel.cancelled(), if !finishing => {
                if !upload.complete() {
                    return Err(JobError::Interrupted);
                }
                // Docker has the whole archive and loads it whether or not starflake waits:
                // wait, so that the image gets `image_name` instead of being left untagged.
                finishing = true;
                progress.step(index, "Docker has the whole image: finishing its load".to_owned());
            }
            _ = ticks.tick() => {
                let total = match kind {
                    OutputKind::Script => String::new(),
                    _ => format!(" of {}", HumanBytes(size)),
                };
                progress.detail(index, format!("loading {}: {}{total} sent", kind.describe(), HumanBytes(upload.sent())));
            }
        }
    };

    // The image is in Docker: from here on, finish even when interrupted, so that
    // `image_name` and the cache agree with Docker.
    let reference = engine.tag(&loaded.id, &image.name).await?;
    let cache_key = engine.cache_key();
    if let Err(error) = context.cache.record(&cache_key, store_path, &loaded.id) {
        progress.note(&format!(
            "warning: cannot write the load cache {}: {error}",
            context
                .cache
                .path()
                .map(|path| path.display().to_string())
                .unwrap_or_default()
        ));
    }
    let mut replaced: BTreeSet<String> = loaded.replaced.iter().cloned().collect();
    replaced.extend(current);
    replaced.remove(&loaded.id);
    for old in replaced {
        if engine.remove_if_dangling(&old).await {
            progress.step(
                index,
                format!("removed the previous image {}", short_id(&old)),
            );
        }
    }
    Ok(Done {
        drv_path: None,
        store_path: store_path.to_owned(),
        image_id: loaded.id,
        reference,
        kind: Some(kind),
        size: (kind != OutputKind::Script).then_some(size),
        cached: false,
        pushed: None,
    })
}

/// What went wrong, in two words, for the progress display.
fn failure_word(error: &JobError) -> &'static str {
    match error {
        JobError::Nix(_) => "build failed",
        JobError::Output(_) => "not an image",
        JobError::Load(_) => "load failed",
        JobError::Tag(_) => "tag failed",
        JobError::Inspect(_) => "Docker failed",
        JobError::Push(PushError::Architecture { .. }) => "wrong platform",
        JobError::Push(_) => "push failed",
        JobError::Interrupted => "interrupted",
    }
}

fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}

// ---------------------------------------------------------------------------------------
// results

#[derive(Serialize)]
struct Report {
    name: String,
    reference: String,
    status: Status,
    defined_at: String,
    installable: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drv_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_kind: Option<OutputKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// The push: reference, manifest digest, platform, blobs sent and skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pushed: Option<Pushed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Report {
    fn new(
        image: &Image,
        nix_build: &NixBuild,
        result: &Result<Done, JobError>,
        interrupted: bool,
    ) -> Report {
        let mut report = Report {
            name: image.name.clone(),
            reference: docker::full_reference(&image.name),
            status: Status::Failed,
            defined_at: image.defined_at.to_string(),
            installable: nix_build.installable.clone(),
            image_id: None,
            store_path: None,
            drv_path: None,
            output_kind: None,
            size: None,
            pushed: None,
            error: None,
        };
        match result {
            Ok(done) => {
                report.status = if done.pushed.is_some() {
                    Status::Pushed
                } else if done.cached {
                    Status::Cached
                } else {
                    Status::Loaded
                };
                report.pushed = done.pushed.clone();
                report.reference = done.reference.clone();
                report.image_id = Some(done.image_id.clone());
                report.store_path = Some(done.store_path.clone());
                report.drv_path = done.drv_path.clone();
                report.output_kind = done.kind;
                report.size = done.size;
            }
            Err(JobError::Interrupted) => report.status = Status::Interrupted,
            Err(_) if interrupted => report.status = Status::Interrupted,
            Err(error) => {
                report.error = Some(error_summary(error));
                if let JobError::Nix(BuildError::Failed(failure)) = error {
                    report.drv_path = failure.drv.clone();
                }
            }
        }
        report
    }

    /// One stable line for stdout: status, reference, image ID, store path; for a push, the
    /// reference with the manifest's digest, which pulls exactly this image.
    fn line(&self) -> String {
        let path = self.store_path.as_deref().unwrap_or("-");
        if let Some(pushed) = &self.pushed {
            return format!("pushed  {}@{}  {path}", pushed.reference, pushed.digest);
        }
        let status = match self.status {
            Status::Loaded => "loaded",
            Status::Cached => "cached",
            Status::Failed => "failed",
            Status::Interrupted => "stopped",
            Status::Pushed => "pushed",
        };
        let id = self.image_id.as_deref().map_or("-".to_owned(), short_id);
        format!("{status:7} {}  {id}  {path}", self.reference)
    }
}

fn print_json(reports: &[Report], interrupted: bool) {
    #[derive(Serialize)]
    struct Document<'a> {
        images: &'a [Report],
        interrupted: bool,
    }
    let json = serde_json::to_string_pretty(&Document {
        images: reports,
        interrupted,
    })
    .unwrap_or_default();
    println!("{json}");
}

fn error_summary(error: &JobError) -> String {
    match error {
        JobError::Nix(BuildError::Failed(failure)) => match failure.errors.last() {
            Some(last) => last.trim().to_owned(),
            None => failure.to_string(),
        },
        JobError::Nix(other) => other.to_string(),
        JobError::Output(error) => error.to_string(),
        JobError::Load(error) => error.to_string(),
        JobError::Tag(error) => error.to_string(),
        JobError::Inspect(error) => error.to_string(),
        JobError::Push(error) => error.to_string(),
        JobError::Interrupted => "interrupted".to_owned(),
    }
}

/// The error report of one image: what failed, where the image is defined, and the log.
fn render_failure(image: &Image, nix_build: &NixBuild, error: &JobError, root: &Path) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let what = match error {
        JobError::Nix(_) => "building",
        JobError::Output(_) | JobError::Load(_) => "loading",
        JobError::Tag(_) => "tagging",
        JobError::Push(PushError::Architecture { .. }) => "checking",
        JobError::Push(_) => "pushing",
        JobError::Inspect(_) | JobError::Interrupted => "preparing",
    };
    let _ = writeln!(
        out,
        "error: {what} image `{}` failed",
        docker::full_reference(&image.name)
    );
    let _ = writeln!(out, "  --> {} (NixBuildSpec)", image.defined_at);
    match error {
        JobError::Nix(BuildError::Failed(failure)) => {
            let _ = writeln!(
                out,
                "  command: {}  (in {})",
                shell_words(&nix_build.command),
                root.display()
            );
            if let Some(drv) = &failure.drv {
                let _ = writeln!(out, "  derivation: {drv}");
            }
            if failure.errors.is_empty() {
                let _ = writeln!(out, "  {failure}");
            }
            for message in &failure.errors {
                for line in message.trim().lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
            let tail: Vec<&String> = failure
                .log_tail
                .iter()
                .filter(|line| {
                    !failure
                        .errors
                        .iter()
                        .any(|error| error.contains(line.as_str()))
                })
                .collect();
            if !tail.is_empty() {
                let _ = writeln!(out, "  last {} log lines:", tail.len());
                for line in tail {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if let Some(drv) = &failure.drv {
                let _ = writeln!(out, "  full log: nix log {drv}");
            }
        }
        JobError::Nix(other) => {
            let _ = writeln!(
                out,
                "  command: {}  (in {})",
                shell_words(&nix_build.command),
                root.display()
            );
            let _ = writeln!(out, "  {other}");
        }
        other => {
            for line in error_summary(other).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// progress

/// Progress on stderr: spinners on a terminal, plain `[image] …` lines otherwise, nothing
/// with `--quiet`. `--verbose` adds every build log line.
struct Progress {
    names: Vec<String>,
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    lines: bool,
    verbose: bool,
}

impl Progress {
    fn new(images: &[(&Image, &NixBuild)], flags: &BuildFlags) -> Progress {
        let names: Vec<String> = images
            .iter()
            .map(|(image, _)| docker::full_reference(&image.name))
            .collect();
        let quiet = flags.quiet;
        let tty = std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
        let bars = (!quiet && tty).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let width = names.iter().map(String::len).max().unwrap_or(0);
            let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bars = names
                .iter()
                .map(|name| {
                    let bar = multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style.clone())
                            .with_prefix(format!("{name:width$}"))
                            .with_message("waiting"),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .collect();
            (multi, bars)
        });
        Progress {
            names,
            lines: !quiet && bars.is_none(),
            bars,
            verbose: flags.verbose && !quiet,
        }
    }

    fn print(&self, line: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// A general message (never hidden by the bars).
    fn note(&self, message: &str) {
        self.print(message);
    }

    fn start(&self, index: usize, message: String) {
        self.step(index, message);
    }

    /// A milestone: shown on the bar, and as a line without bars.
    fn step(&self, index: usize, message: String) {
        if let Some((_, bars)) = &self.bars {
            bars[index].set_message(message);
        } else if self.lines {
            eprintln!("[{}] {message}", self.names[index]);
        }
    }

    /// A passing detail: shown on the bar only.
    fn detail(&self, index: usize, message: String) {
        if let Some((_, bars)) = &self.bars {
            bars[index].set_message(message);
        }
    }

    fn finish(&self, index: usize, ok: bool, message: String) {
        let message = if ok {
            format!("done: {message}")
        } else {
            message
        };
        if let Some((_, bars)) = &self.bars {
            let template = if ok {
                "{prefix:.bold} {wide_msg:.green}"
            } else {
                "{prefix:.bold} {wide_msg:.red}"
            };
            bars[index].set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bars[index].finish_with_message(message);
        } else if self.lines {
            eprintln!("[{}] {message}", self.names[index]);
        }
    }

    fn nix_event(&self, index: usize, event: &NixEvent, log_line: Option<&str>) {
        match event {
            NixEvent::Start {
                activity: Activity::Build,
                drv: Some(drv),
                ..
            } => self.step(index, format!("building {}", nix::drv_name(drv))),
            NixEvent::Start { text, .. } if !text.is_empty() => {
                self.detail(index, text.clone());
            }
            NixEvent::Phase { phase, .. } => self.detail(index, phase.clone()),
            _ => {}
        }
        if let Some(line) = log_line {
            if self.verbose {
                self.print(&format!("[{}] {line}", self.names[index]));
            } else {
                self.detail(index, line.to_owned());
            }
        }
    }

    /// Stops the spinners; finished bars stay on screen.
    fn clear(&self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// git and `path:`

/// Explains where `path:` (what starflake builds) and git semantics see different files. That
/// matters when the package is the root of a git work tree: `kurtosis run .` then uploads
/// `.git` with it, and Nix reads the flake with git semantics, blind to untracked files. A
/// package in a subfolder is uploaded without `.git`, so Kurtosis sees every file.
pub fn git_warnings(root: &Path, flake_dir: &str) -> Vec<String> {
    let dir = if flake_dir.is_empty() {
        root.to_path_buf()
    } else {
        root.join(flake_dir)
    };
    let shown = if flake_dir.is_empty() { "." } else { flake_dir };
    let git = |args: &[&str]| -> Option<Vec<u8>> {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        output.status.success().then_some(output.stdout)
    };
    let Some(top) = git(&["rev-parse", "--show-toplevel"]) else {
        return Vec::new(); // no git, or not in a work tree
    };
    let top = String::from_utf8_lossy(&top).trim().to_owned();
    let same_folder = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    let package_is_repository = same_folder(root, Path::new(&top));
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect()
    };
    let untracked = git(&[
        "ls-files",
        "-z",
        "--others",
        "--exclude-standard",
        "--",
        ".",
    ])
    .map(split)
    .unwrap_or_default();
    let ignored = git(&[
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
        "--",
        ".",
    ])
    .map(split)
    .unwrap_or_default();

    let mut warnings = Vec::new();
    if package_is_repository && (!untracked.is_empty() || !ignored.is_empty()) {
        let mut text = format!(
            "warning: the package is the git work tree {top}, and some files of its flake folder `{shown}` are not in git:"
        );
        if !untracked.is_empty() {
            text.push_str(&format!("\n  untracked: {}", sample(&untracked)));
        }
        if !ignored.is_empty() {
            text.push_str(&format!("\n  ignored: {}", sample(&ignored)));
        }
        text.push_str(&format!(
            "\n  starflake builds `path:./{shown}`, which copies them into the build; `kurtosis run` of this repository-root \
             package uploads `.git` too, so Kurtosis (like `nix build ./{shown}`) uses git semantics and would not see them. \
             `git add` the files the build needs (staging is enough){}",
            if ignored.is_empty() {
                ""
            } else {
                "; keep ignored build results (e.g. `result`) out of the flake folder"
            }
        ));
        warnings.push(text);
    }
    for reference in parent_references(&dir) {
        warnings.push(format!(
            "warning: {reference} reaches outside the flake folder `{shown}`: `path:` copies only that folder, so the build \
             cannot see it (git semantics copy the whole repository, which is why it may work elsewhere)"
        ));
    }
    warnings
}

fn sample(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let more = names.len() - shown.len();
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `../` path literals in the `.nix` files at the top of a flake folder, as `file: ../x`.
fn parent_references(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "nix"))
        .collect();
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or("");
            let mut rest = code;
            while let Some(position) = rest.find("../") {
                let before = rest[..position].chars().last();
                let starts_path = before.is_none_or(|c| " \t([{=:;\"".contains(c) || c == '.');
                let literal: String = rest[position..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "._+-/".contains(*c))
                    .collect();
                if starts_path && before != Some('.') {
                    found.push(format!("`{name}` line {} (`{literal}`)", number + 1));
                    break;
                }
                rest = &rest[position + 3..];
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_references_are_found() {
        let dir = std::env::temp_dir().join(format!("starflake-build-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("flake.nix"),
            "{\n  src = ../ctx;\n  # ../comment\n  other = ./here;\n}\n",
        )
        .unwrap();
        assert_eq!(parent_references(&dir), ["`flake.nix` line 2 (`../ctx`)"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn samples() {
        let names: Vec<String> = (0..7).map(|i| format!("f{i}")).collect();
        assert_eq!(sample(&names[..2]), "f0, f1");
        assert_eq!(sample(&names), "f0, f1, f2, f3, f4 and 2 more");
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short_id("abc"), "sha256:abc");
    }
}

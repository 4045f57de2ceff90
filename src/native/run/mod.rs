//! `starflake run`: check the package, build its Nix images (as `starflake build`), then
//! execute the plan in order on the local Docker engine, in an enclave: a network, the
//! service containers and volumes, all labelled with the enclave, and a state folder for
//! files artifacts. `starflake enclave ls|inspect|rm` look at and remove enclaves.
//!
//! Re-runs change only what changed: every service container carries a hash of its resolved
//! config, image ID and mounted files; an equal hash leaves the container alone.
//!
//! One command at a time changes an enclave: a run holds the enclave's lock on the engine
//! from its check to its end (see `lock`), and takes over a lock whose holder has ended,
//! removing what that run left when it would have rolled back itself.

mod artifacts;
pub mod enclave;
mod executor;
mod http;
mod lock;
mod resolve;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::FsSource;
use super::build::{self, CommandFailure, Settings};
use super::docker::{self, Engine};
use super::push::Registry;
use crate::check::CheckOptions;
use crate::plan::{
    FilesMount, Image, ImageSource, Instruction, Location, NixBuild, Plan, Recipe, ServiceConfig,
    Step,
};
use executor::{Executor, Failure, ImageInfo, Status};

pub use enclave::EnclaveCommand;

/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// The options of `starflake run` beyond those of `check`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RunFlags {
    /// The enclave to deploy into [default: the last part of the package name].
    #[arg(long)]
    pub enclave: Option<String>,
    /// Remove what this run created when an instruction fails or on Ctrl-C
    /// [default: on for a new enclave, off for an existing one].
    #[arg(long, overrides_with = "no_rollback")]
    pub rollback: bool,
    /// Keep what a failed run created, to look at it.
    #[arg(long, overrides_with = "rollback")]
    pub no_rollback: bool,
    /// Build at most this many images at once [default: the number of CPUs].
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Push to the `--push` registry over plain HTTP even when it is not on loopback.
    #[arg(long)]
    pub insecure_registry: bool,
}

/// Runs `starflake run`: 0 when every instruction ran, 1 on a failure, 130 after Ctrl-C.
pub fn run(
    source: FsSource,
    options: CheckOptions,
    flags: &RunFlags,
    settings: Settings,
) -> ExitCode {
    build::block_on(deploy(source, options, flags, settings))
}

/// Runs `starflake enclave ...`.
pub fn enclave_command(command: EnclaveCommand, json: bool) -> ExitCode {
    build::block_on(enclave::command(command, json))
}

/// Deploys while holding the enclave's lock, and releases it however the run ends (but for
/// a second Ctrl-C, which leaves at once: the next command takes the lock over then).
async fn deploy(
    source: FsSource,
    options: CheckOptions,
    flags: &RunFlags,
    settings: Settings,
) -> u8 {
    let mut held = None;
    let code = deploy_holding(source, options, flags, settings, &mut held).await;
    if let Some((lock, engine)) = held
        && let Err(message) = lock.release(engine.client(), &engine.host).await
    {
        eprintln!("warning: {message}\n  the next command on the enclave takes it over");
    }
    code
}

async fn deploy_holding(
    source: FsSource,
    options: CheckOptions,
    flags: &RunFlags,
    settings: Settings,
    held: &mut Option<(lock::EnclaveLock, Engine)>,
) -> u8 {
    let json = settings.json;
    let interrupt = build::interrupt_on_ctrl_c();
    let root = match build::package_root(&source) {
        Ok(root) => root,
        Err(failure) => return failure.report(json),
    };
    if let Some(name) = &flags.enclave
        && let Err(message) = enclave::check_name(name)
    {
        return CommandFailure::usage(message).report(json);
    }
    // With `--push`, Nix images go to the registry and the engine pulls them from there.
    let registry = match options.push.as_deref() {
        Some(address) => match Registry::new(address, flags.insecure_registry) {
            Ok(registry) => Some(registry),
            Err(error) => return CommandFailure::usage(error.to_string()).report(json),
        },
        None => None,
    };
    let engine = match build::connected(Engine::connect().await, false) {
        Ok(engine) => engine,
        Err(failure) => return failure.report(json),
    };

    // 1. check
    let result =
        match build::check_package(&source, options, Some(&engine), settings, true, "started") {
            Ok(result) => result,
            Err(code) => return code,
        };
    let plan = result.plan;
    let enclave_name = flags
        .enclave
        .clone()
        .unwrap_or_else(|| enclave::default_name(&plan.package));

    // 2. everything that cannot run here, before anything starts
    let (problems, warnings) = preflight(&plan);
    for warning in &warnings {
        eprintln!("{warning}");
    }
    if !problems.is_empty() {
        let message = format!(
            "{} instruction{} cannot run here; nothing was started",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        let details = problems.iter().map(ToString::to_string).collect();
        return CommandFailure::new("preflight", message)
            .with_details(details)
            .report(json);
    }

    // 3. the enclave's lock: one command at a time changes an enclave
    let run_id = format!("{:x}{:x}", enclave::now_seconds(), std::process::id());
    let rollback_policy = if flags.rollback {
        lock::Rollback::Always
    } else if flags.no_rollback {
        lock::Rollback::Never
    } else {
        lock::Rollback::IfNew
    };
    let holder = lock::Holder::this_process(Some(run_id.clone()), rollback_policy);
    match lock::acquire(&engine, &enclave_name, &holder).await {
        Ok(acquired) => {
            *held = Some((acquired.lock, engine.clone()));
            if let Some(ended) = acquired.taken_over
                && let Err(message) = clean_up_after(&engine, &enclave_name, &ended).await
            {
                return CommandFailure::new("docker", message).report(json);
            }
        }
        Err(error) => return CommandFailure::new("lock", error.to_string()).report(json),
    }

    // 4. the enclave, if it exists, must hold this package: say so before building
    let docker = engine.client();
    let network = match enclave::find_network(docker, &enclave_name).await {
        Ok(network) => network,
        Err(error) => {
            let message = enclave::describe("cannot list networks", &engine.host, &error);
            return CommandFailure::new("docker", message).report(json);
        }
    };
    if let Some(network) = &network {
        let package = network
            .labels
            .get(enclave::LABEL_PACKAGE)
            .cloned()
            .unwrap_or_default();
        if package != plan.package {
            let message = format!(
                "enclave {enclave_name} holds package {package}, not {}; give another `--enclave`, or remove it with `starflake enclave rm {enclave_name}`",
                plan.package
            );
            return CommandFailure::new("enclave", message).report(json);
        }
    }
    // 5. images: the ones from elsewhere must be here already; then build the Nix ones
    let used = used_images(&plan);
    let mut images: BTreeMap<String, ImageInfo> = BTreeMap::new();
    let mut nix_images: Vec<(&Image, &NixBuild)> = Vec::new();
    let mut missing = Vec::new();
    for image in plan
        .images
        .iter()
        .filter(|image| used.contains(&image.name))
    {
        if let ImageSource::Nix(nix_build) = &image.source {
            nix_images.push((image, nix_build));
            continue;
        }
        let reference = docker::full_reference(&image.name);
        match engine.image_id(&reference).await {
            Ok(Some(id)) => {
                images.insert(
                    image.name.clone(),
                    ImageInfo {
                        reference,
                        id,
                        store_path: None,
                    },
                );
            }
            Ok(None) => missing.push(missing_image(image)),
            Err(error) => return CommandFailure::new("docker", error.to_string()).report(json),
        }
    }
    if !missing.is_empty() {
        return CommandFailure::new("images", "images are missing; nothing was started")
            .with_details(missing)
            .report(json);
    }
    if !nix_images.is_empty() {
        if let Err(error) = super::nix::detect("nix").await {
            return CommandFailure::new("nix", error.to_string()).report(json);
        }
        eprintln!(
            "building {} image{} with Nix",
            nix_images.len(),
            if nix_images.len() == 1 { "" } else { "s" }
        );
    }
    let mut flake_dirs = std::collections::BTreeSet::new();
    for (_, nix_build) in &nix_images {
        if flake_dirs.insert(nix_build.flake_dir.clone()) {
            for warning in build::git_warnings(&root, &nix_build.flake_dir) {
                eprintln!("{warning}");
            }
        }
    }
    let built = match build::build_for_run(
        &engine,
        registry,
        &root,
        &nix_images,
        flags.jobs,
        &interrupt,
    )
    .await
    {
        Ok(built) => built,
        Err(EXIT_INTERRUPTED) => return EXIT_INTERRUPTED,
        Err(_) if engine.gone().await => {
            let message = format!(
                "{} {}; nothing was started",
                engine.gone_message("while the images were loaded"),
                build::NO_PARTIAL_IMAGE
            );
            return CommandFailure::new("docker", message).report(json);
        }
        Err(_) => {
            return CommandFailure::new("build", "an image failed to build; nothing was started")
                .report(json);
        }
    };
    for image in built {
        images.insert(
            image.name.clone(),
            ImageInfo {
                reference: docker::full_reference(&image.name),
                id: image.image_id,
                store_path: Some(image.store_path),
            },
        );
    }

    if interrupt.is_cancelled() {
        eprintln!("interrupted: nothing was started");
        return EXIT_INTERRUPTED;
    }

    // 6. the enclave's network, made when it is new
    let new_enclave = network.is_none();
    let rollback = if flags.rollback {
        true
    } else if flags.no_rollback {
        false
    } else {
        new_enclave
    };
    let network = match network {
        Some(network) => network,
        None => {
            match enclave::create_network(docker, &enclave_name, &plan.package, &run_id).await {
                Ok(network) => network,
                Err(error) => {
                    let doing = format!(
                        "cannot create network {}",
                        enclave::network_name(&enclave_name)
                    );
                    let message = enclave::describe(&doing, &engine.host, &error);
                    return CommandFailure::new("docker", message).report(json);
                }
            }
        }
    };
    let state = enclave::state_dir(&enclave_name);
    let artifacts = match artifacts::Artifacts::open(state.join("artifacts")) {
        Ok(artifacts) => artifacts,
        Err(error) => {
            if new_enclave {
                let _ = enclave::remove_enclave(docker, &engine.host, &enclave_name).await;
            }
            let message = format!("cannot prepare {}: {error}", state.display());
            return CommandFailure::new("state", message).report(json);
        }
    };
    eprintln!(
        "{} enclave {enclave_name} (network {}), {} step{}",
        if new_enclave { "new" } else { "existing" },
        network.name,
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    );

    let mut executor = Executor {
        docker,
        host: engine.host.clone(),
        remote: engine.remote.clone(),
        enclave: enclave_name.clone(),
        package: plan.package.clone(),
        network: network.name.clone(),
        run_id: run_id.clone(),
        root: root.clone(),
        images,
        results: resolve::Results::default(),
        artifacts,
        services: BTreeMap::new(),
        prints: Vec::new(),
        makes: tokio_util::task::TaskTracker::new(),
    };

    // 7. the steps, in order; Ctrl-C stops between (and inside) them
    let total = plan.steps.len();
    let mut failed: Option<(usize, Failure)> = None;
    let mut interrupted = false;
    for (index, step) in plan.steps.iter().enumerate() {
        let number = index + 1;
        eprintln!(
            "[{number}/{total}] {}  ({})",
            step_title(step),
            short_at(&step.at)
        );
        let started = Instant::now();
        let outcome = tokio::select! {
            outcome = executor.execute(number as u64, step) => outcome,
            () = interrupt.cancelled() => {
                interrupted = true;
                break;
            }
        };
        match outcome {
            Ok(summary) => {
                let elapsed = started.elapsed();
                let time = if elapsed >= Duration::from_millis(100) {
                    format!(" ({:.1}s)", elapsed.as_secs_f64())
                } else {
                    String::new()
                };
                if matches!(step.instruction, Instruction::Print { .. }) {
                    for line in summary.lines() {
                        eprintln!("      > {line}");
                    }
                } else {
                    eprintln!("      {summary}{time}");
                }
            }
            Err(failure) => {
                failed = Some((index, failure));
                break;
            }
        }
    }

    // 8. faults and rollback
    let mut rolled_back = None;
    if let Some((_, failure)) = &mut failed
        && !failure.fatal
        && engine.gone().await
    {
        // It failed as the engine was stopping (a container stopped under an exec, say).
        failure.details.push(engine.gone_message("during the run"));
    }
    if let Some((index, failure)) = &failed {
        let step = &plan.steps[*index];
        eprintln!(
            "error: {} at {} failed: {}",
            instruction_name(&step.instruction),
            step.at,
            failure.message
        );
        for line in &failure.details {
            eprintln!("  {line}");
        }
    }
    if interrupted {
        eprintln!("interrupted");
        executor.settle().await;
    }
    if (failed.is_some() || interrupted) && rollback {
        let removed = roll_back(docker, &engine.host, &enclave_name, &run_id, new_enclave).await;
        match &removed {
            Ok(text) => eprintln!("rolled back: {text}"),
            Err(message) => eprintln!(
                "error: the rollback failed: {message}\n  `starflake enclave rm {enclave_name}` removes the enclave once Docker answers again"
            ),
        }
        rolled_back = Some(removed.is_ok());
    } else if failed.is_some() || interrupted {
        // A task (`run_sh`, `run_python`) is no service: it never outlives its run.
        if let Err(message) = remove_tasks(docker, &engine.host, &enclave_name, &run_id).await {
            eprintln!("error: {message}");
        }
        eprintln!(
            "kept what the run created (no rollback); `starflake enclave inspect {enclave_name}` shows it, `starflake enclave rm {enclave_name}` removes it"
        );
    }

    // Services of earlier runs that this plan does not mention stay as they are.
    let mut kept = Vec::new();
    if failed.is_none() && !interrupted {
        executor.refresh_states().await;
        for summary in enclave::containers(docker, &enclave_name)
            .await
            .unwrap_or_default()
        {
            let service = summary
                .labels
                .as_ref()
                .and_then(|labels| labels.get(enclave::LABEL_SERVICE).cloned());
            if let (Some(service), Some(id)) = (service, summary.id)
                && !executor.services.contains_key(&service)
                && let Ok(container) = docker.inspect_container(&id, None).await
            {
                kept.push(ServiceReport {
                    status: "kept".to_owned(),
                    view: enclave::service_view(
                        &container,
                        &network.name,
                        executor.remote.as_deref(),
                    ),
                });
            }
        }
        kept.sort_by(|a, b| a.view.name.cmp(&b.view.name));
    }

    // 9. the summary
    let output = plan.output.as_ref().map(|output| {
        executor
            .results
            .resolve_value(output)
            .unwrap_or_else(|_| output.clone())
    });
    let report = Report {
        enclave: enclave_name.clone(),
        package: plan.package.clone(),
        network: network.name.clone(),
        new_enclave,
        status: if interrupted {
            "interrupted"
        } else if failed.is_some() {
            "failed"
        } else {
            "ok"
        },
        services: executor
            .services
            .values()
            .map(|service| {
                let mut view = service.view.clone();
                let status = if rolled_back == Some(true)
                    && (new_enclave
                        || matches!(service.status, Status::Created | Status::Recreated))
                {
                    view.mark_removed();
                    "rolled_back".to_owned()
                } else {
                    service.status.word().to_owned()
                };
                ServiceReport { status, view }
            })
            .chain(kept)
            .collect(),
        prints: executor.prints.clone(),
        output,
        error: failed.as_ref().map(|(index, failure)| ErrorReport {
            instruction: instruction_name(&plan.steps[*index].instruction),
            at: plan.steps[*index].at.to_string(),
            message: failure.message.clone(),
            details: failure.details.clone(),
        }),
        rolled_back: rolled_back.unwrap_or(false),
    };
    let mut stdout = std::io::stdout().lock();
    if settings.json {
        let _ = writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else if failed.is_none() && !interrupted {
        let _ = write!(stdout, "{}", render_summary(&report));
    }
    if interrupted {
        EXIT_INTERRUPTED
    } else if failed.is_some() {
        1
    } else {
        0
    }
}

/// Removes what run `run_id` created: the whole enclave when it made it, else the
/// containers and volumes labelled with the run and the mount folders it made.
async fn roll_back(
    docker: &bollard::Docker,
    host: &str,
    enclave_name: &str,
    run_id: &str,
    new_enclave: bool,
) -> Result<String, String> {
    if new_enclave {
        let removed = enclave::remove_enclave(docker, host, enclave_name).await?;
        return Ok(format!(
            "removed {} container{}, {} volume{} and network {}",
            removed.containers.len(),
            if removed.containers.len() == 1 {
                ""
            } else {
                "s"
            },
            removed.volumes.len(),
            if removed.volumes.len() == 1 { "" } else { "s" },
            removed.networks.join(", ")
        ));
    }
    let run_label = |labels: Option<&std::collections::HashMap<String, String>>| {
        labels
            .and_then(|labels| labels.get(enclave::LABEL_RUN))
            .is_some_and(|run| run == run_id)
    };
    let mut containers = 0;
    for container in enclave::containers(docker, enclave_name)
        .await
        .map_err(|error| enclave::describe("cannot list containers", host, &error))?
    {
        if run_label(container.labels.as_ref())
            && let Some(id) = container.id
        {
            enclave::remove_container(docker, &id)
                .await
                .map_err(|error| enclave::describe("cannot remove a container", host, &error))?;
            containers += 1;
        }
    }
    let mut volumes = 0;
    let list = docker
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .map_err(|error| enclave::describe("cannot list volumes", host, &error))?;
    for volume in list.volumes.unwrap_or_default() {
        if volume
            .labels
            .get(enclave::LABEL_ENCLAVE)
            .map(String::as_str)
            == Some(enclave_name)
            && run_label(Some(&volume.labels))
        {
            enclave::remove_volume(docker, &volume.name)
                .await
                .map_err(|error| enclave::describe("cannot remove a volume", host, &error))?;
            volumes += 1;
        }
    }
    Ok(format!(
        "removed {containers} container{} and {volumes} volume{} this run created (services it replaced are not restored)",
        if containers == 1 { "" } else { "s" },
        if volumes == 1 { "" } else { "s" }
    ))
}

/// Removes the task containers of run `run_id` that a stop left behind.
async fn remove_tasks(
    docker: &bollard::Docker,
    host: &str,
    enclave_name: &str,
    run_id: &str,
) -> Result<(), String> {
    let containers = enclave::containers(docker, enclave_name)
        .await
        .map_err(|error| enclave::describe("cannot list containers", host, &error))?;
    for container in containers {
        let labels = container.labels.unwrap_or_default();
        if labels.contains_key(enclave::LABEL_TASK)
            && labels.get(enclave::LABEL_RUN).map(String::as_str) == Some(run_id)
            && let Some(id) = container.id
        {
            enclave::remove_container(docker, &id)
                .await
                .map_err(|error| enclave::describe("cannot remove a task", host, &error))?;
        }
    }
    Ok(())
}

/// Takes over from a run that ended without releasing the enclave's lock (killed, crashed,
/// or the engine went away under it): says so, and removes what it left when it would have
/// rolled back itself.
async fn clean_up_after(
    engine: &Engine,
    enclave_name: &str,
    ended: &lock::Holder,
) -> Result<(), String> {
    eprintln!("{}", ended.taken_over_note(enclave_name));
    let Some(run_id) = &ended.run else {
        return Ok(());
    };
    let docker = engine.client();
    let network = enclave::find_network(docker, enclave_name)
        .await
        .map_err(|error| enclave::describe("cannot list networks", &engine.host, &error))?;
    let made_enclave =
        network.is_some_and(|network| network.labels.get(enclave::LABEL_RUN) == Some(run_id));
    let rolls_back = match ended.rollback {
        lock::Rollback::Always => true,
        lock::Rollback::Never => false,
        lock::Rollback::IfNew => made_enclave,
    };
    if rolls_back {
        let removed = roll_back(docker, &engine.host, enclave_name, run_id, made_enclave).await?;
        eprintln!("note: removed what the interrupted run left: {removed}");
    } else {
        eprintln!(
            "note: what it made is kept, as it ran without rollback; `starflake enclave inspect {enclave_name}` shows it"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// checks before anything starts

/// The image names the steps start containers from.
fn used_images(plan: &Plan) -> std::collections::BTreeSet<String> {
    plan.steps
        .iter()
        .filter_map(|step| match &step.instruction {
            Instruction::AddService { config, .. } | Instruction::SetService { config, .. } => {
                Some(config.image.clone())
            }
            Instruction::RunSh { image, .. } | Instruction::RunPython { image, .. } => {
                Some(image.clone())
            }
            _ => None,
        })
        .collect()
}

fn missing_image(image: &Image) -> String {
    let how = match &image.source {
        ImageSource::Dockerfile { dockerfile, .. } => format!(
            "it is an ImageBuildSpec ({dockerfile}), which `starflake run` does not build; build it with `docker build -t {} ...`",
            image.name
        ),
        _ => format!(
            "starflake run never pulls (no registry is used); `docker pull {}` or `docker load` it first",
            image.name
        ),
    };
    format!(
        "error: image `{}` ({}) is not in the Docker engine: {how}",
        image.name, image.defined_at
    )
}

/// Errors (instructions that cannot run here) and warnings (arguments ignored here).
fn preflight(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let number = (index + 1) as u64;
        let name = instruction_name(&step.instruction);
        let mut error = |message: String| {
            errors.push(format!(
                "error: {name} at {} cannot run here: {message}",
                step.at
            ));
        };
        let mut warn = |message: String| {
            warnings.push(format!("warning: {name} at {}: {message}", step.at));
        };
        // Future references must point at earlier steps.
        let json = serde_json::to_value(&step.instruction).unwrap_or(Value::Null);
        let mut references = Vec::new();
        resolve::references_in_value(&json, &mut references);
        for reference in references {
            if reference.step >= resolve::NO_STEP {
                error(format!(
                    "it uses `{}` of a value no step of this run produces (e.g. a service from an earlier run)",
                    reference.field
                ));
            } else if reference.step >= number {
                error(format!(
                    "it uses `{}` of step {}, which runs later",
                    reference.field, reference.step
                ));
            }
        }
        match &step.instruction {
            Instruction::AddService { config, .. } | Instruction::SetService { config, .. } => {
                check_service(config, &mut error, &mut warn);
            }
            Instruction::Exec { recipe, .. } | Instruction::Request { recipe, .. } => {
                check_recipe(recipe, &mut error);
            }
            Instruction::Wait {
                service_name,
                recipe,
                interval,
                timeout,
                ..
            } => {
                if service_name.is_none() {
                    error("`wait` needs `service_name` here".to_owned());
                }
                check_recipe(recipe, &mut error);
                for duration in [interval, timeout] {
                    if let Err(message) = resolve::parse_duration(duration) {
                        error(message);
                    }
                }
            }
            Instruction::UploadFiles {
                src, path: None, ..
            } => {
                error(format!(
                    "`{src}` is not a file of this package; starflake uploads local files only"
                ));
            }
            Instruction::RenderTemplates { config, .. } => {
                for (destination, template) in config {
                    if let Err(message) = resolve::check_template(&template.template) {
                        error(format!("the template for `{destination}`: {message}"));
                    }
                }
            }
            Instruction::RunSh { files, wait, .. } => {
                check_files(files, &mut error);
                if let Some(wait) = wait
                    && let Err(message) = resolve::parse_duration(wait)
                {
                    error(message);
                }
            }
            Instruction::RunPython {
                packages,
                files,
                wait,
                ..
            } => {
                if !packages.is_empty() {
                    error(format!(
                        "installing packages ({}) needs a package index, which starflake run does not use; put them in the image",
                        packages.join(", ")
                    ));
                }
                check_files(files, &mut error);
                if let Some(wait) = wait
                    && let Err(message) = resolve::parse_duration(wait)
                {
                    error(message);
                }
            }
            _ => {}
        }
    }
    (errors, warnings)
}

fn check_service(
    config: &ServiceConfig,
    error: &mut impl FnMut(String),
    warn: &mut impl FnMut(String),
) {
    if config.gpu.is_some() {
        error("`gpu` is not supported by starflake run".to_owned());
    }
    if config.privileged == Some(true) {
        error("`privileged` containers are not started by starflake run".to_owned());
    }
    if config.host_pid_namespace == Some(true) {
        error("`host_pid_namespace` is not supported by starflake run".to_owned());
    }
    if !config.bind_mounts.is_empty() {
        error("`bind_mounts` are not supported by starflake run".to_owned());
    }
    if !config.files_to_be_moved.is_empty() {
        error("`files_to_be_moved` is not supported by starflake run".to_owned());
    }
    let placeholder =
        config
            .private_ip_address_placeholder
            .as_deref()
            .or(crate::builtins::default_str(
                "ServiceConfig",
                "private_ip_address_placeholder",
            ));
    let uses = |placeholder: &str| {
        config
            .cmd
            .iter()
            .chain(&config.entrypoint)
            .chain(config.env_vars.values())
            .any(|text| text.contains(placeholder))
    };
    if let Some(placeholder) = placeholder.filter(|placeholder| uses(placeholder)) {
        error(format!(
            "the private IP placeholder `{placeholder}` is not replaced by starflake run; use the service's hostname"
        ));
    }
    for (id, port) in &config.ports {
        if let Some(wait) = &port.wait
            && let Err(message) = resolve::parse_duration(wait)
        {
            error(format!("port `{id}`: {message}"));
        }
    }
    for id in config.public_ports.keys() {
        if !config.ports.contains_key(id) {
            error(format!("public port `{id}` is not in `ports`"));
        }
    }
    if let Some(condition) = &config.ready_conditions {
        check_recipe(&condition.recipe, error);
        for duration in [&condition.interval, &condition.timeout] {
            if let Err(message) = resolve::parse_duration(duration) {
                error(format!("ready condition: {message}"));
            }
        }
    }
    check_files(&config.files, error);
    if !config.node_selectors.is_empty() || !config.tolerations.is_empty() {
        warn("`node_selectors` and `tolerations` apply to Kubernetes only; ignored".to_owned());
    }
    if config.min_cpu.is_some() || config.min_memory.is_some() {
        warn("`min_cpu` and `min_memory` apply to Kubernetes only; ignored".to_owned());
    }
}

fn check_files(files: &BTreeMap<String, FilesMount>, error: &mut impl FnMut(String)) {
    for (path, mount) in files {
        if let FilesMount::Directory {
            artifact_names,
            persistent_key: None,
            ..
        } = mount
            && artifact_names.is_empty()
        {
            error(format!("`files` entry `{path}` mounts nothing"));
        }
    }
}

fn check_recipe(recipe: &Recipe, error: &mut impl FnMut(String)) {
    let extract = match recipe {
        Recipe::Exec { extract, .. }
        | Recipe::GetHttp { extract, .. }
        | Recipe::PostHttp { extract, .. } => extract,
    };
    for (key, query) in extract {
        if let Err(message) = resolve::jq(query, &Value::Null) {
            error(format!("extract `{key}`: {message}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// output

fn instruction_name(instruction: &Instruction) -> String {
    serde_json::to_value(instruction)
        .ok()
        .and_then(|json| json.get("instruction")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "instruction".to_owned())
}

/// `add_service web`, `exec db`, `print`.
fn step_title(step: &Step) -> String {
    let json = serde_json::to_value(&step.instruction).unwrap_or(Value::Null);
    let name = instruction_name(&step.instruction);
    let subject = ["name", "service_name"]
        .iter()
        .find_map(|key| json.get(*key).and_then(Value::as_str));
    match subject {
        Some(subject) => format!("{name} {subject}"),
        None => name,
    }
}

fn short_at(at: &Location) -> String {
    format!("{}:{}", at.file, at.line)
}

#[derive(Serialize)]
struct Report {
    enclave: String,
    package: String,
    network: String,
    new_enclave: bool,
    status: &'static str,
    services: Vec<ServiceReport>,
    prints: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
    rolled_back: bool,
}

#[derive(Serialize)]
struct ServiceReport {
    status: String,
    #[serde(flatten)]
    view: enclave::ServiceView,
}

impl ServiceReport {
    /// The status, with the container's state when it is not running although it should.
    fn status_text(&self) -> String {
        let expected = matches!(self.status.as_str(), "stopped" | "removed" | "rolled_back");
        if expected || self.view.state == "running" {
            self.status.clone()
        } else {
            format!("{} ({})", self.status, self.view.state)
        }
    }
}

#[derive(Serialize)]
struct ErrorReport {
    instruction: String,
    at: String,
    message: String,
    details: Vec<String>,
}

fn render_summary(report: &Report) -> String {
    let mut rows = vec![vec![
        "SERVICE".to_owned(),
        "STATUS".to_owned(),
        "PORTS".to_owned(),
        "URL".to_owned(),
    ]];
    for service in &report.services {
        let mut first = true;
        let name = |first: bool| {
            if first {
                service.view.name.clone()
            } else {
                String::new()
            }
        };
        for port in &service.view.ports {
            rows.push(vec![
                name(first),
                if first {
                    service.status_text()
                } else {
                    String::new()
                },
                port.mapping(),
                port.url.clone().unwrap_or_default(),
            ]);
            first = false;
        }
        if first {
            rows.push(vec![
                name(true),
                service.status_text(),
                "-".to_owned(),
                String::new(),
            ]);
        }
    }
    let mut out = format!(
        "enclave {} ({} service{}, network {})\n",
        report.enclave,
        report.services.len(),
        if report.services.len() == 1 { "" } else { "s" },
        report.network
    );
    if !report.services.is_empty() {
        out.push_str(&enclave::table(&rows));
    }
    if let Some(output) = &report.output
        && !output.is_null()
    {
        out.push_str(&format!(
            "output: {}\n",
            serde_json::to_string(output).unwrap_or_default()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: &str, state: &str) -> ServiceReport {
        ServiceReport {
            status: status.to_owned(),
            view: enclave::ServiceView {
                name: "quick".to_owned(),
                container: "starflake-e--quick".to_owned(),
                state: state.to_owned(),
                image: "app:latest".to_owned(),
                image_id: None,
                store_path: None,
                ip_address: None,
                ports: Vec::new(),
                instruction: None,
            },
        }
    }

    #[test]
    fn a_service_whose_command_ended_shows_its_state() {
        assert_eq!(
            report("created", "exited").status_text(),
            "created (exited)"
        );
        assert_eq!(report("created", "running").status_text(), "created");
        assert_eq!(report("stopped", "exited").status_text(), "stopped");
        let json = serde_json::to_string(&report("created", "running")).unwrap();
        assert_eq!(json.matches("\"name\"").count(), 1, "{json}");
    }

    fn step(line: u32, instruction: Instruction) -> Step {
        Step {
            at: Location {
                file: "main.star".to_owned(),
                line,
                column: 5,
            },
            description: None,
            instruction,
        }
    }

    #[test]
    fn preflight_names_what_cannot_run_and_where() {
        let later = "{{kurtosis:00000000000000000000000000000002:ip_address.runtime_value}}";
        let plan = Plan {
            package: "github.com/x/y".to_owned(),
            steps: vec![
                step(
                    3,
                    Instruction::AddService {
                        name: "a".to_owned(),
                        config: ServiceConfig {
                            image: "img".to_owned(),
                            privileged: Some(true),
                            env_vars: BTreeMap::from([("PEER".to_owned(), later.to_owned())]),
                            ..ServiceConfig::default()
                        },
                        force_update: false,
                    },
                ),
                step(
                    9,
                    Instruction::RunPython {
                        run: "print(1)".to_owned(),
                        image: "python:3.11-alpine".to_owned(),
                        args: Vec::new(),
                        packages: vec!["requests".to_owned()],
                        files: BTreeMap::new(),
                        store: Vec::new(),
                        wait: Some("180s".to_owned()),
                    },
                ),
                step(
                    12,
                    Instruction::Print {
                        msg: "ok".to_owned(),
                    },
                ),
            ],
            ..Plan::default()
        };
        let (errors, warnings) = preflight(&plan);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with("error: add_service at main.star:3:5 cannot run here:"));
        assert!(errors[0].contains("step 2, which runs later"));
        assert!(errors[1].contains("`privileged`"));
        assert!(errors[2].starts_with("error: run_python at main.star:9:5"));
        assert!(errors[2].contains("requests"));
    }

    #[test]
    fn titles() {
        let add = step(
            1,
            Instruction::StopService {
                name: "web".to_owned(),
            },
        );
        assert_eq!(step_title(&add), "stop_service web");
        assert_eq!(short_at(&add.at), "main.star:1");
    }
}

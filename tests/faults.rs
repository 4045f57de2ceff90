//! End-to-end tests of the Docker engine going away under `starflake build` and `run`: a
//! second, real `dockerd` of the tests' own (`tests/common/engine.rs`, reached over TCP) is
//! stopped while starflake loads an image or runs a plan, then started again. starflake must
//! say what failed and that the engine went away, and leave nothing half-made once the engine
//! is back: what the next command finds of the interrupted run, it names and removes.
//! The machine's shared engine is never stopped.
#![cfg(feature = "native")]

// The harnesses are shared with the build, run and remote suites; this one uses part of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "common/engine.rs"]
mod engine;

use std::process::Stdio;
use std::time::Duration;

use common::{Package, Run, Watched, wait_until};
use engine::RemoteEngine;

/// How long a stage of the `stages` fixture may take to be reached: a Nix build and a load.
const REACH: Duration = Duration::from_secs(120);
/// How long starflake may take to notice that the engine is gone and end.
const NOTICE: Duration = Duration::from_secs(60);

/// `starflake run` of the run fixture `stages` held at `stage` (see its main.star), on
/// `engine`.
fn run_stage(engine: &RemoteEngine, package: &Package, stage: &str) -> Watched {
    let args = format!(r#"{{"stage": "{stage}"}}"#);
    Watched::spawn(
        package
            .command(&["run", "--enclave", &package.id, "--args", &args, "."])
            .env("DOCKER_HOST", engine.docker_host())
            .env("NO_COLOR", "1")
            .stdout(Stdio::null()),
    )
}

fn run_on(engine: &RemoteEngine, package: &Package, args: &[&str]) -> Run {
    let output = package
        .command(args)
        .env("DOCKER_HOST", engine.docker_host())
        .env("NO_COLOR", "1")
        .output()
        .expect("starflake runs");
    Run::from(output)
}

/// `docker ARGS` on the engine: its stdout lines, sorted.
fn listed(engine: &RemoteEngine, args: &[&str]) -> Vec<String> {
    let output = engine.docker(args);
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Every container (lock included), volume and starflake network on the engine.
fn everything(engine: &RemoteEngine) -> Vec<String> {
    let mut all = listed(engine, &["ps", "--all", "--format", "{{.Names}}"]);
    all.extend(listed(engine, &["volume", "ls", "--format", "{{.Name}}"]));
    all.extend(listed(
        engine,
        &[
            "network",
            "ls",
            "--filter",
            "label=starflake.enclave",
            "--format",
            "{{.Name}}",
        ],
    ));
    all.sort();
    all
}

/// The images on the engine, but the lock's, as `repository:tag`.
fn images(engine: &RemoteEngine) -> Vec<String> {
    listed(engine, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .into_iter()
        .filter(|image| !image.starts_with("starflake/enclave-lock:"))
        .collect()
}

#[test]
fn the_engine_stopping_during_an_image_load_is_said_and_leaves_no_image() {
    let mut engine = RemoteEngine::start();
    let package = Package::new("run", "stages", "sff-load");
    let run = run_stage(&engine, &package, "load");
    run.wait_for_line("loading stream script", REACH);
    engine.stop_daemon();
    let (status, stderr) = run.finish(NOTICE);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: the Docker engine at {} stopped answering while the images were loaded; is dockerd still running?",
            engine.docker_host()
        )),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("once the engine answers again, run the command again; nothing was started"),
        "{stderr}"
    );

    engine.start_daemon();
    assert_no_partial_image(&engine, "sff-load", &stderr);
    // Only the lock is left, which the next run takes over: its holder has ended.
    assert_eq!(everything(&engine), ["starflake-lock.sff-load"], "{stderr}");
    let next = run_on(
        &engine,
        &package,
        &[
            "run",
            "--enclave",
            "sff-load",
            "--args",
            r#"{"stage": "start"}"#,
            ".",
        ],
    );
    next.expect(0)
        .stderr_has("ended without releasing enclave sff-load; taking over its lock");
    assert!(!everything(&engine).contains(&"starflake-lock.sff-load".to_owned()));
}

/// No image of the stalled load, and no untagged image: only images Docker got whole
/// (and tagged) are on the engine.
#[track_caller]
fn assert_no_partial_image(engine: &RemoteEngine, id: &str, stderr: &str) {
    let images = images(engine);
    assert!(
        images
            .iter()
            .all(|image| image == &format!("starflake-test/{id}-web:latest")),
        "{images:?}\n{stderr}"
    );
}

#[test]
fn the_engine_stopping_during_a_run_is_said_and_the_next_run_removes_what_it_left() {
    let mut engine = RemoteEngine::start();
    let package = Package::new("run", "stages", "sff-run");
    let run = run_stage(&engine, &package, "ready");
    run.wait_for_line("add_service unready", REACH);
    wait_until("the service is made", REACH, || {
        listed(&engine, &["ps", "--all", "--format", "{{.Names}}"])
            .contains(&"starflake-sff-run--unready".to_owned())
    });
    engine.stop_daemon();
    let (status, stderr) = run.finish(NOTICE);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let host = engine.docker_host();
    // Where the step was when the engine went (inspecting the container, polling the ready
    // condition) decides the first words; the engine's going away is said either way.
    assert!(
        stderr.contains("error: add_service at main.star:33:9 failed: ")
            && stderr.contains(&format!("the Docker engine at {host} stopped answering")),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: the rollback failed")
            && stderr.contains(
                "`starflake enclave rm sff-run` removes the enclave once Docker answers again"
            ),
        "{stderr}"
    );

    // Back, the engine still holds the half-made enclave and the lock of the run that is
    // gone; the next run says so, removes them and deploys.
    engine.start_daemon();
    assert_eq!(
        everything(&engine),
        [
            "starflake-lock.sff-run",
            "starflake-sff-run",
            "starflake-sff-run--first",
            "starflake-sff-run--unready",
        ]
    );
    let next = run_on(
        &engine,
        &package,
        &[
            "run",
            "--enclave",
            "sff-run",
            "--args",
            r#"{"stage": "start"}"#,
            ".",
        ],
    );
    next.expect(0)
        .stderr_has("ended without releasing enclave sff-run; taking over its lock")
        .stderr_has("removed what the interrupted run left: removed 2 containers, 0 volumes and network starflake-sff-run");
    assert_eq!(
        everything(&engine),
        [
            "starflake-sff-run",
            "starflake-sff-run--first",
            "starflake-sff-run--second",
        ]
    );
}

#[test]
fn the_engine_stopping_during_starflake_build_is_said_and_leaves_no_image() {
    let mut engine = RemoteEngine::start();
    let package = Package::new("run", "stages", "sff-build");
    let build = Watched::spawn(
        package
            .command(&["build", "--args", r#"{"stage": "load"}"#, "."])
            .env("DOCKER_HOST", engine.docker_host())
            .env("NO_COLOR", "1")
            .stdout(Stdio::null()),
    );
    build.wait_for_line("loading stream script", REACH);
    engine.stop_daemon();
    let (status, stderr) = build.finish(NOTICE);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: the Docker engine at {} stopped answering during the build; is dockerd still running?",
            engine.docker_host()
        )),
        "{stderr}"
    );
    engine.start_daemon();
    assert_no_partial_image(&engine, "sff-build", &stderr);
}

//! End-to-end tests of `starflake build` on the real Nix and the real Docker engine.
//!
//! Each test copies a package from `tests/fixtures/build/<case>/` into a temporary folder,
//! adds the shared flake library (`tests/fixtures/build/lib/`) and the host's static busybox
//! (`/bin/busybox`, never committed) to its flake folder, and replaces `@ID@` with the test's
//! own name so that no two tests share a store path, an image or a tag (and `@RUN@` with a
//! value unique to the run, where a test needs Nix to really build); see `tests/common/`.
//! Every test removes its images, containers and folders, also when it fails.
//!
//! Nothing is skipped: without Nix, Docker or busybox the tests fail and say to run
//! `scripts/setup-native.sh`.
#![cfg(feature = "native")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptions, StartContainerOptions,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use common::{Cleanup, Package, Run, STARFLAKE, block_on, docker, require_tools};

/// A temporary copy of one build fixture (see `Images` for its clean-up).
type Fixture = common::Fixture<Images>;

/// The clean-up of a build test: every image whose name holds the test's ID, and their
/// containers.
struct Images;

impl Cleanup for Images {
    fn clean(&self, package: &Package) {
        let id = package.id.clone();
        block_on(async move {
            let docker = docker();
            let containers = docker
                .list_containers(Some(
                    ListContainersOptionsBuilder::default().all(true).build(),
                ))
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|container| {
                    let names = container.names.as_deref().unwrap_or_default();
                    names.iter().any(|name| name.contains(&id))
                })
                .filter_map(|container| container.id);
            common::remove_containers(&docker, containers).await;
            for pattern in [
                format!("starflake-test/{id}*"),
                format!("starflake-baked/{id}*"),
            ] {
                for image in common::images_matching(&docker, &pattern).await {
                    common::remove_image(&docker, &image.id).await;
                }
            }
        });
    }
}

impl Fixture {
    fn new(case: &str, id: &str) -> Fixture {
        Fixture::prepare("build", case, id, Images)
    }

    /// `starflake build` in the package, with its own load cache.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.package.command(&["build"]);
        command.args(args).env_remove("NO_COLOR");
        command
    }

    fn build(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("starflake runs"))
    }

    fn reference(&self, suffix: &str) -> String {
        format!("starflake-test/{}{suffix}", self.id)
    }
}

impl Run {
    /// The result line of an image: `(status, short id, store path)`.
    #[track_caller]
    fn result(&self, reference: &str) -> (String, String, String) {
        let line = self
            .stdout
            .lines()
            .find(|line| line.split_whitespace().nth(1) == Some(reference))
            .unwrap_or_else(|| panic!("no result line for {reference} in:\n{}", self.stdout));
        let words: Vec<&str> = line.split_whitespace().collect();
        (
            words[0].to_owned(),
            words[2].to_owned(),
            words.get(3).copied().unwrap_or("-").to_owned(),
        )
    }
}

fn image_id(reference: &str) -> Option<String> {
    let reference = reference.to_owned();
    block_on(async move { docker().inspect_image(&reference).await.ok()?.id })
}

fn image_tags(reference: &str) -> Vec<String> {
    let reference = reference.to_owned();
    block_on(async move {
        docker()
            .inspect_image(&reference)
            .await
            .ok()
            .and_then(|image| image.repo_tags)
            .unwrap_or_default()
    })
}

/// Runs a container from `reference` to its end; returns its exit code and output.
fn run_container(reference: &str, name: &str) -> (i64, String) {
    let (reference, name) = (reference.to_owned(), name.to_owned());
    block_on(async move {
        let docker = docker();
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                ContainerCreateBody {
                    image: Some(reference.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("create the container");
        docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .expect("start the container");
        let code = match docker
            .wait_container(
                &created.id,
                Some(
                    WaitContainerOptionsBuilder::default()
                        .condition("not-running")
                        .build(),
                ),
            )
            .next()
            .await
        {
            Some(Ok(response)) => response.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            other => panic!("waiting for the container: {other:?}"),
        };
        let mut logs = docker.logs(
            &created.id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .build(),
            ),
        );
        let mut output = String::new();
        while let Some(chunk) = logs.next().await {
            output.push_str(&chunk.expect("container logs").to_string());
        }
        docker
            .remove_container(
                &created.id,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
            .expect("remove the container");
        (code, output)
    })
}

#[track_caller]
fn assert_runs(reference: &str, container: &str, expected: &str) {
    let (code, output) = run_container(reference, container);
    assert_eq!(code, 0, "container output: {output}");
    assert_eq!(output.trim(), expected);
}

// ---------------------------------------------------------------------------------------

#[test]
fn plain_tar_is_loaded_tagged_as_image_name_and_runs() {
    let fixture = Fixture::new("tar", "sfb-tar");
    let reference = fixture.reference(":latest");
    let run = fixture.build(&[]);
    run.expect(0);
    let (status, short_id, store_path) = run.result(&reference);
    assert_eq!(status, "loaded");
    assert!(store_path.starts_with("/nix/store/") && store_path.ends_with(".tar"));
    assert!(Path::new(&store_path).is_file());
    // the tag is image_name (with :latest), on the very image the archive carried
    let id = image_id(&reference).expect("image_name is tagged");
    assert!(id.starts_with(&short_id), "{id} vs {short_id}");
    assert_eq!(image_id("starflake-baked/sfb-tar:v0"), Some(id));
    run.stderr_has("loading tar");
    assert_runs(&reference, "sfb-tar-run", "hello from sfb-tar");
}

#[test]
fn untagged_archive_gets_exactly_image_name() {
    let fixture = Fixture::new("untagged", "sfb-untagged");
    let reference = fixture.reference(":v1");
    fixture.build(&[]).expect(0);
    assert_eq!(image_tags(&reference), [reference.as_str()]);
    assert_runs(&reference, "sfb-untagged-run", "hello from sfb-untagged");
}

#[test]
fn gzip_archive_is_loaded() {
    let fixture = Fixture::new("gzip", "sfb-gzip");
    let reference = fixture.reference(":latest");
    let run = fixture.build(&["--format", "json"]);
    run.expect(0);
    let json = run.json();
    let image = &json["images"][0];
    assert_eq!(image["status"], "loaded");
    assert_eq!(image["output_kind"], "gzip");
    assert_eq!(image["reference"], reference.as_str());
    assert_eq!(image["defined_at"], "main.star:5:21");
    assert!(image["drv_path"].as_str().unwrap().ends_with(".tar.gz.drv"));
    assert_eq!(image["image_id"].as_str(), image_id(&reference).as_deref());
    assert_runs(&reference, "sfb-gzip-run", "hello from sfb-gzip");
}

#[test]
fn stream_script_is_run_and_loaded() {
    let fixture = Fixture::new("stream", "sfb-stream");
    let reference = fixture.reference(":latest");
    let run = fixture.build(&[]);
    run.expect(0);
    assert_eq!(run.result(&reference).0, "loaded");
    run.stderr_has("loading stream script");
    assert_runs(&reference, "sfb-stream-run", "hello from sfb-stream");
}

#[test]
fn output_that_is_not_an_image_is_a_clear_error() {
    let fixture = Fixture::new("notimage", "sfb-notimage");
    let run = fixture.build(&[]);
    run.expect(1);
    assert_eq!(run.result(&fixture.reference(":latest")).0, "failed");
    for expected in [
        "error: loading image `starflake-test/sfb-notimage:latest` failed",
        "--> main.star:5:21 (NixBuildSpec)",
        "a text file starting with `this is not an image`, not an image",
        "streamLayeredImage",
    ] {
        run.stderr_has(expected);
    }
    assert_eq!(image_id(&fixture.reference(":latest")), None);
}

#[test]
fn failing_builder_shows_its_log_derivation_and_location() {
    let fixture = Fixture::new("failing", "sfb-failing");
    let run = fixture.build(&[]);
    run.expect(1);
    assert_eq!(run.result(&fixture.reference(":latest")).0, "failed");
    for expected in [
        "error: building image `starflake-test/sfb-failing:latest` failed",
        "--> main.star:5:21 (NixBuildSpec)",
        "failed with exit code 3",
        "sfb-failing-failing> hello from the failing builder",
        "sfb-failing-failing> about to fail",
        "-sfb-failing-failing.drv",
        "full log: nix log /nix/store/",
        "path:./nix#app",
    ] {
        run.stderr_has(expected);
    }
    run.stderr_has("derivation: /nix/store/");
}

#[test]
fn missing_nix_is_a_clear_error() {
    let fixture = Fixture::new("tar", "sfb-nonix");
    let empty = fixture.cache.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = Run::from(fixture.command(&[]).env("PATH", &empty).output().unwrap());
    run.expect(1);
    run.stderr_has("Nix is not installed, or `nix` is not on PATH");
    run.stderr_has("apt-get install nix-bin");
    assert!(run.stdout.is_empty());
    assert_eq!(image_id(&fixture.reference(":latest")), None);

    // with `--format json`, stdout is still one JSON document: the error
    let json = Run::from(
        fixture
            .command(&["--format", "json"])
            .env("PATH", &empty)
            .output()
            .unwrap(),
    );
    json.expect(1);
    let error = &json.json()["error"];
    assert_eq!(error["stage"], "nix");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Nix is not installed"),
        "{error}"
    );
}

#[test]
fn unreachable_docker_is_a_clear_error() {
    let fixture = Fixture::new("tar", "sfb-nodocker");
    let socket = fixture.cache.join("missing/docker.sock");
    let host = format!("unix://{}", socket.display());
    let run = Run::from(
        fixture
            .command(&[])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap(),
    );
    run.expect(1);
    let expected = format!(
        "cannot reach the Docker engine at {host} (from DOCKER_HOST): the socket {} does not exist",
        socket.display()
    );
    run.stderr_has(&expected);
    // tcp is honoured too (bollard's local defaults would silently use the unix socket)
    let run = Run::from(
        fixture
            .command(&[])
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .output()
            .unwrap(),
    );
    run.expect(1);
    run.stderr_has("cannot reach the Docker engine at tcp://127.0.0.1:1 (from DOCKER_HOST): connection refused");
    assert!(run.stdout.is_empty());

    // with `--format json`, stdout is still one JSON document: the error
    let json = Run::from(
        fixture
            .command(&["--format", "json"])
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .output()
            .unwrap(),
    );
    json.expect(1);
    let error = &json.json()["error"];
    assert_eq!(error["stage"], "docker");
    assert_eq!(error["details"], serde_json::json!([]));
    assert!(
        error["message"].as_str().unwrap().starts_with(
            "cannot reach the Docker engine at tcp://127.0.0.1:1 (from DOCKER_HOST): connection refused"
        ),
        "{error}"
    );
}

#[test]
fn docker_host_over_tcp_is_used() {
    let fixture = Fixture::new("tar", "sfb-tcp");
    // a TCP front for the local socket
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let Ok(unix) = std::os::unix::net::UnixStream::connect(&socket) else {
                    return;
                };
                let (mut tcp_in, mut unix_out) =
                    (stream.try_clone().unwrap(), unix.try_clone().unwrap());
                let forward = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut tcp_in, &mut unix_out);
                    let _ = unix_out.shutdown(std::net::Shutdown::Write);
                });
                let (mut unix_in, mut tcp_out) = (unix, stream);
                let _ = std::io::copy(&mut unix_in, &mut tcp_out);
                let _ = tcp_out.shutdown(std::net::Shutdown::Write);
                let _ = forward.join();
            });
        }
    });
    let run = Run::from(
        fixture
            .command(&[])
            .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
            .output()
            .unwrap(),
    );
    run.expect(0);
    assert_eq!(run.result(&fixture.reference(":latest")).0, "loaded");
    assert!(image_id(&fixture.reference(":latest")).is_some());
}

#[test]
fn rerun_skips_the_load_and_the_cache_is_checked_against_docker() {
    let fixture = Fixture::new("tar", "sfb-cache");
    let reference = fixture.reference(":latest");
    let first = fixture.build(&[]);
    first.expect(0);
    let (status, id, path) = first.result(&reference);
    assert_eq!(status, "loaded");
    assert!(fixture.cache.join("starflake/loaded-images.json").is_file());

    let second = fixture.build(&[]);
    second.expect(0);
    assert_eq!(
        second.result(&reference),
        ("cached".to_owned(), id.clone(), path.clone())
    );
    second.stderr_has("already loaded");
    assert!(!second.stderr.contains("loading tar"), "{}", second.stderr);

    // the tag was moved away: the image is still there, so it is only re-tagged
    block_on(async {
        docker()
            .remove_image(&reference, None::<RemoveImageOptions>, None)
            .await
            .unwrap()
    });
    let third = fixture.build(&[]);
    third.expect(0);
    assert_eq!(third.result(&reference).0, "cached");
    assert!(image_id(&reference).unwrap().starts_with(&id));

    // the image is gone from Docker: the cache entry is stale and the image is loaded again
    fixture.clean();
    let fourth = fixture.build(&[]);
    fourth.expect(0);
    assert_eq!(fourth.result(&reference).0, "loaded");
    assert!(image_id(&reference).unwrap().starts_with(&id));

    // --no-cache loads anyway
    let fifth = fixture.build(&["--no-cache"]);
    fifth.expect(0);
    assert_eq!(fifth.result(&reference).0, "loaded");
}

#[test]
fn changed_flake_is_rebuilt_reloaded_and_the_old_image_removed() {
    let fixture = Fixture::new("tar", "sfb-change");
    let reference = fixture.reference(":latest");
    let first = fixture.build(&[]);
    first.expect(0);
    let (_, _, old_path) = first.result(&reference);
    let old_id = image_id(&reference).unwrap();
    assert_runs(&reference, "sfb-change-run1", "hello from sfb-change");

    fixture.edit("nix/flake.nix", "hello from", "goodbye from");
    let second = fixture.build(&[]);
    second.expect(0);
    let (status, _, new_path) = second.result(&reference);
    assert_eq!(status, "loaded");
    assert_ne!(new_path, old_path, "a new store path");
    let new_id = image_id(&reference).unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(image_id("starflake-baked/sfb-change:v0"), Some(new_id));
    assert_runs(&reference, "sfb-change-run2", "goodbye from sfb-change");
    // both of the old image's tags moved to the new one: it is dangling and was removed
    assert_eq!(image_id(&old_id), None, "{}", second.stderr);
}

#[test]
fn two_images_build_in_parallel_and_print_in_plan_order() {
    let fixture = Fixture::new("parallel", "sfb-parallel");
    let started = Instant::now();
    let run = fixture.build(&["--jobs", "2"]);
    let elapsed = started.elapsed();
    run.expect(0);
    // the builders sleep 4 s and 2 s: one after the other would take at least 6 s
    assert!(
        elapsed < Duration::from_secs(6),
        "took {elapsed:?}\n{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[0].starts_with("loaded  starflake-test/sfb-parallel-first:latest "));
    assert!(lines[1].starts_with("loaded  starflake-test/sfb-parallel-second:latest "));
    // the second finished first
    let done = |name: &str| {
        run.stderr
            .find(&format!("[starflake-test/sfb-parallel-{name}:latest] done"))
            .unwrap_or_else(|| panic!("{}", run.stderr))
    };
    assert!(done("second") < done("first"), "{}", run.stderr);
    assert_runs(
        &fixture.reference("-first:latest"),
        "sfb-parallel-run1",
        "hello from the first image",
    );
    assert_runs(
        &fixture.reference("-second:latest"),
        "sfb-parallel-run2",
        "hello from the second image",
    );
}

#[test]
fn dry_run_prints_the_commands_and_runs_nothing() {
    let fixture = Fixture::new("tar", "sfb-dry");
    let command = "nix --extra-experimental-features 'nix-command flakes' build --no-link --json --log-format internal-json --system x86_64-linux path:./nix#app";
    // no Nix, no Docker: nothing is needed
    let empty = fixture.dir.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = Run::from(
        fixture
            .command(&["--dry-run"])
            .env("PATH", &empty)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .unwrap(),
    );
    run.expect(0);
    assert!(
        run.stdout.lines().any(|line| line == command),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("tag the loaded image `starflake-test/sfb-dry:latest`")
    );
    // with the tools there, still nothing happens
    let run = fixture.build(&["--dry-run"]);
    run.expect(0);
    if std::env::consts::ARCH == "x86_64" {
        assert!(
            run.stdout.lines().any(|line| line == command),
            "{}",
            run.stdout
        );
    }
    assert_eq!(image_id(&fixture.reference(":latest")), None);
    assert_eq!(image_id("starflake-baked/sfb-dry:v0"), None);
    assert!(!fixture.cache.join("starflake/loaded-images.json").exists());
}

/// Whether the builder of the `slow` fixture runs (`sleep 120`).
fn builder_sleeps() -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).unwrap_or_default() == b"sleep\x00120\x00"
    })
}

#[test]
fn ctrl_c_stops_nix_and_leaves_no_tag() {
    let fixture = Fixture::new("slow", "sfb-interrupt");
    let (status, stderr) = common::interrupt(
        fixture.command(&[]).stdout(Stdio::piped()),
        "building starflake-test-sfb-interrupt",
        Duration::from_secs(60),
        builder_sleeps,
        Duration::from_secs(15),
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // no Nix left in the package, no builder left sleeping
    std::thread::sleep(Duration::from_millis(500));
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        assert!(
            !cwd.starts_with(&fixture.dir),
            "process {:?} still runs in the package",
            entry.file_name()
        );
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert_ne!(cmdline, b"sleep\x00120\x00", "the builder still runs");
    }
    assert_eq!(image_id(&fixture.reference(":latest")), None);
}

#[test]
fn check_errors_stop_the_build() {
    let fixture = Fixture::new("tar", "sfb-invalid");
    fixture.edit("main.star", "./nix", "./missing");
    let run = fixture.build(&[]);
    run.expect(1);
    run.stderr_has("nothing was built");
    run.stderr_has("main.star");
    assert!(run.stdout.is_empty());
    // with `--format json`, stdout is the document `starflake check --format json` prints
    let json = fixture.build(&["--format", "json"]);
    json.expect(1).stderr_has("nothing was built");
    let report = json.json();
    assert_eq!(report["diagnostics"][0]["severity"], "error", "{report}");
    assert_eq!(report["diagnostics"][0]["file"], "main.star", "{report}");
}

#[test]
fn usage_errors_exit_2() {
    require_tools("build");
    let missing = Run::from(
        Command::new(STARFLAKE)
            .args(["build", "/nonexistent/package"])
            .output()
            .unwrap(),
    );
    missing.expect(2);
    missing.stderr_has("is not a folder");
    let jobs = Run::from(
        Command::new(STARFLAKE)
            .args(["build", "--jobs", "0", "."])
            .output()
            .unwrap(),
    );
    jobs.expect(2);
}

#[test]
fn untracked_files_in_a_git_work_tree_are_explained() {
    let fixture = Fixture::new("tar", "sfb-git");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(&fixture.dir)
            .stdout(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "."]);
    std::fs::write(fixture.dir.join(".gitignore"), "nix/result\n").unwrap();
    std::fs::write(fixture.dir.join("nix/result"), "stale").unwrap();
    git(&[
        "add",
        "kurtosis.yml",
        "main.star",
        "nix/flake.nix",
        "nix/images.nix",
    ]);
    let run = fixture.build(&[]);
    run.expect(0);
    for expected in [
        "warning: the package is the git work tree",
        "untracked: bin/busybox, build-image.sh, build-stream.sh, stream-image.sh",
        "ignored: result",
        "`git add` the files the build needs",
    ] {
        run.stderr_has(expected);
    }
    assert!(!run.stderr.contains("flake.nix,"), "{}", run.stderr);
}

#[test]
fn a_package_in_a_subfolder_of_a_git_work_tree_gets_no_untracked_warning() {
    // `kurtosis run` uploads such a package without `.git`, so Kurtosis sees every file too.
    let fixture = Fixture::new("tar", "sfb-gitsub");
    let package = fixture.dir.join("package");
    std::fs::create_dir_all(&package).unwrap();
    for name in ["kurtosis.yml", "main.star", "nix"] {
        std::fs::rename(fixture.dir.join(name), package.join(name)).unwrap();
    }
    let status = Command::new("git")
        .args(["init", "-q", "."])
        .current_dir(&fixture.dir)
        .status()
        .expect("git runs");
    assert!(status.success());
    let run = fixture.build(&["package"]);
    run.expect(0);
    assert!(!run.stderr.contains("not in git"), "{}", run.stderr);
}

/// The dangling (untagged) images whose command mentions `id`: what a load that was not
/// tagged leaves behind. Removes them, so that a failing test leaves nothing either.
fn dangling_images_of(id: &str) -> Vec<String> {
    let found = untagged_images_of(id);
    let ids = found.clone();
    block_on(async move {
        let docker = docker();
        for image in ids {
            common::remove_image(&docker, &image).await;
        }
    });
    found
}

/// The dangling (untagged) images whose command mentions `id`, left as they are.
fn untagged_images_of(id: &str) -> Vec<String> {
    let id = id.to_owned();
    block_on(async move {
        let docker = docker();
        let filters = std::collections::HashMap::from([("dangling", vec!["true"])]);
        let images = docker
            .list_images(Some(
                bollard::query_parameters::ListImagesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap_or_default();
        let mut found = Vec::new();
        for image in images {
            let Ok(inspected) = docker.inspect_image(&image.id).await else {
                continue;
            };
            let cmd = inspected
                .config
                .and_then(|config| config.cmd)
                .unwrap_or_default()
                .join(" ");
            if cmd.contains(&id) {
                found.push(image.id);
            }
        }
        found
    })
}

#[test]
fn stream_scripts_that_go_wrong_are_explained() {
    let fixture = Fixture::new("badstream", "sfb-badstream");
    let garbage = fixture.build(&["--args", r#"{"output": "garbage"}"#]);
    garbage.expect(1);
    garbage.stderr_has(
        "wrote a text file starting with `this is not a tar archive` on its stdout, not a docker-archive",
    );
    let crash = fixture.build(&["--args", r#"{"output": "crash"}"#]);
    crash.expect(1);
    crash
        .stderr_has("failed (exit status: 3)")
        .stderr_has("cannot stream: the rootfs is missing");
}

#[test]
fn stream_script_failing_after_the_whole_archive_leaves_no_image() {
    let fixture = Fixture::new("badstream", "sfb-late");
    let run = fixture.build(&["--args", r#"{"output": "late"}"#]);
    run.expect(1);
    run.stderr_has("failed (exit status: 4)")
        .stderr_has("failed after the archive");
    assert_eq!(image_id(&fixture.reference("-late:latest")), None);
    assert_eq!(dangling_images_of("sfb-late"), Vec::<String>::new());
}

#[test]
fn ctrl_c_after_docker_has_the_whole_archive_tags_the_image() {
    let fixture = Fixture::new("badstream", "sfb-lingering");
    let (status, stderr) = common::interrupt(
        fixture
            .command(&["--args", r#"{"output": "lingering"}"#])
            .stdout(Stdio::piped()),
        "loading stream script",
        Duration::from_secs(60),
        // The script has written the whole archive and lingers: Docker has loaded it.
        || !untagged_images_of("sfb-lingering").is_empty(),
        Duration::from_secs(15),
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    // Docker loads what it got whole: starflake waits for it and tags it
    assert!(stderr.contains("finishing its load"), "{stderr}");
    assert!(
        image_id(&fixture.reference("-lingering:latest")).is_some(),
        "{stderr}"
    );
    assert_eq!(dangling_images_of("sfb-lingering"), Vec::<String>::new());
}

#[test]
fn a_digest_image_name_fails_before_building() {
    let fixture = Fixture::new("tar", "sfb-digest");
    let digest = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
    fixture.edit(
        "main.star",
        "\"starflake-test/sfb-digest\"",
        &format!("\"starflake-test/sfb-digest@{digest}\""),
    );
    let run = fixture.build(&[]);
    run.expect(1)
        .stderr_has("names a digest; a loaded image can only be given a tag")
        .stderr_has("--> main.star:5:21 (NixBuildSpec)");
    assert!(!run.stderr.contains("built /nix/store"), "{}", run.stderr);
    assert_eq!(image_id("starflake-baked/sfb-digest:v0"), None);
}

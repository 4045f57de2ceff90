//! End-to-end tests of `starflake build` on the real Nix and the real Docker engine.
//!
//! Each test copies a package from `tests/fixtures/build/<case>/` into a temporary folder,
//! adds the shared flake library (`tests/fixtures/build/lib/`) and the host's static busybox
//! (`/bin/busybox`, never committed) to its flake folder, and replaces `@ID@` with the test's
//! own name so that no two tests share a store path, an image or a tag (and `@RUN@` with a
//! value unique to the run, where a test needs Nix to really build). Every test removes its
//! images, containers and folders, also when it fails.
//!
//! Nothing is skipped: without Nix, Docker or busybox the tests fail and say to run
//! `scripts/setup-native.sh`.
#![cfg(feature = "native")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListImagesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptions, RemoveImageOptionsBuilder,
    StartContainerOptions, WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

const STARFLAKE: &str = env!("CARGO_BIN_EXE_starflake");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn docker() -> Docker {
    Docker::connect_with_defaults().expect("a Docker client")
}

/// Nix, Docker and busybox must be there; the tests fail (never skip) when they are not.
fn require_tools() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let nix = Command::new("nix")
            .arg("--version")
            .output()
            .map_err(|error| format!("`nix --version` cannot run: {error}"))?;
        if !nix.status.success() {
            return Err("`nix --version` failed".to_owned());
        }
        if !Path::new("/bin/busybox").is_file() {
            return Err("/bin/busybox (busybox-static) is missing".to_owned());
        }
        block_on(async {
            let docker = docker();
            tokio::time::timeout(Duration::from_secs(10), docker.ping())
                .await
                .map_err(|_| "the Docker engine does not answer".to_owned())?
                .map_err(|error| format!("the Docker engine is not reachable: {error}"))
        })?;
        Ok(())
    });
    if let Err(problem) = result {
        panic!(
            "the `starflake build` tests need Nix, a running Docker engine and busybox-static: {problem}. \
             Run `scripts/setup-native.sh` (as root) first."
        );
    }
}

/// A temporary copy of one fixture package, cleaned up on drop.
struct Fixture {
    id: String,
    dir: PathBuf,
    cache: PathBuf,
}

impl Fixture {
    fn new(case: &str, id: &str) -> Fixture {
        require_tools();
        let base = std::env::temp_dir().join("starflake-build-tests");
        let dir = base.join(id);
        let cache = base.join(format!("{id}-cache"));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&cache);
        copy_tree(&fixtures().join(case), &dir, id);
        let flake_dir = dir.join("nix");
        for entry in std::fs::read_dir(fixtures().join("lib")).unwrap() {
            let entry = entry.unwrap();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(flake_dir.join(entry.file_name()), text).unwrap();
        }
        std::fs::create_dir_all(flake_dir.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", flake_dir.join("bin/busybox")).unwrap();
        let fixture = Fixture {
            id: id.to_owned(),
            dir,
            cache,
        };
        fixture.remove_images();
        fixture
    }

    /// `starflake build` in the package, with its own load cache.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(STARFLAKE);
        command
            .arg("build")
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_CACHE_HOME", &self.cache)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        command
    }

    fn build(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("starflake runs"))
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds no `{from}`");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    fn reference(&self, suffix: &str) -> String {
        format!("starflake-test/{}{suffix}", self.id)
    }

    /// Every image whose name holds this test's ID, and its containers.
    fn remove_images(&self) {
        let id = self.id.clone();
        block_on(async move {
            let docker = docker();
            let containers = docker
                .list_containers(Some(
                    bollard::query_parameters::ListContainersOptionsBuilder::default()
                        .all(true)
                        .build(),
                ))
                .await
                .unwrap_or_default();
            for container in containers {
                let ours = container
                    .names
                    .unwrap_or_default()
                    .iter()
                    .any(|name| name.contains(&id));
                if ours && let Some(container_id) = container.id {
                    let _ = docker
                        .remove_container(
                            &container_id,
                            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                        )
                        .await;
                }
            }
            for pattern in [
                format!("starflake-test/{id}*"),
                format!("starflake-baked/{id}*"),
            ] {
                let filters = HashMap::from([("reference", vec![pattern.as_str()])]);
                let images = docker
                    .list_images(Some(
                        ListImagesOptionsBuilder::default()
                            .all(true)
                            .filters(&filters)
                            .build(),
                    ))
                    .await
                    .unwrap_or_default();
                for image in images {
                    let _ = docker
                        .remove_image(
                            &image.id,
                            Some(RemoveImageOptionsBuilder::default().force(true).build()),
                            None,
                        )
                        .await;
                }
            }
        });
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.remove_images();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.cache);
    }
}

/// Copies a fixture, putting `id` for every `@ID@` in text files.
/// Unique to this test process: `@RUN@` in a fixture defeats Nix's cache where a test needs a
/// real build.
fn run_nonce() -> &'static str {
    static NONCE: OnceLock<String> = OnceLock::new();
    NONCE.get_or_init(|| {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{}-{}", std::process::id(), since_epoch.as_nanos())
    })
}

fn copy_tree(from: &Path, to: &Path, id: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, id);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text.replace("@ID@", id).replace("@RUN@", run_nonce());
            std::fs::write(&target, text).unwrap();
        }
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The result line of an image: `(status, reference, short id, store path)`.
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
    assert!(run.stderr.contains("loading tar"), "{}", run.stderr);
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
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
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
    assert!(
        run.stderr.contains("loading stream script"),
        "{}",
        run.stderr
    );
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
        assert!(
            run.stderr.contains(expected),
            "no `{expected}` in:\n{}",
            run.stderr
        );
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
        assert!(
            run.stderr.contains(expected),
            "no `{expected}` in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("derivation: /nix/store/"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_nix_is_a_clear_error() {
    let fixture = Fixture::new("tar", "sfb-nonix");
    let empty = fixture.cache.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = Run::from(fixture.command(&[]).env("PATH", &empty).output().unwrap());
    run.expect(1);
    assert!(
        run.stderr
            .contains("Nix is not installed, or `nix` is not on PATH"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("apt-get install nix-bin"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert_eq!(image_id(&fixture.reference(":latest")), None);
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
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    // tcp is honoured too (bollard's local defaults would silently use the unix socket)
    let run = Run::from(
        fixture
            .command(&[])
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .output()
            .unwrap(),
    );
    run.expect(1);
    assert!(
        run.stderr
            .contains("cannot reach the Docker engine at tcp://127.0.0.1:1 (from DOCKER_HOST): connection refused"),
        "{}",
        run.stderr
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
    assert!(
        second.stderr.contains("already loaded"),
        "{}",
        second.stderr
    );
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
    fixture.remove_images();
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

#[test]
fn ctrl_c_stops_nix_and_leaves_no_tag() {
    let fixture = Fixture::new("slow", "sfb-interrupt");
    let mut child = fixture
        .command(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("building starflake-test-sfb-interrupt") {
                let _ = sender.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the build starts");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "starflake did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = reader.join().unwrap();
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
    assert!(run.stderr.contains("nothing was built"), "{}", run.stderr);
    assert!(run.stderr.contains("main.star"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    require_tools();
    let missing = Run::from(
        Command::new(STARFLAKE)
            .args(["build", "/nonexistent/package"])
            .output()
            .unwrap(),
    );
    missing.expect(2);
    assert!(
        missing.stderr.contains("is not a folder"),
        "{}",
        missing.stderr
    );
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
        "warning: the flake folder `nix` is in the git work tree",
        "untracked: bin/busybox, build-image.sh, build-stream.sh, stream-image.sh",
        "ignored: result",
        "`git add` the files the build needs",
    ] {
        assert!(
            run.stderr.contains(expected),
            "no `{expected}` in:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("flake.nix,"), "{}", run.stderr);
}

//! The harness the `starflake build` and `starflake run` tests share: the tools they need,
//! a temporary copy of a fixture package, the output of a `starflake` process, and the
//! Docker calls their clean-up makes.

mod files;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ImageSummary;
use bollard::query_parameters::{
    ListImagesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use serde_json::Value;

pub const STARFLAKE: &str = env!("CARGO_BIN_EXE_starflake");

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

pub fn docker() -> Docker {
    Docker::connect_with_defaults().expect("a Docker client")
}

/// Nix, Docker and busybox must be there; the tests of `starflake <suite>` fail (never skip)
/// when they are not.
pub fn require_tools(suite: &str) {
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
            tokio::time::timeout(Duration::from_secs(10), docker().ping())
                .await
                .map_err(|_| "the Docker engine does not answer".to_owned())?
                .map_err(|error| format!("the Docker engine is not reachable: {error}"))
        })?;
        Ok(())
    });
    if let Err(problem) = result {
        panic!(
            "the `starflake {suite}` tests need Nix, a running Docker engine and busybox-static: {problem}. \
             Run `scripts/setup-native.sh` (as root) first."
        );
    }
}

/// A temporary copy of the fixture package `tests/fixtures/<suite>/<case>/` with its flake
/// library added, `@ID@` replaced by the test's `id` (so that no two tests share a store
/// path, an image or an enclave), and its own cache and state folders; the folders are
/// removed on drop.
pub struct Package {
    pub id: String,
    pub dir: PathBuf,
    /// `XDG_CACHE_HOME` of the test's `starflake`.
    pub cache: PathBuf,
    /// `XDG_STATE_HOME` of the test's `starflake`.
    pub state: PathBuf,
}

impl Package {
    pub fn new(suite: &str, case: &str, id: &str) -> Package {
        require_tools(suite);
        let base = std::env::temp_dir().join(format!("starflake-{suite}-tests"));
        let package = Package {
            id: id.to_owned(),
            dir: base.join(id),
            cache: base.join(format!("{id}-cache")),
            state: base.join(format!("{id}-state")),
        };
        package.remove_folders();
        files::copy_tree(&files::fixtures(suite).join(case), &package.dir, id);
        files::add_flake_library(&package.dir, suite, id);
        package
    }

    /// `starflake <args>` in the package, with the test's own cache and state folders.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(STARFLAKE);
        command
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("XDG_STATE_HOME", &self.state)
            .stdin(Stdio::null());
        command
    }

    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds no `{from}`");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    fn remove_folders(&self) {
        for folder in [&self.dir, &self.state, &self.cache] {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

impl Drop for Package {
    fn drop(&mut self) {
        self.remove_folders();
    }
}

/// What a test suite removes from Docker before each test and after it, also when it fails.
pub trait Cleanup {
    fn clean(&self, package: &Package);
}

/// A test's `Package` (it derefs to it) and its suite's Docker clean-up, run when it is made
/// and on drop (before the folders go).
pub struct Fixture<T: Cleanup> {
    pub package: Package,
    pub cleanup: T,
}

impl<T: Cleanup> Fixture<T> {
    pub fn prepare(suite: &str, case: &str, id: &str, cleanup: T) -> Fixture<T> {
        let fixture = Fixture {
            package: Package::new(suite, case, id),
            cleanup,
        };
        fixture.clean();
        fixture
    }

    pub fn clean(&self) {
        self.cleanup.clean(&self.package);
    }
}

impl<T: Cleanup> Deref for Fixture<T> {
    type Target = Package;

    fn deref(&self) -> &Package {
        &self.package
    }
}

impl<T: Cleanup> Drop for Fixture<T> {
    fn drop(&mut self) {
        self.clean();
    }
}

/// How a `starflake` process ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
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
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not JSON ({error}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks `{text}`:\n{}",
            self.stderr
        );
        self
    }
}

/// Starts `command`, waits up to `start` for a line of stderr that holds `marker` and then
/// for `reached` to hold (the engine's state, say), sends Ctrl-C (SIGINT) and waits up to
/// `stop` for the process to end. Returns how it ended and all it wrote on stderr.
pub fn interrupt(
    command: &mut Command,
    marker: &str,
    start: Duration,
    reached: impl FnMut() -> bool,
    stop: Duration,
) -> (ExitStatus, String) {
    let watched = Watched::spawn(command);
    watched.wait_for_line(marker, start);
    wait_until(&format!("the stage after `{marker}`"), start, reached);
    watched.signal(libc::SIGINT);
    watched.finish(stop)
}

/// A `starflake` process the test watches: its stderr is read line by line as it comes, so
/// the test can wait for a stage it reports, then signal it.
pub struct Watched {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Gives all of stderr once the process has ended.
    reader: Option<std::thread::JoinHandle<String>>,
}

impl Watched {
    /// Starts `command` with its stderr piped (stdout is left as the command has it).
    pub fn spawn(command: &mut Command) -> Watched {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                let _ = sender.send(line);
            }
            all
        });
        Watched {
            child,
            lines,
            reader: Some(reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for a line of stderr holding `marker`.
    #[track_caller]
    pub fn wait_for_line(&self, marker: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(marker) => return,
                Ok(_) => {}
                Err(_) => panic!("starflake did not print `{marker}` within {timeout:?}"),
            }
        }
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid() as libc::pid_t, signal);
        }
    }

    /// Waits up to `timeout` for the process to end; returns how it ended and its stderr.
    #[track_caller]
    pub fn finish(mut self, timeout: Duration) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "starflake did not end within {timeout:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, self.stderr())
    }

    fn stderr(&mut self) -> String {
        let reader = self.reader.take().expect("stderr is read once");
        reader.join().unwrap()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // A test that fails half-way leaves no starflake running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` every 100 ms for up to `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Force-removes containers (IDs or names), ignoring errors: for clean-up.
pub async fn remove_containers(docker: &Docker, containers: impl IntoIterator<Item = String>) {
    for container in containers {
        let _ = docker
            .remove_container(
                &container,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
    }
}

/// The images (also intermediate ones) with a reference matching `pattern`; none on an error.
pub async fn images_matching(docker: &Docker, pattern: &str) -> Vec<ImageSummary> {
    let filters = HashMap::from([("reference", vec![pattern])]);
    docker
        .list_images(Some(
            ListImagesOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap_or_default()
}

/// Force-removes an image (ID or tag), ignoring errors: for clean-up.
pub async fn remove_image(docker: &Docker, image: &str) {
    let _ = docker
        .remove_image(
            image,
            Some(RemoveImageOptionsBuilder::default().force(true).build()),
            None,
        )
        .await;
}

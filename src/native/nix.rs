//! Running Nix: finding it and its version, running a plan's `nix build` command, reading
//! its `--log-format internal-json` stderr as typed events and its `--json` stdout as the
//! output paths, and mapping the Docker engine's platform to a Nix system.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// The oldest Nix with flakes and `nix build --json`.
pub const MIN_VERSION: (u32, u32) = (2, 4);

/// How long `nix --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an interrupted `nix build` gets to stop its builders before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The Nix found on `PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NixVersion {
    /// What `nix --version` printed, e.g. `nix (Nix) 2.8.0`.
    pub text: String,
    /// `(major, minor, patch)`, when the text holds a version.
    pub number: Option<(u32, u32, u32)>,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(
        "Nix is not installed, or `{program}` is not on PATH\n  \
         `starflake build` runs `nix build` for every NixBuildSpec image\n  \
         install Nix (Debian/Ubuntu: `apt-get install nix-bin`, then enable `nix-command flakes` \
         in /etc/nix/nix.conf; in a starflake checkout `scripts/setup-native.sh` does both), \
         or use `--dry-run` to only print the commands"
    )]
    Missing { program: String },
    #[error("cannot run `{program} --version`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program} --version` did not answer within {} s", VERSION_TIMEOUT.as_secs())]
    Timeout { program: String },
    #[error("`{program} --version` failed ({status}): {output}")]
    Failed {
        program: String,
        status: ExitStatus,
        output: String,
    },
    #[error(
        "{text} is too old: flakes and `nix build --json` need Nix {}.{} or newer",
        MIN_VERSION.0,
        MIN_VERSION.1
    )]
    TooOld { text: String },
}

impl DetectError {
    pub fn missing(program: &str) -> Self {
        DetectError::Missing {
            program: program.to_owned(),
        }
    }
}

/// Whether `program` names an executable file: a path, or a name found in PATH's folders.
/// Takes microseconds, where running `nix --version` takes tens of milliseconds.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &std::path::Path| {
        path.metadata()
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(std::path::Path::new(program));
    }
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|folder| executable(&folder.join(program)))
    })
}

/// Finds `program` (normally `nix`) and reads its version.
pub async fn detect(program: &str) -> Result<NixVersion, DetectError> {
    let child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(VERSION_TIMEOUT, child).await {
        Err(_) => {
            return Err(DetectError::Timeout {
                program: program.to_owned(),
            });
        }
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(DetectError::Missing {
                program: program.to_owned(),
            });
        }
        Ok(Err(source)) => {
            return Err(DetectError::Spawn {
                program: program.to_owned(),
                source,
            });
        }
        Ok(Ok(output)) => output,
    };
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(DetectError::Failed {
            program: program.to_owned(),
            status: output.status,
            output: format!("{stdout} {}", stderr.trim()).trim().to_owned(),
        });
    }
    let version = parse_version(&stdout);
    if let Some((major, minor, _)) = version.number
        && (major, minor) < MIN_VERSION
    {
        return Err(DetectError::TooOld { text: version.text });
    }
    Ok(version)
}

/// Reads `nix (Nix) 2.8.0`, `nix (Determinate Nix 3.6.2) 2.29.0` and the like: the version
/// is the last word that starts with a digit.
pub fn parse_version(text: &str) -> NixVersion {
    let first_line = text.lines().next().unwrap_or("").trim().to_owned();
    let number = first_line
        .split_whitespace()
        .rev()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|word| {
            let mut parts = word.split(['.', '-', '+', 'p', 'r']).map(|part| {
                part.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u32>()
                    .ok()
            });
            let major = parts.next()??;
            let minor = parts.next().flatten().unwrap_or(0);
            let patch = parts.next().flatten().unwrap_or(0);
            Some((major, minor, patch))
        });
    NixVersion {
        text: first_line,
        number,
    }
}

/// The Nix system for the platform a Docker engine reports (`docker info`'s `OSType` and
/// `Architecture`), so images are built for the engine that runs them.
pub fn system_for_engine(os_type: &str, architecture: &str) -> Result<String, String> {
    if !os_type.eq_ignore_ascii_case("linux") {
        return Err(format!(
            "the Docker engine runs `{os_type}` containers; Nix builds Linux images, so switch the engine to Linux containers"
        ));
    }
    let cpu = match architecture.to_ascii_lowercase().as_str() {
        "x86_64" | "amd64" | "x86-64" => "x86_64",
        "aarch64" | "arm64" | "armv8" | "armv8l" => "aarch64",
        "armv7l" | "armv7" | "armhf" => "armv7l",
        "armv6l" | "armv6" => "armv6l",
        "i386" | "i686" | "386" | "x86" => "i686",
        "riscv64" => "riscv64",
        "ppc64le" | "powerpc64le" => "powerpc64le",
        "s390x" => "s390x",
        "" => return Err("the Docker engine did not report its architecture".to_owned()),
        other => {
            return Err(format!(
                "the Docker engine's architecture `{other}` has no known Nix system"
            ));
        }
    };
    Ok(format!("{cpu}-linux"))
}

// ---------------------------------------------------------------------------------------
// internal-json events

/// The kind of a Nix activity (`ActivityType` in Nix's `logging.hh`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    Unknown,
    CopyPath,
    FileTransfer,
    Realise,
    CopyPaths,
    Builds,
    /// Building one derivation.
    Build,
    OptimiseStore,
    VerifyPaths,
    Substitute,
    QueryPathInfo,
    PostBuildHook,
    BuildWaiting,
    /// A type this version of starflake does not know.
    Other(u64),
}

impl Activity {
    fn from_code(code: u64) -> Activity {
        match code {
            0 => Activity::Unknown,
            100 => Activity::CopyPath,
            101 => Activity::FileTransfer,
            102 => Activity::Realise,
            103 => Activity::CopyPaths,
            104 => Activity::Builds,
            105 => Activity::Build,
            106 => Activity::OptimiseStore,
            107 => Activity::VerifyPaths,
            108 => Activity::Substitute,
            109 => Activity::QueryPathInfo,
            110 => Activity::PostBuildHook,
            111 => Activity::BuildWaiting,
            other => Activity::Other(other),
        }
    }
}

/// One line of `nix --log-format internal-json` stderr.
#[derive(Clone, Debug, PartialEq)]
pub enum NixEvent {
    /// An activity began. For [`Activity::Build`], `drv` is the derivation being built.
    Start {
        id: u64,
        parent: u64,
        activity: Activity,
        level: u64,
        text: String,
        drv: Option<String>,
    },
    Stop {
        id: u64,
    },
    /// A line a builder printed (also a post-build-hook line).
    BuildLog {
        id: u64,
        line: String,
    },
    /// A builder entered a phase (`stdenv`'s `setPhase`).
    Phase {
        id: u64,
        phase: String,
    },
    /// Counts of an activity's sub-activities.
    Progress {
        id: u64,
        done: u64,
        expected: u64,
        running: u64,
        failed: u64,
    },
    /// A message: level 0 is an error, 1 a warning, 2 a notice, 3 info, more is chattier.
    Message {
        level: u64,
        text: String,
    },
    /// A well-formed event that starflake has no use for (other result types, new actions).
    Other(Value),
    /// A stderr line that is not `@nix {json}` (e.g. from a wrapper, or Nix before logging
    /// starts).
    Plain(String),
}

impl NixEvent {
    /// Reads one stderr line (without its newline). Never fails: anything unreadable is
    /// [`NixEvent::Plain`].
    pub fn parse(line: &str) -> NixEvent {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(json) = line.strip_prefix("@nix ") else {
            return NixEvent::Plain(strip_ansi(line));
        };
        let Ok(value) = serde_json::from_str::<Value>(json) else {
            return NixEvent::Plain(strip_ansi(line));
        };
        let number = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(strip_ansi)
                .unwrap_or_default()
        };
        let fields = value
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let field_str = |index: usize| fields.get(index).and_then(Value::as_str).map(strip_ansi);
        let field_u64 = |index: usize| fields.get(index).and_then(Value::as_u64).unwrap_or(0);
        match value.get("action").and_then(Value::as_str) {
            Some("start") => {
                let activity = Activity::from_code(number("type"));
                let drv = match activity {
                    Activity::Build => field_str(0).filter(|drv| !drv.is_empty()),
                    _ => None,
                };
                NixEvent::Start {
                    id: number("id"),
                    parent: number("parent"),
                    activity,
                    level: number("level"),
                    text: text("text"),
                    drv,
                }
            }
            Some("stop") => NixEvent::Stop { id: number("id") },
            Some("result") => match number("type") {
                // BuildLogLine, PostBuildLogLine
                101 | 107 => NixEvent::BuildLog {
                    id: number("id"),
                    line: field_str(0).unwrap_or_default(),
                },
                // SetPhase
                104 => NixEvent::Phase {
                    id: number("id"),
                    phase: field_str(0).unwrap_or_default(),
                },
                // Progress
                105 => NixEvent::Progress {
                    id: number("id"),
                    done: field_u64(0),
                    expected: field_u64(1),
                    running: field_u64(2),
                    failed: field_u64(3),
                },
                _ => NixEvent::Other(value),
            },
            Some("msg") => NixEvent::Message {
                level: number("level"),
                text: text("msg"),
            },
            _ => NixEvent::Other(value),
        }
    }
}

/// Removes terminal escape sequences (Nix colours its messages even in JSON).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: ESC [ parameters final-byte
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: ESC ] ... BEL or ESC \
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' {
                        chars.next();
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

/// What a `nix build` run tells while it runs, in order: everything [`NixBuildRun`] keeps
/// for an error report.
#[derive(Debug, Default)]
pub struct BuildLog {
    tail: VecDeque<String>,
    capacity: usize,
    /// Error messages (level 0), in order.
    pub errors: Vec<String>,
    /// Derivations whose build started, by activity id.
    builds: HashMap<u64, String>,
    /// Derivations in the order their builds started.
    pub started: Vec<String>,
}

impl BuildLog {
    pub fn new(capacity: usize) -> Self {
        BuildLog {
            capacity: capacity.max(1),
            ..BuildLog::default()
        }
    }

    /// Takes in one event; returns the log line it adds, if any (`drv-name> line` for a
    /// builder's line).
    pub fn record(&mut self, event: &NixEvent) -> Option<String> {
        let line = match event {
            NixEvent::Start {
                id,
                drv: Some(drv),
                activity: Activity::Build,
                ..
            } => {
                self.builds.insert(*id, drv.clone());
                self.started.push(drv.clone());
                return None;
            }
            NixEvent::BuildLog { id, line } => match self.builds.get(id) {
                Some(drv) => format!("{}> {line}", drv_name(drv)),
                None => line.clone(),
            },
            NixEvent::Message { level, text } if *level == 0 => {
                self.errors.push(text.clone());
                return None;
            }
            // warnings and notices (e.g. "Git tree is dirty") belong in the log too
            NixEvent::Message { level, text } if *level <= 2 => text.clone(),
            NixEvent::Plain(line) if !line.trim().is_empty() => line.clone(),
            _ => return None,
        };
        if self.tail.len() == self.capacity {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        Some(line)
    }

    /// The last lines, oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// The derivation whose builder failed: the one an error names in `builder for '…'
    /// failed`, else any derivation an error names, else the only one that was built.
    pub fn failing_drv(&self) -> Option<String> {
        let named = |pattern: &str| {
            self.errors.iter().find_map(|error| {
                let start = error.find(pattern)? + pattern.len();
                let rest = &error[start..];
                let end = rest.find(['\'', '`', '"', ' '])?;
                let path = &rest[..end];
                path.ends_with(".drv").then(|| path.to_owned())
            })
        };
        named("builder for '")
            .or_else(|| named("'/nix/store/").map(|path| format!("/nix/store/{path}")))
            .or_else(|| match self.started.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            })
    }
}

/// `/nix/store/<hash>-name.drv` → `name`.
pub fn drv_name(drv: &str) -> &str {
    let base = drv.rsplit('/').next().unwrap_or(drv);
    let base = base.strip_suffix(".drv").unwrap_or(base);
    match base.split_once('-') {
        Some((hash, name)) if hash.len() == 32 => name,
        _ => base,
    }
}

// ---------------------------------------------------------------------------------------
// running `nix build`

/// One result of `nix build --json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub drv_path: Option<String>,
    /// Output name → store path.
    pub outputs: BTreeMap<String, String>,
}

impl Built {
    /// The output to load: `out`, else the only (first) one.
    pub fn main_output(&self) -> Option<&str> {
        self.outputs
            .get("out")
            .or_else(|| self.outputs.values().next())
            .map(String::as_str)
    }
}

/// Reads `nix build --json` stdout (`[{"drvPath": …, "outputs": {"out": …}}]`). Unknown
/// fields are ignored; an entry without `outputs` but with `path` (a store path
/// installable) counts as output `out`.
pub fn parse_build_json(stdout: &str) -> Result<Vec<Built>, String> {
    let value: Value = serde_json::from_str(stdout.trim()).map_err(|error| {
        format!(
            "`nix build --json` printed something that is not JSON ({error}): {}",
            excerpt(stdout)
        )
    })?;
    let entries = value
        .as_array()
        .ok_or_else(|| format!("`nix build --json` printed no list: {}", excerpt(stdout)))?;
    let mut built = Vec::new();
    for entry in entries {
        let mut outputs = BTreeMap::new();
        if let Some(map) = entry.get("outputs").and_then(Value::as_object) {
            for (name, path) in map {
                if let Some(path) = path.as_str() {
                    outputs.insert(name.clone(), path.to_owned());
                }
            }
        }
        if outputs.is_empty()
            && let Some(path) = entry.get("path").and_then(Value::as_str)
        {
            outputs.insert("out".to_owned(), path.to_owned());
        }
        built.push(Built {
            drv_path: entry
                .get("drvPath")
                .and_then(Value::as_str)
                .map(str::to_owned),
            outputs,
        });
    }
    Ok(built)
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "(nothing)".to_owned();
    }
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("`{cut}`")
}

/// Why a `nix build` gave no output path.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the plan has an empty command")]
    EmptyCommand,
    #[error(
        "`{program}` is not on PATH; install Nix (in a starflake checkout: scripts/setup-native.sh)"
    )]
    Missing { program: String },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("reading the output of `nix build` failed: {0}")]
    Io(std::io::Error),
    /// Nix exited with an error; the report is in [`NixFailure`].
    #[error("{0}")]
    Failed(NixFailure),
    #[error("{0}")]
    BadOutput(String),
    #[error("interrupted")]
    Interrupted,
}

/// A failed `nix build`: what to show the user.
#[derive(Debug)]
pub struct NixFailure {
    pub status: ExitStatus,
    /// Nix's error messages, without colours.
    pub errors: Vec<String>,
    /// The derivation whose builder failed, when known.
    pub drv: Option<String>,
    /// The last lines of the build log.
    pub log_tail: Vec<String>,
}

impl std::fmt::Display for NixFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errors.last() {
            Some(last) => write!(
                f,
                "nix build failed ({}): {}",
                self.status,
                first_line(last)
            ),
            None => write!(f, "nix build failed ({})", self.status),
        }
    }
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("")
}

/// Runs one `nix build` command line in `cwd`, feeding every stderr event to `on_event`.
/// On `cancel`, Nix gets SIGINT (it stops its builders), then SIGKILL after a grace period;
/// dropping the future kills it too.
pub async fn run_build(
    command: &[String],
    cwd: &Path,
    tail_lines: usize,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(&NixEvent, Option<&str>),
) -> Result<Built, BuildError> {
    let (program, args) = command.split_first().ok_or(BuildError::EmptyCommand)?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                BuildError::Missing {
                    program: program.clone(),
                }
            } else {
                BuildError::Spawn {
                    program: program.clone(),
                    source,
                }
            }
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut log = BuildLog::new(tail_lines);

    let read_stdout = async {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).await.map(|_| bytes)
    };
    let read_stderr = async {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let event = NixEvent::parse(text.trim_end_matches('\n'));
                    let added = log.record(&event);
                    on_event(&event, added.as_deref());
                }
                Err(error) => return Err(error),
            }
        }
    };
    let finished = async {
        let (stdout, stderr) = tokio::join!(read_stdout, read_stderr);
        let status = child.wait().await;
        (stdout, stderr, status)
    };
    let mut finished = Box::pin(finished);
    let outcome = tokio::select! {
        result = &mut finished => Some(result),
        () = cancel.cancelled() => None,
    };
    drop(finished);
    let Some((stdout, stderr, status)) = outcome else {
        interrupt_child(&mut child).await;
        return Err(BuildError::Interrupted);
    };
    let status = status.map_err(BuildError::Io)?;
    let stdout = stdout.map_err(BuildError::Io)?;
    stderr.map_err(BuildError::Io)?;
    if !status.success() {
        return Err(BuildError::Failed(NixFailure {
            status,
            drv: log.failing_drv(),
            errors: log.errors.clone(),
            log_tail: log.tail(),
        }));
    }
    let stdout = String::from_utf8_lossy(&stdout);
    let mut built = parse_build_json(&stdout).map_err(BuildError::BadOutput)?;
    match built.len() {
        1 => {}
        0 => {
            return Err(BuildError::BadOutput(
                "`nix build --json` listed no result".to_owned(),
            ));
        }
        n => {
            return Err(BuildError::BadOutput(format!(
                "`nix build --json` listed {n} results for one installable"
            )));
        }
    }
    let built = built.remove(0);
    if built.main_output().is_none() {
        return Err(BuildError::BadOutput(
            "`nix build --json` listed no output path".to_owned(),
        ));
    }
    Ok(built)
}

/// Stops a child gracefully: SIGINT, then SIGKILL after [`STOP_GRACE`].
pub async fn interrupt_child(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a pid we own (the child has not been reaped: `id()` is Some).
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGINT);
        }
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path_without_running_them() {
        assert!(on_path("sh"));
        assert!(on_path("/bin/sh"));
        assert!(!on_path("starflake-no-such-program"));
        assert!(!on_path("/nonexistent/nix"));
        // a folder is not a program
        assert!(!on_path("/bin"));
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("nix (Nix) 2.8.0\n").number, Some((2, 8, 0)));
        assert_eq!(
            parse_version("nix (Determinate Nix 3.6.2) 2.29.0").number,
            Some((2, 29, 0))
        );
        assert_eq!(
            parse_version("nix (Nix) 2.25.0pre20241101_dirty").number,
            Some((2, 25, 0))
        );
        assert_eq!(parse_version("nix (Nix) 3").number, Some((3, 0, 0)));
        assert_eq!(parse_version("something else").number, None);
    }

    #[test]
    fn engine_systems() {
        assert_eq!(
            system_for_engine("linux", "x86_64").unwrap(),
            "x86_64-linux"
        );
        assert_eq!(
            system_for_engine("linux", "aarch64").unwrap(),
            "aarch64-linux"
        );
        assert_eq!(
            system_for_engine("linux", "arm64").unwrap(),
            "aarch64-linux"
        );
        assert!(
            system_for_engine("windows", "x86_64")
                .unwrap_err()
                .contains("Linux")
        );
        assert!(system_for_engine("linux", "mips").is_err());
    }

    #[test]
    fn events() {
        let start = NixEvent::parse(
            r#"@nix {"action":"start","fields":["/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv","",1,1],"id":7,"level":3,"parent":0,"text":"building '/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv'","type":105}"#,
        );
        assert_eq!(
            start,
            NixEvent::Start {
                id: 7,
                parent: 0,
                activity: Activity::Build,
                level: 3,
                text: "building '/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv'"
                    .to_owned(),
                drv: Some("/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv".to_owned()),
            }
        );
        assert_eq!(
            NixEvent::parse(r#"@nix {"action":"result","fields":["line one"],"id":7,"type":101}"#),
            NixEvent::BuildLog {
                id: 7,
                line: "line one".to_owned()
            }
        );
        assert_eq!(
            NixEvent::parse(r#"@nix {"action":"result","fields":[0,1,1,0],"id":3,"type":105}"#),
            NixEvent::Progress {
                id: 3,
                done: 0,
                expected: 1,
                running: 1,
                failed: 0
            }
        );
        assert_eq!(
            NixEvent::parse(r#"@nix {"action":"stop","id":7}"#),
            NixEvent::Stop { id: 7 }
        );
        let message = NixEvent::parse(
            "@nix {\"action\":\"msg\",\"column\":null,\"file\":null,\"level\":0,\"line\":null,\"msg\":\"\\u001b[31;1merror:\\u001b[0m builder for '\\u001b[35;1m/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv\\u001b[0m' failed with exit code 3\"}",
        );
        assert_eq!(
            message,
            NixEvent::Message {
                level: 0,
                text: "error: builder for '/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv' failed with exit code 3".to_owned()
            }
        );
        // unknown types, unknown actions, extra fields, broken JSON and plain lines
        assert!(matches!(
            NixEvent::parse(r#"@nix {"action":"result","fields":[101,0],"id":1,"type":106}"#),
            NixEvent::Other(_)
        ));
        assert!(matches!(
            NixEvent::parse(r#"@nix {"action":"teleport","new":true}"#),
            NixEvent::Other(_)
        ));
        assert!(matches!(
            NixEvent::parse(r#"@nix {"action":"start","id":1,"type":999,"extra":[1]}"#),
            NixEvent::Start {
                activity: Activity::Other(999),
                ..
            }
        ));
        assert_eq!(
            NixEvent::parse("@nix {not json"),
            NixEvent::Plain("@nix {not json".to_owned())
        );
        assert_eq!(
            NixEvent::parse("warning: \u{1b}[1mGit tree is dirty\u{1b}[0m"),
            NixEvent::Plain("warning: Git tree is dirty".to_owned())
        );
    }

    #[test]
    fn log_keeps_the_tail_and_finds_the_failing_drv() {
        let mut log = BuildLog::new(2);
        let drv = "/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv";
        log.record(&NixEvent::Start {
            id: 1,
            parent: 0,
            activity: Activity::Build,
            level: 3,
            text: String::new(),
            drv: Some(drv.to_owned()),
        });
        for line in ["a", "b", "c"] {
            log.record(&NixEvent::BuildLog {
                id: 1,
                line: line.to_owned(),
            });
        }
        assert_eq!(log.tail(), ["broken> b", "broken> c"]);
        assert_eq!(log.failing_drv().as_deref(), Some(drv));
        log.record(&NixEvent::Message {
            level: 0,
            text: "error: builder for '/nix/store/00000000000000000000000000000000-dep.drv' failed with exit code 1".to_owned(),
        });
        assert_eq!(
            log.failing_drv().as_deref(),
            Some("/nix/store/00000000000000000000000000000000-dep.drv")
        );
    }

    #[test]
    fn build_json() {
        let built = parse_build_json(
            r#"[{"drvPath":"/nix/store/x-a.drv","outputs":{"out":"/nix/store/y-a.tar"},"startTime":0}]"#,
        )
        .unwrap();
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].main_output(), Some("/nix/store/y-a.tar"));
        assert_eq!(built[0].drv_path.as_deref(), Some("/nix/store/x-a.drv"));
        let multi =
            parse_build_json(r#"[{"drvPath":"d","outputs":{"bin":"/b","dev":"/d"}}]"#).unwrap();
        assert_eq!(multi[0].main_output(), Some("/b"));
        let path = parse_build_json(r#"[{"path":"/nix/store/z-src"}]"#).unwrap();
        assert_eq!(path[0].main_output(), Some("/nix/store/z-src"));
        assert!(parse_build_json("building…").is_err());
        assert!(parse_build_json("{}").is_err());
    }

    #[test]
    fn drv_names() {
        assert_eq!(
            drv_name("/nix/store/vzqj05161rw6n9hkzz6jy0i2r0xfnfw2-broken.drv"),
            "broken"
        );
        assert_eq!(drv_name("odd"), "odd");
    }

    #[test]
    fn ansi() {
        assert_eq!(strip_ansi("\u{1b}[31;1merror:\u{1b}[0m x"), "error: x");
        assert_eq!(strip_ansi("\u{1b}]8;;http://x\u{7}link"), "link");
        assert_eq!(strip_ansi("plain"), "plain");
    }
}

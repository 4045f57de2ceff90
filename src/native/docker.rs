//! The Docker side of `starflake build`: connecting like the docker CLI does, recognising
//! what a Nix build produced, streaming it into `POST /images/load`, tagging the result as
//! the package's `image_name`, and remembering which store path became which image.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ImportImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio_util::bytes::Bytes;
use tokio_util::io::ReaderStream;

use super::docker_host::{Endpoint, remote_machine};

/// Bytes per read when streaming an image (bollard's default 4 KiB frames are ~2× slower).
pub const CHUNK: usize = 128 * 1024;
/// How long connecting and the first requests may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The timeout of the client that loads images: bollard's timer spans the whole upload, and
/// Docker answers only once the archive is unpacked.
const LOAD_TIMEOUT: Duration = Duration::from_secs(6 * 60 * 60);
/// Lines of a stream script's stderr kept for an error report.
const SCRIPT_TAIL: usize = 20;

/// The Docker engine starflake loads images into.
#[derive(Clone)]
pub struct Engine {
    client: Docker,
    loader: Docker,
    /// The address, as the user would write it in `DOCKER_HOST`.
    pub host: String,
    /// The engine's ID (`docker info`), which keys the load cache.
    pub engine_id: String,
    pub server_version: String,
    pub os_type: String,
    pub architecture: String,
    /// The machine the engine runs on when it is not this one (see [`remote_machine`]).
    pub remote: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "DOCKER_HOST is `{host}`, which starflake cannot use: {reason}\n  \
         give `unix:///path/to/docker.sock`, `tcp://host:port` or `http://host:port`"
    )]
    BadHost { host: String, reason: String },
    #[error("{0}")]
    Context(String),
    #[error(
        "cannot reach the Docker engine at {host}: {reason}\n  \
         `starflake build`, `run` and `enclave` need it: start dockerd (in a starflake checkout, \
         `scripts/setup-native.sh` starts it), or point DOCKER_HOST at a running engine; \
         `starflake build --dry-run` only prints the commands"
    )]
    Unreachable { host: String, reason: String },
}

/// Finding out whether an image exists.
#[derive(Debug, thiserror::Error)]
#[error("cannot inspect image `{reference}` in Docker: {reason}")]
pub struct InspectError {
    pub reference: String,
    pub reason: String,
}

/// Tagging the loaded image as `image_name`.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("`{name}` is not an image name Docker can tag: {reason}")]
    BadName { name: String, reason: String },
    #[error(
        "`{name}` names a digest; a loaded image can only be given a tag, e.g. `{repository}:latest`"
    )]
    Digest { name: String, repository: String },
    #[error("tagging image {id} as `{reference}` failed: {reason}")]
    Docker {
        id: String,
        reference: String,
        reason: String,
    },
}

/// What a Nix build produced, judged by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// An uncompressed docker-archive (`ustar` at byte 257).
    Tar,
    /// `1f 8b`: Docker decompresses it.
    Gzip,
    /// `28 b5 2f fd`: Docker 20.10 and newer decompress it.
    Zstd,
    /// `fd 37 7a 58 5a 00`.
    Xz,
    /// `BZh`.
    Bzip2,
    /// `#!`: a program that writes the archive to stdout (nixpkgs' `streamLayeredImage`).
    Script,
}

impl OutputKind {
    pub fn describe(self) -> &'static str {
        match self {
            OutputKind::Tar => "tar",
            OutputKind::Gzip => "tar.gz",
            OutputKind::Zstd => "tar.zst",
            OutputKind::Xz => "tar.xz",
            OutputKind::Bzip2 => "tar.bz2",
            OutputKind::Script => "stream script",
        }
    }

    /// Recognises the first bytes of an output (at least 262 for a tar).
    pub fn sniff_bytes(head: &[u8]) -> Option<OutputKind> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(OutputKind::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(OutputKind::Zstd)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(OutputKind::Xz)
        } else if head.starts_with(b"BZh") {
            Some(OutputKind::Bzip2)
        } else if head.starts_with(b"#!") {
            Some(OutputKind::Script)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(OutputKind::Tar)
        } else {
            None
        }
    }
}

/// A build output that is not something Docker can load.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the build output {path} does not exist")]
    Missing { path: String },
    #[error("cannot read the build output {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("the build output {path} is a directory ({}), not an image: {hint}", list(.entries))]
    Directory {
        path: String,
        entries: Vec<String>,
        hint: &'static str,
    },
    #[error("the build output {path} is {what}, not an image: {hint}")]
    NotAnImage {
        path: String,
        what: String,
        hint: &'static str,
    },
    #[error(
        "the build output {path} starts with `#!` but is not executable, so it cannot be run to stream the image"
    )]
    NotExecutable { path: String },
}

const IMAGE_HINT: &str = "`starflake build` loads docker-archive tarballs (plain, gzip, zstd or xz; \
    e.g. dockerTools.buildImage, buildLayeredImage) and scripts that stream one \
    (dockerTools.streamLayeredImage); point `flake_output` at such an output";

fn list(entries: &[String]) -> String {
    if entries.is_empty() {
        return "empty".to_owned();
    }
    let mut shown: Vec<&str> = entries.iter().take(6).map(String::as_str).collect();
    if entries.len() > shown.len() {
        shown.push("…");
    }
    format!("holding {}", shown.join(", "))
}

/// Looks at a build output: what kind of image it is, and its size in bytes.
pub fn sniff(path: &Path) -> Result<(OutputKind, u64), OutputError> {
    let shown = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(OutputError::Missing { path: shown });
        }
        Err(source) => {
            return Err(OutputError::Unreadable {
                path: shown,
                source,
            });
        }
    };
    if metadata.is_dir() {
        let mut entries: Vec<String> = std::fs::read_dir(path)
            .map_err(|source| OutputError::Unreadable {
                path: shown.clone(),
                source,
            })?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        let oci = entries.iter().any(|name| name == "oci-layout");
        return Err(OutputError::Directory {
            path: shown,
            entries,
            hint: if oci {
                "an OCI image layout, which `docker load` reads only from Docker 25 on, and only as a tar; \
                 build a docker-archive instead (dockerTools.buildImage or streamLayeredImage)"
            } else {
                "probably a package rather than a container image; wrap it with \
                 dockerTools.buildLayeredImage or streamLayeredImage and point `flake_output` at that"
            },
        });
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|file| file.take(512).read_to_end(&mut head))
        .map_err(|source| OutputError::Unreadable {
            path: shown.clone(),
            source,
        })?;
    match OutputKind::sniff_bytes(&head) {
        Some(OutputKind::Script) => {
            use std::os::unix::fs::PermissionsExt;
            if metadata.permissions().mode() & 0o111 == 0 {
                return Err(OutputError::NotExecutable { path: shown });
            }
            Ok((OutputKind::Script, metadata.len()))
        }
        Some(kind) => Ok((kind, metadata.len())),
        None => Err(OutputError::NotAnImage {
            path: shown,
            what: describe_unknown(&head),
            hint: IMAGE_HINT,
        }),
    }
}

/// Names what a file that is no image seems to be.
fn describe_unknown(head: &[u8]) -> String {
    if head.is_empty() {
        return "an empty file".to_owned();
    }
    if head.starts_with(b"\x7fELF") {
        return "a compiled program (ELF)".to_owned();
    }
    if head.starts_with(b"PK\x03\x04") {
        return "a zip archive".to_owned();
    }
    // A tar whose first entry is not ustar (a v7 tar), or a truncated one.
    if head.len() < 262 && head.len() >= 100 && head[99] == 0 {
        return "a file too short to be a tar archive".to_owned();
    }
    let text = String::from_utf8_lossy(head);
    let printable = text
        .chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t');
    if printable {
        let first = text.lines().next().unwrap_or("").trim();
        let first: String = first.chars().take(60).collect();
        if text.trim_start().starts_with('{') {
            return format!(
                "a JSON file (`{first}`; nix2container's image description needs its own copy tool)"
            );
        }
        return format!("a text file starting with `{first}`");
    }
    let bytes: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!(
        "binary data of an unknown kind (first bytes {})",
        bytes.join(" ")
    )
}

/// Loading an image into Docker.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot run the stream script {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("Docker could not load the {kind} {path}: {message}{}", hint_text(.hint))]
    Daemon {
        path: String,
        kind: &'static str,
        message: String,
        hint: Option<String>,
    },
    #[error("sending the image to Docker failed: {reason}")]
    Transport { reason: String },
    #[error(
        "the stream script {path} failed ({status}){}{}",
        stderr_text(.stderr),
        docker_text(.docker)
    )]
    Script {
        path: String,
        status: ExitStatus,
        stderr: Vec<String>,
        docker: Option<String>,
    },
    #[error(
        "the stream script {path} wrote {what} on its stdout, not a docker-archive{}",
        stderr_text(.stderr)
    )]
    NotAnArchive {
        path: String,
        what: String,
        stderr: Vec<String>,
    },
    #[error("Docker loaded {path} but named no image in its answer")]
    NoImage { path: String },
    #[error(
        "{path} holds {count} images ({}); an image source must hold exactly one",
        .references.join(", ")
    )]
    SeveralImages {
        path: String,
        count: usize,
        references: Vec<String>,
    },
    #[error("{0}")]
    Inspect(#[from] InspectError),
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|hint| format!("\n  {hint}"))
        .unwrap_or_default()
}

fn stderr_text(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("; its last lines of stderr:");
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

fn docker_text(docker: &Option<String>) -> String {
    docker
        .as_ref()
        .map(|message| format!("\n  Docker then reported: {message}"))
        .unwrap_or_default()
}

/// An image Docker loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// `sha256:<hex>`.
    pub id: String,
    /// The tags the archive carried (`Loaded image: …`).
    pub references: Vec<String>,
    /// Images whose tag moved to the loaded one (`renaming the old one with ID …`).
    pub replaced: Vec<String>,
}

/// How far the upload of an image to Docker got: the bytes sent, and whether the whole
/// archive was handed over (the file or the script's stdout reached its end).
#[derive(Debug, Default)]
pub struct Upload {
    sent: AtomicU64,
    complete: AtomicBool,
}

impl Upload {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Whether Docker got the whole archive: it then loads the image even when starflake
    /// stops listening, so an interrupted load must still wait for it and tag it.
    pub fn complete(&self) -> bool {
        self.complete.load(Ordering::Relaxed)
    }
}

/// The message of an error and its sources, joined.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn connection_reason(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::SocketNotFoundError(path) => {
            format!("the socket {path} does not exist (is dockerd running?)")
        }
        bollard::errors::Error::RequestTimeoutError => "the engine did not answer".to_owned(),
        // Docker knows `/version` and `/info`: whatever says 404 for them is something else.
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => format!(
            "a server answers there, but not as a Docker engine (HTTP 404{}); is this the Docker daemon's address and port?",
            if message.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", message.trim())
            }
        ),
        other => {
            let chain = error_chain(other);
            if chain.contains("Connection refused") {
                format!("connection refused ({chain})")
            } else if chain.contains("Permission denied") {
                format!(
                    "permission denied ({chain}); add your user to the `docker` group or run as root"
                )
            } else {
                chain
            }
        }
    }
}

impl Engine {
    /// Connects like the docker CLI (see [`Endpoint::from_environment`]); checks that the
    /// engine answers and reads its platform.
    pub async fn connect() -> Result<Engine, ConnectError> {
        let endpoint = Endpoint::from_environment().map_err(ConnectError::Context)?;
        let host = endpoint.host.clone();
        let shown = endpoint.describe();
        let client = endpoint.client().map_err(|error| match error {
            bollard::errors::Error::UnsupportedURISchemeError { .. } => ConnectError::BadHost {
                host: host.clone(),
                reason: "the scheme is not supported".to_owned(),
            },
            bollard::errors::Error::SocketNotFoundError(_) => ConnectError::Unreachable {
                host: shown.clone(),
                reason: connection_reason(&error),
            },
            other => ConnectError::BadHost {
                host: host.clone(),
                reason: error_chain(&other),
            },
        })?;
        let unreachable = |reason: String| ConnectError::Unreachable {
            host: shown.clone(),
            reason,
        };
        let timed =
            |what: &str| format!("no answer to {what} within {} s", CONNECT_TIMEOUT.as_secs());
        let client = tokio::time::timeout(CONNECT_TIMEOUT, client.negotiate_version())
            .await
            .map_err(|_| unreachable(timed("GET /version")))?
            .map_err(|error| unreachable(connection_reason(&error)))?;
        let info = tokio::time::timeout(CONNECT_TIMEOUT, client.info())
            .await
            .map_err(|_| unreachable(timed("GET /info")))?
            .map_err(|error| unreachable(connection_reason(&error)))?;
        let loader = client.clone().with_timeout(LOAD_TIMEOUT);
        Ok(Engine {
            client,
            loader,
            remote: remote_machine(&host),
            host,
            engine_id: info.id.unwrap_or_default(),
            server_version: info.server_version.unwrap_or_default(),
            os_type: info.os_type.unwrap_or_default(),
            architecture: info.architecture.unwrap_or_default(),
        })
    }

    /// The Docker API client (for `starflake run`).
    pub(crate) fn client(&self) -> &Docker {
        &self.client
    }

    /// The key of this engine in the load cache.
    pub fn cache_key(&self) -> String {
        if self.engine_id.is_empty() {
            self.host.clone()
        } else {
            self.engine_id.clone()
        }
    }

    /// Whether the engine has stopped answering: after a failure, this tells "the engine went
    /// away" from "the engine refused this request".
    pub async fn gone(&self) -> bool {
        !matches!(
            tokio::time::timeout(Duration::from_secs(5), self.client.ping()).await,
            Ok(Ok(_))
        )
    }

    /// What to say when the engine went away in the middle of `doing`.
    pub fn gone_message(&self, doing: &str) -> String {
        format!(
            "the Docker engine at {} stopped answering {doing}; is dockerd still running?",
            self.host
        )
    }

    /// The Nix system of the engine's platform.
    pub fn system(&self) -> Result<String, String> {
        super::nix::system_for_engine(&self.os_type, &self.architecture)
    }

    /// The ID of the image `reference` (a name, `name:tag` or ID); `None` when there is none.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, InspectError> {
        Ok(self.inspect(reference).await?.map(|(id, _)| id))
    }

    /// ID and tags of an image; `None` when there is none.
    async fn inspect(
        &self,
        reference: &str,
    ) -> Result<Option<(String, Vec<String>)>, InspectError> {
        match self.client.inspect_image(reference).await {
            Ok(image) => Ok(Some((
                image.id.unwrap_or_default(),
                image.repo_tags.unwrap_or_default(),
            ))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(error) => Err(InspectError {
                reference: reference.to_owned(),
                reason: error_chain(&error),
            }),
        }
    }

    /// Streams a build output into Docker: the file itself, or what the stream script writes
    /// to stdout. Never holds more than a few chunks in memory. `upload` follows the bytes.
    pub async fn load(
        &self,
        path: &Path,
        kind: OutputKind,
        upload: Arc<Upload>,
    ) -> Result<Loaded, LoadError> {
        let shown = path.display().to_string();
        if kind == OutputKind::Script {
            return self.load_from_script(path, upload).await;
        }
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| LoadError::Open {
                path: shown.clone(),
                source,
            })?;
        let body = counted(ReaderStream::with_capacity(file, CHUNK), upload);
        match self.load_stream(body).await {
            Ok(outcome) => self.resolve(&shown, outcome).await,
            Err(StreamFailure::Daemon(message)) => Err(LoadError::Daemon {
                hint: daemon_hint(kind, &message, &self.server_version),
                path: shown,
                kind: kind.describe(),
                message,
            }),
            Err(StreamFailure::Transport(reason)) => Err(LoadError::Transport { reason }),
        }
    }

    async fn load_from_script(
        &self,
        path: &Path,
        upload: Arc<Upload>,
    ) -> Result<Loaded, LoadError> {
        let shown = path.display().to_string();
        let mut child = Command::new(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LoadError::Spawn {
                path: shown.clone(),
                source,
            })?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut tail = std::collections::VecDeque::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if tail.len() == SCRIPT_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            Vec::from(tail)
        });
        // Docker reads a body it cannot unpack to its end before it answers, so a script that
        // writes endless garbage would never get an answer: look at its first bytes first.
        let mut head = Vec::with_capacity(512);
        (&mut stdout)
            .take(512)
            .read_to_end(&mut head)
            .await
            .map_err(|source| LoadError::Spawn {
                path: shown.clone(),
                source,
            })?;
        if !matches!(OutputKind::sniff_bytes(&head), Some(kind) if kind != OutputKind::Script) {
            if !head.is_empty() {
                let _ = child.start_kill();
            }
            let status = child.wait().await.map_err(|source| LoadError::Spawn {
                path: shown.clone(),
                source,
            })?;
            let stderr = stderr_tail.await.unwrap_or_default();
            if head.is_empty() && !status.success() {
                return Err(LoadError::Script {
                    path: shown,
                    status,
                    stderr,
                    docker: None,
                });
            }
            return Err(LoadError::NotAnArchive {
                path: shown,
                what: if head.is_empty() {
                    "nothing".to_owned()
                } else {
                    describe_unknown(&head)
                },
                stderr,
            });
        }
        let head = futures_util::stream::once(std::future::ready(Ok(Bytes::from(head))));
        let body = counted(
            head.chain(ReaderStream::with_capacity(stdout, CHUNK)),
            upload,
        );
        let outcome = self.load_stream(body).await;
        match outcome {
            Ok(outcome) => {
                let status = child.wait().await.map_err(|source| LoadError::Spawn {
                    path: shown.clone(),
                    source,
                })?;
                if !status.success() {
                    // Docker loaded what the script wrote before it failed: leave no
                    // untagged image behind.
                    for id in self.loaded_ids(&outcome).await.unwrap_or_default() {
                        self.remove_if_dangling(&id).await;
                    }
                    return Err(LoadError::Script {
                        path: shown,
                        status,
                        stderr: stderr_tail.await.unwrap_or_default(),
                        docker: None,
                    });
                }
                self.resolve(&shown, outcome).await
            }
            Err(failure) => {
                // Did the script fail on its own, so that Docker saw a truncated archive? Or did
                // Docker give up first, so that the script dies of SIGPIPE? Report the cause.
                let exited = tokio::time::timeout(Duration::from_millis(500), child.wait()).await;
                let failure_text = match &failure {
                    StreamFailure::Daemon(message) | StreamFailure::Transport(message) => {
                        message.clone()
                    }
                };
                if let Ok(Ok(status)) = exited
                    && !status.success()
                    && !killed_by_sigpipe(status)
                {
                    return Err(LoadError::Script {
                        path: shown,
                        status,
                        stderr: stderr_tail.await.unwrap_or_default(),
                        docker: Some(failure_text),
                    });
                }
                let _ = child.kill().await;
                stderr_tail.abort();
                Err(match failure {
                    StreamFailure::Daemon(message) => LoadError::Daemon {
                        hint: daemon_hint(OutputKind::Script, &message, &self.server_version),
                        path: shown,
                        kind: OutputKind::Script.describe(),
                        message,
                    },
                    StreamFailure::Transport(reason) => LoadError::Transport { reason },
                })
            }
        }
    }

    /// Sends one archive to `POST /images/load` and drains Docker's answer.
    async fn load_stream<S>(&self, body: S) -> Result<LoadOutcome, StreamFailure>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut answer = self.loader.import_image_stream(options, body, None);
        let mut outcome = LoadOutcome::default();
        while let Some(item) = answer.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|detail| detail.message) {
                        return Err(StreamFailure::Daemon(detail));
                    }
                    if let Some(text) = info.stream {
                        for line in text.lines() {
                            outcome.read_line(line);
                        }
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(StreamFailure::Daemon(error));
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    return Err(StreamFailure::Daemon(message));
                }
                Err(error) => return Err(StreamFailure::Transport(error_chain(&error))),
            }
        }
        Ok(outcome)
    }

    /// The IDs of the images a load answer names (`Loaded image…` lines).
    async fn loaded_ids(&self, outcome: &LoadOutcome) -> Result<BTreeSet<String>, InspectError> {
        let mut ids: BTreeSet<String> = outcome.ids.iter().cloned().collect();
        for reference in &outcome.references {
            if let Some(id) = self.image_id(reference).await? {
                ids.insert(id);
            }
        }
        Ok(ids)
    }

    /// Turns `Loaded image…` lines into exactly one image ID.
    async fn resolve(&self, path: &str, outcome: LoadOutcome) -> Result<Loaded, LoadError> {
        let mut ids: Vec<String> = self.loaded_ids(&outcome).await?.into_iter().collect();
        match ids.len() {
            0 => Err(LoadError::NoImage {
                path: path.to_owned(),
            }),
            1 => Ok(Loaded {
                id: ids.remove(0),
                references: outcome.references,
                replaced: outcome.replaced,
            }),
            count => {
                let mut references = outcome.references.clone();
                references.extend(outcome.ids);
                Err(LoadError::SeveralImages {
                    path: path.to_owned(),
                    count,
                    references,
                })
            }
        }
    }

    /// Tags image `id` as `name` (`:latest` when it has no tag); returns the full reference.
    pub async fn tag(&self, id: &str, name: &str) -> Result<String, TagError> {
        let (repository, tag) = split_reference(name)?;
        let reference = format!("{repository}:{tag}");
        let options = TagImageOptionsBuilder::default()
            .repo(&repository)
            .tag(&tag)
            .build();
        self.client
            .tag_image(id, Some(options))
            .await
            .map_err(|error| TagError::Docker {
                id: id.to_owned(),
                reference: reference.clone(),
                reason: error_chain(&error),
            })?;
        Ok(reference)
    }

    /// Pulls `repository@digest` from its registry; returns the image's ID.
    pub async fn pull(&self, repository: &str, digest: &str) -> Result<String, InspectError> {
        let reference = format!("{repository}@{digest}");
        let failed = |reason: String| InspectError {
            reference: reference.clone(),
            reason,
        };
        let options = CreateImageOptionsBuilder::default()
            .from_image(repository)
            .tag(digest)
            .build();
        let mut progress = self.loader.create_image(Some(options), None, None);
        while let Some(item) = progress.next().await {
            let info = item.map_err(|error| failed(error_chain(&error)))?;
            if let Some(message) = info.error_detail.and_then(|detail| detail.message) {
                return Err(failed(message));
            }
        }
        self.image_id(&reference)
            .await?
            .ok_or_else(|| failed("the engine pulled it, yet does not list it".to_owned()))
    }

    /// The platform of image `id` as its config says: `linux/amd64`.
    pub async fn image_platform(&self, id: &str) -> Result<String, InspectError> {
        let image = self
            .client
            .inspect_image(id)
            .await
            .map_err(|error| InspectError {
                reference: id.to_owned(),
                reason: error_chain(&error),
            })?;
        Ok(format!(
            "{}/{}",
            image.os.unwrap_or_default(),
            image.architecture.unwrap_or_default()
        ))
    }

    /// Removes image `id` when nothing names it any more (its tag moved to a new build).
    /// Keeps it when it still has a tag or a container uses it. Returns whether it went.
    pub async fn remove_if_dangling(&self, id: &str) -> bool {
        match self.inspect(id).await {
            Ok(Some((_, tags))) if tags.is_empty() => {
                let options = RemoveImageOptionsBuilder::default()
                    .force(false)
                    .noprune(false)
                    .build();
                self.client
                    .remove_image(id, Some(options), None)
                    .await
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// `name` → (repository, tag), with `latest` for no tag.
pub fn split_reference(name: &str) -> Result<(String, String), TagError> {
    let parsed = crate::imageref::parse(name).map_err(|reason| TagError::BadName {
        name: name.to_owned(),
        reason,
    })?;
    if parsed.digest.is_some() {
        return Err(TagError::Digest {
            name: name.to_owned(),
            repository: parsed.repository.to_owned(),
        });
    }
    Ok((
        parsed.repository.to_owned(),
        parsed.tag_or_latest().to_owned(),
    ))
}

/// `name` with `:latest` added when it has no tag.
pub fn full_reference(name: &str) -> String {
    match split_reference(name) {
        Ok((repository, tag)) => format!("{repository}:{tag}"),
        Err(_) => name.to_owned(),
    }
}

enum StreamFailure {
    /// Docker answered with an error (`errorDetail`, or an error status).
    Daemon(String),
    /// The request itself failed.
    Transport(String),
}

#[derive(Default, Debug, PartialEq)]
struct LoadOutcome {
    ids: Vec<String>,
    references: Vec<String>,
    replaced: Vec<String>,
}

impl LoadOutcome {
    fn read_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("Loaded image ID: ") {
            self.ids.push(id.trim().to_owned());
        } else if let Some(reference) = line.strip_prefix("Loaded image: ") {
            self.references.push(reference.trim().to_owned());
        } else if let Some(start) = line.find("renaming the old one with ID ") {
            let rest = &line[start + "renaming the old one with ID ".len()..];
            if let Some(id) = rest.split_whitespace().next() {
                self.replaced.push(id.to_owned());
            }
        }
    }
}

/// Counts the bytes a body stream yields into `upload`, and marks it complete at the end.
fn counted<S>(
    stream: S,
    upload: Arc<Upload>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let counter = upload.clone();
    let end = futures_util::stream::poll_fn(move |_| {
        upload.complete.store(true, Ordering::Relaxed);
        std::task::Poll::Ready(None)
    });
    stream
        .inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                counter
                    .sent
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
        })
        .chain(end)
}

fn killed_by_sigpipe(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(libc::SIGPIPE) || status.code() == Some(128 + libc::SIGPIPE)
}

/// Explains a load error Docker gave for the kind of output sent.
fn daemon_hint(kind: OutputKind, message: &str, server_version: &str) -> Option<String> {
    let tar_trouble = message.contains("invalid tar header")
        || message.contains("unexpected EOF")
        || message.contains("Error processing tar file");
    match kind {
        OutputKind::Zstd | OutputKind::Bzip2 | OutputKind::Xz if tar_trouble => Some(format!(
            "this Docker engine ({server_version}) may not decompress {}; build a plain or gzip archive (e.g. `compressor = \"none\"` or \"gz\" in dockerTools)",
            kind.describe()
        )),
        _ if message.contains("blobs/") || message.contains("index.json") => Some(
            "the archive looks like an OCI layout, which Docker before 25 cannot load; build a docker-archive"
                .to_owned(),
        ),
        _ if message.contains("/repositories: no such file") => Some(
            "the tar has no manifest.json: it is not a docker-archive (dockerTools.buildImage and friends write one)"
                .to_owned(),
        ),
        _ if tar_trouble => Some(
            "the output is not a complete docker-archive tarball".to_owned(),
        ),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// the load cache

/// Remembers which Nix store path was loaded as which image, per Docker engine, so that a
/// re-run skips loading an unchanged image. An entry is only a hint: before it is used, the
/// image is looked up in Docker (see [`Engine::cached_image`]).
///
/// Kept in `$XDG_CACHE_HOME/starflake/loaded-images.json` (`~/.cache/...` without it),
/// written atomically (temporary file, then rename), merged with what other runs wrote.
pub struct LoadCache {
    file: Option<PathBuf>,
    state: std::sync::Mutex<CacheState>,
}

/// Entries kept; the oldest go first.
const CACHE_LIMIT: usize = 1000;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CacheState {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    loaded: Vec<CacheEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CacheEntry {
    /// The engine's ID (`docker info`), or its address.
    engine: String,
    store_path: String,
    image_id: String,
}

impl LoadCache {
    /// The cache in the user's cache folder; in memory only when there is none.
    pub fn open_default() -> LoadCache {
        let dir = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            });
        match dir {
            Some(dir) => LoadCache::at(dir.join("starflake").join("loaded-images.json")),
            None => LoadCache {
                file: None,
                state: Default::default(),
            },
        }
    }

    pub fn at(file: PathBuf) -> LoadCache {
        let state = read_cache(&file);
        LoadCache {
            file: Some(file),
            state: std::sync::Mutex::new(state),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The image ID recorded for a store path.
    pub fn lookup(&self, engine: &str, store_path: &str) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .loaded
            .iter()
            .rev()
            .find(|entry| entry.engine == engine && entry.store_path == store_path)
            .map(|entry| entry.image_id.clone())
    }

    /// Records that `store_path` is loaded as `image_id`.
    pub fn record(&self, engine: &str, store_path: &str, image_id: &str) -> std::io::Result<()> {
        self.update(|loaded| {
            loaded.retain(|entry| !(entry.engine == engine && entry.store_path == store_path));
            loaded.push(CacheEntry {
                engine: engine.to_owned(),
                store_path: store_path.to_owned(),
                image_id: image_id.to_owned(),
            });
        })
    }

    /// Drops the entry of a store path (its image is gone).
    pub fn forget(&self, engine: &str, store_path: &str) -> std::io::Result<()> {
        self.update(|loaded| {
            loaded.retain(|entry| !(entry.engine == engine && entry.store_path == store_path));
        })
    }

    fn update(&self, change: impl FnOnce(&mut Vec<CacheEntry>)) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Start from the file: another run may have added entries since this one read it.
        if let Some(file) = &self.file {
            let on_disk = read_cache(file);
            if on_disk.version == CACHE_VERSION {
                state.loaded = on_disk.loaded;
            }
        }
        change(&mut state.loaded);
        let excess = state.loaded.len().saturating_sub(CACHE_LIMIT);
        state.loaded.drain(..excess);
        state.version = CACHE_VERSION;
        let Some(file) = &self.file else {
            return Ok(());
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = file.with_extension(format!("json.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(&*state).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, text + "\n")?;
        std::fs::rename(&temporary, file).inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    }
}

const CACHE_VERSION: u32 = 1;

fn read_cache(file: &Path) -> CacheState {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| serde_json::from_str::<CacheState>(&text).ok())
        .filter(|state| state.version == CACHE_VERSION)
        .unwrap_or(CacheState {
            version: CACHE_VERSION,
            loaded: Vec::new(),
        })
}

impl Engine {
    /// The image a store path was loaded as, if the cache knows it and the image is still
    /// in Docker; a stale entry is dropped.
    pub async fn cached_image(&self, cache: &LoadCache, store_path: &str) -> Option<String> {
        let key = self.cache_key();
        let id = cache.lookup(&key, store_path)?;
        match self.image_id(&id).await {
            Ok(Some(found)) if found == id => Some(id),
            Ok(_) => {
                let _ = cache.forget(&key, store_path);
                None
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_head() -> Vec<u8> {
        let mut head = vec![0u8; 512];
        head[..13].copy_from_slice(b"manifest.json");
        head[257..263].copy_from_slice(b"ustar\0");
        head
    }

    #[test]
    fn sniffs_kinds() {
        assert_eq!(OutputKind::sniff_bytes(&tar_head()), Some(OutputKind::Tar));
        assert_eq!(
            OutputKind::sniff_bytes(&[0x1f, 0x8b, 8, 0]),
            Some(OutputKind::Gzip)
        );
        assert_eq!(
            OutputKind::sniff_bytes(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(OutputKind::Zstd)
        );
        assert_eq!(
            OutputKind::sniff_bytes(b"\xfd7zXZ\x00rest"),
            Some(OutputKind::Xz)
        );
        assert_eq!(OutputKind::sniff_bytes(b"BZh91AY"), Some(OutputKind::Bzip2));
        assert_eq!(
            OutputKind::sniff_bytes(b"#!/nix/store/x-bash/bin/bash\n"),
            Some(OutputKind::Script)
        );
        assert_eq!(OutputKind::sniff_bytes(b"this is not an image\n"), None);
        assert_eq!(OutputKind::sniff_bytes(b""), None);
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "starflake-docker-unit-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sniff_explains_what_is_not_an_image() {
        let dir = scratch("sniff");
        let text = dir.join("notes");
        std::fs::write(&text, "this is not an image\n").unwrap();
        let message = sniff(&text).unwrap_err().to_string();
        assert!(
            message.contains("a text file starting with `this is not an image`"),
            "{message}"
        );
        let json = dir.join("image.json");
        std::fs::write(&json, "{\"layers\": []}").unwrap();
        assert!(sniff(&json).unwrap_err().to_string().contains("JSON"));
        let empty = dir.join("empty");
        std::fs::write(&empty, "").unwrap();
        assert!(
            sniff(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty file")
        );
        let layout = dir.join("layout");
        std::fs::create_dir_all(layout.join("blobs")).unwrap();
        std::fs::write(layout.join("oci-layout"), "{}").unwrap();
        std::fs::write(layout.join("index.json"), "{}").unwrap();
        let message = sniff(&layout).unwrap_err().to_string();
        assert!(message.contains("is a directory (holding blobs, index.json, oci-layout)"));
        assert!(message.contains("OCI image layout"));
        let script = dir.join("stream");
        std::fs::write(&script, "#!/bin/sh\necho\n").unwrap();
        assert!(matches!(
            sniff(&script),
            Err(OutputError::NotExecutable { .. })
        ));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o555)).unwrap();
        assert_eq!(sniff(&script).unwrap().0, OutputKind::Script);
        let tar = dir.join("image.tar");
        std::fs::write(&tar, tar_head()).unwrap();
        assert_eq!(sniff(&tar).unwrap(), (OutputKind::Tar, 512));
        assert!(matches!(
            sniff(&dir.join("missing")),
            Err(OutputError::Missing { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_load_answers() {
        let mut outcome = LoadOutcome::default();
        outcome.read_line("Loaded image: sfxtest/app:latest\n");
        outcome.read_line("Loaded image ID: sha256:abc");
        outcome.read_line("The image sfxtest/app:latest already exists, renaming the old one with ID sha256:old to empty string");
        outcome.read_line("something else");
        assert_eq!(outcome.references, ["sfxtest/app:latest"]);
        assert_eq!(outcome.ids, ["sha256:abc"]);
        assert_eq!(outcome.replaced, ["sha256:old"]);
    }

    #[test]
    fn references() {
        assert_eq!(full_reference("a/b"), "a/b:latest");
        assert_eq!(full_reference("a/b:v1"), "a/b:v1");
        assert_eq!(
            full_reference("localhost:5000/a"),
            "localhost:5000/a:latest"
        );
        assert!(matches!(
            split_reference(
                "a@sha256:0123456789012345678901234567890123456789012345678901234567890123"
            ),
            Err(TagError::Digest { .. })
        ));
        assert!(matches!(
            split_reference("Upper/case"),
            Err(TagError::BadName { .. })
        ));
    }

    #[test]
    fn cache_round_trip_and_merge() {
        let dir = scratch("cache");
        let file = dir.join("starflake").join("loaded-images.json");
        let first = LoadCache::at(file.clone());
        assert_eq!(first.lookup("engine", "/nix/store/a"), None);
        first.record("engine", "/nix/store/a", "sha256:1").unwrap();
        // a second run, started before the first wrote, adds its own entry
        let second = LoadCache::at(dir.join("elsewhere.json"));
        let second = LoadCache {
            file: Some(file.clone()),
            state: second.state,
        };
        second.record("engine", "/nix/store/b", "sha256:2").unwrap();
        let reread = LoadCache::at(file.clone());
        assert_eq!(
            reread.lookup("engine", "/nix/store/a").as_deref(),
            Some("sha256:1")
        );
        assert_eq!(
            reread.lookup("engine", "/nix/store/b").as_deref(),
            Some("sha256:2")
        );
        assert_eq!(reread.lookup("other-engine", "/nix/store/a"), None);
        reread.record("engine", "/nix/store/a", "sha256:3").unwrap();
        reread.forget("engine", "/nix/store/b").unwrap();
        let last = LoadCache::at(file.clone());
        assert_eq!(
            last.lookup("engine", "/nix/store/a").as_deref(),
            Some("sha256:3")
        );
        assert_eq!(last.lookup("engine", "/nix/store/b"), None);
        // a corrupt file is an empty cache
        std::fs::write(&file, "{not json").unwrap();
        assert_eq!(LoadCache::at(file).lookup("engine", "/nix/store/a"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_server_that_is_not_docker_is_named() {
        let reason = connection_reason(&bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: String::new(),
        });
        assert_eq!(
            reason,
            "a server answers there, but not as a Docker engine (HTTP 404); is this the Docker daemon's address and port?"
        );
    }

    #[test]
    fn hints() {
        assert!(
            daemon_hint(
                OutputKind::Zstd,
                "Error processing tar file(exit status 1): archive/tar: invalid tar header",
                "20.10"
            )
            .unwrap()
            .contains("may not decompress tar.zst")
        );
        assert!(
            daemon_hint(
                OutputKind::Tar,
                "open /var/lib/docker/tmp/docker-import-1/repositories: no such file or directory",
                "20.10"
            )
            .unwrap()
            .contains("manifest.json")
        );
    }
}

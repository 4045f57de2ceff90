//! Pushing a Nix image to an OCI registry straight from the Nix output, without a Docker
//! engine: the docker-archive (plain or gzip) or the stream script's output is read once, its
//! layers go to the registry as they come, and the registry gets an OCI manifest.
//!
//! Layers are pushed uncompressed (`application/vnd.oci.image.layer.v1.tar`): a
//! docker-archive names each layer by the digest of its uncompressed tar (the config's
//! `diff_ids`), so every digest is known before the layer is read, the registry can be asked
//! first (HEAD) and a blob it has is never read at all. Gzip on the fly would hide the digest
//! until the whole layer had been compressed and sent, and cost more CPU than a fast link saves.
//!
//! A plain tar file is indexed first (headers only, seeking past the data), so its manifest
//! and config are known before any layer, whatever their order in the archive. A gzip archive
//! or a stream script is read in one pass; a layer seen before the config is identified by
//! its name (`<sha256>/layer.tar`, `<sha256>.tar`), which the config confirms at the end, or,
//! without one, uploaded in a chunked session whose digest is computed while it is sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::docker::OutputKind;

/// Bytes per chunk read from the archive and sent to the registry.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the archive reader and the upload: bounds the memory a push uses.
const CHUNKS_IN_FLIGHT: usize = 4;
/// A config or manifest larger than this is not one.
const METADATA_LIMIT: u64 = 16 * 1024 * 1024;
/// Lines of a stream script's stderr kept for an error report.
const SCRIPT_TAIL: usize = 10;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// A registry to push to: `host[:port][/path]`.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    address: String,
}

/// What a push did.
#[derive(Clone, Debug, Serialize)]
pub struct Pushed {
    /// `REGISTRY/<image_name>` with its tag.
    pub reference: String,
    /// The manifest's digest: pull `REGISTRY/<name>@<digest>`.
    pub digest: String,
    /// The image's platform from its config, e.g. `linux/amd64`.
    pub platform: String,
    /// Blobs (layers and config) sent now.
    pub uploaded: usize,
    /// Blobs the registry had already.
    pub skipped: usize,
    /// Bytes of layers sent now.
    pub bytes_sent: u64,
    /// How long the push took, from reading the output to the manifest's upload.
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("`{0}` is not a registry: give `host[:port][/path]`, e.g. `127.0.0.1:5000`")]
    BadRegistry(String),
    #[error("`{reference}` is not a valid image reference: {reason}")]
    BadReference { reference: String, reason: String },
    #[error("cannot read the credentials for `{registry}` from the Docker config file {reason}")]
    Credentials { registry: String, reason: String },
    #[error(
        "push reads plain or gzip docker-archives and stream scripts; `{path}` is a {kind} archive"
    )]
    Unsupported { path: String, kind: &'static str },
    #[error("cannot read `{path}`: {source}")]
    Read { path: String, source: io::Error },
    #[error("the stream script `{path}` failed ({status}){}", tail(stderr))]
    Script {
        path: String,
        status: std::process::ExitStatus,
        stderr: Vec<String>,
    },
    #[error("`{path}` is not a docker-archive: {reason}")]
    NotAnArchive { path: String, reason: String },
    #[error(
        "the image is for {image}, but {target} runs {wanted}; build it for that platform (`--system`) or push elsewhere"
    )]
    Architecture {
        image: String,
        wanted: String,
        target: String,
    },
    #[error("the registry {registry} failed: {reason}")]
    Registry { registry: String, reason: String },
}

fn tail(lines: &[String]) -> String {
    lines.iter().map(|line| format!("\n  {line}")).collect()
}

impl Registry {
    /// A client for `address`. Plain HTTP is used for a loopback registry or when `insecure`;
    /// credentials come from the Docker config file (`DOCKER_CONFIG`, `~/.docker/config.json`,
    /// credential helpers), anonymous when it names none.
    pub fn new(address: &str, insecure: bool) -> Result<Registry, PushError> {
        let address = address.trim_end_matches('/');
        let host = address.split('/').next().unwrap_or_default();
        if host.is_empty() || address.contains("://") {
            return Err(PushError::BadRegistry(address.to_owned()));
        }
        // reqwest is built without a default TLS provider (ring builds without cmake); a
        // second install in the same process fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if insecure || is_loopback(host) {
            ClientProtocol::HttpsExcept(vec![host.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            // One PUT per layer whose digest is known: no round trip per chunk.
            use_monolithic_push: true,
            ..ClientConfig::default()
        });
        Ok(Registry {
            client,
            auth: credentials(host)?,
            address: address.to_owned(),
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Where `image_name` goes in this registry.
    pub fn reference(&self, image_name: &str) -> Result<Reference, PushError> {
        let text = crate::plan::push_reference(&self.address, image_name);
        text.parse::<Reference>()
            .map_err(|error| PushError::BadReference {
                reference: text,
                reason: error.to_string(),
            })
    }

    /// Pushes the image Nix built at `path` (of `kind`) as `REGISTRY/<image_name>`.
    /// `target` is the platform the image must run on (`linux/amd64`) and who says so; a
    /// mismatch stops the push before the manifest, and before any layer when the config
    /// comes first. `sent` follows the bytes uploaded.
    pub async fn push(
        &self,
        image_name: &str,
        path: &Path,
        kind: OutputKind,
        target: Option<&Target>,
        sent: Arc<AtomicU64>,
    ) -> Result<Pushed, PushError> {
        let started = std::time::Instant::now();
        let reference = self.reference(image_name)?;
        let input = Input::open(path, kind)?;
        self.client
            .auth(&reference, &self.auth, RegistryOperation::Push)
            .await
            .map_err(|error| self.failed(error))?;
        let (events, mut received) = mpsc::channel(1);
        let shown = path.display().to_string();
        let reader = tokio::task::spawn_blocking(move || input.read(&events));
        let mut image = ArchiveImage::default();
        let mut pushed = Pushed {
            reference: reference.whole(),
            digest: String::new(),
            platform: String::new(),
            uploaded: 0,
            skipped: 0,
            bytes_sent: 0,
            seconds: 0.0,
        };
        let mut checked = false;
        let streamed: Result<(), PushError> = async {
            while let Some(event) = received.recv().await {
                match event {
                    Event::Metadata { name, bytes } => {
                        image.metadata.insert(name, bytes);
                        if !checked && let Some(config) = image.config() {
                            if let Some(target) = target {
                                check_platform(&config.platform(), target)?;
                            }
                            checked = true;
                        }
                    }
                    Event::Layer { name, size, reply } => {
                        let expected = image.diff_id(&name).or_else(|| digest_in_name(&name));
                        if let Some(digest) = &expected
                            && self.has_blob(&reference, digest).await?
                        {
                            let _ = reply.send(None);
                            image.layers.insert(name, (digest.clone(), size));
                            pushed.skipped += 1;
                            continue;
                        }
                        let (chunks, body) = mpsc::channel(CHUNKS_IN_FLIGHT);
                        let _ = reply.send(Some(chunks));
                        let counter = sent.clone();
                        let mut body = body;
                        let body = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx)).map(
                            move |chunk| {
                                let chunk = chunk.map_err(OciDistributionError::IoError)?;
                                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                                Ok(chunk)
                            },
                        );
                        let blob = match expected {
                            Some(digest) => {
                                self.client
                                    .push_blob_stream(&reference, body, &digest, Some(size))
                                    .await
                                    .map_err(|error| self.failed(error))?;
                                (digest, size)
                            }
                            None => {
                                let done = self
                                    .client
                                    .push_blob_stream_chunked(&reference, body)
                                    .await
                                    .map_err(|error| self.failed(error))?;
                                (done.blob_digest, done.size)
                            }
                        };
                        pushed.uploaded += 1;
                        pushed.bytes_sent += blob.1;
                        image.layers.insert(name, blob);
                    }
                }
            }
            Ok(())
        }
        .await;
        drop(received);
        // A read error explains a failed upload (the upload saw only the end of its body).
        match reader.await {
            Ok(Ok(())) => streamed?,
            Ok(Err(ReadFailure::Io(source))) => {
                return Err(PushError::Read {
                    path: shown,
                    source,
                });
            }
            Ok(Err(ReadFailure::Script { status, stderr })) => {
                return Err(PushError::Script {
                    path: shown,
                    status,
                    stderr,
                });
            }
            Ok(Err(ReadFailure::Stopped)) | Err(_) => streamed?,
        }
        let not_an_archive = |reason: String| PushError::NotAnArchive {
            path: shown.clone(),
            reason,
        };
        let config_bytes = image.config_bytes().map_err(&not_an_archive)?;
        let config = image.config().ok_or_else(|| {
            not_an_archive("its config is not an image config (no `rootfs.diff_ids`)".to_owned())
        })?;
        if let Some(target) = target
            && !checked
        {
            check_platform(&config.platform(), target)?;
        }
        pushed.platform = config.platform();
        let mut layers = Vec::new();
        for (index, (name, diff_id)) in image
            .layer_names()
            .iter()
            .zip(&config.rootfs.diff_ids)
            .enumerate()
        {
            let Some((digest, size)) = image.layers.get(name.as_str()) else {
                return Err(not_an_archive(format!(
                    "manifest.json names the layer `{name}`, which the archive does not hold"
                )));
            };
            if digest != diff_id {
                return Err(not_an_archive(format!(
                    "layer {index} (`{name}`) has the digest {digest}, but the config says {diff_id}"
                )));
            }
            layers.push(descriptor(LAYER_TYPE, digest, *size));
        }
        let config_digest = sha256(&config_bytes);
        if self.has_blob(&reference, &config_digest).await? {
            pushed.skipped += 1;
        } else {
            self.client
                .push_blob(&reference, config_bytes.clone(), &config_digest)
                .await
                .map_err(|error| self.failed(error))?;
            pushed.uploaded += 1;
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": descriptor(CONFIG_TYPE, &config_digest, config_bytes.len() as u64),
            "layers": layers,
        }))
        .map_err(|error| not_an_archive(error.to_string()))?;
        pushed.digest = sha256(&manifest);
        self.client
            .push_manifest_raw(
                &reference,
                manifest,
                http::HeaderValue::from_static(MANIFEST_TYPE),
            )
            .await
            .map_err(|error| self.failed(error))?;
        pushed.seconds = started.elapsed().as_secs_f64();
        Ok(pushed)
    }

    async fn has_blob(&self, reference: &Reference, digest: &str) -> Result<bool, PushError> {
        self.client
            .blob_exists(reference, digest)
            .await
            .map_err(|error| self.failed(error))
    }

    fn failed(&self, error: OciDistributionError) -> PushError {
        PushError::Registry {
            registry: self.address.clone(),
            reason: super::docker::error_chain(&error),
        }
    }
}

/// The platform an image must run on, and who runs it (for the message).
#[derive(Clone, Debug)]
pub struct Target {
    /// `linux/amd64`, as in an image config.
    pub platform: String,
    /// `the Docker engine at unix:///var/run/docker.sock`, `--system x86_64-linux`.
    pub who: String,
}

impl Target {
    /// The target of a Nix system (`x86_64-linux` is `linux/amd64`).
    pub fn for_system(system: &str, who: String) -> Target {
        let (arch, os) = system.split_once('-').unwrap_or((system, "linux"));
        let arch = match arch {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "i686" => "386",
            "armv7l" => "arm",
            "powerpc64le" => "ppc64le",
            other => other,
        };
        Target {
            platform: format!("{os}/{arch}"),
            who,
        }
    }
}

/// An image of `platform` (`linux/amd64`) can run on `target`, or the error that says why not.
pub fn check_platform(platform: &str, target: &Target) -> Result<(), PushError> {
    if platform == target.platform {
        Ok(())
    } else {
        Err(PushError::Architecture {
            image: platform.to_owned(),
            wanted: target.platform.clone(),
            target: target.who.clone(),
        })
    }
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> serde_json::Value {
    serde_json::json!({ "mediaType": media_type, "digest": digest, "size": size })
}

fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::from("sha256:"), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// `127.0.0.0/8`, `::1` or `localhost`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The credentials the Docker config file (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`) holds for `host`, through its credential helpers too; anonymous
/// when there is no such file or it names none.
fn credentials(host: &str) -> Result<RegistryAuth, PushError> {
    use docker_credential::{CredentialRetrievalError as Missing, DockerCredential};
    let Some(folder) = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")))
    else {
        return Ok(RegistryAuth::Anonymous);
    };
    let file = folder.join("config.json");
    let reader = match File::open(&file) {
        Ok(reader) => io::BufReader::new(reader),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(RegistryAuth::Anonymous);
        }
        Err(error) => {
            return Err(PushError::Credentials {
                registry: host.to_owned(),
                reason: format!("cannot read {}: {error}", file.display()),
            });
        }
    };
    match docker_credential::get_credential_from_reader(reader, host) {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok(RegistryAuth::Basic(user, password))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
        Err(Missing::NoCredentialConfigured) => Ok(RegistryAuth::Anonymous),
        Err(error) => Err(PushError::Credentials {
            registry: host.to_owned(),
            reason: format!("{} ({error})", file.display()),
        }),
    }
}

/// The sha256 a layer's file name carries: `<hex>/layer.tar` (docker save, dockerTools),
/// `<hex>.tar` (streamLayeredImage-style scripts) or `blobs/sha256/<hex>`.
fn digest_in_name(name: &str) -> Option<String> {
    let hex = name
        .strip_suffix("/layer.tar")
        .or_else(|| name.strip_suffix(".tar"))
        .or_else(|| name.strip_prefix("blobs/sha256/"))?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| format!("sha256:{hex}"))
}

// ---------------------------------------------------------------------------------------
// the archive's metadata

/// What the archive told so far: its small JSON files and the layers pushed or found.
#[derive(Default)]
struct ArchiveImage {
    metadata: HashMap<String, Vec<u8>>,
    /// Layer file name -> (digest, size) in the registry.
    layers: HashMap<String, (String, u64)>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

impl ImageConfig {
    fn platform(&self) -> String {
        match &self.variant {
            Some(variant) if self.architecture == "arm" => {
                format!("{}/{}/{variant}", self.os, self.architecture)
            }
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

impl ArchiveImage {
    /// The first image of `manifest.json` (Nix writes one).
    fn manifest(&self) -> Option<ManifestEntry> {
        let bytes = self.metadata.get("manifest.json")?;
        let entries: Vec<ManifestEntry> = serde_json::from_slice(bytes).ok()?;
        entries.into_iter().next()
    }

    fn config(&self) -> Option<ImageConfig> {
        let bytes = self.metadata.get(&self.manifest()?.config)?;
        serde_json::from_slice(bytes).ok()
    }

    /// The diff ID of a layer, once the manifest and the config are known.
    fn diff_id(&self, layer: &str) -> Option<String> {
        let index = self
            .manifest()?
            .layers
            .iter()
            .position(|name| name == layer)?;
        self.config()?.rootfs.diff_ids.get(index).cloned()
    }

    fn config_bytes(&self) -> Result<Vec<u8>, String> {
        let manifest = self
            .manifest()
            .ok_or("it has no readable `manifest.json`")?;
        self.metadata.get(&manifest.config).cloned().ok_or_else(|| {
            format!(
                "manifest.json names the config `{}`, which it lacks",
                manifest.config
            )
        })
    }

    fn layer_names(&self) -> Vec<String> {
        self.manifest()
            .map(|manifest| manifest.layers)
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// reading the archive (on a blocking thread)

enum Event {
    /// A small JSON file (`manifest.json`, the config).
    Metadata { name: String, bytes: Vec<u8> },
    /// A layer: the pusher answers with where to send its bytes, or `None` to skip it.
    Layer {
        name: String,
        size: u64,
        reply: oneshot::Sender<Option<mpsc::Sender<io::Result<Bytes>>>>,
    },
}

enum ReadFailure {
    Io(io::Error),
    Script {
        status: std::process::ExitStatus,
        stderr: Vec<String>,
    },
    /// The pusher stopped listening (it failed and says why).
    Stopped,
}

impl From<io::Error> for ReadFailure {
    fn from(error: io::Error) -> Self {
        ReadFailure::Io(error)
    }
}

enum Input {
    /// A plain tar file: indexed first, then read where the layers are.
    Plain(File),
    Gzip(File),
    Script(ScriptOutput),
}

/// A stream script's stdout; the script is killed if the push stops early.
struct ScriptOutput {
    child: Child,
    /// The last lines of its stderr, read on a thread of their own.
    stderr: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Drop for ScriptOutput {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a file in the archive is.
enum Role {
    Metadata,
    Layer,
    Ignored,
}

fn role(name: &str, size: u64) -> Role {
    let base = name.rsplit('/').next().unwrap_or(name);
    if matches!(
        base,
        "VERSION" | "json" | "repositories" | "oci-layout" | "index.json"
    ) {
        Role::Ignored
    } else if base.ends_with(".json") && size <= METADATA_LIMIT {
        Role::Metadata
    } else {
        Role::Layer
    }
}

impl Input {
    fn open(path: &Path, kind: OutputKind) -> Result<Input, PushError> {
        let read_error = |source| PushError::Read {
            path: path.display().to_string(),
            source,
        };
        match kind {
            OutputKind::Tar => Ok(Input::Plain(File::open(path).map_err(read_error)?)),
            OutputKind::Gzip => Ok(Input::Gzip(File::open(path).map_err(read_error)?)),
            OutputKind::Script => {
                let mut child = Command::new(path)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(read_error)?;
                let stderr = child.stderr.take().map(io::BufReader::new);
                let stderr = std::thread::spawn(move || {
                    let mut tail = std::collections::VecDeque::new();
                    for line in stderr.into_iter().flat_map(|reader| reader.lines()) {
                        let Ok(line) = line else { break };
                        if tail.len() == SCRIPT_TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line);
                    }
                    Vec::from(tail)
                });
                Ok(Input::Script(ScriptOutput {
                    child,
                    stderr: Some(stderr),
                }))
            }
            other => Err(PushError::Unsupported {
                path: path.display().to_string(),
                kind: other.describe(),
            }),
        }
    }

    fn read(self, events: &mpsc::Sender<Event>) -> Result<(), ReadFailure> {
        match self {
            Input::Plain(file) => read_indexed(file, events),
            Input::Gzip(file) => read_in_order(
                flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(CHUNK, file)),
                events,
            ),
            Input::Script(mut script) => {
                let Some(stdout) = script.child.stdout.take() else {
                    return Err(ReadFailure::Io(io::Error::other(
                        "the script has no stdout",
                    )));
                };
                let read = read_in_order(stdout, events);
                let status = script.child.wait()?;
                if !status.success() {
                    let stderr = script.stderr.take().and_then(|lines| lines.join().ok());
                    return Err(ReadFailure::Script {
                        status,
                        stderr: stderr.unwrap_or_default(),
                    });
                }
                read
            }
        }
    }
}

/// A plain tar: the headers first (seeking past the data), then the metadata, then each
/// layer from its offset. The pusher knows every digest before the first layer.
fn read_indexed(file: File, events: &mpsc::Sender<Event>) -> Result<(), ReadFailure> {
    let mut archive = tar::Archive::new(file);
    let mut layers = Vec::new();
    for entry in archive.entries_with_seek()? {
        let mut entry = entry?;
        if let Some((name, size)) = layer_or_metadata(&mut entry, events)? {
            layers.push((name, entry.raw_file_position(), size));
        }
    }
    let mut file = archive.into_inner();
    for (name, offset, size) in layers {
        if let Some(chunks) = ask(events, name, size)? {
            file.seek(SeekFrom::Start(offset))?;
            pump((&mut file).take(size), &chunks)?;
        }
    }
    Ok(())
}

/// A gzip archive or a script's output: every file in archive order.
fn read_in_order(reader: impl Read, events: &mpsc::Sender<Event>) -> Result<(), ReadFailure> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if let Some((name, size)) = layer_or_metadata(&mut entry, events)?
            && let Some(chunks) = ask(events, name, size)?
        {
            pump(&mut entry, &chunks)?;
        }
    }
    // Drain what follows the archive's end, so that a script is not killed by SIGPIPE.
    io::copy(&mut archive.into_inner(), &mut io::sink())?;
    Ok(())
}

/// Sends a metadata file's bytes to the pusher; returns a layer's name and size for the
/// caller to offer (`None` for anything else).
fn layer_or_metadata<R: Read>(
    entry: &mut tar::Entry<R>,
    events: &mpsc::Sender<Event>,
) -> Result<Option<(String, u64)>, ReadFailure> {
    if !entry.header().entry_type().is_file() {
        return Ok(None);
    }
    let name = entry.path()?.to_string_lossy().into_owned();
    let size = entry.size();
    match role(&name, size) {
        Role::Metadata => {
            let mut bytes = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut bytes)?;
            send(events, Event::Metadata { name, bytes })?;
            Ok(None)
        }
        Role::Layer => Ok(Some((name, size))),
        Role::Ignored => Ok(None),
    }
}

fn send(events: &mpsc::Sender<Event>, event: Event) -> Result<(), ReadFailure> {
    events
        .blocking_send(event)
        .map_err(|_| ReadFailure::Stopped)
}

/// Offers a layer to the pusher; returns where to send its bytes, `None` to skip it.
fn ask(
    events: &mpsc::Sender<Event>,
    name: String,
    size: u64,
) -> Result<Option<mpsc::Sender<io::Result<Bytes>>>, ReadFailure> {
    let (reply, answer) = oneshot::channel();
    send(events, Event::Layer { name, size, reply })?;
    answer.blocking_recv().map_err(|_| ReadFailure::Stopped)
}

/// Sends a layer's bytes in chunks; a read error goes to the upload too, which then fails.
fn pump(
    mut reader: impl Read,
    chunks: &mpsc::Sender<io::Result<Bytes>>,
) -> Result<(), ReadFailure> {
    loop {
        let mut buffer = BytesMut::zeroed(CHUNK);
        let read = match read_full(&mut reader, &mut buffer) {
            Ok(read) => read,
            Err(error) => {
                let copy = io::Error::new(error.kind(), error.to_string());
                let _ = chunks.blocking_send(Err(copy));
                return Err(ReadFailure::Io(error));
            }
        };
        if read == 0 {
            return Ok(());
        }
        buffer.truncate(read);
        chunks
            .blocking_send(Ok(buffer.freeze()))
            .map_err(|_| ReadFailure::Stopped)?;
    }
}

/// Fills `buffer` unless the reader ends first; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

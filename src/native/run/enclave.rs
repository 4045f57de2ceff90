//! Enclaves on the Docker engine: names, labels, finding and removing what an enclave holds,
//! and the `starflake enclave ls|inspect|rm` commands.
//!
//! An enclave is a user-defined bridge network `starflake-<name>` plus the containers and
//! volumes labelled `starflake.enclave=<name>`, plus a state folder on the host (files
//! artifacts). Everything starflake touches carries that label; nothing else is touched.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, NetworkCreateRequest};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::lock;
use crate::native::docker::{Engine, error_chain};

pub const LABEL_ENCLAVE: &str = "starflake.enclave";
pub const LABEL_PACKAGE: &str = "starflake.package";
pub const LABEL_SERVICE: &str = "starflake.service";
pub const LABEL_TASK: &str = "starflake.task";
pub const LABEL_INSTRUCTION: &str = "starflake.instruction";
pub const LABEL_CONFIG_HASH: &str = "starflake.config-hash";
pub const LABEL_IMAGE_ID: &str = "starflake.image-id";
pub const LABEL_STORE_PATH: &str = "starflake.store-path";
pub const LABEL_PORTS: &str = "starflake.ports";
pub const LABEL_CREATED: &str = "starflake.created";
/// The files volumes of a container, comma-separated: removed with it.
pub const LABEL_MOUNTS: &str = "starflake.mounts";
/// The run that made a container, a volume or the network, to roll back exactly that.
pub const LABEL_RUN: &str = "starflake.run";

/// An enclave name: lower-case letters, digits and single dashes, at most 40 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an enclave name: use 1-40 lower-case letters, digits and single dashes, not at either end"
        ))
    }
}

/// The enclave a package runs in by default: the last part of its name.
pub fn default_name(package: &str) -> String {
    let last = package.rsplit('/').next().unwrap_or(package);
    let mut name = String::new();
    for c in last.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.trim_matches('-').chars().take(40).collect();
    let name = name.trim_end_matches('-').to_owned();
    if name.is_empty() {
        "default".to_owned()
    } else {
        name
    }
}

pub fn network_name(enclave: &str) -> String {
    format!("starflake-{enclave}")
}

pub fn container_name(enclave: &str, service: &str) -> String {
    format!("starflake-{enclave}--{service}")
}

pub fn volume_name(enclave: &str, key: &str) -> String {
    format!("starflake-{enclave}--{key}")
}

/// The host folder of an enclave's files artifacts:
/// `$XDG_STATE_HOME/starflake/enclaves/<name>` (`~/.local/state/...` without it).
pub fn state_dir(enclave: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("starflake").join("enclaves").join(enclave)
}

/// Whether the engine itself went away (rather than refusing one request).
pub fn engine_gone(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        error,
        E::IOError { .. }
            | E::HyperLegacyError { .. }
            | E::HyperResponseError { .. }
            | E::HttpClientError { .. }
            | E::RequestTimeoutError
            | E::SocketNotFoundError(_)
    )
}

/// A Docker failure as one sentence; says plainly when the engine itself went away.
pub fn describe(what: &str, host: &str, error: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    if engine_gone(error) {
        return format!(
            "{what}: the Docker engine at {host} stopped answering ({}); is dockerd still running?",
            error_chain(error)
        );
    }
    match error {
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("{what}: Docker answered {status_code}: {message}"),
        other => format!("{what}: {}", error_chain(other)),
    }
}

fn label_filter(enclave: &str) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("label", vec![format!("{LABEL_ENCLAVE}={enclave}")])])
}

/// The enclave's network: its ID and labels.
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

pub async fn find_network(
    docker: &Docker,
    enclave: &str,
) -> Result<Option<NetworkInfo>, bollard::errors::Error> {
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&label_filter(enclave))
                .build(),
        ))
        .await?;
    Ok(networks.into_iter().find_map(|network| {
        Some(NetworkInfo {
            id: network.id?,
            name: network.name.unwrap_or_default(),
            labels: network.labels.unwrap_or_default(),
        })
    }))
}

pub async fn create_network(
    docker: &Docker,
    enclave: &str,
    package: &str,
    run: &str,
) -> Result<NetworkInfo, bollard::errors::Error> {
    let labels = HashMap::from([
        (LABEL_ENCLAVE.to_owned(), enclave.to_owned()),
        (LABEL_PACKAGE.to_owned(), package.to_owned()),
        (LABEL_RUN.to_owned(), run.to_owned()),
        (LABEL_CREATED.to_owned(), now_seconds().to_string()),
    ]);
    let name = network_name(enclave);
    let created = docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_owned()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await?;
    Ok(NetworkInfo {
        id: created.id,
        name,
        labels,
    })
}

/// IDs of every container labelled with the enclave (running or not).
pub async fn containers(
    docker: &Docker,
    enclave: &str,
) -> Result<Vec<bollard::models::ContainerSummary>, bollard::errors::Error> {
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&label_filter(enclave))
                .build(),
        ))
        .await
}

/// The container of service `service`, if the enclave has one.
pub async fn service_container(
    docker: &Docker,
    enclave: &str,
    service: &str,
) -> Result<Option<ContainerInspectResponse>, bollard::errors::Error> {
    for summary in containers(docker, enclave).await? {
        let labels = summary.labels.unwrap_or_default();
        if labels.get(LABEL_SERVICE).map(String::as_str) == Some(service)
            && let Some(id) = summary.id
        {
            return Ok(Some(docker.inspect_container(&id, None).await?));
        }
    }
    Ok(None)
}

pub async fn volumes(
    docker: &Docker,
    enclave: &str,
) -> Result<Vec<String>, bollard::errors::Error> {
    let list = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&label_filter(enclave))
                .build(),
        ))
        .await?;
    // Sorted: Docker lists them in no fixed order, and `enclave inspect/rm` print them.
    let mut names: Vec<String> = list
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|volume| volume.name)
        .collect();
    names.sort();
    Ok(names)
}

pub async fn remove_container(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    match docker
        .remove_container(
            id,
            Some(
                RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

pub async fn remove_volume(docker: &Docker, name: &str) -> Result<(), bollard::errors::Error> {
    match docker
        .remove_volume(
            name,
            Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
        )
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

pub async fn remove_network(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    match docker.remove_network(id).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

/// The last `lines` lines the container wrote (stdout and stderr); `usize::MAX` for all.
pub async fn log_tail(docker: &Docker, id: &str, lines: usize) -> Vec<String> {
    let tail = if lines == usize::MAX {
        "all".to_owned()
    } else {
        lines.to_string()
    };
    let mut stream = docker.logs(
        id,
        Some(
            LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .tail(&tail)
                .build(),
        ),
    );
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().map(str::to_owned).collect()
}

/// What `enclave rm` (and a rollback of a new enclave) removed.
#[derive(Default, Debug, Serialize)]
pub struct Removed {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
    pub state_dir: Option<String>,
}

/// Removes everything labelled with the enclave, and its state folder.
pub async fn remove_enclave(docker: &Docker, host: &str, enclave: &str) -> Result<Removed, String> {
    let mut removed = Removed::default();
    let list = containers(docker, enclave)
        .await
        .map_err(|error| describe("cannot list the enclave's containers", host, &error))?;
    for container in list {
        let Some(id) = container.id else { continue };
        let name = container
            .names
            .and_then(|names| names.first().cloned())
            .unwrap_or_else(|| id.clone());
        remove_container(docker, &id)
            .await
            .map_err(|error| describe(&format!("cannot remove container {name}"), host, &error))?;
        removed
            .containers
            .push(name.trim_start_matches('/').to_owned());
    }
    for volume in volumes(docker, enclave)
        .await
        .map_err(|error| describe("cannot list the enclave's volumes", host, &error))?
    {
        remove_volume(docker, &volume)
            .await
            .map_err(|error| describe(&format!("cannot remove volume {volume}"), host, &error))?;
        removed.volumes.push(volume);
    }
    while let Some(network) = find_network(docker, enclave)
        .await
        .map_err(|error| describe("cannot list the enclave's network", host, &error))?
    {
        remove_network(docker, &network.id).await.map_err(|error| {
            describe(
                &format!("cannot remove network {}", network.name),
                host,
                &error,
            )
        })?;
        removed.networks.push(network.name);
    }
    let dir = state_dir(enclave);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|error| format!("cannot remove {}: {error}", dir.display()))?;
        removed.state_dir = Some(dir.display().to_string());
    }
    Ok(removed)
}

// ---------------------------------------------------------------------------------------
// views

/// A port as the enclave publishes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortView {
    pub id: String,
    pub number: u16,
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub application_protocol: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
}

impl PortView {
    /// `127.0.0.1:49153 -> 8080/tcp`, or `8080/tcp` when not published (or stopped).
    pub fn mapping(&self) -> String {
        match (&self.host_ip, self.host_port) {
            (Some(ip), Some(port)) => {
                format!("{ip}:{port} -> {}/{}", self.number, self.protocol)
            }
            _ => format!("{}/{}", self.number, self.protocol),
        }
    }
}

/// A service container as `enclave inspect` and the run summary show it.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceView {
    pub name: String,
    pub container: String,
    pub state: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    pub ports: Vec<PortView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
}

impl ServiceView {
    /// The view of a service whose container is gone: no state, no published ports.
    pub fn mark_removed(&mut self) {
        self.state = "removed".to_owned();
        self.ip_address = None;
        for port in &mut self.ports {
            port.host_ip = None;
            port.host_port = None;
            port.url = None;
        }
    }
}

/// Where a published port is reached from the machine that runs starflake: the engine's
/// machine when it is remote (it publishes there on every interface), else the address the
/// port is bound to (loopback).
fn reached_at(binding_ip: Option<String>, remote: Option<&str>) -> Option<String> {
    match remote {
        Some(machine) => Some(machine.to_owned()),
        None => binding_ip,
    }
}

/// The view of a container starflake created for a service, on an engine on `remote` (see
/// [`crate::native::docker::remote_machine`]) or on this machine.
pub fn service_view(
    container: &ContainerInspectResponse,
    network: &str,
    remote: Option<&str>,
) -> ServiceView {
    let config = container.config.clone().unwrap_or_default();
    let labels = config.labels.clone().unwrap_or_default();
    let settings = container.network_settings.clone().unwrap_or_default();
    let published = settings.ports.clone().unwrap_or_default();
    let declared: BTreeMap<String, PortView> = labels
        .get(LABEL_PORTS)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let ports = declared
        .into_iter()
        .map(|(id, mut port)| {
            port.id = id;
            let key = format!("{}/{}", port.number, port.protocol);
            let binding = published
                .get(&key)
                .and_then(|bindings| bindings.as_ref())
                .and_then(|bindings| {
                    bindings
                        .iter()
                        .find(|binding| binding.host_ip.as_deref() != Some("::"))
                        .or_else(|| bindings.first())
                });
            port.host_port = binding
                .and_then(|binding| binding.host_port.as_deref())
                .and_then(|port| port.parse().ok());
            port.host_ip = binding.and_then(|binding| reached_at(binding.host_ip.clone(), remote));
            port.url = match (&port.host_ip, port.host_port) {
                (Some(ip), Some(host_port)) if !port.application_protocol.is_empty() => {
                    let ip = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.clone()
                    };
                    Some(format!("{}://{ip}:{host_port}", port.application_protocol))
                }
                _ => None,
            };
            port
        })
        .collect();
    let state = container
        .state
        .as_ref()
        .and_then(|state| state.status.map(|status| status.to_string()))
        .unwrap_or_else(|| "unknown".to_owned());
    let ip_address = settings
        .networks
        .as_ref()
        .and_then(|networks| networks.get(network))
        .and_then(|endpoint| endpoint.ip_address.clone())
        .filter(|ip| !ip.is_empty());
    ServiceView {
        name: labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
        container: container
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        state,
        image: config.image.clone().unwrap_or_default(),
        image_id: labels.get(LABEL_IMAGE_ID).cloned(),
        store_path: labels.get(LABEL_STORE_PATH).cloned(),
        ip_address,
        ports,
        instruction: labels.get(LABEL_INSTRUCTION).cloned(),
    }
}

/// Seconds since 1970.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `2026-11-24 22:17:13 UTC` for seconds since 1970.
pub fn format_time(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

// ---------------------------------------------------------------------------------------
// `starflake enclave ...`

#[derive(Serialize)]
struct EnclaveSummary {
    name: String,
    package: String,
    network: String,
    services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
}

/// Every enclave: the networks starflake labelled.
async fn list(docker: &Docker, host: &str) -> Result<Vec<EnclaveSummary>, String> {
    let filters = HashMap::from([("label", vec![LABEL_ENCLAVE])]);
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|error| describe("cannot list the networks", host, &error))?;
    let mut enclaves = Vec::new();
    for network in networks {
        let labels = network.labels.unwrap_or_default();
        let Some(name) = labels.get(LABEL_ENCLAVE).cloned() else {
            continue;
        };
        let mut services: Vec<String> = containers(docker, &name)
            .await
            .map_err(|error| describe("cannot list the containers", host, &error))?
            .into_iter()
            .filter_map(|container| container.labels?.get(LABEL_SERVICE).cloned())
            .collect();
        services.sort();
        enclaves.push(EnclaveSummary {
            package: labels.get(LABEL_PACKAGE).cloned().unwrap_or_default(),
            network: network.name.unwrap_or_default(),
            created: labels
                .get(LABEL_CREATED)
                .and_then(|seconds| seconds.parse().ok())
                .map(format_time),
            services,
            name,
        });
    }
    enclaves.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(enclaves)
}

#[derive(Serialize)]
struct EnclaveDetails {
    name: String,
    package: String,
    network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    services: Vec<ServiceView>,
    volumes: Vec<String>,
    state_dir: String,
}

async fn inspect(
    docker: &Docker,
    host: &str,
    remote: Option<&str>,
    name: &str,
) -> Result<EnclaveDetails, String> {
    let network = find_network(docker, name)
        .await
        .map_err(|error| describe("cannot list the networks", host, &error))?
        .ok_or_else(|| no_such_enclave(name))?;
    let mut services = Vec::new();
    for summary in containers(docker, name)
        .await
        .map_err(|error| describe("cannot list the containers", host, &error))?
    {
        let labels = summary.labels.clone().unwrap_or_default();
        if !labels.contains_key(LABEL_SERVICE) {
            continue;
        }
        let Some(id) = summary.id else { continue };
        let container = docker
            .inspect_container(&id, None)
            .await
            .map_err(|error| describe("cannot inspect a container", host, &error))?;
        services.push(service_view(&container, &network.name, remote));
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(EnclaveDetails {
        name: name.to_owned(),
        package: network
            .labels
            .get(LABEL_PACKAGE)
            .cloned()
            .unwrap_or_default(),
        created: network
            .labels
            .get(LABEL_CREATED)
            .and_then(|seconds| seconds.parse().ok())
            .map(format_time),
        network: network.name,
        services,
        volumes: volumes(docker, name)
            .await
            .map_err(|error| describe("cannot list the volumes", host, &error))?,
        state_dir: state_dir(name).display().to_string(),
    })
}

fn no_such_enclave(name: &str) -> String {
    format!("there is no enclave `{name}` (`starflake enclave ls` lists them)")
}

/// What `starflake enclave` does.
pub enum EnclaveCommand {
    List,
    Inspect(String),
    Remove(String),
    Unlock(String),
}

/// `enclave rm`: removes the enclave while holding its lock, so that no run is changing it.
async fn remove_locked(engine: &Engine, name: &str) -> Result<Removed, String> {
    let holder = lock::Holder::this_process(None, lock::Rollback::Never);
    let acquired = lock::acquire(engine, name, &holder)
        .await
        .map_err(|error| error.to_string())?;
    if let Some(ended) = &acquired.taken_over {
        eprintln!("{}", ended.taken_over_note(name));
    }
    let removed = remove_enclave(engine.client(), &engine.host, name).await;
    let released = acquired.lock.release(engine.client(), &engine.host).await;
    let removed = removed?;
    released?;
    Ok(removed)
}

/// Runs `starflake enclave ls|inspect|rm`; returns the exit code.
pub async fn command(command: EnclaveCommand, json: bool) -> u8 {
    let connected = crate::native::docker::Engine::connect().await;
    let engine = match crate::native::build::connected(connected, false) {
        Ok(engine) => engine,
        Err(failure) => return failure.report(json),
    };
    let docker = engine.client();
    let host = engine.host.as_str();
    let result: Result<String, String> = match command {
        EnclaveCommand::List => list(docker, host).await.map(|enclaves| {
            if json {
                json_text(&serde_json::json!({ "enclaves": enclaves }))
            } else if enclaves.is_empty() {
                "no enclaves\n".to_owned()
            } else {
                let mut rows = vec![vec![
                    "NAME".to_owned(),
                    "SERVICES".to_owned(),
                    "CREATED".to_owned(),
                    "PACKAGE".to_owned(),
                ]];
                for enclave in &enclaves {
                    rows.push(vec![
                        enclave.name.clone(),
                        if enclave.services.is_empty() {
                            "-".to_owned()
                        } else {
                            enclave.services.join(",")
                        },
                        enclave.created.clone().unwrap_or_else(|| "-".to_owned()),
                        enclave.package.clone(),
                    ]);
                }
                table(&rows)
            }
        }),
        EnclaveCommand::Unlock(name) => match check_name(&name) {
            Err(message) => Err(message),
            Ok(()) => lock::force_release(docker, host, &name).await.map(|holder| {
                match holder {
                    Some(holder) => format!(
                        "released the lock of enclave {name}, held by {}\n  `starflake enclave inspect {name}` shows what that command left, `starflake enclave rm {name}` removes it\n",
                        holder.describe()
                    ),
                    None => format!("enclave {name} was not locked\n"),
                }
            }),
        },
        EnclaveCommand::Inspect(name) => match check_name(&name) {
            Err(message) => Err(message),
            Ok(()) => inspect(docker, host, engine.remote.as_deref(), &name)
                .await
                .map(|details| {
                    if json {
                        json_text(&details)
                    } else {
                        render_details(&details)
                    }
                }),
        },
        EnclaveCommand::Remove(name) => match check_name(&name) {
            Err(message) => Err(message),
            Ok(()) => {
                let known = find_network(docker, &name)
                    .await
                    .map_err(|error| describe("cannot list the networks", host, &error));
                match known {
                    Err(message) => Err(message),
                    Ok(network) => {
                        let leftovers = containers(docker, &name)
                            .await
                            .map(|list| !list.is_empty())
                            .unwrap_or(false);
                        if network.is_none() && !leftovers && !state_dir(&name).exists() {
                            Err(no_such_enclave(&name))
                        } else {
                            remove_locked(&engine, &name).await.map(|removed| {
                                if json {
                                    json_text(&serde_json::json!({
                                        "enclave": name,
                                        "removed": removed,
                                    }))
                                } else {
                                    format!(
                                        "removed enclave {name}: {} container{}, {} volume{}, network {}\n",
                                        removed.containers.len(),
                                        if removed.containers.len() == 1 { "" } else { "s" },
                                        removed.volumes.len(),
                                        if removed.volumes.len() == 1 { "" } else { "s" },
                                        if removed.networks.is_empty() {
                                            "-".to_owned()
                                        } else {
                                            removed.networks.join(", ")
                                        }
                                    )
                                }
                            })
                        }
                    }
                }
            }
        },
    };
    match result {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(message) => crate::native::build::CommandFailure::new("enclave", message).report(json),
    }
}

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn render_details(details: &EnclaveDetails) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "enclave  {}", details.name);
    let _ = writeln!(out, "package  {}", details.package);
    let _ = writeln!(out, "network  {}", details.network);
    if let Some(created) = &details.created {
        let _ = writeln!(out, "created  {created}");
    }
    let _ = writeln!(out, "files    {}", details.state_dir);
    if !details.volumes.is_empty() {
        let _ = writeln!(out, "volumes  {}", details.volumes.join(", "));
    }
    if details.services.is_empty() {
        let _ = writeln!(out, "\nno services");
        return out;
    }
    for service in &details.services {
        let _ = writeln!(out, "\n{}  ({})", service.name, service.state);
        let _ = writeln!(out, "  container  {}", service.container);
        let _ = writeln!(out, "  image      {}", service.image);
        if let Some(id) = &service.image_id {
            let _ = writeln!(out, "  image id   {id}");
        }
        if let Some(path) = &service.store_path {
            let _ = writeln!(out, "  store path {path}");
        }
        if let Some(ip) = &service.ip_address {
            let _ = writeln!(out, "  address    {ip}");
        }
        for port in &service.ports {
            let url = port
                .url
                .as_ref()
                .map(|url| format!("  {url}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  port {:9} {}{url}", port.id, port.mapping());
        }
        if let Some(at) = &service.instruction {
            let _ = writeln!(out, "  added at   {at}");
        }
    }
    out
}

/// Left-aligned columns, two spaces apart.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .map(|row| row.get(column).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:width$}  ", width = widths[column]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(default_name("github.com/org/Hello_Nix"), "hello-nix");
        assert_eq!(default_name("///"), "default");
        assert!(check_name("demo-1").is_ok());
        assert!(check_name("Demo").is_err());
        assert!(check_name("a--b").is_err());
        assert!(check_name("-a").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_795_990_633), "2026-11-29 22:17:13 UTC");
    }
}

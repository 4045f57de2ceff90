//! Executes the steps of a plan on Docker, one after the other.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::StartExecResults;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, ExecConfig, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::task::TaskTracker;

use super::artifacts::{self, Artifacts};
use super::enclave::{self, PortView, ServiceView};
use super::http;
use super::resolve::{self, Fnv, Results};
use crate::plan::{FilesMount, Instruction, Location, PortSpec, ReadyCondition, Recipe, Step};

/// Lines of a service's log shown when it fails.
pub const LOG_LINES: usize = 20;
/// How long one HTTP request of a recipe may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of `request`'s `acceptable_codes`: any 2xx.
fn default_http_code(code: i64) -> bool {
    (200..300).contains(&code)
}

/// An image a step uses, as it is in Docker.
#[derive(Clone, Debug)]
pub struct ImageInfo {
    /// The reference the container is created from.
    pub reference: String,
    pub id: String,
    pub store_path: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// New in this run.
    Created,
    /// Its config or image changed: replaced.
    Recreated,
    /// Same config and image, already running: left alone.
    Unchanged,
    /// Same config and image, was stopped: started again.
    Started,
    Stopped,
    Removed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Recreated => "recreated",
            Status::Unchanged => "unchanged",
            Status::Started => "started",
            Status::Stopped => "stopped",
            Status::Removed => "removed",
        }
    }
}

/// A service of this run.
pub struct Service {
    pub container_id: String,
    pub status: Status,
    pub view: ServiceView,
    pub ports: BTreeMap<String, PortSpec>,
}

/// Why a step failed: a sentence, then detail lines (the last result, log lines).
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub details: Vec<String>,
    /// The Docker engine went away: retrying (a wait, a ready condition) is pointless.
    pub fatal: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            details: Vec::new(),
            fatal: false,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

pub struct Executor<'a> {
    pub docker: &'a Docker,
    pub host: String,
    /// The engine's machine when it is not this one: ports are published on all its
    /// interfaces and reached there, not on loopback and the enclave network's addresses.
    pub remote: Option<String>,
    pub enclave: String,
    pub package: String,
    pub network: String,
    /// Labels every container and volume of this run carries, to roll back exactly them.
    pub run_id: String,
    pub root: PathBuf,
    pub images: BTreeMap<String, ImageInfo>,
    pub results: Results,
    pub artifacts: Artifacts,
    pub services: BTreeMap<String, Service>,
    pub prints: Vec<String>,
    /// The Docker calls in flight that make a container or a volume (see `making`).
    pub makes: TaskTracker,
}

type StepResult = Result<String, Failure>;

impl Executor<'_> {
    fn docker_error(&self, what: &str, error: &bollard::errors::Error) -> Failure {
        let mut failure = Failure::new(enclave::describe(what, &self.host, error));
        failure.fatal = enclave::engine_gone(error);
        failure
    }

    /// Runs a Docker call that makes something in a task of its own. Ctrl-C abandons the
    /// step that waits for it, but not the call, which the engine would finish anyway:
    /// [`Executor::settle`] waits for every call in flight, so that a rollback after it sees
    /// everything the step made.
    async fn making<T: Send + 'static>(
        &self,
        call: impl Future<Output = Result<T, bollard::errors::Error>> + Send + 'static,
    ) -> Result<T, bollard::errors::Error> {
        self.makes.spawn(call).await.unwrap_or_else(|error| {
            Err(bollard::errors::Error::IOError {
                err: std::io::Error::other(error),
            })
        })
    }

    /// Waits for the Docker calls in flight that make something (see `making`).
    pub async fn settle(&self) {
        self.makes.close();
        self.makes.wait().await;
    }

    fn labels(&self, at: &Location) -> HashMap<String, String> {
        HashMap::from([
            (enclave::LABEL_ENCLAVE.to_owned(), self.enclave.clone()),
            (enclave::LABEL_PACKAGE.to_owned(), self.package.clone()),
            (
                enclave::LABEL_INSTRUCTION.to_owned(),
                format!("{}:{}", at.file, at.line),
            ),
            (enclave::LABEL_RUN.to_owned(), self.run_id.clone()),
        ])
    }

    /// Runs step `number` (1-based); returns what it did, in a few words.
    pub async fn execute(&mut self, number: u64, step: &Step) -> StepResult {
        match &step.instruction {
            Instruction::AddService {
                name,
                config,
                force_update,
            } => {
                self.add_service(number, &step.at, name, config, *force_update)
                    .await
            }
            Instruction::SetService { name, config } => {
                if !self.services.contains_key(name) {
                    let found = enclave::service_container(self.docker, &self.enclave, name)
                        .await
                        .map_err(|error| self.docker_error("cannot find the service", &error))?;
                    if found.is_none() {
                        return Err(Failure::new(format!(
                            "there is no service `{name}` in enclave {}",
                            self.enclave
                        )));
                    }
                }
                self.add_service(number, &step.at, name, config, false)
                    .await
            }
            Instruction::RemoveService { name } => self.remove_service(name).await,
            Instruction::StartService { name } => self.start_service(name).await,
            Instruction::StopService { name } => self.stop_service(name).await,
            Instruction::GetService { .. }
            | Instruction::GetServices
            | Instruction::GetFilesArtifact { .. }
            | Instruction::GetClusterType => Ok("nothing to do".to_owned()),
            Instruction::Exec {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            }
            | Instruction::Request {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            } => {
                let exec = matches!(step.instruction, Instruction::Exec { .. });
                // The time it may take, the codes that are good without `acceptable_codes`
                // (and how to say so), and the field a failure shows the end of.
                let (timeout, default_ok, default_text, field): (_, fn(i64) -> bool, _, _) = if exec
                {
                    (REQUEST_TIMEOUT * 6, |code| code == 0, "0", "output")
                } else {
                    (REQUEST_TIMEOUT, default_http_code, "2xx", "body")
                };
                let result = self.run_recipe(service_name, recipe, timeout).await?;
                let code = result.get("code").and_then(Value::as_i64).unwrap_or(-1);
                let ok = *skip_code_check
                    || match acceptable_codes {
                        Some(codes) => codes.contains(&code),
                        None => default_ok(code),
                    };
                let shown = result.get(field).map(resolve::as_text).unwrap_or_default();
                self.results.set(number, result);
                if !ok {
                    let recipe = recipe_text(recipe);
                    let what = if exec {
                        format!("`{recipe}` in service `{service_name}` exited with code {code}")
                    } else {
                        format!("{recipe} on service `{service_name}` answered {code}")
                    };
                    let expected = acceptable_text(acceptable_codes, default_text);
                    let mut failure = Failure::new(format!("{what}{expected}"));
                    failure.details = tail_lines(&shown, LOG_LINES, field);
                    return Err(failure);
                }
                Ok(if exec {
                    format!("exit code {code}")
                } else {
                    format!("HTTP {code}")
                })
            }
            Instruction::Wait {
                service_name,
                recipe,
                field,
                assertion,
                target_value,
                interval,
                timeout,
            } => {
                let Some(service_name) = service_name else {
                    return Err(Failure::new(
                        "`wait` without `service_name` cannot run here",
                    ));
                };
                let condition = ReadyCondition {
                    recipe: recipe.clone(),
                    field: field.clone(),
                    assertion: assertion.clone(),
                    target_value: target_value.clone(),
                    interval: interval.clone(),
                    timeout: timeout.clone(),
                };
                let (result, waited) = self.poll(service_name, &condition, "wait").await?;
                self.results.set(number, result);
                Ok(format!("held after {:.1}s", waited.as_secs_f64()))
            }
            Instruction::Verify {
                value,
                assertion,
                target_value,
            } => {
                let value = self.results.resolve_value(value)?;
                let target = self.results.resolve_value(target_value)?;
                if resolve::assert(&value, assertion, &target)? {
                    Ok(format!("{value} {assertion} {target}"))
                } else {
                    Err(Failure::new(format!(
                        "verify failed: {value} {assertion} {target} does not hold"
                    )))
                }
            }
            Instruction::Print { msg } => {
                let text = self.results.resolve_text(msg)?;
                self.prints.push(text.clone());
                Ok(text)
            }
            Instruction::UploadFiles { src, path, name } => {
                let Some(path) = path else {
                    return Err(Failure::new(format!(
                        "`{src}` is not in the package; only local files can be uploaded"
                    )));
                };
                let source = self.root.join(path);
                let target = self
                    .artifacts
                    .create(name)
                    .map_err(|error| format!("cannot create artifact `{name}`: {error}"))?;
                artifacts::copy_named(&source, &target)
                    .map_err(|error| format!("cannot copy `{}`: {error}", source.display()))?;
                self.artifacts
                    .seal(name)
                    .map_err(|error| format!("cannot read artifact `{name}`: {error}"))?;
                self.results
                    .set(number, BTreeMap::from([("name".to_owned(), json!(name))]));
                Ok(format!("artifact {name}"))
            }
            Instruction::RenderTemplates { name, config } => {
                let target = self
                    .artifacts
                    .create(name)
                    .map_err(|error| format!("cannot create artifact `{name}`: {error}"))?;
                for (destination, template) in config {
                    let data = self.results.resolve_value(&template.data)?;
                    let text = resolve::render_template(&template.template, &data)
                        .map_err(|error| format!("template for `{destination}`: {error}"))?;
                    let file = artifacts::inside(&target, destination)?;
                    if let Some(parent) = file.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|error| format!("cannot write `{destination}`: {error}"))?;
                    }
                    std::fs::write(&file, text)
                        .map_err(|error| format!("cannot write `{destination}`: {error}"))?;
                }
                self.artifacts
                    .seal(name)
                    .map_err(|error| format!("cannot read artifact `{name}`: {error}"))?;
                Ok(format!("artifact {name}"))
            }
            Instruction::StoreServiceFiles {
                service_name,
                src,
                name,
            } => {
                let container = self.container_of(service_name).await?;
                self.store(&container, src, name).await?;
                Ok(format!("artifact {name}"))
            }
            Instruction::RunSh {
                run,
                image,
                files,
                store,
                env_vars,
                wait,
            } => {
                let command = vec!["sh".to_owned(), "-c".to_owned(), run.clone()];
                self.task(
                    number, &step.at, image, command, files, store, env_vars, wait,
                )
                .await
            }
            Instruction::RunPython {
                run,
                image,
                args,
                files,
                store,
                wait,
                ..
            } => {
                let mut command = vec!["python".to_owned(), "-c".to_owned(), run.clone()];
                command.extend(args.iter().cloned());
                self.task(
                    number,
                    &step.at,
                    image,
                    command,
                    files,
                    store,
                    &BTreeMap::new(),
                    wait,
                )
                .await
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // services

    async fn add_service(
        &mut self,
        number: u64,
        at: &Location,
        name: &str,
        config: &crate::plan::ServiceConfig,
        force_update: bool,
    ) -> StepResult {
        let image =
            self.images.get(&config.image).cloned().ok_or_else(|| {
                Failure::new(format!("image `{}` is not in Docker", config.image))
            })?;
        let mut resolved = config.clone();
        resolved.entrypoint = self.resolve_all(&config.entrypoint)?;
        resolved.cmd = self.resolve_all(&config.cmd)?;
        resolved.env_vars = config
            .env_vars
            .iter()
            .map(|(key, value)| Ok((key.clone(), self.results.resolve_text(value)?)))
            .collect::<Result<_, String>>()?;

        // The hash of everything the container is made of.
        let mut hash = Fnv::default();
        hash.field(b"starflake-service-v1");
        hash.field(self.network.as_bytes());
        hash.field(
            serde_json::to_string(&resolved)
                .unwrap_or_default()
                .as_bytes(),
        );
        hash.field(image.id.as_bytes());
        for mount in config.files.values() {
            for artifact in mount_artifacts(mount) {
                let content = self.artifacts.hash(&artifact).ok_or_else(|| {
                    Failure::new(format!(
                        "files artifact `{artifact}` does not exist (yet) in this run"
                    ))
                })?;
                hash.field(artifact.as_bytes());
                hash.field(content.as_bytes());
            }
        }
        let hash = hash.hex();

        let existing = enclave::service_container(self.docker, &self.enclave, name)
            .await
            .map_err(|error| self.docker_error("cannot look for the service", &error))?;
        let mut status = Status::Created;
        let mut container_id = None;
        if let Some(container) = existing {
            let labels = container
                .config
                .as_ref()
                .and_then(|config| config.labels.clone())
                .unwrap_or_default();
            let id = container.id.clone().unwrap_or_default();
            if labels.get(enclave::LABEL_CONFIG_HASH) == Some(&hash) && !force_update {
                let running = container
                    .state
                    .as_ref()
                    .and_then(|state| state.running)
                    .unwrap_or(false);
                if running {
                    status = Status::Unchanged;
                } else {
                    self.docker
                        .start_container(&id, None)
                        .await
                        .map_err(|error| self.docker_error("cannot start the service", &error))?;
                    status = Status::Started;
                }
                container_id = Some(id);
            } else {
                enclave::remove_container(self.docker, &id)
                    .await
                    .map_err(|error| {
                        self.docker_error("cannot remove the previous container", &error)
                    })?;
                self.remove_files_volumes(&labels).await;
                status = Status::Recreated;
            }
        }
        let container_id = match container_id {
            Some(id) => id,
            None => {
                self.create_service(at, name, &resolved, &image, &hash)
                    .await?
            }
        };
        let container = self
            .docker
            .inspect_container(&container_id, None)
            .await
            .map_err(|error| self.docker_error("cannot inspect the service", &error))?;
        let view = enclave::service_view(&container, &self.network, self.remote.as_deref());
        let ip = view.ip_address.clone().unwrap_or_default();
        self.results.set(
            number,
            BTreeMap::from([
                ("ip_address".to_owned(), json!(ip)),
                ("hostname".to_owned(), json!(name)),
                ("name".to_owned(), json!(name)),
            ]),
        );
        let mapped: Vec<String> = view.ports.iter().map(PortView::mapping).collect();
        self.services.insert(
            name.to_owned(),
            Service {
                container_id: container_id.clone(),
                status,
                view,
                ports: config.ports.clone(),
            },
        );
        self.wait_for_ports(name).await?;
        if let Some(condition) = &config.ready_conditions {
            self.poll(name, condition, "ready condition").await?;
        }
        let mut summary = format!("{} {name}", status.word());
        if !mapped.is_empty() {
            summary.push_str(&format!(", {}", mapped.join(", ")));
        }
        Ok(summary)
    }

    fn resolve_all(&self, items: &[String]) -> Result<Vec<String>, String> {
        items
            .iter()
            .map(|item| self.results.resolve_text(item))
            .collect()
    }

    /// The volumes of `files`, as Docker mounts, and the names of the files volumes made
    /// for them (the owner removes these with its container).
    ///
    /// Files artifacts travel into volumes through the engine's API, never as host folders
    /// bind-mounted: a remote engine cannot see the host's folders, and one code path for
    /// every engine, tested on both, costs a local one a volume and an archive upload per
    /// `files` entry and one container, never started, per service (0.1 to 0.25 s measured
    /// on a busy 2-core machine, mostly creating and removing that container).
    async fn mounts(
        &mut self,
        owner: &str,
        hash: &str,
        image: &ImageInfo,
        files: &BTreeMap<String, FilesMount>,
    ) -> Result<(Vec<Mount>, Vec<String>), Failure> {
        let mut mounts = Vec::new();
        let mut filled = Vec::new();
        for (index, (target, mount)) in files.iter().enumerate() {
            if let FilesMount::Directory {
                persistent_key: Some(key),
                ..
            } = mount
            {
                let volume = enclave::volume_name(&self.enclave, key);
                let exists = self.docker.inspect_volume(&volume).await.is_ok();
                if !exists {
                    self.create_volume(&volume).await?;
                }
                mounts.push(Mount {
                    target: Some(target.clone()),
                    source: Some(volume),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                });
                continue;
            }
            let volume = enclave::volume_name(
                &self.enclave,
                &format!("{owner}-files-{}-{index}", &hash[..hash.len().min(12)]),
            );
            let sources: Vec<PathBuf> = mount_artifacts(mount)
                .iter()
                .map(|artifact| self.artifacts.path(artifact))
                .collect();
            let archive = artifacts::tar_of_contents(&sources)
                .map_err(|error| format!("cannot pack the files of `{target}`: {error}"))?;
            filled.push((volume.clone(), archive));
            mounts.push(Mount {
                target: Some(target.clone()),
                source: Some(volume),
                typ: Some(MountType::VOLUME),
                read_only: Some(true),
                ..Default::default()
            });
        }
        let names = filled.iter().map(|(volume, _)| volume.clone()).collect();
        if !filled.is_empty() {
            let copier = enclave::container_name(
                &self.enclave,
                &format!("{owner}-files-{}", &hash[..hash.len().min(12)]),
            );
            self.fill_volumes(&copier, image, filled).await?;
        }
        Ok((mounts, names))
    }

    /// A volume with this run's labels (so that a rollback and `enclave rm` remove it).
    async fn create_volume(&self, volume: &str) -> Result<(), Failure> {
        let mut labels = self.labels(&Location::default());
        labels.remove(enclave::LABEL_INSTRUCTION);
        let request = VolumeCreateRequest {
            name: Some(volume.to_owned()),
            labels: Some(labels),
            ..Default::default()
        };
        let docker = self.docker.clone();
        self.making(async move { docker.create_volume(request).await })
            .await
            .map_err(|error| self.docker_error("cannot create a volume", &error))?;
        Ok(())
    }

    /// Makes each volume anew holding its tar archive: Docker unpacks an upload only into a
    /// container, so one container `copier` of `image` (already on the engine) is created
    /// with the volumes mounted, given the archives, and removed without ever being started.
    async fn fill_volumes(
        &self,
        copier: &str,
        image: &ImageInfo,
        volumes: Vec<(String, Vec<u8>)>,
    ) -> Result<(), Failure> {
        // Volumes of these names, and the copier, are what an interrupted run left.
        let _ = enclave::remove_container(self.docker, copier).await;
        let mut mounts = Vec::new();
        for (index, (volume, _)) in volumes.iter().enumerate() {
            let _ = enclave::remove_volume(self.docker, volume).await;
            self.create_volume(volume).await?;
            mounts.push(Mount {
                target: Some(format!("/starflake-files/{index}")),
                source: Some(volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            });
        }
        let mut labels = self.labels(&Location::default());
        labels.remove(enclave::LABEL_INSTRUCTION);
        let created = self
            .create_container(
                copier.to_owned(),
                ContainerCreateBody {
                    image: Some(image.reference.clone()),
                    // Never run: the image may have no command at all.
                    entrypoint: Some(vec!["/starflake-files/never-started".to_owned()]),
                    labels: Some(labels),
                    host_config: Some(HostConfig {
                        mounts: Some(mounts),
                        network_mode: Some("none".to_owned()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| {
                self.docker_error("cannot create a container to fill volumes", &error)
            })?;
        let mut uploaded = Ok(());
        for (index, (volume, archive)) in volumes.into_iter().enumerate() {
            let into = format!("/starflake-files/{index}");
            uploaded = self
                .docker
                .upload_to_container(
                    &created.id,
                    Some(
                        UploadToContainerOptionsBuilder::default()
                            .path(&into)
                            .build(),
                    ),
                    bollard::body_full(archive.into()),
                )
                .await
                .map_err(|error| {
                    self.docker_error(&format!("cannot copy files into volume {volume}"), &error)
                });
            if uploaded.is_err() {
                break;
            }
        }
        let _ = enclave::remove_container(self.docker, &created.id).await;
        uploaded
    }

    /// Removes the files volumes listed in a container's `LABEL_MOUNTS` (once it is gone).
    async fn remove_files_volumes(&self, labels: &HashMap<String, String>) {
        let listed = labels.get(enclave::LABEL_MOUNTS).map(String::as_str);
        for volume in listed
            .unwrap_or_default()
            .split(',')
            .filter(|v| !v.is_empty())
        {
            let _ = enclave::remove_volume(self.docker, volume).await;
        }
    }

    async fn create_service(
        &mut self,
        at: &Location,
        name: &str,
        config: &crate::plan::ServiceConfig,
        image: &ImageInfo,
        hash: &str,
    ) -> Result<String, Failure> {
        let (mounts, files_volumes) = self.mounts(name, hash, image, &config.files).await?;
        let mut labels: HashMap<String, String> = config
            .labels
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        labels.extend(self.labels(at));
        labels.insert(enclave::LABEL_SERVICE.to_owned(), name.to_owned());
        labels.insert(enclave::LABEL_CONFIG_HASH.to_owned(), hash.to_owned());
        labels.insert(enclave::LABEL_IMAGE_ID.to_owned(), image.id.clone());
        if let Some(path) = &image.store_path {
            labels.insert(enclave::LABEL_STORE_PATH.to_owned(), path.clone());
        }
        labels.insert(enclave::LABEL_MOUNTS.to_owned(), files_volumes.join(","));
        let declared: BTreeMap<String, PortView> = config
            .ports
            .iter()
            .map(|(id, port)| {
                (
                    id.clone(),
                    PortView {
                        id: id.clone(),
                        number: u16::try_from(port.number).unwrap_or(0),
                        protocol: protocol(port),
                        application_protocol: port.application_protocol.clone(),
                        host_ip: None,
                        host_port: None,
                        url: None,
                    },
                )
            })
            .collect();
        labels.insert(
            enclave::LABEL_PORTS.to_owned(),
            serde_json::to_string(&declared).unwrap_or_default(),
        );
        // A remote engine publishes on every interface of its machine (empty), as this
        // machine must reach it; a local one on loopback only.
        let published_on = if self.remote.is_some() {
            ""
        } else {
            "127.0.0.1"
        };
        let mut bindings = HashMap::new();
        let mut exposed = Vec::new();
        for (id, port) in &config.ports {
            let key = format!("{}/{}", port.number, protocol(port));
            let host_port = config
                .public_ports
                .get(id)
                .map(|public| public.number.to_string())
                .unwrap_or_default();
            exposed.push(key.clone());
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(published_on.to_owned()),
                    host_port: Some(host_port),
                }]),
            );
        }
        let user = config.user.as_ref().map(|user| match user.gid {
            Some(gid) => format!("{}:{gid}", user.uid),
            None => user.uid.to_string(),
        });
        let body = ContainerCreateBody {
            image: Some(image.reference.clone()),
            hostname: Some(name.to_owned()),
            env: Some(
                config
                    .env_vars
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect(),
            ),
            cmd: (!config.cmd.is_empty()).then(|| config.cmd.clone()),
            entrypoint: (!config.entrypoint.is_empty()).then(|| config.entrypoint.clone()),
            user,
            tty: config.tty_enabled,
            labels: Some(labels),
            exposed_ports: Some(exposed),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                init: Some(config.tini_enabled.unwrap_or(true)),
                memory: config
                    .max_memory
                    .filter(|mb| *mb > 0)
                    .map(|mb| mb * 1024 * 1024),
                nano_cpus: config
                    .max_cpu
                    .filter(|millis| *millis > 0)
                    .map(|millis| millis * 1_000_000),
                mounts: Some(mounts),
                cap_add: (!config.capabilities.is_empty()).then(|| config.capabilities.clone()),
                devices: (!config.devices.is_empty()).then(|| {
                    config
                        .devices
                        .iter()
                        .map(|device| DeviceMapping {
                            path_on_host: Some(device.clone()),
                            path_in_container: Some(device.clone()),
                            cgroup_permissions: Some("rwm".to_owned()),
                        })
                        .collect()
                }),
                network_mode: Some(self.network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    self.network.clone(),
                    EndpointSettings {
                        aliases: Some(vec![name.to_owned()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let container_name = enclave::container_name(&self.enclave, name);
        let created = self
            .create_container(container_name.clone(), body)
            .await
            .map_err(|error| {
                self.docker_error(&format!("cannot create container {container_name}"), &error)
            })?;
        if let Err(error) = self.docker.start_container(&created.id, None).await {
            let mut failure = self.docker_error(&format!("cannot start service `{name}`"), &error);
            failure.details = enclave::log_tail(self.docker, &created.id, LOG_LINES).await;
            return Err(failure);
        }
        Ok(created.id)
    }

    async fn create_container(
        &self,
        name: String,
        body: ContainerCreateBody,
    ) -> Result<bollard::models::ContainerCreateResponse, bollard::errors::Error> {
        let docker = self.docker.clone();
        self.making(async move {
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            docker.create_container(Some(options), body).await
        })
        .await
    }

    async fn container_of(&self, service: &str) -> Result<String, Failure> {
        if let Some(known) = self.services.get(service)
            && known.status != Status::Removed
        {
            return Ok(known.container_id.clone());
        }
        enclave::service_container(self.docker, &self.enclave, service)
            .await
            .map_err(|error| self.docker_error("cannot find the service", &error))?
            .and_then(|container| container.id)
            .ok_or_else(|| {
                Failure::new(format!(
                    "there is no service `{service}` in enclave {}",
                    self.enclave
                ))
            })
    }

    async fn remove_service(&mut self, name: &str) -> StepResult {
        let id = self.container_of(name).await?;
        let container = self.docker.inspect_container(&id, None).await.ok();
        enclave::remove_container(self.docker, &id)
            .await
            .map_err(|error| self.docker_error("cannot remove the service", &error))?;
        if let Some(labels) = container
            .and_then(|container| container.config)
            .and_then(|config| config.labels)
        {
            self.remove_files_volumes(&labels).await;
        }
        if let Some(service) = self.services.get_mut(name) {
            service.status = Status::Removed;
            service.view.mark_removed();
        }
        Ok(format!("removed {name}"))
    }

    async fn stop_service(&mut self, name: &str) -> StepResult {
        let id = self.container_of(name).await?;
        self.docker
            .stop_container(
                &id,
                Some(StopContainerOptionsBuilder::default().t(10).build()),
            )
            .await
            .map_err(|error| self.docker_error("cannot stop the service", &error))?;
        self.refresh(name, &id, Status::Stopped).await?;
        Ok(format!("stopped {name}"))
    }

    async fn start_service(&mut self, name: &str) -> StepResult {
        let id = self.container_of(name).await?;
        self.docker
            .start_container(&id, None)
            .await
            .map_err(|error| self.docker_error("cannot start the service", &error))?;
        self.refresh(name, &id, Status::Started).await?;
        self.wait_for_ports(name).await?;
        Ok(format!("started {name}"))
    }

    /// Reads the state of every service still there again, for the summary: a container
    /// whose command ended shows as exited, not as it was when it started.
    pub async fn refresh_states(&mut self) {
        let current: Vec<(String, String, Status)> = self
            .services
            .iter()
            .filter(|(_, service)| service.status != Status::Removed)
            .map(|(name, service)| (name.clone(), service.container_id.clone(), service.status))
            .collect();
        for (name, id, status) in current {
            let _ = self.refresh(&name, &id, status).await;
        }
    }

    async fn refresh(&mut self, name: &str, id: &str, status: Status) -> Result<(), Failure> {
        let container = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|error| self.docker_error("cannot inspect the service", &error))?;
        let view = enclave::service_view(&container, &self.network, self.remote.as_deref());
        match self.services.get_mut(name) {
            Some(service) => {
                service.view = view;
                service.status = status;
            }
            None => {
                self.services.insert(
                    name.to_owned(),
                    Service {
                        container_id: id.to_owned(),
                        status,
                        ports: BTreeMap::new(),
                        view,
                    },
                );
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // readiness

    /// Waits until every TCP port with a `wait` accepts connections: on the service's
    /// address in the enclave network, or on a remote engine (whose enclave network this
    /// machine cannot reach) where the port is published on the engine's machine.
    async fn wait_for_ports(&self, name: &str) -> Result<(), Failure> {
        let Some(service) = self.services.get(name) else {
            return Ok(());
        };
        let Some(ip) = service
            .view
            .ip_address
            .as_deref()
            .and_then(|ip| ip.parse::<IpAddr>().ok())
        else {
            return Ok(());
        };
        for (id, port) in &service.ports {
            let Some(wait) = &port.wait else { continue };
            if protocol(port) != "tcp" {
                continue; // UDP and SCTP cannot be probed without the service's help.
            }
            let limit = resolve::parse_duration(wait)?;
            let published = service.view.ports.iter().find(|view| &view.id == id);
            let address = match (&self.remote, published) {
                (None, _) => SocketAddr::new(ip, u16::try_from(port.number).unwrap_or(0)),
                (
                    Some(_),
                    Some(PortView {
                        host_ip: Some(machine),
                        host_port: Some(host_port),
                        ..
                    }),
                ) => reach(machine, *host_port).await?,
                (Some(_), _) => continue, // not published: nothing to probe from here
            };
            let started = Instant::now();
            let mut last;
            loop {
                match tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::TcpStream::connect(address),
                )
                .await
                {
                    Ok(Ok(_)) => break,
                    Ok(Err(error)) => last = error.to_string(),
                    Err(_) => last = "no answer within 1 s".to_owned(),
                }
                if let Some(exited) = self.exited(&service.container_id).await? {
                    let mut failure = Failure::new(format!(
                        "service `{name}` {exited} before port `{id}` ({}/tcp) opened",
                        port.number
                    ));
                    failure.details = self.log_details(&service.container_id).await;
                    return Err(failure);
                }
                if started.elapsed() >= limit {
                    let mut failure = Failure::new(format!(
                        "service `{name}`: port `{id}` ({}/tcp) did not open within {wait} (PortSpec wait); last attempt: {last}",
                        port.number
                    ));
                    failure.details = self.log_details(&service.container_id).await;
                    return Err(failure);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(())
    }

    /// `exited with code N` when the container is no longer running.
    async fn exited(&self, id: &str) -> Result<Option<String>, Failure> {
        let container = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|error| self.docker_error("cannot inspect the service", &error))?;
        let Some(state) = container.state else {
            return Ok(None);
        };
        if state.running == Some(true) {
            return Ok(None);
        }
        Ok(Some(format!(
            "exited with code {}",
            state.exit_code.unwrap_or(-1)
        )))
    }

    async fn log_details(&self, id: &str) -> Vec<String> {
        let lines = enclave::log_tail(self.docker, id, LOG_LINES).await;
        if lines.is_empty() {
            return vec!["the service wrote no log lines".to_owned()];
        }
        let mut details = vec![format!("last {} log lines of the service:", lines.len())];
        details.extend(lines.into_iter().map(|line| format!("  {line}")));
        details
    }

    /// Runs the recipe of `condition` every `interval` until its assertion holds; a
    /// timeout names the service, the condition and the last result, and shows the logs.
    async fn poll(
        &self,
        service: &str,
        condition: &ReadyCondition,
        what: &str,
    ) -> Result<(BTreeMap<String, Value>, Duration), Failure> {
        let interval = resolve::parse_duration(&condition.interval)?;
        let timeout = resolve::parse_duration(&condition.timeout)?;
        let target = self.results.resolve_value(&condition.target_value)?;
        let text = format!(
            "{} `{}` {} {} (recipe {})",
            what,
            condition.field,
            condition.assertion,
            target,
            recipe_text(&condition.recipe)
        );
        let started = Instant::now();
        let mut last;
        loop {
            let remaining = timeout
                .saturating_sub(started.elapsed())
                .max(Duration::from_secs(1));
            match self
                .run_recipe(service, &condition.recipe, remaining.min(REQUEST_TIMEOUT))
                .await
            {
                Ok(result) => {
                    let value = result.get(&condition.field).cloned();
                    match value {
                        Some(value) => {
                            if resolve::assert(&value, &condition.assertion, &target)? {
                                return Ok((result, started.elapsed()));
                            }
                            last = format!("`{}` was {value}", condition.field);
                        }
                        None => {
                            let keys: Vec<&String> = result.keys().collect();
                            last = format!(
                                "the result has no `{}` (it has {keys:?})",
                                condition.field
                            );
                        }
                    }
                    if let Some(body) = result.get("body").or_else(|| result.get("output")) {
                        let body = resolve::as_text(body);
                        let short: String = body.trim().chars().take(200).collect();
                        if !short.is_empty() {
                            last.push_str(&format!("; it said: {short}"));
                        }
                    }
                }
                Err(failure) if failure.fatal => return Err(failure),
                Err(failure) => last = failure.message,
            }
            if started.elapsed() + interval > timeout {
                let mut failure = Failure::new(format!(
                    "service `{service}` did not satisfy the {text} within {}; last result: {last}",
                    condition.timeout
                ));
                if let Ok(id) = self.container_of(service).await {
                    failure.details = self.log_details(&id).await;
                }
                return Err(failure);
            }
            tokio::time::sleep(interval).await;
        }
    }

    // -----------------------------------------------------------------------------------
    // recipes

    async fn run_recipe(
        &self,
        service: &str,
        recipe: &Recipe,
        timeout: Duration,
    ) -> Result<BTreeMap<String, Value>, Failure> {
        match recipe {
            Recipe::Exec { command, extract } => {
                let command = self.resolve_all(command)?;
                let id = self.container_of(service).await?;
                let (output, code) = tokio::time::timeout(timeout, self.exec(&id, command))
                    .await
                    .map_err(|_| {
                        Failure::new(format!(
                            "the command did not finish within {} s",
                            timeout.as_secs()
                        ))
                    })??;
                let mut result = BTreeMap::from([
                    ("output".to_owned(), json!(output)),
                    ("code".to_owned(), json!(code)),
                ]);
                extract_into(&mut result, extract, &output)?;
                Ok(result)
            }
            Recipe::GetHttp {
                port_id,
                endpoint,
                extract,
                headers,
            } => {
                self.http(
                    service, "GET", port_id, endpoint, None, headers, extract, timeout,
                )
                .await
            }
            Recipe::PostHttp {
                port_id,
                endpoint,
                body,
                content_type,
                extract,
                headers,
            } => {
                let body = self.results.resolve_text(body)?;
                self.http(
                    service,
                    "POST",
                    port_id,
                    endpoint,
                    Some((content_type.as_str(), body.as_str())),
                    headers,
                    extract,
                    timeout,
                )
                .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn http(
        &self,
        service: &str,
        method: &str,
        port_id: &str,
        endpoint: &str,
        body: Option<(&str, &str)>,
        headers: &BTreeMap<String, String>,
        extract: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<BTreeMap<String, Value>, Failure> {
        let known = self.services.get(service).ok_or_else(|| {
            Failure::new(format!(
                "service `{service}` was not added by this run, so its ports are unknown"
            ))
        })?;
        let port = known
            .view
            .ports
            .iter()
            .find(|port| port.id == port_id)
            .ok_or_else(|| Failure::new(format!("service `{service}` has no port `{port_id}`")))?;
        let (Some(ip), Some(host_port)) = (&port.host_ip, port.host_port) else {
            return Err(Failure::new(format!(
                "port `{port_id}` of service `{service}` is not published (is the service running?)"
            )));
        };
        let address = reach(ip, host_port).await?;
        let endpoint = self.results.resolve_text(endpoint)?;
        let headers: BTreeMap<String, String> = headers
            .iter()
            .map(|(key, value)| Ok((key.clone(), self.results.resolve_text(value)?)))
            .collect::<Result<_, String>>()?;
        let request = http::Request {
            method,
            address,
            host: format!("{service}:{}", port.number),
            endpoint: &endpoint,
            headers: &headers,
            body,
        };
        let response = http::send(&request, timeout).await.map_err(|error| {
            Failure::new(format!(
                "{method} {endpoint} on service `{service}` ({ip}:{host_port} -> {}): {error}",
                port.number
            ))
        })?;
        let mut result = BTreeMap::from([
            ("code".to_owned(), json!(response.code)),
            ("body".to_owned(), json!(response.body)),
        ]);
        extract_into(&mut result, extract, &response.body)?;
        Ok(result)
    }

    /// Runs a command in a container; returns its output (stdout and stderr) and exit code.
    async fn exec(&self, id: &str, command: Vec<String>) -> Result<(String, i64), Failure> {
        let created = self
            .docker
            .create_exec(
                id,
                ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(command),
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| self.docker_error("cannot run the command", &error))?;
        let mut output = Vec::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|error| self.docker_error("cannot run the command", &error))?
        {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| self.docker_error("lost the command", &error))?;
                output.extend_from_slice(&chunk.into_bytes());
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|error| self.docker_error("cannot read the exit code", &error))?;
        Ok((
            String::from_utf8_lossy(&output).into_owned(),
            inspected.exit_code.unwrap_or(-1),
        ))
    }

    /// Copies `src` out of a container into a new artifact `name`.
    async fn store(&mut self, container: &str, src: &str, name: &str) -> Result<(), Failure> {
        let mut stream = self.docker.download_from_container(
            container,
            Some(
                DownloadFromContainerOptionsBuilder::default()
                    .path(src)
                    .build(),
            ),
        );
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|error| self.docker_error(&format!("cannot copy `{src}` out"), &error))?;
            archive.extend_from_slice(&chunk);
        }
        let target = self
            .artifacts
            .create(name)
            .map_err(|error| format!("cannot create artifact `{name}`: {error}"))?;
        artifacts::untar(&archive, &target)?;
        self.artifacts
            .seal(name)
            .map_err(|error| format!("cannot read artifact `{name}`: {error}"))?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // tasks

    #[allow(clippy::too_many_arguments)]
    async fn task(
        &mut self,
        number: u64,
        at: &Location,
        image: &str,
        command: Vec<String>,
        files: &BTreeMap<String, FilesMount>,
        store: &[crate::plan::StoreSpec],
        env_vars: &BTreeMap<String, String>,
        wait: &Option<String>,
    ) -> StepResult {
        let image = self
            .images
            .get(image)
            .cloned()
            .ok_or_else(|| Failure::new(format!("image `{image}` is not in Docker")))?;
        let command = self.resolve_all(&command)?;
        let env: Vec<String> = env_vars
            .iter()
            .map(|(key, value)| Ok(format!("{key}={}", self.results.resolve_text(value)?)))
            .collect::<Result<_, String>>()?;
        let limit = wait.as_deref().map(resolve::parse_duration).transpose()?;
        let owner = format!("task-{number}");
        let mut hash = Fnv::default();
        hash.field(self.run_id.as_bytes());
        let (mounts, files_volumes) = self.mounts(&owner, &hash.hex(), &image, files).await?;
        let mut labels = self.labels(at);
        labels.insert(enclave::LABEL_TASK.to_owned(), owner.clone());
        let name = format!(
            "{}-{}",
            enclave::container_name(&self.enclave, &owner),
            self.run_id
        );
        let created = self
            .create_container(
                name,
                ContainerCreateBody {
                    image: Some(image.reference.clone()),
                    entrypoint: Some(command),
                    cmd: None,
                    env: Some(env),
                    labels: Some(labels),
                    host_config: Some(HostConfig {
                        mounts: Some(mounts),
                        init: Some(true),
                        network_mode: Some(self.network.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| self.docker_error("cannot create the task container", &error))?;
        let outcome = self.run_task(&created.id, limit, store).await;
        let _ = enclave::remove_container(self.docker, &created.id).await;
        for volume in files_volumes {
            let _ = enclave::remove_volume(self.docker, &volume).await;
        }
        let (code, output) = outcome?;
        self.results.set(
            number,
            BTreeMap::from([
                ("code".to_owned(), json!(code)),
                ("output".to_owned(), json!(output)),
            ]),
        );
        if code != 0 {
            let mut failure = Failure::new(format!("the task exited with code {code}"));
            failure.details = tail_lines(&output, LOG_LINES, "output");
            return Err(failure);
        }
        Ok(format!("exit code {code}"))
    }

    async fn run_task(
        &mut self,
        id: &str,
        limit: Option<Duration>,
        store: &[crate::plan::StoreSpec],
    ) -> Result<(i64, String), Failure> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|error| self.docker_error("cannot start the task", &error))?;
        let wait = async {
            let mut stream = self.docker.wait_container(id, None);
            match stream.next().await {
                Some(Ok(response)) => Ok(response.status_code),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Ok(code)
                }
                Some(Err(error)) => Err(self.docker_error("lost the task", &error)),
                None => Err(Failure::new("lost the task")),
            }
        };
        let code = match limit {
            Some(limit) => match tokio::time::timeout(limit, wait).await {
                Ok(code) => code?,
                Err(_) => {
                    let mut failure = Failure::new(format!(
                        "the task did not finish within {} s (`wait`)",
                        limit.as_secs()
                    ));
                    failure.details = self.log_details(id).await;
                    return Err(failure);
                }
            },
            None => wait.await?,
        };
        let output = enclave::log_tail(self.docker, id, usize::MAX)
            .await
            .join("\n");
        if code == 0 {
            for spec in store {
                self.store(id, &spec.src, &spec.name).await?;
            }
        }
        Ok((code, output))
    }
}

/// The socket address of a published port: `host` is an address, or the name of a remote
/// engine's machine.
async fn reach(host: &str, port: u16) -> Result<SocketAddr, Failure> {
    let unknown = |reason: String| Failure::new(format!("cannot resolve `{host}`: {reason}"));
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| unknown(error.to_string()))?
        .next()
        .ok_or_else(|| unknown("no address".to_owned()))
}

fn protocol(port: &PortSpec) -> String {
    match port.transport_protocol.to_ascii_lowercase().as_str() {
        "" => "tcp".to_owned(),
        other => other.to_owned(),
    }
}

/// The artifact names a `files` entry mounts.
pub fn mount_artifacts(mount: &FilesMount) -> Vec<String> {
    match mount {
        FilesMount::Artifact(name) => vec![name.clone()],
        FilesMount::Directory { artifact_names, .. } => artifact_names.clone(),
    }
}

fn extract_into(
    result: &mut BTreeMap<String, Value>,
    extract: &BTreeMap<String, String>,
    text: &str,
) -> Result<(), Failure> {
    if extract.is_empty() {
        return Ok(());
    }
    let input: Value = serde_json::from_str(text).unwrap_or_else(|_| json!(text));
    for (key, query) in extract {
        let value = resolve::jq(query, &input)?;
        result.insert(format!("extract.{key}"), value);
    }
    Ok(())
}

/// A recipe in a few words: `GET /health on port http`, `exec [pg_isready]`.
pub fn recipe_text(recipe: &Recipe) -> String {
    match recipe {
        Recipe::Exec { command, .. } => format!("exec {command:?}"),
        Recipe::GetHttp {
            port_id, endpoint, ..
        } => format!("GET {endpoint} on port {port_id}"),
        Recipe::PostHttp {
            port_id, endpoint, ..
        } => format!("POST {endpoint} on port {port_id}"),
    }
}

fn acceptable_text(codes: &Option<Vec<i64>>, default: &str) -> String {
    match codes {
        Some(codes) => format!(" (acceptable_codes: {codes:?})"),
        None => format!(" (expected {default})"),
    }
}

fn tail_lines(text: &str, count: usize, what: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let start = lines.len().saturating_sub(count);
    let mut details = vec![format!("last {} lines of the {what}:", lines.len() - start)];
    details.extend(lines[start..].iter().map(|line| format!("  {line}")));
    details
}

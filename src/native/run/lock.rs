//! One command at a time changes an enclave: `starflake run` and `enclave rm` hold the
//! enclave's lock while they work, and a second one refuses at once, saying who holds it.
//!
//! The lock lives on the engine, not in a local file: it is a container named
//! `starflake-lock.<enclave>`, created (never started) to take the lock and removed to release
//! it. Docker reserves a container name atomically, so of two commands creating it at once
//! exactly one succeeds and the other gets 409 Conflict; and because it sits next to the
//! enclave, it holds for every machine that talks to the same engine (`DOCKER_HOST=tcp://...`),
//! which a lock file on one machine would not. Volumes and networks cannot do this: creating a
//! volume that exists succeeds, and Docker checks network names without reserving them.
//!
//! The container's labels say who holds the lock: pid, host, command, since when, and what
//! lets another process on the same machine tell that the holder is gone (killed, crashed,
//! rebooted): the boot ID, the PID namespace and the holder's start time, so that a reused pid
//! is not taken for the holder. A lock whose holder is gone is taken over, with a note. A
//! holder on another machine cannot be checked from here; `starflake enclave unlock` then
//! releases the lock by hand.
//!
//! The container needs an image: a config-only image without layers, made here from a few
//! hundred bytes (the same bytes, hence the same ID, every time), so nothing is pulled.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, ImportImageOptionsBuilder};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::enclave::{self, describe, format_time, now_seconds};
use crate::native::docker::Engine;

/// The image of every lock container.
const LOCK_IMAGE: &str = "starflake/enclave-lock:1";
/// The label that marks a lock container; its value is the enclave.
const LABEL_LOCK: &str = "starflake.lock";
/// The label that holds the [`Holder`], as JSON.
const LABEL_HOLDER: &str = "starflake.lock.holder";

/// The name of the lock container of `enclave`. Container names of services and tasks are
/// `starflake-<enclave>--...`, and an enclave name has no dot, so none can take this one.
pub fn container_name(enclave: &str) -> String {
    format!("starflake-lock.{enclave}")
}

/// Who holds a lock, as the lock container's labels record it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    /// Seconds since 1970.
    pub since: u64,
    /// The boot ID and the PID namespace: where `pid` names the holder.
    pub machine: String,
    /// When the holder started, in clock ticks after boot (`/proc/<pid>/stat`).
    pub started: u64,
    /// The run that holds it, whose containers and volumes carry `starflake.run=<run>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Whether that run rolls back what it made when it stops early.
    #[serde(default)]
    pub rollback: Rollback,
}

/// Whether a run removes what it made when it fails or is interrupted.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Rollback {
    /// `--rollback`.
    Always,
    /// `--no-rollback`, and `enclave rm` (which has nothing to roll back).
    #[default]
    Never,
    /// The default: only when the run made the enclave.
    IfNew,
}

impl Holder {
    /// This process, running `run` (if it is a run).
    pub fn this_process(run: Option<String>, rollback: Rollback) -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            host: read_trimmed("/proc/sys/kernel/hostname")
                .or_else(|| std::env::var("HOSTNAME").ok())
                .unwrap_or_default(),
            command: crate::plan::shell_words(&std::env::args().collect::<Vec<_>>()),
            since: now_seconds(),
            machine: this_machine(),
            started: start_time(pid).unwrap_or_default(),
            run,
            rollback,
        }
    }

    /// Whether the holder has certainly ended: it ran on this machine and no process with
    /// its pid and start time runs now. `None` when it ran elsewhere and nobody here can tell.
    pub fn is_gone(&self) -> Option<bool> {
        if self.machine.is_empty() || self.machine != this_machine() {
            return None;
        }
        Some(start_time(self.pid) != Some(self.started))
    }

    /// What a command says when it takes the lock of `enclave` over from this holder.
    pub fn taken_over_note(&self, enclave: &str) -> String {
        format!(
            "note: {} ended without releasing enclave {enclave}; taking over its lock",
            self.describe()
        )
    }

    /// `starflake run . (pid 123 on host1, since 2026-12-04 20:30:00 UTC)`.
    pub fn describe(&self) -> String {
        format!(
            "`{}` (pid {} on {}, since {})",
            self.command,
            self.pid,
            if self.host.is_empty() {
                "an unknown host"
            } else {
                &self.host
            },
            format_time(self.since)
        )
    }
}

/// The boot ID and PID namespace of this process; empty where `/proc` does not tell them.
fn this_machine() -> String {
    let boot = read_trimmed("/proc/sys/kernel/random/boot_id");
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok();
    match (boot, namespace) {
        (Some(boot), Some(namespace)) => format!("{boot} {}", namespace.display()),
        _ => String::new(),
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks after boot.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// A lock this process holds; [`EnclaveLock::release`] gives it back.
pub struct EnclaveLock {
    container_id: String,
    enclave: String,
}

/// The lock, and the holder whose lock was taken over because it had ended.
pub struct Acquired {
    pub lock: EnclaveLock,
    pub taken_over: Option<Holder>,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another command holds it.
    Held { enclave: String, holder: Holder },
    /// The engine refused or went away.
    Docker(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { enclave, holder } => {
                write!(
                    f,
                    "enclave {enclave} is being changed by {}; wait for it to finish or stop it, then try again",
                    holder.describe()
                )?;
                if holder.is_gone().is_none() {
                    write!(
                        f,
                        "\n  that process runs on another machine (or in another PID namespace), so starflake cannot tell whether it still runs; if it does not, `starflake enclave unlock {enclave}` releases the lock"
                    )?;
                }
                Ok(())
            }
            LockError::Docker(message) => f.write_str(message),
        }
    }
}

/// Takes the lock of `enclave` for `holder`, taking over a lock whose holder has ended.
pub async fn acquire(
    engine: &Engine,
    enclave: &str,
    holder: &Holder,
) -> Result<Acquired, LockError> {
    let (docker, host) = (engine.client(), engine.host.as_str());
    let name = container_name(enclave);
    let docker_error = |what: &str, error: &bollard::errors::Error| {
        LockError::Docker(describe(
            &format!("{what} the lock of enclave {enclave}"),
            host,
            error,
        ))
    };
    let mut taken_over = None;
    // A few rounds: the holder may release the lock, or another command take over the
    // same stale lock, between two calls.
    for _ in 0..4 {
        match create(docker, &name, enclave, holder).await {
            Ok(container_id) => {
                return Ok(Acquired {
                    lock: EnclaveLock {
                        container_id,
                        enclave: enclave.to_owned(),
                    },
                    taken_over,
                });
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => load_image(docker, &engine.architecture)
                .await
                .map_err(|error| docker_error("cannot make the image of", &error))?,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                let Some((id, current)) = read(docker, &name)
                    .await
                    .map_err(|error| docker_error("cannot read", &error))?
                else {
                    continue; // released meanwhile
                };
                if current.is_gone() != Some(true) {
                    return Err(LockError::Held {
                        enclave: enclave.to_owned(),
                        holder: current,
                    });
                }
                enclave::remove_container(docker, &id)
                    .await
                    .map_err(|error| docker_error("cannot take over", &error))?;
                taken_over = Some(current);
            }
            Err(error) => return Err(docker_error("cannot take", &error)),
        }
    }
    Err(LockError::Docker(format!(
        "cannot take the lock of enclave {enclave}: other commands keep taking it; try again"
    )))
}

/// Releases the lock of `enclave` whoever holds it (`starflake enclave unlock`); returns the
/// holder it had, `None` when it was free.
pub async fn force_release(
    docker: &Docker,
    host: &str,
    enclave: &str,
) -> Result<Option<Holder>, String> {
    let what = format!("the lock of enclave {enclave}");
    let Some((id, holder)) = read(docker, &container_name(enclave))
        .await
        .map_err(|error| describe(&format!("cannot read {what}"), host, &error))?
    else {
        return Ok(None);
    };
    enclave::remove_container(docker, &id)
        .await
        .map_err(|error| describe(&format!("cannot remove {what}"), host, &error))?;
    Ok(Some(holder))
}

impl EnclaveLock {
    /// Gives the lock back. When the engine is gone, the lock stays until the next command
    /// sees that this process has ended.
    pub async fn release(self, docker: &Docker, host: &str) -> Result<(), String> {
        enclave::remove_container(docker, &self.container_id)
            .await
            .map_err(|error| {
                describe(
                    &format!("cannot release the lock of enclave {}", self.enclave),
                    host,
                    &error,
                )
            })
    }
}

async fn create(
    docker: &Docker,
    name: &str,
    enclave: &str,
    holder: &Holder,
) -> Result<String, bollard::errors::Error> {
    let labels = HashMap::from([
        (LABEL_LOCK.to_owned(), enclave.to_owned()),
        (
            LABEL_HOLDER.to_owned(),
            serde_json::to_string(holder).unwrap_or_default(),
        ),
    ]);
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(name).build()),
            ContainerCreateBody {
                image: Some(LOCK_IMAGE.to_owned()),
                labels: Some(labels),
                network_disabled: Some(true),
                ..Default::default()
            },
        )
        .await?;
    Ok(created.id)
}

/// The lock container's ID and holder; `None` when there is no lock.
async fn read(
    docker: &Docker,
    name: &str,
) -> Result<Option<(String, Holder)>, bollard::errors::Error> {
    match docker.inspect_container(name, None).await {
        Ok(container) => {
            let holder = container
                .config
                .and_then(|config| config.labels)
                .and_then(|labels| labels.get(LABEL_HOLDER).cloned())
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            Ok(Some((container.id.unwrap_or_default(), holder)))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Loads the lock image: a docker-archive of its config alone.
async fn load_image(docker: &Docker, architecture: &str) -> Result<(), bollard::errors::Error> {
    let mut answers = docker.import_image(
        ImportImageOptionsBuilder::default().quiet(true).build(),
        bollard::body_full(lock_image_archive(architecture).into()),
        None,
    );
    while let Some(answer) = answers.next().await {
        answer?;
    }
    Ok(())
}

/// The archive of the lock image for an engine of `architecture` (`docker info`'s, as
/// `uname -m` names it): a container is made only of an image of the engine's platform.
fn lock_image_archive(architecture: &str) -> Vec<u8> {
    let architecture = match architecture {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let config = serde_json::json!({
        "architecture": architecture,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Cmd": ["starflake-enclave-lock"],
            "Labels": { LABEL_LOCK: "image" },
        },
        "rootfs": { "type": "layers", "diff_ids": [] },
    })
    .to_string();
    let digest: String = Sha256::digest(config.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let config_file = format!("{digest}.json");
    let manifest = serde_json::json!([{
        "Config": config_file,
        "RepoTags": [LOCK_IMAGE],
        "Layers": [],
    }])
    .to_string();
    let mut archive = tar::Builder::new(Vec::new());
    for (path, content) in [
        (config_file.as_str(), config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        // Cannot fail for an in-memory archive of short names.
        let _ = archive.append_data(&mut header, path, content);
    }
    archive.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_holds_and_an_ended_one_does_not() {
        let me = Holder::this_process(None, Rollback::Never);
        assert_eq!(me.is_gone(), Some(false));
        let reused_pid = Holder {
            started: me.started + 1,
            ..me.clone()
        };
        assert_eq!(reused_pid.is_gone(), Some(true));
        let elsewhere = Holder {
            machine: "another boot".to_owned(),
            ..me.clone()
        };
        assert_eq!(elsewhere.is_gone(), None);
        assert!(me.describe().contains(&format!("pid {} on ", me.pid)));
    }

    #[test]
    fn the_lock_image_is_the_same_every_time() {
        assert_eq!(lock_image_archive("x86_64"), lock_image_archive("x86_64"));
        assert_ne!(container_name("a"), enclave::container_name("a", "lock"));
    }
}

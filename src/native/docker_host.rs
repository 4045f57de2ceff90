//! Where the Docker engine is and how to reach it, decided as the docker CLI decides:
//! `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` for TLS), else the current
//! docker context (`DOCKER_CONTEXT`, else `currentContext` in `$DOCKER_CONFIG/config.json`),
//! else the local socket.

use std::path::{Path, PathBuf};

use bollard::{API_DEFAULT_VERSION, Docker};
use sha2::{Digest, Sha256};

/// Where the docker CLI connects when nothing says otherwise.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Seconds bollard waits for one request.
const REQUEST_TIMEOUT: u64 = 120;

/// An engine address and what it came from.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// As the user would write it in `DOCKER_HOST`.
    pub host: String,
    /// The folder of `ca.pem`, `cert.pem` and `key.pem` when the engine speaks TLS.
    pub tls: Option<PathBuf>,
    /// `DOCKER_HOST`, `docker context NAME` or nothing (the default), for messages.
    pub origin: Option<String>,
}

impl Endpoint {
    /// The endpoint the docker CLI would use, from the environment and the docker config
    /// folder.
    pub fn from_environment() -> Result<Endpoint, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let config = var("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|home| home.join(".docker")))
            .unwrap_or_default();
        if let Some(host) = var("DOCKER_HOST") {
            // The docker CLI turns TLS on for any non-empty DOCKER_TLS_VERIFY.
            let tls = var("DOCKER_TLS_VERIFY")
                .map(|_| var("DOCKER_CERT_PATH").map_or_else(|| config.clone(), PathBuf::from));
            return Ok(Endpoint {
                host,
                tls,
                origin: Some("DOCKER_HOST".to_owned()),
            });
        }
        match current_context(&config, var("DOCKER_CONTEXT")) {
            Some(name) => context_endpoint(&config, &name),
            None => Ok(Endpoint {
                host: DEFAULT_HOST.to_owned(),
                tls: None,
                origin: None,
            }),
        }
    }

    /// `HOST (from ORIGIN)`, or the host alone for the default.
    pub fn describe(&self) -> String {
        match &self.origin {
            Some(origin) => format!("{} (from {origin})", self.host),
            None => self.host.clone(),
        }
    }

    /// A client for the endpoint (it connects on its first request).
    pub fn client(&self) -> Result<Docker, bollard::errors::Error> {
        let Some(folder) = &self.tls else {
            let plain = self.host.starts_with("tcp://") || self.host.starts_with("http://");
            return if plain {
                // Not `connect_with_host`: it turns TLS on for an empty DOCKER_TLS_VERIFY,
                // which the docker CLI reads as off.
                Docker::connect_with_http(&self.host, REQUEST_TIMEOUT, API_DEFAULT_VERSION)
            } else {
                Docker::connect_with_host(&self.host)
            };
        };
        // bollard's rustls takes the process's provider: the ring one (as for registries).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Docker::connect_with_ssl(
            &self.host.replacen("http://", "tcp://", 1),
            &folder.join("key.pem"),
            &folder.join("cert.pem"),
            &folder.join("ca.pem"),
            REQUEST_TIMEOUT,
            API_DEFAULT_VERSION,
        )
    }
}

/// The current context's name, unless it is the default one (the local socket).
fn current_context(config: &Path, from_env: Option<String>) -> Option<String> {
    let name = from_env.or_else(|| {
        let text = std::fs::read_to_string(config.join("config.json")).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value["currentContext"].as_str().map(str::to_owned)
    })?;
    (!name.is_empty() && name != "default").then_some(name)
}

/// The docker endpoint of context `name`: its metadata and TLS material live in folders
/// named by the SHA-256 of the name.
fn context_endpoint(config: &Path, name: &str) -> Result<Endpoint, String> {
    let id: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let meta = config.join("contexts/meta").join(&id).join("meta.json");
    let unusable = |reason: String| {
        format!(
            "the docker context `{name}` cannot be used: {reason}\n  \
             `docker context use default` or DOCKER_HOST chooses another engine"
        )
    };
    let text = std::fs::read_to_string(&meta)
        .map_err(|error| unusable(format!("cannot read {}: {error}", meta.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| unusable(format!("{} is not JSON: {error}", meta.display())))?;
    let docker = &value["Endpoints"]["docker"];
    let host = docker["Host"]
        .as_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| unusable(format!("{} names no docker host", meta.display())))?;
    if docker["SkipTLSVerify"].as_bool() == Some(true) {
        return Err(unusable(
            "it skips TLS verification, which starflake never does".to_owned(),
        ));
    }
    let tls = config.join("contexts/tls").join(&id).join("docker");
    Ok(Endpoint {
        host: host.to_owned(),
        tls: tls.join("ca.pem").is_file().then_some(tls),
        origin: Some(format!("docker context {name}")),
    })
}

/// The machine of an engine address when it is another one than this: the host of a
/// `tcp://`, `http(s)://` or `ssh://[user@]host[:port]` address, unless it is a loopback
/// name or address. A remote engine publishes ports on that machine, and cannot see this
/// one's folders.
pub fn remote_machine(address: &str) -> Option<String> {
    let (scheme, rest) = address.split_once("://")?;
    if !matches!(scheme, "tcp" | "http" | "https" | "ssh") {
        return None;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let machine = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = machine.eq_ignore_ascii_case("localhost")
        || machine
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!machine.is_empty() && !loopback).then(|| machine.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_machines() {
        for (address, machine) in [
            ("unix:///var/run/docker.sock", None),
            ("tcp://127.0.0.1:2375", None),
            ("tcp://localhost:2376", None),
            ("http://[::1]:2375", None),
            ("tcp://10.0.0.5:2376", Some("10.0.0.5")),
            ("tcp://docker.example.org", Some("docker.example.org")),
            ("https://[fd00::5]:2376/", Some("fd00::5")),
            ("ssh://deploy@build-box:2222", Some("build-box")),
            ("ssh://build-box", Some("build-box")),
        ] {
            assert_eq!(remote_machine(address).as_deref(), machine, "{address}");
        }
    }

    /// A docker config folder as `docker context create` leaves it; `id` is the SHA-256 of
    /// `name` (from `sha256sum`), which names the context's folders.
    fn config_with_context(test: &str, name: &str, id: &str, meta: &str, tls: bool) -> PathBuf {
        let config = std::env::temp_dir().join(format!(
            "starflake-docker-host-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&config);
        let meta_dir = config.join("contexts/meta").join(id);
        std::fs::create_dir_all(&meta_dir).unwrap();
        std::fs::write(meta_dir.join("meta.json"), meta).unwrap();
        if tls {
            let tls_dir = config.join("contexts/tls").join(id).join("docker");
            std::fs::create_dir_all(&tls_dir).unwrap();
            std::fs::write(tls_dir.join("ca.pem"), "").unwrap();
        }
        std::fs::write(
            config.join("config.json"),
            format!(r#"{{"currentContext": "{name}"}}"#),
        )
        .unwrap();
        config
    }

    #[test]
    fn the_current_context_names_the_host_and_its_tls_folder() {
        let config = config_with_context(
            "tls",
            "build-box",
            "8ae84a3bb8d6b65c7b4b5543c9d2dad765e24dc443e82086aa069ee87470b92b",
            r#"{"Name":"build-box","Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2376","SkipTLSVerify":false}}}"#,
            true,
        );
        let name = current_context(&config, None).unwrap();
        let endpoint = context_endpoint(&config, &name).unwrap();
        assert_eq!(endpoint.host, "tcp://10.1.2.3:2376");
        assert!(
            endpoint
                .tls
                .as_ref()
                .is_some_and(|dir| dir.join("ca.pem").is_file())
        );
        assert_eq!(
            endpoint.describe(),
            "tcp://10.1.2.3:2376 (from docker context build-box)"
        );
        // DOCKER_CONTEXT wins over config.json; `default` is the local socket.
        assert_eq!(current_context(&config, Some("default".to_owned())), None);
        std::fs::remove_dir_all(&config).unwrap();
    }

    #[test]
    fn a_context_that_skips_verification_or_is_missing_is_refused() {
        let config = config_with_context(
            "skip",
            "lab",
            "a51146d38077ff992eba84cf1d5e9b249073503eb74868699016153b031a38f7",
            r#"{"Name":"lab","Endpoints":{"docker":{"Host":"tcp://lab:2376","SkipTLSVerify":true}}}"#,
            false,
        );
        let error = context_endpoint(&config, "lab").unwrap_err();
        assert!(error.contains("skips TLS verification"), "{error}");
        let error = context_endpoint(&config, "nowhere").unwrap_err();
        assert!(
            error.starts_with("the docker context `nowhere` cannot be used: cannot read"),
            "{error}"
        );
        std::fs::remove_dir_all(&config).unwrap();
    }
}

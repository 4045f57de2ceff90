//! End-to-end tests of starflake on a remote Docker engine: a second, real `dockerd` that
//! the tests start in a network namespace of their own and reach over TCP (see
//! `tests/common/engine.rs`).
#![cfg(feature = "native")]

// The harness is shared with the build and run suites; this one uses part of it.
#[allow(dead_code)]
mod common;
#[path = "common/engine.rs"]
mod engine;
// Shared with the push suite, which also counts the blobs.
#[allow(dead_code)]
#[path = "common/registry.rs"]
mod registry;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Package, Run};
use engine::RemoteEngine;
use registry::Registry;

/// The harness itself: the engine answers over TCP (the docker CLI agrees), runs after a
/// stop and a start with its data kept, and leaves no namespace, link or folder behind.
#[test]
fn the_test_engine_answers_over_tcp_survives_a_restart_and_leaves_nothing_behind() {
    let mut engine = RemoteEngine::start();
    let (name, link) = (engine.name.clone(), engine.host_link.clone());
    let info = engine.docker(&["info", "--format", "{{.Name}} {{.DockerRootDir}}"]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains(&name),
        "the engine's data root is its own: {info}"
    );

    let volume = engine.docker(&["volume", "create", "kept-across-restarts"]);
    assert!(volume.status.success());
    engine.stop_daemon();
    assert!(!engine.answers());
    engine.start_daemon();
    let volumes = engine.docker(&["volume", "ls", "--quiet"]);
    assert_eq!(
        String::from_utf8_lossy(&volumes.stdout).trim(),
        "kept-across-restarts"
    );

    drop(engine);
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&namespaces.stdout).contains(&name));
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&links.stdout).contains(&format!(" {link}@")));
    assert!(!Path::new(&std::env::temp_dir().join(&name)).exists());
}

/// A starflake command against the remote engine (`DOCKER_HOST=tcp://...`).
fn on(engine: &RemoteEngine, package: &Package, args: &[&str]) -> Run {
    let output = package
        .command(args)
        .env("DOCKER_HOST", engine.docker_host())
        .env("NO_COLOR", "1")
        .output()
        .expect("starflake runs");
    Run::from(output)
}

/// What the engine holds with the label of `enclave`: containers, volumes, networks (the
/// docker CLI's word, as an independent check).
fn labelled_on(engine: &RemoteEngine, enclave: &str) -> Vec<String> {
    let filter = format!("label=starflake.enclave={enclave}");
    let mut names = Vec::new();
    for kind in [
        &["ps", "--all", "--format", "{{.Names}}"][..],
        &["volume", "ls", "--format", "{{.Name}}"],
        &["network", "ls", "--format", "{{.Name}}"],
    ] {
        let mut args = kind.to_vec();
        args.extend(["--filter", &filter]);
        let output = engine.docker(&args);
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        names.extend(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_owned),
        );
    }
    names.sort();
    names
}

/// A plain HTTP GET from this machine.
fn http_get(address: &str, port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect((address, port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: web\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// The two-service package of the run tests (`web` serves a rendered files artifact,
/// `client` reaches it by name) on the remote engine over TCP: the images are loaded into
/// that engine, the artifact travels into a volume there, the URL names the engine's
/// address and answers from this machine, and `enclave ls/inspect/rm` work there; nothing
/// of it is on the local engine, and nothing is left after `enclave rm`.
#[test]
fn a_two_service_package_runs_on_a_remote_engine_over_tcp() {
    let engine = RemoteEngine::start();
    let id = "sfremote-two";
    let package = Package::new("run", "twoservice", id);
    let run = on(
        &engine,
        &package,
        &["run", "--enclave", id, "--format", "json", "."],
    );
    run.expect(0).stderr_has("> web said: hello from web");
    let report = run.json();
    assert_eq!(report["status"], "ok");
    let web = report["services"]
        .as_array()
        .and_then(|services| services.iter().find(|service| service["name"] == "web"))
        .unwrap_or_else(|| panic!("no service web in {report:#}"));
    assert_eq!(web["state"], "running");

    // Published on the engine's machine, and said so.
    let port = &web["ports"][0];
    let address = engine.address.to_string();
    assert_eq!(port["host_ip"], address.as_str());
    let host_port = port["host_port"].as_u64().expect("a host port") as u16;
    assert_eq!(port["url"], format!("http://{address}:{host_port}"));
    let answer = http_get(&address, host_port, "/index.html");
    assert!(
        answer.starts_with("HTTP/1.") && answer.contains(" 200 "),
        "{answer}"
    );
    assert!(answer.ends_with("hello from web"), "{answer}");

    // Everything is on the remote engine (the artifact in a volume there), nothing here.
    let on_engine = labelled_on(&engine, id);
    let expected_prefixes = [
        "starflake-sfremote-two",
        "starflake-sfremote-two--client",
        "starflake-sfremote-two--web",
        "starflake-sfremote-two--web-files-",
    ];
    assert_eq!(on_engine.len(), expected_prefixes.len(), "{on_engine:?}");
    for (name, prefix) in on_engine.iter().zip(expected_prefixes) {
        assert!(name.starts_with(prefix), "{on_engine:?}");
    }
    let local = Command::new("docker")
        .env_remove("DOCKER_HOST")
        .args([
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("label=starflake.enclave={id}"),
        ])
        .output()
        .unwrap();
    assert!(
        local.status.success() && local.stdout.is_empty(),
        "{local:?}"
    );

    let list = on(&engine, &package, &["enclave", "ls", "--format", "json"]);
    list.expect(0);
    assert_eq!(list.json()["enclaves"][0]["name"], id, "{}", list.stdout);
    let inspect = on(&engine, &package, &["enclave", "inspect", id]);
    inspect.expect(0);
    assert!(
        inspect
            .stdout
            .contains(&format!("{address}:{host_port} -> 8080/tcp")),
        "{}",
        inspect.stdout
    );

    on(&engine, &package, &["enclave", "rm", id]).expect(0);
    assert_eq!(labelled_on(&engine, id), Vec::<String>::new());
    assert!(!package.state.join("starflake/enclaves").join(id).exists());
    let list = on(&engine, &package, &["enclave", "ls", "--format", "json"]);
    assert_eq!(list.json()["enclaves"], serde_json::json!([]));
}

/// TLS as the docker CLI sets it up: `DOCKER_TLS_VERIFY` with `DOCKER_CERT_PATH`, or the
/// current docker context, made here by the docker CLI itself (`docker context create`).
/// Without TLS the engine refuses, and starflake says which engine it could not reach.
#[test]
fn a_tls_engine_is_reached_with_the_docker_cli_settings_and_its_context() {
    let engine = RemoteEngine::start_with_tls();
    let certificates = engine
        .client_certificates
        .clone()
        .expect("client certificates");
    let package = Package::new("run", "twoservice", "sfremote-tls");
    let enclave_ls = |configure: &dyn Fn(&mut Command)| {
        let mut command = package.command(&["enclave", "ls"]);
        command
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("DOCKER_CONTEXT");
        configure(&mut command);
        Run::from(command.output().expect("starflake runs"))
    };

    // An enclave network only this engine has, so that a listing shows which engine answered.
    let network = engine.docker(&[
        "network",
        "create",
        "--label",
        "starflake.enclave=sfremote-tls",
        "starflake-sfremote-tls",
    ]);
    assert!(network.status.success(), "{network:?}");
    let only_there = "sfremote-tls";

    let with_env = enclave_ls(&|command| {
        command
            .env("DOCKER_HOST", engine.docker_host())
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &certificates);
    });
    with_env.expect(0);
    assert!(with_env.stdout.contains(only_there), "{}", with_env.stdout);

    let without_tls = enclave_ls(&|command| {
        command.env("DOCKER_HOST", engine.docker_host());
    });
    without_tls.expect(1).stderr_has(&format!(
        "cannot reach the Docker engine at {} (from DOCKER_HOST)",
        engine.docker_host()
    ));

    let config = package.cache.join("docker-config");
    let file = |name: &str| certificates.join(name).display().to_string();
    let endpoint = format!(
        "host={},ca={},cert={},key={}",
        engine.docker_host(),
        file("ca.pem"),
        file("cert.pem"),
        file("key.pem")
    );
    for args in [
        &["context", "create", "tls-engine", "--docker", &endpoint][..],
        &["context", "use", "tls-engine"],
    ] {
        let made = Command::new("docker")
            .env("DOCKER_CONFIG", &config)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .args(args)
            .output()
            .unwrap();
        assert!(made.status.success(), "docker {args:?}: {made:?}");
    }
    let with_context = enclave_ls(&|command| {
        command.env("DOCKER_CONFIG", &config);
    });
    with_context.expect(0);
    assert!(
        with_context.stdout.contains(only_there),
        "{}",
        with_context.stdout
    );
}

/// With `--push`, the remote engine pulls the images from a registry (on the host's end of
/// its link, plain HTTP as asked with `--insecure-registry`) by digest instead of receiving
/// them from starflake, and the services run those very images.
#[test]
fn with_push_the_remote_engine_pulls_the_images_from_the_registry_by_digest() {
    let engine = RemoteEngine::start();
    let registry = Registry::start_on("sfremote-push", engine.host_address.into());
    let id = "sfremote-push";
    let package = Package::new("run", "twoservice", id);
    let run = on(
        &engine,
        &package,
        &[
            "run",
            "--enclave",
            id,
            "--format",
            "json",
            "--push",
            &registry.address,
            "--insecure-registry",
            ".",
        ],
    );
    run.expect(0);
    let repository = format!("{}/starflake-test/{id}-web", registry.address);
    run.stderr_has(&format!("pulling {repository}@sha256:"));
    let report = run.json();
    let web = report["services"]
        .as_array()
        .and_then(|services| services.iter().find(|service| service["name"] == "web"))
        .unwrap_or_else(|| panic!("no service web in {report:#}"));
    let host_port = web["ports"][0]["host_port"].as_u64().expect("a host port") as u16;
    let answer = http_get(&engine.address.to_string(), host_port, "/index.html");
    assert!(answer.ends_with("hello from web"), "{answer}");

    // The container runs the very image the registry holds (the docker CLI's word).
    let container_image = engine.docker(&[
        "inspect",
        "--format",
        "{{.Image}}",
        &format!("starflake-{id}--web"),
    ]);
    let image_id = String::from_utf8_lossy(&container_image.stdout)
        .trim()
        .to_owned();
    let digests = engine.docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &image_id,
    ]);
    let digests = String::from_utf8_lossy(&digests.stdout).into_owned();
    assert!(
        digests.contains(&format!("{repository}@sha256:")),
        "{digests}"
    );
    on(&engine, &package, &["enclave", "rm", id]).expect(0);
}

/// `ssh://`: the system's `ssh` (with the test's key, see `start_ssh_server`) to an SSH
/// server on the engine's machine, where `docker system dial-stdio` reaches the engine; the
/// package runs there and answers from this machine at the machine's address.
#[test]
fn an_engine_behind_ssh_is_reached_through_docker_system_dial_stdio() {
    let mut engine = RemoteEngine::start();
    let (docker_host, path) = engine.start_ssh_server();
    let id = "sfremote-ssh";
    let package = Package::new("run", "twoservice", id);
    let over_ssh = |args: &[&str]| {
        let output = package
            .command(args)
            .env("DOCKER_HOST", &docker_host)
            .env("PATH", &path)
            .output()
            .expect("starflake runs");
        Run::from(output)
    };
    let run = over_ssh(&["run", "--enclave", id, "--format", "json", "."]);
    run.expect(0);
    let report = run.json();
    let web = report["services"]
        .as_array()
        .and_then(|services| services.iter().find(|service| service["name"] == "web"))
        .unwrap_or_else(|| panic!("no service web in {report:#}"));
    let address = engine.address.to_string();
    assert_eq!(web["ports"][0]["host_ip"], address.as_str());
    let host_port = web["ports"][0]["host_port"].as_u64().expect("a host port") as u16;
    assert!(http_get(&address, host_port, "/index.html").ends_with("hello from web"));
    let list = over_ssh(&["enclave", "ls"]);
    list.expect(0);
    assert!(list.stdout.contains(id), "{}", list.stdout);
    over_ssh(&["enclave", "rm", id]).expect(0);
    assert_eq!(labelled_on(&engine, id), Vec::<String>::new());
}

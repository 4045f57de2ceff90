//! End-to-end tests of `starflake run` and `starflake enclave` on the real Nix and the real
//! Docker engine, with images built by the fixture flakes (a static busybox, no network).
//!
//! Each test copies a package from `tests/fixtures/run/<case>/` into a temporary folder, adds
//! the shared flake library of the build tests (`tests/fixtures/build/lib/`) and the host's
//! `/bin/busybox` to its `nix/` folder, and replaces `@ID@` with the test's own name: no two
//! tests share an image, an enclave or a state folder. Every test removes its enclave, images
//! and folders, also when it fails (see `Drop for Fixture`).
#![cfg(feature = "native")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use serde_json::Value;

const STARFLAKE: &str = env!("CARGO_BIN_EXE_starflake");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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
            tokio::time::timeout(Duration::from_secs(10), docker().ping())
                .await
                .map_err(|_| "the Docker engine does not answer".to_owned())?
                .map_err(|error| format!("the Docker engine is not reachable: {error}"))
        })?;
        Ok(())
    });
    if let Err(problem) = result {
        panic!(
            "the `starflake run` tests need Nix, a running Docker engine and busybox-static: {problem}. \
             Run `scripts/setup-native.sh` (as root) first."
        );
    }
}

/// What Docker holds with a label `starflake.enclave=<enclave>`.
#[derive(Debug, Default, PartialEq)]
struct Labelled {
    containers: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Labelled {
    fn is_empty(&self) -> bool {
        *self == Labelled::default()
    }
}

fn labelled(enclave: &str) -> Labelled {
    let filter = format!("starflake.enclave={enclave}");
    block_on(async move {
        let docker = docker();
        let filters = HashMap::from([("label", vec![filter.as_str()])]);
        let mut containers: Vec<String> = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap()
            .into_iter()
            .flat_map(|container| container.names.unwrap_or_default())
            .map(|name| name.trim_start_matches('/').to_owned())
            .collect();
        containers.sort();
        let mut networks: Vec<String> = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|network| network.name)
            .collect();
        networks.sort();
        let mut volumes: Vec<String> = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|volume| volume.name)
            .collect();
        volumes.sort();
        Labelled {
            containers,
            networks,
            volumes,
        }
    })
}

/// A temporary copy of one fixture package with its own enclave, cleaned up on drop.
struct Fixture {
    id: String,
    enclave: String,
    dir: PathBuf,
    state: PathBuf,
    cache: PathBuf,
    /// Extra containers and volumes a test made (decoys), removed on drop.
    decoys: Vec<String>,
    decoy_volumes: Vec<String>,
}

impl Fixture {
    fn new(case: &str, id: &str) -> Fixture {
        require_tools();
        let base = std::env::temp_dir().join("starflake-run-tests");
        let dir = base.join(id);
        let state = base.join(format!("{id}-state"));
        let cache = base.join(format!("{id}-cache"));
        for folder in [&dir, &state, &cache] {
            let _ = std::fs::remove_dir_all(folder);
        }
        copy_tree(&fixtures().join("run").join(case), &dir, id);
        let flake_dir = dir.join("nix");
        for entry in std::fs::read_dir(fixtures().join("build/lib")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), flake_dir.join(entry.file_name())).unwrap();
        }
        std::fs::create_dir_all(flake_dir.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", flake_dir.join("bin/busybox")).unwrap();
        let fixture = Fixture {
            id: id.to_owned(),
            enclave: id.to_owned(),
            dir,
            state,
            cache,
            decoys: Vec::new(),
            decoy_volumes: Vec::new(),
        };
        fixture.clean_docker();
        fixture
    }

    fn starflake(&self, args: &[&str]) -> Result_ {
        let output = Command::new(STARFLAKE)
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_STATE_HOME", &self.state)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("starflake runs");
        Result_::from(output)
    }

    /// `starflake run --enclave <id> --format json .` plus `args`.
    fn run(&self, args: &[&str]) -> Result_ {
        let mut all = vec!["run", "--enclave", &self.enclave, "--format", "json"];
        all.extend_from_slice(args);
        all.push(".");
        self.starflake(&all)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds no `{from}`");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    fn enclave_state(&self) -> PathBuf {
        self.state.join("starflake/enclaves").join(&self.enclave)
    }

    /// Removes the enclave's Docker objects, the decoys and the test's images.
    fn clean_docker(&self) {
        let (id, enclave) = (self.id.clone(), self.enclave.clone());
        let (decoys, decoy_volumes) = (self.decoys.clone(), self.decoy_volumes.clone());
        block_on(async move {
            let docker = docker();
            let filter = format!("starflake.enclave={enclave}");
            let filters = HashMap::from([("label", vec![filter.as_str()])]);
            let containers = docker
                .list_containers(Some(
                    ListContainersOptionsBuilder::default()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
                .unwrap_or_default();
            let ids = containers
                .into_iter()
                .filter_map(|container| container.id)
                .chain(decoys);
            for container in ids {
                let _ = docker
                    .remove_container(
                        &container,
                        Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                    )
                    .await;
            }
            let volumes = docker
                .list_volumes(Some(
                    ListVolumesOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
                .ok()
                .and_then(|list| list.volumes)
                .unwrap_or_default()
                .into_iter()
                .map(|volume| volume.name)
                .chain(decoy_volumes);
            for volume in volumes {
                let _ = docker
                    .remove_volume(
                        &volume,
                        Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
                    )
                    .await;
            }
            for network in docker
                .list_networks(Some(
                    ListNetworksOptionsBuilder::default()
                        .filters(&filters)
                        .build(),
                ))
                .await
                .unwrap_or_default()
            {
                if let Some(network_id) = network.id {
                    let _ = docker.remove_network(&network_id).await;
                }
            }
            let pattern = format!("starflake-test/{id}*");
            let filters = HashMap::from([("reference", vec![pattern.as_str()])]);
            for image in docker
                .list_images(Some(
                    ListImagesOptionsBuilder::default()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
                .unwrap_or_default()
            {
                // By tag, not by ID: another test may have loaded the same image under its
                // own tag.
                for tag in image.repo_tags {
                    if tag.starts_with(&format!("starflake-test/{id}-")) {
                        let _ = docker
                            .remove_image(
                                &tag,
                                Some(RemoveImageOptionsBuilder::default().force(true).build()),
                                None,
                            )
                            .await;
                    }
                }
            }
        });
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.clean_docker();
        for folder in [&self.dir, &self.state, &self.cache] {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// Copies a fixture, putting `id` for every `@ID@` in text files.
fn copy_tree(from: &Path, to: &Path, id: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, id);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(&target, text.replace("@ID@", id)).unwrap();
        }
    }
}

struct Result_ {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Result_ {
    fn from(output: Output) -> Result_ {
        Result_ {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Result_ {
    #[track_caller]
    fn expect(&self, code: i32) -> &Result_ {
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
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not JSON ({error}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    fn stderr_has(&self, text: &str) -> &Result_ {
        assert!(
            self.stderr.contains(text),
            "stderr lacks `{text}`:\n{}",
            self.stderr
        );
        self
    }
}

/// The report of service `name` in a `run --format json` document.
#[track_caller]
fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .and_then(|services| services.iter().find(|service| service["name"] == name))
        .unwrap_or_else(|| panic!("no service {name} in {report:#}"))
}

fn container_id(name: &str) -> Option<String> {
    let name = name.to_owned();
    block_on(async move { docker().inspect_container(&name, None).await.ok()?.id })
}

fn container_labels(name: &str) -> HashMap<String, String> {
    let name = name.to_owned();
    block_on(async move {
        docker()
            .inspect_container(&name, None)
            .await
            .ok()
            .and_then(|container| container.config?.labels)
            .unwrap_or_default()
    })
}

/// A plain HTTP GET from the host.
fn http_get(port: u64, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port as u16)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn two_services_talk_by_name_and_a_rerun_restarts_only_what_changed() {
    let fixture = Fixture::new("twoservice", "sfr-two");
    let first = fixture.run(&[]);
    first.expect(0);
    first
        .stderr_has("[2/7] add_service web  (main.star:17)")
        .stderr_has("> web said: hello from web");
    let report = first.json();
    assert_eq!(report["status"], "ok");
    assert_eq!(report["new_enclave"], true);
    assert_eq!(report["network"], "starflake-sfr-two");
    assert_eq!(report["prints"][0], "web said: hello from web");
    assert_eq!(report["output"]["url"], "http://web:8080");
    let web = service(&report, "web");
    assert_eq!(web["status"], "created");
    assert_eq!(web["state"], "running");
    assert!(
        web["store_path"]
            .as_str()
            .is_some_and(|path| path.starts_with("/nix/store/") && path.ends_with("-web.tar")),
        "{web:#}"
    );
    assert_eq!(service(&report, "client")["status"], "created");

    // The port is published on 127.0.0.1 and answers from the host.
    let port = &web["ports"][0];
    assert_eq!(port["id"], "http");
    assert_eq!(port["number"], 8080);
    assert_eq!(port["host_ip"], "127.0.0.1");
    let host_port = port["host_port"].as_u64().expect("a host port");
    assert_eq!(
        port["url"].as_str().unwrap(),
        format!("http://127.0.0.1:{host_port}")
    );
    let answer = http_get(host_port, "/index.html");
    assert!(
        answer.starts_with("HTTP/1.") && answer.contains(" 200 "),
        "{answer}"
    );
    assert!(answer.ends_with("hello from web"), "{answer}");

    // Labels: enclave, package, service, instruction, store path.
    let labels = container_labels("starflake-sfr-two--web");
    assert_eq!(labels["starflake.enclave"], "sfr-two");
    assert_eq!(labels["starflake.service"], "web");
    assert_eq!(labels["starflake.instruction"], "main.star:17");
    assert_eq!(
        labels["starflake.package"],
        "github.com/starflake-test/run-twoservice"
    );
    assert_eq!(labels["role"], "frontend");
    assert_eq!(
        labels["starflake.store-path"],
        web["store_path"].as_str().unwrap()
    );

    // enclave ls and inspect.
    let list = fixture.starflake(&["enclave", "ls", "--format", "json"]);
    list.expect(0);
    let enclaves = list.json();
    let ours = enclaves["enclaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|enclave| enclave["name"] == "sfr-two")
        .expect("the enclave is listed");
    assert_eq!(ours["services"], serde_json::json!(["client", "web"]));
    assert!(ours["created"].as_str().is_some_and(|t| t.ends_with("UTC")));
    let inspect = fixture.starflake(&["enclave", "inspect", "sfr-two"]);
    inspect.expect(0);
    assert!(
        inspect
            .stdout
            .contains(&format!("127.0.0.1:{host_port} -> 8080/tcp")),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains(web["store_path"].as_str().unwrap()),
        "{}",
        inspect.stdout
    );

    // The same package again: nothing changes.
    let web_id = container_id("starflake-sfr-two--web").unwrap();
    let client_id = container_id("starflake-sfr-two--client").unwrap();
    let second = fixture.run(&[]);
    second.expect(0);
    let report = second.json();
    assert_eq!(report["new_enclave"], false);
    assert_eq!(service(&report, "web")["status"], "unchanged");
    assert_eq!(service(&report, "client")["status"], "unchanged");
    assert_eq!(container_id("starflake-sfr-two--web"), Some(web_id.clone()));
    assert_eq!(
        container_id("starflake-sfr-two--client"),
        Some(client_id.clone())
    );

    // A changed flake output: only the service of that image is recreated.
    fixture.edit("nix/flake.nix", "web v1", "web v2");
    let third = fixture.run(&[]);
    third.expect(0);
    let report = third.json();
    assert_eq!(service(&report, "web")["status"], "recreated");
    assert_eq!(service(&report, "client")["status"], "unchanged");
    assert_ne!(container_id("starflake-sfr-two--web"), Some(web_id));
    assert_eq!(container_id("starflake-sfr-two--client"), Some(client_id));
    assert_ne!(
        service(&report, "web")["store_path"],
        web["store_path"],
        "a new store path"
    );

    // The human summary.
    let human = fixture.starflake(&["run", "--enclave", "sfr-two", "."]);
    human.expect(0);
    assert!(human.stdout.contains("SERVICE"), "{}", human.stdout);
    assert!(
        human.stdout.lines().any(|line| line.starts_with("web ")
            && line.contains("unchanged")
            && line.contains("-> 8080/tcp")
            && line.contains("http://127.0.0.1:")),
        "{}",
        human.stdout
    );

    // A plan without `client`: it is left as it is, and listed as kept.
    let fourth = fixture.run(&["--args", "{\"web_only\": true}"]);
    fourth.expect(0);
    let report = fourth.json();
    assert_eq!(service(&report, "web")["status"], "unchanged");
    assert_eq!(service(&report, "client")["status"], "kept");
    assert_eq!(service(&report, "client")["state"], "running");

    fixture.starflake(&["enclave", "rm", "sfr-two"]).expect(0);
    assert!(labelled("sfr-two").is_empty());
    assert!(!fixture.enclave_state().exists());
}

#[test]
fn a_ready_condition_that_never_holds_names_service_condition_and_logs() {
    let fixture = Fixture::new("notready", "sfr-notready");
    let run = fixture.run(&[]);
    run.expect(1)
        .stderr_has("add_service at main.star:31:5 failed")
        .stderr_has("service `slow` did not satisfy the ready condition `code` == 0")
        .stderr_has("within 3s")
        .stderr_has("`code` was 3")
        .stderr_has("booting slowly")
        .stderr_has("rolled back");
    let report = run.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["error"]["at"], "main.star:31:5");
    assert_eq!(report["rolled_back"], true);
    assert!(!run.stderr.contains("never printed"));
    assert!(
        labelled("sfr-notready").is_empty(),
        "{:?}",
        labelled("sfr-notready")
    );
    assert!(!fixture.enclave_state().exists());
}

#[test]
fn a_port_that_never_opens_fails_after_its_wait() {
    let fixture = Fixture::new("notready", "sfr-port");
    let run = fixture.run(&["--args", "{\"port\": true}"]);
    run.expect(1)
        .stderr_has("service `slow`: port `http` (8080/tcp) did not open within 2s")
        .stderr_has("not listening");
    assert!(labelled("sfr-port").is_empty());
}

#[test]
fn a_failing_instruction_rolls_back_containers_network_and_volumes() {
    let fixture = Fixture::new("failing", "sfr-fail");
    let run = fixture.run(&[]);
    run.expect(1)
        .stderr_has("[3/5] exec store")
        .stderr_has("exec at main.star:23:5 failed")
        .stderr_has("exited with code 7")
        .stderr_has("broken")
        .stderr_has("rolled back: removed 1 container, 1 volume and network starflake-sfr-fail");
    assert!(
        labelled("sfr-fail").is_empty(),
        "{:?}",
        labelled("sfr-fail")
    );
    assert!(!fixture.enclave_state().exists());
}

#[test]
fn enclave_rm_removes_exactly_what_the_enclave_had() {
    let mut fixture = Fixture::new("failing", "sfr-rm");
    let run = fixture.run(&["--no-rollback"]);
    run.expect(1).stderr_has("kept what the run created");
    let before = labelled("sfr-rm");
    assert_eq!(before.containers, ["starflake-sfr-rm--store"]);
    assert_eq!(before.networks, ["starflake-sfr-rm"]);
    assert_eq!(before.volumes, ["starflake-sfr-rm--data"]);
    assert!(fixture.enclave_state().exists());

    // Things that are not the enclave's: an unlabelled container from the same image, a
    // volume of another enclave.
    let decoy = "sfr-rm-decoy".to_owned();
    let other_volume = "starflake-sfr-rm-other--data".to_owned();
    fixture.decoys.push(decoy.clone());
    fixture.decoy_volumes.push(other_volume.clone());
    {
        let (decoy, other_volume) = (decoy.clone(), other_volume.clone());
        block_on(async move {
            let docker = docker();
            docker
                .create_container(
                    Some(
                        CreateContainerOptionsBuilder::default()
                            .name(&decoy)
                            .build(),
                    ),
                    ContainerCreateBody {
                        image: Some("starflake-test/sfr-rm-web:latest".to_owned()),
                        ..Default::default()
                    },
                )
                .await
                .expect("a decoy container");
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(other_volume),
                    labels: Some(HashMap::from([(
                        "starflake.enclave".to_owned(),
                        "sfr-rm-other".to_owned(),
                    )])),
                    ..Default::default()
                })
                .await
                .expect("a decoy volume");
        });
    }

    let removed = fixture.starflake(&["enclave", "rm", "sfr-rm", "--format", "json"]);
    removed.expect(0);
    let removed = removed.json();
    assert_eq!(
        removed["removed"]["containers"],
        serde_json::json!(["starflake-sfr-rm--store"])
    );
    assert_eq!(
        removed["removed"]["volumes"],
        serde_json::json!(["starflake-sfr-rm--data"])
    );
    assert_eq!(
        removed["removed"]["networks"],
        serde_json::json!(["starflake-sfr-rm"])
    );
    assert!(labelled("sfr-rm").is_empty());
    assert!(!fixture.enclave_state().exists());
    assert!(
        container_id(&decoy).is_some(),
        "the decoy container is kept"
    );
    assert_eq!(labelled("sfr-rm-other").volumes, [other_volume]);

    // Removing it again says there is no such enclave.
    fixture
        .starflake(&["enclave", "rm", "sfr-rm"])
        .expect(1)
        .stderr_has("there is no enclave `sfr-rm`");
}

#[test]
fn missing_images_and_unsupported_instructions_stop_before_anything_starts() {
    let fixture = Fixture::new("missing", "sfr-missing");
    let run = fixture.run(&[]);
    run.expect(1)
        .stderr_has("image `starflake-test/sfr-missing-absent:1` (main.star:7:40) is not in the Docker engine")
        .stderr_has("never pulls")
        .stderr_has("nothing was started");
    assert!(labelled("sfr-missing").is_empty());

    let python = fixture.run(&["--args", "{\"python\": true}"]);
    python
        .expect(1)
        .stderr_has("run_python at main.star:10:9 cannot run here: installing packages (requests)")
        .stderr_has("nothing was started");
    assert!(labelled("sfr-missing").is_empty());
}

#[test]
fn artifacts_exec_tasks_and_service_lifecycle() {
    let fixture = Fixture::new("lifecycle", "sfr-life");
    let run = fixture.run(&[]);
    run.expect(0)
        .stderr_has("[7/15] store_service_files saved")
        .stderr_has("[12/15] set_service box  (main.star:43)")
        .stderr_has("recreated box");
    let report = run.json();
    assert_eq!(report["status"], "ok");
    let prints = report["prints"][0].as_str().unwrap();
    assert!(
        prints.starts_with("task said: {\"n\": 5}\nbox is at "),
        "{prints}"
    );
    assert!(
        !prints.contains("kurtosis:"),
        "the future reference is resolved: {prints}"
    );
    assert_eq!(service(&report, "box")["status"], "removed");
    let left = labelled("sfr-life");
    assert!(left.containers.is_empty(), "{left:?}");
    assert_eq!(left.networks, ["starflake-sfr-life"]);
}

#[test]
fn ctrl_c_stops_the_run_and_rolls_back() {
    use std::io::{BufRead, BufReader};
    let fixture = Fixture::new("notready", "sfr-interrupt");
    fixture.edit("main.star", "timeout = \"3s\"", "timeout = \"120s\"");
    let mut child = Command::new(STARFLAKE)
        .args(["run", "--enclave", &fixture.enclave, "."])
        .current_dir(&fixture.dir)
        .env("XDG_STATE_HOME", &fixture.state)
        .env("XDG_CACHE_HOME", &fixture.cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(|line| line.ok()) {
            if line.contains("add_service slow") {
                let _ = sender.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("the service starts");
    // Let the container start and the ready condition poll.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(labelled("sfr-interrupt").containers.len(), 1);
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "starflake did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert!(labelled("sfr-interrupt").is_empty());
    assert!(!fixture.enclave_state().exists());
}

#[test]
fn rollback_in_an_existing_enclave_removes_only_what_the_run_created() {
    let fixture = Fixture::new("twoservice", "sfr-again");
    fixture.run(&[]).expect(0);
    fixture.edit(
        "main.star",
        "    plan.print(\"web said: \"",
        "    plan.add_service(name = \"extra\", config = ServiceConfig(image = image(\"client\"), cmd = [\"sleep\", \"3600\"]))\n    \
         plan.exec(service_name = \"extra\", recipe = ExecRecipe(command = [\"false\"]))\n    \
         plan.print(\"web said: \"",
    );
    // Without --rollback an existing enclave keeps what the failed run made.
    let kept = fixture.run(&[]);
    kept.expect(1).stderr_has("kept what the run created");
    assert_eq!(
        labelled("sfr-again").containers,
        [
            "starflake-sfr-again--client",
            "starflake-sfr-again--extra",
            "starflake-sfr-again--web"
        ]
    );
    fixture.starflake(&["enclave", "rm", "sfr-again"]).expect(0);

    fixture.edit("main.star", "command = [\"false\"]", "command = [\"true\"]");
    fixture.run(&[]).expect(0);
    fixture.edit("main.star", "command = [\"true\"]", "command = [\"false\"]");
    // (also renames `service_name = "extra"`)
    fixture.edit("main.star", "name = \"extra\"", "name = \"extra2\"");
    let rolled = fixture.run(&["--rollback"]);
    rolled
        .expect(1)
        .stderr_has("rolled back: removed 1 container and 0 volumes this run created");
    let left = labelled("sfr-again");
    assert_eq!(
        left.containers,
        [
            "starflake-sfr-again--client",
            "starflake-sfr-again--extra",
            "starflake-sfr-again--web"
        ]
    );
    assert_eq!(left.networks, ["starflake-sfr-again"]);
    let report = rolled.json();
    assert_eq!(service(&report, "extra2")["status"], "rolled_back");
    assert_eq!(service(&report, "web")["status"], "unchanged");
}

//! End-to-end tests of `starflake run` and `starflake enclave` on the real Nix and the real
//! Docker engine, with images built by the fixture flakes (a static busybox, no network).
//!
//! Each test copies a package from `tests/fixtures/run/<case>/` into a temporary folder, adds
//! the shared flake library of the build tests (`tests/fixtures/build/lib/`), the flake of the
//! run fixtures (`tests/fixtures/run/lib/flake.nix`, where the fixture has none of its own)
//! and the host's `/bin/busybox` to its `nix/` folder, and replaces `@ID@` with the test's own
//! name: no two tests share an image, an enclave or a state folder (see `tests/common/`).
//! Every test removes its enclave, images and folders, also when it fails (see `Drop for
//! Fixture`).
//!
//! The fault tests at the end hold a run at each of its stages with the `stages` fixture:
//! two commands on one enclave (the lock), and Ctrl-C at every stage.
#![cfg(feature = "native")]

mod common;
// Shared with the push suite, which also counts the blobs.
#[allow(dead_code)]
#[path = "common/registry.rs"]
mod registry;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use serde_json::Value;

use common::{Cleanup, Package, Run, block_on, docker};

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
    block_on(async move { labelled_in(&docker(), enclave).await.unwrap() })
}

/// The names of what `docker` holds with the label of `enclave`, sorted.
async fn labelled_in(docker: &Docker, enclave: &str) -> Result<Labelled, bollard::errors::Error> {
    let filter = format!("starflake.enclave={enclave}");
    let filters = HashMap::from([("label", vec![filter.as_str()])]);
    let mut containers: Vec<String> = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await?
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
        .await?
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
        .await?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|volume| volume.name)
        .collect();
    volumes.sort();
    Ok(Labelled {
        containers,
        networks,
        volumes,
    })
}

/// A temporary copy of one run fixture with its own enclave, named as the test (see
/// `Enclave` for its clean-up).
type Fixture = common::Fixture<Enclave>;

/// The clean-up of a run test: the enclave's Docker objects, the decoys the test made and
/// the test's images.
#[derive(Default)]
struct Enclave {
    /// Extra containers and volumes a test made (decoys).
    decoys: Vec<String>,
    decoy_volumes: Vec<String>,
}

impl Cleanup for Enclave {
    fn clean(&self, package: &Package) {
        let id = package.id.clone();
        let (decoys, decoy_volumes) = (self.decoys.clone(), self.decoy_volumes.clone());
        block_on(async move {
            let docker = docker();
            let labelled = labelled_in(&docker, &id).await.unwrap_or_default();
            // The enclave's lock, which a test that fails half-way may leave.
            let lock = format!("starflake-lock.{id}");
            common::remove_containers(
                &docker,
                labelled.containers.into_iter().chain(decoys).chain([lock]),
            )
            .await;
            for volume in labelled.volumes.into_iter().chain(decoy_volumes) {
                let _ = docker
                    .remove_volume(
                        &volume,
                        Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
                    )
                    .await;
            }
            for network in labelled.networks {
                let _ = docker.remove_network(&network).await;
            }
            // Pulled from a test's registry: named only by the registry's address and digest.
            for image in
                common::images_matching(&docker, &format!("127.0.0.1:*/starflake-test/{id}*")).await
            {
                common::remove_image(&docker, &image.id).await;
            }
            for image in common::images_matching(&docker, &format!("starflake-test/{id}*")).await {
                // By tag, not by ID: another test may have loaded the same image under its
                // own tag.
                for tag in image.repo_tags {
                    if tag.starts_with(&format!("starflake-test/{id}-")) {
                        common::remove_image(&docker, &tag).await;
                    }
                }
            }
        });
    }
}

impl Fixture {
    fn new(case: &str, id: &str) -> Fixture {
        Fixture::prepare("run", case, id, Enclave::default())
    }

    fn enclave(&self) -> &str {
        &self.id
    }

    fn starflake(&self, args: &[&str]) -> Run {
        let output = self
            .command(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("starflake runs");
        Run::from(output)
    }

    /// `starflake run --enclave <id> --format json .` plus `args`.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["run", "--enclave", self.enclave(), "--format", "json"];
        all.extend_from_slice(args);
        all.push(".");
        self.starflake(&all)
    }

    fn enclave_state(&self) -> PathBuf {
        self.state.join("starflake/enclaves").join(self.enclave())
    }

    /// Nothing of the enclave is left: no Docker object, no state folder.
    #[track_caller]
    fn assert_gone(&self) {
        let left = labelled(self.enclave());
        assert!(left.is_empty(), "{left:?}");
        assert!(!self.enclave_state().exists());
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
    fixture.assert_gone();
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
    fixture.assert_gone();
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
        // The persistent directory's volume and the one the files artifact was copied into.
        .stderr_has("rolled back: removed 1 container, 2 volumes and network starflake-sfr-fail");
    fixture.assert_gone();
    let report = run.json();
    let store = service(&report, "store");
    assert_eq!(store["status"], "rolled_back");
    assert_eq!(store["state"], "removed");
    // every key once (a derived Deserialize rejects a duplicate field)
    #[derive(serde::Deserialize)]
    struct Service {
        #[allow(dead_code)]
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Document {
        #[allow(dead_code)]
        services: Vec<Service>,
    }
    serde_json::from_str::<Document>(&run.stdout).expect("no key twice in the report");
}

#[test]
fn enclave_rm_removes_exactly_what_the_enclave_had() {
    let mut fixture = Fixture::new("failing", "sfr-rm");
    let run = fixture.run(&["--no-rollback"]);
    run.expect(1).stderr_has("kept what the run created");
    let before = labelled("sfr-rm");
    assert_eq!(before.containers, ["starflake-sfr-rm--store"]);
    assert_eq!(before.networks, ["starflake-sfr-rm"]);
    // The persistent directory's volume and the files artifact's (named by the service's
    // configuration hash and the mount's index).
    assert_eq!(before.volumes.len(), 2, "{:?}", before.volumes);
    assert_eq!(before.volumes[0], "starflake-sfr-rm--data");
    assert!(
        before.volumes[1].starts_with("starflake-sfr-rm--store-files-")
            && before.volumes[1].ends_with("-1"),
        "{:?}",
        before.volumes
    );
    assert!(fixture.enclave_state().exists());

    // Another package into the same enclave is refused before anything is built.
    fixture.edit("kurtosis.yml", "run-failing", "run-other");
    let other = fixture.run(&[]);
    other
        .expect(1)
        .stderr_has("enclave sfr-rm holds package github.com/starflake-test/run-failing, not github.com/starflake-test/run-other");
    assert!(!other.stderr.contains("nix build"), "{}", other.stderr);
    assert_eq!(labelled("sfr-rm"), before);
    fixture.edit("kurtosis.yml", "run-other", "run-failing");

    // Things that are not the enclave's: an unlabelled container from the same image, a
    // volume of another enclave.
    let decoy = "sfr-rm-decoy".to_owned();
    let other_volume = "starflake-sfr-rm-other--data".to_owned();
    fixture.cleanup.decoys.push(decoy.clone());
    fixture.cleanup.decoy_volumes.push(other_volume.clone());
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
        serde_json::json!(before.volumes)
    );
    assert_eq!(
        removed["removed"]["networks"],
        serde_json::json!(["starflake-sfr-rm"])
    );
    fixture.assert_gone();
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
    // stdout stays one JSON document: the error, with a line per missing image
    let error = &run.json()["error"];
    assert_eq!(error["stage"], "images", "{error}");
    assert_eq!(error["message"], "images are missing; nothing was started");
    assert!(
        error["details"][0]
            .as_str()
            .unwrap()
            .contains("is not in the Docker engine"),
        "{error}"
    );

    let python = fixture.run(&["--args", "{\"python\": true}"]);
    python
        .expect(1)
        .stderr_has("run_python at main.star:10:9 cannot run here: installing packages (requests)")
        .stderr_has("nothing was started");
    assert!(labelled("sfr-missing").is_empty());
    let error = &python.json()["error"];
    assert_eq!(error["stage"], "preflight", "{error}");
    assert_eq!(error["details"].as_array().unwrap().len(), 1, "{error}");
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

#[test]
fn with_push_the_services_run_the_images_pulled_from_the_registry_by_digest() {
    let registry = registry::Registry::start("sfr-push");
    let fixture = Fixture::new("twoservice", "sfr-push");
    let run = fixture.run(&["--push", &registry.address]);
    run.expect(0);
    let repository = format!("{}/starflake-test/sfr-push-web", registry.address);
    run.stderr_has(&format!("pulling {repository}@sha256:"));
    let report = run.json();
    let web = service(&report, "web");
    assert_eq!(web["state"], "running");
    let port = web["ports"][0]["host_port"].as_u64().expect("a host port");
    assert!(http_get(port, "/index.html").ends_with("hello from web"));
    // The container runs the very image the registry holds.
    let digests = block_on(async {
        let docker = docker();
        let container = docker
            .inspect_container("starflake-sfr-push--web", None)
            .await
            .unwrap();
        let image = docker
            .inspect_image(&container.image.unwrap())
            .await
            .unwrap();
        image.repo_digests.unwrap_or_default()
    });
    assert!(
        digests
            .iter()
            .any(|digest| digest.starts_with(&format!("{repository}@sha256:"))),
        "{digests:?}"
    );
    assert_eq!(service(&report, "client")["state"], "running");
}

// ---------------------------------------------------------------------------------------
// Faults: two commands on one enclave, Ctrl-C at every stage of a run.

/// How long a stage of the `stages` fixture may take to be reached: a Nix build and a load.
const REACH: Duration = Duration::from_secs(120);
/// How long starflake may take to stop and roll back after Ctrl-C.
const STOP: Duration = Duration::from_secs(60);

/// `starflake run` of the `stages` fixture, held at `stage` (see its main.star).
fn run_stage(fixture: &Fixture, stage: &str) -> common::Watched {
    let args = format!(r#"{{"stage": "{stage}"}}"#);
    common::Watched::spawn(
        fixture
            .command(&["run", "--enclave", fixture.enclave(), "--args", &args, "."])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null()),
    )
}

fn lock_of(enclave: &str) -> Option<String> {
    container_id(&format!("starflake-lock.{enclave}"))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_second_run_on_a_busy_enclave_is_refused_at_once_and_names_the_holder() {
    let fixture = Fixture::new("stages", "sfr-lock");
    let first = run_stage(&fixture, "ready");
    first.wait_for_line("add_service unready", REACH);
    common::wait_until("the service is made", REACH, || {
        has_container("sfr-lock", "unready")
    });

    let second = fixture.run(&["--args", r#"{"stage": "start"}"#]);
    second
        .expect(1)
        .stderr_has("error: enclave sfr-lock is being changed by `")
        .stderr_has("starflake run --enclave sfr-lock --args")
        .stderr_has(&format!("(pid {} on {}, since ", first.pid(), hostname()))
        .stderr_has("wait for it to finish or stop it, then try again");
    assert!(!second.stderr.contains("building"), "{}", second.stderr);
    assert_eq!(second.json()["error"]["stage"], "lock");
    fixture
        .starflake(&["enclave", "rm", "sfr-lock"])
        .expect(1)
        .stderr_has("enclave sfr-lock is being changed by `");
    // The refused commands changed nothing: the first run still waits for its service.
    assert_eq!(
        labelled("sfr-lock").containers,
        ["starflake-sfr-lock--first", "starflake-sfr-lock--unready"]
    );

    first.signal(libc::SIGINT);
    let (status, stderr) = first.finish(STOP);
    assert_eq!(status.code(), Some(130), "{stderr}");
    fixture.assert_gone();
    assert_eq!(lock_of("sfr-lock"), None, "the lock is released");
}

#[test]
fn a_lock_whose_holder_was_killed_is_taken_over_and_what_it_left_is_removed() {
    let fixture = Fixture::new("stages", "sfr-stale");
    let killed = run_stage(&fixture, "ready");
    killed.wait_for_line("add_service unready", REACH);
    common::wait_until("the service is made", REACH, || {
        has_container("sfr-stale", "unready")
    });
    let pid = killed.pid();
    killed.signal(libc::SIGKILL);
    killed.finish(STOP);
    assert!(lock_of("sfr-stale").is_some());
    assert_eq!(
        labelled("sfr-stale").containers,
        ["starflake-sfr-stale--first", "starflake-sfr-stale--unready"]
    );

    let next = fixture.run(&["--args", r#"{"stage": "start"}"#]);
    next.expect(0)
        .stderr_has(&format!("(pid {pid} on {}, since ", hostname()))
        .stderr_has("ended without releasing enclave sfr-stale; taking over its lock")
        .stderr_has("removed what the interrupted run left: removed 2 containers, 0 volumes and network starflake-sfr-stale");
    assert_eq!(next.json()["new_enclave"], true);
    assert_eq!(
        labelled("sfr-stale").containers,
        ["starflake-sfr-stale--first", "starflake-sfr-stale--second"]
    );
    assert_eq!(lock_of("sfr-stale"), None, "the lock is released");
}

/// What exists before a run and is not its own: an image of the user's and a service of
/// another enclave. No Ctrl-C may touch them.
struct Bystanders {
    image: String,
    container: String,
}

impl Bystanders {
    fn make(fixture: &mut Fixture) -> Bystanders {
        let id = fixture.id.clone();
        let bystanders = Bystanders {
            image: format!("starflake-test/{id}-mine:1"),
            container: format!("starflake-{id}-before--service"),
        };
        fixture.cleanup.decoys.push(bystanders.container.clone());
        let (image, container) = (bystanders.image.clone(), bystanders.container.clone());
        block_on(async move {
            let docker = docker();
            // An image of an empty file system: a tar of nothing.
            let empty = bytes::Bytes::from(vec![0u8; 1024]);
            let (repository, tag) = image.rsplit_once(':').unwrap();
            let mut imported = docker.create_image(
                Some(
                    bollard::query_parameters::CreateImageOptionsBuilder::default()
                        .from_src("-")
                        .repo(repository)
                        .tag(tag)
                        .build(),
                ),
                Some(bollard::body_full(empty)),
                None,
            );
            while let Some(progress) = futures_util::StreamExt::next(&mut imported).await {
                progress.expect("the user's image is imported");
            }
            docker
                .create_container(
                    Some(
                        CreateContainerOptionsBuilder::default()
                            .name(&container)
                            .build(),
                    ),
                    ContainerCreateBody {
                        image: Some(image),
                        cmd: Some(vec!["none".to_owned()]),
                        labels: Some(HashMap::from([(
                            "starflake.enclave".to_owned(),
                            format!("{id}-before"),
                        )])),
                        ..Default::default()
                    },
                )
                .await
                .expect("another enclave's service");
        });
        bystanders
    }

    #[track_caller]
    fn assert_intact(&self) {
        let image = self.image.clone();
        let image_there = block_on(async move { docker().inspect_image(&image).await.is_ok() });
        assert!(image_there, "{} is gone", self.image);
        assert!(
            container_id(&self.container).is_some(),
            "{} is gone",
            self.container
        );
    }
}

/// Runs the `stages` fixture to `stage`: once starflake printed `marker` and `reached` holds
/// for the enclave, sends Ctrl-C. Then it must end with 130 within `STOP`, say it was
/// interrupted, and leave nothing of its own: no container, network, volume, lock, state
/// folder, nor an image of the stage's; what was there before stays. Returns its stderr.
fn interrupt_at(id: &str, stage: &str, marker: &str, reached: impl Fn(&str) -> bool) -> String {
    let mut fixture = Fixture::new("stages", id);
    let bystanders = Bystanders::make(&mut fixture);
    let args = format!(r#"{{"stage": "{stage}"}}"#);
    let (status, stderr) = common::interrupt(
        fixture
            .command(&["run", "--enclave", id, "--args", &args, "."])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null()),
        marker,
        REACH,
        || reached(id),
        STOP,
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    fixture.assert_gone();
    assert_eq!(lock_of(id), None, "the lock is released\n{stderr}");
    for output in ["slow", "stalled"] {
        let image = format!("starflake-test/{id}-{output}");
        let left = block_on(async move { docker().inspect_image(&image).await.is_ok() });
        assert!(!left, "image {output} is left\n{stderr}");
    }
    bystanders.assert_intact();
    stderr
}

fn has_container(enclave: &str, name: &str) -> bool {
    labelled(enclave)
        .containers
        .iter()
        .any(|container| container.starts_with(&format!("starflake-{enclave}--{name}")))
}

#[test]
fn ctrl_c_during_the_nix_build() {
    let stderr = interrupt_at(
        "sfr-c-build",
        "build",
        "building starflake-test-sfr-c-build-slow",
        |_| true,
    );
    assert!(
        stderr.contains("interrupted: nothing was started"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_the_image_load() {
    let stderr = interrupt_at("sfr-c-load", "load", "loading stream script", |_| true);
    assert!(
        stderr.contains("interrupted: nothing was started"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_once_the_network_is_made() {
    let stderr = interrupt_at(
        "sfr-c-network",
        "start",
        "new enclave sfr-c-network",
        |id| !labelled(id).networks.is_empty(),
    );
    assert!(stderr.contains("rolled back"), "{stderr}");
}

#[test]
fn ctrl_c_while_a_service_is_created_and_started() {
    let stderr = interrupt_at("sfr-c-start", "start", "add_service first", |_| true);
    assert!(stderr.contains("rolled back"), "{stderr}");
}

#[test]
fn ctrl_c_while_waiting_for_a_port() {
    let stderr = interrupt_at("sfr-c-port", "port", "add_service closed", |id| {
        has_container(id, "closed")
    });
    assert!(
        stderr.contains("rolled back: removed 2 containers"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_while_waiting_for_a_ready_condition() {
    let stderr = interrupt_at("sfr-c-ready", "ready", "add_service unready", |id| {
        has_container(id, "unready")
    });
    assert!(
        stderr.contains("rolled back: removed 2 containers"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_while_a_task_makes_a_files_artifact() {
    let stderr = interrupt_at("sfr-c-artifact", "artifact", "run_sh", |id| {
        has_container(id, "task-")
    });
    assert!(
        stderr.contains("rolled back: removed 2 containers"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_in_an_existing_enclave_keeps_its_services_and_leaves_no_task_running() {
    let fixture = Fixture::new("stages", "sfr-c-again");
    fixture.run(&["--args", r#"{"stage": "start"}"#]).expect(0);
    let before = labelled("sfr-c-again");
    let ids: Vec<_> = before
        .containers
        .iter()
        .map(|name| container_id(name))
        .collect();

    // An existing enclave keeps what an interrupted run made (no rollback by default), but a
    // task is no service: it does not outlive its run.
    let (status, stderr) = common::interrupt(
        fixture
            .command(&[
                "run",
                "--enclave",
                "sfr-c-again",
                "--args",
                r#"{"stage": "artifact"}"#,
                ".",
            ])
            .stdout(Stdio::null()),
        "run_sh",
        REACH,
        || has_container("sfr-c-again", "task-"),
        STOP,
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("kept what the run created"), "{stderr}");
    assert_eq!(labelled("sfr-c-again"), before, "{stderr}");
    let after: Vec<_> = before
        .containers
        .iter()
        .map(|name| container_id(name))
        .collect();
    assert_eq!(after, ids, "the services are the same containers");
    assert_eq!(lock_of("sfr-c-again"), None);
}

#[test]
fn a_lock_held_from_another_machine_is_released_by_enclave_unlock() {
    let fixture = Fixture::new("stages", "sfr-unlock");
    fixture.run(&["--args", r#"{"stage": "start"}"#]).expect(0);
    // A lock as a run on another machine sharing the engine would hold it.
    let holder = serde_json::json!({
        "pid": 4242,
        "host": "build-server",
        "command": "starflake run .",
        "since": 0,
        "machine": "another boot",
        "started": 1,
    });
    block_on(async move {
        docker()
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name("starflake-lock.sfr-unlock")
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some("starflake/enclave-lock:1".to_owned()),
                    labels: Some(HashMap::from([
                        ("starflake.lock".to_owned(), "sfr-unlock".to_owned()),
                        ("starflake.lock.holder".to_owned(), holder.to_string()),
                    ])),
                    ..Default::default()
                },
            )
            .await
            .expect("a lock of another machine");
    });

    let refused = fixture.run(&["--args", r#"{"stage": "start"}"#]);
    refused
        .expect(1)
        .stderr_has("enclave sfr-unlock is being changed by `starflake run .` (pid 4242 on build-server, since 1970-01-01 00:00:00 UTC)")
        .stderr_has("starflake cannot tell whether it still runs; if it does not, `starflake enclave unlock sfr-unlock` releases the lock");

    let unlock = fixture.starflake(&["enclave", "unlock", "sfr-unlock"]);
    unlock.expect(0);
    assert!(
        unlock.stdout.starts_with(
            "released the lock of enclave sfr-unlock, held by `starflake run .` (pid 4242 on build-server"
        ),
        "{}",
        unlock.stdout
    );
    let again = fixture.starflake(&["enclave", "unlock", "sfr-unlock"]);
    again.expect(0);
    assert_eq!(again.stdout, "enclave sfr-unlock was not locked\n");
    fixture.run(&["--args", r#"{"stage": "start"}"#]).expect(0);
}

//! End-to-end tests of `starflake build --push` against a real registry (Debian's
//! `docker-registry` on loopback, started by each test), checked independently: the pushed
//! image is pulled back by digest with the real Docker engine and run, and `skopeo inspect`
//! reads its manifest. Uses the build fixtures (`tests/fixtures/build/`).
#![cfg(feature = "native")]

// The harness is shared with the build and run suites; this one uses part of it.
#[allow(dead_code)]
mod common;
#[path = "common/registry.rs"]
mod registry;

use std::process::Command;

use common::{Cleanup, Package, Run, block_on, docker};
use registry::Registry;

/// The clean-up of a push test: the images pulled back from the registry.
struct Pulled;

impl Cleanup for Pulled {
    fn clean(&self, package: &Package) {
        let pattern = format!("127.0.0.1:*/starflake-test/{}*", package.id);
        block_on(async move {
            let docker = docker();
            for image in common::images_matching(&docker, &pattern).await {
                common::remove_image(&docker, &image.id).await;
            }
        });
    }
}

type Fixture = common::Fixture<Pulled>;

fn push(fixture: &Fixture, registry: &Registry, more: &[&str]) -> Run {
    let mut command = fixture.command(&["build", "--push", &registry.address]);
    command.args(more);
    Run::from(command.output().expect("starflake runs"))
}

/// `REGISTRY/name:tag@sha256:...` from the result line of a push.
#[track_caller]
fn pushed_reference(run: &Run) -> (String, String) {
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("pushed "))
        .unwrap_or_else(|| panic!("no `pushed` line in:\n{}", run.stdout));
    let reference = line.split_whitespace().nth(1).unwrap();
    let (name, digest) = reference.split_once('@').unwrap();
    (name.to_owned(), digest.to_owned())
}

/// What `skopeo inspect` says of an image in the registry.
fn skopeo_inspect(reference: &str) -> serde_json::Value {
    let output = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo runs (scripts/setup-native.sh installs it)");
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Pulls `name@digest` with the Docker engine and runs it; returns what it printed.
fn pull_and_run(repository: &str, digest: &str, container: &str) -> String {
    let by_digest = format!("{repository}@{digest}");
    let pull = Command::new("docker")
        .args(["pull", "-q", &by_digest])
        .output()
        .unwrap();
    assert!(
        pull.status.success(),
        "docker pull {by_digest}: {}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let run = Command::new("docker")
        .args(["run", "--rm", "--name", container, &by_digest])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "docker run {by_digest}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout).trim().to_owned()
}

/// Pushes the fixture `case`, checks the image in the registry by digest (skopeo, a pull
/// and a run), then pushes again: every blob is there, nothing is sent.
fn pushes_and_pulls_back(case: &str, id: &str) {
    let registry = Registry::start(id);
    let fixture = Fixture::prepare("build", case, id, Pulled);
    let run = push(&fixture, &registry, &[]);
    run.expect(0);
    let (reference, digest) = pushed_reference(&run);
    let repository = format!("{}/starflake-test/{id}", registry.address);
    assert_eq!(reference, format!("{repository}:latest"));
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    run.stderr_has("1 pushed, 0 failed");

    let inspected = skopeo_inspect(&reference);
    assert_eq!(inspected["Digest"], digest.as_str());
    assert_eq!(inspected["Architecture"], "amd64");
    assert_eq!(inspected["Os"], "linux");
    assert_eq!(inspected["Layers"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        pull_and_run(&repository, &digest, &format!("{id}-run")),
        format!("hello from {id}")
    );

    let blobs = registry.blob_count();
    let again = push(&fixture, &registry, &["--format", "json"]);
    again.expect(0);
    let pushed = &again.json()["images"][0]["pushed"];
    assert_eq!(
        pushed["digest"],
        digest.as_str(),
        "the same image, the same digest"
    );
    assert_eq!(pushed["uploaded"], 0, "{pushed}");
    assert_eq!(pushed["skipped"], 2, "the layer and the config: {pushed}");
    assert_eq!(pushed["bytes_sent"], 0);
    assert_eq!(registry.blob_count(), blobs);
}

#[test]
fn plain_tar_is_pushed_pulled_back_by_digest_and_pushed_again_for_nothing() {
    pushes_and_pulls_back("tar", "sfp-tar");
}

#[test]
fn gzip_archive_is_pushed_uncompressed_and_pulled_back() {
    pushes_and_pulls_back("gzip", "sfp-gzip");
}

#[test]
fn stream_script_is_pushed_as_it_writes() {
    pushes_and_pulls_back("stream", "sfp-stream");
}

#[test]
fn an_image_for_another_architecture_is_refused_before_the_push() {
    let registry = Registry::start("sfp-arm");
    let fixture = Fixture::prepare("build", "arm", "sfp-arm", Pulled);
    let run = push(&fixture, &registry, &["--system", "x86_64-linux"]);
    run.expect(1);
    run.stderr_has("error: checking image `starflake-test/sfp-arm:latest` failed")
        .stderr_has("--> main.star:5:21 (NixBuildSpec)")
        .stderr_has("the image is for linux/arm64, but")
        .stderr_has("runs linux/amd64");
    assert_eq!(registry.blob_count(), 0, "nothing was pushed");
}

#[test]
fn the_plan_says_where_each_image_will_live() {
    let fixture = Fixture::prepare("build", "tar", "sfp-plan", Pulled);
    let run = Run::from(
        fixture
            .command(&["plan", "--push", "registry.example:5000/team"])
            .output()
            .unwrap(),
    );
    run.expect(0);
    assert!(
        run.stdout
            .contains("pushed to registry.example:5000/team/starflake-test/sfp-plan:latest"),
        "{}",
        run.stdout
    );
    let json = Run::from(
        fixture
            .command(&[
                "plan",
                "--format",
                "json",
                "--push",
                "registry.example:5000/team",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(
        json.json()["plan"]["images"][0]["push_to"],
        "registry.example:5000/team/starflake-test/sfp-plan:latest"
    );
}

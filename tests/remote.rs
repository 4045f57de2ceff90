//! End-to-end tests of starflake on a remote Docker engine: a second, real `dockerd` that
//! the tests start in a network namespace of their own and reach over TCP (see
//! `tests/common/engine.rs`).
#![cfg(feature = "native")]

#[path = "common/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;

use engine::RemoteEngine;

/// The harness itself: the engine answers over TCP (the docker CLI agrees), runs after a
/// stop and a start with its data kept, and leaves no namespace, link or folder behind.
#[test]
fn the_test_engine_answers_over_tcp_survives_a_restart_and_leaves_nothing_behind() {
    let mut engine = RemoteEngine::start();
    let name = engine.name.clone();
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
    assert!(
        !String::from_utf8_lossy(&links.stdout).contains(&format!("sfh{:x}x", std::process::id()))
    );
    assert!(!Path::new(&std::env::temp_dir().join(&name)).exists());
}

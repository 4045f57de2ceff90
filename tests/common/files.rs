//! The fixture packages of the build and run tests and of the build benchmark, made ready to
//! build. Only std: the benchmark includes this file by itself
//! (`#[path = "../tests/common/files.rs"]`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `tests/fixtures/<suite>`: `build` or `run`.
pub fn fixtures(suite: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(suite)
}

/// Unique to this process: `@RUN@` in a fixture defeats Nix's cache where a test needs a
/// real build.
fn run_nonce() -> &'static str {
    static NONCE: OnceLock<String> = OnceLock::new();
    NONCE.get_or_init(|| {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{}-{}", std::process::id(), since_epoch.as_nanos())
    })
}

/// Copies a text file, putting `id` for every `@ID@` and the run's nonce for every `@RUN@`.
fn copy_file(from: &Path, to: &Path, id: &str) {
    let text = std::fs::read_to_string(from).unwrap();
    let text = text.replace("@ID@", id).replace("@RUN@", run_nonce());
    std::fs::write(to, text).unwrap();
}

/// Copies a fixture (text files only, see `copy_file`).
pub fn copy_tree(from: &Path, to: &Path, id: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, id);
        } else {
            copy_file(&entry.path(), &target, id);
        }
    }
}

/// Completes the flake folder `nix/` of a copied package: the flake library every fixture
/// shares (`tests/fixtures/build/lib/`), then the suite's own (`tests/fixtures/run/lib/`: the
/// flake.nix of the run fixtures) for each file the fixture does not have itself, and the
/// host's static busybox as `bin/busybox` (never committed).
pub fn add_flake_library(package: &Path, suite: &str, id: &str) {
    let flake_dir = package.join("nix");
    std::fs::create_dir_all(flake_dir.join("bin")).unwrap();
    let mut libraries = vec![fixtures("build").join("lib")];
    if suite != "build" && fixtures(suite).join("lib").is_dir() {
        libraries.push(fixtures(suite).join("lib"));
    }
    for library in libraries {
        for entry in std::fs::read_dir(library).unwrap() {
            let entry = entry.unwrap();
            let target = flake_dir.join(entry.file_name());
            if !target.exists() {
                copy_file(&entry.path(), &target, id);
            }
        }
    }
    std::fs::copy("/bin/busybox", flake_dir.join("bin/busybox")).unwrap();
}

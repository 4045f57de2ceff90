//! `starflake deps fetch` against local git repositories: git's own `url.<base>.insteadOf`
//! (in a config file that GIT_CONFIG_GLOBAL names) turns `https://github.com/` into a local
//! folder, so nothing reaches the network.

#![cfg(feature = "native")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder of this test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs git with no user or system configuration but `config`.
fn git(config: &Path, dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?} in {}", dir.display());
}

/// A repository at `remotes/github.com/<org>/<repo>` with one commit of `files`.
fn repository(config: &Path, remotes: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = remotes.join(name);
    for (path, text) in files {
        write(&dir.join(path), text);
    }
    git(config, &dir, &["init", "--quiet", "--initial-branch=main"]);
    commit(config, &dir, "first");
    dir
}

fn commit(config: &Path, dir: &Path, message: &str) {
    git(config, dir, &["add", "--all"]);
    git(config, dir, &["commit", "--quiet", "--message", message]);
}

fn starflake(config: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_starflake"))
        .args(args)
        .env("GIT_CONFIG_GLOBAL", config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("STARFLAKE_PACKAGES_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn fetch_clones_dependencies_at_their_pins_and_check_reads_the_cache() {
    let root = scratch("deps-fetch");
    let remotes = root.join("remotes");
    let config = root.join("gitconfig");
    write(
        &config,
        &format!(
            "[url \"file://{}/github.com/\"]\n\tinsteadOf = https://github.com/\n",
            remotes.display()
        ),
    );
    // `dep/lib` is pinned at tag v1; a later commit on its branch renames its function.
    let lib = repository(
        &config,
        &remotes,
        "github.com/dep/lib",
        &[
            ("kurtosis.yml", "name: github.com/dep/lib\n"),
            (
                "lib.star",
                "third = import_module(\"github.com/dep/third/third.star\")\n\ndef add_database(plan):\n    third.add(plan)\n",
            ),
        ],
    );
    git(&config, &lib, &["tag", "v1"]);
    write(&lib.join("lib.star"), "def renamed(plan):\n    pass\n");
    commit(&config, &lib, "rename");
    // `dep/third` is a dependency of the dependency, not pinned.
    repository(
        &config,
        &remotes,
        "github.com/dep/third",
        &[
            ("kurtosis.yml", "name: github.com/dep/third\n"),
            (
                "third.star",
                "def add(plan):\n    plan.add_service(name = \"db\", config = ServiceConfig(image = \"postgres:16\"))\n",
            ),
        ],
    );
    let package = root.join("package");
    write(
        &package.join("kurtosis.yml"),
        "name: github.com/example/app\nreplace:\n  github.com/dep/lib: github.com/dep/lib@v1\n",
    );
    write(
        &package.join("main.star"),
        "lib = import_module(\"github.com/dep/lib/lib.star\")\n\ndef run(plan):\n    lib.add_database(plan)\n",
    );
    let cache = root.join("cache");
    let package_path = package.to_str().unwrap();

    let before = starflake(&config, &cache, &["check", package_path]);
    assert!(
        String::from_utf8_lossy(&before.stdout).contains("run `starflake deps fetch`"),
        "SF008 names the command: {}",
        String::from_utf8_lossy(&before.stdout)
    );

    let fetched = starflake(&config, &cache, &["deps", "fetch", package_path]);
    let out = String::from_utf8_lossy(&fetched.stdout);
    assert!(
        fetched.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(out.contains("fetched github.com/dep/lib@v1"), "{out}");
    assert!(out.contains("fetched github.com/dep/third"), "{out}");
    let pinned = std::fs::read_to_string(cache.join("github.com/dep/lib@v1/lib.star")).unwrap();
    assert!(
        pinned.contains("def add_database"),
        "the pinned version: {pinned}"
    );
    assert!(cache.join("github.com/dep/third/third.star").is_file());

    let again = starflake(&config, &cache, &["deps", "fetch", package_path]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date github.com/dep/lib@v1"));

    // The cache is read by default, with no network and no `--packages`.
    let after = starflake(&config, &cache, &["plan", package_path]);
    let plan = String::from_utf8_lossy(&after.stdout);
    assert!(after.status.success(), "{plan}");
    assert!(plan.contains("add_service db"), "{plan}");
    assert!(!String::from_utf8_lossy(&after.stderr).contains("SF008"));
}

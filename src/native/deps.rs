//! The package cache, like Kurtosis's: `starflake deps fetch` clones a package's
//! `github.com/...` dependencies (transitively, each at the version `replace:` pins) with git,
//! laid out as `--packages` reads them; `check`, `plan`, `build`, `run` and `lsp` read it by
//! default and never touch the network.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::package::{MANIFEST_FILE, Manifest, Resolver, parse_github_locator, parse_manifest};

/// Overrides where the package cache is.
pub const PACKAGES_DIR_ENV: &str = "STARFLAKE_PACKAGES_DIR";

/// The packages folder read when `--packages` is not given: `$STARFLAKE_PACKAGES_DIR`, else
/// `starflake/packages` in the platform's cache folder (`$XDG_CACHE_HOME` or `~/.cache` on
/// Linux, `~/Library/Caches` on macOS).
pub fn default_packages_dir() -> Option<PathBuf> {
    std::env::var_os(PACKAGES_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|dir| dir.join("starflake").join("packages")))
}

/// What `fetch` did for one dependency.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    Cloned(String),
    AlreadyThere(String),
    /// The clone failed (a private or missing repository, a bad ref); the others go on.
    Failed(String, String),
}

/// Clones every `github.com/...` dependency of the package at `package`, and theirs, into
/// `packages_dir` (`github.com/<org>/<repo>@<ref>/` when pinned, else `github.com/<org>/<repo>/`).
/// Fails only when the package itself cannot be read.
pub fn fetch(package: &Path, packages_dir: &Path) -> Result<Vec<Fetched>, String> {
    let manifest = read_manifest(package)?;
    let resolver = Resolver::new(&manifest, None);
    let own_repository = parse_github_locator(&manifest.name)
        .map(|(repository, _, _)| repository)
        .unwrap_or_default();
    let mut seen = BTreeSet::from([own_repository]);
    let mut queue = dependencies(package, &resolver);
    let mut done = Vec::new();
    while let Some(repository) = queue.pop() {
        if !seen.insert(repository.clone()) {
            continue;
        }
        let name = resolver.checkout_name(&repository);
        let target = packages_dir.join(&name);
        if target.is_dir() {
            done.push(Fetched::AlreadyThere(name));
        } else {
            let reference = name.split_once('@').map(|(_, reference)| reference);
            match clone(&repository, reference, &target) {
                Ok(()) => done.push(Fetched::Cloned(name)),
                Err(message) => {
                    done.push(Fetched::Failed(name, message));
                    continue;
                }
            }
        }
        queue.extend(dependencies(&target, &resolver));
    }
    Ok(done)
}

fn read_manifest(package: &Path) -> Result<Manifest, String> {
    let path = package.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    parse_manifest(&text, &mut Vec::new())
        .ok_or_else(|| format!("`{}` has no valid package name", path.display()))
}

/// The repositories a checkout names in string literals of its `.star` files and in its
/// `kurtosis.yml` (after the root package's `replace:`), found by reading rather than
/// evaluating, so that every branch counts.
fn dependencies(checkout: &Path, resolver: &Resolver) -> Vec<String> {
    let locator = regex_lite::Regex::new(r#"["' ](github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"#)
        .expect("the locator pattern is valid");
    let mut found = BTreeSet::new();
    let mut pending = vec![checkout.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() && name != ".git" {
                pending.push(path);
            } else if kind.is_file()
                && (path.extension().is_some_and(|ext| ext == "star") || name == MANIFEST_FILE)
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                for captures in locator.captures_iter(&text) {
                    let written = captures[1].trim_end_matches(".git");
                    if let Ok(absolute) = resolver.absolute("", written)
                        && let Ok((repository, _, _)) = parse_github_locator(&absolute)
                    {
                        found.insert(repository);
                    }
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Clones `https://<repository>` at `reference` (a commit, tag or branch) into `target`,
/// through a temporary folder so that a failed clone leaves nothing behind.
fn clone(repository: &str, reference: Option<&str>, target: &Path) -> Result<(), String> {
    let parent = target
        .parent()
        .ok_or_else(|| format!("`{}` has no parent folder", target.display()))?;
    std::fs::create_dir_all(parent)
        .map_err(|error| format!("cannot create `{}`: {error}", parent.display()))?;
    let partial = parent.join(format!(
        ".{}.partial-{}",
        target.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let url = format!("https://{repository}");
    let partial_path = partial.to_string_lossy();
    let result = git(&["clone", "--quiet", &url, &partial_path]).and_then(|()| match reference {
        Some(reference) => git(&["-C", &partial_path, "checkout", "--quiet", reference]),
        None => Ok(()),
    });
    let result = result.and_then(|()| {
        std::fs::rename(&partial, target)
            .map_err(|error| format!("cannot move the clone to `{}`: {error}", target.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

/// Runs `git ARGS`, never asking for credentials.
fn git(args: &[&str]) -> Result<(), String> {
    let output = Command::new("git")
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|error| {
            format!("cannot run `git` ({error}); install git to fetch dependencies")
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`git {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

//! Locators, resolved the way Kurtosis resolves them, then mapped to files we can read.
//!
//! Kurtosis turns every path in a package into an absolute locator `github.com/<org>/<repo>/...`:
//! a GitHub URL stays as it is, a leading `/` starts at the repository root, anything else is
//! relative to the folder of the calling `.star` file. `kurtosis.yml` `replace:` entries then
//! rewrite the package prefix. We map the result to a path for the [`SourceProvider`]: the root
//! package and its repository, local replacements, and a local packages folder.
//!
//! [`SourceProvider`]: crate::source::SourceProvider

use crate::source::{join, normalize};

use super::Manifest;

/// Parses `github.com/<org>/<repo>[/path][@ref]` into (repository locator, path inside it, ref).
pub fn parse_github_locator(locator: &str) -> Result<(String, String, Option<String>), String> {
    if locator.contains("://") {
        return Err(
            "a locator has no URL scheme (write `github.com/...`, not `https://github.com/...`)"
                .into(),
        );
    }
    let (path, reference) = match locator.split_once('@') {
        Some((path, reference)) => {
            // `repo@v1/file.star`: Kurtosis moves a trailing file name back onto the path.
            match reference.rsplit_once('/') {
                Some((tag, file)) if file.contains('.') => {
                    (format!("{path}/{file}"), Some(tag.to_owned()))
                }
                _ => (path.to_owned(), Some(reference.to_owned())),
            }
        }
        None => (locator.to_owned(), None),
    };
    let segments: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    match segments.first() {
        Some(host) if host.eq_ignore_ascii_case("github.com") => {}
        _ => return Err("only `github.com/...` locators are supported".into()),
    }
    if segments.len() < 3 {
        return Err("a locator needs at least `github.com/<org>/<repo>`".into());
    }
    let repository = format!("github.com/{}/{}", segments[1], segments[2]);
    let inner = normalize(&segments[3..].join("/"));
    Ok((repository, inner, reference))
}

/// Where a locator's files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Readable through the source provider at `path`.
    Local {
        locator: String,
        path: String,
        /// Inside the package being checked (as opposed to a dependency).
        in_root_package: bool,
    },
    /// Another package that is not available here.
    Remote { locator: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Mount {
    locator_prefix: String,
    path_prefix: String,
    /// A missing file under this mount is an error (the root package), not an unavailable remote.
    authoritative: bool,
}

/// A dependency that `replace:` in `kurtosis.yml` pins to one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The `replace:` key (the locator it replaces), to point at the entry.
    pub replaced: String,
    /// `github.com/<org>/<repo>`.
    pub repository: String,
    /// A commit, tag or branch, exactly as written after `@`.
    pub reference: String,
}

impl Pin {
    /// The folder of a packages folder that holds this version: `github.com/<org>/<repo>@<ref>`.
    pub fn checkout_name(&self) -> String {
        format!("{}@{}", self.repository, self.reference)
    }
}

/// Resolves locators for one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolver {
    package: String,
    replace: Vec<(String, String)>,
    mounts: Vec<Mount>,
    pins: Vec<Pin>,
}

impl Resolver {
    /// `packages_dir`: a source path holding `github.com/<org>/<repo>/...` trees.
    pub fn new(manifest: &Manifest, packages_dir: Option<&str>) -> Self {
        let package = manifest.name.clone();
        let mut mounts = vec![Mount {
            locator_prefix: package.clone(),
            path_prefix: String::new(),
            authoritative: true,
        }];
        if let Ok((repository, inner, _)) = parse_github_locator(&package) {
            if !inner.is_empty() {
                let depth = inner.split('/').count();
                mounts.push(Mount {
                    locator_prefix: repository,
                    path_prefix: vec![".."; depth].join("/"),
                    authoritative: false,
                });
            }
        }
        let mut replace = Vec::new();
        let mut pins = Vec::new();
        for (from, to) in &manifest.replace {
            let from = from.trim_end_matches('/').to_owned();
            if to.starts_with('.') || to.starts_with('/') {
                mounts.push(Mount {
                    locator_prefix: from,
                    path_prefix: normalize(to),
                    authoritative: false,
                });
                continue;
            }
            if let Ok((repository, _, Some(reference))) = parse_github_locator(to) {
                pins.push(Pin {
                    replaced: from.clone(),
                    repository,
                    reference,
                });
            }
            replace.push((from, to.clone()));
        }
        if let Some(dir) = packages_dir {
            // A pinned repository is read only from its own version's folder, never another.
            for pin in &pins {
                mounts.push(Mount {
                    locator_prefix: pin.repository.clone(),
                    path_prefix: join(dir, &pin.checkout_name()),
                    authoritative: false,
                });
            }
            mounts.push(Mount {
                locator_prefix: "github.com".to_owned(),
                path_prefix: join(dir, "github.com"),
                authoritative: false,
            });
        }
        // Longest prefix first, so a replaced sub-package wins over its repository.
        mounts.sort_by_key(|mount| std::cmp::Reverse(mount.locator_prefix.len()));
        Resolver {
            package,
            replace,
            mounts,
            pins,
        }
    }

    /// The dependencies `replace:` pins to one version.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// The folder of a packages folder that holds `repository` as this package needs it:
    /// `github.com/<org>/<repo>@<ref>` when pinned, else `github.com/<org>/<repo>`.
    pub fn checkout_name(&self, repository: &str) -> String {
        self.pins
            .iter()
            .find(|pin| pin.repository == repository)
            .map_or_else(|| repository.to_owned(), Pin::checkout_name)
    }

    pub fn package(&self) -> &str {
        &self.package
    }

    /// The locator of a root-package file given by its source path.
    pub fn locator_of(&self, path: &str) -> String {
        if path.is_empty() {
            self.package.clone()
        } else {
            format!("{}/{}", self.package, path)
        }
    }

    /// The absolute locator for `locator` written in the file whose locator is `caller`.
    pub fn absolute(&self, caller: &str, locator: &str) -> Result<String, String> {
        let locator = locator.trim();
        if parse_github_locator(locator).is_ok() {
            let (repository, inner, _) = parse_github_locator(locator)?;
            let absolute = if inner.is_empty() {
                repository
            } else {
                format!("{repository}/{inner}")
            };
            if caller.starts_with(&self.package) && is_within(&absolute, &self.package) {
                return Err(format!(
                    "`{locator}` names a file of this package by its absolute URL; Kurtosis allows only relative locators (starting with `/` or `.`) inside a package"
                ));
            }
            return Ok(self.apply_replace(absolute));
        }
        let (repository, inner, _) = parse_github_locator(caller)?;
        let joined = if let Some(from_root) = locator.strip_prefix('/') {
            join(&repository, from_root)
        } else {
            let caller_dir = crate::source::parent(&inner);
            format!("{repository}/{}", join(caller_dir, locator))
        };
        let normalized = normalize(&joined);
        Ok(self.apply_replace(normalized))
    }

    fn apply_replace(&self, locator: String) -> String {
        for (from, to) in &self.replace {
            if is_within(&locator, from) {
                let to = to.split('@').next().unwrap_or(to);
                return format!("{to}{}", &locator[from.len()..]);
            }
        }
        locator
    }

    /// Where the files of an absolute locator are.
    pub fn resolve(&self, locator: &str) -> Resolution {
        for mount in &self.mounts {
            if is_within(locator, &mount.locator_prefix) {
                let rest = locator[mount.locator_prefix.len()..].trim_start_matches('/');
                return Resolution::Local {
                    locator: locator.to_owned(),
                    path: join(&mount.path_prefix, rest),
                    in_root_package: mount.authoritative,
                };
            }
        }
        Resolution::Remote {
            locator: locator.to_owned(),
        }
    }

    /// Whether a mount other than the root package claims this locator (its absence then means
    /// "not available", not "does not exist").
    pub fn in_root_package(&self, locator: &str) -> bool {
        is_within(locator, &self.package)
    }
}

/// `locator` equals `prefix` or lies below it (segment-wise).
fn is_within(locator: &str, prefix: &str) -> bool {
    locator == prefix || (locator.starts_with(prefix) && locator[prefix.len()..].starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(name: &str, replace: &[(&str, &str)]) -> Resolver {
        let manifest = Manifest {
            name: name.to_owned(),
            description: None,
            replace: replace
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        Resolver::new(&manifest, Some("/pkgs"))
    }

    #[test]
    fn relative_locators_follow_the_calling_file() {
        let r = resolver("github.com/org/repo", &[]);
        let caller = "github.com/org/repo/src/el/main.star";
        assert_eq!(
            r.absolute(caller, "../lib.star").unwrap(),
            "github.com/org/repo/src/lib.star"
        );
        assert_eq!(
            r.absolute(caller, "/static/x").unwrap(),
            "github.com/org/repo/static/x"
        );
        assert_eq!(
            r.resolve("github.com/org/repo/src/lib.star"),
            Resolution::Local {
                locator: "github.com/org/repo/src/lib.star".into(),
                path: "src/lib.star".into(),
                in_root_package: true
            }
        );
    }

    #[test]
    fn own_files_by_absolute_url_are_refused() {
        let r = resolver("github.com/org/repo", &[]);
        assert!(
            r.absolute(
                "github.com/org/repo/main.star",
                "github.com/org/repo/lib.star"
            )
            .is_err()
        );
        assert!(
            r.absolute(
                "github.com/org/repo/main.star",
                "github.com/org/other/lib.star"
            )
            .is_ok()
        );
    }

    #[test]
    fn sub_packages_see_their_repository_and_dependencies() {
        let r = resolver(
            "github.com/org/repo/pkg",
            &[
                ("github.com/dep/x", "../x"),
                ("github.com/a/b", "github.com/fork/b@v2"),
            ],
        );
        let caller = "github.com/org/repo/pkg/main.star";
        let sibling = r
            .absolute(caller, "github.com/org/repo/other/main.star")
            .unwrap();
        assert!(
            matches!(r.resolve(&sibling), Resolution::Local { path, in_root_package: false, .. } if path == "../other/main.star")
        );
        assert!(
            matches!(r.resolve("github.com/dep/x/m.star"), Resolution::Local { path, .. } if path == "../x/m.star")
        );
        assert_eq!(
            r.absolute(caller, "github.com/a/b/m.star").unwrap(),
            "github.com/fork/b/m.star"
        );
        assert!(
            matches!(r.resolve("github.com/fork/b/m.star"), Resolution::Local { path, .. } if path == "/pkgs/github.com/fork/b@v2/m.star")
        );
    }

    #[test]
    fn pinned_dependencies_are_read_from_their_version_only() {
        let r = resolver(
            "github.com/org/repo",
            &[("github.com/dep/x", "github.com/dep/x@3f2a1bc")],
        );
        assert!(
            matches!(r.resolve("github.com/dep/x/main.star"), Resolution::Local { path, .. } if path == "/pkgs/github.com/dep/x@3f2a1bc/main.star")
        );
        assert!(
            matches!(r.resolve("github.com/dep/y/main.star"), Resolution::Local { path, .. } if path == "/pkgs/github.com/dep/y/main.star")
        );
        assert_eq!(
            r.checkout_name("github.com/dep/x"),
            "github.com/dep/x@3f2a1bc"
        );
        assert_eq!(r.checkout_name("github.com/dep/y"), "github.com/dep/y");
    }
}

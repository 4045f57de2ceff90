//! Read-only access to package files, so the core never touches the file system itself.
//!
//! Paths are relative to the package root, `/`-separated and normalized (see [`normalize`]); they
//! may start with `../` for local dependencies beside the package, or be absolute for a packages
//! folder given on the command line.

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// A symlink on the way resolves to a place outside the package root.
    pub leaves_root: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("no such file")]
    NotFound,
    #[error("it is a folder, not a file")]
    IsDir,
    /// `line` and `column` (1-based, the column in bytes) of the first byte that is not.
    #[error("it is not UTF-8 text: the byte at line {line}, column {column} is not")]
    NotText { line: usize, column: usize },
    /// A named pipe, socket or device: reading it could block forever or never end.
    #[error("it is a {0}, not a regular file; a package holds only regular files and folders")]
    NotRegularFile(&'static str),
    /// Past [`crate::limits::MAX_READ_BYTES`]: read, it would take most of a check's memory.
    #[error("it has {} MiB, and a check reads files of at most {} MiB", .0.div_ceil(1 << 20), crate::limits::MAX_READ_BYTES >> 20)]
    TooLarge(u64),
    /// A symlink (or one on the way) to a place outside the package root.
    #[error(
        "it is a symlink to a place outside the package, which Kurtosis does not upload with it"
    )]
    LeavesPackage,
    #[error("{0}")]
    Other(String),
}

/// `bytes` as text, or where they stop being UTF-8.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line_start = valid
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        ReadError::NotText {
            line: valid.iter().filter(|&&byte| byte == b'\n').count() + 1,
            column: valid.len() - line_start + 1,
        }
    })
}

/// The package files a check may read.
pub trait SourceProvider {
    fn read(&self, path: &str) -> Result<String, ReadError>;
    fn entry(&self, path: &str) -> Option<Entry>;

    /// The names of the entries of folder `dir`, sorted, for completing paths in an editor.
    /// A provider that cannot list folders (a pair of read callbacks) offers none.
    fn list(&self, _dir: &str) -> Vec<String> {
        Vec::new()
    }
}

/// Files held in memory: the wasm module, the playground and the tests.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    files: BTreeMap<String, String>,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: &str, text: impl Into<String>) {
        self.files.insert(normalize(path), text.into());
    }

    pub fn with(mut self, path: &str, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }
}

impl FromIterator<(String, String)> for MemorySource {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut source = MemorySource::new();
        for (path, text) in iter {
            source.insert(&path, text);
        }
        source
    }
}

impl SourceProvider for MemorySource {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        match self.files.get(path) {
            Some(text) => Ok(text.clone()),
            None if self.entry(path).is_some() => Err(ReadError::IsDir),
            None => Err(ReadError::NotFound),
        }
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        let kind = if self.files.contains_key(path) {
            EntryKind::File
        } else {
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}/")
            };
            self.files
                .keys()
                .any(|key| key.starts_with(&prefix))
                .then_some(EntryKind::Dir)?
        };
        Some(Entry {
            kind,
            leaves_root: false,
        })
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|key| key.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Joins `path` onto `base` and normalizes the result.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') || base.is_empty() {
        normalize(path)
    } else {
        normalize(&format!("{base}/{path}"))
    }
}

/// Removes `.`, empty segments and resolvable `..`; keeps leading `..` and a leading `/`.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The folder of a file path ("" for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |slash| &path[..slash])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_and_keeps_leading_parents() {
        assert_eq!(normalize("./a//b/../c"), "a/c");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize("/x/../../y"), "/y");
        assert_eq!(normalize("."), "");
    }

    #[test]
    fn memory_source_knows_folders_from_file_paths() {
        let source = MemorySource::new().with("app/flake.nix", "{}");
        assert_eq!(source.entry("app").map(|e| e.kind), Some(EntryKind::Dir));
        assert_eq!(source.entry("").map(|e| e.kind), Some(EntryKind::Dir));
        assert_eq!(source.entry("ap"), None);
        assert_eq!(source.read("app"), Err(ReadError::IsDir));
    }

    #[test]
    fn memory_source_lists_the_entries_of_a_folder_once_each() {
        let source = MemorySource::new()
            .with("main.star", "")
            .with("nix/app/flake.nix", "{}")
            .with("nix/app/flake.lock", "{}")
            .with("nix/db.nix", "{}");
        assert_eq!(source.list(""), ["main.star", "nix"]);
        assert_eq!(source.list("nix"), ["app", "db.nix"]);
        assert!(source.list("missing").is_empty());
    }
}

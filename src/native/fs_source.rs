//! Package files from disk.

use std::path::{Path, PathBuf};

use crate::source::{Entry, EntryKind, ReadError, SourceProvider};

/// Reads files below a package root; absolute paths (a packages folder) are read as they are.
pub struct FsSource {
    root: PathBuf,
    canonical_root: Option<PathBuf>,
}

impl FsSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let canonical_root = root.canonicalize().ok();
        FsSource {
            root,
            canonical_root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, path: &str) -> PathBuf {
        if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            self.root.join(path)
        }
    }
}

/// The text of a file.
pub(crate) fn read_text(full: &Path) -> Result<String, ReadError> {
    match std::fs::read(full) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| ReadError::NotText),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(ReadError::NotFound),
        Err(_) if full.is_dir() => Err(ReadError::IsDir),
        Err(error) => Err(ReadError::Other(error.to_string())),
    }
}

impl SourceProvider for FsSource {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        read_text(&self.path(path))
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        let full = self.path(path);
        let metadata = std::fs::metadata(&full).ok()?;
        let kind = if metadata.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        // Only paths inside the package can leave it through a symlink.
        let leaves_root = match (
            &self.canonical_root,
            path.starts_with("..") || path.starts_with('/'),
        ) {
            (Some(root), false) => full
                .canonicalize()
                .map(|real| !real.starts_with(root))
                .unwrap_or(false),
            _ => false,
        };
        Some(Entry { kind, leaves_root })
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.path(dir)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }
}

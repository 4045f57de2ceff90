//! The files a check reads: open buffers over the disk, and which package a file belongs to.

use std::collections::HashMap;

use super::WorkspaceFiles;
use super::uri::is_absolute;
use crate::package::MANIFEST_FILE;
use crate::source::{Entry, EntryKind, ReadError, SourceProvider, join};

/// A file the client has open: its text replaces the one on disk.
pub(crate) struct Document {
    /// The URI exactly as the client wrote it, to answer in its own spelling.
    pub uri: String,
    pub text: String,
    pub version: i32,
}

/// Open documents by absolute path.
pub(crate) type Documents = HashMap<String, Document>;

/// One package's files for a check, read by paths relative to its root.
pub(crate) struct PackageSource<'a> {
    pub root: &'a str,
    pub documents: &'a Documents,
    pub files: &'a dyn WorkspaceFiles,
}

impl PackageSource<'_> {
    /// The absolute path of a path the checker names.
    pub fn absolute(&self, path: &str) -> String {
        absolute_in(self.root, path)
    }
}

/// `path` (relative to `root`, or absolute) as an absolute path.
pub(crate) fn absolute_in(root: &str, path: &str) -> String {
    if is_absolute(path) {
        path.to_owned()
    } else {
        join(root, path)
    }
}

impl SourceProvider for PackageSource<'_> {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        let path = self.absolute(path);
        match self.documents.get(&path) {
            Some(document) => Ok(document.text.clone()),
            None => self.files.read(&path),
        }
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        let path = self.absolute(path);
        if self.documents.contains_key(&path) {
            return Some(Entry {
                kind: EntryKind::File,
                leaves_root: false,
            });
        }
        self.files.entry(&path)
    }
}

/// The root of the package `path` belongs to: the nearest folder above it holding
/// `kurtosis.yml`, open or on disk.
pub(crate) fn package_root(
    path: &str,
    documents: &Documents,
    files: &dyn WorkspaceFiles,
) -> Option<String> {
    let mut folder = path;
    while let Some(slash) = folder.rfind('/') {
        folder = &folder[..slash];
        // The file system root is the empty folder before the first `/`.
        let root = if folder.is_empty() { "/" } else { folder };
        let manifest = join(root, MANIFEST_FILE);
        let has_manifest = documents.contains_key(&manifest)
            || files
                .entry(&manifest)
                .is_some_and(|entry| entry.kind == EntryKind::File);
        if has_manifest {
            return Some(root.to_owned());
        }
    }
    None
}

//! Package files from disk.

use std::fs::FileType;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::limits::MAX_READ_BYTES;
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

/// The text of a regular file; anything else is refused without being opened.
pub(crate) fn read_text(full: &Path) -> Result<String, ReadError> {
    let io_error = |error: std::io::Error| match error.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Other(error.to_string()),
    };
    // Opening a named pipe blocks until a writer comes, and a device may never end: look
    // before opening, so that only regular files are ever opened.
    let metadata = std::fs::metadata(full).map_err(io_error)?;
    if let Some(refused) = not_regular(&metadata.file_type()) {
        return Err(refused);
    }
    if metadata.len() > MAX_READ_BYTES {
        return Err(ReadError::TooLarge(metadata.len()));
    }
    // The path may have been swapped for a pipe since: a non-blocking open cannot hang,
    // and the opened file is checked again.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(full)
        .map_err(io_error)?;
    if let Some(refused) = not_regular(&file.metadata().map_err(io_error)?.file_type()) {
        return Err(refused);
    }
    // A file that grows while it is read is cut one byte past the limit, and refused.
    let mut bytes = Vec::new();
    file.take(MAX_READ_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    crate::source::utf8_text(bytes)
}

impl SourceProvider for FsSource {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        if self.entry(path).is_some_and(|entry| entry.leaves_root) {
            return Err(ReadError::LeavesPackage);
        }
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

/// Why a file of this kind is refused, if it is not a regular file.
fn not_regular(kind: &FileType) -> Option<ReadError> {
    let name = if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        return Some(ReadError::IsDir);
    } else if kind.is_fifo() {
        "named pipe (FIFO)"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else {
        "special file"
    };
    Some(ReadError::NotRegularFile(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A package folder of its own under the temporary folder, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn new(name: &str) -> Folder {
            let path =
                std::env::temp_dir().join(format!("starflake-fs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Folder(path)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Reads `path` in a thread, so that a read that blocks fails the test instead of hanging it.
    fn read_within_a_second(root: &Path, path: &str) -> Result<String, ReadError> {
        let source = FsSource::new(root);
        let path = path.to_owned();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(source.read(&path)));
        receiver
            .recv_timeout(std::time::Duration::from_secs(1))
            .expect("reading returns at once")
    }

    #[test]
    fn a_named_pipe_is_refused_without_waiting_for_a_writer() {
        let folder = Folder::new("fifo");
        let fifo =
            std::ffi::CString::new(folder.0.join("fifo").into_os_string().into_encoded_bytes())
                .unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_within_a_second(&folder.0, "fifo"),
            Err(ReadError::NotRegularFile("named pipe (FIFO)"))
        );
    }

    #[test]
    fn a_device_is_refused() {
        let folder = Folder::new("device");
        std::os::unix::fs::symlink("/dev/zero", folder.0.join("zero")).unwrap();
        assert_eq!(
            read_text(&folder.0.join("zero")),
            Err(ReadError::NotRegularFile("device"))
        );
        // Through the package, the link leaves it first.
        assert_eq!(
            read_within_a_second(&folder.0, "zero"),
            Err(ReadError::LeavesPackage)
        );
    }

    #[test]
    fn a_symlink_out_of_the_package_is_not_followed() {
        let folder = Folder::new("leaves");
        let outside = Folder::new("outside");
        std::fs::write(outside.0.join("secret"), "s3cret\n").unwrap();
        std::fs::create_dir(folder.0.join("data")).unwrap();
        std::os::unix::fs::symlink(&outside.0, folder.0.join("data/linked")).unwrap();
        std::os::unix::fs::symlink("../data", folder.0.join("data/inside")).unwrap();
        std::fs::write(folder.0.join("data/file"), "ok\n").unwrap();
        assert_eq!(
            read_within_a_second(&folder.0, "data/linked/secret"),
            Err(ReadError::LeavesPackage)
        );
        assert_eq!(
            read_within_a_second(&folder.0, "data/inside/file"),
            Ok("ok\n".to_owned())
        );
    }

    #[test]
    fn a_file_past_the_read_limit_is_refused_unread() {
        let folder = Folder::new("large");
        // Sparse: it takes no disk.
        std::fs::File::create(folder.0.join("large"))
            .unwrap()
            .set_len(MAX_READ_BYTES + 1)
            .unwrap();
        assert_eq!(
            read_within_a_second(&folder.0, "large"),
            Err(ReadError::TooLarge(MAX_READ_BYTES + 1))
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_the_place_of_the_first_bad_byte() {
        let folder = Folder::new("utf8");
        std::fs::write(folder.0.join("main.star"), b"x = 1\ny = '\xff'\n").unwrap();
        assert_eq!(
            read_within_a_second(&folder.0, "main.star"),
            Err(ReadError::NotText { line: 2, column: 6 })
        );
    }

    #[test]
    fn a_regular_file_is_read() {
        let folder = Folder::new("regular");
        std::fs::write(folder.0.join("main.star"), "x = 1\n").unwrap();
        assert_eq!(
            read_within_a_second(&folder.0, "main.star"),
            Ok("x = 1\n".to_owned())
        );
    }
}

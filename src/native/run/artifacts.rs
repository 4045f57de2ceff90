//! Files artifacts of an enclave: folders under the enclave's state folder on the host,
//! packed into one tar per service mount, which the executor unpacks into a volume through
//! the engine's API (the engine may be on another machine).
//!
//! `upload_files` copies the file or folder (by its name) into the artifact, as a tar of the
//! path would; `render_templates` writes each destination path; `store_service_files` and
//! `run_sh`'s `store` unpack what Docker's archive API returns for the path.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::resolve::Fnv;

/// The artifacts of one run.
pub struct Artifacts {
    dir: PathBuf,
    /// Name → content hash.
    known: BTreeMap<String, String>,
}

impl Artifacts {
    /// Starts empty: the artifacts of an earlier run are gone (services keep their own copies).
    pub fn open(dir: PathBuf) -> io::Result<Artifacts> {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Artifacts {
            dir,
            known: BTreeMap::new(),
        })
    }

    /// The content hash of artifact `name`.
    pub fn hash(&self, name: &str) -> Option<&str> {
        self.known.get(name).map(String::as_str)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(safe_name(name))
    }

    /// A fresh, empty folder for artifact `name`; call [`Artifacts::seal`] once it is filled.
    pub fn create(&mut self, name: &str) -> io::Result<PathBuf> {
        let path = self.path(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(path)
    }

    /// Records artifact `name` as complete, with the hash of its content.
    pub fn seal(&mut self, name: &str) -> io::Result<()> {
        let hash = tree_hash(&self.path(name))?;
        self.known.insert(name.to_owned(), hash);
        Ok(())
    }
}

/// A file name for an artifact name (which may hold any character).
fn safe_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut hash = Fnv::default();
    hash.field(name.as_bytes());
    format!("{clean}-{}", &hash.hex()[..8])
}

/// Copies a file or folder into `into`, keeping its name; symlinks are followed.
pub fn copy_named(source: &Path, into: &Path) -> io::Result<()> {
    let name = source
        .file_name()
        .ok_or_else(|| io::Error::other(format!("`{}` has no name", source.display())))?;
    copy_tree(source, &into.join(name))
}

/// Copies `source` (a file or a folder) to `target`.
pub fn copy_tree(source: &Path, target: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(source)?;
    if meta.is_dir() {
        std::fs::create_dir_all(target)?;
        let mut entries: Vec<_> = std::fs::read_dir(source)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, target)?;
    }
    Ok(())
}

/// A tar of what the folders `sources` hold (not of the folders themselves), in order, so
/// that a later one's file replaces an earlier one's of the same name; symlinks are
/// followed. Owners and times are left out: the content is what the hash of an artifact
/// covers.
pub fn tar_of_contents(sources: &[PathBuf]) -> io::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    archive.mode(tar::HeaderMode::Deterministic);
    for source in sources {
        let mut entries: Vec<_> = std::fs::read_dir(source)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name();
            if std::fs::metadata(entry.path())?.is_dir() {
                archive.append_dir_all(&name, entry.path())?;
            } else {
                archive.append_path_with_name(entry.path(), &name)?;
            }
        }
    }
    archive.into_inner()
}

/// A hash of the names, modes and contents under `dir`.
pub fn tree_hash(dir: &Path) -> io::Result<String> {
    fn walk(dir: &Path, relative: &str, hash: &mut Fnv) -> io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = format!("{relative}/{}", entry.file_name().to_string_lossy());
            let meta = std::fs::metadata(entry.path())?;
            hash.field(name.as_bytes());
            if meta.is_dir() {
                hash.field(b"dir");
                walk(&entry.path(), &name, hash)?;
            } else {
                use std::os::unix::fs::PermissionsExt;
                hash.field(&meta.permissions().mode().to_le_bytes());
                hash.field(&std::fs::read(entry.path())?);
            }
        }
        Ok(())
    }
    let mut hash = Fnv::default();
    walk(dir, "", &mut hash)?;
    Ok(hash.hex())
}

/// A relative path inside an artifact, refusing `..` and absolute parts.
pub fn inside(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let mut path = root.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir | Component::RootDir => {}
            _ => return Err(format!("`{relative}` leaves the artifact")),
        }
    }
    Ok(path)
}

/// Unpacks a tar archive (as Docker's archive API returns it: ustar, GNU or PAX names)
/// into `into`. Regular files, folders and symlinks; other entries are skipped.
pub fn untar(bytes: &[u8], into: &Path) -> Result<(), String> {
    let mut offset = 0;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    while offset + 512 <= bytes.len() {
        let header = &bytes[offset..offset + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let field = |start: usize, len: usize| -> String {
            let raw = &header[start..start + len];
            let end = raw.iter().position(|b| *b == 0).unwrap_or(len);
            String::from_utf8_lossy(&raw[..end]).into_owned()
        };
        let size = parse_octal(&header[124..136])?;
        let mode = parse_octal(&header[100..108]).unwrap_or(0o644) as u32;
        let kind = header[156];
        let mut name = field(0, 100);
        let prefix = field(345, 155);
        if &header[257..262] == b"ustar" && !prefix.is_empty() && header[263] == b'0' {
            name = format!("{prefix}/{name}");
        }
        let data_start = offset + 512;
        let data_end = data_start + size as usize;
        if data_end > bytes.len() {
            return Err("the archive Docker sent is cut short".to_owned());
        }
        let data = &bytes[data_start..data_end];
        offset = data_start + (size as usize).div_ceil(512) * 512;
        let text = || {
            String::from_utf8_lossy(data)
                .trim_end_matches('\0')
                .to_owned()
        };
        match kind {
            b'L' => {
                long_name = Some(text());
                continue;
            }
            b'K' => {
                long_link = Some(text());
                continue;
            }
            b'x' => {
                for record in text().lines() {
                    if let Some((_, pair)) = record.split_once(' ') {
                        if let Some(path) = pair.strip_prefix("path=") {
                            long_name = Some(path.to_owned());
                        } else if let Some(link) = pair.strip_prefix("linkpath=") {
                            long_link = Some(link.to_owned());
                        }
                    }
                }
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        let name = long_name.take().unwrap_or(name);
        let link = long_link.take().unwrap_or_else(|| field(157, 100));
        let target = inside(into, &name)?;
        let failed = |error: io::Error| format!("cannot write `{}`: {error}", target.display());
        match kind {
            b'5' => std::fs::create_dir_all(&target).map_err(failed)?,
            b'0' | 0 | b'7' => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(failed)?;
                }
                std::fs::write(&target, data).map_err(failed)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    &target,
                    std::fs::Permissions::from_mode((mode & 0o777) | 0o400),
                )
                .map_err(failed)?;
            }
            b'2' => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(failed)?;
                }
                let _ = std::fs::remove_file(&target);
                std::os::unix::fs::symlink(&link, &target).map_err(failed)?;
            }
            b'1' => {
                let source = inside(into, &link)?;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(failed)?;
                }
                std::fs::copy(&source, &target).map_err(failed)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_octal(raw: &[u8]) -> Result<u64, String> {
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256 for big sizes.
        let mut value: u64 = 0;
        for byte in &raw[1..] {
            value = value << 8 | u64::from(*byte);
        }
        return Ok(value);
    }
    let text: String = raw
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| format!("a bad number `{text}` in a tar header"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
        let mut header = vec![0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        let size = format!("{:011o}", data.len());
        header[124..135].copy_from_slice(size.as_bytes());
        header[156] = kind;
        header[257..262].copy_from_slice(b"ustar");
        let mut out = header;
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn untar_files_and_folders() {
        let dir = std::env::temp_dir().join(format!("starflake-untar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut archive = header("data/", b'5', b"");
        archive.extend(header("data/a.txt", b'0', b"hello"));
        archive.extend(vec![0u8; 1024]);
        untar(&archive, &dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("data/a.txt")).unwrap(),
            "hello"
        );
        let escape = header("../x", b'0', b"no");
        assert!(untar(&escape, &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two artifacts mounted together: both contents side by side, folders kept, the later
    /// one's file winning a name both have.
    #[test]
    fn tar_of_contents_merges_artifacts_in_order() {
        let base = std::env::temp_dir().join(format!("starflake-tar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (first, second, out) = (base.join("first"), base.join("second"), base.join("out"));
        std::fs::create_dir_all(first.join("conf")).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(first.join("conf/app.conf"), "port = 1").unwrap();
        std::fs::write(first.join("shared.txt"), "from first").unwrap();
        std::fs::write(second.join("shared.txt"), "from second").unwrap();
        let archive = tar_of_contents(&[first, second]).unwrap();
        untar(&archive, &out).unwrap();
        let read = |path: &str| std::fs::read_to_string(out.join(path)).unwrap();
        assert_eq!(read("conf/app.conf"), "port = 1");
        assert_eq!(read("shared.txt"), "from second");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn safe_names_differ() {
        assert_ne!(safe_name("a/b"), safe_name("a_b"));
        assert!(safe_name("page").starts_with("page-"));
    }
}

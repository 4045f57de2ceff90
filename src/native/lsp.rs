//! `starflake lsp`: the language server on stdin and stdout.
//!
//! The framing (`Content-Length` headers) is read here rather than with `lsp-server`, whose
//! reader stops for good at the first payload that is not JSON; [`Server`] answers such a
//! payload with a parse error and goes on.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::FsSource;
use super::fs_source::read_text;
use crate::lsp::{Server, WorkspaceFiles};
use crate::package::MANIFEST_FILE;
use crate::source::{Entry, EntryKind, ReadError, SourceProvider};

/// How long one check of a package may evaluate, as `starflake check` by default.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The files on disk, by absolute path.
pub struct FsWorkspace;

impl WorkspaceFiles for FsWorkspace {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        read_text(Path::new(path))
    }

    fn entry(&self, path: &str) -> Option<Entry> {
        // Whether a symlink leaves the package is judged against the package holding `path`.
        let package = Path::new(path)
            .ancestors()
            .skip(1)
            .find(|folder| folder.join(MANIFEST_FILE).is_file());
        match package.and_then(|root| Some((root, Path::new(path).strip_prefix(root).ok()?))) {
            Some((root, inside)) => FsSource::new(root).entry(&inside.to_string_lossy()),
            None => FsSource::new("/").entry(path),
        }
    }

    fn read_dir(&self, path: &str) -> Vec<(String, EntryKind)> {
        let Ok(entries) = std::fs::read_dir(path) else {
            return Vec::new();
        };
        let mut names: Vec<(String, EntryKind)> = entries
            .flatten()
            .filter_map(|entry| {
                // `metadata` follows symlinks: a link to a folder is a folder.
                let is_dir = std::fs::metadata(entry.path()).ok()?.is_dir();
                let kind = if is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                };
                Some((entry.file_name().into_string().ok()?, kind))
            })
            .collect();
        names.sort_by(|(a, _), (b, _)| a.cmp(b));
        names
    }

    fn check_interrupt(&self) -> Option<Box<dyn Fn() -> bool>> {
        // The default `--timeout` of `starflake check`.
        Some(super::interrupt_after(CHECK_TIMEOUT))
    }
}

/// Serves LSP on stdio until `exit`, or until stdin closes.
pub fn run() -> ExitCode {
    let (sender, receiver) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut input = BufReader::new(io::stdin().lock());
        while let Some(frame) = read_frame(&mut input) {
            match frame {
                Ok(text) => {
                    if sender.send(text).is_err() {
                        break;
                    }
                }
                Err(problem) => eprintln!("starflake lsp: ignored a message: {problem}"),
            }
        }
    });
    let mut server = Server::new(Box::new(FsWorkspace));
    // The package cache of `starflake deps fetch`, as `check` reads it by default.
    if let Some(dir) =
        super::deps::default_packages_dir().and_then(|dir| dir.to_str().map(str::to_owned))
    {
        server = server.with_packages_dir(dir);
    }
    let mut output = io::stdout().lock();
    loop {
        let outgoing = match server.deferred_after_ms() {
            Some(delay) => match receiver.recv_timeout(Duration::from_millis(delay.into())) {
                Ok(message) => server.handle(&message),
                Err(RecvTimeoutError::Timeout) => server.run_deferred(),
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match receiver.recv() {
                Ok(message) => server.handle(&message),
                Err(_) => break,
            },
        };
        for message in outgoing {
            if write_frame(&mut output, &message).is_err() {
                return ExitCode::FAILURE;
            }
        }
        if let Some(code) = server.exit_code() {
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
    }
    // The client went away without `exit`.
    ExitCode::FAILURE
}

/// The longest header line read; LSP's headers are a few dozen bytes.
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// One message's body; `None` at the end of the input, an error for a frame that cannot be read.
fn read_frame(input: &mut impl BufRead) -> Option<Result<String, String>> {
    let mut length = None;
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        line.clear();
        // Read a header line only so far: a client that never sends a newline must not
        // make the server keep all it sends.
        match input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return None,
            Ok(_) if !line.ends_with(b"\n") && line.len() as u64 == MAX_HEADER_LINE => {
                too_long = true;
                if input.skip_until(b'\n').is_err() {
                    return None;
                }
                continue;
            }
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&line);
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<u64>().ok();
            }
        }
    }
    if too_long {
        return Some(Err(format!(
            "a header line longer than {MAX_HEADER_LINE} bytes"
        )));
    }
    let Some(length) = length else {
        return Some(Err("no valid Content-Length header".to_owned()));
    };
    // Read what arrives rather than allocate what a header claims.
    let mut body = Vec::new();
    if input.take(length).read_to_end(&mut body).is_err() || body.len() as u64 != length {
        return None;
    }
    Some(Ok(String::from_utf8_lossy(&body).into_owned()))
}

fn write_frame(output: &mut impl Write, message: &str) -> io::Result<()> {
    write!(output, "Content-Length: {}\r\n\r\n{message}", message.len())?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_one_after_another_and_bad_headers_skipped() {
        let input = "Content-Length: 2\r\n\r\n{}X-Other: 1\r\n\r\nContent-Length: 4\r\nContent-Type: x\r\n\r\nnull";
        let mut input = input.as_bytes();
        assert_eq!(read_frame(&mut input), Some(Ok("{}".to_owned())));
        assert!(matches!(read_frame(&mut input), Some(Err(_))));
        assert_eq!(read_frame(&mut input), Some(Ok("null".to_owned())));
        assert_eq!(read_frame(&mut input), None);
    }

    #[test]
    fn a_header_line_past_the_limit_is_skipped_not_kept() {
        let long = "X".repeat(3 * MAX_HEADER_LINE as usize);
        let input = format!("X-Long: {long}\r\n\r\nContent-Length: 2\r\n\r\n{{}}");
        let mut input = input.as_bytes();
        let Some(Err(error)) = read_frame(&mut input) else {
            panic!("a frame with a too long header was read");
        };
        assert!(error.contains("header line longer than"), "{error}");
        assert_eq!(read_frame(&mut input), Some(Ok("{}".to_owned())));
    }
}

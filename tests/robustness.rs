//! Bad input is the normal case: every fixture package, with each of its files cut short at many
//! places or with a line dropped, must check without a panic (a panic kills the wasm module)
//! and give diagnostics whose ranges lie inside the files they name.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use starflake::source::MemorySource;
use starflake::text::PositionEncoding;
use starflake::{CheckOptions, check};

/// Every text file of a fixture package, by path relative to the package root.
fn package_files(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                if relative != "expected.snap" {
                    files.push((relative.replace('\\', "/"), text));
                }
            }
        }
    }
    files.sort();
    files
}

/// Variants of one file: prefixes cut at about 40 places, and the file without each line.
fn variants(text: &str) -> Vec<String> {
    let boundaries: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
    let step = (boundaries.len() / 40).max(1);
    let mut variants: Vec<String> = boundaries
        .iter()
        .step_by(step)
        .map(|&at| text[..at].to_owned())
        .collect();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for dropped in 0..lines.len().min(40) {
        let mut without = lines.clone();
        without.remove(dropped);
        variants.push(without.concat());
    }
    variants
}

#[test]
fn damaged_fixtures_never_panic_and_keep_ranges_in_their_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    let mut checked = 0;
    for case in cases {
        let files = package_files(&case);
        for (damaged, original) in &files {
            for variant in variants(original) {
                let mut source = MemorySource::new();
                for (path, text) in &files {
                    let text = if path == damaged { &variant } else { text };
                    source.insert(path, text.as_str());
                }
                let deadline = Instant::now() + Duration::from_millis(500);
                let options = CheckOptions {
                    interrupt: Some(Box::new(move || Instant::now() > deadline)),
                    ..CheckOptions::default()
                };
                let context = format!("{} with {damaged} damaged:\n{variant}", case.display());
                let result =
                    std::panic::catch_unwind(AssertUnwindSafe(|| check(&source, &options)))
                        .unwrap_or_else(|_| panic!("check panicked on {context}"));
                let text_of = |file: &str| {
                    if file == damaged {
                        variant.as_str()
                    } else {
                        files
                            .iter()
                            .find(|(path, _)| path == file)
                            .map_or("", |(_, text)| text.as_str())
                    }
                };
                for diagnostic in &result.diagnostics {
                    let places = std::iter::once((&diagnostic.file, diagnostic.span)).chain(
                        diagnostic
                            .labels
                            .iter()
                            .map(|label| (&label.file, label.span)),
                    );
                    for (file, span) in places {
                        let length = text_of(file).len();
                        assert!(
                            span.start <= span.end && span.end as usize <= length,
                            "{} points at {span:?}, outside {file} ({length} bytes), in {context}",
                            diagnostic.rule.info().code,
                        );
                    }
                }
                // The JSON rendering converts every position; it must not panic either.
                let _ = result.json_report(PositionEncoding::Utf16);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "only {checked} variants checked");
}

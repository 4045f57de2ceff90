//! The whole check of an in-memory package. The input is the package's files, each written as
//! a line `=== path` followed by its text (the seeds are the fixture packages, made by
//! `scripts/fuzz.sh`); text before the first such line is `main.star`.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use starflake::source::MemorySource;
use starflake::{CheckOptions, check};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut source = MemorySource::new();
    let mut path = "main.star";
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix("=== ") {
            source.insert(path, std::mem::take(&mut body));
            path = next.trim_end();
        } else {
            body.push_str(line);
        }
    }
    source.insert(path, body);
    let deadline = Instant::now() + Duration::from_millis(500);
    let options = CheckOptions {
        interrupt: Some(Box::new(move || Instant::now() > deadline)),
        ..CheckOptions::default()
    };
    let result = check(&source, &options);
    // Every diagnostic names a place inside its file (what editors and the wasm boundary rely on).
    for diagnostic in &result.diagnostics {
        if let Some(file) = result.files.get(&diagnostic.file) {
            assert!(
                diagnostic.span.end as usize <= file.text.len(),
                "{diagnostic:?}"
            );
            assert!(
                file.text.is_char_boundary(diagnostic.span.start as usize),
                "{diagnostic:?}"
            );
        }
    }
});

//! `kurtosis.yml` parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starflake::package::parse_manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut diagnostics = Vec::new();
        let _ = parse_manifest(text, &mut diagnostics);
    }
});

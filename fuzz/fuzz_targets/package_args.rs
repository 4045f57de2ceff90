//! The package arguments (`--args`, JSON or YAML) bound to a `run` that takes them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starflake::source::MemorySource;
use starflake::{ArgsInput, CheckOptions, check};

const MAIN: &str = "def run(plan, args, name = \"x\", count = 1):\n    return args\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = MemorySource::new()
        .with("kurtosis.yml", "name: github.com/fuzz/args\n")
        .with("main.star", MAIN);
    let options = CheckOptions {
        args: Some(ArgsInput {
            origin: "--args".to_owned(),
            text: text.to_owned(),
        }),
        ..CheckOptions::default()
    };
    let _ = check(&source, &options);
});

//! Checks a generated package of about 20,000 lines over 100 modules and prints the check
//! time beside the time to only parse the same files, measured in the same run; also the check
//! plus its JSON report, the work `starflake check --format json` and the wasm module's
//! `checkJson` do (`scripts/bench-wasm.mjs` compares against that figure).
//!
//! `cargo bench --bench check`

use std::time::{Duration, Instant};

mod large_package;

use starflake::source::MemorySource;
use starflake::text::PositionEncoding;
use starflake::{CheckOptions, check};

/// The allocator the `starflake` command uses, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let source: MemorySource = large_package::files().into_iter().collect();
    let files: Vec<(String, String)> = large_package::files()
        .into_iter()
        .filter(|(path, _)| path.ends_with(".star"))
        .collect();
    let lines: usize = files.iter().map(|(_, text)| text.lines().count()).sum();

    let result = check(&source, &CheckOptions::default());
    assert!(
        !result.has_errors(),
        "the generated package must be valid:\n{}",
        result.render_human(false)
    );
    let services = result.plan.steps.len();

    let parse_only = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                for (path, text) in &files {
                    let dialect = starlark::syntax::Dialect::Standard;
                    std::hint::black_box(
                        starlark::syntax::AstModule::parse(path, text.clone(), &dialect).unwrap(),
                    );
                }
                start.elapsed()
            })
            .collect(),
    );
    let full = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(check(&source, &CheckOptions::default()));
                start.elapsed()
            })
            .collect(),
    );
    let with_report = median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let result = check(&source, &CheckOptions::default());
                let report = result.json_report(PositionEncoding::Utf16);
                std::hint::black_box(serde_json::to_string_pretty(&report).unwrap());
                start.elapsed()
            })
            .collect(),
    );
    println!(
        "package: {lines} lines in {} files, {services} services",
        files.len()
    );
    println!(
        "parse only : {:>8.2} ms (median of {RUNS})",
        parse_only.as_secs_f64() * 1e3
    );
    println!(
        "full check : {:>8.2} ms (median of {RUNS})",
        full.as_secs_f64() * 1e3
    );
    println!(
        "ratio      : {:>8.2}x parse time",
        full.as_secs_f64() / parse_only.as_secs_f64()
    );
    println!(
        "check+JSON : {:>8.2} ms (median of {RUNS}; the check and its JSON report)",
        with_report.as_secs_f64() * 1e3
    );
}

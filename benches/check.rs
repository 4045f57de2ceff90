//! Checks a generated package of about 20,000 lines over 100 modules and prints the check
//! time beside the time to only parse the same files, measured in the same run; also the check
//! plus its JSON report, the work `starflake check --format json` and the wasm module's
//! `checkJson` do (`scripts/bench-wasm.mjs` compares against that figure).
//!
//! `cargo bench --bench check`

use std::time::{Duration, Instant};

use starflake::source::MemorySource;
use starflake::text::PositionEncoding;
use starflake::{CheckOptions, check};

const MODULES: usize = 100;
const SERVICES_PER_MODULE: usize = 8;
const RUNS: usize = 15;

/// A Kurtosis-style module: constants, helper functions, comprehensions and services.
fn module(index: usize) -> String {
    let mut text = format!(
        "shared = import_module(\"/src/shared.star\")\n\nPREFIX = \"m{index}\"\nDEFAULTS = {{\n    \"cpu\": 500,\n    \"memory\": 256,\n    \"labels\": {{\"team\": \"t{index}\", \"tier\": \"backend\"}},\n}}\n\n"
    );
    text.push_str(
        "def env_for(name, extra):\n    env = {\"SERVICE\": name, \"PREFIX\": PREFIX}\n    for key, value in extra.items():\n        env[key.upper()] = str(value)\n    return env\n\n",
    );
    text.push_str("def launch(plan, args):\n    services = []\n");
    for service in 0..SERVICES_PER_MODULE {
        text.push_str(&format!(
            r#"    # service {service} of module {index}
    ports_{service} = {{
        "http": PortSpec(number = {port}, application_protocol = "http", wait = "30s"),
        "metrics": PortSpec(number = {metrics}, transport_protocol = "TCP"),
    }}
    env_{service} = env_for("svc-{index}-{service}", {{"replicas": {service}, "debug": False, "peers": ",".join([str(p) for p in range(3)])}})
    image_{service} = NixBuildSpec(
        image_name = "bench/m{index}-s{service}:v1",
        build_context_dir = "/nix",
        flake_location_dir = "app{flake}",
        flake_output = "image",
    ) if {service} % 3 == 0 else "registry.local/bench/m{index}-s{service}:v1"
    config_{service} = ServiceConfig(
        image = image_{service},
        ports = ports_{service},
        env_vars = env_{service},
        cmd = ["serve", "--port", "{port}"],
        max_cpu = DEFAULTS["cpu"],
        max_memory = DEFAULTS["memory"],
        labels = DEFAULTS["labels"],
    )
    services.append(plan.add_service(name = shared.name(PREFIX, {service}), config = config_{service}))
"#,
            port = 8000 + service,
            metrics = 9000 + service,
            flake = service % 4,
        ));
    }
    text.push_str("    return services\n");
    text
}

fn package() -> MemorySource {
    let mut source = MemorySource::new()
        .with("kurtosis.yml", "name: github.com/bench/large-package\n")
        .with(
            "src/shared.star",
            "def name(prefix, index):\n    return \"%s-svc-%d\" % (prefix, index)\n",
        );
    let mut main = String::new();
    for index in 0..MODULES {
        main.push_str(&format!(
            "m{index} = import_module(\"/src/m{index}.star\")\n"
        ));
        source.insert(&format!("src/m{index}.star"), module(index));
    }
    main.push_str("\ndef run(plan, args):\n");
    for index in 0..MODULES {
        main.push_str(&format!("    m{index}.launch(plan, args)\n"));
    }
    source.insert("main.star", main);
    for flake in 0..4 {
        source.insert(
            &format!("nix/app{flake}/flake.nix"),
            "{\n  outputs = { self }: {\n    packages.x86_64-linux.image = derivation { system = \"x86_64-linux\"; name = \"image.tar\"; builder = \"/bin/sh\"; };\n  };\n}\n",
        );
    }
    source
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let source = package();
    let files: Vec<(String, String)> = (0..MODULES)
        .map(|index| format!("src/m{index}.star"))
        .chain(["main.star".to_owned(), "src/shared.star".to_owned()])
        .map(|path| {
            let text = starflake::source::SourceProvider::read(&source, &path).unwrap();
            (path, text)
        })
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

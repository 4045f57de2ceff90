//! `cargo bench --bench build`: `starflake build` against the bare baseline (`nix build --json`
//! then `docker load -i`) on the same flake, for a small image (~2 MiB) and a big one (500 MiB
//! of /dev/urandom in its layer), cold (the store path deleted with `nix store delete`, the
//! image removed, an empty load cache) and warm (everything in place), plus starflake's peak
//! RSS (VmHWM of the `starflake` process, polled from /proc).
//!
//! Needs what the build tests need: Nix, a running Docker engine with the docker CLI, and
//! /bin/busybox (`scripts/setup-native.sh`). `STARFLAKE_BENCH_ROUNDS` sets the rounds per
//! case (default 3; the median is shown). Only `cargo bench` runs it; as a test it does
//! nothing.

#[path = "../tests/common/files.rs"]
mod files;
#[path = "../tests/common/registry.rs"]
mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const STARFLAKE: &str = env!("CARGO_BIN_EXE_starflake");
const ID: &str = "sfbench";

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("the build benchmark runs only under `cargo bench --bench build`");
        return;
    }
    let rounds: usize = std::env::var("STARFLAKE_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .filter(|rounds| *rounds > 0)
        .unwrap_or(3);
    require_tools();
    let work = std::env::temp_dir().join("starflake-build-bench");
    let package = work.join("package");
    prepare(&package);

    println!(
        "starflake build vs `nix build --json` + `docker load -i` ({}; {}; medians of {} and {rounds} rounds)\n",
        first_line(&output(Command::new("nix").arg("--version"))),
        first_line(&output(Command::new("docker").args([
            "version",
            "--format",
            "Docker {{.Server.Version}}"
        ]))),
        rounds * 3,
    );
    println!(
        "{:<11} {:>21} {:>21} {:>7} {:>14}",
        "case", "baseline (min–max)", "starflake (min–max)", "ratio", "starflake RSS"
    );
    for size in ["small", "big"] {
        let bench = Bench::new(&package, &work, size);
        let mut cold = Samples::default();
        let mut warm = Samples::default();
        // The small image is cheap: measure it more often, its times are short and noisy.
        let rounds = if size == "small" { rounds * 3 } else { rounds };
        for round in 0..rounds {
            // Alternate which goes first, so that neither always pays for the other's
            // deletions being written back.
            let tools = if round % 2 == 0 {
                [Tool::Baseline, Tool::Starflake]
            } else {
                [Tool::Starflake, Tool::Baseline]
            };
            for tool in tools {
                bench.make_cold();
                match tool {
                    Tool::Baseline => {
                        cold.baseline.push(bench.baseline());
                        warm.baseline.push(bench.baseline());
                    }
                    Tool::Starflake => {
                        let (time, rss, _) = bench.starflake(&[], "loaded ");
                        cold.starflake.push(time);
                        cold.rss.push(rss);
                        let (time, rss, _) = bench.starflake(&[], "cached ");
                        warm.starflake.push(time);
                        warm.rss.push(rss);
                    }
                }
            }
        }
        let bytes = std::fs::metadata(bench.store_path())
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        for (name, samples) in [("cold", &cold), ("warm", &warm)] {
            let baseline = median(&samples.baseline);
            let starflake = median(&samples.starflake);
            println!(
                "{:<11} {:>21} {:>21} {:>6.2}× {:>10.1} MiB",
                format!("{size} {name}"),
                spread(&samples.baseline),
                spread(&samples.starflake),
                starflake.as_secs_f64() / baseline.as_secs_f64(),
                samples.rss.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
            );
        }
        println!(
            "{:<12} image archive {:.1} MiB",
            "",
            bytes as f64 / 1048576.0
        );
        bench.make_cold();
    }
    push_bench(&Bench::new(&package, &work, "big"), rounds);
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "\nratio < 1: starflake is faster. cold = nothing in the store, in Docker or in starflake's cache; \
         warm = a re-run (starflake skips the load; `docker load` sends the archive again)."
    );
}

#[derive(Clone, Copy)]
enum Tool {
    Baseline,
    Starflake,
}

#[derive(Default)]
struct Samples {
    baseline: Vec<Duration>,
    starflake: Vec<Duration>,
    rss: Vec<u64>,
}

struct Bench {
    package: PathBuf,
    cache: PathBuf,
    size: &'static str,
    store_path: std::cell::RefCell<Option<String>>,
}

impl Bench {
    fn new(package: &Path, work: &Path, size: &'static str) -> Bench {
        Bench {
            package: package.to_owned(),
            cache: work.join(format!("cache-{size}")),
            size,
            store_path: Default::default(),
        }
    }

    fn nix_command(&self) -> Command {
        let mut command = Command::new("nix");
        command
            .args([
                "--extra-experimental-features",
                "nix-command flakes",
                "build",
                "--no-link",
                "--json",
                &format!("path:./nix#{}", self.size),
            ])
            .current_dir(&self.package);
        command
    }

    fn references(&self) -> [String; 1] {
        [format!("starflake-bench/{ID}-{}:latest", self.size)]
    }

    fn store_path(&self) -> String {
        if let Some(path) = self.store_path.borrow().clone() {
            return path;
        }
        // Nix 2.8 has no way to print the output path without building: build once.
        let json = output(&mut self.nix_command());
        let value: serde_json::Value = serde_json::from_str(&json).expect("nix build --json");
        let path = value[0]["outputs"]["out"]
            .as_str()
            .expect("an output path")
            .to_owned();
        *self.store_path.borrow_mut() = Some(path.clone());
        path
    }

    /// Nothing in the store, in Docker, or in starflake's cache.
    fn make_cold(&self) {
        let path = self.store_path();
        if Path::new(&path).exists() {
            let status = Command::new("nix")
                .args([
                    "--extra-experimental-features",
                    "nix-command",
                    "store",
                    "delete",
                ])
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("nix store delete");
            assert!(status.success(), "nix store delete {path} failed");
        }
        for reference in self.references() {
            let _ = Command::new("docker")
                .args(["rmi", "-f", &reference])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.cache);
        // Write back what the deletions left dirty before the next measurement.
        // SAFETY: sync(2) has no preconditions.
        unsafe { libc::sync() };
    }

    /// `nix build --json`, then `docker load -i` of its output.
    fn baseline(&self) -> Duration {
        let started = Instant::now();
        let json = output(&mut self.nix_command());
        let value: serde_json::Value = serde_json::from_str(&json).expect("nix build --json");
        let path = value[0]["outputs"]["out"].as_str().expect("an output path");
        output(Command::new("docker").args(["load", "-i", path]));
        started.elapsed()
    }

    /// `starflake build` with `extra` arguments, whose result line must start with
    /// `expect`; returns the wall time and the peak RSS in KiB.
    fn starflake(&self, extra: &[&str], expect: &str) -> (Duration, u64, String) {
        let args = format!("{{\"size\": \"{}\"}}", self.size);
        let started = Instant::now();
        let child = Command::new(STARFLAKE)
            .args(["build", "--quiet", "--args", &args])
            .args(extra)
            .current_dir(&self.package)
            .env("XDG_CACHE_HOME", &self.cache)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starflake runs");
        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let (peak, done, pid) = (peak.clone(), done.clone(), child.id());
            std::thread::spawn(move || {
                let status = format!("/proc/{pid}/status");
                while !done.load(Ordering::Relaxed) {
                    if let Some(kib) = std::fs::read_to_string(&status).ok().and_then(|text| {
                        text.lines()
                            .find_map(|line| line.strip_prefix("VmHWM:"))
                            .and_then(|value| {
                                value.trim().trim_end_matches("kB").trim().parse().ok()
                            })
                    }) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        // Wait without reaping, so that /proc/<pid> stays readable until the very end.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) on our own child with WNOWAIT leaves it to `wait` below.
        unsafe {
            libc::waitid(
                libc::P_PID,
                child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            );
        }
        let elapsed = started.elapsed();
        std::thread::sleep(Duration::from_millis(5));
        done.store(true, Ordering::Relaxed);
        let _ = poller.join();
        let result = child.wait_with_output().expect("starflake ends");
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            result.status.success(),
            "starflake build failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert!(stdout.starts_with(expect), "expected `{expect}`: {stdout}");
        (elapsed, peak.load(Ordering::Relaxed), stdout.into_owned())
    }
}

/// `starflake build --push` of the big image against `skopeo copy docker-archive:<the same
/// store path> docker://...`, into a fresh registry each (cold) and again into the same one
/// (warm: every blob is there). The store path is built first, so that both only push.
fn push_bench(bench: &Bench, rounds: usize) {
    let archive = bench.store_path();
    let mut cold = Samples::default();
    let mut warm = Samples::default();
    // The push alone, as starflake reports it (`pushed.seconds`): without the evaluation
    // and the `nix build` that finds the store path.
    let (mut cold_push, mut warm_push) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let skopeo_registry = registry::Registry::start(&format!("bench-skopeo-{round}"));
        let starflake_registry = registry::Registry::start(&format!("bench-starflake-{round}"));
        let skopeo = |registry: &registry::Registry| {
            let started = Instant::now();
            output(Command::new("skopeo").args([
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                &format!("docker-archive:{archive}"),
                &format!("docker://{}/skopeo/{ID}-big:latest", registry.address),
            ]));
            started.elapsed()
        };
        let starflake = |registry: &registry::Registry, push_times: &mut Vec<Duration>| {
            let (time, rss, stdout) =
                bench.starflake(&["--push", &registry.address, "--format", "json"], "{");
            let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            let seconds = report["images"][0]["pushed"]["seconds"].as_f64();
            push_times.push(Duration::from_secs_f64(seconds.expect("a push time")));
            (time, rss)
        };
        // Alternate which goes first, as above.
        for first in [round % 2 == 0, round % 2 != 0] {
            if first {
                cold.baseline.push(skopeo(&skopeo_registry));
                warm.baseline.push(skopeo(&skopeo_registry));
            } else {
                let (time, rss) = starflake(&starflake_registry, &mut cold_push);
                cold.starflake.push(time);
                cold.rss.push(rss);
                let blobs = starflake_registry.blob_count();
                let (time, rss) = starflake(&starflake_registry, &mut warm_push);
                warm.starflake.push(time);
                warm.rss.push(rss);
                assert_eq!(
                    starflake_registry.blob_count(),
                    blobs,
                    "a warm push sends no blob"
                );
            }
        }
    }
    println!(
        "\nstarflake build --push vs `skopeo copy docker-archive:... docker://...` of the same {:.0} MiB archive \
         ({}; a docker-registry on loopback; medians of {rounds} rounds)\n",
        std::fs::metadata(&archive).map_or(0, |m| m.len()) as f64 / 1048576.0,
        first_line(&output(Command::new("skopeo").arg("--version"))),
    );
    println!(
        "{:<11} {:>21} {:>21} {:>7} {:>14}",
        "case", "skopeo (min–max)", "starflake (min–max)", "ratio", "starflake RSS"
    );
    for (name, samples) in [("push cold", &cold), ("push warm", &warm)] {
        println!(
            "{:<11} {:>21} {:>21} {:>6.2}× {:>10.1} MiB",
            name,
            spread(&samples.baseline),
            spread(&samples.starflake),
            median(&samples.starflake).as_secs_f64() / median(&samples.baseline).as_secs_f64(),
            samples.rss.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
        );
    }
    println!(
        "push step alone (starflake's own timing): cold {}, warm {}",
        spread(&cold_push),
        spread(&warm_push)
    );
    println!(
        "starflake's command time includes evaluating the package and asking Nix for the (built) store path; \
         skopeo gzips each layer, starflake sends it uncompressed."
    );
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// `median s (min–max)`.
fn spread(samples: &[Duration]) -> String {
    let min = samples.iter().min().copied().unwrap_or_default();
    let max = samples.iter().max().copied().unwrap_or_default();
    format!(
        "{:.2} s ({:.2}–{:.2})",
        median(samples).as_secs_f64(),
        min.as_secs_f64(),
        max.as_secs_f64()
    )
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// Runs a command; its stdout, or a panic with its stderr.
fn output(command: &mut Command) -> String {
    let result = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        result.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout).into_owned()
}

fn require_tools() {
    let ok = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let mut missing = Vec::new();
    if !ok("nix", &["--version"]) {
        missing.push("nix");
    }
    if !ok("docker", &["info"]) {
        missing.push("a running Docker engine and the docker CLI");
    }
    if !Path::new("/bin/busybox").is_file() {
        missing.push("/bin/busybox");
    }
    if !ok("skopeo", &["--version"]) || !ok("docker-registry", &["--version"]) {
        missing.push("skopeo and docker-registry");
    }
    assert!(
        missing.is_empty(),
        "the build benchmark needs {}: run scripts/setup-native.sh",
        missing.join(", ")
    );
}

/// A copy of `tests/fixtures/build/bench` with the flake library and busybox added.
fn prepare(package: &Path) {
    let _ = std::fs::remove_dir_all(package);
    files::copy_tree(&files::fixtures("build").join("bench"), package, ID);
    files::add_flake_library(package, "build", ID);
}

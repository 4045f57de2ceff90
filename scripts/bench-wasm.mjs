#!/usr/bin/env node
// Speed of the wasm module next to the native build, in one run (this is THE benchmark command):
//
//  1. the large package of benches/check.rs (about 20,000 lines over 100 modules), checked by
//     - the wasm module in this Node process: `checkJson` (the check and its JSON report, read
//       from a JavaScript object of files) and `check` (plus `JSON.parse` into objects); median
//       of RUNS after a warm-up;
//     - the native library in process (`cargo bench --bench check`: `starflake::check` on the
//       same generated package, and the check plus its JSON report, medians of 15);
//     - the native CLI (`target/release/starflake check --format json`, wall time per process);
//     and prints wasm / native: wasm `checkJson` against the native check plus JSON report, the
//     same work (goal ≤ 2×). The two are measured in ROUNDS alternating rounds and the median
//     of the rounds' ratios is reported, so a slow minute on a shared machine hits both sides;
//  2. a package of about 2,000 lines (the first modules of the same generator) in wasm, whose
//     goal is a check in under 16 ms (one frame of an editor).
//
// The generator (scripts/bench-package.mjs) is a port of the one in benches/large_package;
// the script checks that both produce a package of the same size (lines, files, services) and
// that the CLI's report on it equals the wasm one before it compares times.
//
//   scripts/build-wasm.sh && node scripts/bench-wasm.mjs
//   node scripts/bench-wasm.mjs --wasm-only        # skip the native builds and runs
//   node scripts/bench-wasm.mjs --pkg /tmp/pkg     # another build of the module (default pkg/)
//
// Plain Node, no dependencies.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPackage, MODULES, starlarkLines } from './bench-package.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const loadAtStart = loadavg()[0];
const wasmOnly = process.argv.includes('--wasm-only');
const pkgArg = process.argv.indexOf('--pkg');
const RUNS = 15;
const ROUNDS = 3;
const SMALL_RUNS = 51;

// --- measuring ---------------------------------------------------------------------------------
const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const ms = (value) => `${value.toFixed(2).padStart(8)} ms`;

function timeWasm(workspace, files, runs, method = 'check') {
  workspace[method](files); // warm-up: compiles the hot paths
  const samples = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    workspace[method](files);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const pkg = pkgArg >= 0 ? resolve(process.argv[pkgArg + 1]) : join(root, 'pkg');
if (!existsSync(join(pkg, 'starflake_bg.wasm'))) {
  console.error(`error: ${join(pkg, 'starflake_bg.wasm')} is missing; run scripts/build-wasm.sh first`);
  process.exit(2);
}
const { initSync, Workspace } = await import(join(pkg, 'starflake.js'));
let start = performance.now();
initSync({ module: readFileSync(join(pkg, 'starflake_bg.wasm')) });
const instantiate = performance.now() - start;
const workspace = new Workspace({ timeoutMs: 60000 });

const large = benchPackage();
const report = workspace.check(large);
const errors = report.diagnostics.filter((d) => d.severity === 'error');
if (errors.length > 0) {
  console.error(`error: the generated package has errors in wasm:\n${workspace.render(large)}`);
  process.exit(1);
}
const { lines, sources } = starlarkLines(large);
const services = report.plan.steps.length;
start = performance.now();
workspace.check(large);
const first = performance.now() - start;
const wasmLarge = timeWasm(workspace, large, RUNS);

// About 2,000 lines: the first modules of the same package.
const smallModules = Math.max(1, Math.round((2000 / lines) * MODULES));
const small = benchPackage(smallModules);
const smallLines = starlarkLines(small).lines;
const smallReport = workspace.check(small);
if (smallReport.diagnostics.some((d) => d.severity === 'error')) {
  console.error(`error: the small package has errors:\n${workspace.render(small)}`);
  process.exit(1);
}
const wasmSmall = timeWasm(workspace, small, SMALL_RUNS);

/** One run of the Rust bench: the same package, checked in process. */
function nativeBench() {
  const bench = execFileSync('cargo', ['bench', '--quiet', '--bench', 'check'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const size = bench.match(/package: (\d+) lines in (\d+) files, (\d+) services/);
  const full = bench.match(/full check\s*:\s*([\d.]+) ms/);
  const withReport = bench.match(/check\+JSON\s*:\s*([\d.]+) ms/);
  if (!size || !full || !withReport) {
    console.error(`error: unexpected output of cargo bench:\n${bench}`);
    process.exit(1);
  }
  if (+size[1] !== lines || +size[2] !== sources || +size[3] !== services) {
    console.error(
      `error: benches/check.rs and this script generate different packages (${size[0]} vs ${lines} lines, ${sources} files, ${services} services); update the port`,
    );
    process.exit(1);
  }
  return { check: +full[1], withReport: +withReport[1] };
}

/** The lines about the wasm module on the large package. */
function printWasmFigures(checkJson, where) {
  console.log(`package        : ${lines} lines in ${sources} files, ${services} services`);
  console.log(`wasm instantiate: ${ms(instantiate)}`);
  console.log(`wasm checkJson : ${ms(checkJson)} (median of ${RUNS} after a warm-up${where}; the second call of check took ${first.toFixed(1)} ms)`);
  console.log(`wasm check     : ${ms(wasmLarge)} (checkJson plus JSON.parse; median of ${RUNS})`);
}

if (wasmOnly) {
  printWasmFigures(timeWasm(workspace, large, RUNS, 'checkJson'), '');
} else {
  console.error('==> cargo bench --bench check (build)');
  execFileSync('cargo', ['bench', '--quiet', '--bench', 'check', '--no-run'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const wasm = timeWasm(workspace, large, RUNS, 'checkJson');
    const native = nativeBench();
    rounds.push({ wasm, native, ratio: wasm / native.withReport });
    console.error(
      `round ${round}: wasm checkJson ${wasm.toFixed(2)} ms, native check+JSON ${native.withReport.toFixed(2)} ms (check ${native.check.toFixed(2)} ms): ${(wasm / native.withReport).toFixed(2)}x`,
    );
  }
  const middle = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(ROUNDS / 2)];

  // The CLI: one process per check, on the package written to disk.
  console.error('==> cargo build --release --bin starflake');
  execFileSync('cargo', ['build', '--quiet', '--release', '--bin', 'starflake'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'starflake-bench-'));
  try {
    for (const [path, text] of Object.entries(large)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const cli = join(root, 'target/release/starflake');
    const samples = [];
    for (let run = 0; run <= RUNS; run++) {
      const begin = performance.now();
      const result = spawnSync(cli, ['check', '--format', 'json', '--timeout', '60', dir], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const took = performance.now() - begin;
      if (result.status !== 0) {
        console.error(`error: starflake check failed on the bench package:\n${result.stderr}${result.stdout.slice(0, 2000)}`);
        process.exit(1);
      }
      if (run === 0) {
        // Same package, same answer.
        if (JSON.stringify(JSON.parse(result.stdout)) !== JSON.stringify(report)) {
          console.error('error: the native CLI and wasm disagree on the bench package');
          process.exit(1);
        }
      } else {
        samples.push(took);
      }
    }
    const nativeCli = median(samples);
    const ratioGoal = middle.ratio <= 2 ? 'goal ≤ 2x: met' : 'goal ≤ 2x: MISSED';
    printWasmFigures(middle.wasm, ', in the median round');
    console.log(`native check   : ${ms(middle.native.check)} (in process, cargo bench --bench check, same round)`);
    console.log(`native +JSON   : ${ms(middle.native.withReport)} (the check and its JSON report, same round)`);
    console.log(`native CLI     : ${ms(nativeCli)} (starflake check --format json, wall time of a process)`);
    console.log(`wasm / native  : ${middle.ratio.toFixed(2).padStart(8)}x (checkJson / check+JSON, median of ${ROUNDS} alternating rounds: ${rounds.map((r) => r.ratio.toFixed(2)).join(', ')}; ${ratioGoal})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const goal = wasmSmall < 16 ? 'goal < 16 ms: met' : 'goal < 16 ms: MISSED';
console.log(`wasm, ${smallLines} lines (${smallModules} modules): ${ms(wasmSmall)} (median of ${SMALL_RUNS}; ${goal})`);
// Wall times mean little on a busy machine: say how busy it was.
const load = Math.max(loadAtStart, loadavg()[0]);
const cores = availableParallelism();
console.log(
  `load average   : ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end, on ${cores} cores${load > cores ? ' (a busy machine: the times above are inflated; run again when it is idle)' : ''}`,
);

#!/usr/bin/env node
// Memory of the wasm module stays flat over thousands of checks: nothing a check allocates may
// survive it. Runs CHECKS checks over a few fixtures (a valid package with every instruction, an
// evaluation error, a syntax error; files as an object and as {read, exists} callbacks; through
// check, checkJson, analyze and render; every tenth one on a fresh Workspace that is freed), and
// asserts that the wasm linear memory (`memory.buffer.byteLength` of the exported memory, which
// only ever grows) does not grow after a warm-up, give or take SLACK. It also reports the
// JavaScript heap, checked loosely when Node runs with --expose-gc. No timing assertions.
//
//   scripts/build-wasm.sh && node --expose-gc scripts/wasm-memory.mjs
//   CHECKS=10000 node --expose-gc scripts/wasm-memory.mjs
//
// Plain Node, no dependencies.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'pkg');
const fixtures = join(root, 'tests/fixtures/check');
const CHECKS = Number(process.env.CHECKS ?? 3000);
const WARM_UP = Math.min(500, Math.floor(CHECKS / 5));
const SAMPLES = 10;
const MiB = 1 << 20;
/** Allowed growth of wasm memory after the warm-up: allocator fragmentation, not a leak. */
const SLACK = 1 * MiB;
/** Allowed growth of the JavaScript heap (after a full GC) after the warm-up. */
const JS_SLACK = 32 * MiB;

if (!existsSync(join(pkg, 'starflake_bg.wasm'))) {
  console.error('error: pkg/starflake_bg.wasm is missing; run scripts/build-wasm.sh first');
  process.exit(2);
}
const { initSync, Workspace } = await import(join(pkg, 'starflake.js'));
const wasm = initSync({ module: readFileSync(join(pkg, 'starflake_bg.wasm')) });
if (!(wasm.memory instanceof WebAssembly.Memory)) {
  console.error('error: the module exports no memory');
  process.exit(2);
}

/** Every UTF-8 file below `dir` as path → text. */
function readTree(dir, prefix = '', out = {}) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) readTree(join(dir, entry.name), path, out);
    else out[path] = readFileSync(join(dir, entry.name), 'utf8');
  }
  return out;
}

/** {read, exists} over a file map, as an editor gives them. */
function callbacks(files) {
  return {
    read: (path) => files[path] ?? null,
    exists: (path) =>
      path in files ? 'file' : Object.keys(files).some((key) => path === '' || key.startsWith(`${path}/`)) ? 'dir' : null,
  };
}

const names = ['valid-every-instruction', 'invalid-evaluation-error', 'invalid-syntax-error', 'valid-multi-module'];
const cases = names.map((name) => {
  const dir = join(fixtures, name);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`error: fixture ${name} is missing; update scripts/wasm-memory.mjs`);
    process.exit(2);
  }
  const files = readTree(dir);
  return { name, files, callbacks: callbacks(files), expected: new Workspace().checkJson(files) };
});

const wasmBytes = () => wasm.memory.buffer.byteLength;
const jsHeap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};
const mib = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`;

let workspace = new Workspace({ timeoutMs: 5000 });
/** One check; the variant depends on the iteration so every path runs many times. */
function checkOnce(i) {
  const { files, callbacks, expected, name } = cases[i % cases.length];
  const fresh = i % 10 === 9;
  const ws = fresh ? new Workspace({ timeoutMs: 5000 }) : workspace;
  const input = (i >> 2) % 2 === 0 ? files : callbacks;
  let json;
  switch ((i >> 3) % 4) {
    case 0:
      json = JSON.stringify(ws.check(input));
      break;
    case 1:
      json = ws.checkJson(input);
      break;
    case 2: {
      const { rendered, renderedPlan, ...report } = ws.analyze(input);
      if (typeof rendered !== 'string' || typeof renderedPlan !== 'string') throw new Error('analyze: no text');
      json = JSON.stringify(report);
      break;
    }
    default:
      if (typeof ws.render(input) !== 'string') throw new Error('render: no text');
      json = ws.checkJson(input);
  }
  if (JSON.stringify(JSON.parse(json)) !== JSON.stringify(JSON.parse(expected))) {
    throw new Error(`check ${i} of ${name} gave a different report`);
  }
  if (fresh) ws.free();
}

for (let i = 0; i < WARM_UP; i++) checkOnce(i);
const baseWasm = wasmBytes();
const baseJs = jsHeap();
const samples = [];
const step = Math.ceil((CHECKS - WARM_UP) / SAMPLES);
for (let i = WARM_UP; i < CHECKS; i++) {
  checkOnce(i);
  if ((i - WARM_UP + 1) % step === 0 || i === CHECKS - 1) samples.push({ checks: i + 1, wasm: wasmBytes(), js: jsHeap() });
}
workspace.free();

console.log(`after ${WARM_UP} warm-up checks: wasm memory ${mib(baseWasm)}, JS heap ${mib(baseJs)}`);
for (const sample of samples) {
  console.log(`  after ${String(sample.checks).padStart(6)} checks: wasm memory ${mib(sample.wasm)}, JS heap ${mib(sample.js)}`);
}
const last = samples[samples.length - 1];
const failures = [];
if (last.wasm - baseWasm > SLACK) {
  failures.push(`wasm memory grew by ${mib(last.wasm - baseWasm)} after the warm-up (allowed ${mib(SLACK)})`);
}
if (globalThis.gc && last.js - baseJs > JS_SLACK) {
  failures.push(`the JavaScript heap grew by ${mib(last.js - baseJs)} after the warm-up (allowed ${mib(JS_SLACK)})`);
}
if (!globalThis.gc) console.log('  (run node with --expose-gc to check the JavaScript heap too)');
if (failures.length > 0) {
  for (const failure of failures) console.error(`FAIL ${failure}`);
  process.exit(1);
}
console.log(`memory is flat over ${CHECKS} checks (wasm grew ${mib(last.wasm - baseWasm)} after the warm-up)`);

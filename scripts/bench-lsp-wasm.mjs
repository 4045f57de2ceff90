#!/usr/bin/env node
// Speed of the language server in WebAssembly (pkg/'s `LspServer`, the server the VS Code
// extension bundles): a one-character edit in one module of the generated 20,000-line package
// of benches/check.rs (written to a temporary folder and read through Node's fs, as the
// extension does), from `didChange` to the `publishDiagnostics` for that file, median over
// EDITS edits; beside it, in the same run, the full check of the same package by the same
// module (`Workspace.check`). Goal: the edit under 100 ms.
//
// The edits alternately break and fix the module, so each one changes its diagnostics.
// The server debounces re-checks (150 ms after the last message in the editor); here the
// deferred work runs right after each `didChange`, so the figure is the work, not the wait.
//
//   scripts/build-wasm.sh && node scripts/bench-lsp-wasm.mjs

import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchPackage, MODULES, starlarkLines } from './bench-package.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EDITS = 31;
const WARM_UP = 3;
const CHECKS = 9;
const GOAL_MS = 100;

const { initSync, LspServer, Workspace } = await import(join(root, 'pkg', 'starflake.js'));
initSync({ module: readFileSync(join(root, 'pkg', 'starflake_bg.wasm')) });

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const ms = (value) => `${value.toFixed(1).padStart(7)} ms`;

// --- the package on disk ---------------------------------------------------------------------
const files = benchPackage();
const { lines, sources } = starlarkLines(files);
const dir = mkdtempSync(join(tmpdir(), 'starflake-bench-lsp-'));
for (const [path, text] of Object.entries(files)) {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

const disk = {
  readFile(path) {
    try {
      return readFileSync(path);
    } catch {
      return null;
    }
  },
  stat(path) {
    const stats = statSync(path, { throwIfNoEntry: false });
    return stats?.isFile() ? 'file' : stats?.isDirectory() ? 'dir' : null;
  },
  readDir(path) {
    try {
      return readdirSync(path, { withFileTypes: true }).map((entry) => [entry.name, entry.isDirectory() ? 'dir' : 'file']);
    } catch {
      return [];
    }
  },
};

// --- the server ------------------------------------------------------------------------------
let received = [];
const server = new LspServer(disk, (message) => received.push(JSON.parse(message)));
let nextId = 1;
const request = (method, params) => server.send(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }));
const notify = (method, params) => server.send(JSON.stringify({ jsonrpc: '2.0', method, params }));

const edited = `src/m${Math.floor(MODULES / 2)}.star`;
const uri = pathToFileURL(join(dir, edited)).href;
const published = () => received.find((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uri);

request('initialize', { processId: null, rootUri: pathToFileURL(dir).href, capabilities: {} });
notify('initialized', {});
notify('textDocument/didOpen', { textDocument: { uri, languageId: 'starlark', version: 1, text: files[edited] } });
// A file without problems gets no publishDiagnostics on open.
const errors = (published()?.params.diagnostics ?? []).filter((d) => d.severity === 1);
if (errors.length) throw new Error(`the generated package must be valid: ${JSON.stringify(errors[0])}`);

// The module's first line is `shared = import_module(...)`. Typing one character into the name
// (`sharedx`) breaks every use of `shared` below it; deleting it fixes them again. Either way
// the file's diagnostics change, so every edit ends in a publishDiagnostics for it.
const name = 'shared';
if (!files[edited].startsWith(`${name} = `)) throw new Error(`${edited} no longer starts with \`${name} = \``);
const samples = [];
for (let edit = 1; edit <= WARM_UP + EDITS; edit++) {
  const typing = edit % 2 === 1;
  const at = { line: 0, character: name.length };
  const change = typing
    ? { range: { start: at, end: at }, text: 'x' }
    : { range: { start: at, end: { line: 0, character: name.length + 1 } }, text: '' };
  received = [];
  const start = performance.now();
  notify('textDocument/didChange', { textDocument: { uri, version: edit + 1 }, contentChanges: [change] });
  server.runDeferred();
  const elapsed = performance.now() - start;
  const diagnostics = published()?.params.diagnostics;
  if (!diagnostics || (diagnostics.length > 0) !== typing) {
    throw new Error(`edit ${edit}: expected ${typing ? 'errors' : 'no diagnostics'} for ${edited}, got ${JSON.stringify(diagnostics)}`);
  }
  if (edit > WARM_UP) samples.push(elapsed);
}
request('shutdown', null);
notify('exit', {});

// --- the full check, same module, same run ----------------------------------------------------
const workspace = new Workspace({ timeoutMs: 0 });
workspace.check(files);
const checks = [];
for (let run = 0; run < CHECKS; run++) {
  const start = performance.now();
  workspace.check(files);
  checks.push(performance.now() - start);
}
rmSync(dir, { recursive: true, force: true });

const edit = median(samples);
const full = median(checks);
console.log(`package: ${lines} lines in ${sources} Starlark files; edited ${edited}; load average ${loadavg()[0].toFixed(2)}`);
console.log(`wasm LspServer  didChange → publishDiagnostics  ${ms(edit)}  (median of ${EDITS} one-character edits; goal < ${GOAL_MS} ms)`);
console.log(`wasm Workspace  full check                      ${ms(full)}  (median of ${CHECKS})`);
console.log(`edit / full check                               ${(edit / full).toFixed(2).padStart(7)}`);
if (edit >= GOAL_MS) console.log(`over the goal: ${edit.toFixed(1)} ms ≥ ${GOAL_MS} ms`);

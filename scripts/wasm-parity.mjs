#!/usr/bin/env node
// Parity of the wasm module with the native CLI: for every package under tests/fixtures/check/,
// `Workspace.check` must give exactly the document `starflake check --format json` prints, and
// `render`/`renderPlan` exactly the terminal text of `starflake check`/`starflake plan`.
//
// Each package is given to the wasm module twice: as a plain object of its files (what the
// playground does) and as {read, exists} callbacks over the file system (what an editor does).
// Arguments come from the fixture's args.json or args.yaml, named by file name as the golden
// tests do. Exits 1 at the first difference and prints it.
//
//   scripts/build-wasm.sh && node scripts/wasm-parity.mjs
//   STARFLAKE_BIN=target/release/starflake node scripts/wasm-parity.mjs   # a prebuilt CLI
//
// Plain Node, no dependencies.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'tests/fixtures/check');
const pkg = join(root, 'pkg');

if (!existsSync(join(pkg, 'starflake_bg.wasm'))) {
  console.error('error: pkg/starflake_bg.wasm is missing; run scripts/build-wasm.sh first');
  process.exit(2);
}
const { initSync, Workspace } = await import(join(pkg, 'starflake.js'));
initSync({ module: readFileSync(join(pkg, 'starflake_bg.wasm')) });

let bin = process.env.STARFLAKE_BIN;
if (!bin) {
  console.error('==> cargo build --bin starflake');
  const build = spawnSync('cargo', ['build', '--quiet', '--bin', 'starflake'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    console.error(build.stderr);
    process.exit(2);
  }
  bin = join(root, 'target/debug/starflake');
}
bin = join(root, relative(root, bin));

/** Every file below `dir` as path → text (UTF-8 text only, as a browser would hold them). */
function readTree(dir, prefix = '', out = {}) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      readTree(join(dir, entry.name), path, out);
    } else {
      const bytes = readFileSync(join(dir, entry.name));
      try {
        out[path] = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        // Not text: left out of the object; the callback source serves the bytes.
      }
    }
  }
  return out;
}

/** {read, exists} over the real folder, like the CLI's file source. */
function fsCallbacks(dir) {
  const full = (path) => (path.startsWith('/') ? path : join(dir, path));
  return {
    read(path) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(full(path)));
      } catch (error) {
        if (error.code === 'ENOENT' || error.code === 'EISDIR') return null;
        if (error instanceof TypeError) return readFileSync(full(path)); // bytes: "not UTF-8 text"
        throw error;
      }
    },
    exists(path) {
      try {
        return statSync(full(path)).isDirectory() ? 'dir' : 'file';
      } catch {
        return null;
      }
    },
  };
}

/** The first place where two JSON values differ, or null. */
function firstDifference(expected, actual, path = '$') {
  if (Object.is(expected, actual)) return null;
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) {
    return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (kind(expected) === 'array') {
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      if (i >= expected.length) return `${path}[${i}]: unexpected ${JSON.stringify(actual[i])}`;
      if (i >= actual.length) return `${path}[${i}]: missing ${JSON.stringify(expected[i])}`;
      const difference = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  if (kind(expected) === 'object') {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      if (!(key in actual)) return `${path}.${key}: missing (expected ${JSON.stringify(expected[key])})`;
      if (!(key in expected)) return `${path}.${key}: unexpected ${JSON.stringify(actual[key])}`;
      const difference = firstDifference(expected[key], actual[key], `${path}.${key}`);
      if (difference) return difference;
    }
    return null;
  }
  return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function firstTextDifference(expected, actual) {
  if (expected === actual) return null;
  const e = expected.split('\n');
  const a = actual.split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) {
      return `line ${i + 1}:\n  native: ${JSON.stringify(e[i])}\n  wasm:   ${JSON.stringify(a[i])}`;
    }
  }
  return 'texts differ';
}

function native(dir, command, extra) {
  const result = spawnSync(bin, [command, '.', ...extra], { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`starflake ${command} exited ${result.status}: ${result.stderr}`);
  }
  return result.stdout;
}

const cases = readdirSync(fixtures)
  .filter((name) => statSync(join(fixtures, name)).isDirectory())
  .sort();
let compared = 0;
for (const name of cases) {
  const dir = join(fixtures, name);
  const argsFile = ['args.json', 'args.yaml'].find((file) => existsSync(join(dir, file)));
  const cliArgs = argsFile ? ['--args-file', argsFile] : [];
  const options = { timeoutMs: 3000 };
  if (argsFile) {
    options.args = readFileSync(join(dir, argsFile), 'utf8');
    options.argsOrigin = argsFile;
  }
  const expected = JSON.parse(native(dir, 'check', ['--format', 'json', ...cliArgs]));
  const expectedText = native(dir, 'check', ['--color', 'never', ...cliArgs]);
  const expectedPlan = native(dir, 'plan', ['--color', 'never', ...cliArgs]);

  const workspace = new Workspace(options);
  for (const [source, files] of [['object', readTree(dir)], ['callbacks', fsCallbacks(dir)]]) {
    const analysis = workspace.analyze(files);
    const { rendered, renderedPlan, ...report } = analysis;
    const differences = [
      ['check --format json', firstDifference(expected, report)],
      ['check (text)', firstTextDifference(expectedText, rendered)],
      ['plan (text)', firstTextDifference(expectedPlan, renderedPlan)],
    ];
    // check() and checkJson() give the same document as analyze().
    differences.push(['Workspace.check', firstDifference(report, workspace.check(files))]);
    differences.push(['Workspace.checkJson', firstDifference(report, JSON.parse(workspace.checkJson(files)))]);
    for (const [what, difference] of differences) {
      if (difference) {
        console.error(`FAIL ${name} (files as ${source}), ${what}:\n  ${difference}`);
        process.exit(1);
      }
    }
    compared++;
  }
  workspace.free();
  console.log(`ok   ${name}`);
}
console.log(`wasm and native agree on ${cases.length} packages (${compared} comparisons of json, text and plan)`);

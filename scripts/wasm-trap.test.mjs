// The npm package outlives a trap of its WebAssembly module. Each test makes the real module
// trap for real: it overwrites the instance's linear memory with zeros (what a wild write
// would do), so the next call into it jumps through an emptied function table or reads nonsense
// and traps. Then the call through pkg/ must come back with the SF900 `internal-error`
// diagnostic (or, for an LspServer, a ModuleRestartedError), and the call after it must give
// the right answer on a fresh instance.
//
//   scripts/build-wasm.sh && node --test scripts/wasm-trap.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'pkg');
const { initSync, LspServer, ModuleRestartedError, Workspace } = await import(join(pkg, 'starflake.js'));
const module = new WebAssembly.Module(readFileSync(join(pkg, 'starflake_bg.wasm')));
initSync({ module });

/** Wipes the live instance's memory (`initSync` hands back the exports of the live instance). */
function corruptMemory() {
  new Uint8Array(initSync({ module }).memory.buffer).fill(0);
}

const files = {
  'kurtosis.yml': 'name: github.com/example/trap\n',
  'main.star': 'def run(plan):\n    plan.add_service(name = "web", config = ServiceConfig(image = 8080))\n',
};

/** The diagnostics of `report` as `code name` lines. */
function codes(report) {
  return report.diagnostics.map((diagnostic) => `${diagnostic.code} ${diagnostic.name}`);
}

function assertInternalError(diagnostic) {
  assert.equal(diagnostic.code, 'SF900');
  assert.equal(diagnostic.name, 'internal-error');
  assert.equal(diagnostic.severity, 'error');
  assert.equal(diagnostic.file, 'main.star');
  assert.match(diagnostic.message, /checker failed \(RuntimeError: .+\) and was restarted; this check did not run/);
}

test('a check that traps returns SF900, and the next check is right', () => {
  const workspace = new Workspace({ positionEncoding: 'utf-16' });
  const expected = workspace.check(files);
  assert.deepEqual(codes(expected), ['SF203 wrong-type']);

  corruptMemory();
  const failed = workspace.check(files);
  assert.equal(failed.diagnostics.length, 1);
  assertInternalError(failed.diagnostics[0]);
  assert.deepEqual(failed.plan.steps, []);

  assert.deepEqual(workspace.check(files), expected);
  assert.equal(workspace.positionEncoding, 'utf-16');
});

test('every Workspace method answers in its own shape after a trap', () => {
  const workspace = new Workspace({ positionEncoding: 'utf-8', mainFile: 'main.star' });
  const expected = {
    checkJson: workspace.checkJson(files),
    render: workspace.render(files),
    renderPlan: workspace.renderPlan(files),
    analyze: workspace.analyze(files),
  };

  corruptMemory();
  assertInternalError(JSON.parse(workspace.checkJson(files)).diagnostics[0]);
  corruptMemory();
  assert.match(workspace.render(files), /^error\[SF900\]: starflake's checker failed \(RuntimeError: /);
  corruptMemory();
  assert.match(workspace.renderPlan(files), /^plan for {2}\(0 steps, images for x86_64-linux\)/);
  corruptMemory();
  const analysis = workspace.analyze(files);
  assertInternalError(analysis.diagnostics[0]);
  assert.match(analysis.rendered, /SF900/);

  for (const [method, answer] of Object.entries(expected)) {
    assert.deepEqual(workspace[method](files), answer, method);
  }
  // Options survive the rebuild on the fresh instance.
  assert.equal(workspace.positionEncoding, 'utf-8');
});

test('other Workspaces of the dead instance are rebuilt too', () => {
  const first = new Workspace();
  const second = new Workspace({ args: { port: 1 } });
  const expected = second.check(files);
  corruptMemory();
  assertInternalError(first.check(files).diagnostics[0]);
  assert.deepEqual(second.check(files), expected);
});

test('rules, builtins and version run again on the fresh instance', () => {
  const rules = Workspace.rules();
  assert.ok(rules.some((rule) => rule.code === 'SF900' && rule.name === 'internal-error'));
  corruptMemory();
  assert.deepEqual(Workspace.rules(), rules);
  corruptMemory();
  assert.ok(Workspace.builtins().globals.some((builtin) => builtin.name === 'NixBuildSpec'));
  corruptMemory();
  assert.match(Workspace.version(), /^\d+\.\d+\.\d+/);
});

/** An LspServer over an in-memory package, and the messages it sent. */
function lspServer() {
  const disk = new Map(Object.entries(files).map(([path, text]) => [`/work/${path}`, text]));
  const sent = [];
  const server = new LspServer(
    {
      readFile: (path) => disk.get(path) ?? null,
      stat: (path) => (disk.has(path) ? 'file' : path === '/work' || path === '/' ? 'dir' : null),
      readDir: (path) => (path === '/work' ? Object.keys(files).map((name) => [name, 'file']) : []),
    },
    (message) => sent.push(JSON.parse(message)),
  );
  server.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: {} } }));
  server.send(JSON.stringify({ jsonrpc: '2.0', method: 'initialized', params: {} }));
  return { server, sent };
}

function openMain(server) {
  const textDocument = { uri: 'file:///work/main.star', languageId: 'starlark', version: 1, text: files['main.star'] };
  server.send(JSON.stringify({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument } }));
}

test('an LspServer whose instance trapped says so, and a new one works', () => {
  const { server } = lspServer();
  corruptMemory();
  assert.throws(() => openMain(server), (error) => {
    assert.ok(error instanceof ModuleRestartedError);
    assert.ok(error.cause instanceof WebAssembly.RuntimeError);
    assert.match(error.message, /checker failed .* and was restarted; this LspServer was lost/);
    return true;
  });
  assert.throws(() => server.deferredAfterMs, ModuleRestartedError);

  const fresh = lspServer();
  openMain(fresh.server);
  const published = fresh.sent.find((message) => message.method === 'textDocument/publishDiagnostics');
  assert.deepEqual(published.params.diagnostics.map((diagnostic) => diagnostic.code), ['SF203']);
});

test('a trap elsewhere makes an older LspServer report it was lost', () => {
  const { server } = lspServer();
  const workspace = new Workspace();
  corruptMemory();
  assertInternalError(workspace.check(files).diagnostics[0]);
  assert.throws(() => openMain(server), ModuleRestartedError);
});

test('a constructor that traps is made again on the fresh instance', () => {
  corruptMemory();
  assert.deepEqual(codes(new Workspace().check(files)), ['SF203 wrong-type']);
  corruptMemory();
  const { server, sent } = lspServer();
  openMain(server);
  assert.ok(sent.some((message) => message.method === 'textDocument/publishDiagnostics'));
});

test('errors that are not traps pass through untouched', () => {
  const workspace = new Workspace();
  assert.throws(() => workspace.check('main.star'), TypeError);
  assert.throws(() => new Workspace({ positionEncodng: 'utf-8' }), /did you mean `positionEncoding`/);
  assert.deepEqual(codes(workspace.check(files)), ['SF203 wrong-type']);
});

test('a message that is not text is a TypeError, never a trap', () => {
  const { server, sent } = lspServer();
  const other = lspServer();
  for (const message of [{ jsonrpc: '2.0', id: 5, method: 'shutdown' }, 12345, null, undefined]) {
    assert.throws(() => server.send(message), (error) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /one JSON-RPC message as text/);
      return true;
    });
  }
  // Neither this server nor another one of the same instance was lost.
  openMain(server);
  openMain(other.server);
  for (const messages of [sent, other.sent]) {
    assert.ok(messages.some((message) => message.method === 'textDocument/publishDiagnostics'));
  }
});

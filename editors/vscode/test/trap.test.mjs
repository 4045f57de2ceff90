// End to end: the WebAssembly module of dist/server.js traps for real in the middle of a session
// (a test-only preload zeroes its memory), and the server takes the extension's restart path:
// it says what failed and exits with 70 at once, instead of hanging or answering from a broken
// instance; the client (vscode-languageclient with the extension's restartingErrorHandler)
// then starts a new server, says so once, and sends it the open documents again. This test
// plays that client with a plain one (vscode-languageserver-protocol).
//
//   npm run build && node --test test/trap.test.mjs        # in editors/vscode

import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  PublishDiagnosticsNotification,
} from 'vscode-languageserver-protocol/node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverModule = path.join(here, '..', 'dist', 'server.js');
const root = path.join(here, '..', '..', 'test', 'fixtures', 'shop');
const uri = pathToFileURL(path.join(root, 'main.star')).href;
const text = readFileSync(path.join(root, 'main.star'), 'utf8');

/** A server process with an initialized session and main.star open; resolves once its
 * diagnostics came. */
async function start(execArgv = []) {
  const server = fork(serverModule, ['--node-ipc'], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const session = { server, stderr: '', published: [] };
  server.stderr.on('data', (chunk) => (session.stderr += chunk));
  const connection = createProtocolConnection(new IPCMessageReader(server), new IPCMessageWriter(server));
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => session.published.push(params));
  connection.onError(() => {});
  connection.listen();
  session.connection = connection;
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    capabilities: { general: { positionEncodings: ['utf-16'] } },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'starlark', version: 1, text },
  });
  await until(session, () => session.published.some((params) => params.uri === uri), 'diagnostics of main.star');
  return session;
}

async function until(session, ready, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; server stderr:\n${session.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const codes = (params) => params.diagnostics.map((diagnostic) => diagnostic.code).sort();

test('a trap ends the server with 70 and a message; the restarted server answers', async () => {
  const session = await start(['--require', path.join(here, 'wasm-memory-zeroer.cjs')]);
  const before = codes(session.published.findLast((params) => params.uri === uri));
  assert.ok(before.includes('SF202'), `SF202 in ${before}`);

  session.server.kill('SIGUSR2');
  await until(session, () => session.stderr.includes('wasm memory zeroed'), 'the memory to be zeroed');
  const exited = once(session.server, 'exit');
  // The edit's re-check runs on the zeroed instance, after the debounce.
  await session.connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ text }],
  });
  const [code] = await Promise.race([
    exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit; stderr:\n${session.stderr}`)), 10_000)),
  ]);
  assert.equal(code, 70, session.stderr);
  // (The bundle is minified: the class prints as `Ue [ModuleRestartedError]`.)
  assert.match(session.stderr, /starflake language server failed: .*ModuleRestartedError\]?: starflake's checker failed \(RuntimeError: /);
  session.connection.dispose();

  // What vscode-languageclient does next: a new server, the open documents sent again.
  const restarted = await start();
  assert.deepEqual(codes(restarted.published.findLast((params) => params.uri === uri)), before);
  restarted.connection.dispose();
  restarted.server.kill();
});

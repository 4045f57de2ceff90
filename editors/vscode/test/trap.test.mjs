// End to end: the WebAssembly module of dist/server.js traps for real in the middle of a session
// (a test-only preload zeroes its memory), driven by a plain client
// (vscode-languageserver-protocol) over Node IPC. The server rebuilds itself on the fresh
// instance pkg/ started (server/host.ts): the request that trapped gets an error, the open
// document is checked again, the user is told once, and the session goes on.
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
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  MessageType,
  PublishDiagnosticsNotification,
  ShowMessageNotification,
  ShutdownRequest,
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

const hoverAt = { textDocument: { uri }, position: { line: 5, character: 11 } };
/** `entrypont` in main.star (the quick fix case of ../../test/cases.json). */
const misspelt = { start: { line: 5, character: 112 }, end: { line: 5, character: 121 } };
const codes = (params) => params.diagnostics.map((diagnostic) => diagnostic.code).sort();

test('after a trap the server rebuilds itself: the request fails, the rest goes on', async () => {
  const session = await start(['--require', path.join(here, 'wasm-memory-zeroer.cjs')]);
  const before = codes(session.published.findLast((params) => params.uri === uri));
  assert.ok(before.includes('SF202'), `SF202 in ${before}`);
  const shown = [];
  session.connection.onNotification(ShowMessageNotification.type, (params) => shown.push(params));

  session.server.kill('SIGUSR2');
  await until(session, () => session.stderr.includes('wasm memory zeroed'), 'the memory to be zeroed');
  const republished = session.published.length;
  await assert.rejects(session.connection.sendRequest(HoverRequest.type, hoverAt), (error) => {
    assert.equal(error.code, -32603);
    assert.match(error.message, /starflake's checker failed \(RuntimeError: .+\) and was restarted/);
    return true;
  });
  // The new server got the open document again and checked it.
  await until(session, () => session.published.length > republished, 'diagnostics from the rebuilt server');
  assert.deepEqual(codes(session.published.at(-1)), before);
  await until(session, () => shown.length === 1, 'one message to the user');
  assert.equal(shown[0].type, MessageType.Warning);
  assert.match(shown[0].message, /checker failed .* and was restarted\. The open files were checked again/);

  // It answers as before, edits included.
  const hover = await session.connection.sendRequest(HoverRequest.type, hoverAt);
  assert.match(hover.contents.value ?? hover.contents, /add_service/);
  await session.connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ range: misspelt, text: 'entrypoint' }],
  });
  await until(session, () => !codes(session.published.at(-1)).includes('SF202'), 'the fix to clear SF202');
  assert.equal(shown.length, 1, 'the user is told once');

  await session.connection.sendRequest(ShutdownRequest.type);
  const exited = once(session.server, 'exit');
  await session.connection.sendNotification(ExitNotification.type);
  assert.deepEqual(await exited, [0, null]);
  session.connection.dispose();
});

// End to end: a plain LSP client (vscode-languageserver-protocol, not ours) drives exactly the
// server module the extension ships (dist/server.js, the bundled WebAssembly server) over Node
// IPC, as VS Code does, and checks what ../../test/cases.json specifies: the same cases the
// Neovim test (../../test/nvim.lua) checks against the native `starflake lsp`.
//
//   npm run build && npm test        # in editors/vscode

import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CompletionRequest,
  createProtocolConnection,
  DefinitionRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  PublishDiagnosticsNotification,
  ShutdownRequest,
} from 'vscode-languageserver-protocol/node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverModule = path.join(here, '..', 'dist', 'server.js');
const cases = JSON.parse(readFileSync(path.join(here, '..', '..', 'test', 'cases.json'), 'utf8'));
const root = path.join(here, '..', '..', 'test', 'fixtures', cases.package);
const uriOf = (file) => pathToFileURL(path.join(root, file)).href;
const textOf = (file) => readFileSync(path.join(root, file), 'utf8');
const range = ([startLine, startCharacter, endLine, endCharacter]) => ({
  start: { line: startLine, character: startCharacter },
  end: { line: endLine, character: endCharacter },
});
const position = ([line, character]) => ({ line, character });

let server;
let connection;
let stderr = '';
/** The last diagnostics published for each URI. */
const published = new Map();

/** Resolves once `ready()` is true, checking after every message; fails after `ms`. */
async function until(ready, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; server stderr:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const summary = (diagnostics) =>
  diagnostics
    .map((d) => ({ code: d.code, range: d.range }))
    .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);

before(async () => {
  server = fork(serverModule, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  server.stderr.on('data', (chunk) => (stderr += chunk));
  connection = createProtocolConnection(new IPCMessageReader(server), new IPCMessageWriter(server));
  connection.onNotification(PublishDiagnosticsNotification.type, ({ uri, diagnostics }) => published.set(uri, diagnostics));
  connection.listen();
  const { capabilities } = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    workspaceFolders: [{ uri: pathToFileURL(root).href, name: cases.package }],
    capabilities: {
      // UTF-16 only, as VS Code: positions must count UTF-16 code units.
      general: { positionEncodings: ['utf-16'] },
      textDocument: {
        publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        completion: { completionItem: { snippetSupport: false } },
      },
    },
  });
  assert.equal(capabilities.positionEncoding ?? 'utf-16', 'utf-16');
  await connection.sendNotification(InitializedNotification.type, {});
  for (const file of cases.open) {
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: uriOf(file), languageId: 'starlark', version: 1, text: textOf(file) },
    });
  }
});

after(async () => {
  if (!connection) return;
  await connection.sendRequest(ShutdownRequest.type);
  const exited = once(server, 'exit');
  await connection.sendNotification(ExitNotification.type);
  const [code] = await exited;
  assert.equal(code, 0, 'the server exits with 0 after shutdown and exit');
  connection.dispose();
});

for (const [file, expected] of Object.entries(cases.diagnostics)) {
  test(`diagnostics of ${file}: codes and UTF-16 ranges`, async () => {
    await until(() => published.has(uriOf(file)), `diagnostics of ${file}`);
    const actual = published.get(uriOf(file));
    assert.deepEqual(summary(actual), summary(expected.map((d) => ({ code: d.code, range: range(d.range) }))));
    for (const want of expected) {
      const got = actual.find((d) => d.code === want.code);
      assert.ok(got.codeDescription?.href, `${want.code} links to its documentation`);
      if (want.related) {
        const places = (got.relatedInformation ?? []).map((info) => info.location.uri);
        assert.ok(places.includes(uriOf(want.related)), `${want.code} points at ${want.related}: ${places}`);
      }
    }
  });
}

test('a quick fix edits the misspelt name, and the fix clears the diagnostic', async () => {
  const fix = cases.quickFix;
  const uri = uriOf(fix.file);
  await until(() => published.has(uri), `diagnostics of ${fix.file}`);
  const diagnostic = published.get(uri).find((d) => d.code === fix.code);
  assert.ok(diagnostic, `a ${fix.code} diagnostic in ${fix.file}`);
  const actions = await connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: diagnostic.range,
    context: { diagnostics: [diagnostic], only: ['quickfix'] },
  });
  const action = actions?.find((a) => a.title === fix.title);
  assert.ok(action, `a code action titled ${JSON.stringify(fix.title)}; got ${JSON.stringify(actions?.map((a) => a.title))}`);
  assert.deepEqual(action.edit.changes[uri], fix.edits.map((e) => ({ range: range(e.range), newText: e.newText })));

  // Apply it as an editor would, and the server takes the diagnostic back.
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: action.edit.changes[uri].map(({ range, newText }) => ({ range, text: newText })),
  });
  await until(() => !published.get(uri).some((d) => d.code === fix.code), `${fix.code} to be cleared`);
});

for (const hover of cases.hover) {
  test(`hover at ${hover.file}:${hover.at} tells ${hover.contains.join(', ')}`, async () => {
    const result = await connection.sendRequest(HoverRequest.type, {
      textDocument: { uri: uriOf(hover.file) },
      position: position(hover.at),
    });
    assert.ok(result, 'a hover');
    const text = typeof result.contents === 'string' ? result.contents : result.contents.value;
    for (const part of hover.contains) assert.ok(text.includes(part), `hover text has ${JSON.stringify(part)}:\n${text}`);
  });
}

for (const completion of cases.completion) {
  test(`completion at ${completion.file}:${completion.at} offers ${completion.labels.join(', ')}`, async () => {
    const result = await connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri: uriOf(completion.file) },
      position: position(completion.at),
    });
    const labels = (Array.isArray(result) ? result : result?.items ?? []).map((item) => item.label);
    for (const label of completion.labels) assert.ok(labels.includes(label), `${label} in ${labels}`);
  });
}

for (const definition of cases.definition) {
  test(`definition at ${definition.file}:${definition.at} is ${definition.target}:${definition.range}`, async () => {
    const result = await connection.sendRequest(DefinitionRequest.type, {
      textDocument: { uri: uriOf(definition.file) },
      position: position(definition.at),
    });
    const locations = (Array.isArray(result) ? result : result ? [result] : []).map((l) => ({
      uri: l.targetUri ?? l.uri,
      range: l.targetSelectionRange ?? l.range,
    }));
    assert.deepEqual(locations, [{ uri: uriOf(definition.target), range: range(definition.range) }]);
  });
}

// The server entry of the browser build of VS Code (vscode.dev, github.dev): the same
// WebAssembly server in a Web Worker. A worker cannot read the workspace, so the extension
// sends the package files (`.star`, `kurtosis.yml`, `flake.nix`) as `starflake/files`
// notifications and the server reads this snapshot; open documents reach it as usual.

import { BrowserMessageReader, BrowserMessageWriter, type Message } from 'vscode-jsonrpc/browser';
import { initSync, LspServer, type LspFiles } from '../../../pkg/starflake.js';
import { type FilesChanged, FILES_CHANGED, fileUri } from '../src/protocol';
import { serve } from './host';

/** `FileChangeType` of the protocol (vscode-languageserver-protocol is not bundled here). */
const FileChangeType = { Changed: 2, Deleted: 3 } as const;

declare const self: DedicatedWorkerGlobalScope;

const snapshot = new Map<string, string>();

const files: LspFiles = {
  readFile: (file) => snapshot.get(file) ?? null,
  stat(file) {
    if (snapshot.has(file)) return 'file';
    const prefix = `${file}/`;
    return [...snapshot.keys()].some((key) => key.startsWith(prefix)) ? 'dir' : null;
  },
  readDir(dir) {
    const prefix = `${dir}/`;
    const entries = new Map<string, 'file' | 'dir'>();
    for (const key of snapshot.keys()) {
      if (!key.startsWith(prefix)) continue;
      const [name, ...rest] = key.slice(prefix.length).split('/');
      entries.set(name, rest.length ? 'dir' : 'file');
    }
    return [...entries];
  },
};

function isFilesChanged(message: Message): message is Message & { params: FilesChanged } {
  return (message as { method?: string }).method === FILES_CHANGED;
}

// Messages that arrive while the module loads wait here: a worker drops what no listener takes.
const reader = new BrowserMessageReader(self);
const waiting: Message[] = [];
let deliver: (message: Message) => void = (message) => waiting.push(message);
reader.listen((message) => {
  if (!isFilesChanged(message)) return deliver(message);
  for (const { path, text } of message.params.changed) snapshot.set(path, text);
  for (const path of message.params.deleted) snapshot.delete(path);
  // The server re-checks when told that files changed on disk, as the desktop client does.
  const changes = [
    ...message.params.changed.map(({ path }) => ({ uri: fileUri(path), type: FileChangeType.Changed })),
    ...message.params.deleted.map((path) => ({ uri: fileUri(path), type: FileChangeType.Deleted })),
  ];
  deliver({ jsonrpc: '2.0', method: 'workspace/didChangeWatchedFiles', params: { changes } } as Message);
});

void (async () => {
  // dist/web/server.js: the module is dist/starflake_bg.wasm, shared with the Node server.
  const wasm = await fetch(new URL('../starflake_bg.wasm', self.location.href));
  initSync({ module: await wasm.arrayBuffer() });
  serve(LspServer, files, {
    listen(receive) {
      waiting.splice(0).forEach(receive);
      deliver = receive;
    },
    writer: new BrowserMessageWriter(self),
    exit: () => self.close(),
  });
})();

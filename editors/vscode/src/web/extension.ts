// The browser build (vscode.dev, github.dev): the WebAssembly server in a Web Worker. The worker
// cannot read the workspace, so this side sends it the package files and their changes
// (`starflake/files`). The server speaks `file:` URIs only: `serverUri` maps the workspace's own
// URIs (`vscode-vfs://github/...`) into that space and back. A worker that dies is not restarted
// here (the client cannot make a new one); reloading the window does.

import { type ExtensionContext, Uri, workspace } from 'vscode';
import { LanguageClient } from 'vscode-languageclient/browser';
import { documentSelector, PACKAGE_FILES } from '../client';
import { type FilesChanged, FILES_CHANGED, fromServerPath, toServerPath } from '../protocol';

const NAME = 'starflake';
let client: LanguageClient | undefined;

const toServer = (uri: Uri): string => Uri.file(toServerPath(uri)).toString();
const fromServer = (value: string): Uri => Uri.from(fromServerPath(Uri.parse(value).path));

async function sendFiles(uris: readonly Uri[], deleted: readonly Uri[] = []): Promise<void> {
  const changed = await Promise.all(
    uris.map(async (uri) => ({
      path: toServerPath(uri),
      text: new TextDecoder().decode(await workspace.fs.readFile(uri)),
    })),
  );
  const params: FilesChanged = { changed, deleted: deleted.map(toServerPath) };
  await client?.sendNotification(FILES_CHANGED, params);
}

export async function activate(context: ExtensionContext): Promise<void> {
  const worker = new Worker(Uri.joinPath(context.extensionUri, 'dist/web/server.js').toString(true));
  client = new LanguageClient(NAME, NAME, {
    documentSelector: documentSelector(),
    uriConverters: { code2Protocol: toServer, protocol2Code: fromServer },
  }, worker);
  await client.start();

  const watcher = workspace.createFileSystemWatcher(PACKAGE_FILES);
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate((uri) => sendFiles([uri])),
    watcher.onDidChange((uri) => sendFiles([uri])),
    watcher.onDidDelete((uri) => sendFiles([], [uri])),
  );
  await sendFiles(await workspace.findFiles(PACKAGE_FILES));
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
}

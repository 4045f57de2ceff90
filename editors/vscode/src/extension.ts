// The desktop extension: the WebAssembly server bundled in dist/server.js, run in a Node child
// process over Node IPC, or a native `starflake lsp` when `starflake.server.path` is set.

import { commands, type ExtensionContext, type OutputChannel, window, workspace } from 'vscode';
import { LanguageClient, type ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { documentSelector, PACKAGE_FILES, restartingErrorHandler } from './client';

const NAME = 'starflake';
let client: LanguageClient | undefined;
let outputChannel: OutputChannel | undefined;

function serverOptions(context: ExtensionContext): ServerOptions {
  const native = workspace.getConfiguration('starflake').get<string>('server.path', '').trim();
  if (native) {
    return { command: native, args: ['lsp'], transport: TransportKind.stdio };
  }
  return { module: context.asAbsolutePath('dist/server.js'), transport: TransportKind.ipc };
}

async function start(context: ExtensionContext): Promise<void> {
  client = new LanguageClient(NAME, NAME, serverOptions(context), {
    documentSelector: documentSelector('file'),
    synchronize: { fileEvents: workspace.createFileSystemWatcher(PACKAGE_FILES) },
    errorHandler: restartingErrorHandler(NAME),
    outputChannel,
  });
  try {
    await client.start();
  } catch (error) {
    const native = workspace.getConfiguration('starflake').get<string>('server.path', '');
    const hint = native ? ` Is \`${native}\` (the setting starflake.server.path) a starflake binary?` : '';
    void window.showErrorMessage(`The starflake language server did not start: ${String(error)}.${hint}`);
  }
}

async function restart(context: ExtensionContext): Promise<void> {
  await client?.dispose();
  client = undefined;
  await start(context);
}

export async function activate(context: ExtensionContext): Promise<void> {
  outputChannel = window.createOutputChannel(NAME);
  context.subscriptions.push(
    outputChannel,
    commands.registerCommand('starflake.restartServer', () => restart(context)),
    workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('starflake.server.path')) void restart(context);
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
}

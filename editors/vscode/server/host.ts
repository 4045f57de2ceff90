// Runs the WebAssembly language server (`LspServer` from pkg/) over any JSON-RPC channel:
// messages in, messages out, and one timer for the work the server debounces (diagnostics
// after an edit). node.ts and browser.ts only supply the channel, the files and how to exit.

import type { Message, MessageWriter } from 'vscode-jsonrpc';
import type { LspFiles, LspServer } from '../../../pkg/starflake.js';

export type ServerConstructor = new (files: LspFiles, output: (message: string) => void) => LspServer;

export interface Host {
  /** Calls `receive` with every message the client sends. */
  listen(receive: (message: Message) => void): void;
  writer: MessageWriter;
  /** Ends the server: after `exit`, or when a message made the WebAssembly module trap. */
  exit(code: number): void;
}

/** Starts a server that answers the messages of `host`. */
export function serve(Server: ServerConstructor, files: LspFiles, host: Host): void {
  // Writes are queued by the writer; waiting for the last one lets `exit` flush first.
  let lastWrite: Promise<void> = Promise.resolve();
  const server = new Server(files, (text) => {
    lastWrite = host.writer.write(JSON.parse(text) as Message);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;

  // Every step may change what is due, so each one re-arms the single timer.
  const step = (work: () => void): void => {
    try {
      work();
    } catch (error) {
      // A trap (a panic in Rust) takes the LspServer and its open documents down with its
      // WebAssembly instance (pkg/ throws a ModuleRestartedError from then on): end the
      // process, and the client starts a fresh one and sends it the open documents again
      // (src/client.ts says so once).
      console.error('starflake language server failed:', error);
      host.exit(70);
      return;
    }
    const exitCode = server.exitCode;
    if (exitCode !== undefined) {
      clearTimeout(timer);
      const exit = () => host.exit(exitCode);
      void lastWrite.then(exit, exit);
      return;
    }
    clearTimeout(timer);
    const due = server.deferredAfterMs;
    timer = due === undefined ? undefined : setTimeout(() => step(() => server.runDeferred()), due);
  };

  host.listen((message) => step(() => server.send(JSON.stringify(message))));
}

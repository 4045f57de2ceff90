// Runs the WebAssembly language server (`LspServer` from pkg/) over any JSON-RPC channel:
// messages in, messages out, and one timer for the work the server debounces (diagnostics
// after an edit). node.ts and browser.ts only supply the channel, the files and how to exit.
//
// A trap of the module (a bug) takes the LspServer and its open documents with it; pkg/ has
// already started a fresh instance. The host then makes a new LspServer and brings it to where
// the old one was (`initialize`, `initialized`, every open document with its current text, as
// the client sent them), answers the request that trapped with an error, and tells the user
// once. If that fails too, or traps keep coming, it ends the process and leaves the restart to
// the client (src/client.ts).

import type { Message, MessageWriter } from 'vscode-jsonrpc';
import { TextDocument, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import type { LspFiles, LspServer } from '../../../pkg/starflake.js';

export type ServerConstructor = new (files: LspFiles, output: (message: string) => void) => LspServer;

export interface Host {
  /** Calls `receive` with every message the client sends. */
  listen(receive: (message: Message) => void): void;
  writer: MessageWriter;
  /** Ends the server: after `exit`, or when it could not recover from a trap of the module. */
  exit(code: number): void;
}

/** The exit code when the server gives up after a trap (EX_SOFTWARE). */
const TRAPPED = 70;
/** More traps than this within the window and the host stops rebuilding. */
const MAX_REBUILDS = 3;
const REBUILD_WINDOW_MS = 60 * 1000;
/** The id of the `initialize` a rebuilt server gets; its answer stays here. */
const REPLAY_ID = 'starflake/replay';

interface Incoming {
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: { capabilities?: { positionEncoding?: string } };
}

/** What the client told the server that a new one needs to answer as the old one did. */
class Session {
  private initialize: Incoming | undefined;
  private initialized = false;
  private readonly documents = new Map<string, TextDocument>();
  /** The documents are tracked in UTF-16 (what TextDocument counts); a server that negotiated
   * another encoding cannot be rebuilt from them. */
  utf16 = true;

  /** Takes note of a message from the client. */
  received(message: Incoming): void {
    const params = message.params as Record<string, any> | undefined;
    switch (message.method) {
      case 'initialize':
        this.initialize = message;
        break;
      case 'initialized':
        this.initialized = true;
        break;
      case 'textDocument/didOpen': {
        const { uri, languageId, version, text } = params!.textDocument;
        this.documents.set(uri, TextDocument.create(uri, languageId, version, text));
        break;
      }
      case 'textDocument/didChange': {
        const document = this.documents.get(params!.textDocument.uri);
        const changes = params!.contentChanges as TextDocumentContentChangeEvent[];
        if (document) TextDocument.update(document, changes, params!.textDocument.version);
        break;
      }
      case 'textDocument/didClose':
        this.documents.delete(params!.textDocument.uri);
        break;
    }
  }

  /** Takes note of a message from the server. */
  sent(message: Incoming): void {
    if (message.id !== undefined && message.id === this.initialize?.id && message.result) {
      this.utf16 = (message.result.capabilities?.positionEncoding ?? 'utf-16') === 'utf-16';
    }
  }

  /** The messages that bring a new server to this session's state, or none when it cannot be. */
  replay(): Incoming[] | undefined {
    if (!this.initialize || !this.utf16) return undefined;
    const messages: Incoming[] = [{ id: REPLAY_ID, method: 'initialize', params: this.initialize.params }];
    if (this.initialized) messages.push({ method: 'initialized', params: {} });
    for (const document of this.documents.values()) {
      const textDocument = { uri: document.uri, languageId: document.languageId, version: document.version, text: document.getText() };
      messages.push({ method: 'textDocument/didOpen', params: { textDocument } });
    }
    return messages;
  }
}

/** Starts a server that answers the messages of `host`. */
export function serve(Server: ServerConstructor, files: LspFiles, host: Host): void {
  const session = new Session();
  // Writes are queued by the writer; waiting for the last one lets `exit` flush first.
  let lastWrite: Promise<void> = Promise.resolve();
  const write = (message: Incoming): void => {
    lastWrite = host.writer.write(message as Message);
  };
  const start = (): LspServer =>
    new Server(files, (text) => {
      const message = JSON.parse(text) as Incoming;
      session.sent(message);
      if (message.id !== REPLAY_ID) write(message);
    });
  let server = start();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const rebuilds: number[] = [];
  let told = false;

  /** A new server in the old one's place after a trap; false when that is not possible. */
  const rebuild = (trap: Error, message: Incoming | undefined): boolean => {
    const now = Date.now();
    rebuilds.push(now);
    while (rebuilds[0] < now - REBUILD_WINDOW_MS) rebuilds.shift();
    const replay = session.replay();
    if (!replay || rebuilds.length > MAX_REBUILDS) return false;
    try {
      server = start();
      for (const step of replay) server.send(JSON.stringify({ jsonrpc: '2.0', ...step }));
    } catch (error) {
      console.error('starflake language server: the rebuilt server failed too:', error);
      return false;
    }
    if (message?.id !== undefined && message.method) {
      write({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: trap.message } } as Incoming);
    }
    if (!told) {
      told = true;
      const text = `${trap.message.replace(/; this LspServer.*/, '')}. The open files were checked again; please report this bug.`;
      write({ jsonrpc: '2.0', method: 'window/showMessage', params: { type: 2, message: text } } as Incoming);
    }
    return true;
  };

  // Every step may change what is due, so each one re-arms the single timer.
  const step = (work: () => void, message?: Incoming): void => {
    try {
      work();
    } catch (error) {
      console.error('starflake language server failed:', error);
      const trapped = (error as Error)?.name === 'ModuleRestartedError';
      if (!trapped || !rebuild(error as Error, message)) {
        host.exit(TRAPPED);
        return;
      }
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

  host.listen((message) => {
    session.received(message as Incoming);
    step(() => server.send(JSON.stringify(message)), message as Incoming);
  });
}

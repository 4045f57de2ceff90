// The server module the extension runs in a Node child process (and that the end-to-end test
// drives): the bundled WebAssembly server, Node's fs for files on disk, Node IPC
// (`--node-ipc`, what vscode-languageclient uses) or stdio (`--stdio`) for messages.

import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  IPCMessageReader,
  IPCMessageWriter,
  type MessageReader,
  type MessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { initSync, LspServer, type LspFiles } from '../../../pkg/starflake.js';
import { serve } from './host';

function kindOf(entry: fs.Stats | fs.Dirent): 'file' | 'dir' | null {
  return entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : null;
}

/** Files on disk; every failure that only means "nothing there" is null or empty. */
const files: LspFiles = {
  readFile(file) {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw error;
    }
  },
  stat(file) {
    const stats = fs.statSync(file, { throwIfNoEntry: false });
    return stats ? kindOf(stats) : null;
  },
  readDir(dir) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.flatMap((entry): [string, 'file' | 'dir'][] => {
      // A symbolic link counts as what it points to.
      const kind = entry.isSymbolicLink() ? files.stat(path.join(dir, entry.name)) : kindOf(entry);
      return kind ? [[entry.name, kind]] : [];
    });
  },
};

function channel(): { reader: MessageReader; writer: MessageWriter } {
  if (process.argv.includes('--node-ipc')) {
    return { reader: new IPCMessageReader(process), writer: new IPCMessageWriter(process) };
  }
  return { reader: new StreamMessageReader(process.stdin), writer: new StreamMessageWriter(process.stdout) };
}

// The module sits next to this file in dist/.
initSync({ module: fs.readFileSync(path.join(__dirname, 'starflake_bg.wasm')) });
const { reader, writer } = channel();
// When the editor goes away the channel closes: nobody is left to answer.
reader.onClose(() => process.exit(1));
serve(LspServer, files, {
  listen: (receive) => reader.listen(receive),
  writer,
  exit: (code) => process.exit(code),
});

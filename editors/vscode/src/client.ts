// What the desktop and the browser builds of the extension share: which documents the server
// sees, and what happens when it dies.

import { window } from 'vscode';
import {
  CloseAction,
  type CloseHandlerResult,
  type DocumentSelector,
  ErrorAction,
  type ErrorHandler,
} from 'vscode-languageclient';

/** Starlark files, and the package files whose edits change a check. */
export function documentSelector(scheme?: string): DocumentSelector {
  return [
    { scheme, language: 'starlark' },
    { scheme, pattern: '**/kurtosis.yml' },
    { scheme, pattern: '**/flake.nix' },
  ];
}

/** The glob of every file a check may read, for file watchers. */
export const PACKAGE_FILES = '**/{*.star,kurtosis.yml,kurtosis.yaml,flake.nix}';

/** More crashes than this within the window and the server stays down. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 3 * 60 * 1000;

/**
 * Restarts a server that died and says so once per session; a server that keeps dying is left
 * stopped, with an error that says where to look. (A trap of the WebAssembly module does not
 * end the bundled server: server/host.ts rebuilds it in place.)
 */
export function restartingErrorHandler(outputName: string): ErrorHandler {
  const crashes: number[] = [];
  let told = false;
  return {
    error: () => ({ action: ErrorAction.Continue, handled: true }),
    closed(): CloseHandlerResult {
      const now = Date.now();
      crashes.push(now);
      while (crashes[0] < now - CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length > MAX_CRASHES) {
        return {
          action: CloseAction.DoNotRestart,
          message: `The starflake language server stopped ${crashes.length} times in 3 minutes and was not restarted; the "${outputName}" output has its last messages.`,
        };
      }
      if (!told) {
        told = true;
        void window.showWarningMessage('The starflake language server stopped unexpectedly; it was restarted.');
      }
      return { action: CloseAction.Restart, handled: true };
    },
  };
}

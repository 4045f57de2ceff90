// What the browser extension (src/web/extension.ts) and its Web Worker server
// (server/browser.ts) agree on. Neither side may import `vscode` here: the worker cannot.

/** Notification: package files changed in the workspace (the worker cannot read it). */
export const FILES_CHANGED = 'starflake/files';

export interface FilesChanged {
  /** Files with their new text, by server path (`toServerPath`). */
  changed: { path: string; text: string }[];
  /** Server paths of files that are gone. */
  deleted: string[];
}

interface UriParts {
  scheme: string;
  authority: string;
  path: string;
}

/**
 * The absolute path the server sees for a workspace URI: the server reads `file:` URIs only,
 * so `vscode-vfs://github/o/r/main.star` becomes `/vscode-vfs/github/o/r/main.star`.
 * An empty authority is written `-` so that the mapping can be undone.
 */
export function toServerPath(uri: UriParts): string {
  return `/${uri.scheme}/${uri.authority || '-'}${uri.path}`;
}

/** The inverse of `toServerPath`. */
export function fromServerPath(path: string): UriParts {
  const [, scheme = '', authority = '', ...rest] = path.split('/');
  return { scheme, authority: authority === '-' ? '' : authority, path: `/${rest.join('/')}` };
}

/** The `file:` URI of a server path. */
export function fileUri(path: string): string {
  return `file://${path.split('/').map(encodeURIComponent).join('/')}`;
}

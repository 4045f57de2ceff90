// The workspace (files, active file, args) lives in the URL hash, deflated and base64url-coded,
// so a link carries the whole package; localStorage keeps it across reloads of a bare URL.

const STORAGE_KEY = 'starflake-playground/v1';
const HASH_PREFIX = '#v1.';

// Past this the hash is left out (browsers cap URLs near 2 MB): localStorage still keeps it.
const MAX_HASH_CHARS = 1_000_000;

/**
 * @typedef {{files: Record<string,string>, active: string, args: string, deps: Record<string,string>,
 *   example?: string}} State (deps: dependency files, github.com/ORG/REPO/...)
 */

function textsOf(map) {
  const texts = {};
  for (const [path, text] of Object.entries(map && typeof map === 'object' ? map : {})) {
    if (typeof text === 'string' && path) texts[path] = text;
  }
  return texts;
}

export function normalize(state) {
  if (!state || typeof state !== 'object' || typeof state.files !== 'object' || !state.files) return null;
  const files = textsOf(state.files);
  const paths = Object.keys(files);
  const active = paths.includes(state.active) ? state.active : (paths.includes('main.star') ? 'main.star' : paths[0] ?? '');
  return { files, active, args: typeof state.args === 'string' ? state.args : '', deps: textsOf(state.deps), example: state.example };
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64Url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function encodeHash(state) {
  const json = JSON.stringify({ files: state.files, active: state.active, args: state.args, deps: state.deps });
  const packed = await pipe(new TextEncoder().encode(json), new CompressionStream('deflate-raw'));
  return HASH_PREFIX + toBase64Url(packed);
}

export async function decodeHash(hash) {
  if (!hash.startsWith(HASH_PREFIX)) return null;
  try {
    const bytes = await pipe(fromBase64Url(hash.slice(HASH_PREFIX.length)), new DecompressionStream('deflate-raw'));
    return normalize(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return null; // a truncated or hand-edited link: fall back to the saved workspace
  }
}

export function loadStored() {
  try {
    return normalize(JSON.parse(localStorage.getItem(STORAGE_KEY)));
  } catch {
    return null;
  }
}

/**
 * Saves to localStorage and the hash (replaceState: typing must not flood the history).
 * Returns the link that holds the workspace, or null when it is too large for one.
 */
export async function save(state) {
  // localStorage first and synchronously: a save started by `pagehide` may not get past an await.
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ files: state.files, active: state.active, args: state.args, deps: state.deps }));
  } catch {
    // storage full or disabled: the URL still holds everything
  }
  const encoded = await encodeHash(state);
  const hash = encoded.length <= MAX_HASH_CHARS ? encoded : '';
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  return hash ? location.href : null;
}

export const isStateHash = (hash) => hash.startsWith(HASH_PREFIX);

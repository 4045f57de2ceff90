// Opens a package (or a folder of dependencies) from disk: a folder picked with the file input or
// dropped on the page, or a .zip / .tar.gz / .tar archive. Keeps only what the checker reads:
// UTF-8 text files under the size cap, outside .git and node_modules.
import { unzipSync, gunzipSync } from 'fflate';
import { readTar } from './tar.js';

export const MAX_FILE_BYTES = 1024 * 1024;
const IGNORED_FOLDERS = new Set(['.git', 'node_modules']);
const ARCHIVE = /\.(zip|tar\.gz|tgz|tar)$/i;

export const isArchive = (name) => ARCHIVE.test(name);

const ignored = (path) => path.split('/').some((part) => IGNORED_FOLDERS.has(part));

/** The ignored folder a path lies in ("a/.git"), so that its files count once. */
function ignoredFolder(path) {
  const parts = path.split('/');
  return parts.slice(0, parts.findIndex((part) => IGNORED_FOLDERS.has(part)) + 1).join('/');
}

/**
 * Collects {path, size, bytes()} from what was picked or dropped, then decodes them.
 * Returns {files: {path: text}, skipped: {folders, binary, large}} (folders: .git, node_modules).
 */
async function decode(entries) {
  const skipped = { folders: 0, binary: 0, large: 0 };
  const folders = new Set();
  const files = {};
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (const entry of entries) {
    if (ignored(entry.path)) folders.add(ignoredFolder(entry.path));
    else if (entry.size > MAX_FILE_BYTES) skipped.large++;
    else {
      try {
        files[entry.path] = utf8.decode(await entry.bytes());
      } catch {
        skipped.binary++;
      }
    }
  }
  skipped.folders = folders.size;
  return { files, skipped };
}

const fromFile = (file, path) => ({ path, size: file.size, bytes: async () => new Uint8Array(await file.arrayBuffer()) });

/** The entries of a .zip, .tar.gz or .tar file. */
async function archiveEntries(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (/\.zip$/i.test(file.name)) {
    // The filter runs before inflating: files that would be skipped cost nothing, yet are counted.
    const skippedEarly = [];
    const unzipped = unzipSync(bytes, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false;
        if (!ignored(f.name) && f.originalSize <= MAX_FILE_BYTES) return true;
        skippedEarly.push({ path: f.name, size: f.originalSize, bytes: async () => new Uint8Array() });
        return false;
      },
    });
    return [...skippedEarly, ...Object.entries(unzipped).map(([path, data]) => ({ path, size: data.length, bytes: async () => data }))];
  }
  const tar = /\.tar$/i.test(file.name) ? bytes : gunzipSync(bytes);
  return [...readTar(tar)].map(({ path, bytes: data }) => ({ path, size: data.length, bytes: async () => data }));
}

/** Entries of the files picked with <input type=file webkitdirectory> (or one archive). */
export async function entriesFromInput(fileList) {
  const list = [...fileList];
  if (list.length === 1 && !list[0].webkitRelativePath && isArchive(list[0].name)) return archiveEntries(list[0]);
  return list.map((file) => fromFile(file, file.webkitRelativePath || file.name));
}

/** Walks a FileSystemDirectoryEntry (drag and drop), skipping ignored folders without reading them. */
async function walk(entry, prefix, out) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push(fromFile(file, path));
    return;
  }
  if (IGNORED_FOLDERS.has(entry.name)) {
    out.push({ path: `${path}/`, size: 0, bytes: async () => new Uint8Array() }); // counted, not read
    return;
  }
  const reader = entry.createReader();
  // readEntries answers in batches (100 in Chromium) until it returns an empty one.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) await walk(child, path, out);
  }
}

/** Entries of a drop: folders (walked), archives (unpacked) and loose files. */
export async function entriesFromDrop(dataTransfer) {
  // Entries must be taken synchronously: the DataTransfer is emptied after the event.
  const dropped = [...dataTransfer.items].filter((item) => item.kind === 'file')
    .map((item) => ({ entry: item.webkitGetAsEntry?.(), file: item.getAsFile() }));
  const out = [];
  for (const { entry, file } of dropped) {
    if (entry?.isDirectory) await walk(entry, '', out);
    else if (file && isArchive(file.name) && dropped.length === 1) out.push(...await archiveEntries(file));
    else if (file) out.push(fromFile(file, file.name));
  }
  return out;
}

/** Removes a leading folder from every path; paths outside it are dropped. */
function under(files, folder) {
  if (!folder) return files;
  const out = {};
  for (const [path, text] of Object.entries(files)) {
    if (path.startsWith(`${folder}/`)) out[path.slice(folder.length + 1)] = text;
  }
  return out;
}

const depth = (path) => path.split('/').length;
const dirname = (path) => path.slice(0, Math.max(0, path.lastIndexOf('/')));

/**
 * A package: its root is the folder of the shallowest kurtosis.yml, so `repo-main/` or the
 * picked folder's own name is stripped. Without a kurtosis.yml everything is kept, and the
 * caller says so.
 */
export async function openPackage(entries) {
  const { files, skipped } = await decode(entries);
  const manifest = Object.keys(files).filter((p) => p === 'kurtosis.yml' || p.endsWith('/kurtosis.yml'))
    .sort((a, b) => depth(a) - depth(b))[0];
  const root = manifest ? dirname(manifest) : commonFolder(Object.keys(files));
  const rooted = under(files, root);
  return { files: rooted, skipped, outside: Object.keys(files).length - Object.keys(rooted).length, hasManifest: Boolean(manifest) };
}

/** Dependencies: the root is the folder that holds `github.com/`. */
export async function openDependencies(entries) {
  const { files, skipped } = await decode(entries);
  const hosts = Object.keys(files).map((p) => p.split('/')).filter((parts) => parts.includes('github.com'))
    .map((parts) => parts.slice(0, parts.indexOf('github.com')).join('/'))
    .sort((a, b) => a.length - b.length);
  const rooted = hosts.length ? under(files, hosts[0]) : {};
  const kept = Object.fromEntries(Object.entries(rooted).filter(([path]) => path.startsWith('github.com/')));
  return { files: kept, skipped, outside: Object.keys(files).length - Object.keys(kept).length };
}

/** The one folder every path starts with, if there is one. */
function commonFolder(paths) {
  const first = paths[0]?.split('/')[0];
  return paths.length && paths.every((p) => p.includes('/') && p.split('/')[0] === first) ? first : '';
}

/** "skipped 2 binary, 1 over 1 MiB" — or '' when nothing was left out. */
export function describeSkipped({ skipped, outside }) {
  const parts = [
    skipped.binary && `${skipped.binary} binary`,
    skipped.large && `${skipped.large} over ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
    outside && `${outside} outside the package root`,
    skipped.folders && `${skipped.folders} .git or node_modules folder(s)`,
  ].filter(Boolean);
  return parts.length ? `skipped ${parts.join(', ')}` : '';
}

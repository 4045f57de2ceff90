// A reader of tar archives (POSIX ustar, GNU and pax headers) that yields the regular files with
// their full paths. Written here because the small tar libraries on npm ignore ustar's name prefix
// field, which `git archive` (and so every GitHub tarball) uses for paths over 100 bytes.

const BLOCK = 512;
const decoder = new TextDecoder();

/** A NUL-terminated string field of a header. */
function text(bytes, offset, length) {
  const raw = bytes.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
}

/** An octal number field; a base-256 one (files of 8 GiB and more) reads as Infinity. */
function octal(bytes, offset, length) {
  if (bytes[offset] & 0x80) return Infinity;
  return Number.parseInt(text(bytes, offset, length).trim() || '0', 8);
}

/** The `path` record of a pax extended header ("<length> <key>=<value>\n" records), if any. */
function paxPath(data) {
  let path = null;
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number.parseInt(decoder.decode(data.subarray(at, space)), 10);
    if (!(length > 0)) break;
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const equals = record.indexOf('=');
    if (record.slice(0, equals) === 'path') path = record.slice(equals + 1);
    at += length;
  }
  return path;
}

/** Yields {path, bytes} for each regular file of an uncompressed tar archive. */
export function* readTar(bytes) {
  let longName = null; // from a pax 'x' or GNU 'L' header, for the next entry only
  for (let offset = 0; offset + BLOCK <= bytes.length;) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // the end-of-archive blocks
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size)) throw new Error(`the tar entry "${text(header, 0, 100)}" is too large to open here`);
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    const data = bytes.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'g' || type === 'K') continue; // global pax header, GNU long link name
    // Only POSIX ustar ("ustar\0") has the prefix; old GNU headers keep times in those bytes.
    const prefix = text(header, 257, 6) === 'ustar' ? text(header, 345, 155) : '';
    const name = text(header, 0, 100);
    const path = longName ?? (prefix ? `${prefix}/${name}` : name);
    longName = null;
    if (type === '0' || type === '7') yield { path, bytes: data };
  }
}

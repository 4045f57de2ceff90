#!/usr/bin/env node
// Where the WebAssembly module's size goes: the bytes of code per crate (from the function names
// the cargo output still carries, before wasm-bindgen and wasm-opt strip them), the data
// section, and the biggest functions. A crate's share counts its generic code wherever it is
// instantiated: `<serde_json::Value as Deserializer>::deserialize_struct` for an lsp-types
// struct counts as serde_json. Compare two builds to see what a change costs.
//
//   scripts/build-wasm.sh && node scripts/wasm-size.mjs
//   node scripts/wasm-size.mjs path/to/starflake.wasm [--top 30]
//
// Plain Node, no dependencies.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 20;
const file = args[0] ?? join(root, 'target/wasm32-unknown-unknown/wasm-release/starflake.wasm');
if (!existsSync(file)) {
  console.error(`error: ${file} is missing; run scripts/build-wasm.sh first`);
  process.exit(2);
}

/** The function body sizes, the function names and the data size of a module. */
function read(bytes) {
  let at = 8; // magic and version
  const leb = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const skipLimits = () => {
    const flags = bytes[at++];
    leb();
    if (flags & 1) leb();
  };
  let imported = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {
      // Imported functions come first in the function index space.
      for (let count = leb(); count > 0; count--) {
        for (const _ of ['module', 'name']) {
          const length = leb();
          at += length;
        }
        const kind = bytes[at++];
        if (kind === 0) {
          leb();
          imported++;
        } else if (kind === 1) {
          at++; // element type
          skipLimits();
        } else if (kind === 2) {
          skipLimits();
        } else if (kind === 3) {
          at += 2; // value type, mutability
        }
      }
    } else if (id === 10) {
      for (let count = leb(); count > 0; count--) {
        const body = leb();
        bodies.push(body);
        at += body;
      }
    } else if (id === 11) {
      data = size;
    } else if (id === 0) {
      const sectionNameLength = leb();
      const section = bytes.subarray(at, at + sectionNameLength).toString();
      at += sectionNameLength;
      while (section === 'name' && at < end) {
        const subsection = bytes[at++];
        const length = leb();
        const subsectionEnd = at + length;
        if (subsection === 1) {
          for (let count = leb(); count > 0; count--) {
            const index = leb();
            const nameLength = leb();
            names.set(index, bytes.subarray(at, at + nameLength).toString());
            at += nameLength;
          }
        }
        at = subsectionEnd;
      }
    }
    at = end;
  }
  return { functions: bodies.map((size, index) => ({ size, name: names.get(index + imported) ?? '?' })), data };
}

/** A Rust symbol (legacy `_ZN` mangling, or already readable) as a path. */
function demangle(name) {
  if (!name.startsWith('_ZN')) return name;
  const parts = [];
  let at = 3;
  while (/\d/.test(name[at] ?? '')) {
    let length = '';
    while (/\d/.test(name[at])) length += name[at++];
    parts.push(name.slice(at, at + Number(length)));
    at += Number(length);
  }
  const escapes = { $LT$: '<', $GT$: '>', $u20$: ' ', $RF$: '&', $BP$: '*', $C$: ',', '..': '::' };
  return parts
    .slice(0, -1) // the hash
    .join('::')
    .replace(/\$LT\$|\$GT\$|\$u20\$|\$RF\$|\$BP\$|\$C\$|\.\./g, (escape) => escapes[escape]);
}

/** The crate a function belongs to: the first path segment, or the type of an `impl`. */
function crateOf(path) {
  const start = path.replace(/^_?[<&* ]+/, '').replace(/^(mut|dyn|const) /, '');
  if (start.startsWith('_R')) {
    // v0 mangling: the first crate name is the first `<digits><name>` after `Cs<hash>_`.
    return start.match(/Cs[0-9a-zA-Z]*_\d+([a-z_][a-z0-9_]*)/)?.[1] ?? '?';
  }
  return start.match(/^[A-Za-z_][A-Za-z0-9_]*/)?.[0] ?? '?';
}

const { functions, data } = read(readFileSync(file));
const code = functions.reduce((sum, { size }) => sum + size, 0);
const byCrate = new Map();
for (const { size, name } of functions) {
  const crate = crateOf(demangle(name));
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + size);
}
const kb = (bytes) => `${(bytes / 1000).toFixed(1).padStart(8)} KB`;
const share = (bytes) => `${((100 * bytes) / code).toFixed(1).padStart(5)}%`;
console.log(`${file}\ncode ${kb(code)} in ${functions.length} functions, data ${kb(data)}\n`);
console.log('code by crate:');
for (const [crate, size] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${kb(size)} ${share(size)}  ${crate}`);
}
console.log('\nbiggest functions:');
for (const { size, name } of [...functions].sort((a, b) => b.size - a.size).slice(0, top)) {
  console.log(`${kb(size)}  ${demangle(name).slice(0, 110)}`);
}

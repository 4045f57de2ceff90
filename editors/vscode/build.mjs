// Bundles the extension with esbuild into dist/: the desktop extension and its Node server
// (which carries the WebAssembly server from ../../pkg), and the browser extension with its
// Web Worker server. pkg/ must be built first (scripts/build-wasm.sh).
//
//   node build.mjs            # minified, for the .vsix
//   node build.mjs --dev      # with source maps

import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, rmSync } from 'node:fs';

const dev = process.argv.includes('--dev');
const wasm = new URL('../../pkg/starflake_bg.wasm', import.meta.url);
if (!existsSync(wasm)) {
  console.error('error: ../../pkg/starflake_bg.wasm is missing; run scripts/build-wasm.sh first');
  process.exit(1);
}

rmSync('dist', { recursive: true, force: true });
const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev,
  target: 'es2022',
  external: ['vscode'],
  logLevel: 'warning',
  // The wasm-bindgen glue falls back to `import.meta.url` only when `init()` gets no module;
  // both servers always pass one.
  define: { 'import.meta.url': 'undefined' },
};
await Promise.all([
  esbuild.build({ ...common, platform: 'node', format: 'cjs', entryPoints: { extension: 'src/extension.ts', server: 'server/node.ts' }, outdir: 'dist' }),
  esbuild.build({ ...common, platform: 'browser', format: 'cjs', entryPoints: { extension: 'src/web/extension.ts' }, outdir: 'dist/web' }),
  esbuild.build({ ...common, platform: 'browser', format: 'iife', entryPoints: { server: 'server/browser.ts' }, outdir: 'dist/web' }),
]);
// One copy for both servers: the Web Worker fetches it from dist/ too.
copyFileSync(wasm, 'dist/starflake_bg.wasm');
console.log(`built dist/ (${dev ? 'development' : 'minified'})`);

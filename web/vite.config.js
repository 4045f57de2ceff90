import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  // Relative asset URLs: the built playground works from any path (or a file server subfolder).
  base: './',
  resolve: {
    alias: { starflake: fileURLToPath(new URL('../pkg/starflake.js', import.meta.url)) },
  },
  // pkg/ lives outside web/: let the dev server read it.
  server: { fs: { allow: ['..'] } },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The wasm module is ~3 MB; it is one file on purpose.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});

// The checker runs here, off the main thread: typing never waits for a check, and the page can
// terminate() this worker when a check runs away past the module's own deadline.
import init, { Workspace } from 'starflake';
import { budgetMs } from './checker.js';

// Dependencies are mounted under this folder of the file map, given as the `packagesDir` option.
// A leading dot and a name no package uses keep it apart from the package's own files.
const PACKAGES_DIR = '.starflake-packages';

let workspace = null;
let workspaceKey = null;

// One Workspace per args text, budget and with or without dependencies: those are Workspace
// options, the files are per check. The budget (the checker's budgetMs) ends a check with SF004;
// the main thread's hard stop is only for what that cannot interrupt.
function workspaceFor(args, withPackages, timeoutMs) {
  const trimmed = args.trim();
  const key = JSON.stringify([trimmed, withPackages, timeoutMs]);
  if (workspace && workspaceKey === key) return workspace;
  workspace?.free();
  workspace = new Workspace({
    positionEncoding: 'utf-16',
    timeoutMs,
    ...(trimmed ? { args: trimmed, argsOrigin: 'args' } : {}),
    ...(withPackages ? { packagesDir: PACKAGES_DIR } : {}),
  });
  workspaceKey = key;
  return workspace;
}

function withDependencies(files, deps) {
  const all = { ...files };
  for (const [path, text] of Object.entries(deps)) all[`${PACKAGES_DIR}/${path}`] = text;
  return all;
}

async function start() {
  try {
    await init({ module_or_path: new URL('../../pkg/starflake_bg.wasm', import.meta.url) });
    // Warm-up: the first check is slower while the engine compiles the hot paths.
    const files = { 'kurtosis.yml': 'name: github.com/warm/up\n', 'main.star': 'def run(plan):\n    pass\n' };
    workspaceFor('', false, budgetMs(files)).analyze(files);
    postMessage({
      type: 'ready',
      version: Workspace.version(),
      rules: Workspace.rules(),
      builtins: Workspace.builtins(),
    });
  } catch (error) {
    postMessage({ type: 'fatal', message: String(error?.message ?? error) });
  }
}

self.onmessage = ({ data }) => {
  if (data.type !== 'check') return;
  const started = performance.now();
  try {
    const withPackages = Object.keys(data.deps).length > 0;
    const files = withPackages ? withDependencies(data.files, data.deps) : data.files;
    const analysis = workspaceFor(data.args ?? '', withPackages, data.timeoutMs).analyze(files);
    postMessage({ type: 'result', id: data.id, analysis, ms: performance.now() - started });
  } catch (error) {
    // pkg/ turns a trap of the module into an SF900 diagnostic on a fresh instance; a trap that
    // still escapes (the fresh instance failing too) leaves the worker to be replaced.
    const trapped = error instanceof WebAssembly.RuntimeError;
    postMessage({ type: 'failed', id: data.id, trapped, message: String(error?.message ?? error) });
  }
};

start();

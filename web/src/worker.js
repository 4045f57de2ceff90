// The checker runs here, off the main thread: typing never waits for a check, and the page can
// terminate() this worker when a check runs away past the module's own deadline.
import init, { Workspace } from 'starflake';

// The module's own budget per check; past it the check ends with an SF004 diagnostic. The main
// thread's hard stop (a few seconds) is only for what this cannot interrupt.
const TIMEOUT_MS = 1000;

// Dependencies are mounted under this folder of the file map, given as the `packagesDir` option.
// A leading dot and a name no package uses keep it apart from the package's own files.
const PACKAGES_DIR = '.starflake-packages';

let workspace = null;
let workspaceKey = null;

// One Workspace per args text (and per with or without dependencies): those are Workspace
// options, the files are per check.
function workspaceFor(args, withPackages) {
  const trimmed = args.trim();
  const key = JSON.stringify([trimmed, withPackages]);
  if (workspace && workspaceKey === key) return workspace;
  workspace?.free();
  workspace = new Workspace({
    positionEncoding: 'utf-16',
    timeoutMs: TIMEOUT_MS,
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
    workspaceFor('', false).analyze({ 'kurtosis.yml': 'name: github.com/warm/up\n', 'main.star': 'def run(plan):\n    pass\n' });
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
    const analysis = workspaceFor(data.args ?? '', withPackages).analyze(files);
    postMessage({ type: 'result', id: data.id, analysis, ms: performance.now() - started });
  } catch (error) {
    // A trap ("unreachable") leaves the instance unusable: the main thread restarts the worker.
    const trapped = error instanceof WebAssembly.RuntimeError;
    postMessage({ type: 'failed', id: data.id, trapped, message: String(error?.message ?? error) });
  }
};

start();

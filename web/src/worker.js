// The checker runs here, off the main thread: typing never waits for a check, and the page can
// terminate() this worker when a check runs away past the module's own deadline.
import init, { Workspace } from 'starflake';

// The module's own budget per check; past it the check ends with an SF004 diagnostic. The main
// thread's hard stop (a few seconds) is only for what this cannot interrupt.
const TIMEOUT_MS = 1000;

let workspace = null;
let workspaceArgs = null;

// One Workspace per args text: args are a Workspace option, everything else is per check.
function workspaceFor(args) {
  const key = args.trim();
  if (workspace && workspaceArgs === key) return workspace;
  workspace?.free();
  workspace = new Workspace({
    positionEncoding: 'utf-16',
    timeoutMs: TIMEOUT_MS,
    ...(key ? { args: key, argsOrigin: 'args' } : {}),
  });
  workspaceArgs = key;
  return workspace;
}

async function start() {
  try {
    await init({ module_or_path: new URL('../../pkg/starflake_bg.wasm', import.meta.url) });
    // Warm-up: the first check is slower while the engine compiles the hot paths.
    workspaceFor('').analyze({ 'kurtosis.yml': 'name: github.com/warm/up\n', 'main.star': 'def run(plan):\n    pass\n' });
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
    const analysis = workspaceFor(data.args ?? '').analyze(data.files);
    postMessage({ type: 'result', id: data.id, analysis, ms: performance.now() - started });
  } catch (error) {
    // A trap ("unreachable") leaves the instance unusable: the main thread restarts the worker.
    const trapped = error instanceof WebAssembly.RuntimeError;
    postMessage({ type: 'failed', id: data.id, trapped, message: String(error?.message ?? error) });
  }
};

start();

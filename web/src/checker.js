// Runs checks in a module worker: one check at a time, the newest input wins, and a check that
// outlives the hard stop gets its worker terminated and replaced.

export const HARD_STOP_MS = Number(new URLSearchParams(location.search).get('hardStopMs')) || 3000;

// The module's own budget per check (past it the check ends with SF004). A first check of a large
// package parses all of it (ethereum-package, 800 KB of Starlark, took 0.75 to 1.2 s here), so
// the budget grows by 500 ms per whole 250 KB of Starlark: a keystroke seldom changes it (a change
// makes a new Workspace, which loses the parse cache), and small packages keep 1 s.
const BASE_BUDGET_MS = 1000;
const BUDGET_STEP_MS = 500;
const BUDGET_STEP_CHARS = 250 * 1024;

export function budgetMs(files) {
  let chars = 0;
  for (const [path, text] of Object.entries(files)) if (path.endsWith('.star')) chars += text.length;
  return BASE_BUDGET_MS + Math.floor(chars / BUDGET_STEP_CHARS) * BUDGET_STEP_MS;
}

export class Checker {
  /**
   * onReady({version, rules, builtins}), onResult({analysis, ms, input}),
   * onStopped({input, reason, message}), onBusy(bool)
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.pending = null; // the newest input not yet sent
    this.running = null; // {id, input, timer}
    this.nextId = 1;
    this.ready = false;
    this.spawn();
  }

  spawn() {
    this.ready = false;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'starflake-checker' });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      const message = event.message || 'the checker worker failed';
      // A worker that never got ready would fail again: report it instead of looping.
      if (!this.ready) this.handlers.onStopped?.({ input: null, reason: 'fatal', message });
      else this.restart('crashed', message);
    };
  }

  /** Queues a check of {files, args}; a newer call replaces an older one still waiting. */
  check(input) {
    this.pending = input;
    this.pump();
  }

  pump() {
    if (!this.ready || this.running || !this.pending) return;
    const input = this.pending;
    this.pending = null;
    const id = this.nextId++;
    const budget = budgetMs(input.files);
    const timer = setTimeout(() => this.restart('timeout'), HARD_STOP_MS + budget - BASE_BUDGET_MS);
    this.running = { id, input, timer };
    this.handlers.onBusy?.(true);
    this.worker.postMessage({ type: 'check', id, files: input.files, args: input.args, deps: input.deps ?? {}, timeoutMs: budget });
  }

  receive(data) {
    if (data.type === 'ready') {
      this.ready = true;
      this.handlers.onReady?.(data);
      this.pump();
      return;
    }
    if (data.type === 'fatal') {
      this.handlers.onStopped?.({ input: null, reason: 'fatal', message: data.message });
      return;
    }
    const running = this.running;
    if (!running || running.id !== data.id) return;
    clearTimeout(running.timer);
    this.running = null;
    if (data.type === 'result') {
      this.handlers.onResult?.({ analysis: data.analysis, ms: data.ms, input: running.input });
    } else if (data.trapped) {
      this.running = running; // restart() reports it with its input
      this.restart('crashed', data.message);
      return;
    } else {
      this.handlers.onStopped?.({ input: running.input, reason: 'failed', message: data.message });
    }
    if (!this.pending) this.handlers.onBusy?.(false);
    this.pump();
  }

  /** Hard stop: throw the worker away (with whatever it is stuck in) and start a fresh one. */
  restart(reason, message = '') {
    const running = this.running;
    if (running) clearTimeout(running.timer);
    this.running = null;
    this.worker.terminate();
    this.handlers.onStopped?.({ input: running?.input ?? null, reason, message });
    this.handlers.onBusy?.(Boolean(this.pending));
    this.spawn();
  }
}

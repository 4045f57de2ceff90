// The types of starflake.js: wasm-bindgen's (starflake_bindgen.d.ts, generated from src/wasm.rs)
// and the error an LspServer throws once a trap of the module has taken it down.

export type * from './starflake_bindgen.js';
export { default, initSync, LspServer, Workspace } from './starflake_bindgen.js';

/** Thrown by every call of an LspServer whose WebAssembly instance trapped: the module was
 * restarted, and the server must be made anew (its open documents were lost with it). */
export declare class ModuleRestartedError extends Error {
  /** The trap: a `WebAssembly.RuntimeError`, or a `RangeError` when the stack ran out. */
  readonly cause: unknown;
}

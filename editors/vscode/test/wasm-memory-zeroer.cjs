// Preloaded (`node --require`) into the server process by trap.test.mjs, never shipped: keeps
// every WebAssembly instance the process makes and, on SIGUSR2, overwrites the newest one's
// memory with zeros, as a wild write would, so that the server's next call into it traps.
const instances = [];
const Instance = WebAssembly.Instance;
WebAssembly.Instance = class extends Instance {
  constructor(module, imports) {
    super(module, imports);
    instances.push(this);
  }
};
process.on('SIGUSR2', () => {
  new Uint8Array(instances.at(-1).exports.memory.buffer).fill(0);
  process.stderr.write('test: wasm memory zeroed\n');
});

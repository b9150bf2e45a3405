// The subset of the WebAssembly JS API Maxwell uses (the twin, the WASM runtime and its tests). @types/node 20 does not declare the
// global (it lives in TypeScript's DOM lib, which a Node program should not pull in).
declare namespace WebAssembly {
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- mirrors the JS API's opaque class
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}

/**
 * Fuel metering for WebAssembly agents, injected into the module's binary.
 *
 * The rewriter adds a mutable i64 global `fuel` and an import `maxwell.refuel: [] → [i64]`,
 * and at every function entry and loop header inserts
 *
 *     fuel -= cost; if (fuel < 0) fuel = refuel();
 *
 * where `cost` is the number of instructions the function body or loop body runs straight
 * through (nested loops are charged at their own headers). So fuel counts instructions,
 * approximately, and the host decides in `refuel` whether the agent may go on: pausing an
 * agent is not granting it more. Adding the import shifts every defined function's index by
 * one, so calls, `ref.func`, exports, the start function and element segments are rewritten
 * too; the `name` section, whose indices would be stale, is dropped.
 *
 * Supported: the MVP instruction set, sign extension, saturating truncation, bulk memory and
 * reference types. Modules using SIMD, threads, exceptions or tail calls are refused with
 * `MXW_ERR_AGENT_SPEC` rather than metered wrongly, and so is a module that imports
 * `maxwell.refuel` itself. The module's own imports (`env.*`, the protocol's `maxwell.*`)
 * keep their indices: ours is appended after them.
 */
import { AgentSpecError } from '../../errors.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const WASM_PAGE = 65536;

class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.pos = pos;
  }
  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new AgentSpecError('truncated WebAssembly module');
    return b;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new AgentSpecError('malformed LEB128 in WebAssembly module');
    }
  }
  /** Skips a signed LEB128 of any width. */
  skipLeb(): void {
    while ((this.byte() & 0x80) !== 0) {
      // continuation bytes
    }
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a non-negative integer (for i64.const costs). */
function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const b = v % 128;
    v = Math.floor(v / 128);
    if (v === 0 && (b & 0x40) === 0) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function nameBytes(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...leb(b.length), ...b];
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

interface Context {
  /** Imported functions before ours: indices ≥ this shift by one. */
  readonly importedFuncs: number;
  readonly refuelIndex: number;
  readonly fuelGlobal: number;
}

function shiftFunc(ctx: Context, index: number): number {
  return index >= ctx.importedFuncs ? index + 1 : index;
}

function fuelCheck(ctx: Context, cost: number): number[] {
  return [
    0x23, ...leb(ctx.fuelGlobal), 0x42, ...sleb(cost), 0x7d, 0x24, ...leb(ctx.fuelGlobal),
    0x23, ...leb(ctx.fuelGlobal), 0x42, 0x00, 0x53, 0x04, 0x40, 0x10, ...leb(ctx.refuelIndex), 0x24, ...leb(ctx.fuelGlobal), 0x0b,
  ];
}

function skipBlockType(r: Reader): void {
  const b = r.bytes[r.pos] ?? 0;
  if (b === 0x40 || b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b || b === 0x70 || b === 0x6f) r.pos++;
  else r.skipLeb();
}

function skipMemarg(r: Reader): void {
  r.u32();
  r.u32();
}

interface Instruction {
  /** Bytes to emit (indices already shifted). */
  readonly bytes: number[];
  readonly opcode: number;
}

/**
 * Decodes an instruction sequence up to and including the `end` that closes depth 0,
 * rewriting function indices. Throws for unsupported opcodes.
 */
function decodeBody(r: Reader, ctx: Context): Instruction[] {
  const out: Instruction[] = [];
  let depth = 0;
  for (;;) {
    const start = r.pos;
    const op = r.byte();
    let bytes: number[] | null = null;
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04:
        skipBlockType(r);
        depth++;
        break;
      case 0x0b:
        if (depth === 0) {
          out.push({ opcode: op, bytes: [op] });
          return out;
        }
        depth--;
        break;
      case 0x00: case 0x01: case 0x05: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
        break;
      case 0x0c: case 0x0d: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
        r.u32();
        break;
      case 0x0e: {
        const n = r.u32();
        for (let i = 0; i <= n; i++) r.u32();
        break;
      }
      case 0x10: {
        bytes = [op, ...leb(shiftFunc(ctx, r.u32()))];
        break;
      }
      case 0x11:
        r.u32();
        r.u32();
        break;
      case 0x1c: {
        const n = r.u32();
        r.pos += n;
        break;
      }
      case 0x3f: case 0x40:
        r.u32();
        break;
      case 0x41: case 0x42:
        r.skipLeb();
        break;
      case 0x43:
        r.pos += 4;
        break;
      case 0x44:
        r.pos += 8;
        break;
      case 0xd0:
        r.byte();
        break;
      case 0xd2:
        bytes = [op, ...leb(shiftFunc(ctx, r.u32()))];
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break;
        if (sub === 8 || sub === 12 || sub === 14) {
          r.u32();
          r.u32();
        } else if (sub === 10) {
          r.u32();
          r.u32();
        } else if (sub === 9 || sub === 11 || sub === 13 || sub === 15 || sub === 16 || sub === 17) {
          r.u32();
        } else {
          throw new AgentSpecError(`unsupported WebAssembly instruction 0xfc ${sub}`);
        }
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          skipMemarg(r);
          break;
        }
        if (op >= 0x45 && op <= 0xc4) break;
        throw new AgentSpecError(
          `unsupported WebAssembly opcode 0x${op.toString(16)} (SIMD, threads, exceptions and tail calls cannot be metered yet)`,
        );
    }
    out.push({ opcode: op, bytes: bytes ?? Array.from(r.bytes.subarray(start, r.pos)) });
  }
}

/** Emits a body with fuel checks at entry and after each loop header. */
function meterBody(instructions: readonly Instruction[], ctx: Context): number[] {
  // Pass 1: instruction counts charged to each loop (or the function, frame 0).
  const costs = new Map<number, number>([[-1, 0]]);
  const frames: number[] = [-1]; // -1: the function; else the index of a loop instruction
  const kinds: ('loop' | 'block')[] = [];
  instructions.forEach((ins, i) => {
    const owner = frames[frames.length - 1] ?? -1;
    costs.set(owner, (costs.get(owner) ?? 0) + 1);
    if (ins.opcode === 0x03) {
      frames.push(i);
      costs.set(i, 0);
      kinds.push('loop');
    } else if (ins.opcode === 0x02 || ins.opcode === 0x04) {
      kinds.push('block');
    } else if (ins.opcode === 0x0b && kinds.length > 0) {
      if (kinds.pop() === 'loop') frames.pop();
    }
  });
  // Pass 2: emit.
  const out = fuelCheck(ctx, Math.max(1, costs.get(-1) ?? 1));
  instructions.forEach((ins, i) => {
    out.push(...ins.bytes);
    if (ins.opcode === 0x03) out.push(...fuelCheck(ctx, Math.max(1, costs.get(i) ?? 1)));
  });
  return out;
}

/** Rewrites a constant expression (global init, element offset or item), shifting ref.func. */
function rewriteConstExpr(r: Reader, ctx: Context): number[] {
  return decodeBody(r, ctx).flatMap((i) => i.bytes);
}

/** A WebAssembly value type, by its text-format name. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

const VALUE_TYPES: Readonly<Record<number, WasmValueType>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/** One import of a module, with its signature when it is a function. */
export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  /** `function`, or the kind of a non-function import. */
  readonly kind: 'function' | 'table' | 'memory' | 'global';
  /** Parameter and result types (functions only; empty for the others). */
  readonly params: readonly WasmValueType[];
  readonly results: readonly WasmValueType[];
}

function valueTypes(r: Reader): WasmValueType[] {
  const n = r.u32();
  const out: WasmValueType[] = [];
  for (let i = 0; i < n; i++) {
    const code = r.byte();
    const type = VALUE_TYPES[code];
    if (type === undefined) throw new AgentSpecError(`unknown WebAssembly value type 0x${code.toString(16)}`);
    out.push(type);
  }
  return out;
}

/**
 * Lists a module's imports with function signatures, which `WebAssembly.Module.imports` does
 * not give: the runtime checks its host functions' signatures against them before it starts a
 * worker, so that a mismatch is a spec error, not a trap deep in a call.
 * Throws `MXW_ERR_AGENT_SPEC` for a malformed module.
 */
export function listImports(module: Uint8Array): ModuleImport[] {
  if (!MAGIC.every((b, i) => module[i] === b)) throw new AgentSpecError('not a WebAssembly module (bad magic or version)');
  const r = new Reader(module, 8);
  const types: { params: WasmValueType[]; results: WasmValueType[] }[] = [];
  const imports: ModuleImport[] = [];
  while (r.pos < module.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        if (r.byte() !== 0x60) throw new AgentSpecError('malformed WebAssembly type section');
        types.push({ params: valueTypes(r), results: valueTypes(r) });
      }
    } else if (id === 2) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const moduleName = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) {
          const type = types[r.u32()];
          if (type === undefined) throw new AgentSpecError(`import ${moduleName}.${name}: unknown type index`);
          imports.push({ module: moduleName, name, kind: 'function', ...type });
        } else if (kind === 1 || kind === 2) {
          if (kind === 1) r.byte();
          const flags = r.u32();
          r.u32();
          if ((flags & 1) !== 0) r.u32();
          imports.push({ module: moduleName, name, kind: kind === 1 ? 'table' : 'memory', params: [], results: [] });
        } else if (kind === 3) {
          r.byte();
          r.byte();
          imports.push({ module: moduleName, name, kind: 'global', params: [], results: [] });
        } else {
          throw new AgentSpecError(`unsupported import kind ${kind}`);
        }
      }
      // The import section follows the type section; nothing after it matters here.
      return imports;
    }
    r.pos = end;
  }
  return imports;
}

export interface MeterOptions {
  /** Cap on linear memory, bytes: the module's declared maximum is lowered to it. */
  readonly memoryLimitBytes?: number;
}

/** Instruments `module` for fuel metering. Throws `MXW_ERR_AGENT_SPEC` for what it cannot meter. */
export function meterModule(module: Uint8Array, options: MeterOptions = {}): Uint8Array {
  if (!MAGIC.every((b, i) => module[i] === b)) throw new AgentSpecError('not a WebAssembly module (bad magic or version)');
  const r = new Reader(module, 8);
  const sections: { id: number; content: Uint8Array }[] = [];
  while (r.pos < module.length) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, content: module.subarray(r.pos, r.pos + size) });
    r.pos += size;
  }
  const find = (id: number) => sections.find((s) => s.id === id);
  for (const s of sections) {
    if (s.id > 12) throw new AgentSpecError(`unsupported WebAssembly section ${s.id} (exceptions or other proposals cannot be metered yet)`);
  }

  // Counts before our additions.
  let typeCount = 0;
  const typeSection = find(1);
  if (typeSection !== undefined) typeCount = new Reader(typeSection.content).u32();
  let importedFuncs = 0;
  let importedGlobals = 0;
  const importEntries: number[][] = [];
  const importSection = find(2);
  if (importSection !== undefined) {
    const ir = new Reader(importSection.content);
    const n = ir.u32();
    for (let i = 0; i < n; i++) {
      const start = ir.pos;
      const moduleName = ir.name();
      const importName = ir.name();
      const kind = ir.byte();
      // Our own import is appended below; a module that imports the name itself would get it
      // with whatever signature it declared.
      if (moduleName === 'maxwell' && importName === 'refuel') throw new AgentSpecError('the import maxwell.refuel is reserved for fuel metering');
      if (kind === 0) {
        ir.u32();
        importedFuncs++;
      } else if (kind === 1) {
        ir.byte();
        const flags = ir.u32();
        ir.u32();
        if ((flags & 1) !== 0) ir.u32();
      } else if (kind === 2) {
        const flags = ir.u32();
        ir.u32();
        if ((flags & 1) !== 0) ir.u32();
      } else if (kind === 3) {
        ir.byte();
        ir.byte();
        importedGlobals++;
      } else {
        throw new AgentSpecError(`unsupported import kind ${kind}`);
      }
      importEntries.push(Array.from(importSection.content.subarray(start, ir.pos)));
    }
  }
  let definedGlobals = 0;
  const globalSection = find(6);
  if (globalSection !== undefined) definedGlobals = new Reader(globalSection.content).u32();
  const ctx: Context = { importedFuncs, refuelIndex: importedFuncs, fuelGlobal: importedGlobals + definedGlobals };

  const out: number[] = [...MAGIC];
  const emitted = new Set<number>();
  const emit = (id: number, content: number[]): void => {
    out.push(...section(id, content));
    emitted.add(id);
  };
  // Sections in their required order; ids 1, 2 and 6 always exist afterwards.
  const order = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11];
  for (const id of order) {
    const s = find(id);
    const content = s === undefined ? undefined : s.content;
    switch (id) {
      case 1: {
        const body = content === undefined ? [] : Array.from(content.subarray(new Reader(content).pos + leb(typeCount).length));
        emit(1, [...leb(typeCount + 1), ...body, 0x60, 0x00, 0x01, 0x7e]);
        break;
      }
      case 2:
        emit(2, [...leb(importEntries.length + 1), ...importEntries.flat(), ...nameBytes('maxwell'), ...nameBytes('refuel'), 0x00, ...leb(typeCount)]);
        break;
      case 5: {
        if (content === undefined) break;
        const mr = new Reader(content);
        const n = mr.u32();
        const memories: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const flags = mr.u32();
          const min = mr.u32();
          let max = (flags & 1) !== 0 ? mr.u32() : undefined;
          if (options.memoryLimitBytes !== undefined) {
            const capPages = Math.max(min, Math.floor(options.memoryLimitBytes / WASM_PAGE));
            if (min * WASM_PAGE > options.memoryLimitBytes) throw new AgentSpecError(`the module needs ${min} pages at start, above the memory cap`);
            max = max === undefined ? capPages : Math.min(max, capPages);
          }
          memories.push(...(max === undefined ? [0x00, ...leb(min)] : [0x01, ...leb(min), ...leb(max)]));
        }
        emit(5, memories);
        break;
      }
      case 6: {
        const gr = content === undefined ? undefined : new Reader(content);
        const globals: number[] = [];
        if (gr !== undefined) {
          const n = gr.u32();
          for (let i = 0; i < n; i++) {
            globals.push(gr.byte(), gr.byte());
            globals.push(...rewriteConstExpr(gr, ctx));
          }
        }
        emit(6, [...leb(definedGlobals + 1), ...globals, 0x7e, 0x01, 0x42, 0x00, 0x0b]);
        break;
      }
      case 7: {
        if (content === undefined) break;
        const er = new Reader(content);
        const n = er.u32();
        const exports: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const name = er.name();
          const kind = er.byte();
          const index = er.u32();
          exports.push(...nameBytes(name), kind, ...leb(kind === 0 ? shiftFunc(ctx, index) : index));
        }
        emit(7, exports);
        break;
      }
      case 8:
        if (content !== undefined) emit(8, leb(shiftFunc(ctx, new Reader(content).u32())));
        break;
      case 9: {
        if (content === undefined) break;
        const el = new Reader(content);
        const n = el.u32();
        const segments: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const flags = el.u32();
          segments.push(...leb(flags));
          if (flags === 2 || flags === 6) segments.push(...leb(el.u32()));
          if ((flags & 1) === 0) segments.push(...rewriteConstExpr(el, ctx));
          if ((flags & 3) !== 0) segments.push(el.byte());
          const count = el.u32();
          segments.push(...leb(count));
          for (let k = 0; k < count; k++) {
            if ((flags & 4) === 0) segments.push(...leb(shiftFunc(ctx, el.u32())));
            else segments.push(...rewriteConstExpr(el, ctx));
          }
        }
        emit(9, segments);
        break;
      }
      case 10: {
        if (content === undefined) break;
        const cr = new Reader(content);
        const n = cr.u32();
        const bodies: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const size = cr.u32();
          const end = cr.pos + size;
          const localsStart = cr.pos;
          const groups = cr.u32();
          for (let g = 0; g < groups; g++) {
            cr.u32();
            cr.byte();
          }
          const locals = Array.from(content.subarray(localsStart, cr.pos));
          const body = meterBody(decodeBody(cr, ctx), ctx);
          if (cr.pos !== end) throw new AgentSpecError(`function ${i}: body size mismatch`);
          const fn = [...locals, ...body];
          bodies.push(...leb(fn.length), ...fn);
        }
        emit(10, bodies);
        break;
      }
      default:
        if (content !== undefined) emit(id, Array.from(content));
    }
  }
  // Custom sections (id 0) are kept, except `name`, whose function indices are now stale.
  for (const s of sections) {
    if (s.id !== 0) continue;
    if (new Reader(s.content).name() === 'name') continue;
    out.push(...section(0, Array.from(s.content)));
  }
  return Uint8Array.from(out);
}

/**
 * Property-based fuzz targets for what Maxwell reads from outside (docs/RELIABILITY.md):
 * the agent protocol's frame decoder and message validation, the fleet's envelopes and messages,
 * the configuration loader, and the /proc and sysfs parsers. Each target turns one generated input
 * into an outcome label: `accepted`, or the stable code or reason it was refused with. Anything
 * else it throws is a bug, and fast-check shrinks it to a small counterexample.
 *
 * `npm run bench -- --only=fuzz` runs each target a million times; test/unit/fuzz.test.ts runs
 * each a few thousand times with a fixed seed, so the suite stays fast and repeatable. The control
 * API's target (fuzz-api.ts) answers through a promise: {@link AsyncFuzzTarget}, run by {@link fuzzAsync}.
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { configKeyPaths, configFromAssignments, loadConfig } from '../src/config/load.js';
import { isMaxwellError } from '../src/errors.js';
import { EnvelopeCodec, fleetIdentity } from '../src/fleet/envelope.js';
import { parseFleetMessage, type FleetMessage } from '../src/fleet/messages.js';
import { FrameDecoder, encodeFrame, parseFrameBody } from '../src/protocol/frames.js';
import { parseAgentMessage, parseHello } from '../src/protocol/messages.js';
import { createCpuTicks, parseProcStat } from '../src/telemetry/procfs/proc-stat.js';
import { parseLeadingInt } from '../src/telemetry/sysfs/attribute.js';

export interface FuzzTarget {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<unknown>;
  /** The outcome of one input; throws only on a bug. */
  run(input: unknown): string;
}

/** A refusal by a coded Maxwell error is an outcome; any other exception is a bug and is rethrown. */
function coded(run: () => string): string {
  try {
    return run();
  } catch (err) {
    if (isMaxwellError(err)) return err.code;
    throw err;
  }
}

const AGENT_TYPES = ['hello', 'bid', 'work', 'claim', 'ping', 'reveal', 'serve', 'token'];
const FLEET_TYPES = ['ping', 'ack', 'nack', 'ping-req', 'gossip', 'sync', 'push-sum'];

/** Objects shaped like messages (a known type and random fields) beside arbitrary JSON. */
function messageLike(types: readonly string[], key: string): fc.Arbitrary<unknown> {
  const typed = fc
    .tuple(fc.constantFrom(...types), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }))
    .map(([type, fields]) => ({ ...fields, [key]: type }));
  return fc.oneof(fc.jsonValue({ maxDepth: 4 }), typed);
}

/** Valid fleet messages: a mutation of one of these reaches past the first check. */
const VALID_FLEET: readonly object[] = [
  { t: 'ping', seq: 7, target: 'node-a', u: [{ k: 'suspect', id: 'node-b', inc: 3, from: 'node-a' }] },
  { t: 'ack', seq: 7, u: [{ k: 'dead', id: 'node-c', inc: 1, from: 'node-a' }] },
  { t: 'nack', seq: 9 },
  { t: 'ping-req', seq: 2, target: 'node-b', addr: '10.0.0.2:7946', nack: true, u: [] },
  { t: 'gossip', u: [{ k: 'left', id: 'node-d', inc: 4 }] },
  { t: 'sync', reply: true, u: [] },
  { t: 'push-sum', share: { epoch: 5, s: [0.5, 1, 200], w: 0.5 } },
];

/** One valid message, or one with a field replaced or added with random JSON. */
function mutated(valid: readonly object[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...valid), fc.option(fc.tuple(fc.nat(), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })))).map(([base, change]) => {
    if (change === null) return base;
    const [pick, name, value] = change;
    const keys = Object.keys(base);
    return { ...base, [pick % 2 === 0 ? (keys[pick % keys.length] ?? name) : name]: value };
  });
}

/** Splits `bytes` at the given points (sorted, deduplicated), as a socket might deliver them. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Flips the bytes at the given positions (a corrupt copy). */
function corrupt(bytes: Uint8Array, flips: readonly [number, number][]): Uint8Array {
  const copy = Uint8Array.from(bytes);
  for (const [at, xor] of flips) if (copy.length > 0) copy[at % copy.length] = (copy[at % copy.length] ?? 0) ^ xor;
  return copy;
}

const protocolFrames: FuzzTarget = {
  name: 'agent protocol: frames → messages',
  arbitrary: fc.oneof(
    fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
    fc
      .tuple(fc.array(messageLike(AGENT_TYPES, 'type'), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }))
      .map(([messages, cuts, flips]) => split(corrupt(Buffer.concat(messages.map((m) => encodeFrame(m as object))), flips), cuts)),
  ),
  run(input) {
    const decoder = new FrameDecoder(4096);
    let outcome = 'incomplete';
    for (const chunk of input as Uint8Array[]) {
      const pushed = decoder.push(chunk);
      if (!pushed.ok) return pushed.fault.code;
      for (const frame of pushed.frames) {
        const body = parseFrameBody(frame);
        if (!body.ok) return body.fault.code;
        const message = parseAgentMessage(body.value);
        outcome = message.ok ? 'accepted' : message.fault.code;
      }
    }
    return outcome;
  },
};

const agentMessages: FuzzTarget = {
  name: 'agent protocol: hello and messages',
  arbitrary: messageLike(AGENT_TYPES, 'type'),
  run(input) {
    const hello = parseHello(input);
    const message = parseAgentMessage(input);
    if (hello.ok) return 'hello';
    return message.ok ? 'accepted' : message.fault.code;
  },
};

const fleetMessages: FuzzTarget = {
  name: 'fleet: message bodies',
  arbitrary: fc.oneof(messageLike(FLEET_TYPES, 't'), mutated(VALID_FLEET)),
  run: (input) => (parseFleetMessage(input) === null ? 'malformed' : 'accepted'),
};

/** An Ed25519 key from a seed (PKCS #8 around the 32-byte seed), so a run is repeatable from its seed. */
function seededKey(seed: number, who: string): KeyObject {
  const secret = createHash('sha256').update(`${who}:${String(seed)}`).digest();
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]), format: 'der', type: 'pkcs8' });
}

/** A receiver and a sender with real Ed25519 keys: signed bodies reach the parser behind the signature. */
function envelopeTarget(seed: number): FuzzTarget {
  const receiver = fleetIdentity(seededKey(seed, 'receiver'));
  const sender = new EnvelopeCodec({ identity: fleetIdentity(seededKey(seed, 'sender')) });
  const codec = new EnvelopeCodec({ identity: receiver });
  return {
    name: 'fleet: signed envelopes',
    arbitrary: fc.oneof(
      fc.uint8Array({ maxLength: 1500 }).map((bytes) => ({ bytes, flips: [] as [number, number][] })),
      fc.tuple(fc.oneof(messageLike(FLEET_TYPES, 't'), mutated(VALID_FLEET)), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 2 })).map(([message, flips]) => ({ message, flips })),
    ),
    run(input) {
      const i = input as { bytes?: Uint8Array; message?: unknown; flips: [number, number][] };
      let buf: Buffer | null = i.bytes === undefined ? null : Buffer.from(i.bytes);
      if (i.message !== undefined) {
        // Any JSON, signed: what an admitted but hostile member could send.
        buf = sender.encode(i.message as FleetMessage, receiver.id);
        if (buf === null) return 'unsendable';
        buf = Buffer.from(corrupt(buf, i.flips));
      }
      const decoded = codec.decode(buf ?? Buffer.alloc(0));
      return decoded.ok ? 'accepted' : decoded.reason;
    },
  };
}

function configTarget(): FuzzTarget {
  const keys = configKeyPaths();
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 12 }), fc.double(), fc.integer());
  return {
    name: 'configuration: layers and --set',
    arbitrary: fc.tuple(
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 20 })), value), { maxLength: 4 }),
      fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 10 })).map(([k, v]) => `${k}=${v}`)), { maxLength: 3 }),
    ),
    run(input) {
      const [pairs, assignments] = input as [[string, unknown][], string[]];
      return coded(() => {
        const layer: Record<string, unknown> = {};
        for (const [path, v] of pairs) {
          // Nested as a file or the environment would give it.
          const parts = path.split('.');
          let node = layer;
          for (const part of parts.slice(0, -1)) {
            const next = node[part];
            node = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (node[part] = {});
          }
          node[parts.at(-1) ?? ''] = v;
        }
        loadConfig({ flags: [layer, configFromAssignments(assignments)] });
        return 'accepted';
      });
    },
  };
}

const procStat: FuzzTarget = {
  name: 'procfs: /proc/stat',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc
      .array(fc.tuple(fc.constantFrom('cpu', 'cpu0', 'cpu1', 'cpuX', 'intr', ''), fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String), fc.string({ maxLength: 4 })), { maxLength: 12 })), { maxLength: 6 })
      .map((lines) => Buffer.from(lines.map(([head, fields]) => `${head} ${fields.join(' ')}`).join('\n'))),
  ),
  run(input) {
    const bytes = input as Uint8Array;
    const ticks = createCpuTicks(4);
    parseProcStat(bytes, bytes.length, ticks);
    for (let i = 0; i < ticks.count; i++) {
      const busy = ticks.busy[i] ?? 0;
      const total = ticks.total[i] ?? 0;
      if (!(busy >= 0 && busy <= total)) throw new Error(`cpu line ${String(i)}: busy ${String(busy)} outside [0, total ${String(total)}]`);
    }
    return `${String(ticks.count)} cpu lines`;
  },
};

const sysfsInt: FuzzTarget = {
  name: 'sysfs: integer attributes',
  arbitrary: fc.oneof(fc.uint8Array({ maxLength: 32 }), fc.string({ maxLength: 24 }).map((s) => Buffer.from(s))),
  run(input) {
    const bytes = input as Uint8Array;
    const value = parseLeadingInt(bytes, bytes.length);
    if (!Number.isNaN(value) && !Number.isFinite(value)) throw new Error(`parsed ${String(value)}`);
    return Number.isNaN(value) ? 'not a number' : 'number';
  },
};

/** Every target; the envelope target's keys come from `seed`. */
export function fuzzTargets(seed: number): FuzzTarget[] {
  return [protocolFrames, agentMessages, fleetMessages, envelopeTarget(seed), configTarget(), procStat, sysfsInt];
}

/**
 * A target whose outcome is a promise (the control API, driven through `inject`). The input's
 * outcome is awaited; a rejection is a bug, like a synchronous target's throw.
 */
export interface AsyncFuzzTarget {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<unknown>;
  /** The outcome of one input; rejects only on a bug. */
  run(input: unknown): Promise<string>;
  /** Releases what the target holds (an application, timers); called once after its run. */
  close(): Promise<void>;
}

export interface FuzzResult {
  readonly name: string;
  readonly runs: number;
  /** Outcome label → how many inputs ended in it (fast-check's shrinking runs, after a failure, count too). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** The slowest single input, ms (a hang would show here, or never return). */
  readonly slowestMs: number;
  readonly seconds: number;
  /** fast-check's report of the first failing input, shrunk; null when none failed. */
  readonly failure: string | null;
}

function describeFailure(input: unknown, error: unknown): string {
  const shown = JSON.stringify(input, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) as string | undefined;
  return `${(shown ?? String(input)).slice(0, 300)}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Runs `target` on `runs` generated inputs from `seed`. */
export function fuzz(target: FuzzTarget, runs: number, seed: number): FuzzResult {
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  const started = performance.now();
  const details = fc.check(
    fc.property(target.arbitrary, (input) => {
      const t0 = performance.now();
      const outcome = target.run(input);
      const ms = performance.now() - t0;
      if (ms > slowestMs) slowestMs = ms;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }),
    { numRuns: runs, seed },
  );
  return {
    name: target.name,
    runs: details.numRuns,
    outcomes,
    slowestMs,
    seconds: (performance.now() - started) / 1000,
    failure: details.failed ? describeFailure(details.counterexample?.[0], details.errorInstance) : null,
  };
}

/**
 * Runs the async `target` on `runs` generated inputs from `seed`, one at a time. An uncaught
 * exception or an unhandled rejection while it runs fails the input it came during (or the run,
 * when it comes after the last), as a throw would.
 */
export async function fuzzAsync(target: AsyncFuzzTarget, runs: number, seed: number): Promise<FuzzResult> {
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  const stray: unknown[] = [];
  const onStray = (err: unknown): void => {
    stray.push(err);
  };
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  const started = performance.now();
  try {
    const details = await fc.check(
      fc.asyncProperty(target.arbitrary, async (input) => {
        const t0 = performance.now();
        const outcome = await target.run(input);
        // A stray error surfaces on a later turn: give it one before judging this input.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stray.length > 0) throw new Error(`uncaught while this input ran: ${String(stray.splice(0)[0])}`);
        const ms = performance.now() - t0;
        if (ms > slowestMs) slowestMs = ms;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }),
      { numRuns: runs, seed },
    );
    const failure = details.failed ? describeFailure(details.counterexample?.[0], details.errorInstance) : stray.length > 0 ? `uncaught after the last input: ${String(stray[0])}` : null;
    return { name: target.name, runs: details.numRuns, outcomes, slowestMs, seconds: (performance.now() - started) / 1000, failure };
  } finally {
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
  }
}

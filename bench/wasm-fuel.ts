/**
 * Fuel metering overhead (the goal is about 2×, not wasm-metering's 10–20×): the same
 * module, plain and metered, side by side in one run, on a tight arithmetic loop (the worst
 * case: a check per iteration of a 9-instruction body) and on trial-division primes.
 */
import initWabt from 'wabt';
import { meterModule } from '../src/runtimes/wasm/fuel.js';

const WAT = `(module
  (func (export "sum") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $n) (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc))
  (func (export "primes") (param $limit i32) (result i32) (local $n i32) (local $d i32) (local $count i32)
    (local.set $n (i32.const 2))
    (loop $next
      (local.set $d (i32.const 2))
      (block $composite
        (block $prime
          (loop $try
            (br_if $prime (i32.gt_u (i32.mul (local.get $d) (local.get $d)) (local.get $n)))
            (br_if $composite (i32.eqz (i32.rem_u (local.get $n) (local.get $d))))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $try)))
        (local.set $count (i32.add (local.get $count) (i32.const 1))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $n) (local.get $limit))))
    (local.get $count)))`;

export interface FuelBenchResult {
  readonly name: string;
  readonly plainMs: number;
  readonly meteredMs: number;
  readonly ratio: number;
}

function time(fn: () => number): number {
  fn();
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  return runs.sort((a, b) => a - b)[2] ?? Number.NaN;
}

export async function benchFuel(): Promise<FuelBenchResult[]> {
  const wabt = await initWabt();
  const parsed = wabt.parseWat('fuel.wat', WAT);
  const plain = parsed.toBinary({}).buffer;
  parsed.destroy();
  const metered = meterModule(plain);
  const a = new WebAssembly.Instance(new WebAssembly.Module(plain), {}).exports as Record<string, (n: number) => number>;
  const b = new WebAssembly.Instance(new WebAssembly.Module(metered), { maxwell: { refuel: () => 200_000n } }).exports as Record<string, (n: number) => number>;
  return [
    ['sum', 50_000_000],
    ['primes', 300_000],
  ].map(([name, n]) => {
    const fnA = a[name as string];
    const fnB = b[name as string];
    if (fnA === undefined || fnB === undefined) throw new Error(`no export ${String(name)}`);
    if (fnA(n as number) !== fnB(n as number)) throw new Error('metering changed the result');
    const plainMs = time(() => fnA(n as number));
    const meteredMs = time(() => fnB(n as number));
    return { name: `${String(name)}(${String(n)})`, plainMs, meteredMs, ratio: meteredMs / plainMs };
  });
}

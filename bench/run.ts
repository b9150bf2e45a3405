/**
 * `npm run bench`: Maxwell's speed goals, measured on this machine (never asserted in tests).
 *
 * - twin-hour: 64 cores + GPU + chassis at 100 Hz for one simulated hour, every core's
 *   utilisation changed and every sensor read each step (as a 100 Hz control loop does).
 *   Target: < 2 s wall time.
 * - Micro-benchmarks (tinybench): the coupling product in WebAssembly SIMD vs plain JS, side by
 *   side in one run; a PID update; a FOPDT fit; a read of the per-core temperature sensors on the
 *   captured coretemp tree (test/fixtures/sysfs/intel-desktop: files on this machine's disk, so a
 *   lower bound for real sysfs) and the per-tick use of the held values (ThermalState's 100 Hz path);
 *   a 30 kB protocol frame decoded from one-byte chunks (linear, one copy: quadratic
 *   concatenation would take seconds); the /metrics tick listener with 2 and 64 awards a tick
 *   (target < 0.1 % of a 10 ms tick).
 *
 * - claims: what checking claimed work costs the daemon (tracing, probes, judging) beside the
 *   traced agents' CPU, in a real daemon (`--only=claims`; goal < 1 %).
 * - allocation: heap allocated per tick on the 100 Hz path (thermal read, clearing, session step,
 *   the ledger write), from V8's GC profiler (`--only=allocation`; docs/DAEMON.md has before/after).
 *
 * - kube: what kube-scheduler sees of Maxwell's extender with 10 Maxwell nodes: pods bound per second
 *   with and without it, side by side, and the time it adds per scheduling cycle (`--only=kube`;
 *   goal p99 < 5 ms; needs root and scripts/build-kubernetes.sh's binaries).
 * - cost: `maxwell run`'s own CPU beside an empty Node 100 Hz loop (the floor) in the same windows,
 *   with no agents and with 8 scientists (`--only=cost`; goal ≤ 2× the floor; needs root).
 * - fuzz: a million generated inputs for each of the protocol, fleet, configuration and /proc and
 *   sysfs parsers, and for the control API's routes from its OpenAPI description (only with
 *   `--only=fuzz`; `--fuzz-runs=N`, `--fuzz-seed=S`, `--fuzz-target=TEXT` for the targets whose name
 *   contains TEXT; goal: no failure, no input slower than 1 s).
 *
 * Every figure is a measured wall-clock time on the machine that runs it; targets that are
 * missed are reported as MISS. `--json` prints one JSON document instead of tables.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { SENSOR_PERIOD_S, SensorTemperatures } from '../src/telemetry/sensor-temperatures.js';
import { PidController, createPidParams } from '../src/control/pid.js';
import { fitFopdt, fopdtResponse } from '../src/identification/fopdt.js';
import { FrameDecoder, encodeFrame } from '../src/protocol/frames.js';
import { SeededRandom } from '../src/internal/seeded-random.js';
import { createJsMatVec, createWasmMatVec } from '../src/physics/dense-matvec.js';
import { ThermalTwin } from '../src/physics/thermal-twin.js';
import { DEFAULT_TWIN_PARAMS } from '../src/physics/twin-params.js';
import { benchSampler } from './sampler.js';
import { benchFuel } from './wasm-fuel.js';
import { benchClearing } from './clearing.js';
import { benchEngine } from './engine.js';
import { benchNeighbour, formatNeighbour } from './neighbour.js';
import { benchAllocation, formatAllocation } from './allocation.js';
import { metricsTickCase } from './metrics.js';
import { benchClaims, formatClaims } from './claims.js';
import { benchKube, formatKube } from './kube.js';
import { benchDaemonCost, formatDaemonCost } from './daemon-cost.js';
import { benchFuzz, formatFuzz } from './fuzz.js';

const json = process.argv.includes('--json');
const log = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

interface MacroResult {
  name: string;
  runsMs: number[];
  medianMs: number;
  targetMs: number;
  verdict: 'PASS' | 'MISS';
}

/** Utilisation patterns, precomputed so the benchmark measures the twin, not Math.sin. */
const PATTERN_STEPS = 1024;

function twinHour(): number {
  const cores = 64;
  const twin = new ThermalTwin({ ...DEFAULT_TWIN_PARAMS, cores }, 0.01);
  const reading = new Float64Array(twin.planes.length);
  const utilisation = new Float64Array(twin.sourceCount);
  const pattern = Float64Array.from({ length: PATTERN_STEPS * cores }, (_, n) => 0.5 + 0.5 * Math.sin(n * 0.37));
  const steps = 3600 * 100;
  const started = performance.now();
  for (let k = 0; k < steps; k++) {
    // A different utilisation on every core every step, as a controller would set.
    const row = (k & (PATTERN_STEPS - 1)) * cores;
    for (let i = 0; i < cores; i++) utilisation[i] = pattern[row + i] ?? 0;
    twin.setUtilisations(utilisation);
    twin.step();
    twin.readSensors(reading);
  }
  const elapsed = performance.now() - started;
  if (!Number.isFinite(reading[0])) throw new Error('twin produced a non-finite temperature');
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function runMacro(): MacroResult {
  const runsMs: number[] = [];
  for (let r = 0; r < 3; r++) {
    log(`twin-hour run ${r + 1}/3 …`);
    runsMs.push(twinHour());
  }
  const medianMs = median(runsMs);
  const targetMs = 2000;
  return { name: 'twin-hour (64 cores + GPU + chassis, 100 Hz, 1 h simulated)', runsMs, medianMs, targetMs, verdict: medianMs < targetMs ? 'PASS' : 'MISS' };
}

async function runMicro() {
  const bench = new Bench({ name: 'micro', time: 500 });
  const random = new SeededRandom(1);
  const n = 65;
  const matrix = Float64Array.from({ length: n * n }, () => random.uniform());
  const wasm = createWasmMatVec(matrix, n, n);
  const js = createJsMatVec(matrix, n, n);
  for (let j = 0; j < n; j++) wasm.input[j] = js.input[j] = random.uniform();
  const pid = new PidController(createPidParams({ kp: 0.09, tiS: 0.8, sampleS: 0.01 }), 80);
  const times = Float64Array.from({ length: 900 }, (_, k) => (k + 1) / 100);
  const sensorsRoot = fileURLToPath(new URL('../../test/fixtures/sysfs/intel-desktop', import.meta.url));
  let sensorClockS = 0;
  const sensors = await SensorTemperatures.start({ root: sensorsRoot, cores: 8, now: () => sensorClockS, activity: () => undefined });
  if (sensors === null) throw new Error(`no sensors found under ${sensorsRoot}`);
  const coreTemperatures = new Float64Array(8);
  const coreMeasured = new Uint8Array(8);
  const values = times.map((t) => fopdtResponse(t - 1, 35, 20, 1, 0.1) + 0.5 * random.normal());
  const metricsCases = [2, 64].map(metricsTickCase);
  const frameBytes = Array.from(encodeFrame({ type: 'work', primes: Array.from({ length: 2000 }, (_, i) => String(1_000_000_007 + i)) }), (b) => Uint8Array.of(b));
  bench
    .add('coupling product 65×65, WebAssembly SIMD', () => {
      wasm.run();
    })
    .add('coupling product 65×65, plain JS', () => {
      js.run();
    })
    .add('PID update', () => {
      pid.update(79 + random.uniform() * 2);
    })
    .add('FOPDT fit, 900 samples (σ 0.5 °C)', () => {
      fitFopdt({ timesS: times, values, stepTimeS: 1 });
    })
    .add('coretemp read, 6 CPUs / 4 sensors (fixture tree)', () => {
      sensorClockS += SENSOR_PERIOD_S;
      sensors.refresh(sensorClockS);
    })
    .add('measured temperatures onto 8 cores (per tick)', () => {
      sensors.apply(coreTemperatures, coreMeasured);
    })
    .add(`protocol frame of ${String(frameBytes.length)} B, one byte per chunk`, () => {
      const decoder = new FrameDecoder();
      for (const chunk of frameBytes) decoder.push(chunk);
    });
  for (const c of metricsCases) bench.add(`/metrics tick listener, ${String(c.awards)} awards`, c.tick);
  log('micro-benchmarks …');
  await bench.run();
  await sensors.stop();
  for (const c of metricsCases) c.close();
  return bench.tasks.map((task) => {
    const result = task.result;
    const latency = result.state === 'completed' ? result.latency : undefined;
    return {
      name: task.name,
      meanUs: (latency?.mean ?? Number.NaN) * 1000,
      rmePct: latency?.rme ?? Number.NaN,
      samples: latency?.samplesCount ?? 0,
    };
  });
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const macro = only === undefined || only === 'twin' ? runMacro() : undefined;
const micro = only === undefined || only === 'micro' ? await runMicro() : [];
log(only === undefined || only === 'sampler' ? 'sampler: 10 s idle baseline, then 10 s at 100 Hz with 64 processes …' : '');
const sampler = only === undefined || only === 'sampler' ? await benchSampler(10, 64) : undefined;
const fuel = only === undefined || only === 'fuel' ? await benchFuel() : [];
const clearing = only === undefined || only === 'clearing' ? await benchClearing() : [];
if (only === undefined || only === 'engine') log('engine: 4 s idle, then 4 s each at 100, 250, 500 and 1000 Hz, 64 agents over 64 cores …');
const engine = only === undefined || only === 'engine' ? await benchEngine() : undefined;
if (only === undefined || only === 'neighbour') log('neighbour: Scientist vs Leech idle, then beside stress-ng --cpu 1 --cpu-load 25 under each foreign-heat policy (≈ 9 min) …');
const allocation = only === undefined || only === 'allocation' ? await benchAllocation() : undefined;
const neighbour = only === undefined || only === 'neighbour' ? await benchNeighbour(log) : undefined;
if (only === undefined || only === 'claims') log('claims: a daemon with 6 agents that claim work, 20 s …');
const claims = only === undefined || only === 'claims' ? await benchClaims() : undefined;
if (only === undefined || only === 'kube') log('kube: a real kube-scheduler and 10 Maxwell nodes, 200 pods without and 200 with the extender (≈ 30 s) …');
const kube = only === undefined || only === 'kube' ? await benchKube(10, 200, log) : undefined;
if (only === undefined || only === 'cost') log('cost: maxwell run beside an empty 100 Hz Node loop, 20 s with no agents, 20 s with 8 scientists, 20 s with churn; with its own entropy source, then with bpftrace where it runs (≈ 3 min) …');
const cost = only === undefined || only === 'cost' ? [await benchDaemonCost()] : [];
if (cost.length > 0 && spawnSync('bpftrace', ['--version']).status === 0) cost.push(await benchDaemonCost(20, 8, 'bpftrace'));
const numberArg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const fuzzSeed = numberArg('fuzz-seed', Date.now() % 1_000_000);
// Only when asked: a million inputs for each of eight targets takes about eighteen minutes (the API's half of it).
const fuzzOnly = process.argv.find((a) => a.startsWith('--fuzz-target='))?.slice('--fuzz-target='.length);
const fuzzResults = only === 'fuzz' ? await benchFuzz(numberArg('fuzz-runs', 1_000_000), fuzzSeed, log, fuzzOnly) : [];
const wasmUs = micro[0]?.meanUs ?? Number.NaN;
const jsUs = micro[1]?.meanUs ?? Number.NaN;
const report = {
  provenance: { kind: 'measured', source: 'wall-clock time on this machine', node: process.version, date: new Date().toISOString() },
  macro: macro === undefined ? [] : [macro],
  micro,
  sampler,
  fuel,
  clearing,
  engine,
  allocation,
  neighbour,
  claims,
  kube,
  cost,
  fuzz: fuzzResults.length === 0 ? null : { seed: fuzzSeed, targets: fuzzResults },
  ratios: { couplingProductJsOverWasm: jsUs / wasmUs },
};
if (json) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`Benchmarks — measured wall-clock times on this machine (Node ${process.version})\n\n`);
  if (macro !== undefined) {
    process.stdout.write(
      `${macro.name}\n  runs: ${macro.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms; median ${macro.medianMs.toFixed(0)} ms; ` +
        `target < ${macro.targetMs} ms: ${macro.verdict}\n\n`,
    );
  }
  for (const m of micro) process.stdout.write(`${m.name.padEnd(44)} ${m.meanUs.toFixed(3).padStart(12)} µs ± ${m.rmePct.toFixed(1)}%  (${m.samples} samples)\n`);
  if (micro.length > 0) process.stdout.write(`\nCoupling product, JS / WebAssembly (same run): ${report.ratios.couplingProductJsOverWasm.toFixed(2)}×\n`);
  for (const m of micro.filter((x) => x.name.startsWith('/metrics'))) {
    // The listener runs once per tick: its share of the 10 ms tick at 100 Hz (target < 0.1 %).
    const share = m.meanUs / 10_000;
    process.stdout.write(`${m.name}: ${(100 * share).toFixed(4)} % of a 10 ms tick (target < 0.1 %: ${share < 0.001 ? 'PASS' : 'MISS'})\n`);
  }
  for (const c of clearing) {
    process.stdout.write(`Clearing ${c.name}: p50 ${c.p50Ms.toFixed(3)} ms, p99 ${c.p99Ms.toFixed(3)} ms (target p99 ≤ ${c.targetP99Ms} ms: ${c.verdict})\n`);
  }
  if (engine !== undefined) {
    process.stdout.write(`\nClearing engine, ${String(engine.agents)} agents over ${String(engine.cores)} cores, ${String(engine.durationS)} s per rate (idle process: ${engine.idleCpuPct.toFixed(2)} % CPU):\n`);
    for (const r of engine.rows) {
      process.stdout.write(
        `  ${String(r.rateHz).padStart(5)} Hz: ${String(r.ticks)} ticks, ${String(r.missedTicks)} missed; CPU ${r.cpuPct.toFixed(2)} % of one core ` +
          `(clearing itself ${r.clearingPct.toFixed(3)} %); clearing p99 ${r.clearP99Ms.toFixed(3)} ms\n`,
      );
    }
    process.stdout.write(
      `  at 100 Hz: target ≤ ${String(engine.targetCpuPct)} %: ${engine.verdictAt100Hz}; highest measured rate within the budget: ` +
        `${engine.maxRateWithinBudgetHz === null ? 'none' : `${String(engine.maxRateWithinBudgetHz)} Hz`}; clearing alone would spend it at ≈ ${engine.clearingOnlyLimitHz.toFixed(0)} Hz\n`,
    );
  }
  for (const f of fuel) {
    process.stdout.write(`WASM fuel metering, ${f.name}: plain ${f.plainMs.toFixed(1)} ms, metered ${f.meteredMs.toFixed(1)} ms: ${f.ratio.toFixed(2)}× (expected about 2×)\n`);
  }
  if (sampler !== undefined) {
    const s = sampler.stats;
    process.stdout.write(
      `\nSampler at ${s.rateHz} Hz, ${sampler.processes} monitored processes, ${sampler.durationS} s (worker thread):\n` +
        `  ticks ${s.ticks}, missed ${s.missedTicks}; jitter p50 ${s.jitterP50Ms.toFixed(2)} ms, p99 ${s.jitterP99Ms.toFixed(2)} ms, max ${s.jitterMaxMs.toFixed(2)} ms ` +
        `(target p99 ≤ ${sampler.targets.jitterP99Ms} ms: ${sampler.verdict.jitter})\n` +
        `  CPU ${sampler.cpuPctOfOneCore.toFixed(2)} % of one core, whole process (idle baseline ${sampler.idleBaselineCpuPct.toFixed(2)} %) ` +
        `(target ≤ ${sampler.targets.cpuPct} %: ${sampler.verdict.cpu}); mean work per tick ${s.meanWorkMs.toFixed(3)} ms\n`,
    );
  }
  if (allocation !== undefined) process.stdout.write(formatAllocation(allocation));
  if (neighbour !== undefined) process.stdout.write(formatNeighbour(neighbour));
  if (claims !== undefined) process.stdout.write(formatClaims(claims));
  if (kube !== undefined) process.stdout.write(formatKube(kube));
  for (const c of cost) process.stdout.write(formatDaemonCost(c));
  if (fuzzResults.length > 0) process.stdout.write(formatFuzz(fuzzResults, fuzzSeed));
}
// A fuzz failure is a bug, not a slow machine: say so by the exit code too.
if (fuzzResults.some((r) => r.failure !== null || r.slowestMs > 1000)) process.exitCode = 1;

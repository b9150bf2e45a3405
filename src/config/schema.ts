/**
 * The one configuration schema. Every key has a unit in its name or its doc, a default,
 * and a range; unknown keys are rejected. The TypeScript type is derived from the schema.
 * docs/CONFIGURATION.md lists every key; a test keeps the two in step.
 */
import { z } from 'zod';
import { DEFAULT_TWIN_PARAMS, type ThermalTwinParams } from '../physics/twin-params.js';

const D = DEFAULT_TWIN_PARAMS;
const positive = () => z.number().positive();
const nonNegative = () => z.number().nonnegative();

const planeShape = (d: { tauS: number; deadTimeS: number; resistanceKPerW: number | null }) => ({
  tauS: positive().max(3600).describe('time constant τ, s').default(d.tauS),
  deadTimeS: nonNegative().max(600).describe('dead time θ between power and temperature, s').default(d.deadTimeS),
  resistanceKPerW: positive().max(1000).nullable().describe('thermal resistance to ambient, K/W; null on cores: scaled so full load matches the 4-core reference').default(d.resistanceKPerW),
});

const sourceShape = (d: { idleW: number; dynamicW: number; leakageW: number; leakageDoublingK: number }) => ({
  idleW: nonNegative().max(10_000).describe('power at zero utilisation, without leakage, W').default(d.idleW),
  dynamicW: nonNegative().max(10_000).describe('extra power at full utilisation, W').default(d.dynamicW),
  leakageW: nonNegative().max(10_000).describe('leakage power at 25 °C, W').default(d.leakageW),
  leakageDoublingK: positive().max(1000).describe('temperature rise that doubles leakage, K').default(d.leakageDoublingK),
});

const twinSchema = z.strictObject({
  cores: z.number().int().min(1).max(4096).describe('CPU cores of the twin').default(D.cores),
  gpu: z.boolean().describe('whether the twin has a GPU plane').default(D.gpu),
  ambientC: z.number().min(-50).max(80).describe('ambient (inlet) temperature, °C').default(D.ambientC),
  core: z.strictObject({ ...planeShape(D.core), ...sourceShape(D.core) }).prefault({}),
  gpuPlane: z.strictObject({ ...planeShape(D.gpuPlane), ...sourceShape(D.gpuPlane) }).prefault({}),
  chassis: z.strictObject(planeShape(D.chassis)).prefault({}),
  coupling: z
    .array(z.array(z.number().min(0).max(1)))
    .nullable()
    .describe('coupling matrix K over sources (cores, then GPU), ones on the diagonal; null: the DESIGN.md default')
    .default(D.coupling === null ? null : D.coupling.map((r) => [...r])),
  sensor: z
    .strictObject({
      noiseC: nonNegative().max(50).describe('sensor noise σ, °C').default(D.sensor.noiseC),
      quantumC: nonNegative().max(10).describe('sensor quantisation step, °C (0: none)').default(D.sensor.quantumC),
    })
    .prefault({}),
  seed: z.number().int().describe('seed of the sensor noise; same seed, same run').default(D.seed),
  stepS: positive().max(1).describe('simulation step, s').default(0.01),
});

/** The configuration schema. */
export const configSchema = z.strictObject({
  twin: twinSchema.prefault({}),
  control: z
    .strictObject({
      setpointC: z.number().min(20).max(150).describe('temperature limit the controllers hold, °C').default(80),
      rule: z.enum(['simc', 'imc']).describe('tuning rule: simc (PI) or imc (PID)').default('simc'),
      closedLoopTauS: positive().max(600).nullable().describe('desired closed-loop time constant τc, s; null: the rule default (τc = θ)').default(null),
      rateHz: positive().max(10_000).describe('control rate, Hz (must match 1 / twin.stepS in the demo)').default(100),
      outputMin: z.number().min(0).max(1).describe('lowest fraction of compute a controller may allow').default(0),
      outputMax: z.number().min(0).max(1).describe('highest fraction of compute a controller may allow').default(1),
      foreignHeat: z
        .enum(['sell-remaining', 'hold-setpoint'])
        .describe('heat of processes that are not agents: sell-remaining raises each core\'s setpoint by the rise that load causes (up to 5 °C below critical), so agents keep the quanta that remain; hold-setpoint answers it by selling less')
        .default('sell-remaining'),
    })
    .prefault({}),
  calibration: z
    .strictObject({
      sampleHz: positive().max(10_000).describe('sampling rate of step experiments, Hz').default(100),
      preStepS: positive().max(600).describe('idle time recorded before each step, s: the baseline every gain is measured from (1 s left the GPU row of K 6 % off)').default(4),
      coreStepS: positive().max(3600).describe('recording after a core step, s (≥ 3τ + θ)').default(8),
      gpuStepS: positive().max(3600).describe('recording after a GPU step, s').default(16),
      chassisStepS: positive().max(36_000).describe('recording after the all-sources step for the chassis, s').default(240),
      repeats: z.number().int().min(1).max(1000).describe('runs of each experiment, averaged before fitting').default(16),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      path: z.string().min(1).describe('the ledger database (SQLite, WAL); created on first start').default('.maxwell/state/ledger.sqlite'),
      keyPath: z.string().min(1).describe("the node's Ed25519 signing key (PKCS#8 PEM, mode 0600); created on first start").default('.maxwell/state/node-key.pem'),
    })
    .prefault({}),
  state: z
    .strictObject({
      dir: z.string().min(1).describe("the daemon's state folder (mode 0700): its discovery file daemon.json (API URL, token, pid; mode 0600)").default('.maxwell/state'),
    })
    .prefault({}),
  api: z
    .strictObject({
      host: z.string().min(1).max(255).describe('address the control API listens on; anything but loopback (127.0.0.1, ::1, localhost) prints MXW_WARN_API_NOT_LOOPBACK').default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).describe('TCP port of the control API (0: an ephemeral port, published in daemon.json)').default(0),
      bodyLimitBytes: z.number().int().min(1024).max(16_777_216).describe('largest control-API request body, bytes (larger: HTTP 413)').default(65_536),
    })
    .prefault({}),
  demo: z
    .strictObject({
      durationS: positive().max(86_400).describe('simulated time of the twin demo, s').default(12),
      loadStepAtS: nonNegative().max(86_400).describe('when every core steps to full demand, s').default(1),
      printEveryS: positive().max(3600).describe('timeline row interval, s').default(0.5),
    })
    .prefault({}),
  protocol: z
    .strictObject({
      maxFrameBytes: z.number().int().min(256).max(16_777_216).describe('largest agent-protocol frame body, bytes').default(65_536),
      framesPerS: positive().max(1_000_000).describe('frames per second one agent connection may send, sustained (token bucket rate)').default(200),
      burstFrames: z.number().int().min(1).max(1_000_000).describe('frames one agent connection may send at once (token bucket depth)').default(400),
      helloTimeoutMs: z.number().int().min(1).max(3_600_000).describe('time a new agent connection has to send hello, ms').default(5_000),
      maxQueuedBytes: z.number().int().min(1024).max(1_073_741_824).describe('notices that may queue unread for one agent before its connection is closed, bytes').default(1_048_576),
    })
    .prefault({}),
  daemon: z
    .strictObject({
      rateHz: positive().max(1000).describe('auction ticks per second').default(100),
      clearing: z.enum(['gsp', 'vcg', 'uniform']).describe('auction mode: gsp (default), or the truthful vcg / uniform (k+1)-th price').default('gsp'),
      tieRotationTicks: z.number().int().min(1).max(10_000).describe('ticks between turns of the tie-break: equal bidders share cores in turns this long (fewer freezes than turning every tick)').default(10),
      settleEveryTicks: z.number().int().min(1).max(10_000).describe('ticks per ledger transaction: payments are summed per agent in between (balances are checked every tick)').default(10),
      incomePerPrimeJ: nonNegative().max(1000).describe('joules paid per verified new prime (default: a Miller–Rabin scientist on a cool core earns ≈ 2× what its quanta cost)').default(0.01),
      oracleSample: z.number().int().min(0).max(100_000).describe('primes verified per work report (0: every prime; a failed sample forfeits the report, so any sample ≥ 2 makes padding with composites lose money)').default(4),
      landauerMultiplier: nonNegative().max(1e30).describe('policy multiplier on kT ln 2 per erased bit (docs/MARKET.md)').default(1e10),
      graceMs: z.number().int().min(0).max(3_600_000).describe('apoptosis: from notice to SIGTERM, ms').default(1000),
      rescueMarginPercent: z.number().int().min(100).max(10_000).describe('apoptosis: an agent in its grace period is rescued by a balance above this percentage of the cheapest quantum (hysteresis against price jitter)').default(150),
      killTimeoutMs: z.number().int().min(0).max(3_600_000).describe('apoptosis and stop: from SIGTERM to SIGKILL, ms').default(2000),
      criticalC: z.number().min(20).max(150).describe('emergency: a core above this is paused at once, outside the auction, °C').default(95),
      runtimeDir: z.string().min(1).describe("directory of the agents' protocol sockets (mode 0700)").default('.maxwell/run'),
    })
    .prefault({}),
  verification: z
    .strictObject({
      model: z.string().min(1).describe('the trained work-class classifier (JSON from `maxwell research verification --model-out`); without it claims are traced, not judged').default('.maxwell/verification/forest.json'),
      mismatchWindows: z.number().int().min(1).max(3600).describe('consecutive 1 s windows whose trace disagrees with an agent\'s claimed work class before it is flagged').default(3),
      onMismatch: z
        .enum(['withhold-income', 'audit', 'log'])
        .describe('what a flag does: withhold-income (verified work earns nothing while flagged), audit (its audit rate rises tenfold), or log only')
        .default('withhold-income'),
    })
    .prefault({}),
});

/** A validated configuration. */
export type MaxwellConfig = z.infer<typeof configSchema>;

// Compile-time check that the schema's twin section is a ThermalTwinParams.
type Assert<T extends true> = T;
export type TwinSchemaMatchesParams = Assert<MaxwellConfig['twin'] extends ThermalTwinParams ? true : false>;

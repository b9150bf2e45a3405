/**
 * The one configuration schema. Every key has a unit in its name or its doc, a default,
 * and a range; unknown keys are rejected. The TypeScript type is derived from the schema.
 * docs/CONFIGURATION.md lists every key; a test keeps the two in step.
 */
import { z } from 'zod';
import { DEFAULT_SWIM_CONFIG as SWIM } from '../fleet/swim-config.js';
import { DEFAULT_TRUST_CONFIG as TRUST } from '../fleet/trust.js';
import { DEFAULT_TWIN_PARAMS, type ThermalTwinParams } from '../physics/twin-params.js';
import { CGROUP_PARENTS } from '../runtimes/process/cgroup-parent.js';

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
    .describe('coupling matrix K over sources (cores, then GPU), ones on the diagonal; null: the docs/DESIGN.md default')
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
      readToken: z
        .string()
        .refine((t) => t === '' || t.length >= 16, 'a read token has at least 16 characters')
        .describe("the read-only token (GET routes, /metrics, the dashboard); empty: a fresh one each start, in daemon.json. Set it to give Prometheus a fixed credential")
        .default(''),
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
      endedAgentsKept: z.number().int().min(1).max(1_000_000).describe('ended agents whose records (views, runtime entries) are kept for the API; older ones are dropped, their history stays on the ledger and their ids stay taken').default(1000),
      criticalC: z.number().min(20).max(150).describe('emergency: a core above this is paused at once, outside the auction, °C').default(95),
      runtimeDir: z.string().min(1).describe("directory of the agents' protocol sockets (mode 0700)").default('.maxwell/run'),
      cgroupParent: z
        .enum(CGROUP_PARENTS)
        .describe("where process agents' cgroups live on cgroup v2: root (<hierarchy>/maxwell/…, any machine) or delegated (inside the systemd service running the daemon, which must have Delegate=yes; pure cgroup v2 only; deploy/systemd/maxwell.service sets it; docs/RUNTIMES.md)")
        .default('root'),
      entropy: z
        .enum(['auto', 'ebpf', 'bpftrace', 'estimated'])
        .describe("where the Landauer tax's erasure figures come from: auto (the eBPF ring buffer, else bpftrace, else an estimate from /proc: the first this machine can run), or one of them (falling back to the estimate if it cannot run; docs/ENTROPY.md)")
        .default('auto'),
      twinDrive: z
        .enum(['machine', 'agents'])
        .describe("what drives the thermal twin: machine (every process, from /proc/stat) or agents (only this daemon's agents, from their cgroups: several daemons on one machine, e.g. the fleet experiment; foreign heat is then not compensated)")
        .default('machine'),
    })
    .prefault({}),
  verification: z
    .strictObject({
      model: z.string().min(1).describe("the claim model (JSON from `maxwell research verification --model-out`): honest windows per work class and honest inference servers' timeline scores; `shipped`: the one in models/claim-model.json, made on the development VM (docs/VERIFICATION.md)").default('shipped'),
      mismatchWindows: z.number().int().min(1).max(3600).describe('consecutive windows (of running time: 0.5 s for inference, 1 s for other claims) judged inconsistent with an agent\'s claimed work class before it is flagged').default(3),
      alpha: z.number().min(0.0001).max(0.5).describe('significance of the open-set test: a window is inconsistent when its conformal p-value is at most this (an honest agent\'s windows are, in at most about this share)').default(0.01),
      probeGapMs: z.number().int().min(50).max(60_000).describe('mean gap between the probes (requests at random times) sent to an agent that claims inference and serves, ms; each gap is drawn uniformly from 0.5–1.5 × this').default(300),
      serveWithinS: z.number().min(0.5).max(600).describe('seconds of running an agent that claims inference has to say `serve` (to be probed) before its windows count as inconsistent').default(1.5),
      onMismatch: z
        .enum(['withhold-income', 'audit', 'log'])
        .describe('what a flag does: withhold-income (verified work earns nothing while flagged), audit (its audit rate rises tenfold), or log only')
        .default('withhold-income'),
    })
    .prefault({}),
  fleet: z
    .strictObject({
      enabled: z.boolean().describe('join a fleet: gossip thermal stress with other Maxwell nodes over UDP (SWIM + Lifeguard, push-sum; docs/FLEET.md)').default(false),
      host: z.string().min(1).max(255).describe('address the gossip socket binds (an IP)').default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).describe('port of the gossip socket, UDP and (for push-pull) TCP (0: an ephemeral port); memberlist uses 7946').default(7946),
      pushPullOverTcp: z.boolean().describe('exchange full membership state over TCP on the gossip port every swim.pushPullIntervalMs (falls back to one datagram when a peer does not answer); false: UDP only').default(true),
      swim: z
        .strictObject({
          probeIntervalMs: z.number().min(1).max(600_000).describe('time between probes, ms (scaled by Lifeguard\'s local health)').default(SWIM.probeIntervalMs),
          probeTimeoutMs: z.number().min(1).max(600_000).describe('wait for a direct ack before indirect probes, ms (below probeIntervalMs)').default(SWIM.probeTimeoutMs),
          indirectChecks: z.number().int().min(0).max(16).describe('members asked to probe indirectly when a direct probe times out').default(SWIM.indirectChecks),
          retransmitMult: z.number().int().min(1).max(64).describe('each update is retransmitted retransmitMult × ⌈log10(n + 1)⌉ times').default(SWIM.retransmitMult),
          suspicionMult: z.number().int().min(1).max(64).describe('suspicion timeout = suspicionMult × max(1, log10 n) × probeIntervalMs').default(SWIM.suspicionMult),
          suspicionMaxTimeoutMult: z.number().int().min(1).max(64).describe('Lifeguard: the suspicion timeout starts at this multiple of the minimum').default(SWIM.suspicionMaxTimeoutMult),
          pushPullIntervalMs: z.number().min(0).max(86_400_000).describe('full-state push-pull with one random member, ms (scaled up beyond 32 members)').default(SWIM.pushPullIntervalMs),
          awarenessMaxMultiplier: z.number().int().min(1).max(64).describe('Lifeguard: ceiling of the local health multiplier').default(SWIM.awarenessMaxMultiplier),
          gossipIntervalMs: z.number().min(1).max(600_000).describe('time between gossip rounds, ms').default(SWIM.gossipIntervalMs),
          gossipNodes: z.number().int().min(1).max(64).describe('members sent to in each gossip round').default(SWIM.gossipNodes),
          gossipToTheDeadMs: z.number().min(0).max(86_400_000).describe('dead members are still gossiped to for this long, ms (so they can refute)').default(SWIM.gossipToTheDeadMs),
          lifeguard: z.boolean().describe('Lifeguard: local health multiplier, dynamic suspicion timeouts, nacks, buddy system').default(SWIM.lifeguard),
          // Datagrams are at most 1,400 bytes with the 132-byte envelope: a larger body would not be sendable.
          maxPayloadBytes: z.number().int().min(256).max(1200).describe('byte budget of one datagram body (datagrams are at most 1,400 bytes with the signed envelope)').default(SWIM.maxPayloadBytes),
          maxMembers: z.number().int().min(2).max(1_000_000).describe('most records in the member table (dead ones included); gossip about further new members is refused and counted (refused-member)').default(SWIM.maxMembers),
        })
        .describe('SWIM + Lifeguard timing; the defaults are memberlist\'s LAN profile (docs/FLEET.md)')
        .prefault({}),
      advertise: z.string().max(300).describe('ip:port other nodes send to, when it is not host:port (NAT, 0.0.0.0)').default(''),
      seeds: z.array(z.string().min(1).max(300)).max(64).describe('ip:port of members to join through').default([]),
      nodeName: z.string().regex(/^([A-Za-z0-9._-]{1,63})?$/).describe('this node\'s name in the orchestrator (the Kubernetes node name the scheduler extender scores); empty: the host name').default(''),
      location: z
        .strictObject({
          zone: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).describe('this node\'s cooling zone (coupling 0.10–0.25)').default('z0'),
          row: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).describe('this node\'s row of racks (coupling 0.30–0.55)').default('r0'),
          rack: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).describe('this node\'s rack (coupling 0.60–0.85)').default('k0'),
          chassis: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).describe('this node\'s chassis (coupling 0.90–1.00)').default('c0'),
        })
        .describe('where this node sits in the data centre: neighbours in the same chassis, rack, row, zone are coupled (docs/DESIGN.md §4)')
        .prefault({}),
      allowedIds: z
        .array(z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a node id: 22 base64url characters, as `maxwell fleet` prints it'))
        .max(100_000)
        .describe('node ids admitted to the fleet (each node\'s id is printed by `maxwell fleet`); others\' datagrams are dropped and gossip about them refused. Empty: an open fleet (anyone who can reach the port may join)')
        .default([]),
      peerToken: z.string().regex(/^(.{16,256})?$/).describe('a secret shared by the fleet\'s nodes (≥ 16 characters): accepted as a bearer by the control API and sent with spawns placed on other nodes (agent spawn --fleet); needs fleet.allowedIds (a closed fleet); empty: placement stays on this node').default(''),
      maxPriceMultiplier: z.number().min(1).max(1000).describe('most the fleet\'s stress may multiply this node\'s reserve prices by').default(4),
      trust: z
        .strictObject({
          enabled: z.boolean().describe('damp members that claim, for long, more heat than their rack shows (this node\'s own headroom when it shares the rack, else the median of their rack-mates): their stress and push-sum shares count × trust, and below 0.5 nothing is placed on them').default(TRUST.enabled),
          tolerance: z.number().min(0).max(0.95).describe('mean headroom gap tolerated before trust falls (honest rack neighbours differ by their load)').default(TRUST.tolerance),
          windowS: z.number().gt(0).max(86_400).describe('time constant of the mean gap, s: a disagreement must last about this long to count (≫ the plant\'s thermal τ)').default(TRUST.windowS),
          floor: z.number().min(0).max(1).describe('least trust a member keeps (damped, never silenced)').default(TRUST.floor),
        })
        .describe('damping of liars (docs/FLEET.md): `maxwell fleet` shows each member\'s trust and why')
        .prefault({}),
      migration: z
        .strictObject({
          enabled: z.boolean().describe('move agents placed with --fleet off this node when its prices rise (stop here, respawn on the cheapest node; needs fleet.peerToken)').default(true),
          priceRatio: z.number().min(1.05).max(100).describe('migrate when this node\'s mean reserve price exceeds this × the cheapest peer\'s (hysteresis: no ping-pong between similar nodes)').default(1.5),
          everyS: positive().max(3600).describe('how often to check, s (one agent moves per check)').default(5),
        })
        .prefault({}),
      kubeExtender: z
        .strictObject({
          enabled: z.boolean().describe('serve the Kubernetes scheduler extender (POST /v1/kube/filter, /v1/kube/prioritize) WITHOUT a token: kube-scheduler cannot send one; read-only').default(false),
          minHeadroom: z.number().min(0).max(1).describe('nodes whose thermal headroom is below this are filtered out').default(0.05),
        })
        .prefault({}),
    })
    .prefault({}),
  inference: z
    .strictObject({
      model: z.string().min(1).describe('the reference model agents serve and the verifier re-executes, a file named in models/tiny-gpt.json').default('tiny-gpt.onnx'),
      pricePerTokenJ: z.number().min(0).max(1e6).describe('income per verified token, J (paid from the treasury once a request passes the layers that ran)').default(0.01),
      minStakeJ: z.number().min(0).max(1e9).describe('least stake (joules of its wallet put in escrow at spawn) an agent needs to serve inference').default(1),
      spotCheckFromJ: z.number().min(0).max(1e9).describe('layer 3 (Freivalds spot checks of committed layers) runs for requests bidding at least this, J').default(0.1),
      auditSafety: z.number().min(1).max(1e6).describe('audit probability p = min(1, auditSafety × income of the request ÷ the agent\'s stake): a cheater expects to lose more than it gains').default(2),
      maxNewTokens: z.number().int().min(1).max(256).describe('most tokens one request may ask for').default(64),
      requestTimeoutMs: positive().max(600_000).describe('time an agent has to answer a request (claim and openings), ms; after it the request is unpaid and the agent suspect').default(10_000),
      calibrationRequests: z.number().int().min(3).max(1000).describe('honest requests the daemon runs itself on the reference model to measure its CPU and timing profile (layers 1–2)').default(12),
      timingSlack: z.number().min(1).max(1e6).describe('the profile\'s upper bounds are this × the 99th percentile of the calibration (agents are separate processes on a shared machine: their timing seen over the socket is slower than in-process)').default(20),
    })
    .prefault({}),
});

/** A validated configuration. */
export type MaxwellConfig = z.infer<typeof configSchema>;

// Compile-time check that the schema's twin section is a ThermalTwinParams.
type Assert<T extends true> = T;
export type TwinSchemaMatchesParams = Assert<MaxwellConfig['twin'] extends ThermalTwinParams ? true : false>;

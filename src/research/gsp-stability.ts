/**
 * Research question 6 (docs/DESIGN.md §6): is the market stable under thermal feedback? Agents with
 * different values and bidding strategies buy cores on the thermal twin at the daemon's 100 Hz;
 * what they win heats their cores, the heat raises the reserves and throttles the allowance,
 * and that sets the next tick's slots. Measured per scenario and clearing mode (GSP, VCG,
 * uniform): whether prices, allocations and temperatures settle, the dominant oscillation
 * period if any, and the distance from the locally envy-free (LEF) equilibrium.
 *
 * Everything here is MODELLED: a seeded, discrete-time simulation on the twin with a simulated
 * clock (tick k is at k × 10 ms; no timers), pure (no I/O) and deterministic from the seed.
 * The offer is built by the daemon's own {@link CoreOffer} (PID per core → allowance; thermal
 * pricing → reserves; the daemon's offer order) and cleared by the daemon's {@link Clearing}.
 *
 * One tick, as in the daemon: the twin's sensors are read (noise 0.5 °C, 0.125 °C steps) →
 * controllers, pricing and offer → each agent's strategy sets its bid → clearing (tie-break
 * rotating every 10 ticks, the daemon's default) → each winner runs its core at the core's
 * allowance (agents are CPU-bound; an unsold core idles) → the twin steps 10 ms.
 * Budgets are not binding (1 MJ per tick): the question is the bids' and the heat's dynamics,
 * not the wallets'.
 *
 * Cost: every per-tick array is allocated once per run; 600 s simulated (60,000 ticks) took
 * 0.15–0.45 s per run on the 2-CPU development VM (Node 20, other work running), most of it the
 * twin and the clearing.
 */
import { CoreOffer } from '../heat-price/core-offer.js';
import { InvalidArgumentError } from '../errors.js';
import { SeededRandom } from '../internal/seeded-random.js';
import { BestResponder, type TieRule } from '../market/best-response.js';
import { Clearing, type BidArrays, type ClearingMode } from '../market/clearing.js';
import type { PlaneOffer } from '../market/engine.js';
import { EnvyFree } from '../market/envy-free.js';
import { ThermalTwin } from '../physics/thermal-twin.js';
import { DEFAULT_TWIN_PARAMS, type ThermalTwinParams } from '../physics/twin-params.js';
import { dominantOscillation, windowStats, type Oscillation } from '../simulation/oscillation.js';

export const STRATEGIES = ['truthful', 'value-share', 'best-response', 'shading'] as const;
/**
 * - `truthful`: bid = value.
 * - `value-share`: bid = share × value (the experiment's scientists, `--bid-share 0.8`).
 * - `best-response`: at random times (mean every 0.5 s, so agents move one at a time), the
 *   myopic best response to the others' current bids and this tick's offer (balanced bidding
 *   under GSP, nearest the value under VCG and uniform; `src/market/best-response.ts`), with
 *   1 % inertia.
 * - `shading`: an adversary that every tick bids just above (1 %) the highest other bid below
 *   its value, never below shade × value nor above its value: it keeps its rank while lowering
 *   what the agent above it pays.
 */
export type Strategy = (typeof STRATEGIES)[number];

export const MODES: readonly ClearingMode[] = ['gsp', 'vcg', 'uniform'];

export interface AgentSpec {
  readonly id: string;
  /** Value of a full quantum of the best core (per unit of quality), J. */
  readonly valueJ: number;
  readonly strategy: Strategy;
}

export interface GspScenario {
  readonly name: string;
  readonly description: string;
  readonly agents: readonly AgentSpec[];
  /**
   * Which bid best responders take inside the best range under GSP (VCG and uniform always
   * take the one nearest the value). @default 'balanced'
   */
  readonly gspTieRule?: TieRule;
}

/**
 * Values per quantum, J: a spread around the reserve of a core at the controllers' setpoint
 * (80 °C → multiplier ≈ 11 → ≈ 1.3 J per 10 ms quantum of an 11.5 W core), so the reserve
 * decides who runs and the feedback is live. Six agents for four cores.
 */
export const AGENT_VALUES_J = [2.4, 1.8, 1.4, 1.1, 0.8, 0.5] as const;

function agents(strategies: readonly Strategy[]): AgentSpec[] {
  return AGENT_VALUES_J.map((valueJ, i) => ({ id: `a${i}`, valueJ, strategy: strategies[i] ?? 'truthful' }));
}

export const GSP_SCENARIOS: readonly GspScenario[] = [
  { name: 'truthful', description: 'every agent bids its value', agents: agents(Array<Strategy>(6).fill('truthful')) },
  { name: 'value-share', description: 'every agent bids 0.8 × its value', agents: agents(Array<Strategy>(6).fill('value-share')) },
  { name: 'best-response', description: 'every agent best-responds (asynchronous, 1 % inertia)', agents: agents(Array<Strategy>(6).fill('best-response')) },
  {
    name: 'best-response-top',
    description: 'every agent best-responds, but under GSP takes the bid nearest its value in the best range (not balanced bidding)',
    agents: agents(Array<Strategy>(6).fill('best-response')),
    gspTieRule: 'truthful',
  },
  { name: 'shading', description: 'best responders and one shading adversary (the second-highest value)', agents: agents(['best-response', 'shading', 'best-response', 'best-response', 'best-response', 'best-response']) },
  { name: 'mixed', description: 'two best responders, one adversary, two truthful, one value-share', agents: agents(['best-response', 'shading', 'truthful', 'best-response', 'value-share', 'truthful']) },
];

export interface GspSimOptions {
  readonly mode: ClearingMode;
  readonly scenario: GspScenario;
  /** Simulated seconds. @default 600 */
  readonly durationS?: number;
  /** Seeds the twin's sensor noise and the strategies' timing. @default 1 */
  readonly seed?: number;
  /** @default DEFAULT_TWIN_PARAMS (4 cores and a GPU, idle) */
  readonly twin?: ThermalTwinParams;
  /** @default 80 (the daemon's default) */
  readonly setpointC?: number;
  /** @default 95 */
  readonly criticalC?: number;
  /** @default 0.8 */
  readonly valueShare?: number;
  /** @default 0.5 */
  readonly shadeFraction?: number;
  /** Mean time between a best responder's updates, s. @default 0.5 */
  readonly responsePeriodS?: number;
  /** Relative gain a best responder needs to change slot. @default 0.01 */
  readonly switchGain?: number;
  /** @default 10 (the daemon's `tieRotationTicks`) */
  readonly tieRotationTicks?: number;
  /** Called after each tick's clearing with views of the state (for inspection; the arrays are reused). */
  readonly onTick?: (tick: number, view: GspTickView) => void;
}

/** One tick as the simulation saw it (views reused by the next tick). */
export interface GspTickView {
  readonly offer: PlaneOffer;
  readonly bids: Float64Array;
  /** Per agent: slot won or −1. */
  readonly slotOf: Int32Array;
  /** Sensor readings the controllers and pricing used, °C. */
  readonly sensedC: Float64Array;
}

/** Stated thresholds of the "settled" verdict (over the last half of the run). */
export const SETTLED = {
  /** Window means of reserve and clearing price may move by this share of their mean. */
  priceDrift: 0.05,
  /** Window means of every core's temperature may move by this much, °C. */
  temperatureDriftC: 1,
  /** Window means of every agent's allocation share may move by this much. */
  shareDrift: 0.05,
  /**
   * Mean window variance in the last third over the first third of the windows; it counts only
   * when the last third's swing (√variance) is above the amplitude limit below, so tiny swings
   * that grow from tiny are not a failure.
   */
  varianceGrowth: 2,
  /** An oscillation counts when its amplitude exceeds: prices (share of mean), °C, share. */
  priceAmplitude: 0.02,
  temperatureAmplitudeC: 0.5,
  shareAmplitude: 0.05,
  /** Autocorrelation peak that makes a period significant. */
  minStrength: 0.3,
} as const;

/** How one series (or the worst of a group of series) behaved over the last half. */
export interface SeriesSummary {
  readonly mean: number;
  /** Max − min of the window means (for prices: divided by the mean). */
  readonly drift: number;
  /** √(mean window variance): the typical swing inside a window. */
  readonly withinStd: number;
  /** Mean window variance, last third / first third. */
  readonly varianceGrowth: number;
  /** √(mean window variance) over the last third of the windows. */
  readonly lastSwing: number;
  readonly oscillation: Oscillation | null;
  readonly settled: boolean;
}

export interface AgentOutcome {
  readonly id: string;
  readonly strategy: Strategy;
  readonly valueJ: number;
  /** Bid at the end of the run, J per unit of quality. */
  readonly finalBidJ: number;
  /** The LEF bid of the agent's value rank at the settled offer. */
  readonly lefBidJ: number;
  /** Its share of the quality sold, last half. */
  readonly share: number;
  /** Value won minus payments, last half, J/s. */
  readonly utilityPerS: number;
}

export interface GspRun {
  readonly scenario: string;
  readonly mode: ClearingMode;
  readonly durationS: number;
  readonly seed: number;
  readonly windowS: number;
  readonly windows: number;
  /** Mean reserve over the cores, J per full quantum. */
  readonly reserve: SeriesSummary;
  /** Payments / quality sold per tick, J per unit. */
  readonly price: SeriesSummary;
  /** Worst core (largest drift and swing, strongest oscillation), true twin temperature. */
  readonly temperature: SeriesSummary;
  /** Worst agent's allocation share. */
  readonly share: SeriesSummary;
  readonly settled: boolean;
  /** Window means over the last half, for the report. */
  readonly windowMeans: { readonly reserveJ: readonly number[]; readonly priceJ: readonly number[]; readonly hottestC: readonly number[] };
  /** Window variances over the last half (J², J², °C²). */
  readonly windowVariances: { readonly reserveJ: readonly number[]; readonly priceJ: readonly number[]; readonly hottestC: readonly number[] };
  /** Mean true temperature of the hottest core, last half, °C. */
  readonly hottestC: number;
  readonly slotsOffered: number;
  readonly slotsSold: number;
  /** Payments, last half, J/s. */
  readonly revenuePerS: number;
  /** Value of the quanta allocated / value of the truthful allocation of the same offers, last half. */
  readonly efficiency: number;
  /** Σ|payment − LEF payment| / Σ LEF payment per slot and tick, last window. */
  readonly lefPaymentDistance: number;
  /** Mean |bid − LEF bid| / LEF bid over value ranks 2…m+1, at the end. */
  readonly lefBidDistance: number;
  /** Revenue over LEF revenue, last window. */
  readonly lefRevenueRatio: number;
  readonly agents: readonly AgentOutcome[];
}

const TICK_S = 0.01;
const RATE_HZ = 100;
/**
 * Block lengths of the series the oscillation detector sees: 100 ms means (10 Hz) over the whole
 * last half for slow cycles, 20 ms means (50 Hz) within each window for fast ones (periods from
 * 0.06 s; the 10 Hz means alone missed the ≈ 0.2 s cycle of a twin with a 0.05 s dead time).
 */
const BLOCK_TICKS = 10;
const FAST_BLOCK_TICKS = 2;
const NO_BUDGET_LIMIT_J = 1e6;
const SHADE_STEP = 0.01;

/** The bidders of one run, by agent index. */
interface Bidders {
  readonly n: number;
  readonly value: Float64Array;
  readonly strategy: readonly Strategy[];
  /** Values from highest to lowest, as the LEF equilibrium takes them. */
  readonly valuesDesc: Float64Array;
  /** Agent indices by value rank (highest first; ties by index). */
  readonly rankOf: Int32Array;
  /** Every agent's bid (its strategy writes it each tick), budget and tie-break key, as the clearing reads them. */
  readonly bids: HeldBids;
}

interface HeldBids extends BidArrays {
  readonly price: Float64Array;
  readonly budget: Float64Array;
  readonly tieKey: Float64Array;
}

/** Ticks of the run, the start of the last half and of its last window. */
interface Schedule {
  readonly ticks: number;
  readonly half: number;
  readonly windowTicks: number;
  readonly lastWindowFrom: number;
}

/** One value per tick: what the summary reads after the run. */
interface Series {
  readonly reserve: Float64Array;
  readonly price: Float64Array;
  /** Per core: the twin's true temperature after the tick. */
  readonly temperature: readonly Float64Array[];
  /** Per agent: its share of the quality sold. */
  readonly share: readonly Float64Array[];
}

/** Sums over the last half (and, where named, its last window). */
interface Tally {
  offered: number;
  sold: number;
  revenue: number;
  welfare: number;
  optimum: number;
  lastWindowLefAbs: number;
  lastWindowLefRevenue: number;
  lastWindowRevenue: number;
  readonly utilityJ: Float64Array;
  /** Per slot rank over the last window: quality and reserve summed, and ticks the slot existed. */
  readonly slotQuality: Float64Array;
  readonly slotReserve: Float64Array;
  readonly slotSeen: Float64Array;
}

/** The state of one run: the daemon's parts, the agents, and what is recorded. */
interface GspSim {
  readonly mode: ClearingMode;
  readonly scenario: GspScenario;
  readonly seed: number;
  readonly valueShare: number;
  readonly shade: number;
  readonly responseTicks: number;
  readonly switchGain: number;
  readonly rotation: number;
  readonly rule: TieRule;
  readonly twin: ThermalTwin;
  readonly cores: number;
  readonly offerer: CoreOffer;
  readonly random: SeededRandom;
  readonly clearing: Clearing;
  readonly responder: BestResponder;
  readonly lef: EnvyFree;
  readonly bidders: Bidders;
  readonly schedule: Schedule;
  readonly reading: Float64Array;
  readonly coreReading: Float64Array;
  readonly utilisation: Float64Array;
  readonly paidBySlot: Float64Array;
  readonly series: Series;
  readonly tally: Tally;
}

/** What one tick's clearing sold. */
interface Cleared {
  readonly slots: number;
  readonly pay: number;
  readonly quality: number;
  /** Value of the quanta sold to their winners. */
  readonly realised: number;
}

/** Runs one scenario in one mode. Pure and deterministic: the same options give the same result. */
export function simulateGspStability(options: GspSimOptions): GspRun {
  const sim = setUpSimulation(options);
  for (let tick = 0; tick < sim.schedule.ticks; tick++) simulateTick(sim, tick, options.onTick);
  return summariseRun(sim);
}

function setUpSimulation(options: GspSimOptions): GspSim {
  const { mode, scenario } = options;
  const durationS = options.durationS ?? 600;
  const seed = options.seed ?? 1;
  if (!(durationS >= 2) || !Number.isFinite(durationS)) throw new InvalidArgumentError(`invalid durationS: ${String(durationS)} (at least 2 s)`);
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`invalid seed: ${String(seed)}`);
  const params = { ...(options.twin ?? DEFAULT_TWIN_PARAMS), seed };
  const twin = new ThermalTwin(params, TICK_S);
  const cores = twin.coreCount;
  const offerer = new CoreOffer({ twin: params, setpointC: options.setpointC ?? 80, criticalC: options.criticalC ?? 95, rateHz: RATE_HZ });
  const bidders = setUpBidders(scenario.agents);
  const schedule = setUpSchedule(durationS);
  const { ticks } = schedule;
  const reading = new Float64Array(twin.planes.length);
  return {
    mode,
    scenario,
    seed,
    valueShare: options.valueShare ?? 0.8,
    shade: options.shadeFraction ?? 0.5,
    responseTicks: Math.max(1, (options.responsePeriodS ?? 0.5) / TICK_S),
    switchGain: options.switchGain ?? 0.01,
    rotation: Math.max(1, Math.floor(options.tieRotationTicks ?? 10)),
    rule: mode === 'gsp' ? (scenario.gspTieRule ?? 'balanced') : 'truthful',
    twin,
    cores,
    offerer,
    random: new SeededRandom(seed ^ 0x5eed),
    clearing: new Clearing(64),
    responder: new BestResponder(64),
    lef: new EnvyFree(64),
    bidders,
    schedule,
    reading,
    coreReading: reading.subarray(0, cores),
    utilisation: new Float64Array(twin.sourceCount),
    paidBySlot: new Float64Array(cores),
    series: {
      reserve: new Float64Array(ticks),
      price: new Float64Array(ticks),
      temperature: Array.from({ length: cores }, () => new Float64Array(ticks)),
      share: Array.from({ length: bidders.n }, () => new Float64Array(ticks)),
    },
    tally: {
      offered: 0,
      sold: 0,
      revenue: 0,
      welfare: 0,
      optimum: 0,
      lastWindowLefAbs: 0,
      lastWindowLefRevenue: 0,
      lastWindowRevenue: 0,
      utilityJ: new Float64Array(bidders.n),
      slotQuality: new Float64Array(cores),
      slotReserve: new Float64Array(cores),
      slotSeen: new Float64Array(cores),
    },
  };
}

function setUpBidders(specs: readonly AgentSpec[]): Bidders {
  const n = specs.length;
  if (n < 1) throw new InvalidArgumentError('a scenario needs agents');
  const value = Float64Array.from(specs, (a) => a.valueJ);
  return {
    n,
    value,
    strategy: specs.map((a) => a.strategy),
    valuesDesc: Float64Array.from(value).sort().reverse(),
    rankOf: Int32Array.from(specs.map((_, i) => i)).sort((a, b) => (value[b] ?? 0) - (value[a] ?? 0) || a - b),
    bids: {
      price: Float64Array.from(value),
      budget: new Float64Array(n).fill(NO_BUDGET_LIMIT_J),
      tieKey: Float64Array.from(specs, (_, i) => i),
      count: n,
    },
  };
}

/** The statistics look at the last half only, in 30 windows, so the start-up transient is left out. */
function setUpSchedule(durationS: number): Schedule {
  const ticks = Math.round(durationS / TICK_S);
  const half = Math.floor(ticks / 2);
  const windows = 30;
  const windowTicks = Math.max(1, Math.floor((ticks - half) / windows));
  return { ticks, half, windowTicks, lastWindowFrom: ticks - windowTicks };
}

/** One 10 ms tick, in the daemon's order: sense → offer → bids → clearing → the winners run → the twin steps. */
function simulateTick(sim: GspSim, tick: number, onTick: GspSimOptions['onTick']): void {
  sim.twin.readSensors(sim.reading);
  const offer = sim.offerer.update(sim.coreReading);
  const key = Math.floor(tick / sim.rotation);
  setBids(sim, offer, key);
  const cleared = clearAndRun(sim, tick, offer, key);
  onTick?.(tick, { offer, bids: sim.bidders.bids.price, slotOf: sim.clearing.slotOf, sensedC: sim.coreReading });
  recordTick(sim, tick, cleared);
  if (tick >= sim.schedule.half) tallyLastHalf(sim, tick, offer, cleared);
  sim.twin.setUtilisations(sim.utilisation);
  sim.twin.step();
  for (let c = 0; c < sim.cores; c++) (sim.series.temperature[c] as Float64Array)[tick] = sim.twin.trueTemperature(c);
}

/** Each agent's strategy sets its bid for this tick's offer. */
function setBids(sim: GspSim, offer: PlaneOffer, key: number): void {
  const { n, value, strategy, bids } = sim.bidders;
  const bid = bids.price;
  const slots = offer.quality.length;
  for (let i = 0; i < n; i++) {
    const v = value[i] ?? 0;
    switch (strategy[i]) {
      case 'truthful':
        bid[i] = v;
        break;
      case 'value-share':
        bid[i] = sim.valueShare * v;
        break;
      case 'shading': {
        let next = 0;
        for (let j = 0; j < n; j++) {
          const b = bid[j] ?? 0;
          if (j !== i && b < v && b > next) next = b;
        }
        bid[i] = Math.min(v, Math.max(sim.shade * v, (1 + SHADE_STEP) * next));
        break;
      }
      case 'best-response':
        if (slots > 0 && sim.random.uniform() * sim.responseTicks < 1) {
          bid[i] = sim.responder.respond({ mode: sim.mode, offer, bids, self: i, value: v, tick: key, rule: sim.rule, switchGain: sim.switchGain }).bid;
        }
        break;
      default:
        break;
    }
  }
}

/** Clears the offer, runs each winner's core and records the agents' shares. */
function clearAndRun(sim: GspSim, tick: number, offer: PlaneOffer, key: number): Cleared {
  const { clearing, offerer, utilisation, paidBySlot } = sim;
  const { n, value, bids } = sim.bidders;
  const { quality, unit } = offer;
  const share = sim.series.share;
  const slots = quality.length;
  utilisation.fill(0);
  paidBySlot.fill(0);
  let pay = 0;
  let q = 0;
  let realised = 0;
  if (slots > 0) {
    clearing.clear(sim.mode, offer, bids, key);
    for (let i = 0; i < n; i++) {
      const s = clearing.slotOf[i] ?? -1;
      if (s < 0) {
        (share[i] as Float64Array)[tick] = 0;
        continue;
      }
      const core = unit[s] ?? 0;
      // The winner runs its core for the core's whole allowance (the daemon's quota).
      utilisation[core] = offerer.allowance[core] ?? 0;
      const qs = quality[s] ?? 0;
      const p = clearing.payment[i] ?? 0;
      paidBySlot[s] = p;
      pay += p;
      q += qs;
      realised += (value[i] ?? 0) * qs;
      if (tick >= sim.schedule.half) sim.tally.utilityJ[i] = (sim.tally.utilityJ[i] ?? 0) + (value[i] ?? 0) * qs - p;
    }
    for (let i = 0; i < n; i++) {
      const s = clearing.slotOf[i] ?? -1;
      if (s >= 0) (share[i] as Float64Array)[tick] = (quality[s] ?? 0) / q;
    }
  } else {
    for (let i = 0; i < n; i++) (share[i] as Float64Array)[tick] = 0;
  }
  // With nothing offered the clearing did not run: its last winners must not show as this tick's.
  if (slots === 0) clearing.slotOf.fill(-1, 0, n);
  return { slots, pay, quality: q, realised };
}

function recordTick(sim: GspSim, tick: number, cleared: Cleared): void {
  let reserveSum = 0;
  for (let c = 0; c < sim.cores; c++) reserveSum += sim.offerer.reservePerQuantumJ[c] ?? 0;
  sim.series.reserve[tick] = reserveSum / sim.cores;
  sim.series.price[tick] = cleared.quality > 0 ? cleared.pay / cleared.quality : Number.NaN;
}

/** Adds the tick to the last-half sums, and in the last window compares it with the LEF equilibrium of its offer. */
function tallyLastHalf(sim: GspSim, tick: number, offer: PlaneOffer, cleared: Cleared): void {
  const { tally, clearing } = sim;
  const { quality, reserve } = offer;
  const { slots, pay } = cleared;
  const equilibrium = sim.lef.compute(quality, reserve, sim.bidders.valuesDesc);
  tally.offered += slots;
  tally.sold += clearing.winners * (slots > 0 ? 1 : 0);
  tally.revenue += pay;
  tally.welfare += cleared.realised;
  tally.optimum += equilibrium.welfare;
  if (tick < sim.schedule.lastWindowFrom) return;
  const soldNow = slots > 0 ? clearing.winners : 0;
  const span = Math.max(soldNow, equilibrium.sold);
  for (let s = 0; s < span; s++) {
    const target = s < equilibrium.sold ? (equilibrium.payments[s] ?? 0) : 0;
    tally.lastWindowLefAbs += Math.abs((s < soldNow ? (sim.paidBySlot[s] ?? 0) : 0) - target);
    tally.lastWindowLefRevenue += target;
  }
  tally.lastWindowRevenue += pay;
  for (let s = 0; s < slots; s++) {
    tally.slotQuality[s] = (tally.slotQuality[s] ?? 0) + (quality[s] ?? 0);
    tally.slotReserve[s] = (tally.slotReserve[s] ?? 0) + (reserve[s] ?? 0);
    tally.slotSeen[s] = (tally.slotSeen[s] ?? 0) + 1;
  }
}

/**
 * The LEF bids at the settled offer (per slot rank, the mean quality and reserve over the last
 * window), and the final bids' mean relative distance from them over value ranks 2…m+1.
 */
function lefBidsAtSettledOffer(sim: GspSim): { readonly lefBids: Float64Array; readonly distance: number } {
  const { cores, tally, bidders, schedule } = sim;
  let settledSlots = 0;
  while (settledSlots < cores && (tally.slotSeen[settledSlots] ?? 0) > schedule.windowTicks / 2) settledSlots++;
  const settledQ = new Float64Array(settledSlots);
  const settledR = new Float64Array(settledSlots);
  for (let s = 0; s < settledSlots; s++) {
    settledQ[s] = (tally.slotQuality[s] ?? 0) / (tally.slotSeen[s] ?? 1);
    settledR[s] = (tally.slotReserve[s] ?? 0) / (tally.slotSeen[s] ?? 1);
    if (s > 0) settledQ[s] = Math.min(settledQ[s] ?? 0, settledQ[s - 1] ?? 0);
  }
  const settledLef = sim.lef.compute(settledQ, settledR, bidders.valuesDesc);
  const lefBids = Float64Array.from(settledLef.bids);
  let sum = 0;
  let terms = 0;
  for (let rank = 1; rank < bidders.n && rank <= settledLef.sold; rank++) {
    const agent = bidders.rankOf[rank] ?? 0;
    const target = lefBids[rank] ?? 0;
    if (!(target > 0)) continue;
    sum += Math.abs((bidders.bids.price[agent] ?? 0) - target) / target;
    terms++;
  }
  return { lefBids, distance: terms > 0 ? sum / terms : Number.NaN };
}

function summariseRun(sim: GspSim): GspRun {
  const { ticks, half, windowTicks } = sim.schedule;
  const { series, tally, bidders } = sim;
  const halfS = (ticks - half) * TICK_S;
  const summarise = (s: Float64Array, kind: 'price' | 'temperature' | 'share'): SeriesSummary => summariseSeries(s, half, windowTicks, kind);
  const reserveSummary = summarise(series.reserve, 'price');
  const priceSummary = summarise(series.price, 'price');
  const temperature = worst(series.temperature.map((s) => summarise(s, 'temperature')));
  const share = worst(series.share.map((s) => summarise(s, 'share')));
  const hottestStats = windowStats(hottestSeries(series.temperature, ticks), half, windowTicks);
  const hottestWindows = hottestStats.means;
  const reserveStats = windowStats(series.reserve, half, windowTicks);
  const priceStats = windowStats(series.price, half, windowTicks);
  const lef = lefBidsAtSettledOffer(sim);
  const agentOutcomes: AgentOutcome[] = sim.scenario.agents.map((a, i) => {
    const rank = bidders.rankOf.indexOf(i);
    let shareSum = 0;
    const mine = series.share[i] as Float64Array;
    for (let t = half; t < ticks; t++) shareSum += mine[t] ?? 0;
    return {
      id: a.id,
      strategy: a.strategy,
      valueJ: a.valueJ,
      finalBidJ: bidders.bids.price[i] ?? 0,
      lefBidJ: lef.lefBids[rank] ?? 0,
      share: shareSum / (ticks - half),
      utilityPerS: (tally.utilityJ[i] ?? 0) / halfS,
    };
  });
  let hottestSum = 0;
  for (const m of hottestWindows) hottestSum += m;
  return {
    scenario: sim.scenario.name,
    mode: sim.mode,
    durationS: ticks * TICK_S,
    seed: sim.seed,
    windowS: windowTicks * TICK_S,
    windows: Math.floor((ticks - half) / windowTicks),
    reserve: reserveSummary,
    price: priceSummary,
    temperature,
    share,
    settled: reserveSummary.settled && priceSummary.settled && temperature.settled && share.settled,
    windowMeans: { reserveJ: Array.from(reserveStats.means), priceJ: Array.from(priceStats.means), hottestC: Array.from(hottestWindows) },
    windowVariances: { reserveJ: Array.from(reserveStats.variances), priceJ: Array.from(priceStats.variances), hottestC: Array.from(hottestStats.variances) },
    hottestC: hottestSum / Math.max(1, hottestWindows.length),
    slotsOffered: tally.offered / (ticks - half),
    slotsSold: tally.sold / (ticks - half),
    revenuePerS: tally.revenue / halfS,
    efficiency: tally.optimum > 0 ? tally.welfare / tally.optimum : Number.NaN,
    lefPaymentDistance: tally.lastWindowLefRevenue > 0 ? tally.lastWindowLefAbs / tally.lastWindowLefRevenue : Number.NaN,
    lefBidDistance: lef.distance,
    lefRevenueRatio: tally.lastWindowLefRevenue > 0 ? tally.lastWindowRevenue / tally.lastWindowLefRevenue : Number.NaN,
    agents: agentOutcomes,
  };
}

function hottestSeries(series: readonly Float64Array[], ticks: number): Float64Array {
  const out = new Float64Array(ticks).fill(Number.NEGATIVE_INFINITY);
  for (const s of series) for (let t = 0; t < ticks; t++) out[t] = Math.max(out[t] ?? 0, s[t] ?? 0);
  return out;
}

/** 100 ms means of `series[from…]` (NaN samples skipped; an all-NaN block repeats the last). */
export function blockMeans(series: ArrayLike<number>, from: number, block: number): Float64Array {
  const count = Math.floor((series.length - from) / block);
  const out = new Float64Array(count);
  let last = 0;
  for (let b = 0; b < count; b++) {
    let sum = 0;
    let k = 0;
    for (let i = from + b * block; i < from + (b + 1) * block; i++) {
      const v = series[i] ?? Number.NaN;
      if (Number.isFinite(v)) {
        sum += v;
        k++;
      }
    }
    last = k > 0 ? sum / k : last;
    out[b] = last;
  }
  return out;
}

function summariseSeries(series: Float64Array, from: number, windowTicks: number, kind: 'price' | 'temperature' | 'share'): SeriesSummary {
  const { means, variances } = windowStats(series, from, windowTicks);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let count = 0;
  let varSum = 0;
  for (let w = 0; w < means.length; w++) {
    const m = means[w] ?? Number.NaN;
    if (!Number.isFinite(m)) continue;
    lo = Math.min(lo, m);
    hi = Math.max(hi, m);
    sum += m;
    varSum += variances[w] ?? 0;
    count++;
  }
  const mean = count > 0 ? sum / count : Number.NaN;
  const third = Math.max(1, Math.floor(means.length / 3));
  const meanOf = (a: number, b: number): number => {
    let s = 0;
    let k = 0;
    for (let w = a; w < b; w++) {
      const v = variances[w] ?? Number.NaN;
      if (Number.isFinite(v)) {
        s += v;
        k++;
      }
    }
    return k > 0 ? s / k : Number.NaN;
  };
  const first = meanOf(0, third);
  const last = meanOf(means.length - third, means.length);
  const growth = first > 0 ? last / first : last > 0 ? Number.POSITIVE_INFINITY : 1;
  const range = count > 0 ? hi - lo : Number.NaN;
  const drift = kind === 'price' ? (mean > 0 ? range / mean : Number.NaN) : range;
  // Two looks: the whole last half (slow cycles, up to a third of it) and window-long segments
  // (fast cycles on top of a slow wander, up to a third of a window); the stronger is reported.
  const whole = dominantOscillation(blockMeans(series, from, BLOCK_TICKS), BLOCK_TICKS * TICK_S, { minStrength: SETTLED.minStrength });
  const fast = dominantOscillation(blockMeans(series, from, FAST_BLOCK_TICKS), FAST_BLOCK_TICKS * TICK_S, { minStrength: SETTLED.minStrength, segment: Math.floor(windowTicks / FAST_BLOCK_TICKS) });
  const oscillation = whole === null || (fast !== null && fast.amplitude > whole.amplitude) ? fast : whole;
  const driftLimit = kind === 'price' ? SETTLED.priceDrift : kind === 'temperature' ? SETTLED.temperatureDriftC : SETTLED.shareDrift;
  const amplitudeLimit = kind === 'price' ? SETTLED.priceAmplitude * Math.abs(mean) : kind === 'temperature' ? SETTLED.temperatureAmplitudeC : SETTLED.shareAmplitude;
  const oscillates = oscillation !== null && oscillation.amplitude > amplitudeLimit;
  // An empty series (nothing ever sold) is "settled" only in the trivial sense; the report says so.
  const lastSwing = Math.sqrt(last);
  const grows = growth > SETTLED.varianceGrowth && lastSwing > amplitudeLimit;
  const settled = (Number.isNaN(drift) || drift <= driftLimit) && !grows && !oscillates;
  return { mean, drift, withinStd: Math.sqrt(count > 0 ? varSum / count : Number.NaN), varianceGrowth: growth, lastSwing, oscillation, settled };
}

/** The worst of several series: largest drift, swing and growth, strongest oscillation; settled only if all are. */
function worst(summaries: readonly SeriesSummary[]): SeriesSummary {
  let out: SeriesSummary | undefined;
  for (const s of summaries) {
    if (out === undefined) {
      out = s;
      continue;
    }
    const osc = (s.oscillation?.amplitude ?? -1) > (out.oscillation?.amplitude ?? -1) ? s.oscillation : out.oscillation;
    out = {
      mean: Math.max(out.mean, s.mean),
      drift: Math.max(out.drift, s.drift),
      withinStd: Math.max(out.withinStd, s.withinStd),
      varianceGrowth: Math.max(out.varianceGrowth, s.varianceGrowth),
      lastSwing: Math.max(out.lastSwing, s.lastSwing),
      oscillation: osc,
      settled: out.settled && s.settled,
    };
  }
  if (out === undefined) throw new InvalidArgumentError('no series');
  return out;
}

/** Why a run is not settled, in words (empty when it is). */
export function unsettledBecause(run: Pick<GspRun, 'reserve' | 'price' | 'temperature' | 'share'>): string[] {
  const out: string[] = [];
  const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
  const check = (name: string, s: SeriesSummary, kind: 'price' | 'temperature' | 'share'): void => {
    if (s.settled) return;
    const driftLimit = kind === 'price' ? SETTLED.priceDrift : kind === 'temperature' ? SETTLED.temperatureDriftC : SETTLED.shareDrift;
    const unit = kind === 'temperature' ? ' °C' : '';
    const show = (v: number): string => (kind === 'price' ? pct(v) : `${v.toFixed(kind === 'temperature' ? 2 : 3)}${unit}`);
    if (s.drift > driftLimit) out.push(`${name} drifts ${show(s.drift)} (> ${show(driftLimit)})`);
    const limit = kind === 'price' ? SETTLED.priceAmplitude * Math.abs(s.mean) : kind === 'temperature' ? SETTLED.temperatureAmplitudeC : SETTLED.shareAmplitude;
    if (s.varianceGrowth > SETTLED.varianceGrowth && s.lastSwing > limit) out.push(`${name} swing grows ${s.varianceGrowth.toFixed(2)}× (> ${SETTLED.varianceGrowth}×) to ±${s.lastSwing.toFixed(3)}${kind === 'price' ? ' J' : unit}`);
    const o = s.oscillation;
    if (o !== null) {
      if (o.amplitude > limit) out.push(`${name} cycles every ${o.periodS.toFixed(2)} s, ±${o.amplitude.toFixed(3)}${kind === 'price' ? ' J' : unit} (r ${o.strength.toFixed(2)})`);
    }
  };
  check('reserve', run.reserve, 'price');
  check('price', run.price, 'price');
  check('temperature', run.temperature, 'temperature');
  check('share', run.share, 'share');
  return out;
}

export interface GspResearchOptions {
  /** A short run (30 s simulated per scenario and mode): seconds of CPU, for tests. */
  readonly quick?: boolean;
  /** Simulated seconds per scenario and mode. @default 600 (quick: 30) */
  readonly durationS?: number;
  /** @default 1 */
  readonly seed?: number;
  readonly scenarios?: readonly GspScenario[];
  readonly modes?: readonly ClearingMode[];
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface GspRunReport extends GspRun {
  readonly unsettledBecause: readonly string[];
}

/** GSP with best responders on a twin whose cores have another dead time: does the cycle follow it? */
export interface DeadTimeSensitivity {
  readonly coreDeadTimeS: number;
  readonly run: GspRunReport;
}

export interface GspResearchReport {
  readonly provenance: { readonly kind: 'modelled'; readonly source: string };
  readonly durationS: number;
  readonly seed: number;
  readonly thresholds: typeof SETTLED;
  readonly scenarios: readonly GspScenario[];
  readonly runs: readonly GspRunReport[];
  /** The `best-response` scenario under GSP with the cores' dead time halved and doubled (the table's run is the default, 0.1 s). */
  readonly deadTimeSensitivity: readonly DeadTimeSensitivity[];
  readonly findings: readonly string[];
}

/** Core dead times of the sensitivity runs, s (the default twin's is 0.1 s). */
export const SENSITIVITY_DEAD_TIMES_S = [0.05, 0.2] as const;

/** The twin as the report names it. */
export const GSP_TWIN_SOURCE =
  'thermal twin (docs/DESIGN.md defaults: 4 cores coupled by K, idle GPU, leakage; sensor noise 0.5 °C in 0.125 °C steps), simulated at 100 Hz; PID per core (setpoint 80 °C), thermal reserves and offer order as the daemon builds them';

/** Runs every scenario in every mode. Pure and deterministic (the progress callback aside). */
export function runGspStabilityResearch(options: GspResearchOptions = {}): GspResearchReport {
  const durationS = options.durationS ?? (options.quick === true ? 30 : 600);
  const seed = options.seed ?? 1;
  const scenarios = options.scenarios ?? GSP_SCENARIOS;
  const modes = options.modes ?? MODES;
  const responders = scenarios.find((s) => s.name === 'best-response');
  const sensitivity = responders !== undefined && modes.includes('gsp') ? SENSITIVITY_DEAD_TIMES_S : [];
  const total = scenarios.length * modes.length + sensitivity.length;
  const runs: GspRunReport[] = [];
  let done = 0;
  for (const scenario of scenarios) {
    for (const mode of modes) {
      options.onProgress?.(++done, total, `${scenario.name}, ${mode}`);
      const run = simulateGspStability({ mode, scenario, durationS, seed });
      runs.push({ ...run, unsettledBecause: unsettledBecause(run) });
    }
  }
  const deadTimeSensitivity: DeadTimeSensitivity[] = [];
  for (const coreDeadTimeS of sensitivity) {
    if (responders === undefined) break;
    options.onProgress?.(++done, total, `best-response, gsp, core dead time ${coreDeadTimeS} s`);
    const twin = { ...DEFAULT_TWIN_PARAMS, core: { ...DEFAULT_TWIN_PARAMS.core, deadTimeS: coreDeadTimeS } };
    const run = simulateGspStability({ mode: 'gsp', scenario: responders, durationS, seed, twin });
    deadTimeSensitivity.push({ coreDeadTimeS, run: { ...run, unsettledBecause: unsettledBecause(run) } });
  }
  return { provenance: { kind: 'modelled', source: GSP_TWIN_SOURCE }, durationS, seed, thresholds: SETTLED, scenarios, runs, deadTimeSensitivity, findings: [...gspFindings(runs, modes), ...sensitivityFindings(runs, deadTimeSensitivity)] };
}

/** What the dead-time runs say about the GSP best-response cycle, computed from them. */
export function sensitivityFindings(runs: readonly GspRunReport[], sensitivity: readonly DeadTimeSensitivity[]): string[] {
  const base = runs.find((r) => r.mode === 'gsp' && r.scenario === 'best-response');
  if (base === undefined || sensitivity.length === 0) return [];
  const rows = [{ coreDeadTimeS: DEFAULT_TWIN_PARAMS.core.deadTimeS, run: base }, ...sensitivity].sort((a, b) => a.coreDeadTimeS - b.coreDeadTimeS);
  const parts = rows.map(({ coreDeadTimeS, run }) => {
    const o = run.reserve.oscillation;
    return o === null ? `θ ${coreDeadTimeS} s: no reserve cycle` : `θ ${coreDeadTimeS} s: ${o.periodS.toFixed(2)} s (${(o.periodS / coreDeadTimeS).toFixed(1)} θ)`;
  });
  return [`GSP best-response reserve cycle against the cores' dead time θ: ${parts.join(', ')}`];
}

/** Plain statements the runs support, computed from them. */
export function gspFindings(runs: readonly GspRunReport[], modes: readonly ClearingMode[] = MODES): string[] {
  const out: string[] = [];
  const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : 'n/a');
  for (const mode of modes) {
    const mine = runs.filter((r) => r.mode === mode);
    if (mine.length === 0) continue;
    const settled = mine.filter((r) => r.settled);
    let line = `${mode.toUpperCase()}: settles in ${settled.length} of ${mine.length} scenarios`;
    if (settled.length > 0) line += ` (${settled.map((r) => r.scenario).join(', ')})`;
    const unsettled = mine.filter((r) => !r.settled);
    if (unsettled.length > 0) line += `; not in ${unsettled.map((r) => `${r.scenario} (${r.unsettledBecause.join('; ')})`).join(', ')}`;
    out.push(line);
    const big = (r: GspRunReport): boolean => (r.temperature.oscillation?.amplitude ?? 0) > SETTLED.temperatureAmplitudeC;
    const describe = (r: GspRunReport): string => `${r.scenario} (period ${r.temperature.oscillation?.periodS.toFixed(2) ?? '?'} s, ±${r.temperature.oscillation?.amplitude.toFixed(2) ?? '?'} °C)`;
    const cycles = mine.filter(big);
    const small = mine.filter((r) => r.temperature.oscillation !== null && !big(r));
    let cycleLine = cycles.length === 0 ? `${mode.toUpperCase()}: no temperature cycle above ±${SETTLED.temperatureAmplitudeC} °C in any scenario` : `${mode.toUpperCase()}: temperatures cycle in ${cycles.map(describe).join(', ')}`;
    if (small.length > 0) cycleLine += `; below the ±${SETTLED.temperatureAmplitudeC} °C limit: ${small.map(describe).join(', ')}`;
    out.push(cycleLine);
    const lef = mine.map((r) => `${r.scenario} ${pct(r.lefPaymentDistance)}`).join(', ');
    out.push(`${mode.toUpperCase()}: payments' distance from the LEF payments (last window): ${lef}`);
    const eff = mine.map((r) => r.efficiency).filter(Number.isFinite);
    if (eff.length > 0) out.push(`${mode.toUpperCase()}: efficiency (value allocated / truthful allocation, last half) ${pct(Math.min(...eff))} – ${pct(Math.max(...eff))}`);
  }
  const br = runs.find((r) => r.mode === 'gsp' && r.scenario === 'best-response');
  if (br !== undefined) {
    out.push(
      `GSP with best responders: final bids are ${pct(br.lefBidDistance)} from the LEF bids at the settled offer; the clearing price averages ${br.price.mean.toFixed(3)} J per unit (truthful GSP: ${runs.find((r) => r.mode === 'gsp' && r.scenario === 'truthful')?.price.mean.toFixed(3) ?? 'n/a'} J), the hottest core averages ${br.hottestC.toFixed(1)} °C and ${br.slotsSold.toFixed(2)} of ${br.slotsOffered.toFixed(2)} slots sell per tick`,
    );
  }
  return out;
}

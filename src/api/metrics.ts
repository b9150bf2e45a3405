/**
 * The daemon's state in the Prometheus exposition format (`prom-client`), for `GET /metrics`.
 * Every scrape takes one snapshot and sets the gauges and counters from it; what happens per
 * tick (clearing cost, lateness, quanta sold, clearing prices) is observed from the tick stream.
 * Temperatures and energies carry a `provenance` label (`measured` or `modelled`) and a `source`
 * label naming the sensor or model, so a dashboard never shows a model's number as a reading.
 * Names follow Prometheus conventions: base units (`_celsius`, `_joules`, `_seconds`, `_watts`),
 * `_total` on counters. docs/OPERATIONS.md lists them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DaemonControl, TickEvent } from './control.js';

/** Where a temperature or energy figure came from: `modelled: thermal twin …` → provenance and source. */
export function provenanceLabels(source: string): { provenance: string; source: string } {
  const match = /^(measured|modelled):\s*(.*)$/is.exec(source.trim());
  // Unlabelled text is never passed off as a reading.
  if (match === null) return { provenance: 'unknown', source };
  return { provenance: (match[1] ?? '').toLowerCase(), source: match[2] ?? source };
}

/** Clearing costs sit in the tens of microseconds; lateness in the tenths of a millisecond. */
const CLEARING_BUCKETS_S = [10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3];
const LATENESS_BUCKETS_S = [50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 10e-3, 25e-3, 50e-3, 100e-3];
/** A ledger commit is one SQLite transaction in WAL mode: tens of microseconds to a few milliseconds. */
const LEDGER_COMMIT_BUCKETS_S = [25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3];

export interface DaemonMetrics {
  readonly contentType: string;
  /** The exposition text of this instant. */
  render(): Promise<string>;
  /** Stops listening to ticks. */
  close(): void;
}

export function createDaemonMetrics(control: DaemonControl): DaemonMetrics {
  const registry = new Registry();
  // The daemon's own CPU, memory, event-loop lag and file descriptors (process_*, nodejs_*).
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const core = ['core', 'plane'] as const;
  const g = {
    info: new Gauge({ name: 'maxwell_info', help: 'Always 1; the labels say where energy comes from and which auction runs', labelNames: ['energy_source', 'agent_energy_source'], registers: r }),
    temperature: new Gauge({ name: 'maxwell_core_temperature_celsius', help: 'Temperature per core, °C; provenance says measured or modelled, source which sensor or model', labelNames: [...core, 'provenance', 'source'], registers: r }),
    reserve: new Gauge({ name: 'maxwell_core_reserve_price_joules', help: 'Reserve price per core, J per quantum (10 ms)', labelNames: core, registers: r }),
    multiplier: new Gauge({ name: 'maxwell_core_price_multiplier_ratio', help: 'Thermal price multiplier per core (1 = base price)', labelNames: core, registers: r }),
    allowance: new Gauge({ name: 'maxwell_core_allowance_ratio', help: "Share of the core its controller sells now (1 = all)", labelNames: core, registers: r }),
    setpoint: new Gauge({ name: 'maxwell_core_setpoint_celsius', help: 'Temperature the core’s controller holds, °C', labelNames: core, registers: r }),
    power: new Gauge({ name: 'maxwell_package_power_watts', help: 'Package power, W', labelNames: ['provenance', 'source'], registers: r }),
    energy: new Counter({ name: 'maxwell_package_energy_joules_total', help: 'Package energy since the daemon started, J', labelNames: ['provenance', 'source'], registers: r }),
    balance: new Gauge({ name: 'maxwell_agent_balance_joules', help: 'Wallet balance per agent, J', labelNames: ['agent', 'role', 'runtime'], registers: r }),
    phase: new Gauge({ name: 'maxwell_agent_phase', help: '1 for the phase the agent is in (starting, running, paused, dying, dead)', labelNames: ['agent', 'phase'], registers: r }),
    agentCpu: new Counter({ name: 'maxwell_agent_cpu_seconds_total', help: 'CPU time per agent (its cgroup), s', labelNames: ['agent', 'source'], registers: r }),
    agentEnergy: new Counter({ name: 'maxwell_agent_energy_joules_total', help: 'Package energy attributed to the agent by CPU share, J (maxwell_info{agent_energy_source} says how)', labelNames: ['agent', 'provenance'], registers: r }),
    paid: new Counter({ name: 'maxwell_agent_paid_joules_total', help: 'Joules the agent paid for quanta', labelNames: ['agent'], registers: r }),
    income: new Counter({ name: 'maxwell_agent_income_joules_total', help: 'Joules the agent earned for verified work', labelNames: ['agent'], registers: r }),
    tax: new Counter({ name: 'maxwell_agent_landauer_tax_joules_total', help: 'Landauer tax the agent paid for erased memory, J', labelNames: ['agent'], registers: r }),
    won: new Counter({ name: 'maxwell_agent_quanta_won_total', help: 'Quanta the agent won', labelNames: ['agent'], registers: r }),
    primes: new Counter({ name: 'maxwell_agent_verified_primes_total', help: 'Primes the agent reported that the oracle verified', labelNames: ['agent'], registers: r }),
    tokens: new Counter({ name: 'maxwell_agent_verified_tokens_total', help: 'Inference tokens verified and paid for', labelNames: ['agent'], registers: r }),
    taxTotal: new Counter({ name: 'maxwell_landauer_tax_joules_total', help: 'Landauer tax paid by all agents, J', registers: r }),
    ledger: new Gauge({ name: 'maxwell_ledger_entries', help: 'Entries on the hash-chained ledger (its height)', registers: r }),
    ticks: new Counter({ name: 'maxwell_ticks_total', help: 'Market ticks run', registers: r }),
    failed: new Counter({ name: 'maxwell_failed_ticks_total', help: 'Ticks skipped because something threw', registers: r }),
    missed: new Counter({ name: 'maxwell_missed_ticks_total', help: 'Grid points the tick loop skipped because the tick before ran past them (not in maxwell_tick_lateness_seconds)', registers: r }),
    overhead: new Gauge({ name: 'maxwell_daemon_cpu_ratio', help: "The daemon's own CPU since start, fraction of one core (WASM agents excluded)", registers: r }),
    fleet: new Gauge({ name: 'maxwell_fleet_members', help: 'Fleet members this node knows, by state', labelNames: ['state'], registers: r }),
    fleetMultiplier: new Gauge({ name: 'maxwell_fleet_price_multiplier_ratio', help: "Multiplier on this node's prices from its neighbours' heat (1 = none)", registers: r }),
  };
  const clearing = new Gauge({ name: 'maxwell_core_clearing_price_joules', help: 'Last price paid for a quantum on the core (the second-price clearing), J', labelNames: ['core'], registers: r });
  const sold = new Counter({ name: 'maxwell_quanta_sold_total', help: 'Quanta sold, per core', labelNames: ['core'], registers: r });
  const clearingTime = new Histogram({ name: 'maxwell_clearing_duration_seconds', help: 'Time to clear one tick’s auction, s (monotonic clock)', buckets: CLEARING_BUCKETS_S, registers: r });
  const lateness = new Histogram({ name: 'maxwell_tick_lateness_seconds', help: 'How late each tick started against its grid, s (the tick jitter)', buckets: LATENESS_BUCKETS_S, registers: r });

  const ledgerCommit = new Histogram({ name: 'maxwell_ledger_commit_duration_seconds', help: 'Time to write one ledger commit (its SQLite transaction), s (monotonic clock)', buckets: LEDGER_COMMIT_BUCKETS_S, registers: r });
  const stopCommits = control.onLedgerCommit((commit) => { ledgerCommit.observe(commit.durationMs / 1000); });

  let packageEnergyJ = 0;
  // The tick path only counts into plain arrays; prom-client's labelled calls (≈ 0.3 µs each) run
  // at scrape time, once per core (npm run bench: the listener at 64 awards a tick).
  let soldSince = new Float64Array(0);
  let lastPayment = new Float64Array(0);
  const unsubscribe = control.onTick((event: TickEvent) => {
    packageEnergyJ = event.energyJ;
    clearingTime.observe(event.clearingMs / 1000);
    lateness.observe(Math.max(0, event.latenessMs) / 1000);
    for (const award of event.awards) {
      const unit = award.unit;
      if (unit >= soldSince.length) {
        const grow = (old: Float64Array, fill: number): Float64Array<ArrayBuffer> => { const next = new Float64Array(Math.max(unit + 1, 2 * old.length)).fill(fill); next.set(old); return next; };
        soldSince = grow(soldSince, 0);
        lastPayment = grow(lastPayment, Number.NaN);
      }
      soldSince[unit] = (soldSince[unit] ?? 0) + 1;
      lastPayment[unit] = award.paymentJ;
    }
  });
  const flushTicks = (): void => {
    for (let unit = 0; unit < soldSince.length; unit++) {
      const n = soldSince[unit] ?? 0;
      const core = String(unit);
      if (n > 0) sold.inc({ core }, n);
      soldSince[unit] = 0;
      const paid = lastPayment[unit] ?? Number.NaN;
      if (!Number.isNaN(paid)) clearing.set({ core }, paid);
    }
  };

  /** A counter shown at an absolute value (read from the daemon, which counts). */
  const setCounter = (counter: Counter, labels: Record<string, string>, value: number): void => {
    if (Number.isFinite(value) && value > 0) counter.inc(labels, value);
  };

  const refresh = (): void => {
    flushTicks();
    const s = control.snapshot();
    const meters = control.agentMeters();
    for (const metric of Object.values(g)) metric.reset();
    const energy = provenanceLabels(s.energySource);
    g.info.set({ energy_source: s.energySource, agent_energy_source: meters.energySource }, 1);
    for (const p of s.planes) {
      const labels = { core: String(p.unit), plane: p.plane };
      if (Number.isFinite(p.temperatureC)) g.temperature.set({ ...labels, ...provenanceLabels(p.temperatureSource) }, p.temperatureC);
      if (Number.isFinite(p.reservePerQuantumJ)) g.reserve.set(labels, p.reservePerQuantumJ);
      if (Number.isFinite(p.multiplier)) g.multiplier.set(labels, p.multiplier);
      if (Number.isFinite(p.allowance)) g.allowance.set(labels, p.allowance);
      g.setpoint.set(labels, p.setpointC);
    }
    if (Number.isFinite(s.powerW)) g.power.set(energy, s.powerW);
    setCounter(g.energy, energy, packageEnergyJ);
    for (const a of s.agents) {
      const agent = { agent: a.id };
      g.balance.set({ ...agent, role: a.role, runtime: a.runtime }, a.balanceJ);
      g.phase.set({ ...agent, phase: a.phase }, 1);
      setCounter(g.paid, agent, a.paidJ);
      setCounter(g.income, agent, a.incomeJ);
      setCounter(g.tax, agent, a.taxJ);
      setCounter(g.won, agent, a.quantaWon);
      setCounter(g.primes, agent, a.verifiedPrimes);
      setCounter(g.tokens, agent, a.inference?.verifiedTokens ?? 0);
    }
    for (const m of meters.agents) {
      setCounter(g.agentCpu, { agent: m.agentId, source: m.cpuSource }, m.cpuS);
      setCounter(g.agentEnergy, { agent: m.agentId, provenance: energy.provenance }, m.energyJ);
    }
    setCounter(g.taxTotal, {}, s.landauerTaxJ);
    setCounter(g.missed, {}, s.missedTicks);
    g.ledger.set(s.ledgerHeight);
    setCounter(g.ticks, {}, s.tick);
    setCounter(g.failed, {}, s.failedTicks);
    g.overhead.set(s.overheadFraction);
    const states = new Map<string, number>();
    for (const m of s.fleet.members) states.set(m.state, (states.get(m.state) ?? 0) + 1);
    for (const [state, n] of states) g.fleet.set({ state }, n);
    g.fleetMultiplier.set(s.fleet.stress.applied);
  };

  return {
    contentType: registry.contentType,
    render: async () => {
      refresh();
      return registry.metrics();
    },
    close: () => {
      unsubscribe();
      stopCommits();
    },
  };
}

/**
 * Market, observe or admission: what differs between the experiment's arms, as a policy object
 * instead of tests of a mode flag scattered through the session.
 *
 * - `market`: the auction decides who runs; winners pay, verified work earns, erasure is taxed,
 *   hot cores are emptied at once and insolvent agents die.
 * - `observe`: plain Linux CFS schedules; the session measures the same things (telemetry,
 *   protocol, prime oracle, erasure) but sells nothing, so it never pauses, charges or kills.
 * - `admission`: Linux CFS schedules, but every agent pays rent for its fair share of the machine,
 *   verified work earns, erasure is taxed and the insolvent die. No auction, no emergency pause:
 *   the ablation's "CFS with the parasites killed" (docs/EXPERIMENT.md, "What the gain is made of").
 */
import type { Plane, SubmitOutcome } from '../market/order-book.js';
import type { EngineTick, PlaneOffer } from '../market/engine.js';
import type { ThermalInput } from './ports.js';

export type SessionMode = 'market' | 'observe' | 'admission';

/** The session's rules a policy may run in a tick (market/session.ts implements them). */
export interface TickRules {
  /** Pauses the agents of any core above the critical temperature, outside the auction. */
  emergency(thermal: ThermalInput): void;
  /** Charges the winners and makes the runtime agree with the clearing. */
  enforce(result: EngineTick, thermal: ThermalInput): void;
  /**
   * Charges every agent that runs its fair share of the machine at the reserve price, as CFS would
   * share it: min(1, cores ÷ agents) of a quantum of the average core, per tick.
   */
  rent(thermal: ThermalInput): void;
  /** Drains erase events, charging the Landauer tax when `charge` is true. */
  tax(thermal: ThermalInput, charge: boolean): void;
  /** Feeds every balance to apoptosis: notices, rescues and kills. */
  solvency(thermal: ThermalInput): void;
}

export interface ModePolicy {
  readonly mode: SessionMode;
  /** What is on sale this tick (`into` is a map the session reuses). */
  offers(thermal: ThermalInput, into: Map<Plane, PlaneOffer>): ReadonlyMap<Plane, PlaneOffer>;
  /** Rules that run before the clearing. */
  beforeClearing(rules: TickRules, thermal: ThermalInput): void;
  /** Rules that run after it, in order. */
  afterClearing(rules: TickRules, result: EngineTick, thermal: ThermalInput): void;
  /** A bid: into the book, or refused because nothing is auctioned. */
  bid(place: () => SubmitOutcome): SubmitOutcome | 'not-auctioned';
  /** Whether verified work is paid (income joules move). */
  readonly paysIncome: boolean;
}

const NOTHING_ON_SALE: ReadonlyMap<Plane, PlaneOffer> = new Map();

export const MARKET_POLICY: ModePolicy = {
  mode: 'market',
  offers(thermal, into) {
    into.set('cpu', thermal.offer);
    return into;
  },
  beforeClearing(rules, thermal) {
    rules.emergency(thermal);
  },
  afterClearing(rules, result, thermal) {
    // Payments first, then the tax (owed for erasure that happened), then who can still pay.
    rules.enforce(result, thermal);
    rules.tax(thermal, true);
    rules.solvency(thermal);
  },
  bid: (place) => place(),
  paysIncome: true,
};

export const OBSERVE_POLICY: ModePolicy = {
  mode: 'observe',
  offers: () => NOTHING_ON_SALE,
  beforeClearing: () => undefined,
  afterClearing(rules, _result, thermal) {
    // Erasure is still drained (the eBPF ring must not fill), never charged.
    rules.tax(thermal, false);
  },
  bid: () => 'not-auctioned',
  paysIncome: false,
};

export const ADMISSION_POLICY: ModePolicy = {
  mode: 'admission',
  offers: () => NOTHING_ON_SALE,
  beforeClearing: () => undefined,
  afterClearing(rules, _result, thermal) {
    rules.rent(thermal);
    rules.tax(thermal, true);
    rules.solvency(thermal);
  },
  bid: () => 'not-auctioned',
  paysIncome: true,
};

const POLICIES: Readonly<Record<SessionMode, ModePolicy>> = { market: MARKET_POLICY, observe: OBSERVE_POLICY, admission: ADMISSION_POLICY };

export function policyFor(mode: SessionMode): ModePolicy {
  return POLICIES[mode];
}

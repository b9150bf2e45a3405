/**
 * Push-sum aggregation (Kempe, Dobra, Gehrke 2003, "Gossip-based computation of aggregate
 * information"): every node holds a sum vector s and a weight w, starting at (its value, 1); each
 * round it keeps half of (s, w) and sends the other half to one member chosen uniformly at random.
 * Mass is conserved, so every node's s / w converges to the fleet mean, in O(log n + log 1/ε)
 * rounds. Vectors here are (headroom, mean price, power W); the fleet's total power is the mean
 * times the number of live members. Pure and deterministic (the caller picks the peer).
 *
 * Values change, so aggregation runs in epochs of `epochRounds` rounds (the transport numbers
 * epochs by wall-clock time); a share of a later epoch restarts the receiver on its fresh value,
 * a share of an earlier one is dropped, and the estimate of the last complete epoch is the one
 * reported.
 *
 * Against a lying sender (docs/FLEET.md): push-sum is not Byzantine-tolerant, so its influence is
 * bounded instead. Every share's implied value s/w is clamped, per component, to its physical
 * range (so no estimate can leave it); a share's weight is capped at `maxShareWeight`; and the
 * weight one sender may deliver to this node in one epoch is capped at `senderWeightCap` (scaled
 * with the fleet size so that an honest sender of a small fleet is not clipped). A liar can still
 * pull each node's estimate by up to cap / (1 + cap) of the range; `maxwell research gossip`
 * measures what one liar does.
 */
import { FleetConfigError } from '../errors.js';
import type { PushSumShare } from './messages.js';

/** (headroom fraction, mean price J/quantum, power W). */
export type Vec3 = readonly [number, number, number];

export interface PushSumConfig {
  /** Ranges [min, max] of headroom, mean price (J/quantum) and power (W) that values are clamped to. @default [[0, 1], [0, 1000], [0, 20000]] */
  readonly ranges: readonly [readonly [number, number], readonly [number, number], readonly [number, number]];
  /** Rounds per epoch. @default 50 */
  readonly epochRounds: number;
  /** Largest weight one share may carry (honest shares carry half the sender's weight, ~0.5, rarely above 2). @default 2 */
  readonly maxShareWeight: number;
}

export const DEFAULT_PUSH_SUM_CONFIG: PushSumConfig = Object.freeze({
  ranges: [[0, 1], [0, 1000], [0, 20_000]] as const,
  epochRounds: 50,
  maxShareWeight: 2,
});

/** What {@link PushSum.receive} did with a share. */
export type ShareOutcome = 'accepted' | 'damped' | 'clamped' | 'stale' | 'future' | 'rejected';

export function createPushSumConfig(partial: Partial<PushSumConfig> = {}): PushSumConfig {
  const c = { ...DEFAULT_PUSH_SUM_CONFIG, ...partial };
  if (!Number.isInteger(c.epochRounds) || c.epochRounds < 1 || c.epochRounds > 10_000) throw new FleetConfigError(`invalid epochRounds: ${c.epochRounds}`);
  if (!Number.isFinite(c.maxShareWeight) || c.maxShareWeight <= 0) throw new FleetConfigError(`invalid maxShareWeight: ${c.maxShareWeight}`);
  for (const [lo, hi] of c.ranges) if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) throw new FleetConfigError(`invalid push-sum range [${lo}, ${hi}]`);
  return Object.freeze(c);
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

export class PushSum {
  readonly config: PushSumConfig;
  #epoch = -1;
  #s: [number, number, number] = [0, 0, 0];
  #w = 0;
  #senderCap = 1;
  readonly #fromSender = new Map<string, number>();
  #last: { readonly epoch: number; readonly estimate: Vec3 } | null = null;
  /** Shares whose weight or value had to be clamped (honest ones too, rarely: the sim counts them). */
  clamped = 0;

  constructor(config: Partial<PushSumConfig> = {}) {
    this.config = createPushSumConfig(config);
  }

  get epoch(): number {
    return this.#epoch;
  }
  get weight(): number {
    return this.#w;
  }

  /** Starts `epoch` from this node's own `value` (clamped to range); `n` is the live fleet size. */
  begin(epoch: number, value: Vec3, n: number): void {
    const current = this.estimate();
    if (this.#epoch >= 0 && current !== null) this.#last = { epoch: this.#epoch, estimate: current };
    this.#epoch = epoch;
    const r = this.config.ranges;
    this.#s = [clamp(value[0], r[0][0], r[0][1]), clamp(value[1], r[1][0], r[1][1]), clamp(value[2], r[2][0], r[2][1])];
    this.#w = 1;
    this.#fromSender.clear();
    // An honest sender delivers ~epochRounds / (n − 1) shares of ~0.5 to each member per epoch:
    // the cap leaves it 4× that (at least one full share), so honest senders are rarely clipped.
    this.#senderCap = Math.max(this.config.maxShareWeight, (2 * this.config.epochRounds) / Math.max(1, n - 1));
  }

  /** Halves this node's mass and returns the half to send to one random member. */
  share(): PushSumShare {
    this.#s = [this.#s[0] / 2, this.#s[1] / 2, this.#s[2] / 2];
    this.#w /= 2;
    return { epoch: this.#epoch, s: [...this.#s], w: this.#w };
  }

  /** Takes back a share that could not be sent (no member to send to), so no mass is lost. */
  keep(share: PushSumShare): void {
    if (share.epoch !== this.#epoch) return;
    this.#s = [this.#s[0] + share.s[0], this.#s[1] + share.s[1], this.#s[2] + share.s[2]];
    this.#w += share.w;
  }

  /**
   * Adds a share from `sender`. `future`: the share is of a later epoch; call {@link begin} with
   * it and the fresh local value, then receive it again. `trust` in [0, 1] scales the share's weight
   * (s and w together, so it loses mass without biasing the ratio): a damped member counts less
   * (trust.ts), and the share is `damped` unless a cap clamped it too.
   */
  receive(sender: string, share: PushSumShare, trust = 1): ShareOutcome {
    if (share.epoch < this.#epoch) return 'stale';
    if (share.epoch > this.#epoch) return 'future';
    if (!(share.w > 0) || !Number.isFinite(share.w)) return 'rejected';
    const used = this.#fromSender.get(sender) ?? 0;
    const believed = share.w * (trust < 1 ? Math.max(0, trust) : 1);
    const w = Math.min(believed, this.config.maxShareWeight, this.#senderCap - used);
    if (w <= 0) {
      this.clamped++;
      return 'clamped';
    }
    this.#fromSender.set(sender, used + w);
    let clamped = w < believed;
    const r = this.config.ranges;
    for (let i = 0; i < 3; i++) {
      const [lo, hi] = r[i] ?? [0, 0];
      const ratio = (share.s[i] ?? 0) / share.w;
      const v = clamp(ratio, lo, hi);
      if (v !== ratio) clamped = true;
      this.#s[i] = (this.#s[i] ?? 0) + v * w;
    }
    this.#w += w;
    if (clamped) this.clamped++;
    return clamped ? 'clamped' : believed < share.w ? 'damped' : 'accepted';
  }

  /** This epoch's running estimate of the fleet mean, or null before any epoch. */
  estimate(): Vec3 | null {
    if (this.#epoch < 0 || !(this.#w > 0)) return null;
    return [this.#s[0] / this.#w, this.#s[1] / this.#w, this.#s[2] / this.#w];
  }

  /** The estimate at the end of the last complete epoch (what a node should act on). */
  last(): { readonly epoch: number; readonly estimate: Vec3 } | null {
    return this.#last;
  }
}

/** Largest relative error of `estimate` against `truth` over the components (|e − t| / |t|; absolute when t = 0). */
export function relativeError(estimate: Vec3, truth: Vec3): number {
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    const t = truth[i] ?? 0;
    const e = estimate[i] ?? 0;
    worst = Math.max(worst, t === 0 ? Math.abs(e) : Math.abs(e - t) / Math.abs(t));
  }
  return worst;
}

/** What a node knows of its fleet, as the control API shows it (`GET /v1/fleet`, `maxwell fleet`). */

/** One fleet member as this node knows it (itself included, `self: true`). */
export interface FleetMemberSnapshot {
  readonly id: string;
  /** Its name in the orchestrator (the Kubernetes node name). */
  readonly nodeName: string;
  readonly addr: string;
  readonly state: 'alive' | 'suspect' | 'dead' | 'left';
  /** Thermal headroom in [0, 1]: the mean share of its cores its controllers would sell now. */
  readonly headroom: number;
  /** Mean reserve price, J per quantum. */
  readonly meanPriceJ: number;
  readonly powerW: number;
  readonly location: { readonly zone: string; readonly row: string; readonly rack: string; readonly chassis: string };
  /** Its control API, when it publishes one (placement sends spawns there). */
  readonly apiUrl: string | null;
  readonly self: boolean;
  /** How far this node believes it, in [floor, 1] (src/fleet/trust.ts): its stress counts × this, and below 0.5 nothing is placed on it. */
  readonly trust: number;
  /** Why it is trusted less than fully (its headroom against its rack's); null when it is not. */
  readonly distrusted: string | null;
}

export interface FleetSnapshot {
  /** False when `fleet.enabled` is off: the view holds this node alone. */
  readonly enabled: boolean;
  readonly id: string | null;
  /** The gossip socket's ip:port (null without a fleet). */
  readonly address: string | null;
  readonly members: readonly FleetMemberSnapshot[];
  /** Push-sum's fleet means of the last complete epoch (null before the first). */
  readonly aggregate: {
    readonly epoch: number;
    readonly members: number;
    readonly meanHeadroom: number;
    readonly meanPriceJ: number;
    readonly totalPowerW: number;
    /** The same over this node's cooling zone (its own push-sum); null before its first epoch. */
    readonly zone: { readonly name: string; readonly members: number; readonly meanHeadroom: number; readonly meanPriceJ: number; readonly totalPowerW: number } | null;
  } | null;
  /** The stress this node feels from its coupled neighbours, the price multiplier that follows, and the one applied (capped by `fleet.maxPriceMultiplier`). */
  readonly stress: { readonly external: number; readonly multiplier: number; readonly applied: number };
  /** Datagrams dropped, by reason (forged, replayed, oversized, malformed, …). */
  readonly drops: Readonly<Record<string, number>>;
  /** Periodic push-pulls over TCP: completed, and failed (those fell back to one datagram). */
  readonly pushPulls: { readonly stream: number; readonly failed: number };
}

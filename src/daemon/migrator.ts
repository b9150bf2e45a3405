/**
 * Migration off a node whose prices rise (docs/FLEET.md): every few seconds, when this node's mean
 * reserve price is above `fleet.migration.priceRatio` × the cheapest qualifying peer's, one agent
 * that was placed with `--fleet` (and holds no stake) is stopped here and respawned there with
 * what its wallet had left, under a new id (ids are never reused: each ledger keeps its account).
 *
 * Stop and respawn: what is lost is the process's memory and its work in progress (a scientist
 * restarts its range), its place in this node's auction, and the continuity of its ledger
 * account (its balance is refunded to this node's treasury and minted on the other node's
 * ledger; no joule is created or destroyed on either). When the other node refuses (a coded
 * answer), the agent is respawned here. When its answer is lost (a timeout, a cut connection), the
 * other node is asked whether the agent started there before anything is respawned here, so that
 * it never runs twice; when neither it nor this node can take the agent, the decision log says so
 * and where its joules went (refunded to this node's treasury).
 */
import type { AgentId } from '../agent-id.js';
import type { FleetMemberSnapshot, FleetSnapshot, RemoteSpawner, SpawnRequest } from '../api/control.js';
import type { AgentView } from '../session/types.js';
import { PLACEMENT_TRUST } from '../fleet/trust.js';

export type { RemoteSpawner };

export interface MigrationHost {
  fleet(): FleetSnapshot;
  /** Agents placed with `--fleet`, alive here, with the request that started them. */
  migratable(): readonly { readonly id: AgentId; readonly request: SpawnRequest }[];
  /** Stops the agent, ending it with `reason`; resolves with its view once dead. */
  endAgent(id: AgentId, reason: string): Promise<AgentView>;
  spawnAgent(request: SpawnRequest): Promise<AgentView>;
  note(agentId: AgentId, because: string): void;
}

export interface MigrationPolicy {
  /** Migrate when this node's price exceeds this × the cheapest peer's. */
  readonly priceRatio: number;
  readonly minHeadroom: number;
}

/** The peer to move to, or null when staying is as good (within the ratio). */
export function migrationTarget(fleet: FleetSnapshot, policy: MigrationPolicy): { readonly self: FleetMemberSnapshot; readonly target: FleetMemberSnapshot } | null {
  const self = fleet.members.find((m) => m.self);
  if (self === undefined) return null;
  let target: FleetMemberSnapshot | null = null;
  for (const m of fleet.members) {
    if (m.self || m.state !== 'alive' || m.apiUrl === null || !(m.headroom >= policy.minHeadroom) || !(m.meanPriceJ > 0) || m.trust < PLACEMENT_TRUST) continue;
    if (target === null || m.meanPriceJ < target.meanPriceJ) target = m;
  }
  return target !== null && self.meanPriceJ > policy.priceRatio * target.meanPriceJ ? { self, target } : null;
}

export class Migrator {
  readonly #host: MigrationHost;
  readonly #spawnRemote: RemoteSpawner;
  readonly #policy: MigrationPolicy;
  #busy = false;
  #moved = 0;

  constructor(host: MigrationHost, spawnRemote: RemoteSpawner, policy: MigrationPolicy) {
    this.#host = host;
    this.#spawnRemote = spawnRemote;
    this.#policy = policy;
  }

  async #placeRemote(url: string, request: SpawnRequest & { readonly id: string }): Promise<RemotePlacement> {
    try {
      await this.#spawnRemote.spawn(url, request);
      return { placed: 'yes' };
    } catch (err) {
      const why = (err as Error).message;
      if (this.#spawnRemote.refused(err)) return { placed: 'no', why };
      try {
        return (await this.#spawnRemote.find(url, request.id)) === null ? { placed: 'no', why } : { placed: 'yes' };
      } catch (lookup) {
        return { placed: 'unknown', why: `${why}; asking again: ${(lookup as Error).message}` };
      }
    }
  }

  get moved(): number {
    return this.#moved;
  }

  /** One check: moves at most one agent. */
  async check(): Promise<void> {
    if (this.#busy) return;
    const choice = migrationTarget(this.#host.fleet(), this.#policy);
    const agent = this.#host.migratable()[0];
    if (choice === null || agent === undefined) return;
    this.#busy = true;
    try {
      const ended = await this.#host.endAgent(agent.id, 'migrated');
      const walletJ = ended.ended?.finalBalanceJ ?? 0;
      const id = nextId(agent.id);
      const request = { ...agent.request, id, walletJ, migratable: true };
      const why = `prices here ${choice.self.meanPriceJ.toFixed(4)} J/quantum > ${String(this.#policy.priceRatio)} × ${choice.target.nodeName}'s ${choice.target.meanPriceJ.toFixed(4)}`;
      if (!(walletJ > 0)) {
        this.#host.note(agent.id, `${why}; not respawned: its wallet was empty`);
        return;
      }
      const url = choice.target.apiUrl as string;
      const there = await this.#placeRemote(url, request);
      if (there.placed === 'yes') {
        this.#moved++;
        this.#host.note(agent.id, `${why}: stopped here and respawned on ${choice.target.nodeName} as ${id} with its ${walletJ.toFixed(6)} J (its process memory is lost; refunded here, minted there)`);
        return;
      }
      if (there.placed === 'unknown') {
        // Respawning here could run it twice; the other node's ledger has it if it started there.
        this.#host.note(agent.id, `${why}, but ${choice.target.nodeName}'s answer was lost (${there.why}) and it could not say whether ${id} started there; not respawned here, so that it cannot run twice: its ${walletJ.toFixed(6)} J were refunded to this node's treasury (check \`maxwell agents\` on ${choice.target.nodeName})`);
        return;
      }
      try {
        await this.#host.spawnAgent(request);
        this.#host.note(agent.id, `${why}, but ${choice.target.nodeName} refused the respawn (${there.why}); respawned here as ${id} with its ${walletJ.toFixed(6)} J`);
      } catch (err) {
        this.#host.note(agent.id, `${why}, but ${choice.target.nodeName} refused the respawn (${there.why}) and respawning here failed (${(err as Error).message}): the agent is gone; its ${walletJ.toFixed(6)} J were refunded to this node's treasury`);
      }
    } finally {
      this.#busy = false;
    }
  }
}

/** Where a migrated agent went, as far as this node can tell. */
type RemotePlacement = { readonly placed: 'yes' } | { readonly placed: 'no' | 'unknown'; readonly why: string };

/** `sci` → `sci-m1`, `sci-m1` → `sci-m2`; kept within the 48-character id rule. */
export function nextId(id: string): string {
  const m = /^(.*)-m(\d+)$/.exec(id);
  const base = m?.[1] ?? id;
  const n = m === null ? 1 : Number(m[2]) + 1;
  const suffix = `-m${String(n)}`;
  return `${base.slice(0, 48 - suffix.length)}${suffix}`;
}

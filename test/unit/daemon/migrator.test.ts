/**
 * Migration's failure paths, which the namespace test cannot provoke on demand: a refusal over
 * there respawns the agent here; a lost answer asks the other node before anything is respawned
 * here (never twice); when neither node can take the agent, the decision log says where its
 * joules went. The host and the other node are in-memory stand-ins for the daemon and its API client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetMemberSnapshot, FleetSnapshot, SpawnRequest } from '../../../src/api/control.js';
import { Migrator, type RemoteSpawner } from '../../../src/daemon/migrator.js';
import { DaemonUnreachableError, InvalidArgumentError, isMaxwellError } from '../../../src/errors.js';
import type { AgentView } from '../../../src/session/types.js';
import { agentId } from '../../helpers/agent-id.js';

const member = (nodeName: string, meanPriceJ: number, self: boolean): FleetMemberSnapshot => ({ id: nodeName, nodeName, addr: '10.0.0.1:7946', state: 'alive', headroom: 1, meanPriceJ, powerW: 10, location: { zone: 'z', row: 'r', rack: 'k', chassis: 'c' }, apiUrl: self ? null : `http://${nodeName}:7940`, self, trust: 1, distrusted: null });
const fleet: FleetSnapshot = { enabled: true, id: 'here', address: '10.0.0.1:7946', members: [member('here', 1, true), member('cool', 0.1, false)], aggregate: null, stress: { external: 0, multiplier: 1, applied: 1 }, drops: {}, pushPulls: { stream: 0, failed: 0 } };
const view = (id: string): AgentView => ({ id, ended: { reason: 'migrated', survivalMs: 1000, finalBalanceJ: 42 } }) as unknown as AgentView;

function harness(remote: RemoteSpawner, localFails = false) {
  const spawnedHere: SpawnRequest[] = [];
  const notes: string[] = [];
  const migrator = new Migrator(
    {
      fleet: () => fleet,
      migratable: () => [{ id: agentId('sci'), request: { id: 'sci', walletJ: 100, command: 'true', migratable: true } satisfies SpawnRequest }],
      endAgent: (id) => Promise.resolve(view(id)),
      spawnAgent: (request) => {
        if (localFails) return Promise.reject(new InvalidArgumentError('no room here'));
        spawnedHere.push(request);
        return Promise.resolve(view(request.id ?? '?'));
      },
      note: (_id, because) => notes.push(because),
    },
    remote,
    { priceRatio: 1.5, minHeadroom: 0.05 },
  );
  return { migrator, spawnedHere, notes };
}

const refusedIfCoded = (err: unknown): boolean => isMaxwellError(err) && err.code !== 'MXW_ERR_DAEMON_UNREACHABLE';

test('moved: spawned over there with what its wallet had left, nothing here', async () => {
  const sent: SpawnRequest[] = [];
  const h = harness({ spawn: (_url, r) => (sent.push(r), Promise.resolve(view(r.id ?? '?'))), find: () => Promise.resolve(null), refused: refusedIfCoded });
  await h.migrator.check();
  assert.deepEqual(sent.map((r) => [r.id, r.walletJ]), [['sci-m1', 42]]);
  assert.equal(h.spawnedHere.length, 0);
  assert.equal(h.migrator.moved, 1);
});

test('refused over there (a coded answer): respawned here under the new id', async () => {
  const h = harness({ spawn: () => Promise.reject(new InvalidArgumentError('full')), find: () => assert.fail('a refusal needs no lookup'), refused: refusedIfCoded });
  await h.migrator.check();
  assert.deepEqual(h.spawnedHere.map((r) => [r.id, r.walletJ]), [['sci-m1', 42]]);
  assert.match(h.notes[0] ?? '', /refused the respawn .*respawned here as sci-m1/);
});

test('answer lost but the agent started over there: counted as moved, not respawned here (it would run twice)', async () => {
  const h = harness({ spawn: () => Promise.reject(new DaemonUnreachableError('timed out')), find: (_url, id) => Promise.resolve(view(id)), refused: refusedIfCoded });
  await h.migrator.check();
  assert.equal(h.spawnedHere.length, 0);
  assert.equal(h.migrator.moved, 1);
});

test('answer lost and the other node says it has no such agent: respawned here', async () => {
  const h = harness({ spawn: () => Promise.reject(new DaemonUnreachableError('connection reset')), find: () => Promise.resolve(null), refused: refusedIfCoded });
  await h.migrator.check();
  assert.equal(h.spawnedHere.length, 1);
});

test('answer lost and the other node unreachable: not respawned here, and the log says where the joules went', async () => {
  const h = harness({ spawn: () => Promise.reject(new DaemonUnreachableError('timed out')), find: () => Promise.reject(new DaemonUnreachableError('still down')), refused: refusedIfCoded });
  await h.migrator.check();
  assert.equal(h.spawnedHere.length, 0);
  assert.equal(h.migrator.moved, 0);
  assert.match(h.notes[0] ?? '', /could not say whether sci-m1 started there; not respawned here.*42\.000000 J were refunded to this node's treasury/);
});

test('refused there and the local respawn fails too: noted, not thrown away silently', async () => {
  const h = harness({ spawn: () => Promise.reject(new InvalidArgumentError('full')), find: () => Promise.resolve(null), refused: refusedIfCoded }, true);
  await h.migrator.check();
  assert.match(h.notes[0] ?? '', /respawning here failed \(no room here\): the agent is gone; its 42\.000000 J were refunded/);
});

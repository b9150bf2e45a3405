import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EbpfEntropySource } from '../../../src/entropy/ebpf/ebpf-source.js';
import { FallbackEntropySource, selectEntropySource } from '../../../src/entropy/ebpf/select.js';
import type { EntropyProvenance, EntropySource, EraseEvent, WatchedAgent } from '../../../src/market/entropy.js';
import { erasedBytesByAgent } from '../../../src/market/entropy.js';
import { repoPath } from '../../helpers/repo.js';
import { until } from '../../helpers/wait.js';

const FAKE_LOADER = repoPath('test/fixtures/ebpf/fake-loader.mjs');

/** A stand-in for the /proc estimate (the real one lives in src/entropy/proc-estimate.ts). */
class FakeEstimate implements EntropySource {
  readonly watched = new Map<string, WatchedAgent>();
  closed = false;
  provenance(): EntropyProvenance {
    return { source: 'fake /proc estimate', quality: 'estimated', lostEvents: 0 };
  }
  watch(agent: WatchedAgent): void {
    this.watched.set(agent.agentId, agent);
  }
  unwatch(agentId: string): void {
    this.watched.delete(agentId);
  }
  drain(): readonly EraseEvent[] {
    return [...this.watched.values()].map((a) => ({ agentId: a.agentId, pid: a.pid, bytes: 1, kind: 'rss-drop', atMs: 0 }));
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const blocked = { ebpf: () => 'no eBPF in this test', bpftrace: () => 'no bpftrace in this test' };

test('with nothing measured available the estimate is chosen and every reason is reported', async () => {
  const estimate = new FakeEstimate();
  const sel = await selectEntropySource({ estimated: () => estimate, checks: blocked });
  assert.equal(sel.backend, 'estimated');
  assert.deepEqual(sel.skipped.map((s) => s.backend), ['ebpf', 'bpftrace']);
  assert.match(sel.reason, /estimated from \/proc.*ebpf: no eBPF in this test; bpftrace: no bpftrace in this test/);
  assert.equal(sel.source.provenance().quality, 'estimated');
  await sel.source.close();
  assert.ok(estimate.closed);
});

test('bpftrace is chosen when only the loader is missing, and starts nothing until an agent is watched', async () => {
  const sel = await selectEntropySource({ estimated: () => new FakeEstimate(), checks: { ebpf: blocked.ebpf, bpftrace: () => undefined } });
  assert.equal(sel.backend, 'bpftrace');
  assert.equal(sel.source.provenance().quality, 'measured');
  assert.match(sel.reason, /passed over: ebpf: no eBPF/);
  await sel.source.close();
});

test('a loader that cannot start is passed over with its error', async () => {
  const sel = await selectEntropySource({ estimated: () => new FakeEstimate(), order: ['ebpf', 'estimated'], checks: { ebpf: () => undefined }, ebpf: { loaderPath: '/nonexistent/erase-loader', startTimeoutMs: 2000 } });
  assert.equal(sel.backend, 'estimated');
  assert.match(sel.skipped[0]?.why ?? '', /nonexistent/);
  await sel.source.close();
});

test('the eBPF source attributes records to agents by the tag the kernel stamped, and coalesces runs', async () => {
  const source = await EbpfEntropySource.start({ loaderPath: FAKE_LOADER });
  try {
    assert.equal(source.hello.recordBytes, 40);
    await source.watchAsync({ agentId: 'a', pid: 4242 });
    await source.watchAsync({ agentId: 'b', pid: 4343 });
    const stats = await source.flush();
    assert.equal(stats.submitted, 6);
    const events = source.drain();
    assert.deepEqual(events.map((e) => [e.agentId, e.pid, e.kind, e.bytes]), [
      ['a', 4242, 'munmap', 12288],
      ['a', 4242, 'madvise-dontneed', 4096],
      ['b', 4343, 'munmap', 12288],
      ['b', 4343, 'madvise-dontneed', 4096],
    ]);
    assert.deepEqual([...erasedBytesByAgent(events)], [['a', 16384], ['b', 16384]]);
    assert.equal(source.drain().length, 0);
    assert.equal(source.provenance().quality, 'measured');
    await source.unwatchAsync('a');
  } finally {
    await source.close();
  }
});

test('without coalescing every record is its own event', async () => {
  const source = await EbpfEntropySource.start({ loaderPath: FAKE_LOADER, coalesce: false });
  try {
    await source.watchAsync({ agentId: 'a', pid: 1 });
    await source.flush();
    assert.deepEqual(source.drain().map((e) => e.bytes), [4096, 8192, 4096]);
  } finally {
    await source.close();
  }
});

test('a garbled loader stream fails the start with a protocol error', async () => {
  process.env['FAKE_BAD_MAGIC'] = '1';
  try {
    await assert.rejects(EbpfEntropySource.start({ loaderPath: FAKE_LOADER }), { code: 'MXW_ERR_EBPF_PROTOCOL' });
  } finally {
    delete process.env['FAKE_BAD_MAGIC'];
  }
});

test('a loader crash hands the watched agents to the estimate; what was measured before is kept', async () => {
  process.env['FAKE_CRASH_AFTER'] = '2';
  const estimate = new FakeEstimate();
  const fallbacks: string[] = [];
  try {
    const sel = await selectEntropySource({
      estimated: () => estimate,
      order: ['ebpf', 'estimated'],
      checks: { ebpf: () => undefined },
      ebpf: { loaderPath: FAKE_LOADER },
      onFallback: (from, err) => fallbacks.push(`${from}: ${err.message}`),
    });
    assert.equal(sel.backend, 'ebpf');
    const source = sel.source;
    const ebpf = source.active;
    assert.ok(ebpf instanceof EbpfEntropySource);
    source.watch({ agentId: 'a', pid: 10 });
    await ebpf.flush();
    source.watch({ agentId: 'b', pid: 11 }); // the fake loader dies on this third command
    await until('the fallback to the estimate', () => source.backend === 'estimated');
    assert.equal(source.backend, 'estimated');
    assert.match(fallbacks[0] ?? '', /^ebpf: the eBPF loader exited \(status 9\)/);
    const p = source.provenance();
    assert.equal(p.quality, 'estimated');
    assert.match(p.source, /fallback: the ebpf source stopped/);
    assert.deepEqual([...estimate.watched.keys()], ['a', 'b']);
    const events = source.drain();
    assert.deepEqual(events.filter((e) => e.kind !== 'rss-drop').map((e) => [e.agentId, e.bytes]), [['a', 12288], ['a', 4096]]);
    assert.equal(events.filter((e) => e.kind === 'rss-drop').length, 2);
    await source.close();
  } finally {
    delete process.env['FAKE_CRASH_AFTER'];
  }
});

test('the fallback wrapper passes watch and unwatch through while healthy', () => {
  const primary = new FakeEstimate();
  const w = new FallbackEntropySource(primary, 'bpftrace', () => new FakeEstimate());
  w.watch({ agentId: 'x', pid: 1 });
  assert.ok(primary.watched.has('x'));
  w.unwatch('x');
  assert.equal(primary.watched.size, 0);
  assert.equal(w.backend, 'bpftrace');
});

test('the fallback wrapper has watchCgroups exactly when the source it starts on has it, and passes it through', async () => {
  assert.equal(new FallbackEntropySource(new FakeEstimate(), 'bpftrace', () => new FakeEstimate()).watchCgroups, undefined);
  const calls: [string, readonly string[]][] = [];
  const primary = Object.assign(new FakeEstimate(), {
    watchCgroups: (agentId: string, dirs: readonly string[]) => {
      calls.push([agentId, dirs]);
      return Promise.resolve();
    },
  });
  const w = new FallbackEntropySource(primary, 'ebpf', () => new FakeEstimate());
  assert.ok(w.watchCgroups !== undefined);
  await w.watchCgroups('x', ['/sys/fs/cgroup/unified/x']);
  assert.deepEqual(calls, [['x', ['/sys/fs/cgroup/unified/x']]]);
  // On the estimate, which follows pids only, it resolves and does nothing.
  w.fallBack(new Error('loader died'));
  await w.watchCgroups('y', ['/sys/fs/cgroup/unified/y']);
  assert.equal(calls.length, 1);
  assert.equal(w.backend, 'estimated');
});

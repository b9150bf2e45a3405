import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { erasedBytesByAgent } from '../../../src/market/entropy.js';
import { ProcEntropyEstimate, processTree, readRssAnonBytes } from '../../../src/entropy/proc-estimate.js';

const MIB = 1024 * 1024;

/** A real process that touches `mib` MiB, reports "held", frees it on "free\n", then reports "freed". */
const HOLDER = `
let keep = [Buffer.allocUnsafeSlow(${String(64 * MIB)}).fill(1)];
process.stdout.write('held\\n');
process.stdin.on('data', () => { keep = null; globalThis.gc(); setTimeout(() => process.stdout.write('freed\\n'), 200); });
`;

test('RSS drops of a real process (and its exit) become estimated erase events for its agent', async (t) => {
  const child = spawn(process.execPath, ['--expose-gc', '-e', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const lines = child.stdout.setEncoding('utf8');
  await once(lines, 'data');
  const pid = child.pid ?? 0;
  assert.ok((readRssAnonBytes('/proc', pid) ?? 0) >= 60 * MIB, 'the buffer is resident');
  assert.deepEqual(processTree('/proc', pid).slice(0, 1), [pid]);

  const source = new ProcEntropyEstimate();
  source.watch({ agentId: 'churner', pid });
  assert.equal(source.provenance().quality, 'estimated');
  assert.deepEqual(source.drain(), [], 'nothing freed yet');
  child.stdin.write('free\n');
  await once(lines, 'data');
  const events = source.drain();
  const freed = erasedBytesByAgent(events).get('churner') ?? 0;
  assert.ok(freed >= 60 * MIB && freed <= 80 * MIB, `estimated ${String(freed / MIB)} MiB erased for 64 MiB freed`);
  assert.ok(events.every((e) => e.kind === 'rss-drop' && e.pid === pid));

  child.stdin.end();
  child.kill();
  await once(child, 'exit');
  await sleep(20);
  const atExit = source.drain();
  assert.equal(atExit.length, 1);
  assert.equal(atExit[0]?.kind, 'exit', 'what it still held at exit counts as erased');
  source.unwatch('churner');
  assert.deepEqual(source.drain(), []);
  await source.close();
});

test('a vanished or unknown process yields no events and no error', () => {
  const source = new ProcEntropyEstimate({ procRoot: '/nonexistent-proc' });
  source.watch({ agentId: 'ghost', pid: 999_999 });
  assert.deepEqual(source.drain(), []);
  assert.equal(source.provenance().lostEvents, 0);
});

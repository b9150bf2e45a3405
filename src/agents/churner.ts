/**
 * The Churner: allocates, touches and frees memory at a chosen rate (feeding the Landauer
 * tax: large allocations are mmapped and munmapped by the allocator), or writes and fsyncs a
 * file (an I/O-bound agent for pause-latency experiments).
 *
 *   node dist/src/agents/churner.js [--mib-per-second R] [--chunk-mib C] [--hold-mb M] [--io]
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flags, holdMemory, intFlag, onStop, pause, report } from './common.js';

const USAGE = `churner: allocates and frees memory at a rate, or does synchronous disk writes.
  --mib-per-second R   MiB allocated, touched and freed per second (default 64)
  --chunk-mib C        size of each allocation, MiB (default 4; ≥ 1 so it is mmapped)
  --hold-mb M          keep M MiB resident (default 0)
  --io                 instead: write 1 MiB blocks to a temporary file with fsync, forever
`;

// Freeing on demand makes the munmap rate follow --mib-per-second instead of the GC's mood.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Allocates and touches `bytes`; the buffer is unreachable when this returns. */
function touchAndDrop(bytes: number): void {
  const buffer = new Uint8Array(bytes);
  for (let p = 0; p < buffer.length; p += 4096) buffer[p] = 1;
}

if (process.argv[1]?.endsWith('churner.js') === true) {
  const v = flags({ 'mib-per-second': { type: 'string' }, 'chunk-mib': { type: 'string' }, 'hold-mb': { type: 'string' }, io: { type: 'boolean' } }, USAGE);
  const held = holdMemory(intFlag(v['hold-mb'], 'hold-mb', 0));
  let freedMiB = 0;
  let writtenMiB = 0;
  onStop(() => { report({ type: 'summary', freedMiB, writtenMiB, heldMiB: held.length * 64 }); });
  if (v['io'] === true) {
    const path = join(tmpdir(), `maxwell-churner-${process.pid}.bin`);
    const fd = openSync(path, 'w');
    process.on('exit', () => {
      closeSync(fd);
      unlinkSync(path);
    });
    const block = new Uint8Array(2 ** 20).fill(7);
    void (async () => {
      for (;;) {
        writeSync(fd, block, 0, block.length, (writtenMiB % 64) * block.length);
        fsyncSync(fd);
        writtenMiB++;
        if (writtenMiB % 64 === 0) report({ type: 'io', writtenMiB });
        // Yield so that SIGTERM is handled.
        await pause(0);
      }
    })();
  } else {
    const chunk = intFlag(v['chunk-mib'], 'chunk-mib', 4, 1);
    const rate = intFlag(v['mib-per-second'], 'mib-per-second', 64);
    void (async () => {
      for (;;) {
        touchAndDrop(chunk * 2 ** 20);
        gc();
        freedMiB += chunk;
        if (freedMiB % 256 < chunk) report({ type: 'churn', freedMiB });
        await pause(rate > 0 ? (1000 * chunk) / rate : 0);
      }
    })();
  }
}

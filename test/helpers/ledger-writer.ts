/**
 * Child process for the crash test: resumes the ledger after its last committed tick and
 * commits workload ticks as fast as it can until killed. Usage: ledger-writer DB KEY
 * Prints `resumed <last tick>` once the ledger is open and `committed <tick>` after its first
 * commit, so the test can tell start-up from mid-stream.
 */
import { Ledger } from '../../src/ledger/ledger.js';
import { workloadTick } from './ledger-workload.js';

const [path, keyPath] = process.argv.slice(2);
// `node --test dist/test/` runs every file under test/, this one too, without arguments: nothing to do then.
if (path === undefined || keyPath === undefined) process.exit(0);
const ledger = Ledger.open({ path, keyPath });
process.stdout.write(`resumed ${String(ledger.lastTick)}\n`);
const firstTick = ledger.lastTick + 1;
ledger.commitTick(firstTick, workloadTick(firstTick, (a) => ledger.balance(a)));
process.stdout.write(`committed ${String(firstTick)}\n`);
for (let tick = firstTick + 1; ; tick += 1) {
  ledger.commitTick(tick, workloadTick(tick, (a) => ledger.balance(a)));
}

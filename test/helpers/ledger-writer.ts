/**
 * Child process for the crash test: resumes the ledger after its last committed tick and
 * commits workload ticks as fast as it can until killed. Usage: ledger-writer DB KEY
 */
import { Ledger } from '../../src/ledger/ledger.js';
import { workloadTick } from './ledger-workload.js';

const [path, keyPath] = process.argv.slice(2);
if (path === undefined || keyPath === undefined) throw new Error('usage: ledger-writer DB KEY');
const ledger = Ledger.open({ path, keyPath });
process.stdout.write(`resumed ${String(ledger.lastTick)}\n`);
for (let tick = ledger.lastTick + 1; ; tick += 1) {
  ledger.commitTick(tick, workloadTick(tick, (a) => ledger.balance(a)));
}

/** /proc/stat as the utilisation that drives the thermal twin on machines without sensors. */
import type { UtilisationSource } from '../twin-reader.js';
import type { ProcStatReader } from './proc-stat.js';

/**
 * Per-core utilisation from a started {@link ProcStatReader} (its `cpu/N` channels).
 * With `shared`, the reader is sampled by someone else each tick (the sampler) and this
 * source takes its latest readings instead of reading /proc/stat a second time.
 */
export function procStatUtilisation(reader: ProcStatReader, shared = false): UtilisationSource {
  let values = new Float64Array(0);
  return {
    description: 'measured per-core utilisation from /proc/stat',
    sample(): ArrayLike<number> {
      if (!shared) {
        // Its own reader: the allocation-free path (no readings are built at 100 Hz).
        if (values.length !== reader.cpuCount) values = new Float64Array(reader.cpuCount);
        reader.sampleUtilisation(values);
        return values;
      }
      const readings = reader.latest;
      if (values.length !== readings.length - 1) values = new Float64Array(Math.max(0, readings.length - 1));
      for (const r of readings) {
        if (r.channel === 'cpu/all') continue;
        const cpu = Number(r.channel.slice(4));
        // A window with no tick keeps the previous value rather than reading 0.
        if (r.trusted) values[cpu] = r.value;
      }
      return values;
    },
  };
}

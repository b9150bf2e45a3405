/**
 * The compliance suite every TelemetryReader passes, fakes and the twin included:
 * lifecycle, sampling, errors and provenance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNIT_OF, type TelemetryReader } from '../../src/telemetry/reader.js';

export interface ComplianceCase<R extends TelemetryReader = TelemetryReader> {
  /** Shown in test names. */
  readonly name: string;
  /** A reader whose source is present. */
  readonly present: () => R | Promise<R>;
  /** A reader whose source is absent (e.g. pointed at an empty tree); omit when not applicable. */
  readonly absent?: () => TelemetryReader;
  /** Called after start, before sampling (e.g. to let a query loop produce a line, or to watch a pid). */
  readonly prime?: (reader: R) => Promise<void> | void;
  /** Whether readings must be measured (real sources) or modelled (the twin). @default 'measured' */
  readonly kind?: 'measured' | 'modelled';
  /** Skip with this reason (e.g. a kernel feature missing here). */
  readonly skip?: string | false;
}

export function telemetryReaderCompliance<R extends TelemetryReader>(c: ComplianceCase<R>): void {
  const options = c.skip === undefined || c.skip === false ? {} : { skip: c.skip };
  const kind = c.kind ?? 'measured';

  test(`${c.name}: probe lists channels with unique ids, units and provenance`, options, async () => {
    const reader = await c.present();
    const probe = await reader.probe();
    if (probe.state !== 'present') assert.fail(`expected a present source: ${probe.reason}`);
    const ids = probe.channels.map((ch) => ch.id);
    assert.equal(new Set(ids).size, ids.length, 'channel ids are unique');
    for (const ch of probe.channels) {
      assert.ok(ch.quantity in UNIT_OF, `${ch.id}: known quantity`);
      assert.ok(ch.description.length > 0);
      assert.ok(ch.resolution > 0 && ch.updateHz > 0, `${ch.id}: resolution and rate`);
      assert.equal(ch.provenance.source, reader.source);
      assert.equal(ch.provenance.kind, kind);
      assert.ok(ch.provenance.errorBound >= 0);
    }
  });

  test(`${c.name}: sampling before start fails with MXW_ERR_READER_NOT_STARTED`, options, async () => {
    const reader = await c.present();
    assert.throws(() => reader.sample(), { code: 'MXW_ERR_READER_NOT_STARTED' });
  });

  test(`${c.name}: start, sample, stop — readings carry provenance; start and stop are idempotent`, options, async () => {
    const reader = await c.present();
    await reader.start();
    await reader.start();
    try {
      await c.prime?.(reader);
      const probe = await reader.probe();
      const channels = new Map(probe.state === 'present' ? probe.channels.map((ch) => [ch.id, ch]) : []);
      for (let round = 0; round < 3; round++) {
        const readings = reader.sample();
        assert.ok(readings.length > 0, 'a present source gives readings');
        for (const r of readings) {
          const ch = channels.get(r.channel);
          assert.ok(ch !== undefined, `${r.channel} was announced by probe`);
          assert.equal(r.quantity, ch.quantity);
          assert.equal(typeof r.trusted, 'boolean');
          assert.equal(r.provenance.kind, kind);
          assert.equal(r.provenance.source, reader.source);
          assert.ok(r.provenance.sensor.length > 0);
          assert.ok(r.provenance.windowS >= 0 && r.provenance.errorBound >= 0, `${r.channel}: window and bound`);
          if (r.trusted) assert.ok(Number.isFinite(r.value), `${r.channel}: a trusted value is finite`);
        }
      }
    } finally {
      await reader.stop();
      await reader.stop();
    }
    assert.throws(() => reader.sample(), { code: 'MXW_ERR_READER_NOT_STARTED' });
  });

  if (c.absent !== undefined) {
    const absent = c.absent;
    test(`${c.name}: an absent source says why, and start fails with MXW_ERR_SENSORS_UNAVAILABLE`, options, async () => {
      const reader = absent();
      const probe = await reader.probe();
      assert.notEqual(probe.state, 'present');
      if (probe.state !== 'present') assert.ok(probe.reason.length > 10);
      await assert.rejects(reader.start(), { code: 'MXW_ERR_SENSORS_UNAVAILABLE' });
    });
  }
}

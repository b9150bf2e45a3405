/**
 * A real Prometheus (Debian's `prometheus` package) scrapes a real `maxwell run` with real agents,
 * presenting the read-only token from a credentials file, and its query API returns the series.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startRunDaemon, spawnScientistAndLeech } from '../helpers/run-daemon.js';
import { until } from '../helpers/wait.js';

const PROMETHEUS = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
const SKIP = process.getuid?.() !== 0 ? 'needs root: the daemon runs agents in cgroups' : PROMETHEUS === '' ? 'no prometheus binary (apt-get install prometheus)' : false;
const READ_TOKEN = 'prometheus-read-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0); });
    });
  });
}

interface Sample { metric: Record<string, string>; value: [number, string] }

test('Debian’s prometheus scrapes /metrics with the read-only token: temperatures with provenance, prices, wallets, quanta, clearing time', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const daemon = await startRunDaemon('maxwell-prom-', { MAXWELL_API__READ_TOKEN: READ_TOKEN });
  t.after(() => daemon.stop());
  spawnScientistAndLeech(daemon);
  const target = new URL(daemon.url).host;
  const credentials = join(daemon.dir, 'read-token');
  writeFileSync(credentials, READ_TOKEN, { mode: 0o600 });
  const config = join(daemon.dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: maxwell',
      '    metrics_path: /metrics',
      `    authorization: { type: Bearer, credentials_file: ${credentials} }`,
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(daemon.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${String(port)}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prometheus.stderr.on('data', (c: Buffer) => (log += c.toString()));
  t.after(() => prometheus.kill('SIGKILL'));

  const query = async (promql: string): Promise<Sample[]> => {
    const response = await fetch(`http://127.0.0.1:${String(port)}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => null);
    if (response?.ok !== true) return [];
    const body = (await response.json()) as { status: string; data: { result: Sample[] } };
    return body.status === 'success' ? body.data.result : [];
  };
  const wait = async (promql: string, ok: (samples: Sample[]) => boolean): Promise<Sample[]> => {
    let samples: Sample[] = [];
    await until(`prometheus to return ${promql}`, async () => ok((samples = await query(promql))), 60_000, 500).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last answer ${JSON.stringify(samples)}; prometheus log tail: ${log.slice(-1500)}`, { cause: err });
    });
    return samples;
  };

  const up = await wait('up{job="maxwell"}', (s) => s[0]?.value[1] === '1');
  assert.equal(up.length, 1, 'one target, up: the read token was accepted');
  const temperatures = await wait('maxwell_core_temperature_celsius', (s) => s.length >= 1);
  for (const s of temperatures) {
    assert.equal(s.metric['provenance'], 'modelled', 'no sensor here: the twin, and the series says so');
    assert.match(s.metric['source'] ?? '', /thermal twin/);
    assert.ok(Number(s.value[1]) > 0);
  }
  await wait('maxwell_quanta_sold_total', (s) => s.some((x) => Number(x.value[1]) > 0));
  await wait('maxwell_agent_balance_joules{agent="sci"}', (s) => s.length === 1);
  await wait('maxwell_clearing_duration_seconds_count', (s) => Number(s[0]?.value[1] ?? 0) > 0);
  await wait('maxwell_agent_phase{agent="parasite",phase="dead"}', (s) => s.length === 1);
  await wait('maxwell_agent_cpu_seconds_total{agent="sci"}', (s) => Number(s[0]?.value[1] ?? 0) > 0);
  const energy = await wait('maxwell_package_energy_joules_total', (s) => Number(s[0]?.value[1] ?? 0) > 0);
  assert.equal(energy[0]?.metric['provenance'], 'modelled');
  t.diagnostic(`prometheus ${PROMETHEUS} scraped ${target}: ${String(temperatures.length)} core temperature series (modelled), energy ${Number(energy.at(0)?.value[1]).toFixed(1)} J (modelled)`);
});

/**
 * The operator's surface over real HTTP on loopback, against the daemon double: the read-only
 * token, Prometheus metrics, the OpenAPI description (every route is in it), the dashboard's files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { provenanceLabels } from '../../../src/api/metrics.js';
import { DaemonDouble } from '../../helpers/daemon-double.js';

const TOKEN = 'write-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';

describe('operator routes', () => {
  let server: ApiServer;
  let daemon: DaemonDouble;
  const routes: { method: string; url: string }[] = [];
  const get = (path: string, token: string | null = READ, init: RequestInit = {}): Promise<Response> =>
    fetch(`${server.url}${path}`, { ...init, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(init.headers as Record<string, string> | undefined) } });

  before(async () => {
    daemon = new DaemonDouble();
    server = await startApiServer({ control: daemon, token: TOKEN, readToken: READ, routes, kubeExtender: { enabled: true, minHeadroom: 0.1 }, version: '9.9.9' });
    await daemon.spawnAgent({ id: 'leech', command: '/bin/true', walletJ: 10, role: 'leech' });
  });
  after(() => server.close());

  test('the read-only token reads but changes nothing (MXW_ERR_API_FORBIDDEN); the write token does both; access says which', async () => {
    assert.equal((await get('/v1/state')).status, 200);
    assert.deepEqual(await (await get('/v1/access')).json(), { access: 'read' });
    assert.deepEqual(await (await get('/v1/access', TOKEN)).json(), { access: 'write' });
    const refused = await get('/v1/agents/leech', READ, { method: 'DELETE' });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'MXW_ERR_API_FORBIDDEN');
    assert.equal(daemon.agent('leech').phase, 'running', 'nothing was stopped');
    const spawn = await get('/v1/agents', READ, { method: 'POST', body: JSON.stringify({ command: '/bin/true', walletJ: 1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(spawn.status, 403);
    assert.equal((await get('/v1/state', 'not-a-token-at-all-0000')).status, 401);
    await assert.rejects(startApiServer({ control: daemon, token: TOKEN, readToken: TOKEN }), /must differ/);
    await assert.rejects(startApiServer({ control: daemon, token: TOKEN, readToken: 'short' }), /at least 16/);
  });

  test('/metrics is the Prometheus text format, with provenance on temperatures and energy, and needs a token', async () => {
    assert.equal((await get('/metrics', null)).status, 401);
    daemon.emitTick('leech');
    const response = await get('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of ['maxwell_core_temperature_celsius', 'maxwell_core_reserve_price_joules', 'maxwell_quanta_sold_total', 'maxwell_package_energy_joules_total', 'maxwell_agent_balance_joules', 'maxwell_agent_energy_joules_total', 'maxwell_ledger_entries', 'maxwell_clearing_duration_seconds_bucket', 'maxwell_tick_lateness_seconds_count', 'process_cpu_seconds_total']) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} is exposed`);
    }
    assert.match(text, /^maxwell_agent_phase\{agent="leech",phase="running"\} 1$/m);
    assert.match(text, /^maxwell_quanta_sold_total\{core="0"\} 1$/m, 'the tick’s award was counted');
    assert.match(text, /^maxwell_core_clearing_price_joules\{core="0"\} 0\.02$/m);
    assert.match(text, /^maxwell_agent_balance_joules\{agent="leech",role="leech",runtime="process"\} 10$/m);
    assert.match(text, /^maxwell_clearing_duration_seconds_count 1$/m);
    assert.equal((await get('/metrics?x=1')).status, 400, 'no query string');
  });

  test('provenance labels split "measured: …" and "modelled: …", and call anything else unknown', () => {
    assert.deepEqual(provenanceLabels('modelled: thermal twin (2 cores) driven by /proc/stat'), { provenance: 'modelled', source: 'thermal twin (2 cores) driven by /proc/stat' });
    assert.deepEqual(provenanceLabels('measured: RAPL powercap (intel-rapl:0)'), { provenance: 'measured', source: 'RAPL powercap (intel-rapl:0)' });
    assert.equal(provenanceLabels('42 W from somewhere').provenance, 'unknown');
  });

  test('/openapi.json is public, OpenAPI 3, and names every route the server has, with its request schemas', async () => {
    const response = await get('/openapi.json', null);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; info: { version: string }; paths: Record<string, Record<string, { summary?: string; requestBody?: unknown; parameters?: { name: string; in: string }[] }>> };
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.version, '9.9.9');
    assert.ok(routes.length >= 20, `routes recorded: ${String(routes.length)}`);
    const missing = routes.filter((r) => doc.paths[r.url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[r.method.toLowerCase()] === undefined);
    assert.deepEqual(missing, [], 'every route is described');
    for (const [path, methods] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(methods)) assert.ok(op.summary, `${method} ${path} has a summary`);
    assert.ok(doc.paths['/v1/agents']?.['post']?.requestBody, 'the spawn body schema is there');
    assert.ok(doc.paths['/v1/ledger/entries']?.['get']?.parameters?.some((p) => p.name === 'limit' && p.in === 'query'));
    assert.ok(doc.paths['/v1/agents/{id}']?.['get']?.parameters?.some((p) => p.name === 'id' && p.in === 'path'));
    // Validation is still zod's, with the API's codes, not AJV's.
    const bad = await get('/v1/agents', TOKEN, { method: 'POST', body: JSON.stringify({ command: '/bin/true', walletJ: -1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { code: string; message: string } }).error.message, /^body\.walletJ: /);
  });

  test('the dashboard’s files are public, strict about what they load, and nothing else is served', async () => {
    const page = await get('/dashboard', null);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /<script src="\/dashboard\/dashboard\.js"/);
    for (const file of ['dashboard.js', 'dashboard.css', 'echarts.min.js']) assert.equal((await get(`/dashboard/${file}`, null)).status, 200, file);
    const missing = await get('/dashboard/..%2Fpackage.json', null);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'MXW_ERR_API_NOT_FOUND');
  });
});

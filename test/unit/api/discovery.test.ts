import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveApiEndpoint } from '../../../src/api/client.js';
import { daemonFilePath, generateApiToken, readDaemonFile, removeDaemonFile, writeDaemonFile } from '../../../src/api/discovery.js';
import { parseBytes, parseJoules } from '../../../src/cli/commands/daemon-api.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-discovery-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('daemon.json is written 0600 in a 0700 folder, read back, and removed only by its owner', () => {
  withDir((root) => {
    const dir = join(root, 'state');
    const info = { url: 'http://127.0.0.1:4242', token: generateApiToken(), pid: process.pid };
    const path = writeDaemonFile(dir, info);
    assert.equal(path, daemonFilePath(dir));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readDaemonFile(dir), info);
    assert.equal(info.token.length, 43);
    assert.equal(removeDaemonFile(dir, process.pid + 1), false);
    assert.equal(removeDaemonFile(dir), true);
    assert.equal(readDaemonFile(dir), null);
  });
});

test('a malformed or group-readable daemon.json is MXW_ERR_API_DISCOVERY', () => {
  withDir((dir) => {
    const path = daemonFilePath(dir);
    writeFileSync(path, '{"url": 1}', { mode: 0o600 });
    assert.throws(() => readDaemonFile(dir), { code: 'MXW_ERR_API_DISCOVERY' });
    writeFileSync(path, 'not json', { mode: 0o600 });
    assert.throws(() => readDaemonFile(dir), { code: 'MXW_ERR_API_DISCOVERY' });
    writeDaemonFile(dir, { url: 'http://127.0.0.1:1', token: 't', pid: 1 });
    chmodSync(path, 0o644);
    assert.throws(() => readDaemonFile(dir), { code: 'MXW_ERR_API_DISCOVERY' });
    assert.throws(() => writeDaemonFile(dir, { url: 'ftp://x', token: 't', pid: 1 }), { code: 'MXW_ERR_API_DISCOVERY' });
    assert.match(readFileSync(path, 'utf8'), /127\.0\.0\.1:1/);
  });
});

test('the endpoint comes from flags, then the environment, then daemon.json', () => {
  withDir((dir) => {
    assert.throws(() => resolveApiEndpoint({ env: {}, stateDir: dir }), { code: 'MXW_ERR_DAEMON_UNREACHABLE' });
    writeDaemonFile(dir, { url: 'http://127.0.0.1:1/', token: 'file-token', pid: process.pid });
    assert.deepEqual(resolveApiEndpoint({ env: {}, stateDir: dir }), { url: 'http://127.0.0.1:1', token: 'file-token', source: 'daemon.json' });
    assert.deepEqual(resolveApiEndpoint({ env: { MAXWELL_API_URL: 'http://h:2', MAXWELL_API_TOKEN: 'e' }, stateDir: dir }), { url: 'http://h:2', token: 'e', source: 'env' });
    assert.deepEqual(resolveApiEndpoint({ url: 'http://f:3', env: { MAXWELL_API_URL: 'http://h:2' }, stateDir: dir }), { url: 'http://f:3', token: 'file-token', source: 'flag' });
  });
});

test('parseJoules reads plain numbers, J and SI prefixes, and refuses the rest', () => {
  const cases: [string, number][] = [['5000', 5000], ['5000J', 5000], ['5kJ', 5000], ['5 kJ', 5000], ['2.5MJ', 2.5e6], ['20mJ', 0.02], ['0.02', 0.02], ['.5', 0.5], ['1e3', 1000], ['3uJ', 3e-6], ['1GJ', 1e9], ['0', 0]];
  for (const [text, value] of cases) assert.ok(Math.abs(parseJoules(text, 'x') - value) <= value * 1e-12, text);
  for (const text of ['', '-5', '+5', '5k', 'NaN', 'Infinity', '1e999', '5 kW', '5J J', '0x10', '5,000', 'five']) {
    assert.throws(() => parseJoules(text, '--wallet'), { code: 'MXW_ERR_INVALID_ARG' }, text);
  }
});

test('parseBytes reads bytes with binary prefixes (as cgroups do), and refuses the rest', () => {
  const cases: [string, number][] = [['67108864', 67108864], ['64M', 64 * 2 ** 20], ['64MiB', 64 * 2 ** 20], ['64MB', 64 * 2 ** 20], ['1GiB', 2 ** 30], ['1.5g', 1.5 * 2 ** 30], ['512k', 512 * 1024], ['100B', 100], [' 8 M ', 8 * 2 ** 20]];
  for (const [text, value] of cases) assert.equal(parseBytes(text, 'x'), value, text);
  for (const text of ['', '-5M', '64 MJ', 'lots', '1e9', '0x10', '64Mi', 'M']) assert.throws(() => parseBytes(text, '--memory'), { code: 'MXW_ERR_INVALID_ARG' }, text);
});

/**
 * The systemd unit (deploy/systemd/maxwell.service): systemd accepts it where systemd-analyze
 * exists, every MAXWELL_* variable it sets is a real configuration key, and the settings the
 * docs promise (restart policy, graceful stop, private state) are there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configFromEnv, loadConfig } from '../../../src/config/load.js';
import { repoPath } from '../../helpers/repo.js';

const UNIT = repoPath('deploy/systemd/maxwell.service');
const ANALYZE = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();

function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, key = '', value = ''] = match;
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

test('the unit restarts on failure, stops Maxwell alone with SIGTERM, and keeps state and tokens private', () => {
  const unit = settings(readFileSync(UNIT, 'utf8'));
  assert.deepEqual(unit.get('Restart'), ['on-failure']);
  assert.deepEqual(unit.get('KillMode'), ['mixed'], 'SIGTERM reaches Maxwell only: it stops its agents and restores every knob itself');
  assert.deepEqual(unit.get('KillSignal'), ['SIGTERM']);
  assert.deepEqual(unit.get('StateDirectoryMode'), ['0700']);
  assert.deepEqual(unit.get('RuntimeDirectoryMode'), ['0700']);
  assert.match(unit.get('ExecStart')?.[0] ?? '', /dist\/src\/cli\/bin\.js run --log-decisions$/);
  // After any stop, what a dead daemon left in its groups is swept.
  assert.match(unit.get('ExecStopPost')?.[0] ?? '', /dist\/src\/cli\/bin\.js sweep$/);
  assert.deepEqual(unit.get('StandardOutput'), ['journal']);
});

test('the unit delegates its cgroup to Maxwell, and tells Maxwell to keep its agents there', () => {
  const unit = settings(readFileSync(UNIT, 'utf8'));
  assert.deepEqual(unit.get('Delegate'), ['yes'], 'systemd hands a service only the subtree it delegates (docs/RUNTIMES.md)');
  const env = Object.fromEntries((unit.get('Environment') ?? []).map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));
  assert.equal(loadConfig({ env }).daemon.cgroupParent, 'delegated');
});

test('every MAXWELL_* variable the unit sets is a configuration key, and they load', () => {
  const env = Object.fromEntries((settings(readFileSync(UNIT, 'utf8')).get('Environment') ?? []).map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));
  assert.ok(Object.keys(env).length >= 4);
  const config = loadConfig({ env });
  assert.equal(config.state.dir, '/run/maxwell');
  assert.equal(config.ledger.path, '/var/lib/maxwell/ledger.sqlite');
  assert.equal(config.ledger.keyPath, '/var/lib/maxwell/node-key.pem');
  assert.equal(config.daemon.runtimeDir, '/run/maxwell/agents');
  assert.equal(Object.keys(configFromEnv(env)).length > 0, true);
});

test('systemd-analyze verify accepts the unit', { skip: ANALYZE === '' ? 'no systemd-analyze here' : false }, () => {
  const result = spawnSync(ANALYZE, ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /maxwell\.service:\d+:/, 'no warnings about the unit’s own lines');
});

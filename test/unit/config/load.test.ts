import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderConfigurationDoc } from '../../../src/config/doc.js';
import { configFromAssignments, configKeyPaths, defaultConfig, envNameOf, loadConfig } from '../../../src/config/load.js';
import { DEFAULT_TWIN_PARAMS } from '../../../src/physics/twin-params.js';
import { repoPath } from '../../helpers/repo.js';

function writeJson(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-config-'));
  const file = join(dir, 'maxwell.json');
  writeFileSync(file, content);
  return file;
}

test('defaults come from the schema and match the twin defaults', () => {
  const config = loadConfig();
  assert.equal(config.twin.cores, DEFAULT_TWIN_PARAMS.cores);
  assert.equal(config.twin.core.tauS, DEFAULT_TWIN_PARAMS.core.tauS);
  assert.equal(config.twin.chassis.tauS, 30);
  assert.equal(config.control.setpointC, 80);
  assert.deepEqual(config, defaultConfig());
});

test('file < environment < flags, each overriding only what it names', () => {
  const file = writeJson(JSON.stringify({ twin: { cores: 8, ambientC: 30 }, control: { setpointC: 70 } }));
  const config = loadConfig({
    file,
    env: { MAXWELL_TWIN__CORES: '6', MAXWELL_TWIN__CORE__TAU_S: '1.5', PATH: '/bin' },
    flags: [configFromAssignments(['twin.cores=12'])],
  });
  assert.equal(config.twin.cores, 12);
  assert.equal(config.twin.core.tauS, 1.5);
  assert.equal(config.twin.core.deadTimeS, 0.1, 'siblings keep their defaults');
  assert.equal(config.twin.ambientC, 30);
  assert.equal(config.control.setpointC, 70);
});

test('MAXWELL_CONFIG names the file when --config is absent', () => {
  const file = writeJson('{"twin": {"gpu": false}}');
  assert.equal(loadConfig({ env: { MAXWELL_CONFIG: file } }).twin.gpu, false);
});

test('unknown keys are rejected with the key and where it came from', () => {
  const file = writeJson('{"twin": {"coreCount": 8}}');
  assert.throws(() => loadConfig({ file }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MXW_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /twin\.coreCount/);
    assert.match(err.message, /maxwell\.json/);
    return true;
  });
  assert.throws(() => loadConfig({ env: { MAXWELL_TWIN__CORE_COUNT: '8' } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MXW_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /MAXWELL_TWIN__CORE_COUNT/);
    return true;
  });
  assert.throws(() => loadConfig({ flags: [configFromAssignments(['control.kp=3'])] }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MXW_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /control\.kp/);
    assert.match(err.message, /command-line/);
    return true;
  });
});

test('invalid values are rejected with the key named', () => {
  assert.throws(() => loadConfig({ flags: [{ twin: { cores: 0 } }] }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MXW_ERR_CONFIG_INVALID');
    assert.match(err.message, /twin\.cores/);
    return true;
  });
  assert.throws(() => loadConfig({ env: { MAXWELL_CONTROL__RULE: 'ziegler' } }), { code: 'MXW_ERR_CONFIG_INVALID' });
  assert.throws(() => loadConfig({ flags: [{ twin: { core: { tauS: 'slow' } } }] }), { code: 'MXW_ERR_CONFIG_INVALID' });
  assert.throws(() => loadConfig({ flags: [{ control: { outputMin: 0.9, outputMax: 0.5 } }] }), { code: 'MXW_ERR_CONFIG_INVALID' });
  assert.throws(() => configFromAssignments(['novalue']), { code: 'MXW_ERR_CONFIG_INVALID' });
  // fleet.allowedIds takes node ids as `maxwell fleet` prints them, and nothing else.
  assert.throws(() => loadConfig({ flags: [{ fleet: { allowedIds: ['node1'] } }] }), (err: Error & { code?: string }) => err.code === 'MXW_ERR_CONFIG_INVALID' && /fleet\.allowedIds/.test(err.message));
  assert.deepEqual(loadConfig({ env: { MAXWELL_FLEET__ALLOWED_IDS: '["CM7qFvmWk6tyFEZRihQOfQ"]' } }).fleet.allowedIds, ['CM7qFvmWk6tyFEZRihQOfQ']);
  assert.throws(() => loadConfig({ flags: [{ fleet: { swim: { maxMembers: 1 } } }] }), { code: 'MXW_ERR_CONFIG_INVALID' });
});

test('unreadable, malformed and non-object files fail with MXW_ERR_CONFIG_FILE', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/maxwell.json' }), { code: 'MXW_ERR_CONFIG_FILE' });
  assert.throws(() => loadConfig({ file: writeJson('{"twin": ') }), { code: 'MXW_ERR_CONFIG_FILE' });
  assert.throws(() => loadConfig({ file: writeJson('[1, 2]') }), { code: 'MXW_ERR_CONFIG_FILE' });
});

test('the loaded configuration is deeply frozen', () => {
  const config = loadConfig();
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.twin.core));
  assert.throws(() => {
    (config.twin as { cores: number }).cores = 99;
  }, TypeError);
});

test('environment names follow the key paths', () => {
  assert.equal(envNameOf('twin.core.tauS'), 'MAXWELL_TWIN__CORE__TAU_S');
  assert.equal(envNameOf('twin.core.resistanceKPerW'), 'MAXWELL_TWIN__CORE__RESISTANCE_K_PER_W');
  const names = configKeyPaths().map(envNameOf);
  assert.equal(new Set(names).size, names.length, 'two keys share an environment variable');
  for (const path of configKeyPaths()) {
    assert.doesNotThrow(() => loadConfig({ env: { [envNameOf(path)]: JSON.stringify(path.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown>)[k], defaultConfig())) } }), path);
  }
});

test('docs/CONFIGURATION.md is generated from the schema and up to date (npm run docs)', () => {
  assert.equal(readFileSync(repoPath('docs/CONFIGURATION.md'), 'utf8'), renderConfigurationDoc());
});

test('MAXWELL_* variables that are not configuration (API endpoint, agent socket) are not refused as unknown keys', () => {
  const env = { MAXWELL_API_URL: 'http://127.0.0.1:1', MAXWELL_API_TOKEN: 't', MAXWELL_SOCKET: '/x', MAXWELL_TOKEN: 't', MAXWELL_AGENT_ID: 'a' };
  assert.doesNotThrow(() => loadConfig({ env }));
  assert.throws(() => loadConfig({ env: { MAXWELL_API_URLS: 'x' } }), { code: 'MXW_ERR_CONFIG_UNKNOWN_KEY' });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../../src/errors.js';
import { ERROR_CODES, MaxwellError, isMaxwellError, toError } from '../../src/errors.js';
import { API_WARNING_CODES } from '../../src/api/server.js';
import { TELEMETRY_WARNING_CODES } from '../../src/telemetry/health.js';
import { IDENT_WARNING_CODES } from '../../src/identification/fopdt.js';
import { repoPath } from '../helpers/repo.js';

test('docs/ERRORS.md lists exactly the codes in src/errors.ts', () => {
  const doc = readFileSync(repoPath('docs/ERRORS.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(MXW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
  assert.equal(new Set(documented).size, documented.length, 'a code is documented twice');
});

test('every code has exactly one error class, which sets it and its name', () => {
  const classes = Object.entries(errors).filter(
    ([name, value]) => name !== 'MaxwellError' && typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof MaxwellError,
  ) as [string, new (message: string) => MaxwellError][];
  const codes = classes.map(([name, Cls]) => {
    const err = new Cls('boom');
    assert.equal(err.name, name);
    assert.ok(err instanceof MaxwellError);
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'boom');
    return err.code;
  });
  assert.deepEqual([...codes].sort(), [...ERROR_CODES].sort());
});

test('MaxwellError is recognised across module copies through its Symbol.for brand', () => {
  const foreign = Object.assign(new Error('x'), { [Symbol.for('maxwell.error')]: true, code: 'MXW_ERR_INVALID_ARG' });
  assert.ok(foreign instanceof MaxwellError);
  assert.ok(!(new Error('plain') instanceof MaxwellError));
  assert.ok(isMaxwellError(new errors.UnitRangeError('x'), 'MXW_ERR_UNIT_RANGE'));
  assert.ok(!isMaxwellError(new errors.UnitRangeError('x'), 'MXW_ERR_INVALID_ARG'));
});

test('toError normalises anything thrown', () => {
  const e = new Error('e');
  assert.equal(toError(e), e);
  assert.equal(toError('text').message, 'text');
  assert.equal(toError({ a: 1 }).message, '{"a":1}');
});

test('docs/ERRORS.md lists exactly the warning codes', () => {
  const doc = readFileSync(repoPath('docs/ERRORS.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(MXW_WARN_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...TELEMETRY_WARNING_CODES, ...API_WARNING_CODES, ...IDENT_WARNING_CODES].sort());
});

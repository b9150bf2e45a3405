import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isMaxwellError } from '../../../src/errors.js';
import { agentId } from '../../helpers/agent-id.js';
import { protocolEndpointOf, protocolPortArgs, tokenLine } from '../../../src/runtimes/vm/protocol-channel.js';

const env = { MAXWELL_SOCKET: '/run/maxwell/a.sock', MAXWELL_TOKEN: 'secret', MAXWELL_AGENT_ID: 'a' };
const spec = (e?: Record<string, string>) => ({ id: agentId('a'), command: 'scientist', ...(e === undefined ? {} : { env: e }) });
const isSpecError = (e: unknown): boolean => isMaxwellError(e, 'MXW_ERR_AGENT_SPEC');

test('no protocol variables: no channel; all three: the endpoint', () => {
  assert.equal(protocolEndpointOf(spec()), null);
  assert.equal(protocolEndpointOf(spec({ PATH: '/bin' })), null);
  assert.deepEqual(protocolEndpointOf(spec(env)), { socketPath: env.MAXWELL_SOCKET, agentId: 'a', token: 'secret' });
});

test('a partial or unusable set is MXW_ERR_AGENT_SPEC', () => {
  assert.throws(() => protocolEndpointOf(spec({ MAXWELL_SOCKET: env.MAXWELL_SOCKET })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_SOCKET: 'relative.sock' })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_SOCKET: `/${'x'.repeat(120)}` })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_SOCKET: '/run/a\n.sock' })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_AGENT_ID: 'a b' })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_TOKEN: '' })), isSpecError);
  assert.throws(() => protocolEndpointOf(spec({ ...env, MAXWELL_TOKEN: 'x'.repeat(257) })), isSpecError);
});

test('a comma in the socket path is fine: it reaches QEMU through QMP JSON, never its option syntax', () => {
  assert.equal(protocolEndpointOf(spec({ ...env, MAXWELL_SOCKET: '/tmp/a,b/a.sock' }))?.socketPath, '/tmp/a,b/a.sock');
  assert.ok(!protocolPortArgs().join(' ').includes('/'));
});

test('the token line is one printable-ASCII word per field, and the token comes back by JSON', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 256, unit: 'grapheme' }), (token) => {
      const line = tokenLine({ socketPath: '/s', agentId: 'sci-1', token });
      const m = /^TOKEN sci-1 ([!-~]+)\n$/.exec(line);
      assert.ok(m?.[1] !== undefined, JSON.stringify(line));
      assert.equal(JSON.parse(`"${m[1]}"`), token);
    }),
  );
  assert.equal(tokenLine({ socketPath: '/s', agentId: 'a', token: 'a "b"\\ é' }), 'TOKEN a a\\u0020\\"b\\"\\\\\\u0020\\u00e9\n');
});

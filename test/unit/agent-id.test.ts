import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_ID_MAX_LENGTH, agentAccount, isAgentId, parseAgentId } from '../../src/agent-id.js';
import { parseHello } from '../../src/protocol/messages.js';
import { agentParamsSchema, parseRequest, spawnSchema } from '../../src/api/wire.js';

const GOOD = ['a', 'A1', 'scientist-1', 'x_y', '9lives', 'a'.repeat(AGENT_ID_MAX_LENGTH)];
const BAD = ['', '-flag', '_x', 'bad id!', '../etc', 'a.b', 'é', 'a'.repeat(AGENT_ID_MAX_LENGTH + 1), 'a\nb'];

test('one rule: the validator, the ledger, the protocol and the API agree on every id', () => {
  for (const id of GOOD) {
    assert.equal(isAgentId(id), true, id);
    assert.equal(parseAgentId(id), id);
    assert.equal(agentAccount(id), `agent:${id}`);
    assert.equal(parseHello({ type: 'hello', protocol: 1, agentId: id, token: 't' }).ok, true, id);
    assert.deepEqual(parseRequest(agentParamsSchema, { id }, 'params'), { id });
  }
  for (const id of BAD) {
    assert.equal(isAgentId(id), false, JSON.stringify(id));
    assert.throws(() => parseAgentId(id), { code: 'MXW_ERR_AGENT_ID' });
    assert.throws(() => agentAccount(id), { code: 'MXW_ERR_AGENT_ID' });
    assert.equal(parseHello({ type: 'hello', protocol: 1, agentId: id, token: 't' }).ok, false, JSON.stringify(id));
    // The API refuses it with the same code the daemon and the runtimes would use.
    assert.throws(() => parseRequest(agentParamsSchema, { id }, 'params'), { code: 'MXW_ERR_AGENT_ID', message: /^params\.id/ });
    assert.throws(() => parseRequest(spawnSchema, { id, command: 'x', walletJ: 1 }, 'body'), { code: 'MXW_ERR_AGENT_ID', message: /^body\.id/ });
  }
  assert.throws(() => parseAgentId(42), { code: 'MXW_ERR_AGENT_ID', message: /number/ });
});

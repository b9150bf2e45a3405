import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { VmRuntime } from '../../src/runtimes/vm/vm-runtime.js';
import { agentRuntimeCompliance } from '../compliance/agent-runtime.js';
import { VM_INITRD as initrd, VM_KERNEL as kernel, VM_SKIP as SKIP } from '../helpers/vm.js';
import { agentId } from '../helpers/agent-id.js';

let tags = 0;
agentRuntimeCompliance({
  name: 'vm runtime (QEMU TCG, QMP)',
  create: () => VmRuntime.create({ kernel, initrd, tag: `vm${tags++}` }),
  agents: {
    busy: (id) => ({ id: agentId(id), command: 'busy' }),
    exitsWith3: (id) => ({ id: agentId(id), command: 'exit3' }),
    graceful: (id) => ({ id: agentId(id), command: 'busy' }),
    stubborn: (id) => ({ id: agentId(id), command: 'stubborn' }),
  },
  skip: SKIP,
});

test('a VM that never boots is a failed start, with the console tail; nothing is left running', { skip: SKIP, timeout: 60_000 }, async () => {
  const runtime = await VmRuntime.create({ kernel, initrd: kernel, tag: 'noboot', bootTimeoutMs: 8000 });
  try {
    await assert.rejects(runtime.start({ id: agentId('dud'), command: 'busy' }), (err: Error & { code?: string }) => err.code === 'MXW_ERR_AGENT_START' && /did not boot|exited before/.test(err.message));
    assert.deepEqual(runtime.list(), []);
  } finally {
    await runtime.close();
  }
});

test('QMP pause is confirmed by query-status and stops the guest using host CPU', { skip: SKIP, timeout: 60_000 }, async () => {
  const runtime = await VmRuntime.create({ kernel, initrd, tag: 'vmpause' });
  try {
    await runtime.start({ id: agentId('g'), command: 'busy' });
    // How fast a pause takes effect is measured by `maxwell research pause`, not here.
    for (let i = 0; i < 20; i++) {
      const r = await runtime.pause(agentId('g'));
      assert.ok(r.confirmed);
      assert.equal(r.mechanism, 'qmp-stop');
      assert.ok(r.latencyMs >= 0);
      await runtime.resume(agentId('g'));
      await sleep(5);
    }
    assert.ok(runtime.mechanisms['accelerator']?.includes('TCG'));
  } finally {
    await runtime.close();
  }
});

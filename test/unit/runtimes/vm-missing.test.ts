import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { VmRuntime } from '../../../src/runtimes/vm/vm-runtime.js';

test('what keeps VM agents from running is said before anything starts: no guest, no QEMU', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-vm-missing-'));
  try {
    const kernel = join(dir, 'vmlinuz');
    const initrd = join(dir, 'initramfs.gz');
    assert.match(VmRuntime.missing({ kernel, initrd }) ?? '', /no guest kernel at .*vmlinuz: run scripts\/build-vm-guest\.sh/);
    writeFileSync(kernel, '');
    writeFileSync(initrd, '');
    assert.match(VmRuntime.missing({ kernel, initrd, qemu: 'no-such-qemu-binary' }) ?? '', /no-such-qemu-binary is not installed/);
    assert.match(VmRuntime.missing({ kernel, initrd, qemu: join(dir, 'qemu') }) ?? '', /is not installed/);
    writeFileSync(join(dir, 'qemu'), '');
    assert.equal(VmRuntime.missing({ kernel, initrd, qemu: join(dir, 'qemu') }), null);
    await assert.rejects(VmRuntime.create({ kernel, initrd, qemu: 'no-such-qemu-binary' }), { code: 'MXW_ERR_RUNTIME_SETUP', message: /not installed/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

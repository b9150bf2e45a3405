import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FirecrackerClient } from '../../src/runtimes/vm/firecracker-client.js';
import { startFakeFirecracker } from '../helpers/firecracker-api.js';

const socket = (): string => join(mkdtempSync(join(tmpdir(), 'maxwell-fc-')), 'api.sock');

test('the Firecracker client configures, starts, pauses and resumes with requests the published API accepts', async () => {
  const path = socket();
  const fake = await startFakeFirecracker(path);
  try {
    const fc = new FirecrackerClient(path);
    await fc.putBootSource({ kernel_image_path: '/vm/vmlinux', boot_args: 'console=ttyS0 maxwell.mode=busy', initrd_path: '/vm/initramfs' });
    await fc.putMachineConfig({ vcpu_count: 1, mem_size_mib: 256 });
    await fc.putDrive({ drive_id: 'rootfs', path_on_host: '/vm/rootfs.ext4', is_root_device: true, is_read_only: false });
    await fc.putVsock({ guest_cid: 3, uds_path: '/run/maxwell/agent.vsock' });
    await fc.start();
    assert.equal((await fc.describe()).state, 'Running');
    assert.equal(await fc.pause(), true, 'pause is confirmed by GET /');
    await fc.resume();
    assert.equal((await fc.describe()).state, 'Running');
    await fc.sendCtrlAltDel();
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`), [
      'PUT /boot-source', 'PUT /machine-config', 'PUT /drives/rootfs', 'PUT /vsock', 'PUT /actions', 'GET /', 'PATCH /vm', 'GET /', 'PATCH /vm', 'GET /', 'PUT /actions',
    ]);
  } finally {
    await fake.close();
  }
});

test('requests the API would refuse, and refusals, surface as coded errors with Firecracker\'s fault message', async () => {
  const path = socket();
  const fake = await startFakeFirecracker(path);
  try {
    const fc = new FirecrackerClient(path);
    await assert.rejects(fc.pause(), (err: Error & { code?: string }) => err.code === 'MXW_ERR_RUNTIME_SETUP' && /not started/.test(err.message));
    await assert.rejects(fc.putMachineConfig({ vcpu_count: 64, mem_size_mib: 256 }), (err: Error & { code?: string }) => err.code === 'MXW_ERR_RUNTIME_SETUP' && /vcpu_count/.test(err.message));
    await assert.rejects(fc.putVsock({ guest_cid: 2, uds_path: '/x' }), /guest_cid/);
  } finally {
    await fake.close();
  }
});

test('no Firecracker listening is a clear error', async () => {
  await assert.rejects(new FirecrackerClient(socket(), 500).describe(), (err: Error & { code?: string }) => err.code === 'MXW_ERR_RUNTIME_SETUP' && /--api-sock/.test(err.message));
});

/** What the VM tests need (root, QEMU, the built guest) and why they skip without it. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEFAULT_VM_GUEST } from '../../src/runtimes/vm/vm-runtime.js';

// The guest a VmRuntime boots by default (the daemon's too): the tests skip by the same files.
export const VM_KERNEL = DEFAULT_VM_GUEST.kernel;
export const VM_INITRD = DEFAULT_VM_GUEST.initrd;

function qemuPresent(): boolean {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** False when VM tests can run, else the reason they skip. */
export const VM_SKIP: string | false =
  process.getuid?.() !== 0
    ? 'needs root (the QEMU process runs in cgroups)'
    : !qemuPresent()
      ? 'qemu-system-x86_64 is not installed (.ci/run installs it)'
      : !existsSync(VM_KERNEL) || !existsSync(VM_INITRD)
        ? 'no guest image: run scripts/build-vm-guest.sh (.ci/run does)'
        : false;

/** What the VM tests need (root, QEMU, the built guest) and why they skip without it. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { repoPath } from './repo.js';

export const VM_KERNEL = repoPath('.maxwell/vm/vmlinuz');
export const VM_INITRD = repoPath('.maxwell/vm/initramfs.gz');

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

/**
 * Where `npm run build` (scripts/build-ebpf-loader.sh, from the committed object in
 * native/ebpf/generated/) puts the loader, and what this machine offers for eBPF.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `.maxwell/ebpf` in the repository (from `dist/src/entropy/ebpf/`). */
export const EBPF_BUILD_DIR = fileURLToPath(new URL('../../../../.maxwell/ebpf/', import.meta.url));
export const DEFAULT_LOADER_PATH = `${EBPF_BUILD_DIR}erase-loader`;
export const DEFAULT_BENCH_PATH = `${EBPF_BUILD_DIR}erase-bench`;
export const TRACEFS = '/sys/kernel/tracing';
export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether tracefs is mounted (the syscall tracepoints live there). */
export function tracefsMounted(): boolean {
  return existsSync(`${TRACEFS}/events/syscalls/sys_enter_munmap`);
}

/**
 * Mounts tracefs when it is missing and we are root (the development VMs boot without it).
 * Returns why not when it cannot.
 */
export function ensureTracefs(): string | undefined {
  if (tracefsMounted()) return undefined;
  if (process.geteuid?.() !== 0) return `tracefs is not mounted at ${TRACEFS} and mounting it needs root`;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'ignore' });
  } catch (err) {
    return `cannot mount tracefs at ${TRACEFS}: ${(err as Error).message}`;
  }
  return tracefsMounted() ? undefined : `tracefs mounted at ${TRACEFS} has no syscall tracepoints (kernel without CONFIG_FTRACE_SYSCALLS?)`;
}

/** Why the libbpf loader cannot run here, or `undefined` when it can be tried. */
export function ebpfBlocker(loaderPath = DEFAULT_LOADER_PATH): string | undefined {
  if (process.platform !== 'linux') return `eBPF needs Linux (this is ${process.platform})`;
  if (process.geteuid?.() !== 0) return 'eBPF needs root (CAP_BPF and CAP_PERFMON)';
  if (!existsSync(VMLINUX_BTF)) return `the kernel has no BTF at ${VMLINUX_BTF} (CO-RE needs it)`;
  try {
    if (/\[(integrity|confidentiality)\]/.test(readFileSync('/sys/kernel/security/lockdown', 'utf8'))) return 'kernel lockdown forbids BPF tracing';
  } catch {
    // No lockdown file: no lockdown.
  }
  if (!executable(loaderPath)) return `the loader is not built (${loaderPath}): npm run build builds it where gcc and libbpf.so.1 are installed (apt-get install -y gcc libbpf1)`;
  return ensureTracefs();
}

/** Why the native erase workload (the research's timed loop) cannot run, or `undefined`. */
export function benchBlocker(benchPath = DEFAULT_BENCH_PATH): string | undefined {
  if (process.platform !== 'linux') return `the erase workload needs Linux (this is ${process.platform})`;
  if (!executable(benchPath)) {
    return `the erase workload is not built (${benchPath}): npm run build builds it ` +
      '(needs apt-get install -y gcc libbpf1)';
  }
  return undefined;
}

/** Why bpftrace cannot run here, or `undefined`. */
export function bpftraceBlocker(bpftracePath = 'bpftrace'): string | undefined {
  if (process.platform !== 'linux') return `bpftrace needs Linux (this is ${process.platform})`;
  if (process.geteuid?.() !== 0) return 'bpftrace needs root';
  try {
    execFileSync(bpftracePath, ['--version'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return `${bpftracePath} is not installed (apt-get install -y bpftrace)`;
  }
  return ensureTracefs();
}

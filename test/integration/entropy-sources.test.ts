import { execFileSync } from 'node:child_process';
import { BpftraceEntropySource } from '../../src/entropy/ebpf/bpftrace-source.js';
import { EbpfEntropySource } from '../../src/entropy/ebpf/ebpf-source.js';
import { bpftraceBlocker, ebpfBlocker } from '../../src/entropy/ebpf/paths.js';
import { selectEntropySource, type EntropyBackend, type FallbackEntropySource } from '../../src/entropy/ebpf/select.js';
import { ProcEntropyEstimate } from '../../src/entropy/proc-estimate.js';
import { entropySourceCompliance } from '../compliance/entropy-source.js';
import { until } from '../helpers/wait.js';

const EBPF_SKIP = ebpfBlocker() ?? false;
const BPFTRACE_SKIP = bpftraceBlocker() ?? false;
if (EBPF_SKIP !== false) process.stderr.write(`entropy compliance, eBPF sources skipped: ${EBPF_SKIP}\n`);
if (BPFTRACE_SKIP !== false) process.stderr.write(`entropy compliance, bpftrace sources skipped: ${BPFTRACE_SKIP}\n`);

const PROC = /\/proc\/PID\/status RssAnon/;
const EBPF = /^ebpf ring buffer .*sys_enter_munmap/;
const BPFTRACE = /^bpftrace printf of sys_enter_munmap/;

/** The loader's flush also answers after every earlier command, so the watches are in the kernel by then. */
async function settleEbpf(source: EbpfEntropySource): Promise<void> {
  await source.flush();
}

async function settleActive(source: FallbackEntropySource): Promise<void> {
  const active = source.active;
  if (active instanceof EbpfEntropySource) await settleEbpf(active);
  else if (active instanceof BpftraceEntropySource) await active.settled();
}

async function selected(backend: EntropyBackend): Promise<FallbackEntropySource> {
  const selection = await selectEntropySource({ estimated: () => new ProcEntropyEstimate(), order: [backend] });
  if (selection.backend !== backend) {
    await selection.source.close();
    throw new Error(`asked for ${backend}, got ${selection.backend}: ${selection.reason}`);
  }
  return selection.source;
}

entropySourceCompliance({
  name: 'proc estimate',
  create: () => Promise.resolve(new ProcEntropyEstimate()),
  quality: 'estimated',
  provenance: PROC,
});

entropySourceCompliance({
  name: 'ebpf',
  create: () => EbpfEntropySource.start(),
  quality: 'measured',
  provenance: EBPF,
  settle: settleEbpf,
  cgroups: true,
  helper: true,
  skip: EBPF_SKIP,
});

entropySourceCompliance({
  name: 'bpftrace',
  create: () => Promise.resolve(new BpftraceEntropySource()),
  quality: 'measured',
  provenance: BPFTRACE,
  settle: (source) => source.settled(),
  helper: true,
  skip: BPFTRACE_SKIP,
});

entropySourceCompliance({
  name: 'selected: ebpf (fallback wrapper)',
  create: () => selected('ebpf'),
  quality: 'measured',
  provenance: EBPF,
  settle: settleActive,
  cgroups: true,
  helper: true,
  skip: EBPF_SKIP,
});

entropySourceCompliance({
  name: 'selected: estimate (fallback wrapper)',
  create: () => selected('estimated'),
  quality: 'estimated',
  provenance: PROC,
  settle: settleActive,
});

entropySourceCompliance({
  name: 'selected: ebpf, fallen back to the estimate after its loader died',
  create: async () => {
    const source = await selected('ebpf');
    if (!(source.active instanceof EbpfEntropySource)) throw new Error('the ebpf backend has no loader');
    execFileSync('kill', ['-9', String(source.active.loaderPid)]);
    await until('the fallback to the estimate', () => source.backend === 'estimated');
    return source;
  },
  quality: 'estimated',
  provenance: /RssAnon .*\(fallback: the ebpf source stopped: the eBPF loader exited \(SIGKILL\)\)/,
  settle: settleActive,
  helper: true,
  skip: EBPF_SKIP,
});

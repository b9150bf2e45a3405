/** `maxwell research …`: the research questions as reproducible measurements. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { availablePauseMechanisms, runPauseResearch, type PauseResearchReport, type ProcessPauseMechanism, type Workload } from '../../research/pause.js';
import { createProgress, fmt, formatTable, toJson, type CliIo } from '../output.js';
import type { GlobalOptions } from './common.js';

function list<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) if (!allowed.includes(item as T)) throw new InvalidArgumentError(`--${name}: "${item}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

export function formatPauseReport(report: PauseResearchReport): string {
  const m = report.machine;
  let out = `Pause latency (research question 1): request → confirmed paused, MEASURED on this machine\n`;
  out += `machine: ${m.cpu}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, kernel ${m.kernel}${m.virtualised ? ' (virtualised)' : ''}, Node ${m.node}\n\n`;
  out += formatTable([
    ['mechanism', 'workload', 'RSS MiB', 'trials', 'p50 ms', 'p99 ms', 'max ms', 'confirmed', 'fell back'],
    ...report.rows.map((r) => [r.mechanism, `${r.workload}-bound`, String(r.memoryMiB), String(r.trials), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3), fmt(r.maxMs, 3), `${r.confirmed}/${r.trials}`, String(r.fallbacks)]),
  ]);
  for (const n of report.notMeasured) out += `not measured: ${n.mechanism} — ${n.why}\n`;
  out += `\n${report.findings.map((f) => `- ${f}`).join('\n')}\n`;
  return out;
}

export function registerResearch(program: Command, io: CliIo): void {
  const research = program.command('research').description('run a research question as a reproducible measurement');
  research
    .command('pause')
    .description('pause latency of every pause mechanism present, for CPU- and I/O-bound agents of small and large memory (needs root)')
    .option('--trials <n>', 'pauses per configuration (at least 1000 for the published figure)', '1000')
    .option('--mechanisms <list>', `comma-separated subset of: ${availablePauseMechanisms().join(', ')}`)
    .option('--workloads <list>', 'comma-separated subset of: cpu, io', 'cpu,io')
    .option('--memory-mb <list>', 'resident memory sizes of the agent, MiB (for QMP: the guest RAM)', '256,3072')
    .option('--out <file>', 'also write the table (markdown) to this file')
    .option('--json', 'print one JSON document on stdout')
    .action(async (options: { trials: string; mechanisms?: string; workloads: string; memoryMb: string; out?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const trials = Number(options.trials);
      if (!Number.isInteger(trials) || trials < 1) throw new InvalidArgumentError(`--trials must be a positive integer, got ${options.trials}`);
      const memoryMiB = options.memoryMb.split(',').map(Number);
      if (memoryMiB.some((v) => !Number.isInteger(v) || v < 0)) throw new InvalidArgumentError(`--memory-mb: expected integers, got ${options.memoryMb}`);
      const progress = createProgress(io, globals.quiet === true);
      const abort = new AbortController();
      const onSignal = (): void => { abort.abort(); };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const mechanisms = list<ProcessPauseMechanism>(options.mechanisms, availablePauseMechanisms(), 'mechanisms');
        const report = await runPauseResearch({
          trials,
          ...(mechanisms === undefined ? {} : { mechanisms }),
          workloads: list<Workload>(options.workloads, ['cpu', 'io'], 'workloads') ?? ['cpu', 'io'],
          memoryMiB,
          onProgress: (i, n, label) => { progress.step(i, n, label); },
          signal: abort.signal,
        });
        progress.done();
        const text = formatPauseReport(report);
        if (options.out !== undefined) writeFileSync(options.out, `\`\`\`\n${text}\`\`\`\n`);
        io.stdout.write(globals.json === true ? `${toJson({ provenance: { kind: 'measured', source: 'this machine' }, ...report })}\n` : text);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

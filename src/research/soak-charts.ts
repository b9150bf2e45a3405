/** The soak's charts over time (ECharts, server-side SVG), one file per concern, for docs/RELIABILITY.md. */
import type { LineSeriesOption } from 'echarts/charts';
import { renderSvg } from '../experiment/report/charts.js';
import type { SoakReport, SoakSample } from './soak.js';

export interface SoakChart {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

interface Line {
  readonly name: string;
  readonly pick: (s: SoakSample) => number;
  /** 1: the right-hand axis. */
  readonly axis?: 0 | 1;
}

function chart(report: SoakReport, title: string, axes: readonly [string, string?], lines: readonly Line[], limit?: { value: number; label: string }): string {
  const minutes = (s: SoakSample): number => Math.round((s.tS / 60) * 100) / 100;
  const series: LineSeriesOption[] = lines.map((line, i) => ({
    name: line.name,
    type: 'line',
    showSymbol: false,
    yAxisIndex: line.axis ?? 0,
    data: report.samples.map((s) => [minutes(s), Number.isFinite(line.pick(s)) ? line.pick(s) : null]),
    ...(i === 0 && limit !== undefined
      ? { markLine: { silent: true, symbol: 'none', lineStyle: { color: '#c0392b', type: 'dashed' as const }, label: { formatter: limit.label, position: 'insideEndTop' as const }, data: [{ yAxis: limit.value }] } }
      : {}),
  }));
  const warmupMin = report.options.warmupS / 60;
  const yAxis = axes.filter((name): name is string => name !== undefined).map((name) => ({ type: 'value' as const, name, nameLocation: 'middle' as const, nameGap: 44, scale: true }));
  return renderSvg(
    {
      title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
      legend: { top: 'bottom' },
      grid: { left: 64, right: axes.length > 1 ? 64 : 24, top: 40, bottom: 64 },
      xAxis: { type: 'value', name: `minutes after the ramp (warm-up: the first ${String(Math.round(warmupMin * 10) / 10)})`, nameLocation: 'middle', nameGap: 26, min: 0 },
      yAxis,
      series,
    },
    900,
    300,
  );
}

/** Memory, descriptors and agents, tick timings, the ledger. */
export function renderSoakCharts(report: SoakReport): SoakChart[] {
  return [
    { file: 'soak-memory.svg', title: 'Daemon memory', svg: chart(report, 'Daemon memory: RSS (/proc), V8 heap used and external memory (/metrics), MiB', ['MiB'], [{ name: 'RSS', pick: (s) => s.rssMiB }, { name: 'heap used', pick: (s) => s.heapUsedMiB }, { name: 'external (Buffers)', pick: (s) => s.externalMiB }]) },
    { file: 'soak-fds.svg', title: 'Descriptors and agents', svg: chart(report, 'Open file descriptors of the daemon (/proc) and agents alive', ['descriptors', 'agents'], [{ name: 'descriptors', pick: (s) => s.fds }, { name: 'agents alive', pick: (s) => s.agentsAlive, axis: 1 }]) },
    {
      file: 'soak-ticks.svg',
      title: 'Tick timing',
      svg: chart(report, 'Tick lateness p50 and p99, clearing p99, per sample window, ms (bucket upper edges)', ['ms'], [{ name: 'lateness p99', pick: (s) => s.latenessP99Ms }, { name: 'lateness p50', pick: (s) => s.latenessP50Ms }, { name: 'clearing p99', pick: (s) => s.clearingP99Ms }], { value: 5, label: 'goal: p99 ≤ 5 ms' }),
    },
    { file: 'soak-ledger.svg', title: 'The ledger', svg: chart(report, 'Ledger file with its WAL, MiB, and commit time p99, ms', ['MiB', 'ms'], [{ name: 'ledger MiB', pick: (s) => s.ledgerMiB }, { name: 'commit p99, ms', pick: (s) => s.ledgerCommitP99Ms, axis: 1 }]) },
  ];
}

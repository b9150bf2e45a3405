/**
 * The report's charts, rendered server-side by ECharts (SVG renderer, `ssr: true`): no DOM, no
 * browser, and no hand-built SVG. Each chart is built as an ECharts option from one repetition's
 * time series, then rendered to an SVG string.
 */
import { LineChart, type LineSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type MarkLineComponentOption,
  type MarkPointComponentOption,
  type TitleComponentOption,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { InvalidArgumentError } from '../../errors.js';
import type { ArmSeries, ExperimentResults, FigureSource } from '../results.js';

echarts.use([LineChart, GridComponent, LegendComponent, TitleComponent, MarkLineComponent, MarkPointComponent, SVGRenderer]);

export type ChartOption = echarts.ComposeOption<LineSeriesOption | GridComponentOption | LegendComponentOption | TitleComponentOption | MarkLineComponentOption | MarkPointComponentOption>;

/** The charts of a report, in the order the page shows them. */
export const CHART_IDS = ['temperature', 'power', 'prices', 'wallets'] as const;
export type ChartId = (typeof CHART_IDS)[number];

/** One rendered chart. */
export interface RenderedChart {
  readonly id: ChartId;
  /** File name in the report folder, e.g. `temperature.svg`. */
  readonly file: string;
  readonly title: string;
  /** What the chart shows and where its numbers came from, in words. */
  readonly caption: string;
  readonly svg: string;
}

/** Options of {@link renderCharts}. */
export interface ChartOptions {
  /** Which repetition's time series to draw (0-based). @default 0 */
  readonly repetition?: number;
  /** Chart width, px. @default 960 */
  readonly width?: number;
  /** Chart height, px. @default 380 */
  readonly height?: number;
}

/** Marker text of a death on the wallet chart. */
export const DEATH_MARK = '†';

const ARM_LABEL = { cfs: 'CFS', maxwell: 'Maxwell' } as const;

function points(t: readonly number[], values: readonly (number | null)[]): [number, number | null][] {
  return t.map((s, i) => [s, values[i] ?? null]);
}

function provenanceText(source: FigureSource): string {
  return `${source.provenance} (${source.source})`;
}

/** Renders one ECharts option to an SVG string (no DOM): the report's charts and the soak's share it. */
export function renderSvg(option: ChartOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, backgroundColor: '#ffffff', textStyle: { fontFamily: 'sans-serif' }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const baseAxis = (name: string) => ({ type: 'value' as const, name, nameLocation: 'middle' as const, nameGap: 28, scale: true });

function temperatureOption(results: ExperimentResults, cfs: ArmSeries, maxwell: ArmSeries, title: string): ChartOption {
  const throttle = results.metadata.throttlePointC;
  const arms = [
    { label: ARM_LABEL.cfs, series: cfs },
    { label: ARM_LABEL.maxwell, series: maxwell },
  ];
  const all = [cfs, maxwell].flatMap((s) => s.coreC.flat()).filter((x): x is number => x !== null);
  // Both panels share one scale, on multiples of 5 °C, so that the arms compare at a glance.
  const yMax = Math.ceil((Math.max(throttle, ...all) + 1) / 5) * 5;
  const yMin = Math.floor((Math.min(throttle, ...all) - 1) / 5) * 5;
  const series: LineSeriesOption[] = arms.flatMap(({ label, series: s }, grid) =>
    s.coreC.map((values, core) => ({
      name: `core ${core}`,
      type: 'line' as const,
      xAxisIndex: grid,
      yAxisIndex: grid,
      showSymbol: false,
      sampling: 'lttb' as const,
      data: points(s.t, values),
      ...(core === 0
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              lineStyle: { color: '#c0392b', type: 'dashed' as const },
              label: { formatter: `throttle ${throttle} °C`, position: 'insideEndTop' as const },
              data: [{ yAxis: throttle, name: `${label} throttle point` }],
            },
          }
        : {}),
    })),
  );
  return {
    title: [
      { text: title, left: 'center', textStyle: { fontSize: 15 } },
      { text: ARM_LABEL.cfs, left: '27%', top: 36, textAlign: 'center', textStyle: { fontSize: 13 } },
      { text: ARM_LABEL.maxwell, left: '75%', top: 36, textAlign: 'center', textStyle: { fontSize: 13 } },
    ],
    legend: { top: 'bottom' },
    grid: [
      { left: 60, right: '52%', top: 64, bottom: 70 },
      { left: '56%', right: 24, top: 64, bottom: 70 },
    ],
    xAxis: [
      { ...baseAxis('time, s'), gridIndex: 0, scale: false },
      { ...baseAxis('time, s'), gridIndex: 1, scale: false },
    ],
    yAxis: [
      { ...baseAxis('°C'), gridIndex: 0, min: yMin, max: yMax, nameGap: 36 },
      { ...baseAxis('°C'), gridIndex: 1, min: yMin, max: yMax, nameGap: 36 },
    ],
    series,
  };
}

/** Power averaged over this trailing window, s: the samples swing as cores go idle and busy between turns. */
const POWER_MEAN_WINDOW_S = 1;

/** Trailing mean of `values` over `windowS` of `t` (each point: the mean of the samples in (t − windowS, t]). */
export function trailingMean(t: readonly number[], values: readonly (number | null)[], windowS: number): (number | null)[] {
  const out: (number | null)[] = [];
  let from = 0;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      sum += v;
      count++;
    }
    while ((t[from] ?? 0) <= (t[i] ?? 0) - windowS) {
      const old = values[from];
      if (old !== null && old !== undefined && Number.isFinite(old)) {
        sum -= old;
        count--;
      }
      from++;
    }
    out.push(count > 0 ? sum / count : null);
  }
  return out;
}

function powerOption(cfs: ArmSeries, maxwell: ArmSeries, title: string): ChartOption {
  // One colour per arm (ECharts' first two), so each mean sits on its own samples.
  const colour = { cfs: '#5470c6', maxwell: '#91cc75' } as const;
  const faint = (arm: 'cfs' | 'maxwell') => ({ color: colour[arm], lineStyle: { width: 1, opacity: 0.35 } });
  const mean = (arm: 'cfs' | 'maxwell') => ({ color: colour[arm], lineStyle: { width: 2.5 } });
  return {
    title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 'bottom' },
    grid: { left: 60, right: 24, top: 48, bottom: 70 },
    xAxis: { ...baseAxis('time, s'), scale: false },
    yAxis: { ...baseAxis('W'), nameGap: 36 },
    series: [
      { name: ARM_LABEL.cfs, type: 'line', showSymbol: false, sampling: 'lttb', ...faint('cfs'), data: points(cfs.t, cfs.packageW) },
      { name: ARM_LABEL.maxwell, type: 'line', showSymbol: false, sampling: 'lttb', ...faint('maxwell'), data: points(maxwell.t, maxwell.packageW) },
      { name: `${ARM_LABEL.cfs}, ${String(POWER_MEAN_WINDOW_S)} s mean`, type: 'line', showSymbol: false, ...mean('cfs'), data: points(cfs.t, trailingMean(cfs.t, cfs.packageW, POWER_MEAN_WINDOW_S)) },
      { name: `${ARM_LABEL.maxwell}, ${String(POWER_MEAN_WINDOW_S)} s mean`, type: 'line', showSymbol: false, ...mean('maxwell'), data: points(maxwell.t, trailingMean(maxwell.t, maxwell.packageW, POWER_MEAN_WINDOW_S)) },
    ],
  };
}

function pricesOption(maxwell: ArmSeries, unit: string, title: string): ChartOption {
  return {
    title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 'bottom' },
    grid: { left: 70, right: 24, top: 48, bottom: 70 },
    xAxis: { ...baseAxis('time, s'), scale: false },
    yAxis: { ...baseAxis(unit), nameGap: 48 },
    series: (maxwell.corePrice ?? []).map((values, core) => ({
      name: `core ${core}`,
      type: 'line' as const,
      showSymbol: false,
      step: 'end' as const,
      sampling: 'lttb' as const,
      data: points(maxwell.t, values),
    })),
  };
}

/** The last known balance of a wallet at or before `t` (0 when none). */
function balanceAt(series: ArmSeries, agent: string, t: number): number {
  const wallet = series.wallets.find((w) => w.agent === agent);
  if (wallet === undefined) return 0;
  let last = 0;
  for (let i = 0; i < series.t.length && (series.t[i] ?? Infinity) <= t; i++) last = wallet.balanceJ[i] ?? last;
  return last;
}

function walletsOption(maxwell: ArmSeries, title: string): ChartOption {
  const deathsOf = (agent: string) => maxwell.deaths.filter((d) => d.agent === agent);
  const series: LineSeriesOption[] = maxwell.wallets.map((w) => ({
    name: w.agent,
    type: 'line' as const,
    showSymbol: false,
    sampling: 'lttb' as const,
    lineStyle: { type: w.role === 'leech' ? ('dashed' as const) : ('solid' as const) },
    data: points(maxwell.t, w.balanceJ),
    markPoint: {
      symbol: 'pin',
      symbolSize: 38,
      label: { formatter: DEATH_MARK, fontSize: 14 },
      data: deathsOf(w.agent).map((d) => ({ name: `${d.agent} ${d.cause}`, coord: [d.t, balanceAt(maxwell, d.agent, d.t)], value: d.t })),
    },
  }));
  // One vertical line per death, labelled with the agent, on a series of its own so that
  // deaths of agents without a wallet series are marked too.
  series.push({
    name: 'deaths',
    type: 'line',
    data: [],
    color: '#555555',
    markLine: {
      silent: true,
      symbol: 'none',
      lineStyle: { type: 'dotted', color: '#555555' },
      label: { formatter: '{b}', position: 'insideEndTop', fontSize: 11 },
      data: maxwell.deaths.map((d) => ({ xAxis: d.t, name: `${DEATH_MARK} ${d.agent} (${d.cause}, ${d.t.toFixed(1)} s)` })),
    },
  });
  return {
    title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 'bottom' },
    grid: { left: 70, right: 24, top: 48, bottom: 70 },
    xAxis: { ...baseAxis('time, s'), scale: false },
    yAxis: { ...baseAxis('J'), nameGap: 48 },
    series,
  };
}

/**
 * Renders the four charts of one repetition: temperature per core (both arms), package power
 * (both arms), price per core (Maxwell) and wallet balances with deaths marked (Maxwell).
 * Throws `MXW_ERR_INVALID_ARG` for a repetition that does not exist.
 */
export function renderCharts(results: ExperimentResults, options: ChartOptions = {}): RenderedChart[] {
  const index = options.repetition ?? 0;
  const width = options.width ?? 960;
  const height = options.height ?? 380;
  const rep = results.repetitions[index];
  if (rep === undefined || !Number.isInteger(index)) {
    throw new InvalidArgumentError(`invalid chart repetition: ${String(index)} (the results have ${results.repetitions.length})`);
  }
  const { sources, priceUnit } = results.metadata;
  const cfs = rep.cfs.series;
  const maxwell = rep.maxwell.series;
  const which = `repetition ${index + 1} of ${results.repetitions.length}`;
  const chart = (id: ChartId, title: string, caption: string, option: ChartOption): RenderedChart => ({
    id,
    file: `${id}.svg`,
    title,
    caption,
    svg: renderSvg(option, width, height),
  });
  return [
    chart(
      'temperature',
      'Temperature per core',
      `Core temperatures over ${which}, CFS left and Maxwell right, with the throttle point (${results.metadata.throttlePointC} °C) dashed. Temperatures are ${provenanceText(sources.temperature)}: ${sources.temperature.note}.`,
      temperatureOption(results, cfs, maxwell, `Temperature per core (${which})`),
    ),
    chart(
      'power',
      'Package power',
      `Package power over ${which}, both arms: the samples (faint) and their ${String(POWER_MEAN_WINDOW_S)} s trailing mean. Under Maxwell the samples swing as cores go idle and busy between turns and as the reserve price crosses the bids; energy follows the mean. Power is ${provenanceText(sources.energy)}: ${sources.energy.note}.`,
      powerOption(cfs, maxwell, `Package power (${which})`),
    ),
    chart(
      'prices',
      'Price per core (Maxwell)',
      `Clearing price of each core in the Maxwell arm of ${which}, in ${priceUnit}; CFS has no prices. Prices are Maxwell's own figures (measured by the daemon).`,
      pricesOption(maxwell, priceUnit, `Price per core, Maxwell (${which})`),
    ),
    chart(
      'wallets',
      'Wallet balances (Maxwell)',
      `Wallet balances in the Maxwell arm of ${which}; leeches dashed, each death marked ${DEATH_MARK} with a dotted line. Balances are ledger figures; the energy they pay for is ${provenanceText(sources.agentEnergy)}.`,
      walletsOption(maxwell, `Wallet balances, Maxwell (${which})`),
    ),
  ];
}

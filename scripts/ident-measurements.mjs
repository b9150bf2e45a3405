#!/usr/bin/env node
// Measures what docs/PHYSICS.md says about identification and writes it there, between the
// `ident-measurements` markers (run after `npm run build`; about 3 minutes on one core):
//   node scripts/ident-measurements.mjs [--seeds 100] [--fopdt-seeds 1000] [--print]
// 1. goodness-of-fit statistics of true-FOPDT records, the twin's planes and two-pole records
//    (where the misfit thresholds come from);
// 2. coverage of the twin's 95 % intervals over many seeds, against its effective and nominal plant;
// 3. the GPU row of K with a 1 s and a 4 s idle baseline;
// 4. the leakage bias: nominal → effective, and the steady-state check of the effective R.
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../dist/src/config/load.js';
import { fitFopdt, MISFIT_THRESHOLDS } from '../dist/src/identification/fopdt.js';
import { ThermalTwin } from '../dist/src/physics/thermal-twin.js';
import { calibrateTwin } from '../dist/src/simulation/calibrate-twin.js';
import { syntheticStep, twoPoleStep } from '../dist/test/helpers/records.js';

const { values: args } = parseArgs({ options: { seeds: { type: 'string', default: '100' }, 'fopdt-seeds': { type: 'string', default: '1000' }, print: { type: 'boolean', default: false } } });
const SEEDS = Number(args.seeds);
const FOPDT_SEEDS = Number(args['fopdt-seeds']);
const f = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '∞');
const quantile = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
const log = (m) => process.stderr.write(`${m}\n`);
let out = '';

// 1. Goodness of fit.
const base = { initial: 35, gain: 20, tauS: 1, deadTimeS: 0.1, sampleHz: 100, preStepS: 1, postStepS: 8, noise: 0.5 };
const cases = [
  ['true FOPDT: G 20, τ 1 s, θ 0.1 s, σ 0.5, 100 Hz (n 900)', (seed) => syntheticStep({ ...base, seed })],
  ['true FOPDT: as above, θ 0', (seed) => syntheticStep({ ...base, deadTimeS: 0, seed })],
  ['true FOPDT: G 3 (6σ), θ 0.1 s', (seed) => syntheticStep({ ...base, gain: 3, seed })],
  ['true FOPDT: τ 2 s, θ 0.2 s, 10 Hz, 10 s (n 110)', (seed) => syntheticStep({ ...base, tauS: 2, deadTimeS: 0.2, sampleHz: 10, postStepS: 10, seed })],
];
const twoPole = { initial: 35, tau1S: 0.4, tau2S: 3, sampleHz: 100, preStepS: 1, postStepS: 20, noise: 0.5 };
const misfitCases = [40, 20, 10, 5, 2].map((gain) => [`two-pole 0.4 s ∥ 3 s, G ${gain}, σ 0.5, 100 Hz (n 2100)`, (seed) => twoPoleStep({ ...twoPole, gain, seed })]);
const rows = [];
const summarise = (label, seeds, diagnostics) => {
  const ratio = diagnostics.map((d) => d.residualToNoise);
  const lag = diagnostics.map((d) => d.lag1Autocorrelation);
  const runs = diagnostics.map((d) => d.runsZ);
  const misfits = diagnostics.filter((d) => d.verdict === 'misfit').length;
  rows.push(`| ${label} | ${seeds} | ${f(quantile(ratio, 0.5), 3)} / ${f(quantile(ratio, 0.99), 3)} / ${f(Math.max(...ratio), 3)} | ${f(quantile(lag, 0.5), 3)} / ${f(quantile(lag, 0.99), 3)} / ${f(Math.max(...lag), 3)} | ${f(Math.min(...runs), 1)} | ${misfits} |`);
};
for (const [label, make] of cases) {
  log(label);
  summarise(label, FOPDT_SEEDS, Array.from({ length: FOPDT_SEEDS }, (_, i) => fitFopdt(make(i + 1)).diagnostics));
}
for (const [label, make] of misfitCases) summarise(label, 100, Array.from({ length: 100 }, (_, i) => fitFopdt(make(i + 1)).diagnostics));

// 2. Coverage on the twin, and the twin planes' diagnostics.
const coverage = new Map();
const planeDiagnostics = new Map();
const gpuRow = { 1: [], 4: [] };
let worstOver = { 1: 0, 4: 0 };
let effective;
let nominal;
for (let seed = 1; seed <= SEEDS; seed++) {
  if (seed % 10 === 0) log(`twin seed ${seed}/${SEEDS}`);
  const report = await calibrateTwin(loadConfig({ flags: [{ twin: { seed } }] }));
  effective ??= report.planes;
  for (const plane of report.planes) {
    for (const [key, c] of [['τ', plane.tauS], ['θ', plane.deadTimeS], ['R', plane.resistanceKPerW]]) {
      const entry = coverage.get(`${plane.name} ${key}`) ?? { effective: 0, nominal: 0 };
      if (c.covered) entry.effective++;
      if (Math.abs(c.identified - c.truth) <= c.ci95) entry.nominal++;
      coverage.set(`${plane.name} ${key}`, entry);
    }
  }
  for (const p of report.identified.planes) planeDiagnostics.set(p.name, [...(planeDiagnostics.get(p.name) ?? []), p.diagnostics]);
  gpuRow[4].push(report.coupling.at(-1).slice(0, -1));
  if (report.worstErrorPct.gpuCoupling >= 5) worstOver[4]++;
  nominal = report;
}
for (const [name, diagnostics] of planeDiagnostics) summarise(`twin plane ${name} (16 runs averaged)`, SEEDS, diagnostics);
for (let seed = 1; seed <= SEEDS; seed++) {
  if (seed % 10 === 0) log(`twin seed ${seed}/${SEEDS}, 1 s baseline`);
  const report = await calibrateTwin(loadConfig({ flags: [{ twin: { seed }, calibration: { preStepS: 1 } }] }));
  gpuRow[1].push(report.coupling.at(-1).slice(0, -1));
  if (report.worstErrorPct.gpuCoupling >= 5) worstOver[1]++;
}

out += `Goodness of fit (σ ratio = residual σ / noise σ; lag-1 = residual autocorrelation; runs z: Wald–Wolfowitz; thresholds: σ ratio > max(${MISFIT_THRESHOLDS.residualToNoise}, 1 + 6/√n), lag-1 > max(${MISFIT_THRESHOLDS.lag1Autocorrelation}, 4/√n)):\n\n`;
out += '| record | seeds | σ ratio p50 / p99 / max | lag-1 p50 / p99 / max | runs z min | misfit |\n|---|---|---|---|---|---|\n';
out += `${rows.join('\n')}\n\n`;

let totalEffective = 0;
let totalNominal = 0;
let total = 0;
out += `Coverage of the 95 % intervals of \`maxwell calibrate --twin\` (defaults: σ 0.5 °C, 100 Hz, 16 runs, 4 s baseline) over ${SEEDS} seeds:\n\n`;
out += '| interval | effective value | holds the effective value | holds the nominal value |\n|---|---|---|---|\n';
for (const [key, entry] of coverage) {
  const [name, symbol] = key.split(' ');
  const plane = effective.find((p) => p.name === name);
  const c = symbol === 'τ' ? plane.tauS : symbol === 'θ' ? plane.deadTimeS : plane.resistanceKPerW;
  out += `| ${name} ${symbol} | ${f(c.effective, 4)} (nominal ${f(c.truth, 4)}, ${f((100 * (c.effective - c.truth)) / c.truth, 2)} %) | ${entry.effective} / ${SEEDS} | ${entry.nominal} / ${SEEDS} |\n`;
  totalEffective += entry.effective;
  totalNominal += entry.nominal;
  total += SEEDS;
}
out += `| **all** | | **${totalEffective} / ${total} = ${f((100 * totalEffective) / total, 1)} %** | ${totalNominal} / ${total} = ${f((100 * totalNominal) / total, 1)} % |\n\n`;

out += `GPU row of K (the GPU plane's response to each core's step), error against nominal over ${SEEDS} seeds, mean ± sd:\n\n`;
out += `| baseline | ${nominal.sourceNames.slice(0, -1).map((n) => `K[gpu][${n}]`).join(' | ')} | seeds with the worst entry ≥ 5 % |\n|---|${nominal.sourceNames.slice(0, -1).map(() => '---|').join('')}---|\n`;
for (const pre of [1, 4]) {
  const cols = nominal.sourceNames.slice(0, -1).map((_, j) => {
    const errs = gpuRow[pre].map((row) => row[j].errorPct);
    const mean = errs.reduce((s, x) => s + x, 0) / errs.length;
    const sd = Math.sqrt(errs.reduce((s, x) => s + (x - mean) ** 2, 0) / (errs.length - 1));
    const ci = gpuRow[pre].reduce((s, row) => s + (100 * row[j].ci95) / row[j].identified, 0) / errs.length;
    return `${f(mean, 2)} ± ${f(sd, 2)} % (stated ±${f(ci, 2)} %)`;
  });
  out += `| ${pre} s | ${cols.join(' | ')} | ${worstOver[pre]} / ${SEEDS} |\n`;
}
out += `\nLeakage bias of the effective K[gpu][j] against nominal: ${nominal.coupling.at(-1).slice(0, -1).map((c) => `${f((100 * (c.effective - c.truth)) / c.truth, 2)} %`).join(', ')}.\n\n`;

// 4. Steady-state check of the effective R: exact large-signal R_eff = Δx_i / ΔP_i from two
// settled states of the twin, against the noise-free fit.
const config = loadConfig();
const twin = new ThermalTwin(config.twin, config.twin.stepS);
out += '| plane | R_eff from two steady states K/W | R_eff from the noise-free fit K/W | leakage loop 1/(1−μ) = Δx/(R·ΔP_dynamic) | τ/(1−μ) predicted s | τ_eff fitted s |\n|---|---|---|---|---|---|\n';
for (let j = 0; j < twin.sourceCount; j++) {
  twin.reset();
  const idleT = twin.trueTemperature(j);
  const idleP = twin.sourcePower(j);
  twin.setUtilisation(j, 1);
  twin.settle();
  twin.step();
  const dx = twin.trueTemperature(j) - idleT;
  const dp = twin.sourcePower(j) - idleP;
  const plane = nominal.planes[j];
  const rEff = dx / dp;
  const loop = dx / (plane.resistanceKPerW.truth * (j < twin.coreCount ? config.twin.core.dynamicW : config.twin.gpuPlane.dynamicW));
  out += `| ${plane.name} | ${f(rEff, 4)} | ${f(plane.resistanceKPerW.effective, 4)} | ${f(loop, 4)} | ${f(plane.tauS.truth * loop, 4)} | ${f(plane.tauS.effective, 4)} |\n`;
}

const marked = `<!-- ident-measurements:begin (generated by node scripts/ident-measurements.mjs --seeds ${SEEDS} --fopdt-seeds ${FOPDT_SEEDS}; do not edit) -->\n${out}<!-- ident-measurements:end -->`;
if (args.print) {
  process.stdout.write(`${marked}\n`);
} else {
  const url = new URL('../docs/PHYSICS.md', import.meta.url);
  const doc = await readFile(url, 'utf8');
  const re = /<!-- ident-measurements:begin[\s\S]*?<!-- ident-measurements:end -->/;
  if (!re.test(doc)) throw new Error('docs/PHYSICS.md has no ident-measurements markers');
  await writeFile(url, doc.replace(re, marked));
  log('wrote docs/PHYSICS.md');
}

/**
 * The report page: one self-contained HTML file (inline CSS, charts embedded as SVG images, no
 * network), which also links each chart's SVG file and `results.json` in the same folder.
 * Every figure on the page names its origin: measured or modelled, and by what.
 */
import type { ArmEstimate, ArmRun, ExperimentResults, FigureSource } from '../results.js';
import type { RenderedChart } from './charts.js';

/** The `id` of the element whose `data-charts-loaded` attribute the page's check script sets. */
export const CHARTS_STATUS_ID = 'charts-status';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function num(value: number | null, decimals = 2): string {
  return value === null || !Number.isFinite(value) ? '—' : value.toFixed(decimals);
}

/** A figure's origin as a tag: `measured` or `modelled`, with its source. */
interface Origin {
  readonly provenance: 'measured' | 'modelled';
  readonly source: string;
}

function tag(origin: Origin): string {
  return `<span class="tag ${origin.provenance}">${origin.provenance}</span> <span class="src">${escapeHtml(origin.source)}</span>`;
}

function interval(e: ArmEstimate, decimals: number): string {
  const mean = num(e.mean, decimals);
  return e.low === null || e.high === null ? mean : `${mean} <span class="ci">[${num(e.low, decimals)}, ${num(e.high, decimals)}]</span>`;
}

const MEASURED = (source: string): Origin => ({ provenance: 'measured', source });

/** primes ÷ joules is modelled as soon as the joules are. */
function ratioOrigin(energy: FigureSource): Origin {
  return { provenance: energy.provenance, source: `prime oracle ÷ ${energy.source}` };
}

function survivals(run: ArmRun): string {
  const leeches = run.agents.filter((a) => a.role === 'leech');
  if (leeches.length === 0) return '—';
  return leeches.map((a) => `${escapeHtml(a.id)}: ${a.survivalS === null ? 'survived' : `${num(a.survivalS, 1)} s`}`).join('<br>');
}

function dataUri(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f5f5f5}
.ci{color:#666}.src{color:#555;font-size:.9em}
.tag{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.8em;font-weight:600}
.tag.measured{background:#dff0d8;color:#2d6a2d}.tag.modelled{background:#fcf0d2;color:#8a5a00}
.verdict{font-size:1.25em;padding:.6em 1em;border-radius:6px;margin:1em 0}
.verdict.PASS{background:#e6f4e6;border:1px solid #8c8}.verdict.MISS{background:#fbe9e7;border:1px solid #d99}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#444;font-size:.92em}
`;

/**
 * Renders `index.html` for a results document and its rendered charts. `resultsFile` is the name
 * of the results file the page links (in the same folder).
 */
export function renderHtml(results: ExperimentResults, charts: readonly RenderedChart[], resultsFile = 'results.json'): string {
  const { metadata: m, summary: s, repetitions } = results;
  const src = m.sources;
  const pct = (level: number): string => `${Math.round(level * 100)} %`;
  const level = pct(s.ratio.level);
  const ratioText =
    s.ratio.low !== null && s.ratio.high !== null
      ? `${num(s.ratio.estimate)}× <span class="ci">(${level} interval ${num(s.ratio.low)}–${num(s.ratio.high)}×)</span>`
      : `${num(s.ratio.estimate)}× <span class="ci">(${s.ratio.method === 'none' ? 'one repetition: no interval' : 'the data cannot bound the ratio: the CFS mean is not distinguishable from zero'})</span>`;
  const confidence = s.thesis.metWithConfidence
    ? `the whole ${level} interval lies at or above ${num(s.thesis.threshold, 1)}×`
    : s.thesis.met
      ? `but the ${level} interval reaches below ${num(s.thesis.threshold, 1)}×, so the data do not establish it`
      : `the estimate is below ${num(s.thesis.threshold, 1)}×`;

  const sourceRows: [string, Origin, string][] = [
    ['Package energy and power', src.energy, src.energy.note],
    ['Core temperatures (peak, mean, time above throttle)', src.temperature, src.temperature.note],
    ['Energy per agent', src.agentEnergy, src.agentEnergy.note],
    ['Maxwell CPU overhead', src.overhead, src.overhead.note],
    ['Foreign load (other processes’ CPU)', src.foreignLoad, src.foreignLoad.note],
    ['Verified primes', MEASURED('prime oracle'), 'each prime a scientist reports is checked (deterministic 64-bit Miller–Rabin) and counted once'],
    ['Primes per joule', ratioOrigin(src.energy), `verified primes ÷ package energy: ${src.energy.provenance} because the energy is`],
    ['Prices, wallets, deaths', MEASURED('maxwell daemon'), "the daemon's own auction, ledger and apoptosis records (CFS has none)"],
    ['Auction clearing p99', MEASURED('monotonic clock'), "time the daemon took to clear each tick's auction"],
  ];

  const summaryRows: [string, string, string, Origin][] = [
    [`Primes per joule (mean, ${level} interval)`, interval(s.perArm.cfs.primesPerJ, 3), interval(s.perArm.maxwell.primesPerJ, 3), ratioOrigin(src.energy)],
    ['Verified primes (mean)', num(s.perArm.cfs.verifiedPrimes, 0), num(s.perArm.maxwell.verifiedPrimes, 0), MEASURED('prime oracle')],
    ['Package energy, J (mean)', num(s.perArm.cfs.packageJ, 1), num(s.perArm.maxwell.packageJ, 1), src.energy],
    ['Peak core temperature, °C', num(s.perArm.cfs.peakC, 1), num(s.perArm.maxwell.peakC, 1), src.temperature],
    [`Time above ${m.throttlePointC} °C, s (mean)`, num(s.perArm.cfs.aboveThrottleS, 1), num(s.perArm.maxwell.aboveThrottleS, 1), src.temperature],
    ['Leeches that died', `${s.perArm.cfs.leechDeaths} of ${s.perArm.cfs.leechesRun}`, `${s.perArm.maxwell.leechDeaths} of ${s.perArm.maxwell.leechesRun}`, MEASURED('maxwell daemon')],
    ['Mean survival of those, s', num(s.perArm.cfs.meanLeechSurvivalS, 1), num(s.perArm.maxwell.meanLeechSurvivalS, 1), MEASURED('maxwell daemon')],
    ['Maxwell CPU overhead, % of machine', '—', num(s.perArm.maxwell.overheadFraction === null ? null : s.perArm.maxwell.overheadFraction * 100, 2), src.overhead],
    ['Foreign load, % of machine (mean; worst repetition)', `${num(s.perArm.cfs.foreignFraction.mean * 100, 2)} (${num(s.perArm.cfs.foreignFraction.max * 100, 2)})`, `${num(s.perArm.maxwell.foreignFraction.mean * 100, 2)} (${num(s.perArm.maxwell.foreignFraction.max * 100, 2)})`, src.foreignLoad],
    ['Energy charged to no agent (unmanaged), J (mean)', num(s.perArm.cfs.unmanagedJ, 1), num(s.perArm.maxwell.unmanagedJ, 1), src.agentEnergy],
    ['Auction clearing p99, ms (worst repetition)', '—', num(s.perArm.maxwell.clearingP99Ms, 3), MEASURED('monotonic clock')],
  ];

  const repRows = repetitions.flatMap((rep) =>
    rep.order.map((arm, position) => {
      const run = rep[arm];
      const peaks = run.cores.map((c) => num(c.peakC, 1)).join(' / ');
      const means = run.cores.map((c) => num(c.meanC, 1)).join(' / ');
      const cells = [
        position === 0 ? `<td rowspan="2">${rep.index + 1}</td>` : '',
        `<td>${position + 1}. ${arm === 'cfs' ? 'CFS' : 'Maxwell'}</td>`,
        `<td class="n">${num(run.durationS, 1)}</td>`,
        `<td class="n">${run.verifiedPrimes}</td>`,
        `<td class="n">${num(run.packageJ, 1)}</td>`,
        `<td class="n">${num(run.primesPerJ, 3)}</td>`,
        `<td class="n">${peaks}</td>`,
        `<td class="n">${means}</td>`,
        `<td class="n">${num(run.aboveThrottleS, 1)}</td>`,
        `<td>${survivals(run)}</td>`,
        `<td class="n">${run.overhead === null ? '—' : `${num(run.overhead.cpuS, 2)} s (${num(run.overhead.fraction * 100, 2)} %)`}</td>`,
        `<td class="n">${num(run.load.foreignFraction * 100, 2)} %${run.load.stealFraction > 0.001 ? ` (steal ${num(run.load.stealFraction * 100, 1)} %)` : ''}</td>`,
        `<td class="n">${num(run.clearingP99Ms, 3)}</td>`,
      ];
      return `<tr>${cells.join('')}</tr>`;
    }),
  );

  const agentRows = repetitions.flatMap((rep) =>
    (['cfs', 'maxwell'] as const).flatMap((arm) =>
      rep[arm].agents.map(
        (a) =>
          `<tr><td>${rep.index + 1}</td><td>${arm === 'cfs' ? 'CFS' : 'Maxwell'}</td><td>${escapeHtml(a.id)}</td><td>${a.role}</td><td class="n">${a.verifiedPrimes}</td><td class="n">${num(a.joules, 1)}</td><td class="n">${a.survivalS === null ? 'survived' : num(a.survivalS, 1)}</td></tr>`,
      ),
    ),
  );

  const figures = charts.map(
    (c) =>
      `<figure id="chart-${c.id}"><img class="chart" src="${dataUri(c.svg)}" alt="${escapeHtml(c.title)}"><figcaption>${escapeHtml(c.caption)} <a href="${escapeHtml(c.file)}">${escapeHtml(c.file)}</a></figcaption></figure>`,
  );

  // A few lines of script only to let a headless browser confirm that every chart decoded
  // (the test suite reads the attribute with `chromium --dump-dom`); the page needs no script.
  const check = `<script>addEventListener('load',function(){var i=document.querySelectorAll('img.chart'),n=0;for(var k=0;k<i.length;k++)if(i[k].complete&&i[k].naturalWidth>0)n++;var e=document.getElementById('${CHARTS_STATUS_ID}');e.setAttribute('data-charts-loaded',n+'/'+i.length);});</script>`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Maxwell: Scientist vs Leech, ${escapeHtml(m.startedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Scientist vs Leech: Linux CFS against Maxwell</h1>
<p>${escapeHtml(m.machine.hostname)} · ${escapeHtml(m.machine.cpuModel)} · ${m.machine.cores} cores · ${escapeHtml(m.machine.kernel)} · Node.js ${escapeHtml(m.machine.node)} · Maxwell ${escapeHtml(m.maxwellVersion)}<br>
${escapeHtml(m.startedAt)} to ${escapeHtml(m.finishedAt)} · ${m.repetitions} repetition(s) of ${num(m.armDurationS, 0)} s per arm${m.quick ? ' (quick)' : ''}, arms alternated</p>

<div class="verdict ${s.thesis.verdict}"><strong>${s.thesis.verdict}</strong>: Maxwell gets ${ratioText} the primes per joule of CFS; the thesis asks for ≥ ${num(s.thesis.threshold, 1)}× — ${escapeHtml(confidence)}.</div>
<p>Energy is <span class="tag ${src.energy.provenance}">${src.energy.provenance}</span> (${escapeHtml(src.energy.note)}); temperatures are <span class="tag ${src.temperature.provenance}">${src.temperature.provenance}</span> (${escapeHtml(src.temperature.note)}). Both arms use the same sources.</p>

<h2>Where every number comes from</h2>
<table><tr><th>figure</th><th>origin</th><th>how</th></tr>
${sourceRows.map(([what, origin, how]) => `<tr><td>${escapeHtml(what)}</td><td>${tag(origin)}</td><td>${escapeHtml(how)}</td></tr>`).join('\n')}
</table>

<h2>Summary</h2>
<table><tr><th>figure</th><th>CFS</th><th>Maxwell</th><th>origin</th></tr>
${summaryRows.map(([what, cfs, maxwell, origin]) => `<tr><td>${escapeHtml(what)}</td><td class="n">${cfs}</td><td class="n">${maxwell}</td><td>${tag(origin)}</td></tr>`).join('\n')}
<tr><td>Ratio Maxwell ÷ CFS, primes per joule</td><td class="n" colspan="2">${ratioText}</td><td>${tag(ratioOrigin(src.energy))}</td></tr>
</table>
<p class="src">Per-arm intervals: Student t over the repetitions. Ratio interval: ${s.ratio.method === 'none' ? 'none (one repetition)' : `Fieller's theorem, ${s.ratio.method === 'fieller-paired' ? 'paired by repetition' : 'independent arms'}, ${String(s.ratio.df)} degrees of freedom, g = ${num(s.ratio.g, 3)}`} (docs/EXPERIMENT.md explains why).</p>

<h2>Charts</h2>
<p id="${CHARTS_STATUS_ID}">Rendered server-side by ECharts; each is also a file in this folder.</p>
${figures.join('\n')}

<h2>Repetitions</h2>
<table><tr><th>rep</th><th>arm (order)</th><th>s</th><th>primes</th><th>J</th><th>primes/J</th><th>peak °C per core</th><th>mean °C per core</th><th>s above ${m.throttlePointC} °C</th><th>leech survival</th><th>Maxwell CPU</th><th>foreign load</th><th>clearing p99, ms</th></tr>
${repRows.join('\n')}
</table>

<h2>Agents</h2>
<p>${m.scientists.count} scientist(s) <code>${escapeHtml(m.scientists.command)}</code> and ${m.leeches.count} leech(es) <code>${escapeHtml(m.leeches.command)}</code> per arm. Energy per agent is ${tag(src.agentEnergy)}.</p>
<table><tr><th>rep</th><th>arm</th><th>agent</th><th>role</th><th>verified primes</th><th>J</th><th>died at, s</th></tr>
${agentRows.join('\n')}
</table>

${results.notes.length === 0 ? '' : `<h2>Notes</h2>\n<ul>${results.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`}

<p class="src">All data: <a href="${escapeHtml(resultsFile)}">${escapeHtml(resultsFile)}</a> (schema version ${m.schemaVersion}).</p>
${check}
</body>
</html>
`;
}

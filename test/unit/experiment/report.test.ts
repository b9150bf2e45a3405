import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  CHART_IDS,
  CHARTS_STATUS_ID,
  DEATH_MARK,
  formatSummaryTable,
  readResultsFile,
  renderCharts,
  renderHtml,
  renderReport,
  stringifyResults,
  writeReport,
} from '../../../src/experiment/report/index.js';
import { parseResults, type ExperimentResults } from '../../../src/experiment/results.js';
import { ratioPrecision } from '../../../src/experiment/runner.js';
import { trailingMean } from '../../../src/experiment/report/charts.js';
import { syntheticResults } from '../../helpers/experiment-results.js';

const run = promisify(execFile);

/**
 * A small well-formedness check for XML-ish markup: every element opened is closed in order.
 * Enough to catch truncated or interleaved output; not a validating parser.
 */
function assertWellFormed(markup: string, what: string): void {
  const stack: string[] = [];
  const body = markup.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing === '/') continue;
    if (closing === '/') assert.equal(stack.pop(), name, `${what}: </${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], `${what}: unclosed elements`);
}

function svgText(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

test('four charts, each a well-formed SVG from ECharts with its series, axes and markers', () => {
  const results = syntheticResults();
  const charts = renderCharts(results);
  assert.deepEqual(charts.map((c) => c.id), [...CHART_IDS]);
  for (const c of charts) {
    assert.match(c.svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, c.id);
    assert.ok(c.svg.trimEnd().endsWith('</svg>'), c.id);
    assertWellFormed(c.svg, c.id);
    assert.ok(c.svg.includes('<path'), `${c.id} draws paths`);
    assert.equal(c.file, `${c.id}.svg`);
  }
  const [temperature, power, prices, wallets] = charts.map((c) => svgText(c.svg));
  for (const label of ['core 0', 'core 1', 'CFS', 'Maxwell', 'throttle 85 °C', 'time, s', '°C']) assert.ok(temperature!.includes(label), `temperature chart lacks "${label}"`);
  for (const label of ['CFS', 'Maxwell', 'W', 'CFS, 1 s mean', 'Maxwell, 1 s mean']) assert.ok(power!.includes(label), `power chart lacks "${label}"`);
  for (const label of ['core 0', 'core 1', 'µJ per 10 ms quantum']) assert.ok(prices!.includes(label), `prices chart lacks "${label}"`);
  const deaths = results.repetitions[0]!.maxwell.series.deaths;
  assert.equal(deaths.length, 2);
  for (const agent of ['scientist-0', 'scientist-1', 'leech-0', 'leech-1', 'deaths']) assert.ok(wallets!.includes(agent), `wallet chart lacks "${agent}"`);
  for (const d of deaths) assert.ok(wallets!.includes(`${DEATH_MARK} ${d.agent} (${d.cause}, ${d.t.toFixed(1)} s)`), `no death line for ${d.agent}`);
  assert.equal(wallets!.filter((t) => t === DEATH_MARK).length, deaths.length, 'one pin per death');
});

test('charts of another repetition, and a repetition that does not exist', () => {
  const results = syntheticResults({ repetitions: 3 });
  const [temperature] = renderCharts(results, { repetition: 2, width: 600, height: 300 });
  assert.ok(svgText(temperature!.svg).some((t) => t.includes('repetition 3 of 3')));
  assert.match(temperature!.svg, /^<svg width="600" height="300"/);
  assert.throws(() => renderCharts(results, { repetition: 3 }), { code: 'MXW_ERR_INVALID_ARG' });
});

test('names from agents and machines are escaped in the SVG and the HTML', () => {
  const results = syntheticResults({ leechPrefix: 'le<e>ch&"' });
  const charts = renderCharts(results);
  const wallets = charts.find((c) => c.id === 'wallets')!.svg;
  assertWellFormed(wallets, 'wallets');
  assert.ok(wallets.includes('le&lt;e&gt;ch&amp;'), 'escaped in SVG');
  const html = renderHtml(results, charts);
  assert.ok(html.includes('le&lt;e&gt;ch&amp;&quot;-0'));
  assert.ok(html.includes('Synthetic CPU &lt;&amp;&gt;'));
  assert.ok(!html.includes('<e>') && !html.includes('<&>'));
});

test('the page embeds and links every chart, links results.json and says what is measured and modelled', () => {
  const results = syntheticResults();
  const { files, charts } = renderReport(results);
  assert.deepEqual(files.map((f) => f.name), ['results.json', ...CHART_IDS.map((id) => `${id}.svg`), 'index.html']);
  const html = files.find((f) => f.name === 'index.html')!.content;
  assertWellFormed(html.replace(/<!doctype html>/i, '').replace(/<script>[\s\S]*?<\/script>/g, '').replace(/<(meta|br|img|link)\b[^>]*>/g, ''), 'index.html');
  for (const c of charts) {
    assert.ok(html.includes(`href="${c.file}"`), `links ${c.file}`);
    const img = new RegExp(`<figure id="chart-${c.id}"><img class="chart" src="data:image/svg\\+xml;base64,([A-Za-z0-9+/=]+)"`).exec(html);
    assert.ok(img, `embeds ${c.id}`);
    assert.equal(Buffer.from(img[1]!, 'base64').toString('utf8'), c.svg, `${c.id} embedded intact`);
  }
  assert.ok(html.includes('href="results.json"'));
  assert.ok(!/(src|href)="https?:/.test(html), 'no network resources');
  assert.match(html, /class="verdict PASS"/);
  assert.match(html, /2\.0\d× <span class="ci">\(95 % interval 1\.\d\d–2\.\d\d×\)/);
  assert.match(html, /<td>Package energy and power<\/td><td><span class="tag modelled">modelled<\/span> <span class="src">thermal-twin/);
  assert.match(html, /<td>Verified primes<\/td><td><span class="tag measured">measured/);
  assert.ok(html.includes(`id="${CHARTS_STATUS_ID}"`));
  assert.ok(html.includes('synthetic data for tests'), 'notes are shown');
  const measured = renderHtml(syntheticResults({ modelled: false }), charts);
  assert.match(measured, /Energy is <span class="tag measured">measured<\/span>/);
});

test('the terminal table: per-arm intervals, the ratio and its interval, PASS or MISS', () => {
  const pass = formatSummaryTable(syntheticResults());
  const lines = pass.split('\n');
  assert.match(lines[0]!, /^arm\s+primes\/J \[95 % CI\]/);
  assert.match(pass, /^CFS\s+1\.\d{3} \[1\.\d{3}, 2\.\d{3}\]/m);
  assert.match(pass, /^Maxwell\s+\d\.\d{3} \[/m);
  assert.match(pass, /efficiency ratio Maxwell\/CFS: 2\.0\d× \[1\.\d\d, 2\.\d\d\] \(95 %, Fieller, paired, n = 3\)/);
  assert.match(pass, /thesis ≥ 1\.8×: PASS$/m);
  assert.match(pass, /energy modelled \(thermal-twin\)/);
  const miss = formatSummaryTable(syntheticResults({ ratio: 1.2 }));
  assert.match(miss, /thesis ≥ 1\.8×: MISS$/m);
  const single = formatSummaryTable(syntheticResults({ repetitions: 1 }));
  assert.match(single, /\(one repetition: no interval\)/);
  assert.doesNotMatch(pass, /erasure \(Landauer tax\)/, 'no line when the run named no source');
  const withTax = { ...syntheticResults(), notes: ['Landauer tax (treatment arm) from: ebpf: eBPF ring buffer attached (loader pid 11) | ebpf: eBPF ring buffer attached (loader pid 12) | estimated: /proc estimate; passed over: ebpf: not root; bpftrace: not installed.'] };
  assert.match(
    formatSummaryTable(withTax),
    /^erasure \(Landauer tax\) from: ebpf: eBPF ring buffer attached \| estimated: \/proc estimate; passed over: ebpf: not root; bpftrace: not installed$/m,
    'each source once, without the pids, a reason with "; " in it whole',
  );
});

test('writeReport writes the folder; results.json reads back; unwritable folders and broken results are coded errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'maxwell-report-'));
  try {
    const results = syntheticResults();
    const written = await writeReport(results, join(dir, 'nested', 'report'));
    assert.equal(written.paths.length, 6);
    for (const p of written.paths) assert.ok((await readFile(p, 'utf8')).length > 100, p);
    assert.deepEqual(await readResultsFile(written.results), results);
    assert.match(await readFile(join(dir, 'nested', 'report', 'wallets.svg'), 'utf8'), /^<svg/);

    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await assert.rejects(writeReport(results, join(blocker, 'report')), { code: 'MXW_ERR_REPORT_WRITE' });
    await assert.rejects(readResultsFile(join(dir, 'missing.json')), { code: 'MXW_ERR_RESULTS_INVALID' });

    const broken = JSON.parse(JSON.stringify(results)) as { repetitions: { cfs: { primesPerJ: number } }[] };
    broken.repetitions[0]!.cfs.primesPerJ = Number.NaN;
    assert.throws(() => renderReport(broken as unknown as ExperimentResults), { code: 'MXW_ERR_RESULTS_INVALID' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('results.json keeps the structure indented and each series on one line', () => {
  const results = syntheticResults({ samples: 500 });
  const text = stringifyResults(results);
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(results)));
  assert.match(text, /^ {10}"t": \[0,0\.02004\d*,/m, 'a series on one line');
  assert.ok(text.split('\n').length < 2000, `${text.split('\n').length} lines`);
  const tricky = { notes: ['interval [1.95, 2.06]'], nested: [[1, null], []], empty: {}, n: Number.NaN };
  assert.deepEqual(JSON.parse(stringifyResults(tricky)), { notes: ['interval [1.95, 2.06]'], nested: [[1, null], []], empty: {}, n: null });
});

async function findChromium(): Promise<string | undefined> {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    try {
      await run('which', [name]);
      return name;
    } catch {
      // not this one
    }
  }
  return undefined;
}

test('a real browser loads the page and decodes every chart', async (t) => {
  const browser = await findChromium();
  if (browser === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium); the page was only checked as text');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'maxwell-report-browser-'));
  try {
    const written = await writeReport(syntheticResults(), dir);
    const { stdout } = await run(
      browser,
      ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=10000', '--dump-dom', `file://${written.index}`],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const status = new RegExp(`id="${CHARTS_STATUS_ID}"[^>]*data-charts-loaded="(\\d+)/(\\d+)"`).exec(stdout);
    assert.ok(status, 'the page ran its load check');
    assert.equal(status[2], String(CHART_IDS.length));
    assert.equal(status[1], status[2], `${status[1]} of ${status[2]} charts decoded`);
    assert.ok(stdout.includes('Scientist vs Leech'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the power chart trailing mean averages the samples of the last second, skipping gaps', () => {
  const t = [0, 0.5, 1, 1.5, 2, 2.5];
  const w = [10, 20, null, 30, 40, 50];
  assert.deepEqual(trailingMean(t, w, 1), [10, 15, 20, 30, 35, 45]);
  assert.deepEqual(trailingMean([], [], 1), []);
  assert.deepEqual(trailingMean([0, 1], [null, null], 1), [null, null]);
});

test('foreign load is in the terminal table, the page and results.json, with where it came from', () => {
  const results = syntheticResults({ foreignFraction: 0.12 });
  const table = formatSummaryTable(results);
  assert.match(table, /foreign %/);
  assert.match(table, /12\.00/, 'the arms\' mean foreign load, in per cent');
  assert.match(table, /unmanaged energy \(charged to no agent\)/);
  const html = renderHtml(results, renderCharts(results));
  assert.match(html, /Foreign load, % of machine/);
  assert.match(html, /<th>foreign load<\/th>/);
  assert.equal(results.summary.perArm.maxwell.foreignFraction.max, 0.12);
  assert.equal(parseResults(JSON.stringify(results)).repetitions[0]?.cfs.load.foreignFraction, 0.12);
});

test('the precision rule stops only once the ratio\'s interval is within the target', () => {
  const reps = syntheticResults({ repetitions: 4 }).repetitions;
  assert.equal(ratioPrecision(reps.slice(0, 1), 0.1, 0.95).done, false, 'one repetition has no interval');
  const { halfWidth } = ratioPrecision(reps, 10, 0.95);
  assert.ok(halfWidth !== null && halfWidth > 0);
  assert.equal(ratioPrecision(reps, halfWidth * 1.01, 0.95).done, true);
  assert.equal(ratioPrecision(reps, halfWidth * 0.99, 0.95).done, false);
});

/**
 * The module graph's rules (docs/ARCHITECTURE.md): imports between src/ folders go one way (no
 * cycle), the market and the session stay pure, and the public surface has no clashing names
 * and no internals.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';

const SRC = repoPath('src');

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
  readonly file: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Sub-folders that are modules of their own: the daemon-side verification services sit above the
 * session (they judge and pay through it), while the rest of verification/ sits below it (the
 * protocol and the session use its claim types).
 */
const SUB_MODULES = ['verification/service'];

/** The module of a path under src/: its top-level folder (or a sub-module), or the file's name for src/*.ts. */
function moduleOf(path: string): string {
  const rel = relative(SRC, path);
  const sub = SUB_MODULES.find((m) => rel.startsWith(`${m}/`));
  if (sub !== undefined) return sub;
  const [first = ''] = rel.split('/');
  return first.replace(/\.[jt]s$/, '');
}

function imports(): Import[] {
  const out: Import[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(import|export)(\s+type)?[^'"]*?from '([^']+)'/gms)) {
      const spec = m[3] ?? '';
      if (spec.startsWith('.')) out.push({ from: moduleOf(file), to: moduleOf(normalize(join(dirname(file), spec))), typeOnly: m[2] !== undefined, file: relative(SRC, file) });
      else out.push({ from: moduleOf(file), to: spec, typeOnly: m[2] !== undefined, file: relative(SRC, file) });
    }
  }
  return out;
}

test('imports between src/ folders go one way: no cycle', () => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports()) {
    if (i.from === i.to || i.to.startsWith('node:') || !i.to.match(/^[a-z-]+(\/[a-z-]+)?$/) || i.from === 'index') continue;
    if (!edges.has(i.from)) edges.set(i.from, new Set());
    edges.get(i.from)?.add(i.to);
  }
  // Depth-first search for a back edge; the cycle found is named in full.
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') assert.fail(`folder cycle: ${[...path.slice(path.indexOf(next)), next].join(' → ')}`);
      if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (state.get(node) === undefined) visit(node);
});

test('the market imports no telemetry, I/O or daemon; the session no I/O and nothing of the daemon', () => {
  const all = imports();
  const market = all.filter((i) => i.from === 'market' && i.to !== 'market').map((i) => i.to);
  assert.deepEqual([...new Set(market)].sort(), ['errors', 'internal', 'physics'].filter((m) => market.includes(m)).sort());
  for (const i of all.filter((x) => x.from === 'session')) {
    assert.ok(!i.to.startsWith('node:'), `${i.file} imports ${i.to}: the session does no I/O`);
    assert.ok(!['daemon', 'telemetry', 'api', 'cli', 'entropy'].includes(i.to), `${i.file} imports ${i.to}`);
    // Runtimes and the ledger only as types (ports, entry shapes), never their code: money and
    // account names come from units/ and agent-id.ts, which the ledger uses too.
    if (i.to === 'runtimes' || i.to === 'ledger' || i.file.endsWith('ports.ts')) assert.ok(i.typeOnly || i.to === 'clock' || i.to === 'session', `${i.file}: ${i.to} must be a type import`);
  }
  for (const i of all.filter((x) => x.from === 'session' && x.to === 'ledger')) {
    const text = readFileSync(join(SRC, i.file), 'utf8');
    assert.doesNotMatch(text, /import \{[^}]*\bLedger\b[^}]*\} from '\.\.\/ledger\/ledger\.js'/, `${i.file} imports the SQLite ledger`);
  }
  // Every statement that names a ledger file, so that `import { type X }` (whose import survives
  // the compiler's default settings) or a dynamic `import()` is refused too.
  for (const file of sources(join(SRC, 'session'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from '\.\.\/ledger\/[^']+'/gms)) {
      assert.match(m[0], /^(?:import|export) type \{/, `${relative(SRC, file)}: ${m[0].replace(/\s+/g, ' ')} must be \`import type\``);
    }
    assert.doesNotMatch(text, /import\(\s*'\.\.\/ledger\//, `${relative(SRC, file)} loads the ledger at run time`);
  }
});

test('agent ids are branded inside: the session, the enforcer, the runtime interface and the protocol server take an AgentId', () => {
  // An id reaches them only through parseAgentId or isAgentId at an edge (API, CLI, spawn, tests'
  // agentId helper); a `string` parameter here would let an unchecked one in again.
  const inner = [
    ...sources(join(SRC, 'session')).filter((f) => !f.endsWith('phase.ts')),
    join(SRC, 'daemon', 'enforcer.ts'),
    join(SRC, 'runtimes', 'runtime.ts'),
    join(SRC, 'protocol', 'server.ts'),
  ];
  const offenders: string[] = [];
  for (const file of inner) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/\b(agentId|id)\??: string\b/.test(line)) offenders.push(`${relative(SRC, file)}:${String(i + 1)}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test('the public surface: the session, the runtime and entropy interfaces, one name each, no internals', async () => {
  const index = readFileSync(join(SRC, 'index.ts'), 'utf8');
  const names: string[] = [];
  for (const m of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).at(-1)?.trim();
      if (name !== undefined && name !== '') names.push(name);
    }
  }
  const seen = new Set<string>();
  for (const name of names) {
    assert.ok(!seen.has(name), `${name} is exported twice`);
    seen.add(name);
  }
  for (const name of ['MarketSession', 'AgentRuntime', 'EntropySource', 'LedgerWriter', 'AgentId', 'ReadingProvenance', 'StepProvenance', 'ReadingQuantity']) assert.ok(seen.has(name), `${name} is public`);
  for (const name of ['Provenance', 'Quantity', 'Clearing', 'Sampler', 'FrameDecoder', 'TokenBucket', 'Bank', 'Enforcer']) assert.ok(!seen.has(name), `${name} is internal (or ambiguous)`);
  const loaded = (await import('../../src/index.js')) as Record<string, unknown>;
  assert.equal(typeof loaded['MarketSession'], 'function');
  assert.equal(typeof loaded['parseAgentId'], 'function');
  assert.equal(loaded['Clearing'], undefined);
});

test('the daemon folder is a root and a shell: other folders import only its root (components.ts); the API depends on no daemon file', () => {
  const daemonFiles = readdirSync(join(SRC, 'daemon')).filter((f) => f.endsWith('.ts'));
  const outside = [];
  for (const file of sources(SRC).filter((f) => moduleOf(f) !== 'daemon')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1] ?? ''));
      if (moduleOf(target) !== 'daemon' || /\/daemon\/components\.js$/.test(target)) continue;
      outside.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(outside, [], 'heat-to-price lives in heat-price/, sensors in telemetry/, verification services in verification/service/, the fleet link in fleet/');
  // The heat-to-price subsystem does not live here any more.
  for (const gone of ['control.ts', 'thermal.ts', 'core-offer.ts', 'offer-order.ts', 'foreign-heat.ts', 'sensor-temperatures.ts', 'inference-service.ts', 'fleet-link.ts']) assert.ok(!daemonFiles.includes(gone), `src/daemon/${gone}`);
});

test('comments cite the repository\'s docs, never an issue number or a design file outside docs/', () => {
  const offenders: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const file of sources(repoPath(dir))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\bissues? #?\d+\b/i.test(line) || /(?<![\w/])DESIGN\.md/.test(line)) offenders.push(`${relative(repoPath('.'), file)}:${String(i + 1)}: ${line.trim().slice(0, 100)}`);
      });
    }
  }
  assert.deepEqual(offenders, []);
});

test('docs/ARCHITECTURE.md draws every src/ folder, and every folder of its pure core is under ESLint\'s pure-core rule', () => {
  const doc = readFileSync(repoPath('docs/ARCHITECTURE.md'), 'utf8');
  const picture = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
  for (const folder of [...folders, ...SUB_MODULES]) assert.match(picture, new RegExp(`(?<![\\w/-])${folder}/`), `src/${folder}/ is missing from the picture in docs/ARCHITECTURE.md`);
  const core = /subgraph core[^\n]*\n([\s\S]*?)\n {2}end/.exec(picture)?.[1] ?? '';
  assert.ok(core.length > 0, 'the picture has a pure-core subgraph');
  const eslint = readFileSync(repoPath('eslint.config.js'), 'utf8');
  for (const m of core.replace(/<br\/>/g, ' ').matchAll(/(?<![\w/.-])([a-z][a-z-]*)\/([a-z-]+\.ts)?/g)) {
    const rule = m[2] === undefined ? `'src/${m[1] ?? ''}/**'` : `'src/${m[1] ?? ''}/${m[2]}'`;
    assert.ok(eslint.includes(rule), `docs/ARCHITECTURE.md puts ${m[0]} in the pure core, but eslint.config.js does not check ${rule}`);
  }
});

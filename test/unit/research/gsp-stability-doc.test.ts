import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { reportMarkdown } from '../../../src/cli/commands/research-command.js';
import { formatGspReport, gspResearch } from '../../../src/cli/commands/research-gsp.js';
import { runGspStabilityResearch } from '../../../src/research/gsp-stability.js';
import { repoPath } from '../../helpers/repo.js';

// The generated table must be what the code generates (STYLE K3): the run is deterministic, so any
// change to the twin, the controllers, the pricing or the clearing shows up here until the table is
// regenerated. About 5 s of CPU.
test('docs/research/gsp-stability-twin.md is what `maxwell research gsp-stability` generates today', { timeout: 120_000 }, () => {
  const committed = readFileSync(repoPath('docs/research/gsp-stability-twin.md'), 'utf8');
  const fresh = reportMarkdown(formatGspReport(runGspStabilityResearch({ seed: 1, durationS: 600 })), gspResearch.title);
  assert.ok(committed === fresh, 'stale: regenerate with `node dist/src/cli/bin.js research gsp-stability --out docs/research/gsp-stability-twin.md` and update docs/research/gsp-stability.md');
});

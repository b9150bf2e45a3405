#!/usr/bin/env node
// Writes the step-response CSV fixtures of `maxwell calibrate --from-csv` (run after `npm run build`).
// test/integration/cli.test.ts checks that the committed files are what this writes.
import { mkdir, writeFile } from 'node:fs/promises';
import { stepFixtures } from '../dist/test/helpers/records.js';

const dir = new URL('../test/fixtures/step-response/', import.meta.url);
await mkdir(dir, { recursive: true });
for (const [name, text] of Object.entries(stepFixtures())) {
  await writeFile(new URL(name, dir), text);
  console.error(`wrote test/fixtures/step-response/${name}`);
}

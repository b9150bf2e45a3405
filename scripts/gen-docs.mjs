#!/usr/bin/env node
// Writes generated documentation (run after `npm run build`).
import { writeFile } from 'node:fs/promises';
import { renderConfigurationDoc } from '../dist/src/config/doc.js';

await writeFile(new URL('../docs/CONFIGURATION.md', import.meta.url), renderConfigurationDoc());
console.error('wrote docs/CONFIGURATION.md');

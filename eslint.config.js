// Lint: typescript-eslint strictTypeChecked (as tinybench), plus the architecture rule:
// the pure core (units, session, physics, control, market, heat-price, identification, simulation, …) imports no I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PURE_CORE_RESTRICTIONS = {
  patterns: [
    { group: ['node:*', 'fs', 'path', 'child_process', 'net', 'os'], message: 'the pure core does no I/O: receive data through an interface instead' },
    { group: ['**/cli/**', '**/config/load.js'], message: 'the pure core must not depend on the CLI or the config loader' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scripts/**', 'test/fixtures/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    files: ['src/units/**', 'src/session/**', 'src/agent-id.ts', 'src/physics/**', 'src/control/**', 'src/market/**', 'src/identification/**', 'src/simulation/**', 'src/clock/**', 'src/internal/**', 'src/errors.ts', 'src/config/schema.ts', 'src/experiment/stats.ts', 'src/experiment/results.ts', 'src/heat-price/**', 'src/research/gsp-stability.ts', 'src/verification/trace/claim-model.ts', 'src/verification/trace/timeline.ts', 'src/verification/trace/features.ts', 'src/verification/trace/trace.ts', 'src/verification/trace/classes.ts'],
    // The heat-to-price folder is pure but for its shell, which reads the sensors and the twin.
    ignores: ['src/heat-price/thermal.ts'],
    rules: { 'no-restricted-imports': ['error', PURE_CORE_RESTRICTIONS] },
  },
  {
    // The dashboard's page script: plain browser JavaScript, served as it is (no build, no types).
    files: ['web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', history: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', WebSocket: 'readonly', URLSearchParams: 'readonly', setInterval: 'readonly', setTimeout: 'readonly', confirm: 'readonly', alert: 'readonly', echarts: 'readonly' },
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);

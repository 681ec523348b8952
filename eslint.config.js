// Lint: typescript-eslint's strict rules plus the project's conventions (CONVENTIONS.md 11).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/out/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` union instead of enum.' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
      'no-control-regex': 'off',
    },
  },
  {
    // Tool config files must default-export their config.
    files: ['vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly' } },
  },
  {
    // The console's UI runs in the browser (plain JavaScript, no build step).
    files: ['src/admin/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly', Node: 'readonly', confirm: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', uPlot: 'readonly', EventSource: 'readonly' },
    },
  },
);

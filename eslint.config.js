// One lint setup for the whole repository (services, packages, tests, scripts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.caregrid/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/*', '../../*/src/*'],
              message: 'A service never imports another service; share code through packages/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The tests that hold the services against the shared access model (every route declaration)
    // and the FHIR routes against the CapabilityStatement.
    files: ['test/unit/access-endpoints.test.ts', 'test/unit/fhir-capability.test.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The benchmark of billing-service's own PDF renderer, called in-process (not a service).
    files: ['bench/pdf.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);

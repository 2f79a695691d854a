// Unit tests need no servers; integration tests run against the real local
// infrastructure that `npm test` starts first (infra/infra.sh up).
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.base.json' }] },
  testEnvironment: 'node',
};

export default {
  // Global (not per project): real sidecars, brokers and databases take seconds, not milliseconds.
  testTimeout: 90_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/services/*/test/unit/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/services/*/test/integration/**/*.test.ts'],
    },
  ],
};

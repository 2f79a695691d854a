// Unit tests need no servers; integration tests run against the real local
// infrastructure that `npm test` starts first (infra/infra.sh up); deploy tests need
// only the validators of infra/infra.sh tools.
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
      testMatch: [
        '<rootDir>/packages/*/test/**/*.test.ts',
        '<rootDir>/services/*/test/unit/**/*.test.ts',
        '<rootDir>/test/unit/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/services/*/test/integration/**/*.test.ts'],
    },
    {
      // Offline checks of the other ways to run CareGrid (Compose, Kubernetes, GitHub workflows)
      // with the real validators that `infra/infra.sh tools` builds: no servers needed.
      ...common,
      displayName: 'deploy',
      testMatch: ['<rootDir>/test/deploy/**/*.test.ts'],
    },
  ],
};

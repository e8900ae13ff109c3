/** Unit, snapshot and policy tests. The end-to-end suite has its own config (jest.e2e.config.js). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/e2e/'],
  // Snapshots stay next to the tests so reviewers see them in the same PR diff.
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};

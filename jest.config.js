/** Unit, snapshot and policy tests. The end-to-end suite has its own config (jest.e2e.config.js). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The API-server and end-to-end suites start real servers: npm run test:server, npm run test:e2e.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/e2e/', '<rootDir>/__tests__/server/', '<rootDir>/__tests__/cluster/'],
  // Snapshots stay next to the tests so reviewers see them in the same PR diff.
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};

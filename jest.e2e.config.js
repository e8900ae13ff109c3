/**
 * End-to-end suite (`npm run test:e2e`): runs the builder script from the
 * synthesized Job against a real Docker API (podman), a real registry and a
 * git daemon, all on loopback (scripts/e2e/env.sh). Slow and stateful, so it
 * is kept out of `npm test` (jest.config.js ignores __tests__/e2e/).
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  // One environment, brought up once, shared by every test in order: never in parallel.
  maxWorkers: 1,
  // A builder run (clone, several image builds, pushes) takes seconds on a warm
  // machine, but a loaded 2-core CI runner can be much slower.
  testTimeout: 300_000,
  verbose: true,
};

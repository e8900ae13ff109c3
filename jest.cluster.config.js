/**
 * Cluster suite (`npm run test:cluster`): dist/ applied to a real single-node
 * Kubernetes. scripts/cluster/test.sh brings the cluster up, runs this config
 * with CLUSTER_STATE_DIR set, and takes the cluster down (also on failure or
 * Ctrl-C). Kept out of `npm test` (jest.config.js ignores __tests__/cluster/).
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__/cluster'],
  testMatch: ['**/*.cluster.test.ts'],
  // One cluster, shared by every test in order: never in parallel.
  maxWorkers: 1,
  // A fixed file order: the kubectl suite (builds) last, since it ends by stopping dockerd.
  testSequencer: '<rootDir>/__tests__/cluster/support/sequencer.js',
  testTimeout: 300_000,
  verbose: true,
};

/**
 * Order of the cluster suite's files (one cluster, shared in band). Jest's
 * default order (slowest/failed first) changes from run to run; here a file's
 * place is fixed: the files in LAST run last, in that order, the others by
 * name before them. builds.cluster.test.ts ends by stopping the node's dockerd
 * (its "no Docker socket" case), so nothing that builds can run after it.
 */
const Sequencer = require('@jest/test-sequencer').default;
const { basename } = require('path');

const LAST = ['builds.cluster.test.ts'];

class ClusterSequencer extends Sequencer {
  sort(tests) {
    const rank = (t) => LAST.indexOf(basename(t.path));
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}

module.exports = ClusterSequencer;

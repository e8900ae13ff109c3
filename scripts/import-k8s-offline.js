// Preload for `cdk8s import k8s@X.Y.Z` on machines that cannot reach GitHub.
// cdk8s-cli fetches `kubernetes-schemas/vX.Y.Z/_definitions.json` with its own
// `download()`; we answer that one URL from a local copy of the same file, so the
// generated imports/k8s.ts is byte-for-byte what the online import writes.
//
//   K8S_DEFINITIONS=path/to/_definitions.json \
//     node -r ./scripts/import-k8s-offline.js node_modules/.bin/cdk8s import k8s@1.27.0 -l typescript -o imports
'use strict';
const fs = require('fs');
const util = require(require('path').join(require.resolve('cdk8s-cli/package.json'), '..', 'lib', 'util.js'));

const file = process.env.K8S_DEFINITIONS;
if (!file) {
  throw new Error('K8S_DEFINITIONS must name a local _definitions.json (e.g. ../shared/k8s-schemas/v1.27.0/_definitions.json)');
}
const online = util.download;
util.download = async (url) => {
  if (url.endsWith('/_definitions.json')) {
    return fs.readFileSync(file, 'utf-8');
  }
  return online(url);
};

// `npm run synth` and `cdk8s synth` (cdk8s.yaml `app:`): main.ts as compiled JS from build/,
// rebuilt first when a source changed (scripts/build.js). Same behaviour as `ts-node main.ts`.
'use strict';
require('./build').requireBuilt('main').catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});

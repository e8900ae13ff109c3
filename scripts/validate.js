// `npm run validate`: scripts/validate.ts as compiled JS from build/, rebuilt first when a source
// changed (scripts/build.js), as `npm run synth` runs main.ts. Same behaviour as
// `ts-node scripts/validate.ts`, without compiling TypeScript on every run.
'use strict';
require('./build').requireBuilt('validate').catch((e) => {
  process.stderr.write(`validate: ${e?.message ?? e}\n`);
  process.exitCode = 1;
});

// The compiled app behind `npm run synth` and `cdk8s synth`: main.ts and the policy plugin's
// modules bundled by esbuild into the git-ignored build/, rebuilt only when an input changed
// (a content hash of the entries, lib/, this file and package-lock.json), so a fresh clone and an
// edited source both synth what the source says. No type checking here: that is `npm test`
// (ts-jest) and `npx tsc --noEmit`. builds.yaml's JSON Schema is compiled by ajv at build time
// (standalone code), not on every synth.
'use strict';
const { createHash } = require('crypto');
const { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } = require('fs');
const { join, relative } = require('path');

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'build');
const STAMP = join(OUT, 'inputs.sha256');

/** Entry points: main.ts, and what scripts/cdk8s-policy-plugin.js needs. */
const ENTRIES = {
  main: 'main.ts',
  policy: 'scripts/policy-plugin-modules.ts',
};

function sourceFiles(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

function inputsHash() {
  const files = ['main.ts', 'package-lock.json', 'scripts/build.js', ...Object.values(ENTRIES), ...sourceFiles('lib')];
  files.sort();
  const hash = createHash('sha256').update(process.version);
  for (const f of files) hash.update(`\0${f}\0`).update(readFileSync(join(ROOT, f)));
  return hash.digest('hex');
}

/** Loads a bundled CommonJS text as a module (for build-time values such as the schema). */
function loadBundle(text, filename) {
  const Module = require('module');
  const m = new Module(filename);
  m.filename = filename;
  m.paths = Module._nodeModulePaths(ROOT);
  m._compile(text, filename);
  return m.exports;
}

/** The esbuild plugin that swaps lib/config/schema-validator.ts for ajv's standalone validator. */
function precompiledSchema(esbuild) {
  const probe = esbuild.buildSync({
    stdin: {
      contents: "export { BUILDS_SCHEMA } from './lib/config/builds-file'; export { AJV_OPTIONS } from './lib/config/schema-validator';",
      resolveDir: ROOT, sourcefile: 'schema-probe.ts', loader: 'ts',
    },
    bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'warning', packages: 'external',
  });
  const { BUILDS_SCHEMA, AJV_OPTIONS } = loadBundle(probe.outputFiles[0].text, join(ROOT, 'schema-probe.js'));
  const Ajv = require('ajv').default;
  const standaloneCode = require('ajv/dist/standalone').default;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(BUILDS_SCHEMA));
  const schemaJson = JSON.stringify(BUILDS_SCHEMA);
  const contents = `${code}
const validate = module.exports;
const SCHEMA = ${JSON.stringify(schemaJson)};
module.exports = {
  AJV_OPTIONS: ${JSON.stringify(AJV_OPTIONS)},
  compileBuildsSchema(schema) {
    if (JSON.stringify(schema) !== SCHEMA) throw new Error('build/ was made for another builds.yaml schema; run npm run synth again');
    return validate;
  },
};
`;
  return {
    name: 'precompiled-builds-schema',
    setup(build) {
      build.onLoad({ filter: /[\\/]lib[\\/]config[\\/]schema-validator\.ts$/ }, () => ({ contents, loader: 'js', resolveDir: ROOT }));
    },
  };
}

/** Builds build/ if an input changed since the last build; resolves to true when it built. */
async function ensureBuilt() {
  const hash = inputsHash();
  try {
    if (readFileSync(STAMP, 'utf-8') === hash) return false;
  } catch {
    // no build yet
  }
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(ROOT, file)])),
    outdir: OUT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // Names stay readable in stack traces and in error classes' `name`.
    keepNames: true,
    write: false,
    logLevel: 'warning',
    plugins: [precompiledSchema(esbuild)],
  });
  mkdirSync(OUT, { recursive: true });
  // Another synth may be building at the same time: write aside, then rename into place.
  for (const file of result.outputFiles) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
  const tmp = `${STAMP}.${process.pid}.tmp`;
  writeFileSync(tmp, hash);
  renameSync(tmp, STAMP);
  return true;
}

/**
 * Requires a bundle from build/ (building first when stale), with Node's
 * compile cache on (build/.compile-cache) where Node has one, so later runs
 * skip parsing the bundle.
 */
async function requireBuilt(name) {
  await ensureBuilt();
  const { enableCompileCache } = require('module');
  if (typeof enableCompileCache === 'function') enableCompileCache(join(OUT, '.compile-cache'));
  return require(join(OUT, `${name}.js`));
}

module.exports = { ensureBuilt, requireBuilt, ENTRIES, OUT, inputsHash };

if (require.main === module) {
  ensureBuilt().then((built) => {
    process.stdout.write(`${built ? 'built' : 'up to date'}: ${Object.keys(ENTRIES).map((n) => relative(ROOT, join(OUT, `${n}.js`))).join(', ')}\n`);
  }, (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}

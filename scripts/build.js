// The compiled app behind `npm run synth`, `cdk8s synth` and `npm run validate`: main.ts, the
// policy plugin's modules and scripts/validate.ts bundled by esbuild into the git-ignored build/, rebuilt only when an input changed
// (a content hash of the entries, lib/, this file and package-lock.json), so a fresh clone and an
// edited source both synth what the source says. No type checking here: that is `npm test`
// (ts-jest) and `npx tsc --noEmit`. Work that depends only on the sources is done here, once, not
// on every synth: builds.yaml's JSON Schema is compiled by ajv (standalone code), and the
// retention program is transpiled by TypeScript (so the bundle carries neither compiler).
'use strict';
const { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('fs');
const { dirname, join, relative } = require('path');

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'build');
const STAMP = join(OUT, 'inputs.json');

/** Entry points: main.ts, what scripts/cdk8s-policy-plugin.js needs, and validate (scripts/validate.js). */
const ENTRIES = {
  main: 'main.ts',
  policy: 'scripts/policy-plugin-modules.ts',
  validate: 'scripts/validate.ts',
};

function sourceFiles(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every file the bundles are made from (sorted). */
function inputFiles() {
  return [...new Set(['main.ts', 'package-lock.json', 'scripts/build.js', ...Object.values(ENTRIES), ...sourceFiles('lib')])].sort();
}

function inputsHash(files = inputFiles()) {
  const hash = require('crypto').createHash('sha256').update(process.version);
  for (const f of files) hash.update(`\0${f}\0`).update(readFileSync(join(ROOT, f)));
  return hash.digest('hex');
}

/** What a file's stat says about its content: size, mtime and inode (`git checkout` changes all three). */
function statKey(file) {
  const st = statSync(join(ROOT, file), { bigint: true });
  return `${st.size}:${st.mtimeNs}:${st.ino}`;
}

/** A stat is trusted only for files last changed this long before it was taken. */
const RACY_NS = 2_000_000_000n;

/** The inputs as they are now: their stats (taken first), then their hash. */
function snapshot(files = inputFiles()) {
  const statsAtNs = String(BigInt(Date.now()) * 1_000_000n);
  const stats = files.map(statKey);
  return { version: process.version, files, stats, statsAtNs, hash: inputsHash(files) };
}

/**
 * Whether build/ was made from the current inputs. Cheap first (like git's
 * index): when every input has the size, mtime and inode recorded when build/
 * was last checked, nothing is read. A new or removed input, any other stat,
 * or a file changed within RACY_NS before those stats were taken (an edit in
 * the same clock tick could keep size and mtime) makes it hash every input
 * (a few ms more) and compare; a matching hash records the new stats. A
 * missing stamp or bundle is stale. Returns the snapshot to build from when
 * build/ is stale.
 */
function staleSnapshot() {
  const files = inputFiles();
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf-8'));
    // A bundle deleted by hand (or a build killed between writing the bundles and the stamp).
    for (const name of Object.keys(ENTRIES)) statSync(join(OUT, `${name}.js`));
  } catch {
    return snapshot(files);
  }
  const trustedBefore = BigInt(stamp.statsAtNs ?? 0) - RACY_NS;
  const unchanged = stamp.version === process.version && stamp.files?.length === files.length
    && files.every((f, i) => stamp.files[i] === f && stamp.stats[i] === statKey(f)
      && BigInt(stamp.stats[i].split(':')[1]) < trustedBefore);
  if (unchanged) return undefined;
  const now = snapshot(files);
  if (now.hash !== stamp.hash) return now;
  writeAtomically(STAMP, JSON.stringify(now));
  return undefined;
}

/** Writes aside, then renames into place: another synth may be building at the same time. */
function writeAtomically(path, contents) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
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

/**
 * Values the sources compute that depend on nothing but the sources, taken
 * from them once here (bundled with packages external, as ts-node would run them).
 */
function buildTimeValues(esbuild) {
  const probe = esbuild.buildSync({
    stdin: {
      contents: [
        "export { BUILDS_SCHEMA } from './lib/config/builds-file';",
        "export { AJV_OPTIONS } from './lib/config/schema-validator';",
        "export { retentionProgramJs } from './lib/retention/retention-program-js';",
      ].join('\n'),
      resolveDir: ROOT, sourcefile: 'build-time-probe.ts', loader: 'ts',
    },
    bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'warning', packages: 'external',
  });
  return loadBundle(probe.outputFiles[0].text, join(ROOT, 'build-time-probe.js'));
}

/** lib/config/schema-validator.ts as ajv's standalone validator of the schema. */
function precompiledSchema({ BUILDS_SCHEMA, AJV_OPTIONS }) {
  const Ajv = require('ajv').default;
  const standaloneCode = require('ajv/dist/standalone').default;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(BUILDS_SCHEMA));
  const schemaJson = JSON.stringify(BUILDS_SCHEMA);
  return `${code}
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
}

/** lib/retention/retention-program-js.ts as the text it returns. */
function precompiledRetentionProgram({ retentionProgramJs }) {
  const js = retentionProgramJs();
  return `module.exports = { retentionProgramJs: () => ${JSON.stringify(js)} };\n`;
}

/** The esbuild plugin that swaps those modules for what they compute. */
function buildTimeModules(esbuild) {
  const values = buildTimeValues(esbuild);
  const modules = [
    { filter: /[\\/]lib[\\/]config[\\/]schema-validator\.ts$/, contents: precompiledSchema(values) },
    { filter: /[\\/]lib[\\/]retention[\\/]retention-program-js\.ts$/, contents: precompiledRetentionProgram(values) },
  ];
  return {
    name: 'build-time-modules',
    setup(build) {
      for (const { filter, contents } of modules) {
        build.onLoad({ filter }, () => ({ contents, loader: 'js', resolveDir: ROOT }));
      }
    },
  };
}

/** Builds build/ if an input changed since the last build; resolves to true when it built. */
async function ensureBuilt() {
  const inputs = staleSnapshot();
  if (!inputs) return false;
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
    plugins: [buildTimeModules(esbuild)],
  });
  mkdirSync(OUT, { recursive: true });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  writeAtomically(STAMP, JSON.stringify(inputs));
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

/**
 * The build trigger's program as its image runs it (trigger/Dockerfile): trigger/main.ts, lib/
 * and their dependencies in one CommonJS file, committed under trigger/image/ so the image
 * builds from the repository alone (no npm, no network in `docker build`; README "Build on
 * push"). Deterministic (same sources and lock file, same bytes); __tests__/trigger/image.test.ts
 * fails while the committed files are stale, as CI does for dist/. Made with the same
 * build-time modules as build/ (precompiled schema and retention program).
 */
const TRIGGER_BUNDLE = join(ROOT, 'trigger', 'image', 'build-trigger.js');
/** Next to the bundle, and in the image: every bundled package's name, version, license and license text. */
const TRIGGER_LICENSES = join(dirname(TRIGGER_BUNDLE), 'THIRD-PARTY-LICENSES.txt');
/**
 * Never bundled: the image has no node_modules, so a module that loads one of these at import
 * fails the bundle's test (__tests__/trigger/image.test.ts runs it with Node alone) instead of
 * carrying a compiler into the image.
 */
const TRIGGER_EXTERNAL = ['typescript'];

/** The files of trigger/image/ as the sources make them now: [{path, contents}]; writes nothing. */
async function triggerImageFiles() {
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'trigger', 'main.ts')],
    outfile: TRIGGER_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    keepNames: true,
    legalComments: 'none', // the licenses themselves go to TRIGGER_LICENSES
    external: TRIGGER_EXTERNAL,
    banner: { js: '// Generated by `npm run build:trigger` from trigger/ and lib/ (scripts/build.js); do not edit.' },
    write: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [buildTimeModules(esbuild)],
  });
  return [...result.outputFiles.map((f) => ({ path: f.path, contents: Buffer.from(f.contents) })),
    { path: TRIGGER_LICENSES, contents: Buffer.from(thirdPartyLicenses(Object.keys(result.metafile.inputs))) }];
}

/** `npm run build:trigger`: writes trigger/image/. */
async function buildTriggerBundle() {
  const files = await triggerImageFiles();
  mkdirSync(dirname(TRIGGER_BUNDLE), { recursive: true });
  for (const file of files) writeAtomically(file.path, file.contents);
  return files.map((f) => relative(ROOT, f.path));
}

/** The license section of each package the bundle's inputs come from. */
function thirdPartyLicenses(inputs) {
  const dirs = new Set();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split('\\').join('/'));
    if (m) dirs.add(m[1]);
  }
  const sections = [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf-8'));
    const file = readdirSync(join(ROOT, dir)).filter((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f)).sort()[0];
    if (!file && !pkg.license) throw new Error(`trigger/image: ${dir} has neither a LICENSE file nor a license in package.json`);
    const text = file ? readFileSync(join(ROOT, dir, file), 'utf-8').trim() : `(the package ships no license file; package.json says ${pkg.license})`;
    return { name: `${pkg.name}@${pkg.version}`, text: `${pkg.name}@${pkg.version} (${pkg.license})\n\n${text}\n` };
  }).sort((a, b) => a.name.localeCompare(b.name)).filter((s, i, all) => i === 0 || all[i - 1].name !== s.name);
  return `Third-party software in build-trigger.js (generated by npm run build:trigger)\n\n${sections.map((s) => s.text).join(`\n${'-'.repeat(78)}\n\n`)}`;
}

module.exports = { ensureBuilt, requireBuilt, buildTriggerBundle, triggerImageFiles, ENTRIES, OUT, TRIGGER_BUNDLE };

if (require.main === module) {
  const trigger = process.argv.includes('--trigger');
  (trigger ? buildTriggerBundle().then((files) => `built: ${files.join(', ')}`)
    : ensureBuilt().then((built) => `${built ? 'built' : 'up to date'}: ${Object.keys(ENTRIES).map((n) => relative(ROOT, join(OUT, `${n}.js`))).join(', ')}`)
  ).then((line) => {
    process.stdout.write(`${line}\n`);
  }, (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}

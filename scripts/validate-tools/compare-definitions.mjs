#!/usr/bin/env node
// Fidelity check of openapi2jsonschema.mjs: derive the (non-strict) _definitions.json from a Kubernetes
// swagger.json and deep-compare it with a published one (yannh/kubernetes-json-schema / cdk8s
// vX.Y.Z/_definitions.json). Reports every difference as a JSON-pointer path.
//
//   node compare-definitions.mjs [--swagger swagger.json] [--expected _definitions.json] [--strict]
//                                [--max N] [--report-only]
//
// Defaults: --swagger .tools/src/swagger/<K8S_VERSION>/swagger.json (see k8s-schemas.sh swagger),
//           --expected $VALIDATE_EXPECTED_DEFINITIONS or ../shared/k8s-schemas/v1.27.0/_definitions.json (relative to the repository).
// An exact comparison needs the swagger.json of the same release as the expected file:
//   node scripts/validate-tools/compare-definitions.mjs \
//     --swagger "$(scripts/validate-tools/k8s-schemas.sh swagger v1.27.0)"
// Exit status: 0 identical (or expected file absent: nothing to compare), 1 differences (0 with --report-only).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveDefinitions, loadJson } from './openapi2jsonschema.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

function pinnedK8sVersion() {
  const env = fs.readFileSync(path.join(here, 'versions.env'), 'utf8');
  const m = env.match(/^K8S_VERSION=(\S+)/m);
  if (!m) throw new Error('K8S_VERSION not found in versions.env');
  return m[1];
}

function parseArgs(argv) {
  const toolsDir = process.env.VALIDATE_TOOLS_DIR || path.join(repoRoot, '.tools');
  const a = {
    swagger: path.join(toolsDir, 'src', 'swagger', pinnedK8sVersion(), 'swagger.json'),
    expected: process.env.VALIDATE_EXPECTED_DEFINITIONS || path.join(repoRoot, '..', 'shared', 'k8s-schemas', 'v1.27.0', '_definitions.json'),
    strict: false,
    max: 40,
    reportOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--swagger') a.swagger = argv[++i];
    else if (k === '--expected') a.expected = argv[++i];
    else if (k === '--strict') a.strict = true;
    else if (k === '--max') a.max = Number(argv[++i]);
    else if (k === '--report-only') a.reportOnly = true;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const ptr = (parts) => '/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
const kindOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const short = (v) => { const s = JSON.stringify(v); return s === undefined ? 'undefined' : s.length > 100 ? s.slice(0, 97) + '...' : s; };

/** Collect differences between a (actual) and b (expected): [{path, actual, expected}] */
function diff(a, b, parts = [], out = []) {
  if (kindOf(a) !== kindOf(b)) { out.push({ path: parts, actual: a, expected: b }); return out; }
  if (Array.isArray(a)) {
    if (a.length !== b.length) { out.push({ path: parts, actual: a, expected: b }); return out; }
    a.forEach((x, i) => diff(x, b[i], [...parts, i], out));
    return out;
  }
  if (a && typeof a === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in b)) out.push({ path: [...parts, k], actual: a[k], expected: undefined });
      else if (!(k in a)) out.push({ path: [...parts, k], actual: undefined, expected: b[k] });
      else diff(a[k], b[k], [...parts, k], out);
    }
    return out;
  }
  if (a !== b) out.push({ path: parts, actual: a, expected: b });
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.expected)) {
    console.log(`compare-definitions: ${args.expected} not present; nothing to compare (skipped)`);
    return 0;
  }
  if (!fs.existsSync(args.swagger)) {
    console.error(`compare-definitions: ${args.swagger} missing; run scripts/validate-tools/k8s-schemas.sh swagger first`);
    return 2;
  }
  const actual = { definitions: deriveDefinitions(loadJson(args.swagger), { strict: args.strict }) };
  const expected = loadJson(args.expected);
  const diffs = diff(actual, expected);
  console.log(`compare-definitions: derived from ${args.swagger}`);
  console.log(`                     expected     ${args.expected}`);
  const nA = Object.keys(actual.definitions).length;
  const nE = Object.keys(expected.definitions ?? {}).length;
  console.log(`definitions: derived ${nA}, expected ${nE}`);
  if (diffs.length === 0) {
    console.log('RESULT: identical (deep-equal)');
    return 0;
  }
  // Summary: by kind of difference.
  const onlyDerived = diffs.filter((d) => d.path.length === 2 && d.expected === undefined).map((d) => d.path[1]);
  const onlyExpected = diffs.filter((d) => d.path.length === 2 && d.actual === undefined).map((d) => d.path[1]);
  const inner = diffs.filter((d) => d.path.length > 2);
  const byKey = {};
  for (const d of inner) {
    const key = d.path[d.path.length - 1];
    const label = typeof key === 'number' ? `${d.path[d.path.length - 2]}[i]` : key;
    byKey[label] = (byKey[label] || 0) + 1;
  }
  const touched = new Set(inner.map((d) => d.path[1]));
  console.log(`RESULT: ${diffs.length} difference(s)`);
  if (onlyDerived.length) console.log(`  definitions only in derived (${onlyDerived.length}): ${onlyDerived.join(', ')}`);
  if (onlyExpected.length) console.log(`  definitions only in expected (${onlyExpected.length}): ${onlyExpected.join(', ')}`);
  if (inner.length) {
    console.log(`  ${inner.length} difference(s) inside ${touched.size} common definition(s), by last path element:`);
    for (const [k, n] of Object.entries(byKey).sort((x, y) => y[1] - x[1])) console.log(`    ${k}: ${n}`);
  }
  console.log(`first ${Math.min(args.max, inner.length)} inner difference(s) (derived vs expected):`);
  for (const d of inner.slice(0, args.max)) {
    console.log(`  ${ptr(d.path)}\n    derived:  ${short(d.actual)}\n    expected: ${short(d.expected)}`);
  }
  return args.reportOnly ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`compare-definitions: ${e.stack || e}`);
  process.exitCode = 2;
}

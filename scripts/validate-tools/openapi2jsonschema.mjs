#!/usr/bin/env node
// Convert Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json) into the JSON-schema
// layout kubeconform reads with
//   -schema-location '<dir>/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'
// i.e. the "vX.Y.Z-standalone[-strict]" flavour published in yannh/kubernetes-json-schema (produced there by
// yannh's fork of instrumenta/openapi2jsonschema with --expanded --kubernetes --stand-alone [--strict]).
// Plain Node (>= 18), no npm dependencies.
//
// Conventions reproduced (the individual rules were checked against published kubeconform schemas):
//  * _definitions.json = {definitions} of the swagger document, with
//      - io.k8s.apimachinery.pkg.util.intstr.IntOrString -> {"oneOf":[{"type":"string"},{"type":"integer"}]}
//      - io.k8s.apimachinery.pkg.api.resource.Quantity   -> {"oneOf":[{"type":"string"},{"type":"number"}]}
//      - for definitions carrying x-kubernetes-group-version-kind: the `kind` property gets
//        "enum": [<kinds>] (and, while expanding, `apiVersion` gets "enum": [<group/version>...])
//      - strict: every object schema that is a dictionary value and has "properties" but no
//        "additionalProperties" gets "additionalProperties": false (nested dictionaries only, not arrays).
//    The file written is the non-expanded variant (no apiVersion enums), as in the published directories.
//  * One file per definition, named <kind>-<group>-<version>.json (lowercase) where kind/group/version are
//    the last, third-to-last and second-to-last dot-separated parts of the definition name; group "core"
//    or "api" is omitted (pod-v1.json, deployment-apps-v1.json, networkpolicy-networking-v1.json).
//    Extra (not in the published set): when a definition's x-kubernetes-group-version-kind maps to a
//    different kubeconform file name (e.g. StorageVersion, group internal.apiserver.k8s.io), the same
//    schema is also written under that name, so kubeconform finds every served kind.
//  * Each file: "$schema": "http://json-schema.org/schema#", default "type": "object", strict ->
//    root "additionalProperties": false; every {"$ref": ...} replaced by the referenced (processed)
//    definition (sibling keys of $ref, e.g. its description, are dropped, as jsonref does); then, on the
//    root's "properties" only: strict additionalProperties (as above), format int-or-string -> oneOf
//    string/integer, and every "type": T becomes [T, "null"] unless the field is listed in the
//    enclosing object's "required" (the root's own properties are always made nullable: the published
//    converter runs this on the properties map without its parent).
//  * Recursive definitions (only the CustomResourceDefinition/JSONSchemaProps family) cannot be inlined;
//    the published set omits them. Here they are emitted with a local "definitions" section and
//    "#/definitions/<name>" references instead (an addition; no other file is affected).
//
// Usage:
//   node openapi2jsonschema.mjs --swagger swagger.json --output DIR [--strict]
//   node openapi2jsonschema.mjs --swagger swagger.json --print-definitions [--strict]   (stdout)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const SCHEMA_URI = 'http://json-schema.org/schema#';
const REF_PREFIX = '#/definitions/';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = (v) => structuredClone(v);

function appendNoDuplicates(obj, key, value) {
  if (!Array.isArray(obj[key])) obj[key] = [];
  if (!obj[key].includes(value)) obj[key].push(value);
}

/** strict: add additionalProperties:false to every dictionary *value* that has properties (pure). */
export function additionalProperties(data) {
  if (!isObj(data)) return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    if (isObj(v)) {
      let nv = v;
      if ('properties' in v && !('additionalProperties' in v)) nv = { ...v, additionalProperties: false };
      out[k] = additionalProperties(nv);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** format: int-or-string -> oneOf string/integer, for dictionary values and list elements' children (pure). */
export function replaceIntOrString(data) {
  if (!isObj(data)) return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    if (isObj(v)) {
      out[k] = v.format === 'int-or-string'
        ? { oneOf: [{ type: 'string' }, { type: 'integer' }] }
        : replaceIntOrString(v);
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => replaceIntOrString(x));
    } else {
      out[k] = v;
    }
  }
  return out;
}

function containerHas(container, key) {
  // Python's `key in x` for a list or a dict.
  if (Array.isArray(container)) return container.includes(key);
  if (isObj(container)) return Object.prototype.hasOwnProperty.call(container, key);
  return false;
}

/**
 * "type": T -> [T, "null"] unless `key` (the name under which the current schema sits) is listed in the
 * grandparent's "required" (pure). parent/grandParent follow the dictionary/list nesting exactly as the
 * reference implementation does.
 */
export function allowNullOptionalFields(data, parent = null, grandParent = null, key = null) {
  if (!isObj(data)) return data;
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    if (isObj(v)) {
      out[k] = allowNullOptionalFields(v, data, parent, k);
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => allowNullOptionalFields(x, v, parent, k));
    } else if (typeof v === 'string') {
      const isNonNullType = k === 'type' && v !== 'null';
      const isRequired = isObj(grandParent) && 'required' in grandParent && containerHas(grandParent.required, key);
      out[k] = isNonNullType && !isRequired ? [v, 'null'] : v;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The processed definitions (the content of _definitions.json). */
export function deriveDefinitions(swagger, { strict = false, expanded = false } = {}) {
  if (!swagger || !isObj(swagger.definitions)) throw new Error('not an OpenAPI v2 document (no "definitions")');
  const definitions = clone(swagger.definitions);
  definitions[INT_OR_STRING] = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  definitions[QUANTITY] = { oneOf: [{ type: 'string' }, { type: 'number' }] };
  for (const def of Object.values(definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks) || !isObj(def.properties)) continue;
    for (const gvk of gvks) {
      if (expanded && isObj(def.properties.apiVersion)) {
        appendNoDuplicates(def.properties.apiVersion, 'enum', gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version);
      }
      if (isObj(def.properties.kind)) appendNoDuplicates(def.properties.kind, 'enum', gvk.kind);
    }
  }
  return strict ? additionalProperties(definitions) : definitions;
}

/** File base name (without .json) for a definition name, e.g. io.k8s.api.apps.v1.Deployment -> deployment-apps-v1 */
export function fileNameForDefinition(title) {
  const parts = title.split('.');
  const kind = parts[parts.length - 1].toLowerCase();
  const group = (parts[parts.length - 3] ?? '').toLowerCase();
  const version = (parts[parts.length - 2] ?? '').toLowerCase();
  return group === 'core' || group === 'api' ? `${kind}-${version}` : `${kind}-${group}-${version}`;
}

/** The name kubeconform asks for: {{ .ResourceKind }}{{ .KindSuffix }} (see kubeconform pkg/registry). */
export function kubeconformFileName(kind, group, version) {
  const first = (group || '').split('.')[0].toLowerCase();
  return `${kind.toLowerCase()}${first ? `-${first}` : ''}-${version.toLowerCase()}`;
}

/** Inline every $ref (standalone). Recursive references become local "#/definitions/<name>" refs. */
class Inliner {
  constructor(definitions) {
    this.definitions = definitions;
    this.memo = new Map(); // name -> fully inlined tree, only for names whose subtree has no cycle
  }

  refName(ref) {
    if (typeof ref !== 'string' || !ref.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
    const name = ref.slice(REF_PREFIX.length);
    if (!(name in this.definitions)) throw new Error(`dangling $ref ${ref}`);
    return name;
  }

  // Returns { node, cyclic:Set<string> } where cyclic = definitions referenced locally because of a cycle.
  resolveName(name, stack) {
    if (this.memo.has(name)) return { node: this.memo.get(name), cyclic: new Set() };
    if (stack.includes(name)) return { node: { $ref: REF_PREFIX + name }, cyclic: new Set([name]) };
    stack.push(name);
    const r = this.walk(this.definitions[name], stack);
    stack.pop();
    if (r.cyclic.size === 0) this.memo.set(name, r.node);
    return r;
  }

  walk(node, stack) {
    const cyclic = new Set();
    const merge = (s) => s.forEach((x) => cyclic.add(x));
    if (Array.isArray(node)) {
      const out = node.map((x) => { const r = this.walk(x, stack); merge(r.cyclic); return r.node; });
      return { node: out, cyclic };
    }
    if (!isObj(node)) return { node, cyclic };
    // Only a string $ref is a reference (JSONSchemaProps has a *property* named "$ref").
    if (typeof node.$ref === 'string') return this.resolveName(this.refName(node.$ref), stack);
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      const r = this.walk(v, stack);
      merge(r.cyclic);
      out[k] = r.node;
    }
    return { node: out, cyclic };
  }

  // Inline the top-level definition `name`; returns { root, localDefinitions }.
  inlineRoot(spec, name) {
    const top = this.walk(spec, [name]);
    const local = {};
    const pending = [...top.cyclic];
    while (pending.length) {
      const n = pending.shift();
      if (n in local) continue;
      const r = this.walk(this.definitions[n], [n]);
      local[n] = r.node;
      for (const c of r.cyclic) if (!(c in local)) pending.push(c);
    }
    return { root: top.node, localDefinitions: local };
  }
}

function postProcessProperties(props, strict) {
  let p = props;
  if (strict) p = additionalProperties(p);
  p = replaceIntOrString(p);
  p = allowNullOptionalFields(p);
  return p;
}

/**
 * Generate all standalone schemas. Returns Map<fileBaseName, schemaObject> plus the _definitions.json content.
 */
export function generateSchemas(swagger, { strict = true } = {}) {
  const defsForRefs = deriveDefinitions(swagger, { strict, expanded: true });
  const defsFile = deriveDefinitions(swagger, { strict, expanded: false });
  // The per-file "components" are the swagger definitions after the shared-definitions step mutated
  // them in place in the reference implementation (IntOrString/Quantity replaced, enums appended, and in
  // strict mode additionalProperties:false on each definition's root).
  const components = defsForRefs;
  const inliner = new Inliner(defsForRefs);
  const files = new Map();
  const skipped = [];
  const titleNames = new Set(Object.keys(components).map(fileNameForDefinition));

  for (const [title, component] of Object.entries(components)) {
    const parts = title.split('.');
    if (parts[3] === 'pkg' && parts[2] === 'kubernetes') { skipped.push(`${title} (pkg namespace)`); continue; }
    let spec = clone(component);
    spec.type ??= 'object';
    if (strict) spec.additionalProperties = false;
    spec.$schema = SCHEMA_URI;
    const { root, localDefinitions } = inliner.inlineRoot(spec, title);
    spec = root;
    if (isObj(spec.properties)) spec.properties = postProcessProperties(spec.properties, strict);
    if (Object.keys(localDefinitions).length) {
      // Recursive definitions: same post-processing as properties, kept under a local "definitions" map.
      spec.definitions = postProcessProperties(localDefinitions, strict);
    }
    const name = fileNameForDefinition(title);
    files.set(name, spec);
    // Aliases under the names kubeconform derives from the served group/version/kind.
    for (const gvk of component['x-kubernetes-group-version-kind'] ?? []) {
      const alias = kubeconformFileName(gvk.kind, gvk.group, gvk.version);
      if (alias !== name && !titleNames.has(alias) && !files.has(alias)) files.set(alias, spec);
    }
  }
  return { files, definitions: { definitions: defsFile }, skipped };
}

function parseArgs(argv) {
  const args = { strict: false, swagger: null, output: null, printDefinitions: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--strict') args.strict = true;
    else if (a === '--swagger') args.swagger = argv[++i];
    else if (a === '--output' || a === '-o') args.output = argv[++i];
    else if (a === '--print-definitions') args.printDefinitions = true;
    else if (a === '-h' || a === '--help') { args.help = true; }
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

export function loadJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || !args.swagger || (!args.output && !args.printDefinitions)) {
    process.stderr.write('usage: openapi2jsonschema.mjs --swagger swagger.json (--output DIR | --print-definitions) [--strict]\n');
    process.exit(args.help ? 0 : 2);
  }
  const swagger = loadJson(args.swagger);
  if (args.printDefinitions) {
    process.stdout.write(JSON.stringify({ definitions: deriveDefinitions(swagger, { strict: args.strict }) }, null, 2) + '\n');
    return;
  }
  const { files, definitions, skipped } = generateSchemas(swagger, { strict: args.strict });
  fs.mkdirSync(args.output, { recursive: true });
  fs.writeFileSync(path.join(args.output, '_definitions.json'), JSON.stringify(definitions, null, 2) + '\n');
  for (const [name, schema] of files) {
    fs.writeFileSync(path.join(args.output, `${name}.json`), JSON.stringify(schema, null, 2) + '\n');
  }
  for (const s of skipped) process.stderr.write(`skipped ${s}\n`);
  process.stderr.write(`wrote ${files.size} schemas + _definitions.json to ${args.output}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  try { main(); } catch (e) { process.stderr.write(`openapi2jsonschema: ${e.stack || e}\n`); process.exit(1); }
}

import { isUtf8 } from 'buffer';
import { readFileSync } from 'fs';
import {
  AliasEvent, boolYaml11Tag, COLLECTION_STYLE, constructFromEvents, defineScalarTag, EVENT_ID, Event, FAILSAFE_SCHEMA, getScalarValue, mapTag, mergeTag, NOT_RESOLVED,
  nullYaml11Tag, parseEvents, SCALAR_STYLE, ScalarEvent, ScalarTagDefinition, Schema, seqTag, YAMLException,
} from 'js-yaml';
import { deficientIndentation, lineStartAt } from '../config/yaml-source';
import type { Manifest } from '../policy/rules';
import type { Problem } from './problems';

/**
 * The one manifest reader of `npm run validate` and the cdk8s policy plugin.
 * Each file is read and parsed once, as kubectl reads it (go-yaml v2, YAML 1.1:
 * an unquoted `on` is a boolean), and every object gets one identity that all
 * layers (policy, kubeconform, API server) report against.
 *
 * js-yaml reads the whole file in one go (its event parser, then its
 * constructor); only a file with a YAML error is read again document by
 * document, cut where kubectl cuts (lines starting with `---`), so that an
 * error in one document hides none of the others.
 */

/** Which object a problem is about: the identity shared by every layer. */
export interface ObjectRef {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The file, as given on the command line (or relative to the working directory). */
  readonly file: string;
  /** 1-based line where the object starts in `file`. */
  readonly line: number;
  /** 0-based position among the objects of `file`. */
  readonly index: number;
}

/** One object (non-empty YAML document) of a file. */
export interface ManifestDoc {
  readonly ref: ObjectRef;
  /** The document's own text, exactly as in the file (what kubectl and kubeconform are given). */
  readonly text: string;
  /** The parsed object; undefined when the document has YAML errors or is not a mapping. */
  readonly manifest?: Manifest;
  /**
   * When the object is a list to kubectl (apiVersion and `items`: `kind: List`,
   * `ConfigMapList`, ...), its items: what kubectl applies instead of it, each
   * with its own identity (refOf) and line.
   */
  readonly items?: Manifest[];
}

/** A JSON object: not null, not a list. */
export const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The objects kubectl applies for a document: its object, or a list's items. */
export function objectsOf(doc: ManifestDoc): Manifest[] {
  return doc.items ?? (doc.manifest ? [doc.manifest] : []);
}

export interface ManifestFile {
  readonly file: string;
  readonly docs: ManifestDoc[];
  /** YAML-layer problems: syntax errors, duplicate keys, documents that are not objects. */
  readonly problems: Problem[];
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** `Pod/web`, `Pod/web (namespace team-a)`, `Pod (no name)`, `(no kind)/web`. */
export function describeObject(ref: ObjectRef): string {
  const kind = ref.kind ?? '(no kind)';
  const base = ref.name !== undefined ? `${kind}/${ref.name}` : `${kind} (no name)`;
  return ref.namespace !== undefined ? `${base} (namespace ${ref.namespace})` : base;
}

const refs = new WeakMap<object, ObjectRef>();

/** The identity of an object this reader produced (undefined for objects from elsewhere). */
export function refOf(manifest: Manifest): ObjectRef | undefined {
  return refs.get(manifest);
}

// ---------------------------------------------------------------------------------------------
// Scalars as kubectl reads them. kubectl (sigs.k8s.io/yaml) is go-yaml v2: YAML 1.1's null and
// booleans (`on`, `y`, `NO`), but numbers are whatever Go's strconv takes once underscores are
// dropped (`0X1F`, `0o17`, `08`, `1e3`, `1e1_0`), no sexagesimal numbers (`1:20` is a string),
// and timestamps stay strings. js-yaml's own YAML11_SCHEMA follows the 1.1 spec instead (`1e3`
// a string, `1:20` the number 80, `2024-01-02` a Date), so its int, float and timestamp tags are
// swapped for these two (the kubectl read-back test in __tests__/validation/reader.test.ts).

const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const GO_FLOAT_WORDS: Record<string, number> = {
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity, '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity, '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
};
const NUMBER_FIRST_CHARS = ['-', '+', '.', ...'0123456789'];

/**
 * A number whose key kubectl writes otherwise than JavaScript's String(): an integer beyond 2^53
 * (exact digits), one of 2^63 or more (go-yaml: a uint64, which kubectl refuses as a key), and a
 * float with an integer value of 10^6 or more (`1e6` is the key "1e+06", the int 1000000 is
 * "1000000"). Rare, so wrapped: the mapping and list tags below unwrap it; as a value it is `n`.
 */
class GoNumber {
  constructor(readonly n: number, readonly key: string | undefined) {}
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function goInt(source: string): number | GoNumber | typeof NOT_RESOLVED {
  const plain = source.replace(/_/g, '');
  if (!GO_INT.test(plain)) return NOT_RESOLVED;
  const sign = plain[0] === '-' ? -1 : 1;
  const digits = /^[-+]/.test(plain) ? plain.slice(1) : plain;
  const prefix = digits.slice(0, 2).toLowerCase();
  let n: number;
  if (prefix === '0x') n = sign * parseInt(digits.slice(2), 16);
  else if (prefix === '0b') n = sign * parseInt(digits.slice(2), 2);
  else if (prefix === '0o') n = sign * parseInt(digits.slice(2), 8);
  else if (digits.length > 1 && digits[0] === '0') n = sign * parseInt(digits, 8);
  else n = sign * Number(digits);
  if (Number.isSafeInteger(n)) return n || 0; // `-0` is the int 0
  // Go's strconv: an int64, else (no sign) a uint64, else a float when it is written as one (goFloatTag), else a string.
  const octal = prefix !== '0x' && prefix !== '0b' && prefix !== '0o' && digits.length > 1 && digits[0] === '0';
  const big = BigInt(sign) * BigInt(octal ? `0o${digits.slice(1)}` : digits);
  if (big >= INT64_MIN && big <= INT64_MAX) return new GoNumber(n, big.toString());
  if (big > 0n && big <= UINT64_MAX && /^[0-9]/.test(plain)) return new GoNumber(n, undefined);
  return NOT_RESOLVED;
}

/** A float as go-yaml resolves it, wrapped when its integer value would make a key JavaScript writes otherwise. */
function goFloat(plain: string): number | GoNumber {
  const v = Number(plain);
  return Number.isInteger(v) && (Math.abs(v) >= 1e6 || Object.is(v, -0)) ? new GoNumber(v, goFloatKey(v)) : v;
}

/** A float key as kubectl writes it: sigs.k8s.io/yaml's strconv.FormatFloat(key, 'g', -1, 32). */
function goFloatKey(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return '.nan';
  if (!Number.isFinite(f)) return f > 0 ? '.inf' : '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let e = f.toExponential(0);
  for (let p = 1; Math.fround(Number(e)) !== f; p++) e = f.toExponential(p); // the shortest digits that read back as f
  const [mantissa, power] = e.split('e');
  const exp = Number(power);
  const digits = mantissa.replace(/[-.]/g, '');
  const sign = f < 0 ? '-' : '';
  if (exp < -4 || exp >= 6) return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fraction = digits.slice(exp + 1);
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A map key as kubectl writes it (sigs.k8s.io/yaml convertToJSONableObject), or undefined when kubectl refuses it. */
function goKey(key: unknown): string | undefined {
  if (typeof key === 'string') return key;
  if (key instanceof GoNumber) return key.key;
  if (typeof key === 'number') return Number.isInteger(key) ? String(key) : goFloatKey(key);
  return String(key);
}

const unwrap = (v: unknown) => (v instanceof GoNumber ? v.n : v);

const goIntTag = defineScalarTag('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: NUMBER_FIRST_CHARS,
  resolve: goInt,
  identify: (v) => Number.isInteger(v),
});

const goFloatTag = defineScalarTag('tag:yaml.org,2002:float', {
  implicit: true,
  implicitFirstChars: NUMBER_FIRST_CHARS,
  resolve: (source) => {
    if (source in GO_FLOAT_WORDS) return GO_FLOAT_WORDS[source];
    const plain = source.replace(/_/g, '');
    // Beyond float64 (`1e400`, `1.8e308`) Go's ParseFloat fails, and go-yaml keeps the scalar a string.
    return GO_FLOAT.test(plain) && Number.isFinite(Number(plain)) ? goFloat(plain) : NOT_RESOLVED;
  },
  identify: (v) => typeof v === 'number',
});

/** Base64 as Go's base64.StdEncoding decodes it (line breaks dropped first): padded, no other white space. */
const GO_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of a UTF-8 character at `i` as Go's utf8.DecodeRune takes them (no overlong form, no surrogate, at most U+10FFFF); 0 if none. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) return cont(1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) && cont(2) ? 3 : 0;
  if (c >= 0xf0 && c <= 0xf4) return cont(1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Bytes as the string kubectl sends for them: Go's encoding/json writes U+FFFD for each byte that starts no UTF-8 character. */
function goString(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf-8');
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = utf8Length(bytes, i);
    out += n === 0 ? '\uFFFD' : bytes.toString('utf-8', i, i + n);
    i += Math.max(1, n);
  }
  return out;
}

/** `!!binary`: go-yaml decodes it into a string, which kubectl sends as that string; it refuses what Go does not decode. */
const goBinaryTag = defineScalarTag('tag:yaml.org,2002:binary', {
  resolve: (source) => {
    const base64 = source.replace(/[\r\n]/g, '');
    return GO_BASE64.test(base64) ? goString(Buffer.from(base64, 'base64')) : NOT_RESOLVED;
  },
  identify: () => false,
});

/**
 * go-yaml's timestamps (resolve.go parseTimestamp: Go's time.Parse with these layouts). A plain
 * scalar that looks like one stays a string for kubectl (go-yaml keeps the text when decoding into
 * interface{}), so the tag is not implicit; an explicit `!!timestamp` is the text when it parses,
 * and a problem when it does not (go-yaml: "cannot decode !!str `x` as a !!timestamp").
 */
// (A space of a layout matches a run of spaces: `2024-01-02  03:04:05` is a timestamp.)
const GO_TIMESTAMP = /^(\d{4})-(\d\d?)-(\d\d?)(?:[Tt](\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?(?:Z|[+-](\d\d):(\d\d))| +(\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?)?$/;

function isGoTimestamp(source: string): boolean {
  const m = GO_TIMESTAMP.exec(source);
  if (!m) return false;
  const n = (i: number) => Number(m[i] ?? 0);
  const [year, month, day, zh, zm] = [n(1), n(2), n(3), n(7), n(8)];
  const [hour, minute, second] = m[4] !== undefined ? [n(4), n(5), n(6)] : [n(9), n(10), n(11)];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate(); // days in the month (month is 1-based here)
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60 && zh <= 24 && zm <= 60;
}

const goTimestampTag = defineScalarTag('tag:yaml.org,2002:timestamp', {
  resolve: (source) => (isGoTimestamp(source) ? source : NOT_RESOLVED),
  identify: () => false,
});

/**
 * Any other tag: go-yaml reads a scalar with a tag it does not resolve (`!!map x`, `!foo x`, `!!set`)
 * as its text, and a mapping or a list with any tag (`!!str {a: b}`, `!!omap [...]`) as a mapping or
 * a list. The prefix '' matches every tag name that no tag above matches exactly.
 */
const anyTag = { matchByTagPrefix: true, tagName: '' } as const;

/** Mappings with keys as kubectl writes them (goKey); a key kubectl refuses is an error. */
const goMapTag = {
  ...mapTag,
  addPair: (container: any, key: unknown, value: unknown) => {
    if (key !== null && typeof key === 'object' && !(key instanceof GoNumber)) return mapTag.addPair(container, key, value);
    const name = goKey(key);
    if (name === undefined) return GO_UINT64_KEY;
    return mapTag.addPair(container, name, unwrap(value));
  },
  has: (container: any, key: unknown) => {
    const name = goKey(key);
    return name !== undefined && mapTag.has(container, name);
  },
};
const goSeqTag = { ...seqTag, addItem: (container: unknown[], item: unknown) => seqTag.addItem(container, unwrap(item), container.length) };
const ANY_TAGS = [{ ...FAILSAFE_SCHEMA.tags.find((t) => t.tagName === 'tag:yaml.org,2002:str')!, ...anyTag }, { ...goMapTag, ...anyTag }, { ...goSeqTag, ...anyTag }];

/** What kubectl reads: YAML 1.1 null, booleans and merge keys; go-yaml's numbers; timestamps only when tagged, as text; any other tag ignored. */
export const KUBECTL_SCHEMA = new Schema([...FAILSAFE_SCHEMA.tags, goMapTag, goSeqTag, nullYaml11Tag, boolYaml11Tag, goIntTag, goFloatTag, mergeTag, goBinaryTag, goTimestampTag, ...ANY_TAGS]);

// ---------------------------------------------------------------------------------------------
// Limits. go-yaml refuses a document whose aliases expand into most of it (a "billion laughs"),
// and an alias to a node that contains it; so does this reader, counting as go-yaml counts
// (decode.go allowedAliasRatio), before anything is built.

/** Nesting deeper than this is refused (js-yaml's default is 100; CRD schemas nest deeper than people do). */
const MAX_DEPTH = 1000;

function allowedAliasRatio(decoded: number): number {
  if (decoded <= 400_000) return 0.99;
  if (decoded >= 4_000_000) return 0.10;
  return 0.99 - 0.89 * ((decoded - 400_000) / 3_600_000);
}

/** The most JSON one object may expand to through aliases: the API server refuses a request body over 3 MiB. */
const MAX_OBJECT_BYTES = 3 * 1024 * 1024;
/** The most JSON a whole document (a List's items together) may expand to: kubectl and kubeconform hold all of it. */
const MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

/** The bytes of a string in JSON as Go writes it (kubectl's request): UTF-8, `<`, `>`, `&`, U+2028/9 and controls escaped. */
function goJsonBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x0a || c === 0x0d || c === 0x09) n += 2;
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) n += 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** An open collection while aliasProblem walks a document. */
interface AliasFrame {
  readonly anchor?: string;
  /** Nodes go-yaml decodes for it, and its bytes of JSON. */
  nodes: number;
  bytes: number;
  readonly isMap: boolean;
  /** A mapping: its key was read, the value comes next. */
  awaitingValue: boolean;
  /** A mapping: the key just read is `<<` (go-yaml decodes neither it nor a list given as its value). */
  mergeKey: boolean;
  /** A mapping: the key just read, when an untagged scalar, plain or quoted (to find a list's `items`). */
  key?: string;
  /** The `items` of a top-level mapping, or that mapping: a list, whose items kubectl sends one by one. */
  isList: boolean;
}

/**
 * Why the aliases of events[from..to) make the document unreadable, or undefined when they do not.
 * As go-yaml decodes (decode.go `unmarshal`): every node it decodes counts, an alias as itself plus
 * every node of what it names (those count as aliased too), a merge key `<<` and a list given as
 * its value do not; the ratio is checked at every node, so heavy aliasing early is refused even when
 * plain nodes after it would dilute it. Besides, what aliases expand to is measured in bytes of JSON
 * as Go writes it: a 100 KB value used 2,000 times keeps the ratio low, yet kubectl and kubeconform
 * would hold gigabytes, and the API server refuses any object over 3 MiB (a List's items are sent
 * one by one: each item is an object; the whole document may reach 32 MiB).
 */
function aliasProblem(source: string, events: Event[], from: number, to: number): string | undefined {
  /** Per anchor: the nodes and JSON bytes of what it names. */
  const sizes = new Map<string, { nodes: number; bytes: number }>();
  const root: AliasFrame = { nodes: 0, bytes: 0, isMap: false, awaitingValue: false, mergeKey: false, isList: false };
  const open: AliasFrame[] = [root];
  let decoded = 1; // the document node
  let aliased = 0;
  const anchorOf = (e: { anchorStart: number; anchorEnd: number }) => (e.anchorStart >= 0 ? source.slice(e.anchorStart, e.anchorEnd) : undefined);
  const tooBig = (): string | undefined => {
    if (open.reduce((n, f) => n + f.bytes, 0) > MAX_DOCUMENT_BYTES) {
      return 'with its aliases expanded this document is more than 32 MiB of JSON: kubectl and kubeconform would hold every copy in memory; write fewer copies';
    }
    for (let k = 1; k < open.length; k++) {
      const f = open[k];
      if (f.bytes > MAX_OBJECT_BYTES && !f.isList) {
        return 'with its aliases expanded, an object here is more than 3 MiB of JSON: the API server refuses a request over 3 MiB, and kubectl would hold every copy in memory; write fewer copies';
      }
    }
    return undefined;
  };
  for (let i = from; i < to; i++) {
    const e = events[i];
    if (e.type === EVENT_ID.POP) {
      if (open.length === 1) continue;
      const done = open.pop()!;
      if (done.anchor !== undefined) sizes.set(done.anchor, { nodes: done.nodes, bytes: done.bytes });
      const top = open[open.length - 1];
      top.nodes += done.nodes;
      top.bytes += done.bytes;
      if (top.isMap) {
        top.awaitingValue = !top.awaitingValue; // a collection as a key (refused elsewhere) or as a value
        top.mergeKey = false;
      }
      const big = tooBig();
      if (big) return big;
      continue;
    }
    if (e.type !== EVENT_ID.MAPPING && e.type !== EVENT_ID.SEQUENCE && e.type !== EVENT_ID.SCALAR && e.type !== EVENT_ID.ALIAS) continue;
    const parent = open[open.length - 1];
    const isKey = parent.isMap && !parent.awaitingValue;
    const mergeValue = parent.isMap && parent.awaitingValue && parent.mergeKey;
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) {
      // A list as the value of `<<`: go-yaml decodes its items, not the list.
      const uncounted = mergeValue && e.type === EVENT_ID.SEQUENCE;
      const isList = e.type === EVENT_ID.SEQUENCE && open.length === 2 && parent.awaitingValue && parent.key === 'items';
      if (isList) parent.isList = true;
      open.push({ anchor: anchorOf(e), nodes: uncounted ? 0 : 1, bytes: uncounted ? 0 : 2, isMap: e.type === EVENT_ID.MAPPING, awaitingValue: false, mergeKey: false, isList });
      if (!uncounted) decoded++;
    } else if (e.type === EVENT_ID.SCALAR) {
      const text = e.valueStart >= 0 ? getScalarValue(source, e) : '';
      const plain = e.style === SCALAR_STYLE.PLAIN && e.tagStart < 0;
      const merge = isKey && plain && text === '<<';
      // A plain number, boolean or null is written without quotes.
      const bare = plain && !isKey && (IMPLICIT.byFirst.get(text.charAt(0)) ?? IMPLICIT.any).some((t) => t.resolve(text, false, t.tagName) !== NOT_RESOLVED);
      const bytes = merge ? 0 : (bare ? Math.max(text.length, 4) : goJsonBytes(text)) + 1;
      const anchor = anchorOf(e);
      if (anchor !== undefined) sizes.set(anchor, { nodes: 1, bytes });
      if (!merge) {
        parent.nodes += 1;
        parent.bytes += bytes;
        decoded++;
      }
      if (parent.isMap) {
        parent.mergeKey = merge;
        parent.key = isKey && e.tagStart < 0 ? text : undefined;
        parent.awaitingValue = isKey;
      }
    } else {
      const name = source.slice(e.anchorStart, e.anchorEnd);
      if (open.some((f) => f.anchor === name)) return `alias *${name} refers to a node that contains it`;
      const size = sizes.get(name) ?? { nodes: 1, bytes: 5 };
      parent.nodes += 1 + size.nodes;
      parent.bytes += mergeValue ? size.bytes - 2 : size.bytes; // merged: its keys, without its braces
      decoded += 1 + size.nodes;
      aliased += size.nodes;
      if (parent.isMap) {
        parent.mergeKey = false;
        parent.awaitingValue = isKey;
      }
      const big = tooBig();
      if (big) return big;
    }
    if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) {
      return `its aliases expand to ${decoded > 1e12 ? 'more than 10^12' : decoded} nodes, ${Math.round((100 * aliased) / decoded)}% of them from aliases (an alias bomb; kubectl refuses it as "excessive aliasing")`;
    }
  }
  return undefined;
}

/**
 * An anchor as go-yaml takes one: `&` and a name character where a token may
 * start (a line's start, a BOM, white space, `[`, `{`, `,`, or the `:` after a
 * quoted flow key). Without one, go-yaml has nothing to expand: `&&` in a
 * script, or `&` inside a word, is no anchor.
 */
const GO_ANCHOR_TOKEN = /(?:^|[\s[{,:\uFEFF])&[A-Za-z0-9_-]/m;

/**
 * Whether a document's text must not be given to kubeconform, which is
 * started on the texts before they are parsed: aliasProblem refuses it, which
 * would take kubeconform's memory (go-yaml expands every alias) before the
 * reader reports it, or it has an anchor and an alias and cannot be read (the
 * reader reports why). Read as the reader reads it (readChunk), and only when
 * it has a go-yaml anchor and a `*`.
 */
export function aliasBomb(text: string): boolean {
  if (!text.includes('*') || !GO_ANCHOR_TOKEN.test(text)) return false;
  const { parsed } = readChunk(text);
  if ('error' in parsed) return true;
  return parsed.events.some((e) => e.type === EVENT_ID.ALIAS) && aliasProblem(parsed.decode, parsed.events, 0, parsed.events.length) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// What go-yaml reads but kubectl cannot send: infinity and NaN (JSON has no such numbers), a null
// key (sigs.k8s.io/yaml: "Unsupported map key"), and an implicit key longer than 1024 characters
// (go-yaml: "mapping values are not allowed in this context").

/** The longest implicit key go-yaml takes, from its first character (tag, anchor, quote) to the `:`. */
const MAX_IMPLICIT_KEY = 1024;
const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);

/** The plain-or-tagged scalar's resolution for these checks: 'null', 'nonfinite' or undefined. */
function goScalarKind(source: string, e: ScalarEvent): 'null' | 'nonfinite' | undefined {
  const tag = e.tagStart >= 0 ? source.slice(e.tagStart, e.tagEnd) : undefined;
  if (tag === undefined && e.style !== SCALAR_STYLE.PLAIN) return undefined;
  if (tag === undefined && e.valueStart >= 0 && !'~nN.+-'.includes(source[e.valueStart])) return undefined; // the common case, without decoding
  const value = e.valueStart >= 0 ? getScalarValue(source, e) : '';
  if (tag === '!!null' || tag === '!<tag:yaml.org,2002:null>') return 'null';
  if (tag === undefined && NULL_WORDS.has(value)) return 'null';
  if ((tag === undefined || tag === '!!float' || tag === '!<tag:yaml.org,2002:float>') && value in GO_FLOAT_WORDS) return 'nonfinite';
  return undefined;
}

/** Where (offset in `source`) and why kubectl cannot send what the events [from, to) of a document read as. */
function unsendable(source: string, events: Event[], from: number, to: number): Array<{ offset: number; message: string }> {
  const found: Array<{ offset: number; message: string }> = [];
  eachNode(events, from, to, (e, i, isKey) => {
    if (e.type !== EVENT_ID.SCALAR) return;
    const start = eventStart(e);
    const kind = goScalarKind(source, e);
    if (isKey) {
      if (kind === 'null') {
        found.push({ offset: start >= 0 ? start : Math.max(0, eventStart(events[i + 1])), message: 'a null key (`~`, `null` or none): kubectl cannot send it as JSON; quote it if it is a string' });
        return;
      }
      const end = e.valueEnd >= 0 ? e.valueEnd : start;
      const colon = source.indexOf(':', end);
      const quoted = e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED;
      const keyFrom = quoted && start === e.valueStart ? start - 1 : start;
      const explicit = /(?:^|[\s,{[])\?[ \t]*$/.test(source.slice(source.lastIndexOf('\n', keyFrom - 1) + 1, keyFrom));
      if (!explicit && colon > 0 && [...source.slice(keyFrom, colon)].length > MAX_IMPLICIT_KEY) {
        found.push({ offset: start, message: `a key longer than ${MAX_IMPLICIT_KEY} characters: kubectl (go-yaml) refuses it; shorten it, or write it as an explicit key (\`? key\` then \`: value\` on the next line)` });
      }
    } else if (kind === 'nonfinite') {
      found.push({ offset: start, message: 'kubectl cannot send infinity/NaN as JSON; quote it if it is a string' });
    }
  });
  return found;
}

/**
 * Visits each node event of events[from..to) (a mapping, sequence, scalar or
 * alias; not the document and pop events) with its index and whether it is a
 * mapping key; `visit` returning false stops the walk.
 */
function eachNode(events: Event[], from: number, to: number, visit: (e: Event, i: number, isKey: boolean) => boolean | void): void {
  const frames: Array<{ map: boolean; n: number }> = [];
  for (let i = from; i < to; i++) {
    const e = events[i];
    if (e.type === EVENT_ID.POP) {
      frames.pop();
      continue;
    }
    if (e.type === EVENT_ID.DOCUMENT) continue;
    const parent = frames[frames.length - 1];
    const isKey = parent !== undefined && parent.map && parent.n % 2 === 0;
    if (parent) parent.n++;
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) frames.push({ map: e.type === EVENT_ID.MAPPING, n: 0 });
    if (visit(e, i, isKey) === false) return;
  }
}

// ---------------------------------------------------------------------------------------------
// What js-yaml (YAML 1.2) reads but go-yaml v2 refuses, so kubectl refuses the file: a `\/` escape
// (not one of go-yaml's escapes), an anchor or alias name with other characters than ASCII letters,
// digits, `-` and `_`, and a tab where go-yaml reads indentation (at the start of a line, or after
// a block `-` or `?`, outside flow collections and scalars). Each is looked for only when the text
// has a backslash-slash, an `&` or `*`, or a tab.

const GO_ANCHOR = /^[A-Za-z0-9_-]+$/;
/** A line's indentation and block indicators (`- `, `? `), where go-yaml takes spaces only. */
const LEADING = /^[ \t]*(?:[-?](?:[ \t]+|$))*/;

/** Whether the block scalar whose text starts at `valueStart` has an indentation indicator (`|2`, `>-1`) on its header line. */
function explicitIndent(text: string, valueStart: number): boolean {
  const headerEnd = valueStart - (text[valueStart - 1] === '\n' && text[valueStart - 2] === '\r' ? 2 : 1);
  const header = text.slice(lineStartAt(text, headerEnd), headerEnd).replace(/[ \t]#.*$/, '');
  return /[|>][-+]?[1-9][-+]?[ \t]*$/.test(header);
}

/**
 * The implicit keys of `{ }` that go on to another line before their `:` (`{a\n  : b}`,
 * `{a\n  b: c}`): go-yaml takes a key only on one line and refuses them ("did not find expected
 * ',' or '}'"), js-yaml reads them. An explicit key (`? a`) may go on.
 */
function multiLineFlowKeys(text: string, events: Event[]): Array<{ offset: number; message: string }> {
  const found: Array<{ offset: number; message: string }> = [];
  for (let i = 0; i < events.length; i++) {
    const m = events[i];
    if (m.type !== EVENT_ID.MAPPING || m.style !== COLLECTION_STYLE.FLOW) continue;
    for (let k = i + 1; k < events.length && events[k].type !== EVENT_ID.POP;) {
      const value = skipNode(events, k);
      if (value >= events.length) break;
      const e = events[k];
      k = events[value].type === EVENT_ID.POP ? value : skipNode(events, value);
      if (e.type !== EVENT_ID.SCALAR && e.type !== EVENT_ID.ALIAS) continue; // a list or mapping as a key is refused anyway
      const start = eventStart(e);
      let end = e.type === EVENT_ID.ALIAS ? e.anchorEnd : e.valueEnd >= 0 ? e.valueEnd : Math.max(e.tagEnd, e.anchorEnd);
      if (start < 0 || end < 0) continue; // an empty key
      if (e.type === EVENT_ID.SCALAR && (e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED)) end++;
      let broken = false;
      for (let at = start; at < end && !broken; at++) broken = text[at] === '\n' || text[at] === '\r';
      let at = end;
      for (; at < text.length; at++) {
        const c = text[at];
        if (c === '\r' || c === '\n') broken = true;
        else if (c === '#') while (at + 1 < text.length && text[at + 1] !== '\n' && text[at + 1] !== '\r') at++;
        else if (c !== ' ' && c !== '\t') break;
      }
      if (!broken || text[at] !== ':') continue;
      let before = start - 1;
      while (before >= 0 && ' \t\r\n'.includes(text[before])) before--;
      if (text[before] === '?') continue; // an explicit key
      found.push({ offset: start, message: 'kubectl (go-yaml) refuses a key inside `{ }` that goes on to another line before its `:` ("did not find expected \',\' or \'}\'"); put the key and its `:` on one line, or make it an explicit key (`? key`)' });
    }
  }
  return found;
}

/** A `:` and a character that is not a space where a value may start (also right after a quoted key's `:`): with a `?`, the cheap test before flowIndicatorValues. */
const COLON_START = /(?:^|[[{,\s:]):\S/m;

/**
 * Plain values inside `[ ]` or `{ }` that start with `:` or hold a `?`: go-yaml reads either there
 * as an indicator, never as text. It refuses `[:1]` and `{a: :b}` ("did not find expected node
 * content"), ends a plain value at `?` (`[http://h/?a=b]`: "did not find expected ',' or ']'") and
 * reads `[?x:y]` as the mapping `{"x:y": null}`; js-yaml reads them all as strings.
 */
function flowIndicatorValues(text: string, events: Event[]): Array<{ offset: number; message: string }> {
  const found: Array<{ offset: number; message: string }> = [];
  let flow = 0;
  const styles: boolean[] = [];
  for (const e of events) {
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) {
      const isFlow = e.style === COLLECTION_STYLE.FLOW;
      styles.push(isFlow);
      if (isFlow) flow++;
    } else if (e.type === EVENT_ID.POP) {
      if (styles.pop()) flow--;
    } else if (flow > 0 && e.type === EVENT_ID.SCALAR && e.style === SCALAR_STYLE.PLAIN && e.valueStart >= 0) {
      const question = text.slice(e.valueStart, e.valueEnd).indexOf('?');
      if (text[e.valueStart] === ':' && e.tagStart >= 0) {
        found.push({ offset: e.valueStart, message: 'kubectl (go-yaml) reads a tag and then `:` inside `[ ]` or `{ }` as a mapping with an empty key (`[!!str :a]` is `[{"": "a"}]`), not as text; quote the value' });
      } else if (text[e.valueStart] === ':') {
        found.push({ offset: e.valueStart, message: 'kubectl (go-yaml) reads `:` at the start of a value inside `[ ]` or `{ }` as an indicator and refuses it; quote the value' });
      } else if (question >= 0) {
        found.push({ offset: e.valueStart + question, message: 'kubectl (go-yaml) reads `?` inside `[ ]` or `{ }` as an indicator, not as text: it ends an unquoted value there (and `?x` starts a key); quote the value' });
      }
    }
  }
  return found;
}

/** go-yaml's tag characters (its URI characters and `!`), one or more. */
const GO_TAG_CHARS = /^[!\w\-;/?:@&=+$,.~*'()[\]%]+$/;

/** `%` escapes that spell one UTF-8 character (its lead byte and continuation bytes), as go-yaml checks them in a tag. */
const PERCENT_UTF8 = /%(?:[0-7][0-9a-f]|[cd][0-9a-f]%[89ab][0-9a-f]|e[0-9a-f](?:%[89ab][0-9a-f]){2}|f[0-7](?:%[89ab][0-9a-f]){3})/gi;

/**
 * A tag go-yaml refuses or reads otherwise: one written with a character that is not in its tag
 * characters (letters, digits and `-_;/?:@&=+$,.!~*'()[]%`, also inside `!<...>`; a `%` escape
 * that is no UTF-8), or not followed by a space
 * or the end of the line (`[!!str]`, `{a: !!str}`: go-yaml reads `,`, `[` and `]` into the tag,
 * and refuses anything else there: "did not find expected whitespace or line break").
 */
function tagRefusals(text: string, events: Event[]): Array<{ offset: number; message: string }> {
  const found: Array<{ offset: number; message: string }> = [];
  for (const e of events) {
    if (!('tagStart' in e) || e.tagStart < 0) continue;
    const tag = text.slice(e.tagStart, e.tagEnd);
    const next = text[e.tagEnd];
    // A handle with no suffix (`!!`, `!e!`): go-yaml finds no tag URI after it.
    const written = tag.startsWith('!<') ? tag.endsWith('>') && GO_TAG_CHARS.test(tag.slice(2, -1)) : GO_TAG_CHARS.test(tag) && !/^![\w-]*!$/.test(tag);
    // A `%` escape is a byte of UTF-8: go-yaml refuses one that does not make a character ("incorrect leading UTF-8 octet").
    const escaped = !tag.includes('%') || !tag.replace(PERCENT_UTF8, '').includes('%');
    if (written && escaped && (next === undefined || ' \t\r\n'.includes(next))) continue;
    found.push({ offset: e.tagStart, message: `kubectl (go-yaml) refuses the tag ${JSON.stringify(tag)} here: a tag takes letters, digits and \`-_;/?:@&=+$,.!~*'()[]%\` only, and a space after it; write it so (\`!!str x\`), or remove it` });
  }
  return found;
}

/** Where (offsets in `text`) and why go-yaml refuses what js-yaml read as `events`. */
function goRefusals(text: string, events: Event[]): Array<{ offset: number; message: string }> {
  const escapes = text.includes('\\/');
  const anchors = text.includes('&') || text.includes('*');
  const tabs = text.includes('\t');
  const found = text.includes('{') ? multiLineFlowKeys(text, events) : [];
  if ((text.includes('[') || text.includes('{')) && (text.includes('?') || COLON_START.test(text))) found.push(...flowIndicatorValues(text, events));
  if (text.includes('!')) found.push(...tagRefusals(text, events));
  if (!escapes && !anchors && !tabs) return found;
  /** Where tabs are not indentation for go-yaml: flow collections, and scalars (block scalars: at or past their indentation). */
  const spans: Array<{ start: number; end: number; indent?: number; autoIndent?: boolean }> = [];
  const open: Array<{ start: number; last: number; close?: string }> = [];
  for (const e of events) {
    if (e.type === EVENT_ID.SCALAR && e.valueStart >= 0) {
      if (escapes && e.style === SCALAR_STYLE.DOUBLE_QUOTED) {
        for (let i = text.indexOf('\\', e.valueStart); i >= 0 && i < e.valueEnd; i = text.indexOf('\\', i + 2)) {
          if (text[i + 1] === '/') found.push({ offset: i, message: 'kubectl (go-yaml) refuses the escape `\\/` in a double-quoted string ("found unknown escape character"); write `/`' });
        }
      }
      if (tabs && e.valueEnd > e.valueStart) {
        const block = e.style === SCALAR_STYLE.LITERAL_BLOCK || e.style === SCALAR_STYLE.FOLDED_BLOCK;
        spans.push({ start: e.valueStart, end: e.valueEnd, indent: block ? e.indent : undefined, autoIndent: block && !explicitIndent(text, e.valueStart) });
      }
    }
    if (anchors && e.type !== EVENT_ID.DOCUMENT && e.type !== EVENT_ID.POP && e.anchorStart >= 0 && !GO_ANCHOR.test(text.slice(e.anchorStart, e.anchorEnd))) {
      const name = text.slice(e.anchorStart, e.anchorEnd);
      // go-yaml refuses the name, or (at `:`, `?`) ends it there and reads the rest as the value: `&x:y b` is ":y b".
      found.push({ offset: e.anchorStart, message: `kubectl (go-yaml) takes only letters, digits, \`-\` and \`_\` in the ${e.type === EVENT_ID.ALIAS ? 'alias' : 'anchor'} name ${JSON.stringify(name)}: it refuses the file or reads another value; rename the anchor and its aliases` });
    }
    if (!tabs) continue;
    const end = e.type === EVENT_ID.SCALAR ? (e.valueEnd >= 0 ? e.valueEnd : -1) : e.type === EVENT_ID.ALIAS ? e.anchorEnd : -1;
    if (open.length > 0 && end >= 0) open[open.length - 1].last = Math.max(open[open.length - 1].last, end);
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) {
      const flow = e.style === COLLECTION_STYLE.FLOW;
      open.push({ start: e.start, last: e.start + 1, close: flow ? (e.type === EVENT_ID.MAPPING ? '}' : ']') : undefined });
    } else if (e.type === EVENT_ID.POP && open.length > 0) {
      const c = open.pop()!;
      const closed = c.close ? text.indexOf(c.close, c.last) : -1;
      const stop = closed >= 0 ? closed + 1 : c.last;
      if (c.close) spans.push({ start: c.start, end: stop });
      if (open.length > 0) open[open.length - 1].last = Math.max(open[open.length - 1].last, stop);
    }
  }
  if (tabs) {
    let lastLine = -1;
    for (let t = text.indexOf('\t'); t >= 0; t = text.indexOf('\t', t + 1)) {
      const lineStart = lineStartAt(text, t);
      if (lineStart === lastLine) continue;
      lastLine = lineStart;
      const tab = lineStart + LEADING.exec(text.slice(lineStart, t + 1))![0].indexOf('\t');
      if (tab < lineStart || tab > t) continue; // the line's first tab is past its indentation
      const span = spans.find((sp) => tab >= sp.start && tab < sp.end);
      if (span?.autoIndent && /^ *$/.test(text.slice(lineStart, tab)) && /^[ \r\n]*$/.test(text.slice(span.start, lineStart))) {
        // Up to its first line with content, go-yaml is still finding a block scalar's indentation: spaces only.
        found.push({ offset: tab, message: 'kubectl (go-yaml) refuses a tab that starts the first line of a `|` or `>` block ("found a tab character where an indentation space is expected"): it is still reading the block\'s indentation there; indent with spaces, or give the indentation (`|2`) so that the tab is content' });
        continue;
      }
      if (span && (span.indent === undefined || tab - lineStart >= span.indent || text.slice(lineStart, tab).trim() !== '')) continue;
      found.push({ offset: tab, message: 'kubectl (go-yaml) refuses a tab here: at the start of a line or after a `-` or `?` it reads indentation, which takes spaces only; replace the tab with spaces' });
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

// ---------------------------------------------------------------------------------------------
// What go-yaml v2 reads and js-yaml refuses or reads otherwise, read as go-yaml reads it: a `\'`
// escape in a double-quoted string (go-yaml's `'`, unknown to YAML 1.2), a tab between the tokens of
// a `[ ]` or `{ }` (js-yaml takes it for indentation), and an alias right before a `:` (`[*x:y]`,
// `*x: y`: go-yaml ends the alias name at the `:`, js-yaml reads the `:` into the name). js-yaml
// parses a copy of the text rewritten in place (same length, so every offset and line stays):
// `\'` as `\"`, such a tab as a space, `*x` as `''`; the events are then set back to what the text
// says (the scalar `''` an alias again, a string with `\'` its go-yaml value). Only a text that
// js-yaml refuses, or that has `*name:`, takes this way; each rewrite is checked against the events.

/** A chunk's events as kubectl reads them, what go-yaml refuses in it, and the text its scalars are decoded from. */
interface ChunkEvents {
  readonly events: Event[];
  readonly refusals: Array<{ offset: number; message: string }>;
  readonly decode: string;
}

const PARSE_OPTIONS = { maxDepth: MAX_DEPTH };
/** `*name` right before a `:`, where a token starts. */
const ALIAS_BEFORE_COLON = /(?<=^|[\s[{,])\*[A-Za-z0-9_-]+(?=:)/gm;
/**
 * At most this many parses of a chunk: the first, and one more after the `\'` of a string or the
 * tabs of a line are rewritten or a line is indented (see reindented). Bounded work: past it, the
 * chunk is refused (TooManyParses).
 */
const MAX_PARSES = 200;

/** The parses a chunk has left (MAX_PARSES), shared by every rewrite of it. */
interface ParseBudget { left: number }

/** The refusal of a chunk that needs more than MAX_PARSES parses to be read as kubectl reads it. */
class TooManyParses extends YAMLException {
  /** `mark`: where the last parse stopped (the document's line, and its object as far as read before it). */
  constructor(mark: YAMLException['mark']) {
    super(`cannot read this document: it needs more than ${MAX_PARSES} parses to be read as kubectl reads it (one more for each double-quoted string with \`\\'\` and each line with tabs inside \`[ ]\` or \`{ }\`), and the reader stops here; kubectl may read it: write \`\\'\` as \`'\`, use spaces instead of those tabs, or split the document`, mark);
  }
}

/** `text` with the character at each of `offsets` (ascending) replaced by `ch`. */
function replaceAt(text: string, offsets: number[], ch: string): string {
  let out = '';
  let from = 0;
  for (const at of offsets) {
    out += text.slice(from, at) + ch;
    from = at + 1;
  }
  return out + text.slice(from);
}

/** The offsets of the `'` of each `\'` escape in the double-quoted string that goes on at `from` (inside it). */
function quoteEscapes(text: string, from: number): number[] {
  const found: number[] = [];
  for (let i = from; i < text.length && text[i] !== '"'; i++) {
    if (text[i] !== '\\') continue;
    if (text[i + 1] === "'") found.push(i + 1);
    i++;
  }
  return found;
}

/**
 * js-yaml's events for `text` rewritten as described above: `aliases` (offsets and lengths of
 * `*name` before `:`) as `''`, then, for each error js-yaml stops at, the `\'` escapes of that
 * string or the tabs of that line (with `restOfText`, of every line from there on: one more parse
 * for a text with many such lines) rewritten, and parsed again. `known`: js-yaml's error for
 * `text` itself, not parsed again when there are no aliases.
 */
function parseRewritten(text: string, aliases: Array<{ at: number; length: number }>, restOfText: boolean, budget: ParseBudget, known: unknown) {
  let parsed = text;
  for (const a of aliases) parsed = `${parsed.slice(0, a.at)}''${' '.repeat(a.length - 2)}${parsed.slice(a.at + a.length)}`;
  const tabs: number[] = [];
  const escapes: number[] = [];
  let error: unknown = aliases.length === 0 ? known : undefined;
  let mark: YAMLException['mark'];
  for (;;) {
    if (error === undefined) {
      if (budget.left <= 0) return { error: new TooManyParses(mark), parsed, tabs, escapes };
      budget.left--;
      try {
        return { events: parseEvents(parsed, PARSE_OPTIONS), parsed, tabs, escapes };
      } catch (e) {
        error = e;
      }
    }
    if (!(error instanceof YAMLException) || !error.mark) break;
    mark = error.mark;
    const at = error.mark.position;
    let fix: number[] = [];
    if (error.reason === 'unknown escape sequence' && parsed[at] === "'" && parsed[at - 1] === '\\') {
      fix = quoteEscapes(parsed, at - 1);
      escapes.push(...fix);
      parsed = replaceAt(parsed, fix, '"');
    } else if (error.reason === 'deficient indentation') {
      const from = lineStartAt(parsed, at);
      const to = restOfText ? parsed.length : parsed.slice(at).search(/[\r\n]|$/) + at;
      for (let t = parsed.indexOf('\t', from); t >= 0 && t < to; t = parsed.indexOf('\t', t + 1)) fix.push(t);
      tabs.push(...fix);
      parsed = replaceAt(parsed, fix, ' ');
    }
    if (fix.length === 0) break;
    error = undefined;
  }
  return { error, parsed, tabs, escapes };
}

/**
 * The tabs (rewritten as spaces) that go-yaml refuses after all: one that starts a continued line
 * of an unquoted value at or left of the column of the block mapping or list around it ("found a
 * tab character that violates indentation"). Undefined when a tab was inside a block scalar
 * (`|`, `>`), whose indentation a space changes: the rewrite does not hold.
 */
function rewrittenTabRefusals(text: string, events: Event[], tabs: number[]): Array<{ offset: number; message: string }> | undefined {
  const found: Array<{ offset: number; message: string }> = [];
  const open: Array<{ block: boolean; start: number }> = [];
  for (const e of events) {
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) open.push({ block: e.style === COLLECTION_STYLE.BLOCK, start: e.start });
    else if (e.type === EVENT_ID.POP) open.pop();
    if (e.type !== EVENT_ID.SCALAR || e.valueStart < 0) continue;
    const inside = tabs.filter((t) => t > e.valueStart && t < e.valueEnd);
    if (inside.length === 0) continue;
    if (e.style === SCALAR_STYLE.LITERAL_BLOCK || e.style === SCALAR_STYLE.FOLDED_BLOCK) return undefined;
    if (e.style !== SCALAR_STYLE.PLAIN) continue;
    const block = [...open].reverse().find((c) => c.block);
    const indent = block ? block.start - lineStartAt(text, block.start) : -1;
    for (const t of inside) {
      const lineStart = lineStartAt(text, t);
      if (lineStart > e.valueStart && /^[ \t]*$/.test(text.slice(lineStart, t)) && t - lineStart <= indent) {
        found.push({ offset: t, message: 'kubectl (go-yaml) refuses a tab at the start of a continued line of an unquoted value ("found a tab character that violates indentation"); replace it with spaces, or quote the value' });
        break;
      }
    }
  }
  return found;
}

/**
 * A chunk's events as kubectl reads them (see above), or js-yaml's error and the text (as
 * rewritten, same offsets) it is about.
 */
function parseChunk(text: string, budget: ParseBudget): ChunkEvents | { error: unknown; parsed: string } {
  let events: Event[] | undefined;
  let error: unknown;
  if (budget.left <= 0) return { error: new TooManyParses(undefined), parsed: text };
  budget.left--;
  try {
    events = parseEvents(text, PARSE_OPTIONS);
  } catch (e) {
    error = e;
  }
  const aliases = text.includes('*') ? [...text.matchAll(ALIAS_BEFORE_COLON)].map((m) => ({ at: m.index, length: m[0].length })) : [];
  if (events && aliases.length === 0) return { events, refusals: goRefusals(text, events), decode: text };
  let go = parseRewritten(text, aliases, true, budget, error);
  let tabRefusals = go.events && rewrittenTabRefusals(text, go.events, go.tabs);
  if (go.tabs.length > 0 && !tabRefusals) {
    go = parseRewritten(text, aliases, false, budget, error); // the tabs of the lines js-yaml stops at only
    tabRefusals = go.events && rewrittenTabRefusals(text, go.events, go.tabs);
  }
  const original = () => (events ? { events, refusals: goRefusals(text, events), decode: text } : { error, parsed: text });
  if (!go.events) {
    if (events) return original();
    // Stopped on a line whose tabs were rewritten: the error is about the text with its tabs (so it names them).
    const at = go.error instanceof YAMLException ? go.error.mark?.position : undefined;
    const onTabs = at !== undefined && go.tabs.some((t) => lineStartAt(text, t) === lineStartAt(text, at));
    return { error: go.error, parsed: onTabs ? text : go.parsed };
  }
  if (!tabRefusals) return original();
  // `''` back to the alias it was written for (a `''` where none was written for: in a string or a comment).
  const scalarAt = new Map<number, number>();
  for (const [i, e] of go.events.entries()) if (e.type === EVENT_ID.SCALAR && e.style === SCALAR_STYLE.SINGLE_QUOTED) scalarAt.set(e.valueStart, i);
  for (const a of aliases) {
    const i = scalarAt.get(a.at + 1);
    const e = i === undefined ? undefined : go.events[i] as ScalarEvent;
    if (i === undefined || !e || e.valueEnd !== a.at + 1) continue;
    if (e.tagStart >= 0 || e.anchorStart >= 0) return original(); // an alias takes no tag or anchor
    go.events[i] = { type: EVENT_ID.ALIAS, anchorStart: a.at + 1, anchorEnd: a.at + a.length };
  }
  const refusals = [...goRefusals(text, go.events), ...tabRefusals].sort((a, b) => a.offset - b.offset);
  // A string with `\'`: its go-yaml value (js-yaml's with `\x27` for each `\'`) is written over its text, and read as it stands.
  let decode = text;
  let escapes = 0;
  for (const e of go.events) {
    if (e.type !== EVENT_ID.SCALAR || e.style !== SCALAR_STYLE.DOUBLE_QUOTED) continue;
    const inside = go.escapes.filter((q) => q > e.valueStart && q < e.valueEnd).length;
    if (inside === 0) continue;
    escapes += inside;
    const raw = text.slice(e.valueStart, e.valueEnd).replace(/\\[^]/g, (esc) => (esc === "\\'" ? '\\x27' : esc));
    const value = getScalarValue(raw, { ...e, valueStart: 0, valueEnd: raw.length, fast: false });
    if (value.length > e.valueEnd - e.valueStart) return original(); // cannot be: no escape is shorter than its character
    decode = `${decode.slice(0, e.valueStart)}${value}${' '.repeat(e.valueEnd - e.valueStart - value.length)}${decode.slice(e.valueEnd)}`;
    Object.assign(e, { valueEnd: e.valueStart + value.length, fast: true });
  }
  if (escapes !== go.escapes.length) return original(); // a `\'` rewritten outside a double-quoted string: the rewrite does not hold
  return { events: go.events, refusals, decode };
}

// ---------------------------------------------------------------------------------------------
// A continued line of `[ ]`, `{ }` or a quoted string indented less than js-yaml needs: js-yaml
// refuses it ("deficient indentation", which it raises there only: skipFlowSeparationSpace and
// readFlowScalarBreak), go-yaml does not look at indentation inside them (`k: [a,\nb]` is
// `{k: [a, b]}` to kubectl). The chunk is read again with spaces added on such a line, after its
// leading spaces and tabs: inside `[ ]`, `{ }` and a quoted string, leading white space of a line
// is no content (a string folds it away), so no value changes, and a tab keeps its column for
// the tab rules above; a line that starts with `---` or `...` is left as it is (go-yaml takes it
// for a document marker even there). Each line keeps its number; a column on it counts the spaces.

const isDeficientIndentation = (e: unknown): e is YAMLException => e instanceof YAMLException && e.reason === 'deficient indentation' && e.mark !== undefined;

/** The spaces and tabs at the start of the line that starts at `start`. */
function leadingBlanks(text: string, start: number): number {
  let i = start;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i - start;
}

/** Where the last line with content (not blank, not a comment) before the line at `lineStart` starts; -1 if none. */
function previousContentLine(text: string, lineStart: number): number {
  for (let end = lineStart - 1; end > 0;) {
    const start = lineStartAt(text, end);
    if (!NO_CONTENT_LINE.test(text.slice(start, end))) return start;
    end = start - 1;
  }
  return -1;
}

/** `---` or `...` at the start of a line: a document marker to go-yaml, also inside `[ ]`, `{ }` and quotes. */
const DOCUMENT_MARKER = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/;

/** Whether a line with content between the lines at `from` and `to` (starts of lines) is indented less than `indent`. */
function leftOfRun(text: string, from: number, to: number, indent: number): boolean {
  for (let at = previousContentLine(text, to); at > from; at = previousContentLine(text, at)) {
    if (leadingBlanks(text, at) < indent) return true;
  }
  return false;
}

/**
 * The chunk read again with spaces added on each continued line that js-yaml
 * refuses as indented too little (see above), from parseChunk's result
 * `first` on: the last result, and the text it is about. It stops at any
 * other refusal, which is then the chunk's (an error further on); at one not
 * at the first character of its line (js-yaml marks a continued line there: a
 * guard); at a line that starts with `---` or `...` (go-yaml refuses that
 * marker there). At the end of the chunk (a `[` or quote never closed, after
 * which every line was indented in turn) or when the chunk's parses run out,
 * the refusal at the first line of the last run of such lines is the chunk's:
 * the line where that `[` or quote goes on.
 */
function reindented(text: string, first: ReturnType<typeof parseChunk>, budget: ParseBudget): { parsed: ReturnType<typeof parseChunk>; text: string } {
  let current = text;
  let parsed = first;
  let lastLine = -1;
  let added = 0;
  // The refusal at the first line of the last run of such lines: where a `[` or quote never closed
  // goes on, when the chunk ends in that run. A run ends at a line with content, not indented, that
  // is left of the run's first line as indented (a key of the block around it, after a closed `[`).
  let run = { parsed: first, text };
  let runLine = -1;
  let runIndent = 0;
  while ('error' in parsed && isDeficientIndentation(parsed.error)) {
    const at = parsed.error.mark!.position;
    const start = lineStartAt(current, at);
    const content = start + leadingBlanks(current, start);
    if (content >= current.length || current[content] === '\n' || current[content] === '\r') return run;
    if (at !== content) break;
    if (content === start && DOCUMENT_MARKER.test(current.slice(content, content + 4))) break;
    const previous = previousContentLine(current, start);
    if (lastLine < 0 || (start !== lastLine && leftOfRun(current, lastLine, start, runIndent))) {
      run = { parsed, text: current };
      runLine = start;
    }
    // Past the line before it; again on the same line (a deeper `[ ]` than that line shows), twice as many.
    added = start === lastLine ? added * 2 : Math.max(1, (previous < 0 ? 0 : leadingBlanks(current, previous)) + 1 - (content - start));
    if (start === runLine) runIndent = content - start + added;
    lastLine = start;
    current = `${current.slice(0, content)}${' '.repeat(added)}${current.slice(content)}`;
    parsed = parseChunk(current, budget);
  }
  if ('error' in parsed && parsed.error instanceof TooManyParses) return run;
  return { parsed, text: current };
}

/**
 * A chunk as kubectl reads it: parseChunk's events, or those of the chunk
 * reindented when js-yaml refuses a continued line indented too little; or
 * the refusal. With the text their offsets are in (the chunk, or reindented).
 */
function readChunk(text: string): { parsed: ReturnType<typeof parseChunk>; text: string } {
  const budget = { left: MAX_PARSES };
  const parsed = parseChunk(text, budget);
  return 'error' in parsed && isDeficientIndentation(parsed.error) ? reindented(text, parsed, budget) : { parsed, text };
}

// ---------------------------------------------------------------------------------------------
// Where documents start and end in the text, and lines.

/**
 * A line kubectl cuts at (apimachinery's YAMLReader): any line that starts with `---`. Its lines end
 * at LF only (a CR is part of the line): a `---` after a lone CR is not cut at (see CR_SEPARATOR).
 */
const SEPARATOR_LINE = /(?<![^\n])---[^\n]*/g;
/** A `...` document end marker line (go-yaml reads the first document of a part and drops the rest). */
const DOTS_LINE = /^\.\.\.(?=[ \t\r\n]|$)/m;
/** A line that is no content: blank or a comment. */
const NO_CONTENT_LINE = /^[ \t]*(?:#.*)?\r?$/;

interface Chunk {
  readonly start: number;
  /** Where the part that is read ends (after a `...` line, kubectl reads nothing more of the part). */
  readonly end: number;
}

/** Text that the cut reads as spaces (what kubectl drops, or what is a problem already). */
interface Blank { readonly offset: number; readonly length: number }

/** A problem of the cut itself, at an offset of the file. */
interface CutProblem { readonly offset: number; readonly message: string }

/**
 * The file cut exactly where kubectl cuts it (apimachinery's YAMLReader, also
 * what kubeconform is given, splitDocuments): before every line that starts
 * with `---`, nowhere else. What kubectl refuses or reads otherwise than YAML
 * would is a problem: a `---` line with content after the marker (kubectl
 * refuses the file), content after a `...` line (go-yaml reads the first
 * document of a part and silently drops the rest: not read here either), and
 * a `%` directive (kubectl fails on it).
 */
function cutDocuments(source: string): { chunks: Chunk[]; problems: CutProblem[]; blanks: Blank[] } {
  const cuts = [0];
  const problems: CutProblem[] = [];
  const blanks: Blank[] = [];
  SEPARATOR_LINE.lastIndex = 0;
  for (let m = SEPARATOR_LINE.exec(source); m; m = SEPARATOR_LINE.exec(source)) {
    if (m.index > 0) cuts.push(m.index);
    const after = m[0].slice(3).trim();
    if (after !== '' && !after.startsWith('#')) {
      problems.push({ offset: m.index, message: 'kubectl refuses a `---` line with content after it: put the content on the next line' });
    } else if (after !== '' && m.index > 0) {
      // `---#c`: kubectl drops the line it cuts at (not the first line of the file); YAML would not read it as a marker.
      blanks.push({ offset: m.index + 3, length: m[0].length - 3 });
    }
  }
  cuts.push(source.length);
  const chunks: Chunk[] = [];
  for (let i = 1; i < cuts.length; i++) {
    const start = cuts[i - 1];
    let end = cuts[i];
    if (end <= start) continue;
    const text = source.slice(start, end);
    // kubectl drops the `---` line it cuts at: a `%` line before the content of a part is a directive to go-yaml.
    // Line by line up to the first content line only (a 1,000-build dist/ has 1,000 parts).
    for (let at = 0, n = 0; at <= text.length; n++) {
      const eol = text.indexOf('\n', at);
      const l = text.slice(at, eol < 0 ? text.length : eol);
      if (l.startsWith('%')) {
        problems.push({ offset: start + at, message: 'kubectl refuses YAML directives; remove the line' });
        blanks.push({ offset: start + at, length: l.length }); // read as a blank line, so that the document after it is still read
      }
      else if (!NO_CONTENT_LINE.test(l) && !(n === 0 && l.startsWith('---'))) break;
      if (eol < 0) break;
      at = eol + 1;
    }
    const dots = DOTS_LINE.exec(text);
    if (dots) {
      const eol = text.indexOf('\n', dots.index);
      const rest = eol < 0 ? '' : text.slice(eol + 1);
      let at = eol + 1;
      for (const l of rest.split('\n')) {
        if (!NO_CONTENT_LINE.test(l)) {
          problems.push({ offset: start + at, message: 'kubectl ignores everything after `...` up to the next `---`; remove the `...` line or start a new document with `---`' });
          break;
        }
        at += l.length + 1;
      }
      if (eol >= 0) end = start + eol + 1;
    }
    chunks.push({ start, end });
  }
  return { chunks, problems, blanks };
}

/** A line with content: not blank, a comment, a directive, a `---` line or a `...` marker. */
const CONTENT_LINE = /^(?![ \t]*(?:#.*)?\r?$)(?!%)(?!---[ \t]*(?:#.*)?\r?$)(?!\.\.\.[ \t]*(?:#.*)?\r?$)/m;

/**
 * The documents of a YAML stream as text, cut where the reader cuts them,
 * without parsing: parts with no content (empty and comment-only documents,
 * a trailing `---`) are dropped, as the reader drops them; each ends with a
 * line break. kubeconform starts on these before the parse (kubeconform.ts).
 */
export function documentTexts(source: string): string[] {
  if (JSON_STREAM.test(source)) return jsonStream(source).values.map((v) => `${source.slice(v.start, v.end)}\n`);
  return cutDocuments(source).chunks.map((c) => source.slice(c.start, c.end))
    .filter((text) => CONTENT_LINE.test(text))
    .map((text) => (text.endsWith('\n') ? text : `${text}\n`));
}

/** How many lines of a document's text come before its first line with content (`---`, blank and comment lines). */
export function linesBeforeContent(text: string): number {
  const content = CONTENT_LINE.exec(text);
  return content ? (text.slice(0, content.index).match(/\r\n?|\n/g) ?? []).length : 0;
}

/**
 * 1-based line numbers of offsets in a text, as editors, js-yaml and go-yaml count them: a line
 * break is LF, CRLF or a lone CR.
 */
class Lines {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    if (!text.includes('\r')) {
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
      return;
    }
    const breaks = /\r\n?|\n/g;
    for (let m = breaks.exec(text); m; m = breaks.exec(text)) this.starts.push(m.index + m[0].length);
  }
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  startOf(line: number): number {
    return this.starts[Math.min(line, this.starts.length) - 1];
  }
}

/**
 * The lines of a chunk, numbered as the file numbers them, at offsets in its
 * text: the chunk's own, or `indented` (the chunk with spaces added within
 * lines, see reindented).
 */
interface ChunkLines {
  lineOf(at: number): number;
  startOf(line: number): number;
}

function chunkLines(lines: Lines, start: number, indented?: string): ChunkLines {
  if (indented === undefined) return { lineOf: (at) => lines.lineOf(start + at), startOf: (line) => lines.startOf(line) - start };
  const first = lines.lineOf(start);
  const own = new Lines(indented);
  return { lineOf: (at) => first - 1 + own.lineOf(at), startOf: (line) => own.startOf(line - first + 1) };
}

// ---------------------------------------------------------------------------------------------
// Documents from events.

/** Where an event's node starts in the source: its tag, anchor or value (js-yaml's own rule). */
function eventStart(e: Event): number {
  if ('tagStart' in e && e.tagStart >= 0) return e.tagStart;
  if ('anchorStart' in e && e.anchorStart >= 0) return e.anchorStart;
  if ('valueStart' in e && e.valueStart >= 0) return e.valueStart;
  if ('start' in e) return e.start;
  return -1;
}

/** Index after the node that starts at events[i]. */
function skipNode(events: Event[], i: number): number {
  const t = events[i].type;
  if (t !== EVENT_ID.MAPPING && t !== EVENT_ID.SEQUENCE) return i + 1;
  let depth = 0;
  for (let j = i; j < events.length; j++) {
    const u = events[j].type;
    if (u === EVENT_ID.MAPPING || u === EVENT_ID.SEQUENCE) depth++;
    else if (u === EVENT_ID.POP && --depth === 0) return j + 1;
  }
  return events.length;
}

/** The plain-text scalar at events[i], if it is a scalar with a value. */
function scalarText(source: string, events: Event[], i: number): string | undefined {
  const e = events[i];
  return e?.type === EVENT_ID.SCALAR && e.valueStart >= 0 ? getScalarValue(source, e as ScalarEvent) : undefined;
}

interface Identity { kind?: string; apiVersion?: string; namespace?: string; name?: string }

/** kind, apiVersion, metadata.namespace and metadata.name of an object read. */
function identityOf(m: Manifest): Identity {
  const meta = m.metadata !== null && typeof m.metadata === 'object' ? m.metadata : {};
  return { kind: m.kind, apiVersion: m.apiVersion, namespace: meta.namespace, name: meta.name };
}

/** The identity of an object at a line of a file (a field that is not a non-empty string is absent). */
function refAt(id: Identity, file: string, line: number, index: number): ObjectRef {
  return { kind: str(id.kind), apiVersion: str(id.apiVersion), namespace: str(id.namespace), name: str(id.name), file, line, index };
}

/**
 * Adds a document read as an object: its identity, which every layer reports
 * against, and for a list its items (or the problem kubectl has with them);
 * `itemLines` gives each item's line and is asked only for a list.
 */
function addObject(out: ManifestFile, ref: ObjectRef, text: string, manifest: Manifest, itemLines: () => (n: number) => number): void {
  refs.set(manifest, ref);
  const listed = isList(manifest) ? listItems(manifest, ref, itemLines()) : undefined;
  if (listed?.problem) out.problems.push({ layer: 'yaml', file: ref.file, line: listed.problem.line, message: listed.problem.message });
  out.docs.push({ ref, text, manifest, ...(listed?.items ? { items: listed.items } : {}) });
}

/**
 * kind, apiVersion, metadata.name and metadata.namespace of a mapping read
 * from its events alone (for a document that could not be built: a duplicate
 * key, an alias bomb, or the part of it before a syntax error).
 */
function identityFromEvents(source: string, events: Event[], i: number): Identity {
  const found: Identity = {};
  if (events[i]?.type !== EVENT_ID.MAPPING) return found;
  const pairs = (at: number, visit: (key: string | undefined, value: number) => void) => {
    let j = at + 1;
    while (j < events.length && events[j].type !== EVENT_ID.POP) {
      const key = scalarText(source, events, j);
      const value = skipNode(events, j);
      if (value >= events.length || events[value].type === EVENT_ID.POP) break;
      visit(key, value);
      j = skipNode(events, value);
    }
  };
  pairs(i, (key, value) => {
    if ((key === 'kind' || key === 'apiVersion') && found[key] === undefined) found[key] = str(scalarText(source, events, value));
    if (key === 'metadata' && events[value].type === EVENT_ID.MAPPING) {
      pairs(value, (k, v) => {
        if ((k === 'name' || k === 'namespace') && found[k] === undefined) found[k] = str(scalarText(source, events, v));
      });
    }
  });
  return found;
}

interface EventDoc {
  /** Index of the DOCUMENT event, of its content's first event, and after its POP. */
  readonly at: number;
  readonly content: number;
  readonly end: number;
  readonly hasAlias: boolean;
}

/** The problem of the documents YAML finds in a part that kubectl reads as one document (the rest is dropped). */
const CR_SEPARATOR = 'kubectl reads only the first document here and ignores the rest: the `---` before this line follows a lone CR, and kubectl starts a new document only at a `---` after a LF; use LF or CRLF line breaks';

/** The documents of an event stream. */
function eventDocs(events: Event[]): EventDoc[] {
  const docs: EventDoc[] = [];
  let depth = 0;
  let at = 0;
  let hasAlias = false;
  for (let i = 0; i < events.length; i++) {
    const t = events[i].type;
    if (t === EVENT_ID.POP) {
      if (--depth === 0) docs.push({ at, content: at + 1, end: i + 1, hasAlias });
    } else if (t === EVENT_ID.ALIAS) {
      hasAlias = true;
    } else if (t !== EVENT_ID.SCALAR) {
      if (t === EVENT_ID.DOCUMENT) {
        at = i;
        hasAlias = false;
      }
      depth++;
    }
  }
  return docs;
}

/** The implicit scalar tags of KUBECTL_SCHEMA by first character, in schema order (as js-yaml dispatches them). */
const IMPLICIT = (() => {
  const tags = KUBECTL_SCHEMA.tags.filter((t): t is ScalarTagDefinition => t.nodeKind === 'scalar' && t.implicit);
  const any = tags.filter((t) => t.implicitFirstChars === null);
  const byFirst = new Map<string, ScalarTagDefinition[]>();
  for (const t of tags) for (const c of t.implicitFirstChars ?? []) byFirst.set(c, tags.filter((u) => u.implicitFirstChars === null || u.implicitFirstChars.includes(c)));
  return { byFirst, any };
})();

/** Returned by plainObject for a document it leaves to js-yaml's constructor. */
export const NOT_PLAIN = Symbol('not plain');

/**
 * The value of a document's events [from, to) built in one pass, for what
 * nearly every manifest is: mappings, sequences and untagged scalars, with
 * string keys. Anything else answers NOT_PLAIN, and the document goes to
 * js-yaml's constructor and the checks of `unsendable`: a tag, an anchor or
 * alias, a merge key, a key that is not a string (a null key included) or
 * that every object has (`__proto__`, `constructor`), a duplicate key, an
 * infinity or NaN, a key too long for an implicit key. So wherever it
 * answers, it answers what constructFromEvents
 * would with nothing for `unsendable` to report (the reader tests compare the
 * two on every document they read: __tests__/validation/one-pass.test.ts),
 * at about a third of the cost of both. Exported for those tests.
 */
export function plainObject(source: string, events: Event[], from: number, to: number): unknown {
  const stack: Array<Record<string, unknown> | unknown[]> = [];
  let key: string | undefined;
  let root: unknown = NOT_PLAIN;
  const add = (value: unknown): boolean => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      root = value;
    } else if (Array.isArray(top)) {
      top.push(value);
    } else if (key === undefined) {
      if (typeof value !== 'string' || value in top) return false; // a duplicate, or a key every object has (`__proto__`, `constructor`)
      key = value;
    } else {
      top[key] = value;
      key = undefined;
    }
    return true;
  };
  for (let i = from; i < to; i++) {
    const e = events[i];
    switch (e.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (e.tagStart >= 0 || e.anchorStart >= 0) return NOT_PLAIN;
        const value = e.type === EVENT_ID.MAPPING ? {} : [];
        if (!add(value)) return NOT_PLAIN; // a collection as a key
        stack.push(value);
        break;
      }
      case EVENT_ID.SCALAR: {
        if (e.tagStart >= 0 || e.anchorStart >= 0) return NOT_PLAIN;
        const text = e.valueStart >= 0 ? getScalarValue(source, e) : '';
        let value: unknown = text;
        if (e.style === SCALAR_STYLE.PLAIN) {
          const tags = IMPLICIT.byFirst.get(text.charAt(0)) ?? IMPLICIT.any;
          for (const tag of tags) {
            const resolved = tag.resolve(text, false, tag.tagName);
            if (resolved === NOT_RESOLVED) continue;
            if (tag === mergeTag) return NOT_PLAIN; // `<<`
            if (typeof resolved === 'number' && !Number.isFinite(resolved)) return NOT_PLAIN; // kubectl cannot send infinity or NaN
            if (resolved instanceof GoNumber) return NOT_PLAIN; // a number kubectl writes otherwise as a key (rare)
            value = resolved;
            break;
          }
        }
        const top = stack[stack.length - 1];
        if (top !== undefined && !Array.isArray(top) && key === undefined) {
          // A key: go-yaml takes an implicit key of at most 1024 characters (counted up to its `:`).
          const start = e.valueStart >= 0 ? e.valueStart : -1;
          if (start < 0 || source.indexOf(':', e.valueEnd) - start > MAX_IMPLICIT_KEY - 2) return NOT_PLAIN;
        }
        if (!add(value)) return NOT_PLAIN;
        break;
      }
      case EVENT_ID.POP:
        if (key !== undefined && !Array.isArray(stack[stack.length - 1])) return NOT_PLAIN; // a key without a value
        stack.pop();
        break;
      default:
        return NOT_PLAIN; // an alias, or a document event inside the range
    }
  }
  return stack.length === 0 ? root : NOT_PLAIN;
}

/** An empty document (`---` alone, comments only): one empty plain scalar, no tag, no anchor. */
const isEmptyContent = (e: Event) => e.type === EVENT_ID.SCALAR && e.valueStart < 0 && e.tagStart < 0 && e.anchorStart < 0;

// No cap of js-yaml's own on aliases or merged keys: a document gets here only when aliasProblem,
// go-yaml's own rule, let its aliases through, and kubectl reads any number of them (a hard cap of
// 10,000 refused a ConfigMap kubectl reads, as "excessive aliasing").
const CONSTRUCT = { schema: KUBECTL_SCHEMA, maxAliases: -1, maxTotalMergeKeys: -1 };

const columnOf = (e: YAMLException) => (e.mark ? ` (column ${e.mark.column + 1})` : '');

/** The reason for a key of 2^63 or more (go-yaml: a uint64; sigs.k8s.io/yaml: "Unsupported map key of type: uint64"). */
const GO_UINT64_KEY = 'a number key of 2^63 or more: kubectl refuses it ("Unsupported map key of type: uint64"); quote the key';

/** js-yaml's reason for a key that is a list or a mapping (go-yaml: "invalid map key"). */
const COMPLEX_KEY = 'object-based map does not support complex keys';

/**
 * Where (offset in the chunk) the constructor error `e` about the document
 * events[from..to) is. js-yaml marks a key that is a list or a mapping at
 * offset 0 (the position of the event that closes it): that key is found here.
 */
function constructErrorOffset(e: YAMLException, events: Event[], from: number, to: number): number {
  let at = e.mark?.position ?? 0;
  if (e.reason !== COMPLEX_KEY) return at;
  eachNode(events, from, to, (ev, _i, isKey) => {
    if (!isKey || (ev.type !== EVENT_ID.MAPPING && ev.type !== EVENT_ID.SEQUENCE)) return true;
    at = eventStart(ev);
    return false;
  });
  return at;
}

/** A js-yaml error in plain words. */
function yamlMessage(e: unknown, source: string, events?: Event[]): string {
  if (!(e instanceof YAMLException)) return `cannot read this document: ${(e as Error)?.message ?? e}`;
  if (e.reason === 'duplicated mapping key' && e.mark && events) {
    const at = events.findIndex((ev) => (ev.type === EVENT_ID.SCALAR || ev.type === EVENT_ID.ALIAS) && eventStart(ev) === e.mark!.position);
    let key = events[at] as ScalarEvent | AliasEvent | undefined;
    let alias = '';
    if (key?.type === EVENT_ID.ALIAS) {
      // The key is an alias: the value of the node it names (the last anchor of that name before it).
      const name = source.slice(key.anchorStart, key.anchorEnd);
      alias = ` (the alias *${name})`;
      const named = (ev: Event) => ev.type !== EVENT_ID.ALIAS && 'anchorStart' in ev && ev.anchorStart >= 0 && source.slice(ev.anchorStart, ev.anchorEnd) === name;
      let i = at - 1;
      while (i >= 0 && !named(events[i])) i--;
      key = i >= 0 && events[i].type === EVENT_ID.SCALAR ? events[i] as ScalarEvent : undefined;
    }
    const value = key?.type === EVENT_ID.SCALAR ? (key.valueStart >= 0 ? getScalarValue(source, key) : '') : undefined;
    return `${value !== undefined ? `key ${JSON.stringify(value)}${alias}` : 'a key'} is given twice in this mapping (kubectl silently keeps the last value; the API server refuses duplicate fields under strict field validation); keep one${columnOf(e)}`;
  }
  const tag = /^cannot resolve a node with !<tag:yaml\.org,2002:(\w+)> explicit tag$/.exec(e.reason);
  if (tag) return `this value is not a valid !!${tag[1]}, the tag it is given; kubectl refuses it ("cannot decode ... as a !!${tag[1]}"): fix the value or remove the tag${columnOf(e)}`;
  if (e.reason === COMPLEX_KEY) return 'a key that is a list or a mapping: kubectl refuses it ("invalid map key"; JSON keys are strings); make the key a string';
  // The reader reads tabs inside `[ ]` and `{ }` as kubectl does (as spaces): a tab is not the cause here.
  if (e.reason === 'deficient indentation') return `${deficientIndentation(source, e.mark?.position, false)}${columnOf(e)}`;
  return `${e.reason}${columnOf(e)}`;
}

/**
 * Reads the document of one chunk (`text`; `docText`: the chunk as the file
 * has it, what kubectl and kubeconform are given; `lineOf`: the file's line of
 * an offset in `text`) whose events are known: builds the object, refuses
 * duplicate keys and alias bombs.
 */
function readEventDocs(file: string, text: string, docText: string, lineOf: (at: number) => number, events: Event[], out: ManifestFile): void {
  const docs = eventDocs(events);
  // js-yaml's constructor, on all documents at once, only for those plainObject leaves to it.
  let built: unknown[] | undefined | null = null;
  const constructed = (): unknown[] | undefined => {
    if (built === null) {
      try {
        built = docs.some((d) => d.hasAlias) ? undefined : constructFromEvents(events, { ...CONSTRUCT, source: text });
      } catch {
        built = undefined; // read one document at a time below, to name the one that failed
      }
    }
    return built;
  };
  let objects = 0;
  for (const [n, d] of docs.entries()) {
    const first = events[d.content];
    if (isEmptyContent(first)) continue; // empty and comment-only documents hold no object: kubectl skips them
    const line = lineOf(eventStart(first));
    if (objects++ > 0) {
      // kubectl reads one document per part it cuts (at a `---` after a LF); YAML also starts one after a lone CR.
      out.problems.push({ layer: 'yaml', file, line, message: CR_SEPARATOR });
      break;
    }
    let value = plainObject(text, events, d.content, d.end - 1);
    let problem: { line: number; message: string } | undefined;
    const bad = value === NOT_PLAIN ? unsendable(text, events, d.content, d.end - 1) : [];
    if (bad.length > 0) {
      for (const b of bad.slice(0, -1)) out.problems.push({ layer: 'yaml', file, line: lineOf(b.offset), message: b.message });
      problem = { line: lineOf(bad[bad.length - 1].offset), message: bad[bad.length - 1].message };
    } else if (value === NOT_PLAIN && constructed()) {
      value = constructed()![n];
    } else if (value === NOT_PLAIN) {
      const bomb = d.hasAlias ? aliasProblem(text, events, d.content, d.end - 1) : undefined;
      if (bomb) {
        problem = { line, message: `cannot read this document: ${bomb}` };
      } else {
        try {
          value = constructFromEvents(events.slice(d.at, d.end), { ...CONSTRUCT, source: text })[0];
        } catch (e) {
          const at = e instanceof YAMLException && e.mark ? lineOf(constructErrorOffset(e, events, d.content, d.end)) : line;
          problem = { line: at, message: yamlMessage(e, text, events.slice(d.content, d.end)) };
        }
      }
    }
    let manifest: Manifest | undefined;
    if (!problem) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype) {
        manifest = value as Manifest;
      } else {
        const what = Array.isArray(value) ? 'a list' : 'a single value';
        problem = { line, message: `this document is ${what}, not a Kubernetes object (a mapping with apiVersion, kind and metadata)` };
      }
    }
    const ref = refAt(manifest ? identityOf(manifest) : identityFromEvents(text, events, d.content), file, line, out.docs.length);
    if (problem) out.problems.push({ layer: 'yaml', file, line: problem.line, message: problem.message });
    if (manifest) addObject(out, ref, docText, manifest, () => itemLines(manifest, ref, text, events, d.content, lineOf));
    else out.docs.push({ ref, text: docText });
  }
}

/** Each item's line, from the `items` sequence of the document's events (the list's own line where they do not show it). */
function itemLines(list: Manifest, ref: ObjectRef, source: string, events: Event[], content: number, lineOf: (offset: number) => number): (n: number) => number {
  const starts: number[] = [];
  if (events[content]?.type === EVENT_ID.MAPPING) {
    for (let j = content + 1; j < events.length && events[j].type !== EVENT_ID.POP;) {
      const value = skipNode(events, j);
      if (value >= events.length || events[value].type === EVENT_ID.POP) break;
      if (scalarText(source, events, j) === 'items' && events[value].type === EVENT_ID.SEQUENCE) {
        starts.length = 0;
        for (let k = value + 1; k < events.length && events[k].type !== EVENT_ID.POP; k = skipNode(events, k)) starts.push(eventStart(events[k]));
      }
      j = skipNode(events, value);
    }
  }
  return (n) => (Array.isArray(list.items) && starts.length === list.items.length && starts[n] >= 0 ? lineOf(starts[n]) : ref.line);
}

/** A list to kubectl: an object with an apiVersion and `items`, whatever its kind (kubectl flattens it). */
const isList = (m: Manifest) => typeof m.apiVersion === 'string' && m.apiVersion !== '' && Object.prototype.hasOwnProperty.call(m, 'items');

/**
 * The items of a list, each given its own identity at its own line (the
 * start of its node in `items`), or what kubectl refuses of it: `items` that
 * is not a list of objects, or a list inside the list.
 */
function listItems(list: Manifest, ref: ObjectRef, lineOfItem: (n: number) => number): { items?: Manifest[]; problem?: { line: number; message: string } } {
  const items: unknown = list.items;
  const refuse = (line: number, what: string) => ({
    problem: { line, message: `${what}: kubectl reads a document with apiVersion and items as a list of objects to apply, and refuses this one; make items a list of objects, or rename the field` },
  });
  if (!Array.isArray(items)) return refuse(ref.line, `items is ${items === null ? 'null' : typeof items === 'object' ? 'a mapping' : 'a single value'}, not a list`);
  const found: Manifest[] = [];
  for (const [n, item] of items.entries()) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return refuse(lineOfItem(n), `items[${n}] is not an object`);
    if (isList(item)) return refuse(lineOfItem(n), `items[${n}] is a list itself (kubectl applies no list inside a list)`);
    refs.set(item, refAt(identityOf(item), ref.file, lineOfItem(n), ref.index));
    found.push(item);
  }
  return { items: found };
}

/**
 * A document with a syntax error: its problem, and the object as far as it
 * can be read (identity and line from the text before the error, read again
 * without the lines from the error on).
 */
function readBrokenChunk(file: string, text: string, ownText: string, lines: ChunkLines, error: unknown, out: ManifestFile): void {
  const firstLine = lines.lineOf(0);
  const mark = error instanceof YAMLException ? error.mark : undefined;
  const errorLine = mark ? firstLine + mark.line : firstLine;
  let identity: Identity = {};
  let line: number | undefined;
  let before = mark ? text.slice(0, lines.startOf(errorLine)) : '';
  for (let attempt = 0; attempt < 8 && before.trim() !== ''; attempt++) {
    try {
      const events = parseEvents(before, { maxDepth: MAX_DEPTH });
      const doc = eventDocs(events)[0];
      if (doc && !isEmptyContent(events[doc.content])) {
        identity = identityFromEvents(before, events, doc.content);
        line = lines.lineOf(eventStart(events[doc.content]));
      }
      break;
    } catch (e) {
      // Again without the line of this error (or, when it is at the very end, the last line).
      const m = e instanceof YAMLException ? e.mark : undefined;
      const lastBreak = (at: number) => { // the last LF or lone CR at or before `at`
        const lf = before.lastIndexOf('\n', at);
        const cr = before.lastIndexOf('\r', at);
        return cr > lf && before[cr + 1] !== '\n' ? cr : lf;
      };
      const lastLine = lastBreak(before.length - 2) + 1;
      const cut = Math.min(m ? lastBreak(m.position - 1) + 1 : 0, lastLine);
      if (cut <= 0) break;
      before = before.slice(0, cut);
    }
  }
  if (line === undefined) {
    // The first line with content (a `---` line counts when something follows the marker).
    const own = text.split(/\r\n?|\n/);
    const at = own.findIndex((l) => !NO_CONTENT_LINE.test(l) && !/^---[ \t]*(#.*)?\r?$/.test(l));
    line = firstLine + Math.max(0, at);
  }
  out.problems.push({ layer: 'yaml', file, line: errorLine, message: yamlMessage(error, text) });
  out.docs.push({
    ref: refAt(identity, file, line, out.docs.length),
    text: ownText,
  });
}

// ---------------------------------------------------------------------------------------------
// JSON streams. kubectl reads a file whose first character that is not white space is `{` as a
// stream of JSON objects (apimachinery's YAMLOrJSONDecoder), whatever the file's name: objects one
// after another with only white space between them. Where the stream stops being that, kubectl
// fails, after applying the objects before it (a `---` line is not a separator there).

/** A file kubectl reads as a JSON stream. */
export const JSON_STREAM = /^\s*\{/;

/** The objects of a JSON stream: where each one's text is and what it parses to, then where and why kubectl stops, if it does. */
function jsonStream(source: string): { values: Array<{ start: number; end: number; value: unknown }>; stop?: { offset: number; message: string } } {
  const values: Array<{ start: number; end: number; value: unknown }> = [];
  const stop = (offset: number, why: string) => ({
    values, stop: { offset, message: `${why}: kubectl reads a file that starts with \`{\` as JSON objects one after another, and fails here (after applying the objects before); write YAML documents separated by \`---\` lines instead, or only JSON objects` },
  });
  const nonSpace = /\S/g;
  const next = (from: number) => {
    nonSpace.lastIndex = from;
    return nonSpace.exec(source)?.index ?? -1;
  };
  for (let i = next(0); i >= 0; i = next(i)) {
    if (source[i] !== '{') {
      const eol = source.indexOf('\n', i);
      const rest = source.slice(i, eol < 0 ? source.length : eol).replace(/\r$/, '');
      return stop(i, `${JSON.stringify(rest.length > 20 ? `${rest.slice(0, 20)}...` : rest)} is not a JSON object`);
    }
    // The end of this object: brackets counted outside strings.
    let depth = 0;
    let end = -1;
    for (let j = i, inString = false; j < source.length && end < 0; j++) {
      const c = source[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) end = j + 1;
    }
    if (end < 0) return stop(i, 'this JSON object is not closed');
    let value: unknown;
    try {
      value = JSON.parse(source.slice(i, end));
    } catch (e) {
      return stop(i, `not JSON (${(e as Error).message})`);
    }
    values.push({ start: i, end, value });
    i = end;
  }
  return { values };
}

/**
 * A JSON stream read as kubectl reads it: each object a document (its text is
 * what kubeconform and kubectl are given), duplicate keys resolved to the last
 * value as kubectl's JSON decoder does, and where kubectl stops, a problem.
 */
function parseJsonStream(source: string, file: string): ManifestFile {
  const out: ManifestFile = { file, docs: [], problems: [] };
  const lines = new Lines(source);
  const { values, stop } = jsonStream(source);
  for (const { start, end, value } of values) {
    const line = lines.lineOf(start);
    const text = `${source.slice(start, end)}\n`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      out.problems.push({ layer: 'yaml', file, line, message: 'this JSON value is not an object (a Kubernetes object has apiVersion, kind and metadata)' });
      out.docs.push({ ref: refAt({}, file, line, out.docs.length), text });
      continue;
    }
    const manifest = value as Manifest;
    addObject(out, refAt(identityOf(manifest), file, line, out.docs.length), text, manifest, () => () => line);
  }
  if (stop) out.problems.push({ layer: 'yaml', file, line: lines.lineOf(stop.offset), message: stop.message });
  return out;
}

/**
 * Reads one file's text; never throws for its content, only for I/O (see
 * readManifestFile). Each document is parsed on its own, cut where kubectl
 * cuts: an error in one hides none of the others,
 * and a document's events are garbage as soon as its object is built (all the
 * events of a 2 MB file at once cost more in garbage collection than parsing).
 */
export function parseManifestText(source: string, file: string): ManifestFile {
  if (JSON_STREAM.test(source)) return parseJsonStream(source, file);
  const out: ManifestFile = { file, docs: [], problems: [] };
  const lines = new Lines(source);
  const cut = cutDocuments(source);
  // What is read: the text with the blanks as spaces (same offsets); what kubectl and kubeconform are given: the text itself.
  let read = source;
  for (const b of cut.blanks) read = `${read.slice(0, b.offset)}${' '.repeat(b.length)}${read.slice(b.offset + b.length)}`;
  let pending = cut.problems.map((p) => ({ layer: 'yaml' as const, file, line: lines.lineOf(p.offset), message: p.message, offset: p.offset }));
  for (const chunk of cut.chunks) {
    for (const p of pending.filter((q) => q.offset < chunk.end)) out.problems.push({ layer: p.layer, file, line: p.line, message: p.message });
    pending = pending.filter((q) => q.offset >= chunk.end);
    const text = read.slice(chunk.start, chunk.end);
    const { parsed, text: indented } = readChunk(text);
    const at = chunkLines(lines, chunk.start, indented === text ? undefined : indented);
    if ('error' in parsed) {
      readBrokenChunk(file, parsed.parsed, source.slice(chunk.start, chunk.end), at, parsed.error, out);
      continue;
    }
    for (const r of parsed.refusals) out.problems.push({ layer: 'yaml', file, line: at.lineOf(r.offset), message: r.message });
    readEventDocs(file, parsed.decode, source.slice(chunk.start, chunk.end), at.lineOf, parsed.events, out);
  }
  for (const p of pending) out.problems.push({ layer: p.layer, file, line: p.line, message: p.message });
  if (UNICODE_BREAK.test(source)) out.problems.push(...unicodeBreaks(source, file, lines));
  return out;
}

/**
 * NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029) are
 * line breaks to kubectl (go-yaml reads YAML 1.1, where they are) and to
 * kubeconform, not to js-yaml nor to editors: `privileged: true<U+2028># c` is
 * `true` to kubectl and the string "true # c" here, so a rule would see
 * another object than the cluster gets. Each is a problem at its line.
 */
const UNICODE_BREAK = /[\u0085\u2028\u2029]/;

function unicodeBreaks(source: string, file: string, lines: Lines): Problem[] {
  return [...source.matchAll(/[\u0085\u2028\u2029]/g)].map((m) => ({
    layer: 'yaml' as const, file, line: lines.lineOf(m.index),
    message: `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} (an invisible line break): kubectl reads it as a line break, editors and this reader do not, so the object kubectl sends is not the one you see; remove it, or write it as an escape (\\u${m[0].charCodeAt(0).toString(16).padStart(4, '0')}) inside double quotes`,
  }));
}

/** Reads a file from disk; a file that cannot be read is a problem, not an exception. */
export function readManifestFile(file: string): ManifestFile {
  let source: string;
  try {
    source = readFileSync(file, 'utf-8');
  } catch (e: any) {
    return { file, docs: [], problems: [{ layer: 'files', file, message: `cannot read the file (${e.code ?? e.message})` }] };
  }
  return parseManifestText(source, file);
}

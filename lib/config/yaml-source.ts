import { COLLECTION_STYLE, constructFromEvents, CORE_SCHEMA, EVENT_ID, Event, getScalarValue, parseEvents, SCALAR_STYLE, ScalarEvent, Schema, YAML11_SCHEMA, YAMLException } from 'js-yaml';

/**
 * One YAML document read with js-yaml, plus where each of its values sits in
 * the text: the value and the positions come from the same parse (js-yaml's
 * event stream, whose events carry source offsets), so a config error can name
 * line and column without a second parser.
 */

/** A key path: mapping keys and sequence indices, e.g. ['builds', 0, 'repo']. */
export type PathPart = string | number;

/** 1-based line and column (a column counts UTF-16 code units, as the positions of the `yaml` package did; a BOM is not counted). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** The text is not one readable YAML document; `position` is where (when known). */
export class YamlReadError extends Error {
  /** Set by YamlSource.read from the offset. */
  position?: SourcePosition;
  constructor(readonly offset: number | undefined, message: string) {
    super(message);
    this.name = 'YamlReadError';
  }
}

/**
 * Limits on what aliases may expand to. Each `*alias` adds the values of what
 * it refers to: every scalar, mapping and sequence in it, plus what the
 * aliases inside it expand to (so aliases of aliases, an "alias bomb", count
 * what they would build). A file whose aliases expand to more than
 * max(`maxAliasValues`, `aliasValuesPerWrittenValue` × the values written in
 * the file) is refused at the alias that passes it: a long file that uses an
 * anchor many times is read, a bomb (exponential) or one large anchor used
 * thousands of times (what it expands to is what config loading walks) is not.
 */
export interface YamlReadOptions {
  /**
   * Values the aliases of any file may expand to.
   * @default 100_000
   */
  readonly maxAliasValues?: number;
  /**
   * Values the aliases may expand to per value written in the file, when that
   * allows more than `maxAliasValues`.
   * @default 10
   */
  readonly aliasValuesPerWrittenValue?: number;
}

/** Where a value sits: its node's start, and for mappings where each key starts. */
interface Located {
  /** Start of the node (its first character; a block scalar's `|`/`>`); undefined for an empty value not tied to an indicator. */
  offset?: number;
  children?: Map<PathPart, Located>;
  keys?: Map<string, number>;
}

/** An open mapping or sequence during the walk over the events. */
interface Frame {
  readonly located?: Located;
  readonly isMap: boolean;
  /** Mapping: a key was read, its value comes next. */
  awaitingValue: boolean;
  /** Mapping: the key of the value that comes next (undefined: a key that is not a scalar). */
  key?: string;
  /** Sequence: index of the next item. */
  next: number;
  /** Its anchor, if any (an alias to it while it is open would make the value contain itself). */
  readonly anchor?: string;
  /** Values in it so far: itself, what is written in it, and what the aliases in it expand to. */
  values: number;
  /** A collection used as a mapping key (js-yaml refuses those; nothing in it is located). */
  readonly isKey: boolean;
}

const QUOTED: number[] = [SCALAR_STYLE.SINGLE_QUOTED, SCALAR_STYLE.DOUBLE_QUOTED];
const BLOCK: number[] = [SCALAR_STYLE.LITERAL_BLOCK, SCALAR_STYLE.FOLDED_BLOCK];
/** Plain keys that are strings in every schema (no null, bool or number form): most keys, resolved without the schema. */
const PLAIN_STRING_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const NOT_STRING_WORDS = /^(null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

export class YamlSource {
  /**
   * Reads the first and only document of `text` (YAML 1.2 core schema: `on`
   * and `yes` are strings; a `%YAML 1.1` directive selects YAML 1.1 as the
   * document asks). Duplicate keys, several documents and alias bombs are
   * refused. Throws YamlReadError with the offset of the problem.
   */
  static read(text: string, options: YamlReadOptions = {}): YamlSource {
    try {
      return YamlSource.readOrThrow(text, options);
    } catch (e) {
      if (e instanceof YamlReadError && e.offset !== undefined) e.position = positionIn(text, lineStartsOf(text), e.offset);
      throw e;
    }
  }

  private static readOrThrow(text: string, options: YamlReadOptions): YamlSource {
    let events: Event[];
    try {
      events = parseEvents(text, {});
    } catch (e) {
      const error = readError(e);
      throw error.message === 'deficient indentation' ? new YamlReadError(error.offset, deficientIndentation(text, error.offset)) : error;
    }
    const first = events[0];
    const yaml11 = first?.type === EVENT_ID.DOCUMENT && first.directives.some((d) => d.kind === 'yaml' && d.version === '1.1');
    const source = new YamlSource(text, yaml11 ? YAML11_SCHEMA : CORE_SCHEMA);
    const documentEvents = source.walk(events, options);
    if (documentEvents < events.length) {
      throw new YamlReadError(source.secondDocumentOffset(events, documentEvents),
        'more than one document (after a "---" or "..." line); keep one: remove that line and what follows, or merge them');
    }
    let documents: unknown[];
    try {
      documents = constructFromEvents(events, { source: text, schema: source.schema });
    } catch (e) {
      const error = readError(e);
      throw error.message.startsWith('duplicated mapping key') ? source.duplicateKeyError(events, error.offset) : error;
    }
    // An empty file, or one of comments only, is an empty document: null, as a YAML 1.2 reader reads it.
    source.document = documents.length === 0 ? null : documents[0];
    return source;
  }

  private document: unknown = null;
  private root?: Located;
  private lineStarts?: number[];
  /** Where the first document's last token ends. */
  private firstDocumentEnd = 0;

  private constructor(private readonly text: string, private readonly schema: Schema) {}

  /** The document as JavaScript values (mappings as plain objects, keys as strings). */
  get value(): unknown {
    return this.document;
  }

  /**
   * Where a key path sits: its value, or (when `key` is given and the path is a
   * mapping) that key; a path that is not in the file gives its nearest parent.
   * Undefined for an empty document.
   */
  locate(parts: readonly PathPart[], key?: string): SourcePosition | undefined {
    const chain: Located[] = [];
    let located = this.root;
    for (let n = 0; located; n++) {
      chain.push(located);
      located = n < parts.length ? located.children?.get(parts[n]) : undefined;
    }
    for (let n = chain.length - 1; n >= 0; n--) {
      const { offset, keys } = chain[n];
      if (offset === undefined) continue;
      const keyOffset = key !== undefined && n === parts.length ? keys?.get(key) : undefined;
      return this.position(keyOffset ?? offset);
    }
    return undefined;
  }

  /** Line and column of a source offset (line breaks: LF, CRLF or a lone CR, as YAML reads them). */
  position(offset: number): SourcePosition {
    return positionIn(this.text, this.lineStarts ??= lineStartsOf(this.text), offset);
  }

  /**
   * One pass over the first document's events: the position of every value
   * and key, and what the aliases expand to. Returns how many events the first
   * document has (more events: more documents).
   */
  private walk(events: Event[], { maxAliasValues = 100_000, aliasValuesPerWrittenValue = 10 }: YamlReadOptions): number {
    const text = this.text;
    let written = 0;
    for (let n = events[0]?.type === EVENT_ID.DOCUMENT ? 1 : 0; n < events.length; n++) {
      const type = events[n].type;
      if (type === EVENT_ID.DOCUMENT) break;
      if (type === EVENT_ID.SCALAR || type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE) written++;
    }
    const allowed = Math.max(maxAliasValues, aliasValuesPerWrittenValue * written);
    const stack: Frame[] = [];
    /** Per anchor: the values of its node (what its aliases expand to included), or 'open' while that node is being read. */
    const anchors = new Map<string, number | 'open'>();
    /** Values the aliases read so far expand to. */
    let aliased = 0;
    /** Where the last token ended: empty values and block scalar headers are found from here. */
    let lastEnd = 0;
    let i = events[0]?.type === EVENT_ID.DOCUMENT ? 1 : 0;
    for (; i < events.length; i++) {
      const event = events[i];
      if (event.type === EVENT_ID.DOCUMENT) break;
      if (event.type === EVENT_ID.POP) {
        const frame = stack.pop();
        if (!frame) continue; // the document's own end
        if (frame.anchor !== undefined) anchors.set(frame.anchor, frame.values);
        const parent = stack[stack.length - 1];
        if (parent) {
          parent.values += frame.values;
          if (frame.isKey) {
            parent.key = undefined;
            parent.awaitingValue = true;
          }
        }
        continue;
      }
      const parent = stack[stack.length - 1];
      const isKey = parent !== undefined && parent.isMap && !parent.awaitingValue;
      const propsEnd = Math.max(lastEnd, 'tagEnd' in event ? event.tagEnd : -1, event.anchorEnd);
      let offset: number | undefined;
      if (event.type === EVENT_ID.SCALAR) {
        if (event.valueStart < 0) {
          offset = event.anchorStart >= 0 || event.tagStart >= 0 ? skipSpaces(text, propsEnd) : emptyValueOffset(text, lastEnd);
          lastEnd = offset ?? lastEnd;
        } else if (QUOTED.includes(event.style)) {
          offset = event.valueStart - 1;
          lastEnd = event.valueEnd + 1;
        } else if (BLOCK.includes(event.style)) {
          offset = blockHeaderOffset(text, propsEnd) ?? event.valueStart;
          lastEnd = event.valueEnd;
        } else {
          offset = event.valueStart;
          lastEnd = event.valueEnd;
        }
        if (event.anchorStart >= 0) anchors.set(text.slice(event.anchorStart, event.anchorEnd), 1);
        if (parent) parent.values++;
      } else if (event.type === EVENT_ID.ALIAS) {
        offset = event.anchorStart - 1;
        lastEnd = event.anchorEnd;
        const name = text.slice(event.anchorStart, event.anchorEnd);
        const values = anchors.get(name);
        if (values === undefined) {
          throw new YamlReadError(offset, `alias *${name} refers to no anchor before it; add &${name} to the value it stands for, above it`);
        }
        if (values === 'open') {
          throw new YamlReadError(offset, `alias ${text.slice(offset, event.anchorEnd)} is inside the value it refers to (it would contain itself); write the value out`);
        }
        aliased += values;
        if (parent) parent.values += values;
        if (aliased > allowed) {
          throw new YamlReadError(offset, `too many aliases: they expand to more than ${grouped(allowed)} values `
            + `(${aliasValuesPerWrittenValue} per value written in the file, at least ${grouped(maxAliasValues)}, whichever is larger); `
            + 'write the values out or use fewer or smaller aliases');
        }
      } else {
        offset = event.start;
        lastEnd = event.style === COLLECTION_STYLE.FLOW ? event.start + 1 : event.start;
      }
      // Located: a value under a located parent (a key's value needs a scalar key).
      let located: Located | undefined;
      if (!parent) {
        located = this.root = { offset };
      } else if (isKey) {
        parent.key = event.type === EVENT_ID.SCALAR ? scalarKey(text, event, this.schema) : undefined;
        if (parent.key !== undefined && offset !== undefined && parent.located) {
          const keys = parent.located.keys ??= new Map();
          if (!keys.has(parent.key)) keys.set(parent.key, offset);
        }
        parent.awaitingValue = event.type === EVENT_ID.SCALAR || event.type === EVENT_ID.ALIAS;
      } else {
        const slot = parent.isMap ? parent.key : parent.next++;
        if (parent.located && slot !== undefined) {
          located = { offset };
          (parent.located.children ??= new Map()).set(slot, located);
        }
        parent.awaitingValue = false;
      }
      if (event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING) {
        const anchor = event.anchorStart >= 0 ? text.slice(event.anchorStart, event.anchorEnd) : undefined;
        if (anchor !== undefined) anchors.set(anchor, 'open');
        stack.push({ located: isKey ? undefined : located, isMap: event.type === EVENT_ID.MAPPING, awaitingValue: false, next: 0, anchor, values: 1, isKey });
      }
    }
    this.firstDocumentEnd = lastEnd;
    return i;
  }

  /** Where the second document starts: its `---` line, else its first value. */
  private secondDocumentOffset(events: Event[], at: number): number | undefined {
    const marker = /^---(?=[ \t\r\n]|$)/gm;
    marker.lastIndex = this.firstDocumentEnd;
    const m = marker.exec(this.text);
    if (m) return m.index;
    const next = events.slice(at).find((e) => e.type === EVENT_ID.SCALAR || e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE);
    return next === undefined ? undefined : next.type === EVENT_ID.SCALAR ? next.valueStart : next.start;
  }

  /** js-yaml's duplicate-key error, naming the key (and pointing at its quote when quoted). */
  private duplicateKeyError(events: Event[], offset: number | undefined): YamlReadError {
    const key = events.find((e): e is ScalarEvent => e.type === EVENT_ID.SCALAR && e.valueStart === offset);
    if (!key) return new YamlReadError(offset, 'duplicated mapping key; keep one of them');
    const start = QUOTED.includes(key.style) ? key.valueStart - 1 : key.valueStart;
    return new YamlReadError(start, `duplicated mapping key ${JSON.stringify(getScalarValue(this.text, key))}; keep one of them`);
  }
}

/**
 * js-yaml's "deficient indentation" is what an unclosed `[`, `{` or quote
 * leads to (the next line is read as its continuation), and also what a tab
 * inside `[ ]` or `{ }` gives (js-yaml takes it for indentation, unlike the
 * YAML spec): name both.
 */
export function deficientIndentation(text: string, offset: number | undefined, tabsInFlowAreIndentation = true): string {
  if (offset !== undefined && tabsInFlowAreIndentation) {
    const lineStart = lineStartAt(text, offset);
    const lineEnd = text.slice(offset).search(/[\r\n]|$/) + offset;
    if (text.slice(lineStart, lineEnd).includes('\t')) {
      return 'deficient indentation: this line has a tab, which inside [ ] or { } is read as indentation; replace it with spaces';
    }
  }
  return 'deficient indentation: a [ ], { } or quoted value goes on here without its closing ], } or quote; close it, or indent its next line more';
}

/** js-yaml's exception as a one-line message with its offset (anything else it throws: its message, still no stack trace). */
function readError(e: unknown): YamlReadError {
  if (e instanceof YAMLException) return new YamlReadError(e.mark?.position, e.reason);
  return new YamlReadError(undefined, e instanceof Error ? e.message : String(e));
}

/** A mapping key as js-yaml's object mapping stores it: the scalar resolved by the schema, then made a string. */
function scalarKey(text: string, event: ScalarEvent, schema: Schema): string {
  const value = getScalarValue(text, event);
  if (event.style !== SCALAR_STYLE.PLAIN || event.tagStart >= 0 || (PLAIN_STRING_KEY.test(value) && !NOT_STRING_WORDS.test(value))) return value;
  try {
    const [resolved] = constructFromEvents([{ type: EVENT_ID.DOCUMENT, explicitStart: false, explicitEnd: false, directives: [] }, event, { type: EVENT_ID.POP }], { source: text, schema });
    return String(resolved);
  } catch {
    return value;
  }
}

/** Where the line that holds `offset` starts (after a LF, a CR or a CRLF). */
export const lineStartAt = (text: string, offset: number): number => Math.max(text.lastIndexOf('\n', offset - 1), text.lastIndexOf('\r', offset - 1)) + 1;

/** 100000 as "100,000" (the same in every locale). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

function positionIn(text: string, starts: number[], offset: number): SourcePosition {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  const bom = lo === 0 && text.charCodeAt(0) === 0xfeff && offset > 0 ? 1 : 0;
  return { line: lo + 1, column: offset - starts[lo] + 1 - bom };
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

function skipSpaces(text: string, i: number): number {
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

/** Skips line breaks, spaces, comments and the closing brackets of flow collections. */
function skipSeparators(text: string, i: number): number {
  for (;;) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ']' || c === '}') i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
    else return i;
  }
}

/** `:`, `-` or `?` followed by a space or line break, or a flow `,`. */
function isIndicator(text: string, i: number): boolean {
  const c = text[i];
  if (c === ',') return true;
  if (c !== ':' && c !== '-' && c !== '?') return false;
  const after = text[i + 1];
  return after === undefined || after === ' ' || after === '\t' || after === '\r' || after === '\n' || after === ',' || after === ']' || after === '}';
}

/**
 * An empty value (`key:` or `- `) has no text: it sits just after its
 * indicator and the spaces that follow, on the indicator's line. Undefined
 * when no indicator follows (`{a, b}`: the value of a flow key without `:`).
 */
function emptyValueOffset(text: string, from: number): number | undefined {
  const i = skipSeparators(text, from);
  return isIndicator(text, i) ? skipSpaces(text, i + 1) : undefined;
}

/** A block scalar starts at its `|` or `>` header (its text starts on the next line). */
function blockHeaderOffset(text: string, from: number): number | undefined {
  let i = from;
  for (;;) {
    i = skipSeparators(text, i);
    if (isIndicator(text, i)) i++;
    else if (text.startsWith('---', i)) i += 3;
    else break;
  }
  return text[i] === '|' || text[i] === '>' ? i : undefined;
}

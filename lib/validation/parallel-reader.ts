import { existsSync } from 'fs';
import { availableParallelism } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { adoptDocs, ManifestDoc, ManifestFile, parseManifestText, readManifestFile } from './manifests';
import { Problem } from './problems';

/**
 * The manifest reader (lib/validation/manifests.ts) on several threads: the
 * `yaml` parse of a 3 MB dist/ is most of `npm run validate`'s own time, and a
 * file's documents can be read apart. Large inputs are cut into parts at
 * document markers (`---` at the start of a line, where YAML itself ends a
 * document), one part per thread; each part is read by the same reader, with
 * its line numbers shifted, and the parts are joined in order. A file with a
 * YAML problem in any part, a file with directives (`%YAML`, which belong to
 * the document after them), and any part a worker could not read are read
 * again whole, on this thread: the result is always what the one-thread
 * reader gives.
 */

/** Below this many bytes in all, one thread reads everything (a worker takes ~50 ms to start). */
export const PARALLEL_MIN_BYTES = 1_000_000;

/** The worker entry, next to the compiled validate (scripts/build.js); absent when run from source. */
export const WORKER_SCRIPT = join(__dirname, 'validate-worker.js');

/** A part of a file, as a worker reads it. */
export interface Part {
  readonly file: string;
  readonly text: string;
  /** Lines of the file before the part. */
  readonly linesBefore: number;
}

export interface ReadOptions {
  /**
   * Threads in all, this one included. kubeconform runs at the same time and
   * keeps about one core busy; on 2 cores a worker only added CPU (its start and
   * the copy of the objects back: 2.6 s of CPU against 2.2 s, 1.47 s against
   * 1.31 s wall on 2.8 MB), so a worker is only used with a core to spare.
   * @default os.availableParallelism() - 1, at least 1, at most 4
   */
  readonly threads?: number;
  /** @default WORKER_SCRIPT when it exists; without one, everything is read on this thread */
  readonly workerScript?: string;
  /** @default PARALLEL_MIN_BYTES */
  readonly minBytes?: number;
}

/** Offsets in `text` where a line starts with a document marker `---`. */
function markerOffsets(text: string): number[] {
  const found: number[] = [];
  const re = /^---(?=[ \t\r\n]|$)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m.index > 0) found.push(m.index);
  return found;
}

const countLines = (text: string, end: number) => {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

/**
 * Cuts the files into `shares` runs of parts of about equal size, in file
 * order; a file is cut only at document markers, and not at all when it has
 * directives.
 */
export function cutIntoShares(files: Array<{ file: string; text: string }>, shares: number): Part[][] {
  const total = files.reduce((n, f) => n + f.text.length, 0);
  const target = total / shares;
  const result: Part[][] = [[]];
  let filled = 0; // bytes in the shares before the current one
  let done = 0; // bytes of all parts so far
  for (const { file, text } of files) {
    let from = 0;
    const cuts = /^%/m.test(text) ? [] : markerOffsets(text);
    while (from < text.length) {
      const room = filled + target - done; // what the current share still takes
      let to = text.length;
      if (text.length - from > room && result.length < shares) {
        const cut = cuts.find((c) => c > from && c >= from + room);
        if (cut !== undefined) to = cut;
      }
      result[result.length - 1].push({ file, text: text.slice(from, to), linesBefore: countLines(text, from) });
      done += to - from;
      from = to;
      if (done >= filled + target && result.length < shares) {
        filled = done;
        result.push([]);
      }
    }
  }
  return result.filter((share) => share.length > 0);
}

/** Reads parts (in a worker, or here): the reader's result for each. */
export function readParts(parts: Part[]): ManifestFile[] {
  return parts.map((p) => parseManifestText(p.text, p.file, p.linesBefore));
}

/** Reads parts in a worker thread; undefined when the worker fails. */
export function readInWorker(script: string, parts: Part[]): Promise<ManifestFile[] | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(script, { workerData: parts });
    let answered = false;
    worker.once('message', (result: ManifestFile[]) => {
      answered = true;
      resolve(result);
    });
    // A worker that fails is no reason to fail: its parts are read again here.
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/** The parts of one file, joined: indexes renumbered, identities given here. */
function joinParts(file: string, parts: ManifestFile[]): ManifestFile {
  const docs: ManifestDoc[] = [];
  const problems: Problem[] = [];
  for (const part of parts) {
    for (const d of part.docs) docs.push({ ...d, ref: { ...d.ref, index: docs.length } });
    problems.push(...part.problems);
  }
  adoptDocs(docs);
  return { file, docs, problems };
}

/**
 * Reads every file (`sources`: their text, undefined when it could not be
 * read; such a file is read again for its error), on several threads when the
 * input is large and a compiled worker exists.
 */
export async function readManifestFiles(names: string[], sources: Array<string | undefined>, options: ReadOptions = {}): Promise<ManifestFile[]> {
  const threads = options.threads ?? Math.max(1, Math.min(availableParallelism() - 1, 4));
  const script = options.workerScript ?? (existsSync(WORKER_SCRIPT) ? WORKER_SCRIPT : undefined);
  const readable = names.flatMap((file, i) => (sources[i] === undefined ? [] : [{ file, text: sources[i]! }]));
  const bytes = readable.reduce((n, f) => n + f.text.length, 0);
  const whole = (file: string, i: number) => (sources[i] === undefined ? readManifestFile(file) : parseManifestText(sources[i]!, file));
  if (!script || threads < 2 || bytes < (options.minBytes ?? PARALLEL_MIN_BYTES)) return names.map(whole);

  const shares = cutIntoShares(readable, threads);
  const inWorkers = shares.slice(1).map((share) => readInWorker(script, share));
  const results = new Map<Part, ManifestFile>();
  for (const part of shares[0]) results.set(part, parseManifestText(part.text, part.file, part.linesBefore));
  for (const [s, promise] of inWorkers.entries()) {
    const share = shares[s + 1];
    const read = (await promise) ?? readParts(share);
    share.forEach((part, n) => results.set(part, read[n]));
  }
  const partsOf = new Map<string, ManifestFile[]>();
  for (const share of shares) {
    for (const part of share) partsOf.set(part.file, [...(partsOf.get(part.file) ?? []), results.get(part)!]);
  }
  return names.map((file, i) => {
    const parts = partsOf.get(file);
    if (!parts) return whole(file, i);
    // A YAML problem may read differently in a part than in the whole file: read it whole.
    if (parts.length > 1 && parts.some((p) => p.problems.length > 0)) return whole(file, i);
    return joinParts(file, parts);
  });
}

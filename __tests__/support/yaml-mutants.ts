/**
 * Randomized edits of manifest text for the reader's differential test
 * (__tests__/validation/reader.test.ts): the kinds of damage and of odd-but-
 * valid YAML that hand-edited manifests have. Deterministic for a seed.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same edits, so a failure can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Plain scalars that YAML 1.1 readers type differently (go-yaml v2, js-yaml, the yaml package). */
export const AWKWARD_SCALARS = [
  'on', 'off', 'y', 'N', 'yes', 'No', 'true', 'FALSE', '~', 'null', 'Null', '0777', '08', '0o17', '0x1F', '0X1F', '0b11', '-0b11',
  '1_000', '1e3', '1.5e3', '1e1_0', '.5', '1.', '+12', '-0', '1:20', '1:20.5', '2024-01-02', '2024-01-02T10:00:00Z', '12e', '0xg',
  '"quoted: yes"', "'single'", '100m', 'v1.2.0', '!!str 12', '!!binary aGVsbG8=', '0.', '-.5e-3', '00', '0x_1F', '1__0',
];

const PUNCTUATION = [':', '{', '}', '[', ']', ',', '-', '#', '&a', '*a', '!', '|', '>', "'", '"', '\t', ' ', '? ', '%', '@', '`'];

export interface Mutant {
  readonly what: string;
  readonly text: string;
}

/** One random edit of `text`. */
export function mutate(text: string, rnd: () => number): Mutant {
  const lines = text.split('\n');
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const at = Math.floor(rnd() * lines.length);
  const edit = Math.floor(rnd() * 10);
  switch (edit) {
    case 0: { // a character of punctuation inserted
      const line = lines[at];
      const col = Math.floor(rnd() * (line.length + 1));
      const p = pick(PUNCTUATION);
      lines[at] = line.slice(0, col) + p + line.slice(col);
      return { what: `line ${at + 1}: ${JSON.stringify(p)} inserted at column ${col + 1}`, text: lines.join('\n') };
    }
    case 1: { // a character deleted
      const line = lines[at];
      const col = Math.floor(rnd() * line.length);
      lines[at] = line.slice(0, col) + line.slice(col + 1);
      return { what: `line ${at + 1}: column ${col + 1} deleted`, text: lines.join('\n') };
    }
    case 2: { // a line given twice (often a duplicate key)
      lines.splice(at, 0, lines[at]);
      return { what: `line ${at + 1} given twice`, text: lines.join('\n') };
    }
    case 3: { // indentation changed
      const by = pick([-2, -1, 1, 2]);
      lines[at] = by > 0 ? ' '.repeat(by) + lines[at] : lines[at].replace(new RegExp(`^ {0,${-by}}`), '');
      return { what: `line ${at + 1}: indented by ${by}`, text: lines.join('\n') };
    }
    case 4: { // a value replaced by an awkward scalar
      const m = /^(\s*(?:- )?[\w./-]+:) (\S.*)$/.exec(lines[at]);
      const s = pick(AWKWARD_SCALARS);
      if (!m) {
        lines.splice(at, 0, `${/^\s*/.exec(lines[at])![0]}awkward: ${s}`);
        return { what: `line ${at + 1}: "awkward: ${s}" inserted`, text: lines.join('\n') };
      }
      lines[at] = `${m[1]} ${s}`;
      return { what: `line ${at + 1}: value ${JSON.stringify(m[2])} replaced by ${s}`, text: lines.join('\n') };
    }
    case 5: { // a document marker, comment or directive inserted
      const l = pick(['---', '...', '--- # c', '# comment', '', '%YAML 1.1\n---', '...\n%YAML 1.1\n---', '---\n---', '\t']);
      lines.splice(at, 0, l);
      return { what: `line ${at + 1}: ${JSON.stringify(l)} inserted`, text: lines.join('\n') };
    }
    case 6: { // a line deleted
      const gone = lines.splice(at, 1);
      return { what: `line ${at + 1} deleted (${JSON.stringify(gone[0])})`, text: lines.join('\n') };
    }
    case 7: { // an anchor and alias
      const m = /^(\s*(?:- )?[\w./-]+:) (\S.*)$/.exec(lines[at]);
      if (!m) return mutate(text, rnd);
      lines[at] = `${m[1]} &v ${m[2]}`;
      const later = at + 1 + Math.floor(rnd() * Math.max(1, lines.length - at - 1));
      const n = /^(\s*(?:- )?[\w./-]+:) (\S.*)$/.exec(lines[later] ?? '');
      if (n) lines[later] = `${n[1]} *v`;
      return { what: `line ${at + 1}: anchor &v${n ? `, line ${later + 1}: alias *v` : ''}`, text: lines.join('\n') };
    }
    case 8: { // two lines swapped
      const other = Math.min(lines.length - 1, at + 1);
      [lines[at], lines[other]] = [lines[other], lines[at]];
      return { what: `lines ${at + 1} and ${other + 1} swapped`, text: lines.join('\n') };
    }
    default: { // a stretch of lines cut out (a paste gone wrong)
      const n = 1 + Math.floor(rnd() * 5);
      lines.splice(at, n);
      return { what: `lines ${at + 1}-${at + n} deleted`, text: lines.join('\n') };
    }
  }
}

/** A mutant on which the two readers (js-yaml's and the `yaml` oracle) do not give the same objects. */
export interface Disagreement {
  readonly seed: number;
  readonly source: string;
  readonly mutant: Mutant;
  /** Which reader reported a YAML problem: 'both', 'neither', 'new' (js-yaml only) or 'oracle' (yaml only). */
  readonly problems: 'both' | 'neither' | 'new' | 'oracle';
}

/**
 * Plain and tagged scalars, and what kubectl makes of each (go-yaml v2 through
 * sigs.k8s.io/yaml, then JSON), recorded from `kubectl label --local -o json`
 * of the kubectl in .tools/bin. __tests__/server/reader-kubectl.test.ts checks
 * this table against that kubectl; __tests__/validation/reader.test.ts checks
 * the manifest reader against this table.
 */
export const KUBECTL_SCALARS: Array<[string, unknown]> = [
  ['on', true],
  ['off', false],
  ['y', true],
  ['N', false],
  ['yes', true],
  ['No', false],
  ['true', true],
  ['FALSE', false],
  ['~', null],
  ['null', null],
  ['Null', null],
  ['0777', 511],
  ['08', 8],
  ['0o17', 15],
  ['0x1F', 31],
  ['0X1F', 31],
  ['0b11', 3],
  ['-0b11', -3],
  ['1_000', 1000],
  ['1e3', 1000],
  ['1.5e3', 1500],
  ['1e1_0', 10000000000],
  ['.5', 0.5],
  ['1.', 1],
  ['+12', 12],
  ['-0', 0],
  ['1:20', '1:20'],
  ['1:20.5', '1:20.5'],
  ['2024-01-02', '2024-01-02'],
  ['2024-01-02T10:00:00Z', '2024-01-02T10:00:00Z'],
  ['12e', '12e'],
  ['0xg', '0xg'],
  ['"quoted: yes"', 'quoted: yes'],
  ["'single'", 'single'],
  ['100m', '100m'],
  ['v1.2.0', 'v1.2.0'],
  ['!!str 12', '12'],
  ['!!binary aGVsbG8=', 'hello'],
  ['0.', 0],
  ['-.5e-3', -0.0005],
  ['00', 0],
  ['0x_1F', 31],
  ['1__0', 10],
  ['<<x', '<<x'],
  ['0o', '0o'],
  ['0x', '0x'],
  ['+0b1', 1],
  ['1e+3', 1000],
  ['1E3', 1000],
  // Beyond 2^53 a JSON number loses digits in JavaScript, for every reader here alike.
  ['9223372036854775807', 2 ** 63],
  ['9223372036854775808', 2 ** 63],
  ['0b2', '0b2'],
  ['1_', 1],
  ['_1', '_1'],
  ['+.5', 0.5],
  ['+', '+'],
];

/** A Widget whose spec has each scalar under its own key (k0, k1, ...). */
export function scalarsWidget(): string {
  return ['apiVersion: example.com/v1', 'kind: Widget', 'metadata: {name: w}', 'spec:', ...KUBECTL_SCALARS.map(([s], i) => `  k${i}: ${s}`)].join('\n') + '\n';
}

/** What kubectl reads from scalarsWidget(): the spec, as JSON. */
export function kubectlSpec(): Record<string, unknown> {
  return Object.fromEntries(KUBECTL_SCALARS.map(([, v], i) => [`k${i}`, v]));
}

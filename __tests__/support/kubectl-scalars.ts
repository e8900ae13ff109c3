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
  // Beyond float64, Go's ParseFloat fails and go-yaml keeps the scalar a string; below it, 0.
  ['1e400', '1e400'],
  ['-1e400', '-1e400'],
  ['1.8e308', '1.8e308'],
  ['1e308', 1e308],
  ['1e-400', 0],
];

/** A Widget whose spec has each scalar under its own key (k0, k1, ...). */
export function scalarsWidget(): string {
  return ['apiVersion: example.com/v1', 'kind: Widget', 'metadata: {name: w}', 'spec:', ...KUBECTL_SCALARS.map(([s], i) => `  k${i}: ${s}`)].join('\n') + '\n';
}

/** What kubectl reads from scalarsWidget(): the spec, as JSON. */
export function kubectlSpec(): Record<string, unknown> {
  return Object.fromEntries(KUBECTL_SCALARS.map(([, v], i) => [`k${i}`, v]));
}

/** Number keys and the key kubectl 1.27 makes of each (`kubectl label --local -o json`; the server suite checks them against it). */
export const KUBECTL_KEYS: Record<string, string> = {
  '0.0000001': '1e-07', '1e3': '1000', '0x1F': '31', '.5': '0.5', '-0': '0', '-0.0': '-0', '1_000': '1000', '017': '15', '08': '8',
  '9007199254740993': '9007199254740993', '-9223372036854775808': '-9223372036854775808', '18446744073709551616': '1.8446744e+19',
  '-9223372036854775809': '-9.223372e+18', '0x1FFFFFFFFFFFFFFFF': '0x1FFFFFFFFFFFFFFFF', '1e6': '1e+06', '1234567.0': '1.234567e+06',
  '999999.0': '999999', '16777217.0': '1.6777216e+07', '3.14159265358979': '3.1415927', '1.5e300': '.inf', '.nan': '.nan', '-.Inf': '-.inf',
  '1e-45': '1e-45', '2.5e-3': '0.0025', '123456789012345678901234': '1.2345679e+23', '0.1': '0.1',
  /** Beyond float64: a string (Go's ParseFloat fails). */
  [`1${'0'.repeat(400)}`]: `1${'0'.repeat(400)}`,
};

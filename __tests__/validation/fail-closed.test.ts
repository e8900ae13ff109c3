import { join } from 'path';
import { apiserverProblems } from '../../lib/validation/apiserver';
import { kubeconformProblems } from '../../lib/validation/kubeconform';
import { parseManifestText } from '../../lib/validation/manifests';
import { formatProblem, Problem } from '../../lib/validation/problems';
import { validate } from '../../lib/validation/validate';
import { ROOT } from '../support/synth';

/**
 * Fails closed: a tool run validate does not understand is a problem on every
 * object it did not confirm, carrying the tool's own text; never "valid".
 * The real kubeconform and kubectl cannot be made to print garbage, crash or
 * hang, so STAND-INS do it here (__tests__/fixtures/stand-ins/, each says so
 * in its first lines). The real tools' failure modes (unknown kind, refused
 * connection, timeout, API server killed mid-run) are tested with the real
 * binaries: layers.test.ts and __tests__/server/apiserver.test.ts.
 */
const STAND_INS = join(ROOT, '__tests__', 'fixtures', 'stand-ins');
const standIn = (name: string) => ['bash', join(STAND_INS, name)];

const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {containers: [{name: c, image: "busybox:1.36"}]}\n`;
const files = () => [parseManifestText(`${pod('a')}---\n${pod('b')}`, 'one.yaml'), parseManifestText(pod('c'), 'two.yaml')];
const lines = (ps: Problem[]) => ps.map(formatProblem);

describe('kubeconform (stand-ins): output not understood is a problem on every object, with its text', () => {
  test.each([
    ['prints text that is not its report, exit 0', 'kubeconform-prints-garbage.sh',
      /: not checked: kubeconform did not report \(exit 0\): kubeconform: schema cache corrupted, nothing validated \[kubeconform\]$/],
    ['crashes: exit 2, no report', 'kubeconform-exits-2.sh',
      /: not checked: kubeconform did not report \(exit 2\): panic: runtime error: invalid memory address or nil pointer dereference \[kubeconform\]$/],
    ['reports every object valid but exits 3', 'kubeconform-valid-report-exits-3.sh',
      /: not checked: kubeconform failed \(exit 3\): error: could not write the cache \| \{"resources": .*\[kubeconform\]$/],
    ['is killed half-way through its report', 'kubeconform-killed.sh',
      /: not checked: kubeconform did not report \(killed by SIGKILL\): \{"resources": \[ \[kubeconform\]$/],
  ])('%s', async (_what, script, expected) => {
    const problems = lines(await kubeconformProblems(files(), { command: standIn(script) }));
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^one\\.yaml:1: Pod/a${expected.source}`)),
      expect.stringMatching(new RegExp(`^one\\.yaml:6: Pod/b${expected.source}`)),
      expect.stringMatching(new RegExp(`^two\\.yaml:1: Pod/c${expected.source}`)),
    ]);
  });

  test('a well-formed report that leaves objects out: those objects are problems', async () => {
    expect(lines(await kubeconformProblems(files(), { command: standIn('kubeconform-reports-first-only.sh') }))).toEqual([
      expect.stringMatching(/^one\.yaml:6: Pod\/b: not checked: kubeconform did not report on this object \(exit 0\): \{"resources": \[\{"filename": .*\[kubeconform\]$/),
      expect.stringMatching(/^two\.yaml:1: Pod\/c: not checked: kubeconform did not report on this object \(exit 0\)/),
    ]);
  });

  test('a status no kubeconform prints is not a pass', async () => {
    expect(lines(await kubeconformProblems(files(), { command: standIn('kubeconform-unknown-status.sh') }))).toEqual([
      'one.yaml:1: Pod/a: not checked: kubeconform status "statusMaybe": partly checked [kubeconform]',
      expect.stringMatching(/^one\.yaml:6: Pod\/b: not checked: kubeconform did not report on this object/),
      expect.stringMatching(/^two\.yaml:1: Pod\/c: not checked: kubeconform did not report on this object/),
    ]);
  });

  test('a run that does not finish in time is stopped; its objects are problems', async () => {
    const started = Date.now();
    const problems = lines(await kubeconformProblems(files(), { command: standIn('kubeconform-hangs.sh'), timeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(60_000); // it did not wait for the stand-in's 300 s
    expect(problems).toEqual(['Pod/a', 'Pod/b', 'Pod/c'].map((object) => expect.stringMatching(
      new RegExp(`: ${object}: not checked: kubeconform did not report \\(did not finish within 500 ms and was stopped\\): validating\\.\\.\\. \\[kubeconform\\]$`))));
  });

  test('kubeconform that cannot be started', async () => {
    expect(lines(await kubeconformProblems(files(), { command: ['/nonexistent/kubeconform'] }))).toEqual(['Pod/a', 'Pod/b', 'Pod/c'].map((object) =>
      expect.stringMatching(new RegExp(`: ${object}: not checked: kubeconform did not report \\(spawn /nonexistent/kubeconform ENOENT\\)`))));
  });

  test('through validate(): the objects are problems, so the CLI cannot print "valid"', async () => {
    const result = await validate([join(ROOT, 'dist')], { kubeconform: { command: standIn('kubeconform-prints-garbage.sh') } });
    expect(result.objects).toBeGreaterThan(0);
    expect(result.problems).toHaveLength(result.objects);
    expect(result.problems.every((p) => p.layer === 'kubeconform' && /schema cache corrupted/.test(p.message))).toBe(true);
  });
});

describe('kubectl (stand-ins): output not understood is a problem on every object, with its text', () => {
  test.each([
    ['exit 0, but no object confirmed', 'kubectl-prints-garbage.sh', /not checked: kubectl did not confirm this object \(exit 0\): Handling connection for 6443 \[apiserver\]$/],
    ['exit 2 with text in no kubectl error form', 'kubectl-exits-2.sh', /not checked: kubectl did not confirm this object \(exit 2\): SIGSEGV: segmentation violation PC=0x0 m=0 sigcode=1 \[apiserver\]$/],
  ])('%s', async (_what, script, expected) => {
    const problems = lines(await apiserverProblems(files(), { kubectl: join(STAND_INS, script) }));
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^one\\.yaml:1: Pod/a: ${expected.source}`)),
      expect.stringMatching(new RegExp(`^one\\.yaml:6: Pod/b: ${expected.source}`)),
      expect.stringMatching(new RegExp(`^two\\.yaml:1: Pod/c: ${expected.source}`)),
    ]);
  });
});

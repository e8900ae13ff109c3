import { amountsOf } from '../../lib/config/quantity';
import { DEFAULT_BUILDKIT_RESOURCES } from '../../lib/constructs/buildkit-container';

/**
 * What synth accepts, the API server accepts: each of these would reach the API
 * server as an object it refuses (__tests__/server/refused-at-synth.test.ts
 * shows the real API server refusing each). Each is the builds.yaml text before
 * the seed build, or a whole file when it has its own `builds:`.
 */
export const REFUSED_AT_SYNTH_RAW: Array<[string, string, RegExp]> = [
  ['a CPU request above its limit', 'builders: {resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}',
    /^builds\.yaml:1:\d+: builders\.resources\.limits\.cpu: requests\.cpu 2 is above limits\.cpu 1; the API server refuses a request above its limit/],
  ['a lone limit below the default request', 'builders: {resources: {limits: {cpu: 50m}}}',
    /^builds\.yaml:1:\d+: builders\.resources\.limits\.cpu: the default request 100m of the docker engine \(builds\[0\]\) is above limits\.cpu 50m; .* or set requests\.cpu to at most 50m$/],
  ['a lone request above the default limit', 'builders: {resources: {requests: {memory: 2Gi}}}',
    /^builds\.yaml:1:\d+: builders\.resources\.requests\.memory: requests\.memory 2Gi is above the default limit 1Gi of the docker engine \(builds\[0\]\); .*Set limits\.memory to at least 2Gi/],
  // BuildKit's defaults (DEFAULT_BUILDKIT_RESOURCES) are higher than docker's: limits the docker engine takes are below them.
  ['a lone CPU limit below the buildkit default request (builders.engine)', 'builders: {engine: buildkit, resources: {limits: {cpu: 200m}}}\nbuilds: [{repo: "https://github.com/jpetazzo/container.training.git"}]',
    /^builds\.yaml:1:\d+: builders\.resources\.limits\.cpu: the default request 500m of the buildkit engine \(builds\[0\]\) is above limits\.cpu 200m; .*Raise limits\.cpu to at least 500m/],
  ['a lone memory limit below the buildkit default request (the build\'s engine)',
    'builders: {resources: {limits: {memory: 512Mi}}}\nbuilds: [{repo: "https://github.com/jpetazzo/container.training.git", engine: buildkit}]',
    /^builds\.yaml:1:\d+: builders\.resources\.limits\.memory: the default request 1Gi of the buildkit engine \(builds\[0\]\) is above limits\.memory 512Mi; .*Raise limits\.memory to at least 1Gi/],
  ['a label key prefix over 253 characters', `builders: {nodeSelector: {"${'a'.repeat(254)}/k": "v"}}`,
    /^builds\.yaml:1:\d+: builders\.nodeSelector\.a+\/k: the prefix of label key "a+\.\.\." is 254 characters long, more than 253/],
  ['a label key prefix that is no DNS name', 'builders: {nodeSelector: {"a..b/k": "v"}}',
    /^builds\.yaml:1:\d+: builders\.nodeSelector: key "a\.\.b\/k" is not a valid label key/],
  ['a label value over 63 characters', `builders: {nodeSelector: {k: "${'v'.repeat(64)}"}}`,
    /^builds\.yaml:1:\d+: builders\.nodeSelector\.k: "v+" is not valid here \(expected a label value: up to 63/],
  ['a toleration key over 63 characters', `builders: {tolerations: [{key: "${'k'.repeat(64)}", operator: Exists}]}`,
    /^builds\.yaml:1:\d+: builders\.tolerations\[0\]\.key: "k+" is not valid here \(expected a label key/],
  ['Exists with a value', 'builders: {tolerations: [{key: k, operator: Exists, value: v}]}',
    /^builds\.yaml:1:\d+: builders\.tolerations\[0\]\.value: operator "Exists" matches any value/],
  ['tolerationSeconds without NoExecute', 'builders: {tolerations: [{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]}',
    /^builds\.yaml:1:\d+: builders\.tolerations\[0\]\.tolerationSeconds: only applies to effect "NoExecute"/],
  ['Equal without a key', 'builders: {tolerations: [{operator: Equal, value: v}]}',
    /^builds\.yaml:1:\d+: builders\.tolerations\[0\]: a toleration without "key" must have operator "Exists"/],
  ['an int32 out of range', 'builders: {ttlSecondsAfterFinished: 3000000000}',
    /^builds\.yaml:1:\d+: builders\.ttlSecondsAfterFinished: 3000000000 is outside 0-2147483647/],
  ['an int64 out of range', 'builders: {activeDeadlineSeconds: 10000000000000000000}',
    /^builds\.yaml:1:\d+: builders\.activeDeadlineSeconds: 10000000000000000000 is outside 60-9007199254740991/],
  ['a quantity that would be written in exponent form', 'builders: {resources: {requests: {memory: "99999999999999999999999Mi"}}}',
    /^builds\.yaml:1:\d+: builders\.resources\.requests\.memory: "9+Mi" is 25 characters long, more than 11; use a larger unit/],
  ['a storage class name that is no DNS name', 'registry: {storage: {persistentVolumeClaim: {size: 1Gi, storageClassName: "a..b"}}}',
    /^builds\.yaml:1:\d+: registry\.storage\.persistentVolumeClaim\.storageClassName: "a\.\.b" is not valid here/],
  ['an image name over 63 characters (label key, image reference)', '',
    /^builds\.yaml:\d+:\d+: builds\[0\]\.images\[0\]\.context: the image name derived from the last directory of the context is 64 characters long/],
];


const SEED = `builds:
  - repo: https://github.com/jpetazzo/container.training
    images:
      - context: dockercoins/worker
`;

/** The builder Pod spec of a synthesized Job. */
const podSpec = (job: any) => job.spec.template.spec;
const container = (job: any) => podSpec(job).containers[0];
const resources = (requests: Record<string, string>, limits: Record<string, string>) => (job: any) => {
  container(job).resources = { requests: { cpu: '100m', memory: '128Mi', ...requests }, limits: { cpu: '1', memory: '1Gi', ...limits } };
};

/** The same with the buildkit engine's defaults (what its builder container gets). */
const buildkitResources = (requests: Record<string, string>, limits: Record<string, string>) => (job: any) => {
  const defaults = amountsOf(DEFAULT_BUILDKIT_RESOURCES);
  container(job).resources = { requests: { ...defaults.requests, ...requests }, limits: { ...defaults.limits, ...limits } };
};

/**
 * For each case: what the object would have looked like had synth let the
 * value through, written into the default app's builder Job.
 */
const AS_THE_API_SERVER_WOULD_SEE_IT: Record<string, (job: any) => void> = {
  'a CPU request above its limit': resources({ cpu: '2' }, { cpu: '1' }),
  'a lone limit below the default request': resources({}, { cpu: '50m' }),
  'a lone request above the default limit': resources({ memory: '2Gi' }, {}),
  'a lone CPU limit below the buildkit default request (builders.engine)': buildkitResources({}, { cpu: '200m' }),
  'a lone memory limit below the buildkit default request (the build\'s engine)': buildkitResources({}, { memory: '512Mi' }),
  'a label key prefix over 253 characters': (job) => { podSpec(job).nodeSelector = { [`${'a'.repeat(254)}/k`]: 'v' }; },
  'a label key prefix that is no DNS name': (job) => { podSpec(job).nodeSelector = { 'a..b/k': 'v' }; },
  'a label value over 63 characters': (job) => { podSpec(job).nodeSelector = { k: 'v'.repeat(64) }; },
  'a toleration key over 63 characters': (job) => { podSpec(job).tolerations = [{ key: 'k'.repeat(64), operator: 'Exists' }]; },
  'Exists with a value': (job) => { podSpec(job).tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }]; },
  'tolerationSeconds without NoExecute': (job) => { podSpec(job).tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }]; },
  'Equal without a key': (job) => { podSpec(job).tolerations = [{ operator: 'Equal', value: 'v' }]; },
  'an int32 out of range': (job) => { job.spec.ttlSecondsAfterFinished = 3000000000; },
  'an int64 out of range': (job) => { job.spec.activeDeadlineSeconds = 10000000000000000000; },
  // What cdk8s writes for Size.mebibytes(99999999999999999999999): "1e+23Mi".
  'a quantity that would be written in exponent form': resources({ memory: '1e+23Mi' }, { memory: '1e+23Mi' }),
  'a storage class name that is no DNS name': (job) => {
    podSpec(job).volumes.push({ name: 'v', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'a..b', resources: { requests: { storage: '1Gi' } } } } } });
  },
  'an image name over 63 characters (label key, image reference)': (job) => { job.metadata.labels[`images.cdk8s-image-builder/${'i'.repeat(64)}`] = 'true'; },
};

export interface RefusedAtSynth {
  readonly what: string;
  /** The whole builds.yaml. */
  readonly yaml: string;
  /** The synth error it gets. */
  readonly refused: RegExp;
  /** Writes the value into a synthesized builder Job, as the API server would have received it. */
  readonly breakJob: (job: any) => void;
}

export const REFUSED_AT_SYNTH: RefusedAtSynth[] = REFUSED_AT_SYNTH_RAW.map(([what, yaml, refused]) => ({
  what,
  yaml: yaml === '' ? `builds: [{repo: "https://x.example/a.git", images: [{context: "${'i'.repeat(64)}"}]}]`
    : /^builds:/m.test(yaml) ? yaml : `${yaml}\n${SEED}`,
  refused,
  breakJob: AS_THE_API_SERVER_WOULD_SEE_IT[what],
}));

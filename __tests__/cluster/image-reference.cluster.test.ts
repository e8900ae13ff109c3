/**
 * `npm run test:cluster`: which part of a real cluster refuses an image
 * reference over the limit. Not the API server: Kubernetes 1.27 stores a Pod
 * with any image string. The kubelet does, when it parses the reference
 * (distribution's grammar: a repository name, host and path, of at most 255
 * characters): the container waits with reason InvalidImageName and is never
 * pulled. synth refuses exactly those (lib/config/image-reference.ts): 256
 * characters refused, 255 taken, and the kubelet agrees on both sides.
 */
import { parseBuildsFile } from '../../lib/config/builds-file';
import { ClusterEnv, clusterEnv, describeState, getJson, kubectl, kubectlOk, waitFor } from './support/cluster';

const env: ClusterEnv = clusterEnv();
/** Nothing listens there: a pull that is tried fails with ErrImagePull. */
const HOST = 'localhost:30999/';
const image = (nameLength: number) => `${HOST}${'a'.repeat(nameLength - HOST.length)}:v1`;
const POD = (length: number) => `image-name-${length}`;
const pod = (length: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${POD(length)}, labels: {cluster-test: image-reference}}
spec:
  restartPolicy: Never
  containers: [{name: c, image: "${image(length)}", imagePullPolicy: IfNotPresent}]
`;
const synth = (length: number) => () => parseBuildsFile(`buildTrigger:\n  image: "${image(length)}"\nbuilds:\n  - repo: https://example.com/a.git\n`);

/** The container's waiting state once the kubelet has judged the image: InvalidImageName or a failed pull. */
const judged = (length: number) => waitFor(`the kubelet to judge the image of ${POD(length)}`, 120_000, () => {
  const waiting = getJson(env, ['pod', POD(length)])?.status?.containerStatuses?.[0]?.state?.waiting;
  return ['InvalidImageName', 'ErrImagePull', 'ImagePullBackOff'].includes(waiting?.reason) ? waiting : undefined;
}, () => describeState(env));

afterAll(() => {
  kubectl(env, ['delete', 'pod', '-l', 'cluster-test=image-reference', '--ignore-not-found', '--wait=false']);
});

test('a repository name of 256 characters: synth refuses it; the API server stores the Pod; the kubelet refuses the image (InvalidImageName)', async () => {
  expect(synth(256)).toThrow(/buildTrigger\.image: the repository name .* is 256 characters long, more than 255/);
  expect(kubectlOk(env, ['create', '-f', '-'], pod(256))).toMatch(/pod\/image-name-256 created/);
  const waiting = await judged(256);
  expect(waiting.reason).toBe('InvalidImageName');
  expect(waiting.message).toMatch(/255/);
});

test('255 characters: synth takes it, and so does the kubelet (it tries to pull: ErrImagePull, not InvalidImageName)', async () => {
  expect(synth(255)).not.toThrow();
  kubectlOk(env, ['create', '-f', '-'], pod(255));
  expect((await judged(255)).reason).not.toBe('InvalidImageName');
});

import { quoted } from './source-rules';

/**
 * Image references as the kubelet reads them (distribution's reference
 * grammar, github.com/distribution/reference, which the kubelet and
 * containerd use): `[host[:port]/]path[:tag][@digest]`, the path lower-case,
 * and the repository name (host and path, tag and digest not counted) at most
 * 255 characters after normalisation (`busybox` is `docker.io/library/busybox`).
 * A Pod whose image breaks this is stored by the 1.27 API server, and the
 * kubelet then refuses it with InvalidImageName.
 */

/** distribution/reference: NameTotalLengthMax. */
export const MAX_IMAGE_NAME_TOTAL_LENGTH = 255;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const NAME = `(?:${HOST}(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** The repository name as the kubelet measures it: with docker.io/ (and library/) added when the name has no host. */
function normalizedName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return name;
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/**
 * Why `ref` is not an image reference the kubelet accepts, phrased to follow
 * "<field>: "; undefined when it is one.
 */
export function imageReferenceProblem(ref: string): string | undefined {
  const example = 'e.g. "localhost:30500/cdk8s-image-builder:main"';
  const match = REFERENCE.exec(ref);
  if (!match) {
    const short = ref.length > 80 ? `${ref.slice(0, 80)}...` : ref;
    return `${quoted(short)} is not an image reference ([host[:port]/]path[:tag][@digest], the path in lower case); ${example}`;
  }
  const name = normalizedName(match[1]);
  if (name.length > MAX_IMAGE_NAME_TOTAL_LENGTH) {
    return `the repository name ${quoted(`${name.slice(0, 40)}...`)} is ${name.length} characters long, more than ${MAX_IMAGE_NAME_TOTAL_LENGTH} `
      + `(tag and digest not counted); the kubelet refuses such an image (InvalidImageName). Use a shorter name, ${example}`;
  }
  return undefined;
}

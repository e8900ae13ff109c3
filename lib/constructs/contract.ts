/**
 * The fixed names, paths, users and keys of the workloads the constructs
 * make, as plain values: the constructs build with them and the policy rules
 * (lib/policy/rules.ts) check them. No cdk8s import here, nor in the script
 * modules (builder-script.ts, buildkit-script.ts): `npm run validate` and the
 * cdk8s policy plugin load the rules without loading cdk8s or cdk8s-plus.
 */

/** The node's Docker socket: builders talk to the node's engine through it. */
export const DOCKER_SOCKET_PATH = '/var/run/docker.sock';

/**
 * The node directory that holds the socket, mounted read-only (connecting to a
 * socket needs no write access to the mount). Mounting the directory instead of
 * the socket itself lets the script say plainly that a node has no Docker
 * engine: with a `Socket` hostPath the kubelet never starts the container and
 * the Pod waits in ContainerCreating until the Job's deadline.
 */
export const NODE_RUN_PATH = '/var/run';

/** Name of the docker engine's builder container, as in the hand-written Pod it replaces. */
export const BUILDER_CONTAINER_NAME = 'docker-build';

/** Name of the buildkit engine's builder container. */
export const BUILDKIT_CONTAINER_NAME = 'buildkit';

/** The user the rootless BuildKit image is built for (its /etc/subuid names it); the image runs as no other. */
export const BUILDKIT_USER = 1000;

/** buildkitd's state (snapshots, local cache) in the rootless image: an emptyDir, as upstream's example mounts it. */
export const BUILDKIT_STATE_PATH = '/home/user/.local/share/buildkit';

/** AppArmor on Kubernetes 1.27: a Pod annotation per container (the appArmorProfile field needs 1.30). */
export const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

/** Where the registry keeps its data (config.yml's rootdirectory and the data volume's mount). */
export const REGISTRY_DATA_PATH = '/var/lib/registry';

/** Default name of the push Secret (created out of band, README: "Registry credentials"). */
export const DEFAULT_PUSH_SECRET = 'registry-push';

/** Keys of the push Secret. */
export const PUSH_SECRET_USERNAME_KEY = 'username';
export const PUSH_SECRET_PASSWORD_KEY = 'password';

/**
 * Builders' env names for the push Secret's keys: envFrom writes `<prefix><key>`,
 * PUSH_SECRET_username and PUSH_SECRET_password (PUSH_CREDENTIALS_SH reads them).
 */
export const PUSH_SECRET_ENV_PREFIX = 'PUSH_SECRET_';

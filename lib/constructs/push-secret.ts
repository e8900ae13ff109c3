import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/**
 * The push credentials: a Secret created out of band (README: "Registry
 * credentials"), never synthesized, referenced by name only. Builders read it
 * whole (envFrom, pushSecretEnvFrom), the retention CronJob as secretKeyRef env
 * (pushCredentialEnv); nothing prints it.
 */

/** Default name of the push Secret. */
export const DEFAULT_PUSH_SECRET = 'registry-push';

/** Keys of the push Secret. */
export const PUSH_SECRET_USERNAME_KEY = 'username';
export const PUSH_SECRET_PASSWORD_KEY = 'password';

/**
 * Where a builder keeps its registry client configuration: in the Pod's
 * emptyDir (the workspace), never the node's. The docker engine's script logs
 * in there (`docker login --password-stdin`); another engine (BuildKit's
 * buildctl reads DOCKER_CONFIG too) can use the same config.json.
 */
export const DOCKER_CONFIG_SUBDIR = 'docker-config';

/**
 * REGISTRY_USERNAME and REGISTRY_PASSWORD from the push Secret, and
 * REGISTRY_PUSH_SECRET (its name, for log messages). Not optional: without
 * the Secret the kubelet does not start the container (CreateContainerConfigError
 * naming the Secret), which is the clearest failure there is.
 */
export function pushCredentialEnv(scope: Construct, secretName = DEFAULT_PUSH_SECRET): Record<string, kplus.EnvValue> {
  const secret = kplus.Secret.fromSecretName(scope, 'PushSecret', secretName);
  return {
    REGISTRY_PUSH_SECRET: kplus.EnvValue.fromValue(secretName),
    REGISTRY_USERNAME: kplus.EnvValue.fromSecretValue({ secret, key: PUSH_SECRET_USERNAME_KEY }),
    REGISTRY_PASSWORD: kplus.EnvValue.fromSecretValue({ secret, key: PUSH_SECRET_PASSWORD_KEY }),
  };
}

/**
 * Builders' env names for the push Secret's keys: envFrom writes `<prefix><key>`,
 * PUSH_SECRET_username and PUSH_SECRET_password (PUSH_CREDENTIALS_SH reads them).
 */
export const PUSH_SECRET_ENV_PREFIX = 'PUSH_SECRET_';

/**
 * The push Secret for a builder: the whole Secret as env (envFrom, prefix
 * PUSH_SECRET_ENV_PREFIX), one entry instead of a secretKeyRef per key (a
 * builder Job is written once per build), and REGISTRY_PUSH_SECRET, its name,
 * for the script's messages. Not optional: without the Secret the kubelet does
 * not start the container (CreateContainerConfigError naming the Secret); a key
 * it lacks is the script's clear failure at its login step (PUSH_CREDENTIALS_SH).
 */
export function pushSecretEnvFrom(scope: Construct, secretName = DEFAULT_PUSH_SECRET): { envFrom: kplus.EnvFrom; env: Record<string, kplus.EnvValue> } {
  const secret = kplus.Secret.fromSecretName(scope, 'PushSecret', secretName);
  return { envFrom: new kplus.EnvFrom(undefined, PUSH_SECRET_ENV_PREFIX, secret), env: { REGISTRY_PUSH_SECRET: kplus.EnvValue.fromValue(secretName) } };
}

/**
 * Both engines' scripts, at their login step: the push credentials from the
 * Secret's keys (envFrom), into shell variables that no child process inherits
 * (the exported PUSH_SECRET_* are unset at once), or a clear failure naming
 * the Secret and the key it lacks.
 */
export const PUSH_CREDENTIALS_SH = `# The push Secret comes whole (envFrom, prefix ${PUSH_SECRET_ENV_PREFIX}): keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY}.
REGISTRY_USERNAME=\${${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_USERNAME_KEY}:-} REGISTRY_PASSWORD=\${${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_PASSWORD_KEY}:-}
unset ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_USERNAME_KEY} ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_PASSWORD_KEY}
[ -n "$REGISTRY_USERNAME" ] || die "Secret $REGISTRY_PUSH_SECRET has no key ${PUSH_SECRET_USERNAME_KEY}, or it is empty: the push Secret needs keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY} (README: Registry credentials)"
[ -n "$REGISTRY_PASSWORD" ] || die "Secret $REGISTRY_PUSH_SECRET has no key ${PUSH_SECRET_PASSWORD_KEY}, or it is empty: the push Secret needs keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY} (README: Registry credentials)"
`;

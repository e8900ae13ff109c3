import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/**
 * The push credentials: a Secret created out of band (README: "Registry
 * credentials"), never synthesized, referenced by name only. Builders and the
 * retention CronJob read it as secretKeyRef env; nothing prints it.
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

import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_PUSH_SECRET, PUSH_SECRET_ENV_PREFIX, PUSH_SECRET_PASSWORD_KEY, PUSH_SECRET_USERNAME_KEY } from './contract';

/**
 * The push credentials: a Secret created out of band (README: "Registry
 * credentials"), never synthesized, referenced by name only. Builders read it
 * whole (envFrom, pushSecretEnvFrom), the retention CronJob as secretKeyRef env
 * (pushCredentialEnv); nothing prints it.
 */

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

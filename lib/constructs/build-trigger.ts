import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { dropAddressLabel, selectorLabels, standardLabels } from './labels';

/** Name of the trigger's Deployment, Service, ServiceAccount, Role and RoleBinding. */
export const BUILD_TRIGGER_NAME = 'build-trigger';

/** The Secret created out of band (README "Build on push"), never part of dist/. */
export const BUILD_TRIGGER_SECRET = 'build-trigger';

/** Where the Secret and builds.yaml are mounted in the trigger's container. */
const SECRET_DIR = '/var/run/secrets/build-trigger';
const CONFIG_DIR = '/etc/build-trigger';

/**
 * The trigger Pod's terminationGracePeriodSeconds: on SIGTERM it finishes the decisions of the
 * webhooks it has answered (trigger/main.ts waits 5 s less, then logs what is left).
 */
export const BUILD_TRIGGER_TERMINATION_GRACE_SECONDS = 30;

/**
 * Webhook body bytes the trigger holds at once (trigger/server.ts, maxBodyBytesInFlight): bodies
 * are read before their signature can be checked, so this is what unsigned traffic can make it
 * hold; more gets 503.
 */
export const BODY_BYTES_IN_FLIGHT = 64 * 1024 * 1024;

/**
 * The trigger container's memory limit: the process idle with its builds loaded (~110 MiB RSS,
 * measured by npm run bench) with room to spare, plus four times the body budget (each body is
 * held as chunks and once concatenated; a signed one is parsed too).
 */
export const BUILD_TRIGGER_MEMORY_LIMIT_MIB = 256 + 4 * (BODY_BYTES_IN_FLIGHT / 1024 / 1024);

/** The port the trigger listens on (PORT), and its Service's. */
export const BUILD_TRIGGER_PORT = 8080;

export interface BuildTriggerProps {
  /** The trigger's image, built from this repository (trigger/Dockerfile). */
  readonly image: string;

  /** builds.yaml as written: the trigger reads it (BUILDS_CONFIG) from a ConfigMap. */
  readonly buildsYaml: string;

  /**
   * Builds running at once; the rest wait suspended.
   * @default 2
   */
  readonly maxConcurrentBuilds?: number;

  /**
   * Name of the Secret holding `webhook-secret` and `api-token`.
   * @default BUILD_TRIGGER_SECRET
   */
  readonly secretName?: string;
}

/**
 * The build trigger (trigger/): a Deployment of one replica turning push
 * webhooks into builder Jobs, its ClusterIP Service, and a ServiceAccount
 * whose Role allows exactly what it does in its namespace: Jobs (create,
 * get, list, watch, delete, and patch to resume a queued Job) and reading
 * Pods and their logs. No Secrets and no `pods` create, but Jobs make Pods:
 * the token is as strong as Pod creation in the namespace (README "In the
 * cluster"). Its secrets come from a Secret created out of band, mounted as files.
 */
export class BuildTrigger extends Construct {
  public readonly deployment: kplus.Deployment;
  public readonly service: kplus.Service;
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly role: kplus.Role;

  constructor(scope: Construct, id: string, props: BuildTriggerProps) {
    super(scope, id);
    const labels = standardLabels('trigger', BUILD_TRIGGER_NAME);
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: BUILD_TRIGGER_NAME, labels }, automountToken: true });
    this.role = new kplus.Role(this, 'Role', { metadata: { name: BUILD_TRIGGER_NAME, labels } });
    this.role.allow(['create', 'get', 'list', 'watch', 'delete', 'patch'], kplus.ApiResource.JOBS);
    this.role.allow(['get', 'list', 'watch'], kplus.ApiResource.PODS);
    this.role.allow(['get'], kplus.ApiResource.custom({ apiGroup: '', resourceType: 'pods/log' }));
    const binding = new kplus.RoleBinding(this, 'RoleBinding', { metadata: { name: BUILD_TRIGGER_NAME, labels }, role: this.role });
    binding.addSubjects(this.serviceAccount);

    const config = new kplus.ConfigMap(this, 'Config', { metadata: { name: `${BUILD_TRIGGER_NAME}-config`, labels }, data: { 'builds.yaml': props.buildsYaml } });
    const secret = kplus.Secret.fromSecretName(this, 'Secret', props.secretName ?? BUILD_TRIGGER_SECRET);

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: BUILD_TRIGGER_NAME, labels },
      podMetadata: { labels },
      // One decider: the queue and dedupe are serialized in the process (state is in the cluster).
      replicas: 1,
      // Selector from our labels only: cdk8s-plus would select on a construct-path hash.
      select: false,
      strategy: kplus.DeploymentStrategy.recreate(),
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: true,
      terminationGracePeriod: Duration.seconds(BUILD_TRIGGER_TERMINATION_GRACE_SECONDS),
    });
    const container = this.deployment.addContainer({
      name: BUILD_TRIGGER_NAME,
      image: props.image,
      imagePullPolicy: kplus.ImagePullPolicy.ALWAYS,
      portNumber: BUILD_TRIGGER_PORT,
      envVariables: {
        PORT: kplus.EnvValue.fromValue(String(BUILD_TRIGGER_PORT)),
        NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
        BUILDS_CONFIG: kplus.EnvValue.fromValue(`${CONFIG_DIR}/builds.yaml`),
        WEBHOOK_SECRET_FILE: kplus.EnvValue.fromValue(`${SECRET_DIR}/webhook-secret`),
        API_TOKEN_FILE: kplus.EnvValue.fromValue(`${SECRET_DIR}/api-token`),
        MAX_CONCURRENT_BUILDS: kplus.EnvValue.fromValue(String(props.maxConcurrentBuilds ?? 2)),
      },
      readiness: kplus.Probe.fromHttpGet('/healthz', { port: BUILD_TRIGGER_PORT }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: BUILD_TRIGGER_PORT }),
      resources: {
        cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(BUILD_TRIGGER_MEMORY_LIMIT_MIB) },
      },
      securityContext: { ensureNonRoot: true, user: 1000, group: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selectorLabels('trigger', BUILD_TRIGGER_NAME) }));
    container.mount(SECRET_DIR, kplus.Volume.fromSecret(this, 'SecretVolume', secret, { name: 'secret' }), { readOnly: true });
    container.mount(CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', config, { name: 'config' }), { readOnly: true });
    dropAddressLabel(this.deployment);

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: BUILD_TRIGGER_NAME, labels },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ port: 80, targetPort: BUILD_TRIGGER_PORT, name: 'http' }],
    });
    for (const [key, value] of Object.entries(selectorLabels('trigger', BUILD_TRIGGER_NAME))) {
      this.service.selectLabel(key, value);
    }
  }
}

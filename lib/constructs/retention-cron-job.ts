import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { dropAddressLabel, standardLabels } from './labels';
import { NODE_IMAGE, NODE_IMAGE_USER } from './node-image';
import { pushCredentialEnv } from './push-secret';
import { useServerCanonicalForm } from './server-canonical';
import { RetentionPolicy, WORKLOADS } from '../retention/retention-program';
import { retentionProgramJs } from '../retention/retention-program-js';

/** Node.js for the retention program: the project's one pinned Node image. */
export const RETENTION_IMAGE = NODE_IMAGE;

/** The node user of the official image. */
export const RETENTION_USER = NODE_IMAGE_USER;

/** Default commit tags kept per image. */
export const DEFAULT_KEEP_COMMIT_TAGS = 10;

/** Default schedule: daily 03:00 UTC, an hour before the default garbage collection. */
export const DEFAULT_RETENTION_SCHEDULE = Cron.schedule({ minute: '0', hour: '3' });

/** Default namespace of the CronJob's ServiceAccount, as its ClusterRoleBinding names it. */
export const DEFAULT_RETENTION_NAMESPACE = 'default';

/** Where the program is mounted in the container. */
export const RETENTION_PROGRAM_DIR = '/opt/registry-retention';

/** What an app chooses about retention (ImageBuilderProps.retention). */
export interface RetentionOptions {
  /**
   * Commit tags kept per image, and per-image overrides.
   * @default - keep DEFAULT_KEEP_COMMIT_TAGS for every image
   */
  readonly policy?: RetentionPolicy;
  /**
   * When it runs (UTC).
   * @default DEFAULT_RETENTION_SCHEDULE
   */
  readonly schedule?: Cron;
  /** @default RETENTION_IMAGE */
  readonly image?: string;
  /**
   * The namespace dist/ is applied in: a ClusterRoleBinding must name the
   * CronJob's ServiceAccount with its namespace.
   * @default DEFAULT_RETENTION_NAMESPACE
   */
  readonly namespace?: string;
}

export interface RetentionCronJobProps extends RetentionOptions {
  /**
   * Name of the CronJob and its ConfigMap.
   * @default "registry-retention"
   */
  readonly name?: string;
  /** In-cluster URL of the registry API: take it from `Registry.serviceUrl`. */
  readonly registryUrl: string;
  /**
   * How Pods name this registry in their images (`host:port`): an image of
   * these hosts that a Pod or workload template names is in use and kept.
   */
  readonly imageHosts: string[];
  /**
   * The push Secret: deleting a manifest is a write.
   * @default DEFAULT_PUSH_SECRET
   */
  readonly pushSecretName?: string;
}

/**
 * A CronJob that deletes commit tags beyond the policy through the registry's
 * API (lib/retention/retention-program.ts); the registry Pod's garbage
 * collector frees the blobs later. One run at a time (Forbid), logs of the
 * last runs kept (restartPolicy Never: failed Pods stay).
 *
 * Images in use are kept: its ServiceAccount has a ClusterRole that may only
 * `list` Pods and the workloads that make Pods (WORKLOADS), cluster-wide, since
 * any namespace may run this registry's images; no get of a single object, no
 * watch, no Secrets, no writes.
 */
export class RetentionCronJob extends Construct {
  public readonly name: string;
  public readonly cronJob: kplus.CronJob;
  public readonly configMap: kplus.ConfigMap;
  /** Whose token the Job's Pod mounts. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** list on Pods and the workloads that make Pods, cluster-wide. */
  public readonly clusterRole: kplus.ClusterRole;

  constructor(scope: Construct, id: string, props: RetentionCronJobProps) {
    super(scope, id);
    this.name = props.name ?? 'registry-retention';
    const labels = standardLabels('retention', this.name);
    this.configMap = new kplus.ConfigMap(this, 'Program', {
      metadata: { name: this.name, labels },
      data: { 'retention.js': retentionProgramJs() },
    });
    const policy = props.policy ?? { keepCommitTags: DEFAULT_KEEP_COMMIT_TAGS };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, labels }, automountToken: false });
    this.clusterRole = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: this.name, labels } });
    for (const w of WORKLOADS) {
      this.clusterRole.allow(['list'], kplus.ApiResource.custom({ apiGroup: w.apiGroup, resourceType: w.resource }));
    }
    const binding = new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', { metadata: { name: this.name, labels }, role: this.clusterRole });
    binding.addSubjects(kplus.ServiceAccount.fromServiceAccountName(this, 'Subject', this.name, {
      namespaceName: props.namespace ?? DEFAULT_RETENTION_NAMESPACE,
    }));
    this.cronJob = new kplus.CronJob(this, 'CronJob', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      select: false,
      schedule: props.schedule ?? DEFAULT_RETENTION_SCHEDULE,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: Duration.hours(1),
      successfulJobsRetained: 3,
      failedJobsRetained: 3,
      backoffLimit: 2,
      activeDeadline: Duration.minutes(30),
      restartPolicy: kplus.RestartPolicy.NEVER,
      serviceAccount: this.serviceAccount,
      // Only this Pod mounts the token (the ServiceAccount itself does not): it lists workloads.
      automountServiceAccountToken: true,
      securityContext: { ensureNonRoot: true, user: RETENTION_USER, group: RETENTION_USER },
    });
    const container = this.cronJob.addContainer({
      name: 'retention',
      image: props.image ?? RETENTION_IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['node', `${RETENTION_PROGRAM_DIR}/retention.js`],
      envVariables: {
        REGISTRY_URL: kplus.EnvValue.fromValue(props.registryUrl),
        RETENTION_POLICY: kplus.EnvValue.fromValue(JSON.stringify({ keepCommitTags: policy.keepCommitTags, images: policy.images ?? {} })),
        REGISTRY_IMAGE_HOSTS: kplus.EnvValue.fromValue(props.imageHosts.join(',')),
        DRY_RUN: kplus.EnvValue.fromValue('false'),
        ...pushCredentialEnv(this, props.pushSecretName),
      },
      securityContext: {
        ensureNonRoot: true,
        user: RETENTION_USER,
        group: RETENTION_USER,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
      },
      resources: {
        cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
      },
    });
    container.mount(RETENTION_PROGRAM_DIR, kplus.Volume.fromConfigMap(this, 'ProgramVolume', this.configMap, { name: 'program' }), { readOnly: true });
    dropAddressLabel(this.cronJob);
    useServerCanonicalForm(this);
  }
}

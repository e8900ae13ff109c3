import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { REGISTRY_DATA_PATH } from './contract';
import { dropAddressLabel, selectorLabels, standardLabels } from './labels';
import { proxyNginxConf, registryConfigYaml } from './registry-config';
import { GC_SCRIPT } from './registry-gc-script';
import { useServerCanonicalForm } from './server-canonical';

/** The Distribution registry image, pinned (Docker Hub's `registry:2` line). */
export const REGISTRY_IMAGE = 'registry:2.8.3';

/** The port of the Service: the auth proxy listens on it, on the Pod's address. */
export const REGISTRY_CONTAINER_PORT = 5000;

/** The registry itself listens on the Pod's loopback only: everything goes through the proxy. */
export const REGISTRY_BACKEND_ADDR = '127.0.0.1:5001';

/** The auth proxy in front of the registry (nginx, Alpine based), pinned. */
export const PROXY_IMAGE = 'nginx:1.28.0-alpine';

/** The nginx user of the official image; the proxy needs no root. */
export const PROXY_USER = 101;

/** Secret with the htpasswd file (key `htpasswd`, bcrypt lines) the proxy checks pushes against. */
export const DEFAULT_HTPASSWD_SECRET = 'registry-htpasswd';

/** Key of the htpasswd file in its Secret. */
export const HTPASSWD_SECRET_KEY = 'htpasswd';

/** Where the registry's and the proxy's configuration files are mounted. */
export const REGISTRY_CONFIG_DIR = '/etc/docker/registry';
export const PROXY_CONFIG_DIR = '/etc/registry-proxy';
export const HTPASSWD_DIR = '/etc/registry-auth';
/** Shared by the proxy and the garbage collector: the read-only flag lives here. */
export const MAINTENANCE_DIR = '/run/registry-maintenance';

/** Default UTC time of the daily garbage collection (an hour after the default retention run). */
export const DEFAULT_GC_AT = '04:00';
/** Default seconds between opening the read-only window and collecting: requests let through just before finish. */
export const DEFAULT_GC_DRAIN_SECONDS = 30;

/** Default NodePort: inside 30000-32767 and easy to recognise. */
export const DEFAULT_REGISTRY_NODE_PORT = 30500;

/** The unprivileged user the registry runs as (the image's default is root, which it does not need). */
export const REGISTRY_USER = 1000;

export interface RegistryProps {
  /**
   * Name of the Deployment and the Service.
   * @default "registry"
   */
  readonly name?: string;

  /**
   * The NodePort builders push to as `localhost:<nodePort>`. Fixed (not
   * allocated by the cluster) so builders know it at synth time.
   * @default 30500
   */
  readonly nodePort?: number;

  /**
   * Keep images on a PersistentVolumeClaim of this size (e.g. `Size.gibibytes(10)`).
   * @default - an emptyDir: images are lost when the registry Pod is deleted or moves
   */
  readonly storageSize?: Size;

  /**
   * StorageClass of the claim, when `storageSize` is set.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;

  /**
   * The registry image.
   * @default REGISTRY_IMAGE
   */
  readonly image?: string;

  /**
   * The auth proxy image (nginx).
   * @default PROXY_IMAGE
   */
  readonly proxyImage?: string;

  /**
   * Name of the Secret (created out of band, never synthesized) holding the
   * htpasswd file under the key `htpasswd`: the accounts that may push.
   * @default DEFAULT_HTPASSWD_SECRET
   */
  readonly htpasswdSecretName?: string;

  /**
   * Daily UTC time (`HH:MM`) of garbage collection, inside a read-only window.
   * @default DEFAULT_GC_AT
   */
  readonly garbageCollectionAt?: string;

  /**
   * How long the read-only window stays open before collecting, so requests the
   * proxy let through just before it opened can finish.
   * @default Duration.seconds(DEFAULT_GC_DRAIN_SECONDS)
   */
  readonly garbageCollectionDrain?: Duration;
}

/**
 * A private registry for images built in the cluster: a Deployment of the
 * Distribution registry and a NodePort Service, so every node reaches it as
 * `localhost:<nodePort>` (Docker trusts 127.0.0.0/8 without TLS).
 *
 * Exactly one replica: the registry keeps its data on a local volume, and two
 * replicas without shared storage would each see half the pushes (a push to
 * one, a pull from the other: "manifest unknown"). For the same reason updates
 * use the Recreate strategy, which also lets a ReadWriteOnce claim move to the
 * new Pod instead of deadlocking a rolling update.
 */
export class Registry extends Construct {
  /** Name of the Deployment and Service. */
  public readonly name: string;
  /** The NodePort every node exposes the registry on. */
  public readonly nodePort: number;
  /** The port of the Service and of the container. */
  public readonly port = REGISTRY_CONTAINER_PORT;
  /** Where a builder on any node pushes: `localhost:<nodePort>`. */
  public readonly pushEndpoint: string;
  /**
   * The Service's in-cluster address, `<name>:<port>`: where a builder with its
   * own network (the buildkit engine) pushes; plain HTTP.
   */
  public readonly clusterEndpoint: string;
  /** In-cluster URL of the registry's API (through the proxy), for the retention CronJob. */
  public readonly serviceUrl: string;
  /** The Secret with the htpasswd file. */
  public readonly htpasswdSecretName: string;
  /** The registry's and the proxy's configuration files. */
  public readonly configMap: kplus.ConfigMap;

  public readonly deployment: kplus.Deployment;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: RegistryProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'registry';
    this.nodePort = props.nodePort ?? DEFAULT_REGISTRY_NODE_PORT;
    this.pushEndpoint = `localhost:${this.nodePort}`;
    this.clusterEndpoint = `${this.name}:${REGISTRY_CONTAINER_PORT}`;
    this.serviceUrl = `http://${this.name}:${REGISTRY_CONTAINER_PORT}`;
    this.htpasswdSecretName = props.htpasswdSecretName ?? DEFAULT_HTPASSWD_SECRET;
    const labels = standardLabels('registry', this.name);

    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: {
        'config.yml': registryConfigYaml({ addr: REGISTRY_BACKEND_ADDR, rootDirectory: REGISTRY_DATA_PATH }),
        'nginx.conf': proxyNginxConf({
          listen: String(REGISTRY_CONTAINER_PORT),
          upstream: REGISTRY_BACKEND_ADDR,
          htpasswdFile: `${HTPASSWD_DIR}/${HTPASSWD_SECRET_KEY}`,
          maintenanceDir: MAINTENANCE_DIR,
          tempDir: '/tmp/nginx',
        }),
      },
    });

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      // Selector from our labels only: cdk8s-plus would select on a construct-path hash.
      select: false,
      replicas: 1, // cdk8s-plus defaults to 2; see the class comment.
      strategy: kplus.DeploymentStrategy.recreate(),
      // A registry needs no Kubernetes API access.
      automountServiceAccountToken: false,
      securityContext: {
        ensureNonRoot: true,
        user: REGISTRY_USER,
        group: REGISTRY_USER,
        // The volume is created writable for this group, so the non-root registry can write it.
        fsGroup: REGISTRY_USER,
      },
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selectorLabels('registry', this.name) }));

    const registryImage = props.image ?? REGISTRY_IMAGE;
    const container = this.deployment.addContainer({
      name: 'registry',
      image: registryImage,
      // Pinned tag: pulling again on every start only adds a Docker Hub dependency.
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['registry', 'serve', `${REGISTRY_CONFIG_DIR}/config.yml`],
      // No ports: it listens on the Pod's loopback (REGISTRY_BACKEND_ADDR); the proxy has the port.
      // The registry writes only to its data volume, so the image itself stays read-only.
      securityContext: restrictedContainer(REGISTRY_USER),
      resources: {
        cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(1000) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(512) },
      },
    });
    const data = this.dataVolume(props);
    const config = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'registry-config' });
    container.mount(REGISTRY_DATA_PATH, data);
    container.mount(REGISTRY_CONFIG_DIR, config, { readOnly: true });

    const maintenance = kplus.Volume.fromEmptyDir(this, 'Maintenance', 'maintenance', { sizeLimit: Size.mebibytes(1) });
    const proxy = this.deployment.addContainer({
      name: 'auth-proxy',
      image: props.proxyImage ?? PROXY_IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['nginx', '-e', 'stderr', '-c', `${PROXY_CONFIG_DIR}/nginx.conf`, '-g', 'daemon off;'],
      ports: [{ number: REGISTRY_CONTAINER_PORT, name: 'registry' }],
      securityContext: restrictedContainer(PROXY_USER),
      resources: {
        cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(128) },
      },
      // "/" goes through the proxy to the registry: both must answer.
      liveness: kplus.Probe.fromHttpGet('/', { port: REGISTRY_CONTAINER_PORT }),
      readiness: kplus.Probe.fromHttpGet('/', { port: REGISTRY_CONTAINER_PORT }),
    });
    proxy.mount(PROXY_CONFIG_DIR, config, { readOnly: true });
    proxy.mount(HTPASSWD_DIR, kplus.Volume.fromSecret(this, 'Htpasswd',
      kplus.Secret.fromSecretName(this, 'HtpasswdSecret', this.htpasswdSecretName),
      // Readable by the proxy through the Pod's fsGroup, by nobody else.
      { name: 'htpasswd', defaultMode: 0o440 }), { readOnly: true });
    proxy.mount(MAINTENANCE_DIR, maintenance, { readOnly: true });
    proxy.mount('/tmp/nginx', kplus.Volume.fromEmptyDir(this, 'ProxyTemp', 'proxy-temp'));

    // Garbage collection in the registry's own Pod: it needs the registry's volume,
    // which an emptyDir or a ReadWriteOnce claim gives to this Pod only.
    const gc = this.deployment.addContainer({
      name: 'garbage-collector',
      image: registryImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['sh', '-c', GC_SCRIPT],
      envVariables: {
        GC_AT: kplus.EnvValue.fromValue(props.garbageCollectionAt ?? DEFAULT_GC_AT),
        GC_DRAIN_SECONDS: kplus.EnvValue.fromValue(String(props.garbageCollectionDrain?.toSeconds() ?? DEFAULT_GC_DRAIN_SECONDS)),
        REGISTRY_CONFIG: kplus.EnvValue.fromValue(`${REGISTRY_CONFIG_DIR}/config.yml`),
        REGISTRY_DATA: kplus.EnvValue.fromValue(REGISTRY_DATA_PATH),
        MAINTENANCE_DIR: kplus.EnvValue.fromValue(MAINTENANCE_DIR),
      },
      securityContext: restrictedContainer(REGISTRY_USER),
      resources: {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(256) },
      },
    });
    gc.mount(REGISTRY_DATA_PATH, data);
    gc.mount(REGISTRY_CONFIG_DIR, config, { readOnly: true });
    gc.mount(MAINTENANCE_DIR, maintenance);

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: this.name, labels },
      type: kplus.ServiceType.NODE_PORT,
      ports: [{ name: 'registry', port: REGISTRY_CONTAINER_PORT, targetPort: REGISTRY_CONTAINER_PORT, nodePort: this.nodePort }],
    });

    for (const [key, value] of Object.entries(selectorLabels('registry', this.name))) {
      this.service.selectLabel(key, value);
    }
    dropAddressLabel(this.deployment);
    // Pod Security "restricted" also wants all capabilities dropped and the runtime's default
    // seccomp profile; cdk8s-plus 27 has no "ALL" capability nor a seccompProfile field.
    ApiObject.of(this.deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
      // every container: the registry, the auth proxy, the garbage collector
      ...[0, 1, 2].map((i) => JsonPatch.add(`/spec/template/spec/containers/${i}/securityContext/capabilities`, { drop: ['ALL'] })),
    );
    useServerCanonicalForm(this);
  }

  private dataVolume(props: RegistryProps): kplus.Volume {
    if (!props.storageSize) {
      return kplus.Volume.fromEmptyDir(this, 'Data', 'registry-data');
    }
    const claim = new kplus.PersistentVolumeClaim(this, 'Claim', {
      metadata: { name: `${this.name}-data`, labels: standardLabels('registry', this.name) },
      storage: props.storageSize,
      storageClassName: props.storageClassName,
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
    });
    return kplus.Volume.fromPersistentVolumeClaim(this, 'Data', claim, { name: 'registry-data' });
  }
}

/**
 * Every container of the registry Pod: a fixed non-root uid in the registry's group (its
 * volumes are group-owned through the Pod's fsGroup), a read-only image, no privilege.
 */
function restrictedContainer(user: number): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user,
    group: REGISTRY_USER,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
  };
}

import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { dropAddressLabel, selectorLabels, standardLabels } from './labels';
import { useServerCanonicalForm } from './server-canonical';

/** The Distribution registry image, pinned (Docker Hub's `registry:2` line). */
export const REGISTRY_IMAGE = 'registry:2.8.3';

/** The port the registry listens on inside its container. */
export const REGISTRY_CONTAINER_PORT = 5000;

/** Default NodePort: inside 30000-32767 and easy to recognise. */
export const DEFAULT_REGISTRY_NODE_PORT = 30500;

/** Where the registry keeps blobs and manifests. */
export const REGISTRY_DATA_PATH = '/var/lib/registry';

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

  public readonly deployment: kplus.Deployment;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: RegistryProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'registry';
    this.nodePort = props.nodePort ?? DEFAULT_REGISTRY_NODE_PORT;
    this.pushEndpoint = `localhost:${this.nodePort}`;
    this.clusterEndpoint = `${this.name}:${REGISTRY_CONTAINER_PORT}`;
    const labels = standardLabels('registry', this.name);

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

    const container = this.deployment.addContainer({
      name: 'registry',
      image: props.image ?? REGISTRY_IMAGE,
      // Pinned tag: pulling again on every start only adds a Docker Hub dependency.
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ number: REGISTRY_CONTAINER_PORT, name: 'registry' }],
      securityContext: {
        ensureNonRoot: true,
        user: REGISTRY_USER,
        group: REGISTRY_USER,
        // The registry writes only to its data volume, so the image itself stays read-only.
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
      },
      resources: {
        cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(1000) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(512) },
      },
      liveness: kplus.Probe.fromHttpGet('/', { port: REGISTRY_CONTAINER_PORT }),
      readiness: kplus.Probe.fromHttpGet('/', { port: REGISTRY_CONTAINER_PORT }),
    });
    container.mount(REGISTRY_DATA_PATH, this.dataVolume(props));

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
      JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }),
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

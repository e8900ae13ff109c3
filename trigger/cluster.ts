import { Writable } from 'stream';
import * as k8s from '@kubernetes/client-node';
import { BUILDER_CONTAINER_NAME } from '../lib/constructs/contract';
import { httpStatus } from './cluster-errors';
import { MANAGED_BY } from './job';

/** A builder Job as the trigger sees it: the cluster holds all of its state. */
export interface JobRecord {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly suspended: boolean;
  readonly created: Date;
  readonly started?: Date;
  readonly finished?: Date;
  readonly succeeded: boolean;
  readonly failed: boolean;
}

/** The builder Pod of a Job, if the cluster still has one. */
export interface PodRecord {
  readonly name: string;
  /** Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  /** creationTimestamp: a Job's retries are Pods of their own, the newest is the last attempt. */
  readonly created: Date;
}

/**
 * What the trigger asks of the cluster: Jobs (create, list, resume, delete)
 * and the Pods and logs of their builds, in one namespace. Exactly the verbs
 * of its Role (lib/constructs/build-trigger.ts).
 */
export interface Cluster {
  listJobs(): Promise<JobRecord[]>;
  /** `false` when a Job of that name exists already. */
  createJob(manifest: any): Promise<boolean>;
  resumeJob(name: string): Promise<void>;
  /** Deletes the Job and, in the background, its Pods. */
  deleteJob(name: string): Promise<void>;
  jobPods(jobName: string): Promise<PodRecord[]>;
  /**
   * Copies the builder container's log into `out`, following while it runs; resolves when the log
   * ends. `opened` is called once the cluster has answered with the log (before it rejects, nothing
   * has been written to `out`).
   */
  streamLog(podName: string, out: Writable, follow: boolean, opened?: () => void): Promise<void>;
}

/** Cluster over the official client, @kubernetes/client-node, from a kubeconfig or the in-cluster ServiceAccount. */
export class KubeCluster implements Cluster {
  private readonly batch: k8s.BatchV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly logs: k8s.Log;

  constructor(private readonly kubeConfig: k8s.KubeConfig, readonly namespace: string) {
    this.batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.logs = new k8s.Log(this.kubeConfig);
  }

  /** KUBECONFIG when set, else the Pod's ServiceAccount (loadFromDefault). */
  static fromEnvironment(namespace: string): KubeCluster {
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    return new KubeCluster(kc, namespace);
  }

  async listJobs(): Promise<JobRecord[]> {
    const list = await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}` });
    return list.items.map((job) => {
      const conditions = job.status?.conditions ?? [];
      const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
      // completionTime is set only on success; a failed build ended when its Failed condition became true
      const failedAt = conditions.find((c) => c.type === 'Failed' && c.status === 'True')?.lastTransitionTime;
      const end = job.status?.completionTime ?? failedAt;
      return {
        name: job.metadata?.name ?? '',
        labels: job.metadata?.labels ?? {},
        annotations: job.metadata?.annotations ?? {},
        suspended: job.spec?.suspend === true,
        created: job.metadata?.creationTimestamp ? new Date(job.metadata.creationTimestamp) : new Date(0),
        started: job.status?.startTime ? new Date(job.status.startTime) : undefined,
        finished: end ? new Date(end) : undefined,
        succeeded: has('Complete') || (job.status?.succeeded ?? 0) > 0,
        failed: has('Failed'),
      };
    });
  }

  async createJob(manifest: any): Promise<boolean> {
    try {
      await this.batch.createNamespacedJob({ namespace: this.namespace, body: manifest });
      return true;
    } catch (e) {
      if (httpStatus(e) === 409) return false;
      throw e;
    }
  }

  async resumeJob(name: string): Promise<void> {
    await this.batch.patchNamespacedJob(
      { name, namespace: this.namespace, body: { spec: { suspend: false } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  async deleteJob(name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' });
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
  }

  async jobPods(jobName: string): Promise<PodRecord[]> {
    const list = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${jobName}` });
    return list.items.map((pod) => ({
      name: pod.metadata?.name ?? '',
      phase: pod.status?.phase ?? 'Unknown',
      created: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : new Date(0),
    }));
  }

  async streamLog(podName: string, out: Writable, follow: boolean, opened?: () => void): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('close', resolve);
      this.logs.log(this.namespace, podName, BUILDER_CONTAINER_NAME, out, { follow, pretty: false, timestamps: false })
        .then((abort) => {
          opened?.();
          out.once('close', () => abort.abort());
        })
        .catch(reject);
    });
  }
}

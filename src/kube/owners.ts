import { getJson, KubeApiError, type KubeApiConfig } from './kube-api.js';
import type { Pod, ReplicaSet } from './types.js';

/** The workload that owns a pod, as OTel's k8s.*.name attributes name it. */
export interface Workload {
  kind: 'Deployment' | 'ReplicaSet' | 'DaemonSet' | 'StatefulSet' | 'Job' | 'CronJob' | string;
  name: string;
}

/**
 * Resolves a pod's controlling workload. A Deployment owns its pods only through a
 * ReplicaSet, so that one hop needs an API call; its answer never changes for a given
 * ReplicaSet uid (owner references of a ReplicaSet are set once by the Deployment
 * controller), so it is cached for the ReplicaSet's life. Misses (RBAC, not found) are
 * cached briefly so a broken lookup is not retried on every sample.
 */
export class OwnerResolver {
  private readonly cache = new Map<string, { workload: Workload; expiresAtMs: number }>();

  constructor(
    private readonly api: KubeApiConfig,
    private readonly opts: { maxEntries?: number; failureTtlMs?: number; now?: () => number } = {},
  ) {}

  async workloadOf(pod: Pod): Promise<Workload | undefined> {
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
    if (!owner) return undefined;
    if (owner.kind !== 'ReplicaSet') return { kind: owner.kind, name: owner.name };
    const namespace = pod.metadata.namespace ?? 'default';
    const key = `${namespace}/${owner.name}/${owner.uid ?? ''}`;
    const now = this.opts.now?.() ?? Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAtMs > now) return cached.workload;

    let workload: Workload = { kind: 'ReplicaSet', name: owner.name };
    let expiresAtMs = Infinity;
    try {
      const rs = await getJson<ReplicaSet>(this.api, `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(owner.name)}`);
      const dep = rs.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
      if (dep) workload = { kind: 'Deployment', name: dep.name };
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      // 403: the ClusterRole lacks replicasets get; 404: deleted. Fall back to the RS name.
      expiresAtMs = now + (this.opts.failureTtlMs ?? 60_000);
    }
    const maxEntries = this.opts.maxEntries ?? 4096;
    if (this.cache.size >= maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { workload, expiresAtMs });
    return workload;
  }
}

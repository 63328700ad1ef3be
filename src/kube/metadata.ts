import { readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { readContainerRef, type CgroupContainerRef } from './cgroup.js';
import { parseImageRef } from './image-ref.js';
import type { Workload } from './owners.js';
import type { ContainerLocation } from './pod-watcher.js';
import type { Pod } from './types.js';

/** OTel resource attributes (semantic conventions names): strings, and process.pid as an integer. */
export type ResourceAttributes = Record<string, string | number>;

/** What the resolver needs from the pod watcher (an interface, so tests can pass a fixed set). */
export interface PodIndex {
  containerById(containerId: string): ContainerLocation | undefined;
  podByUid(uid: string): Pod | undefined;
}

export interface MetadataResolverOptions {
  /** Absent outside Kubernetes: attributes then come from the cgroup and the process only. */
  pods?: PodIndex;
  owners?: { workloadOf(pod: Pod): Promise<Workload | undefined> };
  nodeName?: string;
  procRoot?: string;
  /** How long one pid's cgroup and executable are reused; a profile window by default. */
  processCacheTtlMs?: number;
}

/** What the caller already read of the process (the agent's process table): not read again. */
export interface KnownProcess {
  /** Basename of /proc/PID/exe (else comm). */
  executableName?: string;
}

export interface MetadataResolver {
  /** Resource attributes for a process; `{}` only when the process has exited. */
  resolveProcessMetadata(pid: number, known?: KnownProcess): Promise<ResourceAttributes>;
}

/** OTel's `k8s.<kind>.name` for the workload kinds it defines. */
const WORKLOAD_ATTRIBUTE: Record<string, string> = {
  Deployment: 'k8s.deployment.name',
  ReplicaSet: 'k8s.replicaset.name',
  DaemonSet: 'k8s.daemonset.name',
  StatefulSet: 'k8s.statefulset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
};

/**
 * Attributes of one container of a pod. service.name follows the OTel operator's order:
 * `app.kubernetes.io/name`, then `app`, then the workload name, then the pod name;
 * service.version: `app.kubernetes.io/version`, then the image tag.
 */
export function podResourceAttributes(pod: Pod, containerName: string | undefined, workload: Workload | undefined, nodeName?: string): ResourceAttributes {
  const attrs: ResourceAttributes = {};
  const labels = pod.metadata.labels ?? {};
  const set = (k: string, v: string | undefined): void => {
    if (v) attrs[k] = v;
  };
  set('k8s.pod.name', pod.metadata.name);
  set('k8s.pod.uid', pod.metadata.uid);
  set('k8s.namespace.name', pod.metadata.namespace);
  set('k8s.node.name', pod.spec?.nodeName ?? nodeName);
  set('k8s.container.name', containerName);
  if (workload) set(WORKLOAD_ATTRIBUTE[workload.kind] ?? `k8s.${workload.kind.toLowerCase()}.name`, workload.name);

  const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
  const image = specs.find((c) => c.name === containerName)?.image;
  const ref = image ? parseImageRef(image) : undefined;
  set('container.image.name', ref?.name);
  set('container.image.tag', ref?.tag);

  set('service.name', labels['app.kubernetes.io/name'] ?? labels['app'] ?? workload?.name ?? pod.metadata.name);
  set('service.version', labels['app.kubernetes.io/version'] ?? ref?.tag);
  set('service.namespace', pod.metadata.namespace);
  return attrs;
}

export function createMetadataResolver(opts: MetadataResolverOptions = {}): MetadataResolver {
  const procRoot = opts.procRoot ?? '/proc';
  const ttlMs = opts.processCacheTtlMs ?? 10_000;
  const cache = new Map<number, { ref: CgroupContainerRef | undefined; exe: string | undefined; expiresAtMs: number }>();

  async function processFacts(
    pid: number,
    known: KnownProcess | undefined,
  ): Promise<{ ref: CgroupContainerRef | undefined; exe: string | undefined } | undefined> {
    const now = Date.now();
    const hit = cache.get(pid);
    if (hit && hit.expiresAtMs > now) return hit;
    // /proc/PID/exe is read once per process, by the process table; standalone callers have none.
    const [ref, exe] = await Promise.all([readContainerRef(pid, procRoot), known?.executableName ?? executableName(procRoot, pid)]);
    if (exe === undefined && ref === undefined) {
      cache.delete(pid);
      return undefined;
    }
    // Bounded: entries of exited pids expire and are swept as new ones arrive.
    if (cache.size > 8192) for (const [p, e] of cache) if (e.expiresAtMs <= now) cache.delete(p);
    const entry = { ref, exe, expiresAtMs: now + ttlMs };
    cache.set(pid, entry);
    return entry;
  }

  return {
    async resolveProcessMetadata(pid: number, known?: KnownProcess): Promise<ResourceAttributes> {
      const facts = await processFacts(pid, known);
      if (!facts) return {};
      const { ref, exe } = facts;
      let attrs: ResourceAttributes = {};
      const loc = (ref?.containerId && opts.pods?.containerById(ref.containerId)) || (ref?.podUid && podOnly(opts.pods?.podByUid(ref.podUid)));
      if (loc) {
        const workload = await opts.owners?.workloadOf(loc.pod);
        attrs = podResourceAttributes(loc.pod, loc.containerName, workload, opts.nodeName);
      } else if (opts.nodeName) {
        attrs['k8s.node.name'] = opts.nodeName;
      }
      if (ref?.containerId) attrs['container.id'] = ref.containerId;
      if (ref?.runtime && ref.runtime !== 'unknown') attrs['container.runtime'] = ref.runtime;
      // An integer, as semconv and every other producer of process.pid here (the store reads it as one).
      attrs['process.pid'] = pid;
      if (exe) {
        attrs['process.executable.name'] = exe;
        // Outside Kubernetes (or a pod not yet seen) the process is the service.
        attrs['service.name'] ??= exe;
      }
      return attrs;
    },
  };
}

/** A pod found by uid only: the container is known when the pod has just one. */
function podOnly(pod: Pod | undefined): ContainerLocation | undefined {
  if (!pod) return undefined;
  const containers = pod.spec?.containers ?? [];
  return { pod, containerName: containers.length === 1 ? containers[0]!.name : '' };
}

/** Basename of /proc/PID/exe (as the process's own mount namespace names it), else comm. */
async function executableName(procRoot: string, pid: number): Promise<string | undefined> {
  try {
    const target = await readlink(`${procRoot}/${pid}/exe`);
    return basename(target.replace(/ \(deleted\)$/, ''));
  } catch {
    // Kernel threads have no exe; a process we may not ptrace-read still shows comm.
    try {
      return (await readFile(`${procRoot}/${pid}/comm`, 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

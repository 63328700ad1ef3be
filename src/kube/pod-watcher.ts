import { setTimeout as sleep } from 'node:timers/promises';
import { getJson, KubeApiError, watchLines, type KubeApiConfig } from './kube-api.js';
import type { ContainerStatus, ObjectList, Pod, WatchEvent } from './types.js';

/**
 * Keeps the pods scheduled on this node in memory: list, then watch from the list's
 * resourceVersion, the way client-go's reflector does.
 *
 * - `fieldSelector=spec.nodeName=<node>` so each agent sees only its node's pods (the API
 *   server load is O(pods per node), not O(cluster)).
 * - `allowWatchBookmarks` keeps the resourceVersion fresh on quiet nodes, so a reconnect
 *   rarely needs a relist.
 * - 410 Gone (as an HTTP status or an ERROR event) means the resourceVersion fell out of the
 *   watch cache: relist.
 * - A dropped connection or an API error resumes the watch after exponential backoff with
 *   jitter (capped), so a restarting API server is not hit by every node at once.
 * - The server ends each watch after `timeoutSeconds`; resuming then costs no relist.
 */

export interface PodWatcherOptions {
  api: KubeApiConfig;
  /** This node's name (NODE_NAME from the downward API). */
  nodeName: string;
  /** Server-side watch duration before a clean resume; client-go uses 5–10 min. */
  watchTimeoutSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called after each change to the store (tests and debug logging). */
  onChange?: (type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'RELISTED', pod?: Pod) => void;
  /** Called with each failure that led to a backoff (the agent logs it, rate-limited). */
  onError?: (err: Error) => void;
}

export interface PodWatcherStats {
  lists: number;
  /** Relists forced by 410 Gone. */
  goneRelists: number;
  /** Watches resumed after an error or dropped connection. */
  reconnects: number;
  malformedEvents: number;
}

/** The container a runtime id belongs to. */
export interface ContainerLocation {
  pod: Pod;
  containerName: string;
}

export class PodWatcher {
  private readonly podsByUid = new Map<string, Pod>();
  private readonly containerIndex = new Map<string, { podUid: string; containerName: string }>();
  private readonly mirrorHashIndex = new Map<string, string>();
  private resourceVersion: string | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private firstListDone!: () => void;
  private readonly listed = new Promise<void>((resolve) => (this.firstListDone = resolve));
  readonly stats: PodWatcherStats = { lists: 0, goneRelists: 0, reconnects: 0, malformedEvents: 0 };

  constructor(private readonly opts: PodWatcherOptions) {
    if (!opts.nodeName) {
      throw new Error('pod watcher: node name is empty; set NODE_NAME from the downward API (spec.nodeName), as deploy/kubernetes/daemonset.yaml does');
    }
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves after the first successful list (readiness can wait on it). */
  synced(): Promise<void> {
    return this.listed;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  pods(): Pod[] {
    return [...this.podsByUid.values()];
  }

  podByUid(uid: string): Pod | undefined {
    const direct = this.podsByUid.get(uid);
    if (direct) return direct;
    // Static pods: the cgroup carries the config hash, the API object a different uid.
    const mirrored = this.mirrorHashIndex.get(uid.replaceAll('-', ''));
    return mirrored ? this.podsByUid.get(mirrored) : undefined;
  }

  /** The pod and container a 64-hex runtime container id belongs to. */
  containerById(containerId: string): ContainerLocation | undefined {
    const hit = this.containerIndex.get(containerId);
    const pod = hit && this.podsByUid.get(hit.podUid);
    return pod ? { pod, containerName: hit.containerName } : undefined;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const initialBackoffMs = this.opts.initialBackoffMs ?? 500;
    const maxBackoffMs = this.opts.maxBackoffMs ?? 30_000;
    let backoffMs = initialBackoffMs;
    while (!signal.aborted) {
      let listedNow = false;
      try {
        if (this.resourceVersion === undefined) {
          await this.list(signal);
          listedNow = true;
        }
        const progressed = await this.watch(signal);
        // A watch that ended cleanly after delivering events resumes at once; one that ended
        // empty (a proxy cutting idle streams) backs off like an error, or it would spin.
        if (progressed) {
          backoffMs = initialBackoffMs;
          continue;
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof KubeApiError && err.status === 410) {
          this.resourceVersion = undefined;
          this.stats.goneRelists++;
          // Relist at once, unless the list we just made is itself already too old: then
          // something is wrong server-side and a tight list loop would only add load.
          if (!listedNow) continue;
        }
        this.stats.reconnects++;
        this.opts.onError?.(err as Error);
      }
      // Full jitter: a random wait in [backoff/2, backoff), so nodes spread out after an outage.
      const waitMs = backoffMs / 2 + Math.random() * (backoffMs / 2);
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      await sleep(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private podsPath(extra: string): string {
    const selector = encodeURIComponent(`spec.nodeName=${this.opts.nodeName}`);
    return `/api/v1/pods?fieldSelector=${selector}${extra}`;
  }

  private async list(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, Pod>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await getJson<ObjectList<Pod>>(
        this.opts.api,
        this.podsPath(`&limit=500${continueToken ? `&continue=${encodeURIComponent(continueToken)}` : ''}`),
        signal,
      );
      for (const pod of page.items ?? []) if (pod.metadata?.uid) fresh.set(pod.metadata.uid, pod);
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken);
    this.podsByUid.clear();
    this.containerIndex.clear();
    this.mirrorHashIndex.clear();
    for (const pod of fresh.values()) this.upsert(pod);
    this.resourceVersion = resourceVersion;
    this.stats.lists++;
    this.opts.onChange?.('RELISTED');
    this.firstListDone();
  }

  /** Returns true when the stream delivered at least one event before ending. */
  private async watch(signal: AbortSignal): Promise<boolean> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300;
    const path = this.podsPath(
      `&watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}&resourceVersion=${encodeURIComponent(this.resourceVersion ?? '')}`,
    );
    let progressed = false;
    for await (const raw of watchLines(this.opts.api, path, signal, () => this.stats.malformedEvents++)) {
      const event = raw as WatchEvent<Pod>;
      if (event?.type === 'ERROR') {
        if (event.object?.code === 410) throw new KubeApiError(410, path, event.object.message ?? 'resourceVersion too old');
        throw new KubeApiError(event.object?.code ?? 0, path, event.object?.message ?? 'watch error event');
      }
      const rv = event?.object?.metadata?.resourceVersion;
      if (!rv || !['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'].includes(event.type)) {
        this.stats.malformedEvents++;
        continue;
      }
      progressed = true;
      this.resourceVersion = rv;
      if (event.type === 'BOOKMARK') continue;
      const pod = event.object as Pod;
      if (!pod.metadata.uid) {
        this.stats.malformedEvents++;
        continue;
      }
      if (event.type === 'DELETED') this.remove(pod.metadata.uid);
      else this.upsert(pod);
      this.opts.onChange?.(event.type, pod);
    }
    return progressed;
  }

  private upsert(pod: Pod): void {
    const uid = pod.metadata.uid!;
    this.remove(uid);
    this.podsByUid.set(uid, pod);
    const statuses: ContainerStatus[] = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.ephemeralContainerStatuses ?? []),
    ];
    for (const s of statuses) {
      const id = runtimeContainerId(s.containerID);
      if (id) this.containerIndex.set(id, { podUid: uid, containerName: s.name });
    }
    const mirror = pod.metadata.annotations?.['kubernetes.io/config.mirror'];
    if (mirror) this.mirrorHashIndex.set(mirror, uid);
  }

  private remove(uid: string): void {
    if (!this.podsByUid.delete(uid)) return;
    for (const [id, loc] of this.containerIndex) if (loc.podUid === uid) this.containerIndex.delete(id);
    for (const [hash, podUid] of this.mirrorHashIndex) if (podUid === uid) this.mirrorHashIndex.delete(hash);
  }
}

/** `containerd://2032…` → `2032…`; the scheme names the runtime and is not part of the id. */
export function runtimeContainerId(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const sep = containerID.indexOf('://');
  return sep >= 0 ? containerID.slice(sep + 3) : containerID;
}

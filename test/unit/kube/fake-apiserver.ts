import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Pod } from '../../../src/kube/index.js';

/**
 * A local HTTP server that speaks the Kubernetes list/watch wire format for pods, as the
 * real API server does (k8s.io/apiserver, watch with `application/json`):
 *   - LIST: a `PodList` whose metadata.resourceVersion is the store's current version;
 *   - WATCH: HTTP 200, then one JSON object per line, `{"type":…,"object":…}`, replaying every
 *     event newer than the requested resourceVersion, then live events;
 *   - a resourceVersion older than the watch cache window: HTTP 200 followed by an ERROR event
 *     carrying a `Status` with code 410 ("too old resource version"), then the stream closes;
 *   - BOOKMARK events carry only metadata.resourceVersion (when allowWatchBookmarks=true).
 */
export class FakeApiServer {
  private rv = 100;
  private readonly pods = new Map<string, Pod>();
  private readonly replicaSets = new Map<string, unknown>();
  private readonly events: { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: Pod }[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  private oldestWatchableRv = 0;
  private readonly watchers = new Set<{ res: ServerResponse; nodeName: string; bookmarks: boolean }>();
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  /** Every request, for assertions on the query the agent sent. */
  readonly requests: { path: string; params: URLSearchParams; authorization?: string }[] = [];
  /** When set, watch requests answer this HTTP status (an API server in trouble). */
  failWatchesWithStatus: number | undefined;
  readonly expectedToken = 'test-token-abc';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push({ path: url.pathname, params: url.searchParams, authorization: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${this.expectedToken}`) return this.status(res, 401, 'Unauthorized', 'Unauthorized');
      if (url.pathname === '/api/v1/pods') return this.pods_(url.searchParams, res);
      const rs = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets\/([^/]+)$/.exec(url.pathname);
      if (rs) {
        const obj = this.replicaSets.get(`${rs[1]}/${rs[2]}`);
        if (!obj) return this.status(res, 404, 'NotFound', `replicasets.apps "${rs[2]}" not found`);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(obj));
      }
      this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addReplicaSet(namespace: string, name: string, deployment: string): void {
    this.replicaSets.set(`${namespace}/${name}`, {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      metadata: {
        name,
        namespace,
        uid: `rs-${name}`,
        resourceVersion: String(++this.rv),
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment, uid: `dep-${deployment}`, controller: true, blockOwnerDeletion: true },
        ],
      },
    });
  }

  upsertPod(pod: Pod): void {
    const type = this.pods.has(pod.metadata.uid!) ? 'MODIFIED' : 'ADDED';
    const stored: Pod = structuredClone(pod);
    stored.metadata.resourceVersion = String(++this.rv);
    this.pods.set(pod.metadata.uid!, stored);
    this.emit(type, stored);
  }

  deletePod(uid: string): void {
    const pod = structuredClone(this.pods.get(uid)!);
    this.pods.delete(uid);
    pod.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', pod);
  }

  /** Sends a BOOKMARK with the current resourceVersion to every open watch that asked for them. */
  bookmark(): string {
    const rv = String(++this.rv);
    for (const w of this.watchers) {
      if (w.bookmarks) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv } } }) + '\n');
    }
    return rv;
  }

  /** Writes raw text into every open watch stream (malformed input). */
  writeRaw(text: string): void {
    for (const w of this.watchers) w.res.write(text);
  }

  /** Forgets history: watches from any version before the current one get 410 Gone. */
  compact(): void {
    this.oldestWatchableRv = this.rv;
    this.events.length = 0;
  }

  /** Cuts every open watch connection mid-stream, as a crashed API server or LB would. */
  dropWatchConnections(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  openWatches(): number {
    return this.watchers.size;
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod): void {
    this.events.push({ rv: Number(pod.metadata.resourceVersion), type, pod });
    for (const w of this.watchers) if (pod.spec?.nodeName === w.nodeName) w.res.write(JSON.stringify({ type, object: pod }) + '\n');
  }

  private pods_(params: URLSearchParams, res: ServerResponse): void {
    const selector = /^spec\.nodeName=(.+)$/.exec(params.get('fieldSelector') ?? '');
    if (!selector) return this.status(res, 400, 'BadRequest', 'this fake only serves node-scoped pod queries');
    const nodeName = selector[1]!;
    if (params.get('watch') !== '1' && params.get('watch') !== 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const items = [...this.pods.values()].filter((p) => p.spec?.nodeName === nodeName);
      return void res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items }));
    }
    if (this.failWatchesWithStatus) return this.status(res, this.failWatchesWithStatus, 'InternalError', 'etcd unavailable');
    const fromRv = Number(params.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (fromRv < this.oldestWatchableRv) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${fromRv} (${this.oldestWatchableRv})`,
        reason: 'Expired',
        code: 410,
      };
      res.write(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      return void res.end();
    }
    for (const e of this.events) if (e.rv > fromRv && e.pod.spec?.nodeName === nodeName) res.write(JSON.stringify({ type: e.type, object: e.pod }) + '\n');
    const watcher = { res, nodeName, bookmarks: params.get('allowWatchBookmarks') === 'true' };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }
}

/** A pod as the API server returns it (fields trimmed to those kubectl shows for a running pod). */
export function makePod(o: {
  name: string;
  namespace?: string;
  uid: string;
  nodeName: string;
  containerId?: string;
  image?: string;
  labels?: Record<string, string>;
  replicaSet?: string;
}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      uid: o.uid,
      labels: o.labels,
      ownerReferences: o.replicaSet
        ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.replicaSet, uid: `rs-${o.replicaSet}`, controller: true }]
        : undefined,
    },
    spec: { nodeName: o.nodeName, containers: [{ name: 'app', image: o.image ?? 'ghcr.io/acme/api:1.4.2' }] },
    status: {
      phase: 'Running',
      containerStatuses: o.containerId
        ? [{ name: 'app', image: o.image ?? 'ghcr.io/acme/api:1.4.2', imageID: 'ghcr.io/acme/api@sha256:0d12', containerID: `containerd://${o.containerId}` }]
        : undefined,
    },
  };
}

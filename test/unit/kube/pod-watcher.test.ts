import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetadataResolver, OwnerResolver, PodWatcher, type KubeApiConfig } from '../../../src/kube/index.js';
import { FakeApiServer, makePod } from './fake-apiserver.js';

const NODE = 'node-a';
const ID_A = 'a'.repeat(64);
const ID_C = 'c0ffee'.padEnd(64, '1');
const ID_D = 'd'.repeat(64);
const UID_A = '11111111-1111-4111-8111-111111111111';
const UID_B = '22222222-2222-4222-8222-222222222222';
const UID_C = '33333333-3333-4333-8333-333333333333';
const UID_D = '44444444-4444-4444-8444-444444444444';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A /proc look-alike holding one process per container: cgroup text as containerd writes it. */
function fakeProc(root: string, pid: number, containerId: string, podUid: string, exe: string): void {
  mkdirSync(join(root, String(pid)), { recursive: true });
  writeFileSync(
    join(root, String(pid), 'cgroup'),
    `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope\n`,
  );
  symlinkSync(exe, join(root, String(pid), 'exe'));
}

describe('pod watcher against a list/watch API server', () => {
  let server: FakeApiServer;
  let api: KubeApiConfig;
  let watcher: PodWatcher | undefined;
  let procRoot: string;

  beforeEach(async () => {
    server = new FakeApiServer();
    api = { baseUrl: await server.start(), token: () => server.expectedToken };
    procRoot = mkdtempSync(join(tmpdir(), 'hotspan-proc-'));
    fakeProc(procRoot, 101, ID_A, UID_A, '/usr/bin/python3.11');
    fakeProc(procRoot, 103, ID_C, UID_C, '/app/api-server');
    fakeProc(procRoot, 104, ID_D, UID_D, '/usr/local/bin/worker');
  });
  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    await server.stop();
    rmSync(procRoot, { recursive: true, force: true });
  });

  it('metadata appears, updates and disappears with the pods through reconnects and 410 relists', async () => {
    server.addReplicaSet('shop', 'api-7d9f8b6c5', 'api');
    server.upsertPod(makePod({ name: 'batch-x', uid: UID_A, nodeName: NODE, containerId: ID_A, image: 'python:3.11-slim', labels: { app: 'batch' } }));
    server.upsertPod(makePod({ name: 'elsewhere', uid: UID_B, nodeName: 'node-b', containerId: 'b'.repeat(64) }));

    watcher = new PodWatcher({ api, nodeName: NODE, initialBackoffMs: 20, maxBackoffMs: 100 });
    const resolver = createMetadataResolver({ pods: watcher, owners: new OwnerResolver(api), nodeName: NODE, procRoot, processCacheTtlMs: 0 });
    watcher.start();
    await watcher.synced();

    // Only this node's pods, through the field selector, with the service account token.
    const list = server.requests.find((r) => r.params.get('watch') === null)!;
    expect(list.params.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);
    expect(list.authorization).toBe(`Bearer ${server.expectedToken}`);
    expect(watcher.pods().map((p) => p.metadata.name)).toEqual(['batch-x']);
    expect(await resolver.resolveProcessMetadata(101)).toMatchObject({
      'k8s.pod.name': 'batch-x',
      'k8s.namespace.name': 'default',
      'k8s.container.name': 'app',
      'service.name': 'batch',
      'service.version': '3.11-slim',
      'container.image.name': 'python',
      'container.image.tag': '3.11-slim',
      'container.id': ID_A,
      'process.executable.name': 'python3.11',
    });

    // ADDED through the watch; the Deployment is found through the ReplicaSet owner.
    await waitFor('the watch to open', () => server.openWatches() === 1);
    const watchReq = server.requests.at(-1)!;
    expect(watchReq.params.get('allowWatchBookmarks')).toBe('true');
    expect(watchReq.params.get('resourceVersion')).toMatch(/^\d+$/);
    server.upsertPod(
      makePod({
        name: 'api-7d9f8b6c5-x2k4q',
        namespace: 'shop',
        uid: UID_C,
        nodeName: NODE,
        containerId: ID_C,
        replicaSet: 'api-7d9f8b6c5',
        labels: { 'app.kubernetes.io/version': '1.4.2' },
      }),
    );
    await waitFor('pod C', () => watcher!.containerById(ID_C) !== undefined);
    const c1 = await resolver.resolveProcessMetadata(103);
    expect(c1).toMatchObject({
      'k8s.pod.name': 'api-7d9f8b6c5-x2k4q',
      'k8s.pod.uid': UID_C,
      'k8s.namespace.name': 'shop',
      'k8s.node.name': NODE,
      'k8s.deployment.name': 'api',
      'service.name': 'api',
      'service.version': '1.4.2',
      'container.image.name': 'ghcr.io/acme/api',
      'container.image.tag': '1.4.2',
      'container.id': ID_C,
      'container.runtime': 'containerd',
    });

    // MODIFIED: a label change shows in the next resolution.
    server.upsertPod(
      makePod({
        name: 'api-7d9f8b6c5-x2k4q',
        namespace: 'shop',
        uid: UID_C,
        nodeName: NODE,
        containerId: ID_C,
        replicaSet: 'api-7d9f8b6c5',
        labels: { 'app.kubernetes.io/name': 'checkout', 'app.kubernetes.io/version': '1.5.0' },
      }),
    );
    await waitFor('pod C relabelled', () => watcher!.containerById(ID_C)?.pod.metadata.labels?.['app.kubernetes.io/name'] === 'checkout');
    expect(await resolver.resolveProcessMetadata(103)).toMatchObject({ 'service.name': 'checkout', 'service.version': '1.5.0' });

    // A bookmark moves the resume point; a dropped connection resumes from it without a relist,
    // and a pod added while disconnected is replayed.
    const bookmarkRv = server.bookmark();
    await new Promise((r) => setTimeout(r, 50));
    const watchesBefore = server.requests.filter((r) => r.params.get('watch') === '1').length;
    server.dropWatchConnections();
    server.upsertPod(makePod({ name: 'worker-0', uid: UID_D, nodeName: NODE, containerId: ID_D, labels: {} }));
    await waitFor('pod D after reconnect', () => watcher!.containerById(ID_D) !== undefined);
    const resumed = server.requests.filter((r) => r.params.get('watch') === '1')[watchesBefore]!;
    expect(resumed.params.get('resourceVersion')).toBe(bookmarkRv);
    expect(watcher.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(watcher.stats.lists).toBe(1);
    // No label and no owner: service.name falls back to the pod name.
    expect((await resolver.resolveProcessMetadata(104))['service.name']).toBe('worker-0');

    // History compacted while disconnected, and pod A deleted in the gap: 410 → relist.
    await waitFor('the watch to reopen', () => server.openWatches() === 1);
    server.compact();
    server.dropWatchConnections();
    server.deletePod(UID_A);
    server.compact();
    await waitFor('relist after 410', () => watcher!.stats.goneRelists === 1 && watcher!.stats.lists === 2);
    expect(watcher.containerById(ID_A)).toBeUndefined();
    const gone = await resolver.resolveProcessMetadata(101);
    expect(gone['k8s.pod.name']).toBeUndefined();
    expect(gone).toMatchObject({ 'container.id': ID_A, 'k8s.node.name': NODE, 'service.name': 'python3.11' });

    // DELETED through the watch.
    await waitFor('the watch to reopen', () => server.openWatches() === 1);
    server.deletePod(UID_C);
    await waitFor('pod C gone', () => watcher!.containerById(ID_C) === undefined);
    expect((await resolver.resolveProcessMetadata(103))['k8s.pod.name']).toBeUndefined();

    // Malformed lines are counted and skipped; the stream goes on.
    server.writeRaw('{"type":"ADDED","object":\n');
    server.deletePod(UID_D);
    await waitFor('pod D gone', () => watcher!.containerById(ID_D) === undefined);
    expect(watcher.stats.malformedEvents).toBe(1);
  });

  it('backs off while the API server fails instead of hammering it', async () => {
    server.failWatchesWithStatus = 500;
    const errors: string[] = [];
    watcher = new PodWatcher({ api, nodeName: NODE, initialBackoffMs: 50, maxBackoffMs: 400, onError: (e) => errors.push(e.message) });
    watcher.start();
    await watcher.synced();
    await new Promise((r) => setTimeout(r, 1_500));
    const watches = server.requests.filter((r) => r.params.get('watch') === '1').length;
    // Waits of ≥25, 50, 100, 200, 200… ms: at most ~12 tries in 1.5 s; a tight loop would make thousands.
    expect(watches).toBeGreaterThanOrEqual(3);
    expect(watches).toBeLessThanOrEqual(14);
    expect(errors[0]).toMatch(/HTTP 500: etcd unavailable/);
    server.failWatchesWithStatus = undefined;
    await waitFor('recovery', () => server.openWatches() === 1);
    expect(watcher.stats.lists).toBe(1);
  });

  it('says what is missing outside a pod', async () => {
    const { inClusterConfig } = await import('../../../src/kube/index.js');
    expect(() => inClusterConfig({}, '/nonexistent')).toThrow(/KUBERNETES_SERVICE_HOST.*not a pod/);
    expect(() => inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, '/nonexistent')).toThrow(
      /cannot read the service account from \/nonexistent.*automountServiceAccountToken/,
    );
    expect(() => new PodWatcher({ api, nodeName: '' })).toThrow(/NODE_NAME/);
  });
});

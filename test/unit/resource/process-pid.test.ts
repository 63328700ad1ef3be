// process.pid is an integer from the process table through the Kubernetes/container metadata to
// the OTLP bytes a receiver decodes and the row the store keeps. A string pid (as the metadata
// resolver once produced) is a different attribute type to every OTLP consumer.
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetadataResolver } from '../../../src/kube/index.js';
import { ProcessResources } from '../../../src/resource/index.js';
import { decodeRequest, encodeRequest, spanRecordOf, spansToOtlp, type ExportTraceServiceRequestObject } from '../../../src/otlp/index.js';
import { Store } from '../../../src/store/index.js';
import type { Span } from '../../../src/tracing/index.js';

const PID = 4242;
const CONTAINER = 'a'.repeat(64);

function fakeProc(): string {
  const root = mkdtempSync(join(tmpdir(), 'hotspan-pid-'));
  mkdirSync(join(root, String(PID)));
  writeFileSync(join(root, String(PID), 'cgroup'), `0::/system.slice/docker-${CONTAINER}.scope\n`);
  symlinkSync('/usr/bin/server', join(root, String(PID), 'exe'));
  return root;
}

const span: Span = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  name: 'GET /x',
  kind: 'server',
  startUnixNs: 1_700_000_000_000_000_000n,
  endUnixNs: 1_700_000_000_050_000_000n,
  startMonoNs: 1n,
  endMonoNs: 50_000_001n,
  attributes: { 'http.request.method': 'GET' },
  statusCode: 'unset',
  pid: PID,
  requestTid: PID,
};

describe('process.pid is an integer everywhere', () => {
  it('from the metadata resolver through OTLP bytes to the store row', async () => {
    const procRoot = fakeProc();
    const resolver = createMetadataResolver({ procRoot, nodeName: 'node-1' });
    const resources = new ProcessResources({ 'host.name': 'node-1' }, (pid, known) => resolver.resolveProcessMetadata(pid, known), {});
    resources.observe(PID, () => ({ pid: PID, name: 'server' }));
    await new Promise((r) => setTimeout(r, 20));
    const resource = resources.of({ pid: PID, name: 'server' });
    expect(resource['container.id']).toBe(CONTAINER); // the metadata did arrive and was merged
    expect(resource['process.pid']).toBe(PID);

    const { request } = spansToOtlp([spanRecordOf(span, resource)]);
    const received = decodeRequest<ExportTraceServiceRequestObject>('traces', encodeRequest('traces', request, { normalize: true }));
    const pidValue = received.resourceSpans[0]!.resource!.attributes.find((kv) => kv.key === 'process.pid')!.value!;
    expect(pidValue.intValue).toBe(String(PID));
    expect(pidValue.stringValue ?? '').toBe('');

    const dir = mkdtempSync(join(tmpdir(), 'hotspan-pid-store-'));
    const store = await Store.open({ dataDir: dir, retentionIntervalMs: 0 });
    try {
      await store.ingestTraces(received);
      const rows = await store.slowestSpans({ limit: 5 });
      expect(rows.map((r) => r.pid)).toEqual([PID]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(procRoot, { recursive: true, force: true });
    }
  });
});

/**
 * The embedded path without a protobuf round trip, and the store on its own thread:
 *  - profile windows → profilesToOtlp → Store.ingestProfiles as objects give exactly the rows the
 *    receiver's path (encode → decode) gives, span name and ambiguous attribution included;
 *  - the in-process exporter feeds the store through the sink's ingest entry point;
 *  - the worker proxy forwards any Store method by name and carries StoreError codes across.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ATTR_SPAN_ATTRIBUTION,
  ATTR_SPAN_CANDIDATES,
  ATTR_SPAN_NAME,
  createInProcessExporter,
  decodeRequest,
  encodeRequest,
  profilesToOtlp,
  resolveExporterConfig,
} from '../../../src/otlp/index.js';
import { openStoreWorker, Store, StoreError, type MergedProfile, type MergeLabel } from '../../../src/store/index.js';
import type { CpuSample, ProfileWindow } from '../../../src/profiling/types.js';
import type { Frame } from '../../../src/symbols/types.js';
import { collectorProfileErrors, pyroscopeIngestErrors } from '../../support/consumer-rules.js';
import { span, tempDir, tracesRequest, T0 } from './fixtures.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN_A = 'b7ad6b7169203331';
const f = (name: string, address: bigint): Frame => ({ name, kind: 'native', address, module: 'server', resolved: true });
const BURN: Frame[] = [f('burn', 0x401000n), f('handle', 0x402000n), f('main', 0x400500n)];
const POLL: Frame[] = [f('epoll_wait', 0x7f00n), f('main', 0x400500n)];

function sample(i: number, frames: Frame[], extra: Partial<CpuSample> = {}): CpuSample {
  return {
    timeUnixNs: T0 + BigInt(i) * 10_000_000n,
    timeMonoNs: BigInt(i),
    pid: 777,
    tid: 778,
    cpu: 0,
    threadName: 'srv',
    processName: 'server',
    frames,
    ...extra,
  };
}

/** 4 exact samples of span A (named), 3 ambiguous with 2 candidates and 2 with 3 (same stack), 5 untagged. */
function window(): ProfileWindow {
  const samples: CpuSample[] = [];
  let i = 0;
  for (let n = 0; n < 4; n++) samples.push(sample(i++, BURN, { traceId: TRACE, spanId: SPAN_A, spanName: 'GET /burn', spanAttribution: 'exact' }));
  for (let n = 0; n < 3; n++) samples.push(sample(i++, BURN, { spanAttribution: 'ambiguous', spanCandidates: 2 }));
  for (let n = 0; n < 2; n++) samples.push(sample(i++, BURN, { spanAttribution: 'ambiguous', spanCandidates: 3 }));
  for (let n = 0; n < 5; n++) samples.push(sample(i++, POLL));
  return {
    startUnixNs: T0,
    endUnixNs: T0 + 10_000_000_000n,
    periodNs: 10_101_010n,
    process: { pid: 777, name: 'server', executablePath: '/opt/server' },
    samples,
  };
}

/** Stack (leaf name) + labels → count, order-free. */
function summary(m: MergedProfile): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m.stacks) out[`${s.frames[0]!.name} ${JSON.stringify(s.labels)}`] = Number(s.count);
  return out;
}

const dirs: (() => void)[] = [];
afterAll(() => dirs.forEach((c) => c()));
function dir(tag: string): string {
  const t = tempDir(tag);
  dirs.push(t.cleanup);
  return t.dir;
}

const EXPECTED = {
  [`burn ${JSON.stringify({ traceId: TRACE, spanId: SPAN_A, spanName: 'GET /burn' })}`]: 4,
  [`burn ${JSON.stringify({ spanAttribution: 'ambiguous:2' })}`]: 3,
  [`burn ${JSON.stringify({ spanAttribution: 'ambiguous:3' })}`]: 2,
  [`epoll_wait ${JSON.stringify({})}`]: 5,
};
const LABELS = ['traceId', 'spanId', 'spanName', 'spanAttribution'] as const;

describe('span join data through the OTLP conversion into the store', () => {
  it('exports span name and ambiguous attribution as sample attributes, within the consumers rules', () => {
    const { request, malformed } = profilesToOtlp([window()]);
    expect(malformed).toBe(0);
    const keys = new Set(request.dictionary!.attributeTable.map((a) => request.dictionary!.stringTable[a.keyStrindex]));
    for (const k of [ATTR_SPAN_NAME, ATTR_SPAN_ATTRIBUTION, ATTR_SPAN_CANDIDATES]) expect(keys).toContain(k);
    // Samples of one stack with different candidate counts are different OTLP samples.
    expect(request.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples).toHaveLength(4);
    const decoded = decodeRequest('profiles', encodeRequest('profiles', request));
    expect(pyroscopeIngestErrors(decoded)).toEqual([]);
    expect(collectorProfileErrors(decoded)).toEqual([]);
  });

  it('stores span name and candidate counts; objects and the receiver path (protobuf) give the same rows', async () => {
    const direct = await Store.open({ dataDir: dir('inproc-direct'), retentionIntervalMs: 0 });
    const viaProto = await Store.open({ dataDir: dir('inproc-proto'), retentionIntervalMs: 0 });
    try {
      const { request } = profilesToOtlp([window()]);
      await direct.ingestProfiles(request);
      await viaProto.ingestProfiles(decodeRequest('profiles', encodeRequest('profiles', request)));
      const a = await direct.mergeProfile({ labels: [...LABELS] });
      const b = await viaProto.mergeProfile({ labels: [...LABELS] });
      expect(summary(a)).toEqual(EXPECTED);
      expect(summary(b)).toEqual(summary(a));
      expect(a.stacks.map((s) => s.frames)).toEqual(b.stacks.map((s) => s.frames));
      // The flame graph's names-only merge agrees with the full merge, odd names intact.
      const odd = window();
      odd.samples = odd.samples.slice(9, 12).map((x) => ({ ...x, frames: [f('we"ird\n名\\x', 0x409000n), ...POLL], timeUnixNs: x.timeUnixNs + 1n }));
      await direct.ingestProfiles(profilesToOtlp([odd]).request);
      const full = await direct.mergeProfile({});
      const named = await direct.mergeStackNames({});
      const fromFull = new Map<string, bigint>();
      for (const st of full.stacks) {
        const k = JSON.stringify(st.frames.map((x) => x.name).reverse());
        fromFull.set(k, (fromFull.get(k) ?? 0n) + st.count);
      }
      expect(new Map(named.stacks.map((st) => [JSON.stringify(st.names), st.count]))).toEqual(fromFull);
      expect(named.stacks.map((st) => st.names)).toContainEqual(['main', 'epoll_wait', 'we"ird\n名\\x']);
      expect(named.totalCount).toBe(17n);
      // What `hotspan profile --span` asks for.
      const bySpan = await direct.mergeProfile({ spanId: SPAN_A, labels: ['traceId', 'spanId', 'spanName'] });
      expect(bySpan.stacks.map((s) => s.labels.spanName)).toEqual(['GET /burn']);
    } finally {
      await direct.close();
      await viaProto.close();
    }
  });

  it('without addresses: the same stored rows from a request a fraction of the size', async () => {
    // A spinning loop: every sample's leaf is a different address of the same function, on two CPUs.
    const spin = window();
    spin.samples = Array.from({ length: 40 }, (_, i) =>
      sample(i, [f('spin', 0x401000n + BigInt(i) * 4n), f('handle', 0x402000n), f('main', 0x400500n)], { cpu: i % 2 }),
    );
    spin.samples.push(...window().samples.map((x) => ({ ...x, timeUnixNs: x.timeUnixNs + 500_000_000n })));
    const withAddresses = profilesToOtlp([spin]).request;
    const without = profilesToOtlp([spin], { addresses: false }).request;
    const samplesOf = (r: typeof without) => r.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples;
    // 40 distinct stacks collapse into one per CPU; the span-join samples keep their four.
    expect(samplesOf(withAddresses)).toHaveLength(44);
    expect(samplesOf(without)).toHaveLength(6);
    expect(without.dictionary!.locationTable.length).toBeLessThan(withAddresses.dictionary!.locationTable.length / 4);
    expect(without.dictionary!.locationTable.every((l) => l.address === '0')).toBe(true);
    const decoded = decodeRequest('profiles', encodeRequest('profiles', without));
    expect(pyroscopeIngestErrors(decoded)).toEqual([]);
    expect(collectorProfileErrors(decoded)).toEqual([]);

    const a = await Store.open({ dataDir: dir('inproc-addr'), retentionIntervalMs: 0 });
    const b = await Store.open({ dataDir: dir('inproc-noaddr'), retentionIntervalMs: 0 });
    try {
      await a.ingestProfiles(withAddresses);
      await b.ingestProfiles(without);
      const labels: MergeLabel[] = [...LABELS, 'tid', 'threadName'];
      const [ma, mb] = [await a.mergeProfile({ labels }), await b.mergeProfile({ labels })];
      const key = (m: MergedProfile) => m.stacks.map((s) => `${JSON.stringify(s.frames)} ${JSON.stringify(s.labels)} ${s.count} ${s.cpuNs}`).sort();
      expect(key(mb)).toEqual(key(ma));
      expect(mb.totalCount).toBe(54n);
      const [ra, rb] = [await a.stats(), await b.stats()];
      expect(rb.rowsIngested.samples).toBeLessThan(ra.rowsIngested.samples);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('the in-process exporter hands windows and spans to the store through its ingest entry point', async () => {
    const store = await Store.open({ dataDir: dir('inproc-exporter'), retentionIntervalMs: 0 });
    const calls: string[] = [];
    const sink = {
      ingestProfiles: (r: Parameters<typeof store.ingestProfiles>[0]) => (calls.push(`profiles:${r.dictionary ? 'object' : '?'}`), store.ingestProfiles(r)),
      ingestTraces: (r: Parameters<typeof store.ingestTraces>[0]) => (calls.push('traces'), store.ingestTraces(r)),
      ingestMetrics: (r: Parameters<typeof store.ingestMetrics>[0]) => store.ingestMetrics(r),
      ingestLogs: (r: Parameters<typeof store.ingestLogs>[0]) => store.ingestLogs(r),
    };
    const exporter = createInProcessExporter(resolveExporterConfig({}, {}, {}), sink, { log: () => {} });
    try {
      exporter.exportProfiles([window()]);
      exporter.exportSpans([
        {
          traceId: TRACE,
          spanId: SPAN_A,
          name: 'GET /burn',
          kind: 2,
          startUnixNs: T0,
          endUnixNs: T0 + 5_000_000n,
          attributes: {},
          resource: { 'service.name': 'server' },
        },
      ]);
      await exporter.forceFlush();
      expect(calls).toEqual(expect.arrayContaining(['profiles:object', 'traces']));
      expect(summary(await store.mergeProfile({ labels: [...LABELS] }))).toEqual(EXPECTED);
      expect((await store.spanById(SPAN_A)).map((s) => s.name)).toEqual(['GET /burn']);
      const st = exporter.stats();
      expect(st.profiles.exported).toBe(1);
      expect(st.profiles.bytesSent).toBeGreaterThan(0);
    } finally {
      await exporter.shutdown(1000);
      await store.close();
    }
  });
});

describe('the store on its own thread (openStoreWorker)', () => {
  it('forwards every Store method by name, with the same answers as in-thread', async () => {
    const d = dir('worker');
    const store = await openStoreWorker({ dataDir: d, retentionIntervalMs: 0 });
    try {
      const { request } = profilesToOtlp([window()]);
      await store.ingestProfiles(request);
      await store.ingestTraces(tracesRequest([span(1, { service: 'server', durationMs: 7, startNs: T0 })]));
      expect(summary(await store.mergeProfile({ labels: [...LABELS] }))).toEqual(EXPECTED);
      // 14 samples in 10 rows: those without a span, at most two per OTLP sample and second (decode-profiles.ts).
      expect((await store.stats()).rowsIngested.samples).toBe(10);
      const spans = await store.listSpans({ limit: 5 });
      expect(spans).toHaveLength(1);
      expect(typeof spans[0]!.durationNs).toBe('bigint');
      const named = await store.mergeStackNames({});
      expect(named.totalCount).toBe(14n);
      // A method the proxy has never heard of fails as the store would, not as the proxy.
      await expect((store as unknown as { noSuchQuery(): Promise<void> }).noSuchQuery()).rejects.toThrow(/no method noSuchQuery/);
    } finally {
      await store.close();
    }
    await expect(store.stats()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    // The data is on disk: the CLI's in-thread open sees it.
    const again = await Store.open({ dataDir: d, retentionIntervalMs: 0 });
    try {
      expect((await again.mergeProfile({})).totalCount).toBe(14n);
    } finally {
      await again.close();
    }
  });

  it('carries StoreError codes across the thread boundary', async () => {
    const d = dir('worker-err');
    const file = join(d, 'not-a-dir');
    writeFileSync(file, 'x');
    const err = await openStoreWorker({ dataDir: join(file, 'store') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'STORE_DIR' });
    // A query error keeps its message.
    const store = await openStoreWorker({ dataDir: join(d, 'ok'), retentionIntervalMs: 0 });
    try {
      await expect(store.mergeProfile({ labels: ['nope' as never] })).rejects.toThrow(/unknown label/);
    } finally {
      await store.close();
    }
  });
});

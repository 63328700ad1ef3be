/**
 * Round trips over real gRPC on loopback: hotspan's exporter → a grpc-js server (the embedded
 * receiver, or a recording test server) → protobufjs decode against the pinned .proto files.
 * Needs no privileges; runs everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  attributesOf,
  createFileExporter,
  createOtlpExporter,
  decodeRequest,
  encodeRequest,
  logsToOtlp,
  metricsToOtlp,
  resolveExporterConfig,
  spansToOtlp,
  startOtlpReceiver,
  validateProfilesData,
  type ExportProfilesServiceRequestObject,
  type LogRecord,
  type MetricPoint,
  type OtlpSink,
  type SpanRecord,
} from '../../src/otlp/index.js';
import type { ProfileWindow } from '../../src/profiling/types.js';
import { startCountingProxy, startTestServer } from './otlp-helpers.js';
import { retryInfoDetails } from '../../src/otlp/retry.js';

const resource = { 'service.name': 'checkout', 'host.name': 'node-1', 'process.pid': 77 };
const T0 = 1_700_000_000_000_000_000n;

function spans(n: number, prefix = 0): SpanRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: (prefix + i).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, 'a'),
    parentSpanId: i % 2 ? 'ffffffffffffffff' : undefined,
    name: `GET /item/${i}`,
    kind: 2 as const,
    startUnixNs: T0 + BigInt(i) * 1000n,
    endUnixNs: T0 + BigInt(i) * 1000n + 250_000n,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 + (i % 3), 'net.peer.ok': true, ratio: 0.25, 'pyroscope.profile.id': 'abc' },
    statusCode: i % 5 === 0 ? 2 : 0,
    statusMessage: i % 5 === 0 ? 'boom' : '',
    resource,
  }));
}

const metrics: MetricPoint[] = [
  { name: 'hotspan.samples', kind: 'sum', value: 1234, isInt: true, unit: '{sample}', timeUnixNs: T0 + 5n, startUnixNs: T0, attributes: { cpu: 0 }, resource },
  { name: 'hotspan.samples', kind: 'sum', value: 99, isInt: true, unit: '{sample}', timeUnixNs: T0 + 5n, startUnixNs: T0, attributes: { cpu: 1 }, resource },
  { name: 'hotspan.queue.fill', kind: 'gauge', value: 0.375, timeUnixNs: T0 + 6n, attributes: {}, resource },
];

const logs: LogRecord[] = [
  {
    timeUnixNs: T0 + 1n,
    severityNumber: 17,
    severityText: 'ERROR',
    body: 'upstream reset',
    attributes: { 'http.route': '/pay' },
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    resource,
  },
  { timeUnixNs: T0 + 2n, observedUnixNs: T0 + 3n, severityNumber: 9, body: 'ready', attributes: {}, resource },
];

function profileWindow(): ProfileWindow {
  const f = (name: string, address: bigint) => ({ name, kind: 'native' as const, address, module: 'app', resolved: true });
  const stacks = [
    [f('leaf', 0x10n), f('main', 0x20n)],
    [f('other', 0x30n), f('main', 0x20n)],
  ];
  return {
    startUnixNs: T0,
    endUnixNs: T0 + 10_000_000_000n,
    periodNs: 10_000_000n,
    process: { pid: 77, name: 'app' },
    samples: Array.from({ length: 30 }, (_, i) => ({
      timeUnixNs: T0 + BigInt(i) * 100_000_000n,
      timeMonoNs: 0n,
      pid: 77,
      tid: 78,
      cpu: 0,
      threadName: 'app',
      processName: 'app',
      frames: stacks[i % 3 === 0 ? 1 : 0]!,
    })),
  };
}

/** protobufjs normal form of a request object, so sent and received objects compare field by field. */
const normal = (signal: 'traces' | 'metrics' | 'logs' | 'profiles', req: object) => decodeRequest(signal, encodeRequest(signal, req));

const fast = { backoff: { initialBackoffMs: 50, maxBackoffMs: 200 }, log: () => {} };

describe('OTLP/gRPC round trip through the embedded receiver', () => {
  const got: Record<string, any[]> = { traces: [], metrics: [], logs: [], profiles: [] };
  const sink: OtlpSink = {
    ingestTraces: async (r) => void got.traces!.push(r),
    ingestMetrics: async (r) => void got.metrics!.push(r),
    ingestLogs: async (r) => void got.logs!.push(r),
    ingestProfiles: async (r) => void got.profiles!.push(r),
  };
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  beforeAll(async () => {
    receiver = await startOtlpReceiver({ port: 0, sink });
  });
  afterAll(() => receiver.close());

  it('delivers all four signals, each decoding to exactly what was sent', async () => {
    const exporter = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}` }), fast);
    const sent = spans(20);
    exporter.exportSpans(sent);
    exporter.exportMetrics(metrics);
    exporter.exportLogs(logs);
    exporter.exportProfiles([profileWindow()]);
    await exporter.forceFlush();
    await exporter.shutdown(1000);

    expect(got.traces).toEqual([normal('traces', spansToOtlp(sent).request)]);
    expect(got.metrics).toEqual([normal('metrics', metricsToOtlp(metrics).request)]);
    expect(got.logs).toEqual([normal('logs', logsToOtlp(logs).request)]);

    // Independent of the encoder: map the received spans back onto the records that went in.
    const rs = got.traces[0].resourceSpans;
    expect(rs).toHaveLength(1);
    expect(attributesOf(rs[0].resource.attributes)).toEqual(resource);
    const back = rs[0].scopeSpans[0].spans.map((s: any) => ({
      traceId: s.traceId.toString('hex'),
      spanId: s.spanId.toString('hex'),
      parentSpanId: s.parentSpanId.length ? s.parentSpanId.toString('hex') : undefined,
      name: s.name,
      kind: s.kind,
      startUnixNs: BigInt(s.startTimeUnixNano),
      endUnixNs: BigInt(s.endTimeUnixNano),
      attributes: attributesOf(s.attributes),
      statusCode: s.status.code,
      statusMessage: s.status.message,
      resource,
    }));
    expect(back).toEqual(sent);

    const m = got.metrics[0].resourceMetrics[0].scopeMetrics[0].metrics;
    expect(m.map((x: any) => x.name)).toEqual(['hotspan.samples', 'hotspan.queue.fill']);
    expect(m[0].sum.dataPoints.map((p: any) => [p.asInt, attributesOf(p.attributes)])).toEqual([
      ['1234', { cpu: 0 }],
      ['99', { cpu: 1 }],
    ]);
    expect(m[0].sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    expect(m[1].gauge.dataPoints[0].asDouble).toBe(0.375);

    const l = got.logs[0].resourceLogs[0].scopeLogs[0].logRecords;
    expect(l.map((r: any) => [r.body.stringValue, r.severityNumber, r.traceId.toString('hex'), r.timeUnixNano, r.observedTimeUnixNano])).toEqual([
      ['upstream reset', 17, '0af7651916cd43dd8448eb211c80319c', String(T0 + 1n), String(T0 + 1n)],
      ['ready', 9, '', String(T0 + 2n), String(T0 + 3n)],
    ]);

    const p = got.profiles[0] as ExportProfilesServiceRequestObject;
    expect(validateProfilesData(p)).toEqual([]);
    const samples = p.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples;
    expect(samples.map((s) => s.timestampsUnixNano.length).sort((a, b) => a - b)).toEqual([10, 20]);
    expect(exporter.stats().traces).toMatchObject({ exported: 20, dropped: 0, retries: 0, queueDepth: 0 });
    expect(exporter.stats().profiles.exported).toBe(1);
    expect(receiver.stats().requests).toEqual({ traces: 1, metrics: 1, logs: 1, profiles: 1 });
  });

  it('answers INVALID_ARGUMENT to bytes that are not a request, and keeps serving', async () => {
    const client = new grpc.Client(`127.0.0.1:${receiver.port}`, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) =>
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
        (err) => resolve(err?.code ?? 0),
      ),
    );
    client.close();
    expect(code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(receiver.stats().malformed).toBe(1);
  });
});

describe('exporter transport options', () => {
  it('sends gzip-compressed requests with the configured headers when asked, and they decode', async () => {
    const server = await startTestServer();
    const wireBytes: Record<string, number> = {};
    try {
      for (const compression of ['gzip', 'none']) {
        // A fresh proxy per run: bytes on the wire are the ground truth for compression.
        const proxy = await startCountingProxy(server.port);
        const exporter = createOtlpExporter(
          resolveExporterConfig({
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
            OTEL_EXPORTER_OTLP_COMPRESSION: compression,
            OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret,x-scope-orgid=tenant-1',
          }),
          fast,
        );
        exporter.exportSpans(spans(500));
        await exporter.forceFlush();
        await exporter.shutdown(1000);
        wireBytes[compression] = proxy.bytesUp();
        await proxy.close();
      }
      expect(server.received).toHaveLength(2);
      // 500 similar spans compress well; uncompressed they are ~100 bytes each.
      expect(wireBytes['none']).toBeGreaterThan(500 * 80);
      expect(wireBytes['gzip']! * 4).toBeLessThan(wireBytes['none']!);
      for (const r of server.received) {
        expect(r.metadata.get('authorization')).toEqual(['Bearer s3cret']);
        expect(r.metadata.get('x-scope-orgid')).toEqual(['tenant-1']);
        expect(r.request).toEqual(normal('traces', spansToOtlp(spans(500)).request));
      }
    } finally {
      await server.close();
    }
  });

  it('talks TLS to a server with a self-signed certificate given in OTEL_EXPORTER_OTLP_CERTIFICATE', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hotspan-otlp-tls-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const server = await startTestServer({
        credentials: grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }]),
      });
      try {
        const trusted = createOtlpExporter(
          resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `https://localhost:${server.port}`, OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: cert }),
          fast,
        );
        trusted.exportSpans(spans(3));
        await trusted.forceFlush();
        await trusted.shutdown(1000);
        expect(server.received).toHaveLength(1);
        expect(trusted.stats().traces.exported).toBe(3);

        // Without the certificate the handshake fails: nothing arrives, the spans are counted dropped.
        const untrusted = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `https://localhost:${server.port}` }), fast);
        untrusted.exportSpans(spans(3));
        untrusted.exportSpans([]);
        void untrusted.forceFlush();
        await new Promise((r) => setTimeout(r, 700));
        await untrusted.shutdown(300);
        expect(server.received).toHaveLength(1);
        expect(untrusted.stats().traces).toMatchObject({ exported: 0, dropped: 3 });
        expect(untrusted.stats().traces.retries).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts partial-success rejections and never retries permanent errors', async () => {
    const partial = await startTestServer({ partialSuccess: { rejected: 2, message: 'two spans too old' } });
    const permanent = await startTestServer({ rejectUntilMs: Infinity, rejectCode: grpc.status.INVALID_ARGUMENT });
    const logged: string[] = [];
    try {
      const a = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${partial.port}` }), {
        ...fast,
        log: (m) => logged.push(m),
      });
      a.exportSpans(spans(10));
      await a.forceFlush();
      await a.shutdown(500);
      expect(a.stats().traces).toMatchObject({ exported: 8, rejected: 2, dropped: 0 });
      expect(logged.join('\n')).toMatch(/rejected 2 of 10: two spans too old/);

      const b = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${permanent.port}` }), fast);
      b.exportSpans(spans(10));
      await b.forceFlush();
      await b.shutdown(500);
      expect(b.stats().traces).toMatchObject({ exported: 0, dropped: 10, retries: 0, requests: 1 });
      expect(permanent.rejectedCalls).toBe(1);
    } finally {
      await partial.close();
      await permanent.close();
    }
  });
});

describe('throttling and store trouble', () => {
  it('honours RetryInfo on RESOURCE_EXHAUSTED instead of its own (long) backoff', async () => {
    const server = await startTestServer({
      rejectFirstCalls: 1,
      rejectCode: grpc.status.RESOURCE_EXHAUSTED,
      rejectTrailers: () => {
        const md = new grpc.Metadata();
        md.set('grpc-status-details-bin', retryInfoDetails(grpc.status.RESOURCE_EXHAUSTED, 'slow down', 300));
        return md;
      },
    });
    try {
      const exporter = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.port}` }), {
        backoff: { initialBackoffMs: 20_000, maxBackoffMs: 20_000 },
        log: () => {},
      });
      const t0 = Date.now();
      exporter.exportSpans(spans(5));
      await exporter.forceFlush();
      const tookMs = Date.now() - t0;
      await exporter.shutdown(500);
      expect(server.rejectedCalls).toBe(1);
      expect(server.received).toHaveLength(1);
      expect(tookMs).toBeGreaterThanOrEqual(290);
      expect(tookMs).toBeLessThan(10_000);
      expect(exporter.stats().traces).toMatchObject({ exported: 5, retries: 1 });
    } finally {
      await server.close();
    }
  });

  it('gives up on a request after OTEL_EXPORTER_OTLP_TIMEOUT and retries it (DEADLINE_EXCEEDED is retryable)', async () => {
    const server = await startTestServer({ hangFirstCalls: 2 });
    try {
      const exporter = createOtlpExporter(
        resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '300' }),
        fast,
      );
      const t0 = Date.now();
      exporter.exportSpans(spans(4));
      await exporter.forceFlush();
      const tookMs = Date.now() - t0;
      await exporter.shutdown(500);
      expect(server.hungCalls).toBe(2);
      expect(server.received).toHaveLength(1);
      expect(exporter.stats().traces).toMatchObject({ exported: 4, retries: 2 });
      // Two 300 ms deadlines plus short backoffs; far below the 10 s default timeout.
      expect(tookMs).toBeGreaterThanOrEqual(600);
      expect(tookMs).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('gets UNAVAILABLE from the embedded receiver while its store fails, and delivers once it recovers', async () => {
    let failures = 3;
    const stored: any[] = [];
    const receiver = await startOtlpReceiver({
      port: 0,
      log: () => {},
      sink: {
        ingestTraces: async (r) => {
          if (failures-- > 0) throw new Error('database is locked');
          stored.push(r);
        },
        ingestMetrics: async () => {},
        ingestLogs: async () => {},
        ingestProfiles: async () => {},
      },
    });
    try {
      const exporter = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}` }), fast);
      exporter.exportSpans(spans(7));
      await exporter.forceFlush();
      await exporter.shutdown(500);
      expect(stored).toHaveLength(1);
      expect(stored[0].resourceSpans[0].scopeSpans[0].spans).toHaveLength(7);
      expect(receiver.stats().sinkErrors).toBe(3);
      expect(exporter.stats().traces).toMatchObject({ exported: 7, retries: 3, dropped: 0 });
    } finally {
      await receiver.close();
    }
  });
});

describe('file exporter', () => {
  it('writes one OTLP JSON line per batch per signal, hex ids, decodable with the proto definitions', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hotspan-otlp-file-'));
    try {
      const exporter = createFileExporter(dir, fast);
      exporter.exportSpans(spans(4));
      exporter.exportLogs(logs);
      exporter.exportMetrics(metrics);
      exporter.exportProfiles([profileWindow()]);
      await exporter.forceFlush();
      await exporter.shutdown(500);
      const read = (s: string) =>
        readFileSync(path.join(dir, `${s}.jsonl`), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
      const [t] = read('traces');
      const s0 = t.resourceSpans[0].scopeSpans[0].spans[0];
      expect(s0.traceId).toBe(spans(1)[0]!.traceId);
      expect(s0.spanId).toBe(spans(1)[0]!.spanId);
      expect(s0.startTimeUnixNano).toBe(String(T0));
      expect(read('logs')[0].resourceLogs[0].scopeLogs[0].logRecords[0].traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(read('metrics')[0].resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt).toBe('1234');
      // Back through protobufjs: ids hex → bytes is the only difference from the wire form.
      const p = read('profiles')[0];
      const hexToBase64 = (h: string) => Buffer.from(h, 'hex').toString('base64');
      for (const link of p.dictionary.linkTable) for (const k of ['traceId', 'spanId']) if (link[k]) link[k] = hexToBase64(link[k]);
      const prof = p.resourceProfiles[0].scopeProfiles[0].profiles[0];
      expect(prof.profileId).toMatch(/^[0-9a-f]{32}$/);
      prof.profileId = hexToBase64(prof.profileId);
      const decoded = decodeRequest<ExportProfilesServiceRequestObject>('profiles', encodeRequest('profiles', p, { normalize: true }));
      expect(validateProfilesData(decoded)).toEqual([]);
      expect(decoded.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples.reduce((a, s) => a + s.timestampsUnixNano.length, 0)).toBe(30);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

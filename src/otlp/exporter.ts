/**
 * The exporter facade: four signal pipelines (pipeline.ts) behind one small interface, either to
 * an OTLP/gRPC or OTLP/HTTP endpoint (createOtlpExporter; the same queue, bounds and self-metrics) or to JSON-lines files (createFileExporter, file-sink.ts).
 */
import type { ProfileWindow } from '../profiling/types.js';
import type { Converted } from './attributes.js';
import { logsToOtlp } from './logs.js';
import { metricsToOtlp } from './metrics.js';
import { spansToOtlp } from './traces.js';
import { profilesToOtlp, type ProfilesToOtlpOptions } from './convert-profiles.js';
import { htlHashOfMapping } from './htlhash.js';
import { encodeRequest } from './proto-root.js';
import { createGrpcTransport } from './grpc-transport.js';
import { createHttpTransport } from './http-transport.js';
import { SignalPipeline, type Body, type SignalStats } from './pipeline.js';
import { DEFAULT_BACKOFF, type BackoffPolicy, type ExportResult } from './retry.js';
import type { SignalExporterConfig } from './config.js';
import type { LogRecord, MetricPoint, Signal, SpanRecord } from './types.js';

export interface OtlpExporter {
  /** Queue for export. Synchronous, never throws, never waits on the network. */
  exportProfiles(windows: ProfileWindow[]): void;
  exportSpans(spans: SpanRecord[]): void;
  exportMetrics(points: MetricPoint[]): void;
  exportLogs(records: LogRecord[]): void;
  /** Sends everything queued now (retrying as configured); resolves when queues are empty. */
  forceFlush(): Promise<void>;
  /** Stops accepting, flushes what it can within deadlineMs, then releases connections. Never rejects. */
  shutdown(deadlineMs: number): Promise<void>;
  stats(): Record<Signal, SignalStats>;
}

export interface ExporterOptions {
  backoff?: Partial<BackoffPolicy>;
  /** Where operational messages go (default: stderr). */
  log?: (message: string) => void;
  /** Conversion options; by default htlhash is read from the mapped files (htlhash.ts). */
  profiles?: ProfilesToOtlpOptions;
}

/**
 * Turns one converted request into its transport body: protobuf or JSON bytes for the network and
 * file exporters; the request object itself for the in-process exporter. `concat` joins the
 * bodies of a batch (default: byte concatenation, which appends protobuf's repeated top-level field).
 */
export interface SignalEncoder<B extends Body = Uint8Array> {
  encode(signal: Signal, request: object): B;
  concat?(bodies: B[]): B;
}

const defaultLog = (m: string) => process.stderr.write(`${m}\n`);

/** One encoded request (or, for traces/metrics/logs, a concatenable piece of one) and its record count. */
interface EncodedChunk<B extends Body> {
  body: B;
  records: number;
}

/**
 * Records are converted and encoded on the next tick after export*() (never in the caller's call)
 * and queued as bytes: encoded data is several times smaller than the objects (~50× for profile
 * windows) and, being a few large buffers instead of many small objects, does not bloat V8's old
 * space while a backend is down. `pending` holds records only until that tick.
 */
function stage<T, B extends Body>(
  signal: Signal,
  pipeline: SignalPipeline<EncodedChunk<B>, B>,
  recordsPerChunk: number,
  maxPending: number,
  convert: (records: T[]) => Converted<object>,
  enc: SignalEncoder<B>,
  log: (m: string) => void,
  /** Profiles: malformed samples do not drop a window; other signals: a malformed record is dropped. */
  malformedDropsRecords: boolean,
) {
  let pending: T[] = [];
  let scheduled = false;
  // Main-thread time converting and encoding (the self-metric behind the bench's per-window cost).
  let encodeMs = 0;
  const compactNow = () => {
    const t0 = performance.now();
    scheduled = false;
    const records = pending;
    pending = [];
    for (let i = 0; i < records.length; i += recordsPerChunk) {
      const chunk = records.slice(i, i + recordsPerChunk);
      try {
        const c = convert(chunk);
        if (c.malformed > 0) {
          if (malformedDropsRecords) pipeline.noteDropped(c.malformed, 'malformed');
          else pipeline.noteMalformedParts(c.malformed);
          log(`otlp ${signal}: skipped ${c.malformed} malformed item(s), first: ${c.firstError}`);
        }
        const records = malformedDropsRecords ? chunk.length - c.malformed : chunk.length;
        if (records > 0) pipeline.push([{ body: enc.encode(signal, c.request), records }]);
      } catch (err) {
        pipeline.noteDropped(chunk.length, 'malformed');
        log(`otlp ${signal}: cannot encode ${chunk.length} item(s), dropped: ${(err as Error).message}`);
      }
    }
    encodeMs += performance.now() - t0;
  };
  return {
    compactNow,
    encodeMs: () => encodeMs,
    pendingCount: () => pending.length,
    push(records: readonly T[]) {
      for (const r of records) pending.push(r);
      if (pending.length > maxPending) {
        // Only when the event loop is starved for long: keep the newest.
        const excess = pending.length - maxPending;
        pending = pending.slice(excess);
        pipeline.noteDropped(excess, 'overflow');
      }
      if (!scheduled && pending.length > 0) {
        scheduled = true;
        setImmediate(compactNow);
      }
    },
  };
}

/** Joins encoded pieces of a request whose only top-level field is repeated (protobuf concatenation appends). */
function concatBytes(bodies: Uint8Array[]): Uint8Array {
  if (bodies.length === 1) return bodies[0]!;
  return Buffer.concat(bodies);
}

/** Builds the four pipelines over caller-supplied encoders and senders (shared by gRPC and file exporters). */
export function buildExporter<B extends Body = Uint8Array>(
  configs: Record<Signal, Pick<SignalExporterConfig, 'maxQueueSize' | 'maxExportBatchSize' | 'scheduledDelayMs' | 'maxConcurrentExports' | 'maxQueueBytes'>>,
  enc: SignalEncoder<B>,
  sendFor: (signal: Signal) => { send(body: B, timeoutMs?: number): Promise<ExportResult>; close(): void | Promise<void> },
  options: ExporterOptions = {},
): OtlpExporter {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const log = options.log ?? defaultLog;
  const senders = {} as Record<Signal, ReturnType<typeof sendFor>>;
  const pipelines = {} as Record<Signal, SignalPipeline<EncodedChunk<B>, B>>;
  const concat = enc.concat ?? (concatBytes as unknown as (bodies: B[]) => B);
  const stages = {} as Record<Signal, { push(records: readonly unknown[]): void; compactNow(): void; pendingCount(): number; encodeMs(): number }>;

  const make = <T>(signal: Signal, convert: (records: T[]) => Converted<object>) => {
    const cfg = configs[signal];
    senders[signal] = sendFor(signal);
    const profiles = signal === 'profiles';
    pipelines[signal] = new SignalPipeline<EncodedChunk<B>, B>({
      signal,
      ...cfg,
      countOf: (c) => c.records,
      // traces/metrics/logs: queue and batches bounded in records, batches = concatenated chunks.
      // profiles: a chunk is one request (its own dictionary), the queue is bounded in bytes.
      ...(profiles
        ? { maxExportBatchSize: 1, weightOf: (c) => c.body.byteLength, maxQueueWeight: cfg.maxQueueBytes }
        : { maxQueueSize: cfg.maxQueueSize, weightOf: (c) => c.records, maxQueueWeight: cfg.maxQueueSize, maxBatchWeight: cfg.maxExportBatchSize }),
      backoff,
      log,
      encode: (batch) => ({ body: concat(batch.map((c) => c.body)), malformed: 0 }),
      send: (body, timeoutMs) => senders[signal].send(body, timeoutMs),
    });
    stages[signal] = stage<T, B>(signal, pipelines[signal], cfg.maxExportBatchSize, cfg.maxQueueSize, convert, enc, log, !profiles) as (typeof stages)[Signal];
  };
  make<SpanRecord>('traces', spansToOtlp);
  make<MetricPoint>('metrics', metricsToOtlp);
  make<LogRecord>('logs', logsToOtlp);
  make<ProfileWindow>('profiles', (w) => profilesToOtlp(w, { htlHashOf: htlHashOfMapping, ...options.profiles }));

  const all = () => Object.values(pipelines);
  let shutdownPromise: Promise<void> | undefined;
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log(`otlp: export call failed unexpectedly: ${(err as Error).message}`);
    }
  };
  const compactAll = () => Object.values(stages).forEach((s) => s.compactNow());
  return {
    exportProfiles: (w) => guard(() => stages.profiles.push(w)),
    exportSpans: (s) => guard(() => stages.traces.push(s)),
    exportMetrics: (p) => guard(() => stages.metrics.push(p)),
    exportLogs: (r) => guard(() => stages.logs.push(r)),
    forceFlush: async () => {
      compactAll();
      await Promise.all(all().map((p) => p.flush()));
    },
    shutdown(deadlineMs: number) {
      shutdownPromise ??= (async () => {
        compactAll();
        await Promise.all(all().map((p) => p.shutdown(deadlineMs)));
        for (const s of Object.values(senders)) {
          try {
            await s.close();
          } catch (err) {
            log(`otlp: closing exporter: ${(err as Error).message}`);
          }
        }
      })();
      return shutdownPromise;
    },
    stats: () => {
      // queueDepth includes records waiting for their encoding tick.
      const of = (signal: Signal) => {
        const st = pipelines[signal].stats();
        return { ...st, queueDepth: st.queueDepth + stages[signal].pendingCount(), encodeMs: stages[signal].encodeMs() };
      };
      return { traces: of('traces'), metrics: of('metrics'), logs: of('logs'), profiles: of('profiles') };
    },
  };
}

/** An exporter sending OTLP/gRPC or OTLP/HTTP (per signal's `protocol`) to the endpoints of `configs` (see resolveExporterConfig). */
export function createOtlpExporter(configs: Record<Signal, SignalExporterConfig>, options: ExporterOptions = {}): OtlpExporter {
  return buildExporter(
    configs,
    { encode: encodeRequest },
    (signal) => {
      const cfg = configs[signal];
      const t = cfg.protocol === 'http/protobuf' ? createHttpTransport(cfg) : createGrpcTransport(cfg);
      return {
        send: (body, timeoutMs) => t.send(body, timeoutMs),
        close: () => t.close(),
      };
    },
    options,
  );
}

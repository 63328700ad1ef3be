/**
 * The exporter facade: four signal pipelines (pipeline.ts) behind one small interface, either to
 * an OTLP/gRPC endpoint (createOtlpExporter) or to JSON-lines files (createFileExporter, file-sink.ts).
 */
import type { ProfileWindow } from '../profiling/types.js';
import { metricsToOtlp, logsToOtlp, spansToOtlp, type Converted } from './convert-signals.js';
import { profilesToOtlp, type ProfilesToOtlpOptions } from './convert-profiles.js';
import { htlHashOfMapping } from './htlhash.js';
import { encodeRequest } from './proto-root.js';
import { createGrpcTransport, type Transport } from './grpc-transport.js';
import { SignalPipeline, type Encoded, type SignalStats } from './pipeline.js';
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

/** Encodes one batch of a signal into its transport body. */
export interface SignalEncoder {
  encode(signal: Signal, request: object): Uint8Array;
}

const defaultLog = (m: string) => process.stderr.write(`${m}\n`);

function encoded<T>(signal: Signal, c: Converted<T>, enc: SignalEncoder): Encoded {
  return { body: enc.encode(signal, c.request as object), malformed: c.malformed, firstError: c.firstError };
}

/** Builds the four pipelines over caller-supplied encoders and senders (shared by gRPC and file exporters). */
export function buildExporter(
  configs: Record<Signal, Pick<SignalExporterConfig, 'maxQueueSize' | 'maxExportBatchSize' | 'scheduledDelayMs' | 'maxConcurrentExports' | 'maxQueueSamples'>>,
  enc: SignalEncoder,
  sendFor: (signal: Signal) => { send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult>; close(): void | Promise<void> },
  options: ExporterOptions = {},
): OtlpExporter {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const log = options.log ?? defaultLog;
  const senders = {} as Record<Signal, ReturnType<typeof sendFor>>;
  const make = <T>(signal: Signal, convert: (batch: T[]) => Converted<object>, weightOf?: (item: T) => number) => {
    senders[signal] = sendFor(signal);
    return new SignalPipeline<T>({
      signal,
      ...configs[signal],
      weightOf,
      maxQueueWeight: weightOf ? configs[signal].maxQueueSamples : undefined,
      // In-flight batches hold memory while retrying: keep them to a quarter of the queue's weight each.
      maxBatchWeight: weightOf ? Math.max(1, Math.floor(configs[signal].maxQueueSamples / 4)) : undefined,
      backoff,
      log,
      encode: (batch) => encoded(signal, convert(batch), enc),
      send: (body, timeoutMs) => senders[signal].send(body, timeoutMs),
    });
  };
  const pipelines = {
    traces: make<SpanRecord>('traces', spansToOtlp),
    metrics: make<MetricPoint>('metrics', metricsToOtlp),
    logs: make<LogRecord>('logs', logsToOtlp),
    profiles: make<ProfileWindow>('profiles', (w) => profilesToOtlp(w, { htlHashOf: htlHashOfMapping, ...options.profiles }), (w) => w.samples.length),
  };
  const all = () => Object.values(pipelines) as SignalPipeline<unknown>[];
  let shutdownPromise: Promise<void> | undefined;
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log(`otlp: export call failed unexpectedly: ${(err as Error).message}`);
    }
  };
  return {
    exportProfiles: (w) => guard(() => pipelines.profiles.push(w)),
    exportSpans: (s) => guard(() => pipelines.traces.push(s)),
    exportMetrics: (p) => guard(() => pipelines.metrics.push(p)),
    exportLogs: (r) => guard(() => pipelines.logs.push(r)),
    forceFlush: async () => {
      await Promise.all(all().map((p) => p.flush()));
    },
    shutdown(deadlineMs: number) {
      shutdownPromise ??= (async () => {
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
    stats: () => ({
      traces: pipelines.traces.stats(),
      metrics: pipelines.metrics.stats(),
      logs: pipelines.logs.stats(),
      profiles: pipelines.profiles.stats(),
    }),
  };
}

/** An exporter sending OTLP/gRPC to the endpoints of `configs` (see resolveExporterConfig). */
export function createOtlpExporter(configs: Record<Signal, SignalExporterConfig>, options: ExporterOptions = {}): OtlpExporter {
  const transports = new Map<Signal, Transport>();
  return buildExporter(
    configs,
    { encode: encodeRequest },
    (signal) => {
      const t = createGrpcTransport(configs[signal]);
      transports.set(signal, t);
      return {
        send: (body, timeoutMs) => t.send(body, timeoutMs),
        close: () => t.close(),
      };
    },
    options,
  );
}

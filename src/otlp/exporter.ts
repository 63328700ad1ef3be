/**
 * The exporter facade: four signal pipelines (pipeline.ts) behind one small interface, either to
 * an OTLP/gRPC endpoint (createOtlpExporter) or to JSON-lines files (createFileExporter, file-sink.ts).
 */
import type { ProfileWindow } from '../profiling/types.js';
import { metricsToOtlp, logsToOtlp, spansToOtlp, type Converted } from './convert-signals.js';
import { profilesToOtlp, type ProfilesToOtlpOptions } from './convert-profiles.js';
import { htlHashOfMapping } from './htlhash.js';
import { encodeRequest } from './proto-root.js';
import { createGrpcTransport } from './grpc-transport.js';
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

/** One encoded profiles request and the number of windows in it. */
interface EncodedProfiles {
  body: Uint8Array;
  windows: number;
}

/**
 * Profile windows are large as objects (~0.5 KB per sample with its frames) and ~50× smaller
 * encoded, so they are converted and encoded on the next tick after export (not in the caller's
 * call) and queued as request bytes: the queue's memory bound is then in bytes (maxQueueBytes).
 */
function profilesStage(
  pipeline: SignalPipeline<EncodedProfiles>,
  windowsPerRequest: number,
  maxPendingWindows: number,
  enc: SignalEncoder,
  log: (m: string) => void,
  convertOptions: ProfilesToOtlpOptions,
) {
  let pending: ProfileWindow[] = [];
  let scheduled = false;
  const compactNow = () => {
    scheduled = false;
    const windows = pending;
    pending = [];
    for (let i = 0; i < windows.length; i += windowsPerRequest) {
      const chunk = windows.slice(i, i + windowsPerRequest);
      try {
        const c = profilesToOtlp(chunk, convertOptions);
        if (c.malformed > 0) {
          pipeline.noteMalformedParts(c.malformed);
          log(`otlp profiles: skipped ${c.malformed} malformed sample(s), first: ${c.firstError}`);
        }
        pipeline.push([{ body: enc.encode('profiles', c.request), windows: chunk.length }]);
      } catch (err) {
        pipeline.noteDropped(chunk.length, 'malformed');
        log(`otlp profiles: cannot encode ${chunk.length} window(s), dropped: ${(err as Error).message}`);
      }
    }
  };
  return {
    compactNow,
    push(windows: ProfileWindow[]) {
      pending.push(...windows);
      if (pending.length > maxPendingWindows) {
        // Only if the event loop is starved for a long time: keep the newest.
        const excess = pending.length - maxPendingWindows;
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

/** Builds the four pipelines over caller-supplied encoders and senders (shared by gRPC and file exporters). */
export function buildExporter(
  configs: Record<Signal, Pick<SignalExporterConfig, 'maxQueueSize' | 'maxExportBatchSize' | 'scheduledDelayMs' | 'maxConcurrentExports' | 'maxQueueBytes'>>,
  enc: SignalEncoder,
  sendFor: (signal: Signal) => { send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult>; close(): void | Promise<void> },
  options: ExporterOptions = {},
): OtlpExporter {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const log = options.log ?? defaultLog;
  const senders = {} as Record<Signal, ReturnType<typeof sendFor>>;
  const make = <T>(signal: Signal, convert: (batch: T[]) => Converted<object>) => {
    senders[signal] = sendFor(signal);
    return new SignalPipeline<T>({
      signal,
      ...configs[signal],
      backoff,
      log,
      encode: (batch) => encoded(signal, convert(batch), enc),
      send: (body, timeoutMs) => senders[signal].send(body, timeoutMs),
    });
  };
  senders.profiles = sendFor('profiles');
  const profilesPipeline = new SignalPipeline<EncodedProfiles>({
    signal: 'profiles',
    ...configs.profiles,
    // Each queued item is already one request (up to maxExportBatchSize windows).
    maxExportBatchSize: 1,
    weightOf: (e) => e.body.byteLength,
    maxQueueWeight: configs.profiles.maxQueueBytes,
    countOf: (e) => e.windows,
    backoff,
    log,
    encode: (batch) => ({ body: batch[0]!.body, malformed: 0 }),
    send: (body, timeoutMs) => senders.profiles.send(body, timeoutMs),
  });
  const profiles = profilesStage(profilesPipeline, configs.profiles.maxExportBatchSize, configs.profiles.maxQueueSize, enc, log, {
    htlHashOf: htlHashOfMapping,
    ...options.profiles,
  });
  const pipelines = {
    traces: make<SpanRecord>('traces', spansToOtlp),
    metrics: make<MetricPoint>('metrics', metricsToOtlp),
    logs: make<LogRecord>('logs', logsToOtlp),
    profiles: profilesPipeline,
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
    exportProfiles: (w) => guard(() => profiles.push(w)),
    exportSpans: (s) => guard(() => pipelines.traces.push(s)),
    exportMetrics: (p) => guard(() => pipelines.metrics.push(p)),
    exportLogs: (r) => guard(() => pipelines.logs.push(r)),
    forceFlush: async () => {
      profiles.compactNow();
      await Promise.all(all().map((p) => p.flush()));
    },
    shutdown(deadlineMs: number) {
      shutdownPromise ??= (async () => {
        profiles.compactNow();
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
  return buildExporter(
    configs,
    { encode: encodeRequest },
    (signal) => {
      const t = createGrpcTransport(configs[signal]);
      return {
        send: (body, timeoutMs) => t.send(body, timeoutMs),
        close: () => t.close(),
      };
    },
    options,
  );
}

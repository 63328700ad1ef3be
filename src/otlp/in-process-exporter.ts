import { status as GrpcStatus } from '@grpc/grpc-js';
import { buildExporter, type ExporterOptions, type OtlpExporter } from './exporter.js';
import type { SignalExporterConfig } from './config.js';
import type {
  ExportLogsServiceRequestObject,
  ExportMetricsServiceRequestObject,
  ExportProfilesServiceRequestObject,
  ExportTraceServiceRequestObject,
  OtlpSink,
  Signal,
} from './types.js';

/** A converted request handed over as an object, with an estimate of its encoded size (queue bound, stats). */
interface RequestBody {
  request: object;
  byteLength: number;
}

/**
 * An exporter whose "network" is a function call into `sink` — the agent's own data going to its
 * own embedded store. Same queues, batching, retries and bounds as the gRPC exporter, and the sink
 * gets the same entry point the receiver calls after decoding (OtlpSink.ingest*), but fed the
 * converted request objects directly: no protobuf encode and decode inside one process. The
 * converters emit the receiver's decoded shape (convert-*.ts: 64-bit integers as decimal strings,
 * ids as bytes), so the sink cannot tell the two apart (test/unit/store/in-process.test.ts).
 * Profiles are converted without addresses (ProfilesToOtlpOptions.addresses): the store keeps
 * none, and with them most samples of a busy host were distinct only by their leaf address.
 */
export function createInProcessExporter(
  configs: Record<Signal, Pick<SignalExporterConfig, 'maxQueueSize' | 'maxExportBatchSize' | 'scheduledDelayMs' | 'maxConcurrentExports' | 'maxQueueBytes'>>,
  sink: OtlpSink,
  options: ExporterOptions = {},
): OtlpExporter {
  const ingest: Record<Signal, (request: object) => Promise<void>> = {
    traces: (r) => sink.ingestTraces(r as ExportTraceServiceRequestObject),
    metrics: (r) => sink.ingestMetrics(r as ExportMetricsServiceRequestObject),
    logs: (r) => sink.ingestLogs(r as ExportLogsServiceRequestObject),
    profiles: (r) => sink.ingestProfiles(r as ExportProfilesServiceRequestObject),
  };
  return buildExporter<RequestBody>(
    configs,
    {
      encode: (signal, request) => ({ request, byteLength: estimateBytes(signal, request) }),
      concat: concatRequests,
    },
    (signal) => ({
      async send(body) {
        try {
          await ingest[signal](body.request);
          return { kind: 'success', rejected: 0, errorMessage: '' };
        } catch (err) {
          // The receiver answers UNAVAILABLE when its sink fails; do the same.
          return { kind: 'retryable', code: GrpcStatus.UNAVAILABLE, message: (err as Error).message };
        }
      },
      close() {},
    }),
    { ...options, profiles: { ...options.profiles, addresses: false } },
  );
}

/**
 * Joins a batch of traces/metrics/logs requests (their one top-level field is a repeated list,
 * which protobuf concatenation would append). Profiles batches are always one request.
 */
function concatRequests(bodies: RequestBody[]): RequestBody {
  if (bodies.length === 1) return bodies[0]!;
  const out: Record<string, unknown[]> = {};
  let byteLength = 0;
  for (const b of bodies) {
    byteLength += b.byteLength;
    for (const [k, v] of Object.entries(b.request)) {
      if (!Array.isArray(v)) throw new Error(`in-process exporter: cannot join requests with a non-list field ${k}`);
      (out[k] ??= []).push(...v);
    }
  }
  return { request: out, byteLength };
}

/**
 * Roughly what the request would weigh encoded (within a small factor: the bound it feeds,
 * maxQueueBytes, caps memory held while the store is slow, not an exact byte count). Counting
 * is O(tables + samples) without walking every string of the other signals.
 */
function estimateBytes(signal: Signal, request: object): number {
  if (signal !== 'profiles') {
    const lists = Object.values(request).filter(Array.isArray) as unknown[][];
    return 256 * lists.reduce((n, l) => n + l.length, 0);
  }
  const r = request as ExportProfilesServiceRequestObject;
  const d = r.dictionary;
  let bytes = 0;
  if (d) {
    for (const s of d.stringTable) bytes += s.length + 2;
    bytes += 24 * (d.locationTable.length + d.functionTable.length + d.mappingTable.length + d.attributeTable.length + d.linkTable.length);
    for (const st of d.stackTable) bytes += 2 + 2 * st.locationIndices.length;
  }
  for (const rp of r.resourceProfiles) {
    bytes += 64 * (rp.resource?.attributes.length ?? 0);
    for (const sp of rp.scopeProfiles)
      for (const p of sp.profiles) for (const s of p.samples) bytes += 12 + 9 * s.timestampsUnixNano.length + 4 * s.values.length;
  }
  return bytes;
}

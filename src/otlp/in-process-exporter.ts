import { status as GrpcStatus } from '@grpc/grpc-js';
import { buildExporter, type ExporterOptions, type OtlpExporter } from './exporter.js';
import type { SignalExporterConfig } from './config.js';
import { decodeRequest, encodeRequest } from './proto-root.js';
import type { OtlpSink, Signal } from './types.js';

/**
 * An exporter whose "network" is a function call into `sink` — the agent's own
 * data going to its own embedded store. Same queues, batching, retries and
 * protobuf bytes as the gRPC exporter (the sink sees exactly what the receiver
 * would hand it), without gRPC/HTTP2 framing and a loopback round trip per batch.
 */
export function createInProcessExporter(
  configs: Record<Signal, Pick<SignalExporterConfig, 'maxQueueSize' | 'maxExportBatchSize' | 'scheduledDelayMs' | 'maxConcurrentExports' | 'maxQueueBytes'>>,
  sink: OtlpSink,
  options: ExporterOptions = {},
): OtlpExporter {
  const ingest: Record<Signal, (body: Uint8Array) => Promise<void>> = {
    traces: (b) => sink.ingestTraces(decodeRequest('traces', b)),
    metrics: (b) => sink.ingestMetrics(decodeRequest('metrics', b)),
    logs: (b) => sink.ingestLogs(decodeRequest('logs', b)),
    profiles: (b) => sink.ingestProfiles(decodeRequest('profiles', b)),
  };
  return buildExporter(
    configs,
    { encode: encodeRequest },
    (signal) => ({
      async send(body) {
        try {
          await ingest[signal](body);
          return { kind: 'success', rejected: 0, errorMessage: '' };
        } catch (err) {
          // The receiver answers UNAVAILABLE when its sink fails; do the same.
          return { kind: 'retryable', code: GrpcStatus.UNAVAILABLE, message: (err as Error).message };
        }
      },
      close() {},
    }),
    options,
  );
}

/**
 * Sends one already-encoded OTLP export request over gRPC (unary Export call) and classifies the
 * outcome. Serialization lives in proto-root/convert-*; this file is transport only.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { signalProto } from './proto-root.js';
import { classifyError, type ExportResult } from './retry.js';
import { OtlpConfigError, type SignalExporterConfig } from './config.js';

export interface Transport {
  /** timeoutMs caps this request below cfg.timeoutMs (shutdown deadlines). */
  send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult>;
  close(): void;
}

function readPem(file: string | undefined, what: string): Buffer | null {
  if (!file) return null;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new OtlpConfigError(`cannot read ${what} ${file}: ${(err as Error).message}; fix: point it at a readable PEM file`);
  }
}

export function channelCredentials(cfg: SignalExporterConfig): grpc.ChannelCredentials {
  if (cfg.insecure) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    readPem(cfg.certificateFile, 'certificate'),
    readPem(cfg.clientKeyFile, 'client key'),
    readPem(cfg.clientCertificateFile, 'client certificate'),
  );
}

export function createGrpcTransport(cfg: SignalExporterConfig): Transport {
  const proto = signalProto(cfg.signal);
  const options: grpc.ChannelOptions = {
    // 2 = gzip in grpc-js CompressionAlgorithms.
    ...(cfg.compression === 'gzip' ? { 'grpc.default_compression_algorithm': 2 } : {}),
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    // Do not let the channel's own reconnect backoff grow past our retry schedule.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5000,
  };
  const client = new grpc.Client(cfg.target, channelCredentials(cfg), options);
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k, v);

  return {
    send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult> {
      return new Promise((resolve) => {
        let trailers: grpc.Metadata | undefined;
        const call = client.makeUnaryRequest<Uint8Array, Record<string, unknown>>(
          proto.exportPath,
          (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
          (buf) => proto.response.toObject(proto.response.decode(buf), { longs: Number, defaults: true }),
          body,
          metadata.clone(),
          { deadline: Date.now() + Math.min(cfg.timeoutMs, timeoutMs ?? Infinity) },
          (err, response) => {
            if (err) {
              resolve(classifyError(err.code ?? grpc.status.UNKNOWN, err.details || err.message, err.metadata ?? trailers));
              return;
            }
            const partial = (response?.['partialSuccess'] ?? null) as Record<string, unknown> | null;
            resolve({
              kind: 'success',
              rejected: partial ? Number(partial[proto.rejectedField] ?? 0) : 0,
              errorMessage: partial ? String(partial['errorMessage'] ?? '') : '',
            });
          },
        );
        call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
      });
    },
    close() {
      client.close();
    },
  };
}

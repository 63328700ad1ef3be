/**
 * Embedded OTLP/gRPC receiver: a grpc-js server implementing the four Export services. It decodes
 * each request against the pinned .proto files into the object shape of types.ts and hands it to
 * an OtlpSink (the store). Sink trouble → UNAVAILABLE (the sender retries); undecodable bytes →
 * INVALID_ARGUMENT (retrying would not help), counted and logged, never a crash.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { decodeRequest, signalProto } from './proto-root.js';
import type { OtlpSink, Signal } from './types.js';
import { SIGNALS } from './types.js';

export interface ReceiverOptions {
  /** Interface to bind; 127.0.0.1 by default so the embedded receiver is not exposed by accident. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  sink: OtlpSink;
  /** Largest request accepted (gRPC max receive message length), default 64 MiB. */
  maxMessageBytes?: number;
  log?: (message: string) => void;
  /** Serve TLS with this PEM certificate chain and key (for a gateway reachable off-host). */
  tls?: { certFile: string; keyFile: string };
}

export interface ReceiverStats {
  requests: Record<Signal, number>;
  /** Requests whose bytes did not decode. */
  malformed: number;
  /** Requests the sink failed (answered UNAVAILABLE). */
  sinkErrors: number;
}

export interface OtlpReceiver {
  port: number;
  stats(): ReceiverStats;
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then forces. */
  close(graceMs?: number): Promise<void>;
}

const INGEST: Record<Signal, keyof OtlpSink> = {
  traces: 'ingestTraces',
  metrics: 'ingestMetrics',
  logs: 'ingestLogs',
  profiles: 'ingestProfiles',
};

export async function startOtlpReceiver(opts: ReceiverOptions): Promise<OtlpReceiver> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const maxBytes = opts.maxMessageBytes ?? 64 * 1024 * 1024;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxBytes });
  const stats: ReceiverStats = { requests: { traces: 0, metrics: 0, logs: 0, profiles: 0 }, malformed: 0, sinkErrors: 0 };

  for (const signal of SIGNALS) {
    const proto = signalProto(signal);
    const emptyResponse = Buffer.from(proto.response.encode(proto.response.create({})).finish());
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: proto.exportPath,
        requestStream: false,
        responseStream: false,
        // Decode in the handler, not here, so malformed bytes get INVALID_ARGUMENT and a count.
        requestDeserialize: (buf: Buffer) => buf,
        requestSerialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      let request: unknown;
      try {
        request = decodeRequest(signal, call.request);
      } catch (err) {
        stats.malformed++;
        log(`otlp receiver: malformed ${signal} request from ${call.getPeer()}: ${(err as Error).message}`);
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `cannot decode ${signal} request: ${(err as Error).message}` });
        return;
      }
      stats.requests[signal]++;
      const ingest = opts.sink[INGEST[signal]] as (req: unknown) => Promise<void>;
      Promise.resolve()
        .then(() => ingest.call(opts.sink, request))
        .then(
          () => callback(null, emptyResponse),
          (err: unknown) => {
            stats.sinkErrors++;
            log(`otlp receiver: store could not ingest ${signal}: ${(err as Error)?.message ?? err}`);
            callback({ code: grpc.status.UNAVAILABLE, details: `store unavailable: ${(err as Error)?.message ?? err}` });
          },
        );
    };
    server.addService(definition, { Export: handler as grpc.UntypedHandleCall });
  }

  const host = opts.host ?? '127.0.0.1';
  const bindHost = host.includes(':') ? `[${host}]` : host;
  let credentials = grpc.ServerCredentials.createInsecure();
  if (opts.tls) {
    let cert: Buffer, key: Buffer;
    try {
      cert = readFileSync(opts.tls.certFile);
      key = readFileSync(opts.tls.keyFile);
    } catch (err) {
      throw new Error(`otlp receiver: cannot read TLS certificate/key: ${(err as Error).message}; fix: point tls.certFile/keyFile at readable PEM files`);
    }
    credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${bindHost}:${opts.port}`, credentials, (err, p) => {
      if (err) {
        reject(
          new Error(
            `otlp receiver: cannot listen on ${bindHost}:${opts.port}: ${err.message}; ` +
              'fix: pick a free port (or 0 for any), or stop the process holding it',
          ),
        );
      } else resolve(p);
    }),
  );

  return {
    port,
    stats: () => ({ ...stats, requests: { ...stats.requests } }),
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

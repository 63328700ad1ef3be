/**
 * Embedded OTLP receiver: OTLP/gRPC (grpc-js, the four Export services) and, when `httpPort` is
 * given, OTLP/HTTP (binary protobuf POSTs to /v1/traces, /v1/metrics, /v1/logs,
 * /v1development/profiles — the Collector's otlpreceiver paths). Both decode each request against
 * the pinned .proto files into the object shape of types.ts and hand it to an OtlpSink (the store).
 *
 * Hostile input is expected (a gateway takes requests from other nodes):
 *  - loopback by default; requests above maxMessageBytes (4 MiB, after decompression) refused;
 *  - decoding is bounded (decode-bounds.ts): a request that would become too many objects or nest
 *    too deep is refused before it is decoded;
 *  - optional bearer token (`authorization: Bearer <token>`), compared in constant time.
 * Sink trouble → UNAVAILABLE / 503 (the sender retries); bad bytes → INVALID_ARGUMENT / 400
 * (retrying would not help); each counted and logged, never a crash.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { decodeRequest, signalProto } from './proto-root.js';
import { checkDecodeBudget, DecodeBudgetError, DEFAULT_DECODE_BUDGET, type DecodeBudget } from './decode-bounds.js';
import { HTTP_SIGNAL_PATH } from './config.js';
import type { OtlpSink, Signal } from './types.js';
import { SIGNALS } from './types.js';

export interface ReceiverOptions {
  /** Interface to bind; 127.0.0.1 by default so the embedded receiver is not exposed by accident. */
  host?: string;
  /** gRPC port; 0 picks a free port. */
  port: number;
  /** OTLP/HTTP port (0 picks a free port); no HTTP listener when undefined. */
  httpPort?: number;
  sink: OtlpSink;
  /** Largest request accepted, after decompression (gRPC and HTTP), default 4 MiB. */
  maxMessageBytes?: number;
  /** Limits on what one request may decode into (default DEFAULT_DECODE_BUDGET). */
  decodeBudget?: DecodeBudget;
  /** When set, every request must carry `authorization: Bearer <token>`. */
  bearerToken?: string;
  log?: (message: string) => void;
  /** Serve TLS with this PEM certificate chain and key (for a gateway reachable off-host). */
  tls?: { certFile: string; keyFile: string };
}

export interface ReceiverStats {
  requests: Record<Signal, number>;
  /** Requests whose bytes did not decode. */
  malformed: number;
  /** Requests refused for size or decode budget. */
  tooLarge: number;
  /** Requests refused for a missing or wrong bearer token. */
  unauthenticated: number;
  /** Requests the sink failed (answered UNAVAILABLE). */
  sinkErrors: number;
}

export interface OtlpReceiver {
  port: number;
  /** OTLP/HTTP port, when listening. */
  httpPort?: number;
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

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

type Outcome = { ok: true } | { ok: false; kind: 'invalid' | 'too-large' | 'unavailable'; message: string };

const statusRoot = protobuf.Root.fromJSON({
  nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } },
});
const StatusType = statusRoot.lookupType('Status');

/** Constant-time check of an authorization header against the configured token. */
function authorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  if (!header) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header), digest(`Bearer ${token}`));
}

export async function startOtlpReceiver(opts: ReceiverOptions): Promise<OtlpReceiver> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const budget = opts.decodeBudget ?? DEFAULT_DECODE_BUDGET;
  // grpc-js applies max_receive_message_length to the decompressed message too.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxBytes });
  const stats: ReceiverStats = {
    requests: { traces: 0, metrics: 0, logs: 0, profiles: 0 },
    malformed: 0,
    tooLarge: 0,
    unauthenticated: 0,
    sinkErrors: 0,
  };

  /** Decode (bounded) and ingest one request; shared by both transports. */
  const handle = async (signal: Signal, bytes: Uint8Array, peer: string): Promise<Outcome> => {
    let request: unknown;
    try {
      checkDecodeBudget(signalProto(signal).request, bytes, budget);
      request = decodeRequest(signal, bytes);
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof DecodeBudgetError) {
        stats.tooLarge++;
        log(`otlp receiver: refused ${signal} request from ${peer}: ${message}`);
        return { ok: false, kind: 'too-large', message: `${signal} request refused: ${message}` };
      }
      stats.malformed++;
      log(`otlp receiver: malformed ${signal} request from ${peer}: ${message}`);
      return { ok: false, kind: 'invalid', message: `cannot decode ${signal} request: ${message}` };
    }
    stats.requests[signal]++;
    const ingest = opts.sink[INGEST[signal]] as (req: unknown) => Promise<void>;
    try {
      await ingest.call(opts.sink, request);
      return { ok: true };
    } catch (err) {
      stats.sinkErrors++;
      const message = (err as Error)?.message ?? String(err);
      log(`otlp receiver: store could not ingest ${signal}: ${message}`);
      return { ok: false, kind: 'unavailable', message: `store unavailable: ${message}` };
    }
  };

  const emptyResponses = {} as Record<Signal, Buffer>;
  for (const signal of SIGNALS) {
    const proto = signalProto(signal);
    emptyResponses[signal] = Buffer.from(proto.response.encode(proto.response.create({})).finish());
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
      const auth = call.metadata.get('authorization')[0];
      if (!authorized(typeof auth === 'string' ? auth : undefined, opts.bearerToken)) {
        stats.unauthenticated++;
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
        return;
      }
      void handle(signal, call.request, call.getPeer()).then((o) => {
        if (o.ok) callback(null, emptyResponses[signal]);
        else {
          const code =
            o.kind === 'unavailable' ? grpc.status.UNAVAILABLE : o.kind === 'too-large' ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT;
          callback({ code, details: o.message });
        }
      });
    };
    server.addService(definition, { Export: handler as grpc.UntypedHandleCall });
  }

  const host = opts.host ?? '127.0.0.1';
  const bindHost = host.includes(':') ? `[${host}]` : host;
  let credentials = grpc.ServerCredentials.createInsecure();
  let tlsPem: { cert: Buffer; key: Buffer } | undefined;
  if (opts.tls) {
    try {
      tlsPem = { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) };
    } catch (err) {
      throw new Error(`otlp receiver: cannot read TLS certificate/key: ${(err as Error).message}; fix: point tls.certFile/keyFile at readable PEM files`, {
        cause: err,
      });
    }
    credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: tlsPem.cert, private_key: tlsPem.key }]);
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

  let httpServer: http.Server | undefined;
  let httpPort: number | undefined;
  if (opts.httpPort !== undefined) {
    const bySignalPath = new Map<string, Signal>(SIGNALS.map((s) => [`/${HTTP_SIGNAL_PATH[s]}`, s]));
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) =>
      serveHttp(req, res, { bySignalPath, maxBytes, bearerToken: opts.bearerToken, stats, handle, emptyResponses });
    httpServer = tlsPem ? https.createServer({ cert: tlsPem.cert, key: tlsPem.key }, listener) : http.createServer(listener);
    // Slow senders must not hold sockets for ever.
    httpServer.requestTimeout = 30_000;
    httpServer.headersTimeout = 10_000;
    const srv = httpServer;
    try {
      httpPort = await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(opts.httpPort, host, () => resolve((srv.address() as { port: number }).port));
      });
    } catch (err) {
      server.forceShutdown();
      throw new Error(
        `otlp receiver: cannot listen for OTLP/HTTP on ${bindHost}:${opts.httpPort}: ${(err as Error).message}; ` +
          'fix: pick a free port (or 0 for any), or stop the process holding it',
        { cause: err },
      );
    }
  }

  return {
    port,
    httpPort,
    stats: () => ({ ...stats, requests: { ...stats.requests } }),
    close: (graceMs = 2000) =>
      Promise.all([
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
        new Promise<void>((resolve) => {
          if (!httpServer) return resolve();
          const force = setTimeout(() => httpServer!.closeAllConnections(), graceMs);
          httpServer.close(() => {
            clearTimeout(force);
            resolve();
          });
          httpServer.closeIdleConnections();
        }),
      ]).then(() => undefined),
  };
}

interface HttpContext {
  bySignalPath: Map<string, Signal>;
  maxBytes: number;
  bearerToken: string | undefined;
  stats: ReceiverStats;
  handle: (signal: Signal, bytes: Uint8Array, peer: string) => Promise<Outcome>;
  emptyResponses: Record<Signal, Buffer>;
}

/** google.rpc.Status body, as the OTLP/HTTP spec asks for error responses. */
function reply(res: http.ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = Buffer.from(StatusType.encode(StatusType.fromObject({ code: status, message })).finish());
  res.writeHead(status, { 'content-type': 'application/x-protobuf', 'content-length': body.length, ...extra });
  res.end(body);
}

function serveHttp(req: http.IncomingMessage, res: http.ServerResponse, ctx: HttpContext): void {
  const path = (req.url ?? '').split('?')[0]!;
  const signal = ctx.bySignalPath.get(path);
  if (!signal) return reply(res, 404, `no OTLP signal at ${path.slice(0, 64)}; paths: ${[...ctx.bySignalPath.keys()].join(', ')}`);
  if (req.method !== 'POST') return reply(res, 405, 'use POST', { allow: 'POST' });
  if (!authorized(req.headers.authorization, ctx.bearerToken)) {
    ctx.stats.unauthenticated++;
    return reply(res, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-protobuf' && type !== 'application/protobuf') {
    return reply(res, 415, `content-type ${type || '(none)'} not supported; send application/x-protobuf`);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') return reply(res, 415, `content-encoding ${encoding} not supported; use gzip or none`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = () => {
    ctx.stats.tooLarge++;
    reply(res, 413, `request larger than ${ctx.maxBytes} bytes (after decompression)`, { connection: 'close' });
    // Stop reading the rest once the answer is out.
    res.once('finish', () => req.destroy());
  };
  if (Number.isFinite(declared) && declared > ctx.maxBytes) return tooLarge();

  // Bytes counted after decompression: a small gzip body must not expand past the limit.
  const source = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  source.on('data', (c: Buffer) => {
    if (failed) return;
    size += c.length;
    if (size > ctx.maxBytes) {
      failed = true;
      if (source !== req) (source as ReturnType<typeof createGunzip>).destroy();
      tooLarge();
      return;
    }
    chunks.push(c);
  });
  source.on('error', (err) => {
    if (failed) return;
    failed = true;
    ctx.stats.malformed++;
    reply(res, 400, `cannot read body: ${err.message}`);
  });
  source.on('end', () => {
    if (failed) return;
    void ctx.handle(signal, Buffer.concat(chunks), `${req.socket.remoteAddress}:${req.socket.remotePort}`).then((o) => {
      if (o.ok) {
        const body = ctx.emptyResponses[signal];
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': body.length });
        res.end(body);
      } else if (o.kind === 'unavailable') reply(res, 503, o.message, { 'retry-after': '1' });
      else if (o.kind === 'too-large') reply(res, 413, o.message);
      else reply(res, 400, o.message);
    });
  });
}

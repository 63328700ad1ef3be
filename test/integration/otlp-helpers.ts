/**
 * A test OTLP/gRPC server for the otlp integration tests: implements the four Export services with
 * grpc-js, decodes every request with protobufjs against the pinned .proto files, records it with
 * its metadata, and can answer a chosen gRPC status until a given time (outage simulation).
 */
import * as grpc from '@grpc/grpc-js';
import { decodeRequest, signalProto } from '../../src/otlp/proto-root.js';
import { SIGNALS, type Signal } from '../../src/otlp/index.js';

export interface Received {
  signal: Signal;
  request: any;
  metadata: grpc.Metadata;
  atMs: number;
}

export interface TestServer {
  port: number;
  received: Received[];
  /** Calls answered with an error status. */
  rejectedCalls: number;
  /** Calls left unanswered. */
  hungCalls: number;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: {
    rejectUntilMs?: number;
    rejectCode?: grpc.status;
    credentials?: grpc.ServerCredentials;
    partialSuccess?: { rejected: number; message: string };
    /** Trailers sent with each rejection (e.g. grpc-status-details-bin carrying RetryInfo). */
    rejectTrailers?: () => grpc.Metadata;
    /** Reject only the first N calls (instead of, or before, rejectUntilMs). */
    rejectFirstCalls?: number;
    /** Never answer the first N calls (the client's deadline must fire). */
    hangFirstCalls?: number;
  } = {},
): Promise<TestServer> {
  const server = new grpc.Server();
  const state: TestServer = { port: 0, received: [], rejectedCalls: 0, hungCalls: 0, close: async () => {} };
  for (const signal of SIGNALS) {
    const proto = signalProto(signal);
    const response = opts.partialSuccess
      ? { partialSuccess: { [proto.rejectedField]: opts.partialSuccess.rejected, errorMessage: opts.partialSuccess.message } }
      : {};
    const body = Buffer.from(proto.response.encode(proto.response.fromObject(response)).finish());
    server.addService(
      {
        Export: {
          path: proto.exportPath,
          requestStream: false,
          responseStream: false,
          requestDeserialize: (b: Buffer) => b,
          requestSerialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      {
        Export: ((call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          if (opts.hangFirstCalls !== undefined && state.hungCalls < opts.hangFirstCalls) {
            state.hungCalls++;
            return;
          }
          const rejectByTime = opts.rejectUntilMs !== undefined && Date.now() < opts.rejectUntilMs;
          const rejectByCount = opts.rejectFirstCalls !== undefined && state.rejectedCalls < opts.rejectFirstCalls;
          if (rejectByTime || rejectByCount) {
            state.rejectedCalls++;
            cb({ code: opts.rejectCode ?? grpc.status.UNAVAILABLE, details: 'test outage', metadata: opts.rejectTrailers?.() });
            return;
          }
          state.received.push({ signal, request: decodeRequest(signal, call.request), metadata: call.metadata, atMs: Date.now() });
          cb(null, body);
        }) as grpc.UntypedHandleCall,
      },
    );
  }
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', opts.credentials ?? grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  // forceShutdown: hung calls would otherwise keep tryShutdown waiting forever.
  state.close = async () => server.forceShutdown();
  return state;
}

/** A loopback port with nothing listening (bound, then released). */
export async function deadPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A loopback TCP proxy to `targetPort` that counts the bytes clients send (wire size ground truth). */
export async function startCountingProxy(targetPort: number): Promise<{ port: number; bytesUp(): number; close(): Promise<void> }> {
  const net = await import('node:net');
  let up = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => (up += d.length));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    bytesUp: () => up,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

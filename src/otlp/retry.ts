/**
 * Which gRPC outcomes the OTLP spec lets an exporter retry, and how long to wait.
 * Retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
 * RESOURCE_EXHAUSTED only when the server sent RetryInfo (google.rpc.RetryInfo in
 * grpc-status-details-bin) — otherwise the server is out of capacity for good and retrying makes it worse.
 */
import protobuf from 'protobufjs';
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';

const RETRYABLE = new Set<number>([
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

// google.rpc.Status / google.protobuf.Any / google.rpc.RetryInfo / google.protobuf.Duration field numbers.
const rpcRoot = protobuf.Root.fromJSON({
  nested: {
    rpc: {
      nested: {
        Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
        Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
        RetryInfo: { fields: { retryDelay: { type: 'Duration', id: 1 } } },
        Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
const StatusType = rpcRoot.lookupType('rpc.Status');
const RetryInfoType = rpcRoot.lookupType('rpc.RetryInfo');
const RETRY_INFO_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Encodes a grpc-status-details-bin value carrying RetryInfo (for servers and tests that throttle). */
export function retryInfoDetails(code: number, message: string, retryDelayMs: number): Buffer {
  const info = RetryInfoType.encode(
    RetryInfoType.fromObject({ retryDelay: { seconds: Math.floor(retryDelayMs / 1000), nanos: (retryDelayMs % 1000) * 1e6 } }),
  ).finish();
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message, details: [{ typeUrl: RETRY_INFO_URL, value: info }] })).finish());
}

/** The retry delay a server asked for in RetryInfo, if any. Malformed details are ignored. */
export function retryDelayFromMetadata(metadata: Metadata | undefined): number | undefined {
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return undefined;
  try {
    const st = StatusType.toObject(StatusType.decode(raw), { longs: Number }) as { details?: Array<{ typeUrl: string; value: Uint8Array }> };
    for (const d of st.details ?? []) {
      if (d.typeUrl !== RETRY_INFO_URL) continue;
      const ri = RetryInfoType.toObject(RetryInfoType.decode(d.value), { longs: Number, defaults: true }) as {
        retryDelay?: { seconds: number; nanos: number };
      };
      if (ri.retryDelay) return ri.retryDelay.seconds * 1000 + Math.round(ri.retryDelay.nanos / 1e6);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Outcome of one export attempt (OTel JS style discriminated union). */
export type ExportResult =
  | { kind: 'success'; rejected: number; errorMessage: string }
  | { kind: 'retryable'; code: number; message: string; retryAfterMs?: number }
  | { kind: 'failure'; code: number; message: string };

export function classifyError(code: number, message: string, trailers?: Metadata): ExportResult {
  if (RETRYABLE.has(code)) return { kind: 'retryable', code, message, retryAfterMs: retryDelayFromMetadata(trailers) };
  if (code === GrpcStatus.RESOURCE_EXHAUSTED) {
    const retryAfterMs = retryDelayFromMetadata(trailers);
    if (retryAfterMs !== undefined) return { kind: 'retryable', code, message, retryAfterMs };
  }
  return { kind: 'failure', code, message };
}

export interface BackoffPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  /** Give up on a batch (count it dropped) after retrying this long. */
  maxElapsedMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialBackoffMs: 1000, maxBackoffMs: 30_000, multiplier: 2, maxElapsedMs: 300_000 };

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with full ±50 % jitter so
 * a fleet of agents does not retry in lockstep after a collector restart. A server's RetryInfo wins.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (attempt - 1));
  return Math.round(base * (0.5 + random()));
}

/**
 * Spans built from L7 request records. Close to the OTel data model (lowercase hex ids, Unix ns
 * times, flat attributes) plus the fields the span ↔ profile join needs: which threads read the
 * request and wrote the response, and the monotonic interval (CPU samples carry CLOCK_MONOTONIC).
 */

export type SpanKindName = 'server' | 'client';

export interface Span {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  /** 16 lowercase hex chars; absent for a root span. */
  parentSpanId?: string;
  /** The caller's tracestate, passed on unchanged (validated W3C). */
  traceState?: string;
  name: string;
  kind: SpanKindName;
  startUnixNs: bigint;
  endUnixNs: bigint;
  /** CLOCK_MONOTONIC interval, for joining with CPU samples. */
  startMonoNs: bigint;
  endMonoNs: bigint;
  attributes: Record<string, string | number | boolean>;
  /** OTel status: 'error' for 5xx (server) or 4xx/5xx (client), or a transport error. */
  statusCode: 'unset' | 'error';
  pid: number;
  /** Thread that read (server) / wrote (client) the request. */
  requestTid: number;
  /** Thread that wrote (server) / read (client) the response, when seen. */
  responseTid?: number;
}

/** One explicit-bucket histogram's cumulative state for one attribute set. */
export interface HistogramPoint {
  name: 'http.server.request.duration' | 'http.client.request.duration';
  unit: 's';
  attributes: Record<string, string | number | boolean>;
  /** Upper bounds, seconds (OTel semconv advice). */
  boundsS: readonly number[];
  /** bucketCounts[i] counts values ≤ boundsS[i] (and > boundsS[i-1]); the last is the overflow. */
  bucketCounts: number[];
  count: number;
  sumS: number;
  minS: number;
  maxS: number;
  /**
   * Per bucket, the slowest traced request of the current interval (or, if the interval has none
   * yet, of the previous one): the exemplar that leads from a latency spike to its trace and profile.
   */
  exemplars: DurationExemplar[];
}

/** A measured request with its span's ids (OTLP Exemplar; OpenMetrics exemplar on /metrics). */
export interface DurationExemplar {
  bucket: number;
  valueS: number;
  timeUnixNs: bigint;
  traceId: string;
  spanId: string;
}

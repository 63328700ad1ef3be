/**
 * `http.server.request.duration` / `http.client.request.duration` histograms (OTel stable HTTP
 * semconv): seconds, the semconv's advised bucket bounds, low-cardinality attributes only
 * (method, route, status, error type, protocol version, server address/port for clients).
 */
import type { RequestRecord } from '../network/index.js';
import { errorTypeOf, normalizeMethod } from './spans.js';
import type { HistogramPoint } from './types.js';

export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** Bound on distinct attribute sets per histogram; overflow goes to one `otel.metric.overflow` set. */
const MAX_SERIES = 2000;

export interface DurationHistograms {
  record(r: RequestRecord): void;
  /** Current cumulative points, one per attribute set. */
  collect(): HistogramPoint[];
}

export function durationAttributes(r: RequestRecord): Record<string, string | number | boolean> {
  const server = r.role !== 'client';
  const a: Record<string, string | number | boolean> = {
    'http.request.method': normalizeMethod(r.method),
    'http.route': r.route,
    'network.protocol.version': r.httpVersion,
  };
  if (r.status !== undefined) a['http.response.status_code'] = r.status;
  const err = errorTypeOf(r, server);
  if (err !== undefined) a['error.type'] = err;
  if (!server && r.remote) {
    a['server.address'] = r.remote.address;
    a['server.port'] = r.remote.port;
  }
  if (r.grpc) {
    a['rpc.system'] = 'grpc';
    a['rpc.service'] = r.grpc.service;
    a['rpc.method'] = r.grpc.method;
  }
  return a;
}

export function createDurationHistograms(): DurationHistograms {
  const series = new Map<string, HistogramPoint>();
  return {
    record(r) {
      const server = r.role !== 'client';
      const name = server ? 'http.server.request.duration' : 'http.client.request.duration';
      let attrs = durationAttributes(r);
      let key = name + JSON.stringify(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : 1)));
      if (!series.has(key) && series.size >= MAX_SERIES) {
        attrs = { 'otel.metric.overflow': true };
        key = `${name}overflow`;
      }
      let p = series.get(key);
      if (!p) {
        p = {
          name,
          unit: 's',
          attributes: attrs,
          boundsS: DURATION_BUCKETS_S,
          bucketCounts: new Array(DURATION_BUCKETS_S.length + 1).fill(0),
          count: 0,
          sumS: 0,
          minS: Number.POSITIVE_INFINITY,
          maxS: 0,
        };
        series.set(key, p);
      }
      const s = Number(r.endMonoNs - r.startMonoNs) / 1e9;
      let i = DURATION_BUCKETS_S.findIndex((b) => s <= b);
      if (i < 0) i = DURATION_BUCKETS_S.length;
      p.bucketCounts[i]!++;
      p.count++;
      p.sumS += s;
      p.minS = Math.min(p.minS, s);
      p.maxS = Math.max(p.maxS, s);
    },
    collect() {
      return [...series.values()].map((p) => ({ ...p, bucketCounts: [...p.bucketCounts] }));
    },
  };
}

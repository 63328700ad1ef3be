/**
 * `http.server.request.duration` / `http.client.request.duration` histograms (OTel stable HTTP
 * semconv v1.44): seconds, the semconv's advised bucket bounds, low-cardinality attributes only
 * (method, url.scheme, status, error type, protocol name/version, server address/port for clients,
 * hotspan's inferred route — never `http.route`, which only a framework may set).
 */
import type { RequestRecord } from '../network/index.js';
import { ATTR_ROUTE_INFERRED, errorTypeOf, normalizeMethod, rpcMethod } from './spans.js';
import type { DurationExemplar, HistogramPoint } from './types.js';

export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** Bound on distinct attribute sets per histogram; overflow goes to one `otel.metric.overflow` set. */
const MAX_SERIES = 2000;

export interface DurationHistograms {
  /** Records one request; with its span's ids it may become its bucket's exemplar. */
  record(r: RequestRecord, span?: { traceId: string; spanId: string }): void;
  /**
   * Current cumulative points, one per attribute set. `endInterval` (the OTLP export does this)
   * closes the exemplar interval: the next interval starts empty and falls back to this one's
   * exemplars until it has its own, so a scrape between exports still sees some.
   */
  collect(opts?: { endInterval?: boolean }): HistogramPoint[];
}

interface Series {
  point: Omit<HistogramPoint, 'exemplars'>;
  /** Slowest traced request per bucket, this interval and the previous one. */
  current: Array<DurationExemplar | undefined>;
  previous: Array<DurationExemplar | undefined>;
}

export function durationAttributes(r: RequestRecord): Record<string, string | number | boolean> {
  const server = r.role !== 'client';
  const a: Record<string, string | number | boolean> = {
    'http.request.method': normalizeMethod(r.method),
    'url.scheme': 'http',
    'network.protocol.name': 'http',
    'network.protocol.version': r.httpVersion,
    [ATTR_ROUTE_INFERRED]: r.route,
  };
  if (r.status !== undefined) a['http.response.status_code'] = r.status;
  const err = errorTypeOf(r, server);
  if (err !== undefined) a['error.type'] = err;
  if (!server && r.remote) {
    a['server.address'] = r.remote.address;
    a['server.port'] = r.remote.port;
  }
  if (r.grpc) {
    a['rpc.system.name'] = 'grpc';
    a['rpc.method'] = rpcMethod(r)!;
  }
  return a;
}

export function createDurationHistograms(): DurationHistograms {
  const series = new Map<string, Series>();
  return {
    record(r, span) {
      const server = r.role !== 'client';
      const name = server ? 'http.server.request.duration' : 'http.client.request.duration';
      let attrs = durationAttributes(r);
      let key = name + JSON.stringify(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : 1)));
      if (!series.has(key) && series.size >= MAX_SERIES) {
        attrs = { 'otel.metric.overflow': true };
        key = `${name}overflow`;
      }
      let entry = series.get(key);
      if (!entry) {
        const point: Omit<HistogramPoint, 'exemplars'> = {
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
        entry = { point, current: [], previous: [] };
        series.set(key, entry);
      }
      const p = entry.point;
      const s = Number(r.endMonoNs - r.startMonoNs) / 1e9;
      let i = DURATION_BUCKETS_S.findIndex((b) => s <= b);
      if (i < 0) i = DURATION_BUCKETS_S.length;
      p.bucketCounts[i]!++;
      p.count++;
      p.sumS += s;
      p.minS = Math.min(p.minS, s);
      p.maxS = Math.max(p.maxS, s);
      if (span) {
        const slot = entry.current[i];
        if (!slot || s > slot.valueS) entry.current[i] = { bucket: i, valueS: s, timeUnixNs: r.endUnixNs, traceId: span.traceId, spanId: span.spanId };
      }
    },
    collect(opts = {}) {
      return [...series.values()].map((e) => {
        const exemplars: DurationExemplar[] = [];
        for (let b = 0; b <= DURATION_BUCKETS_S.length; b++) {
          const x = e.current[b] ?? e.previous[b];
          if (x) exemplars.push(x);
        }
        if (opts.endInterval) {
          e.previous = e.current;
          e.current = [];
        }
        return { ...e.point, bucketCounts: [...e.point.bucketCounts], exemplars };
      });
    },
  };
}

/**
 * Read queries behind the agent's JSON API (src/api): per-service RED + CPU, filtered span lists,
 * one span and its trace, and an L4 flow summary. Kept apart from queries.ts so ingest-side changes
 * there and API-side changes here do not collide.
 */

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { readObjects, spanFromDb } from './queries.js';
import type { SpanRow } from './types.js';

type Params = Record<string, DuckDBValue>;

/** OTel SpanKind SERVER: the spans that carry the CPU join and stand for one request each. */
export const SPAN_KIND_SERVER = 2;

export interface ServiceSummary {
  service: string;
  /** SERVER spans that started in the range. */
  requests: number;
  requestsPerSec: number;
  /** Spans with status ERROR or an HTTP status ≥ 500. */
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Sampled CPU time in the range, seconds, and per wall second (cores busy). */
  cpuS: number;
  cpuCores: number;
  samples: number;
}

/** Services seen in the range (spans or CPU samples), busiest CPU first. */
export async function serviceSummaries(conn: DuckDBConnection, q: { fromUnixNs: bigint; toUnixNs: bigint }): Promise<ServiceSummary[]> {
  const rows = await readObjects(
    conn,
    `WITH req AS (
       SELECT service_name, count(*) AS requests,
              count(*) FILTER (WHERE status_code = 2 OR coalesce(http_status_code, 0) >= 500) AS errors,
              quantile_cont(duration_ns, 0.5) AS p50, quantile_cont(duration_ns, 0.95) AS p95, quantile_cont(duration_ns, 0.99) AS p99
         FROM spans WHERE kind = ${SPAN_KIND_SERVER} AND start_unix_ns >= $from AND start_unix_ns < $to GROUP BY service_name),
     cpu AS (
       SELECT service_name, sum(value) AS samples, sum(value::HUGEINT * period_ns) AS cpu_ns
         FROM samples WHERE sample_type = 'samples/count' AND time_unix_ns >= $from AND time_unix_ns < $to GROUP BY service_name)
     SELECT coalesce(req.service_name, cpu.service_name) AS service, req.requests, req.errors, req.p50, req.p95, req.p99,
            cpu.samples, cpu.cpu_ns
       FROM req FULL OUTER JOIN cpu ON req.service_name = cpu.service_name
      ORDER BY coalesce(cpu.cpu_ns, 0) DESC, coalesce(req.requests, 0) DESC, service`,
    { from: q.fromUnixNs, to: q.toUnixNs },
  );
  const seconds = Math.max(1e-9, Number(q.toUnixNs - q.fromUnixNs) / 1e9);
  const ms = (v: unknown) => (v === null || v === undefined ? null : Number(v) / 1e6);
  return rows.map((r) => {
    const requests = Number(r.requests ?? 0);
    const errors = Number(r.errors ?? 0);
    const cpuS = Number(r.cpu_ns ?? 0) / 1e9;
    return {
      service: String(r.service ?? ''),
      requests,
      requestsPerSec: requests / seconds,
      errors,
      errorRate: requests > 0 ? errors / requests : 0,
      p50Ms: ms(r.p50),
      p95Ms: ms(r.p95),
      p99Ms: ms(r.p99),
      cpuS,
      cpuCores: cpuS / seconds,
      samples: Number(r.samples ?? 0),
    };
  });
}

export interface SpanListQuery {
  limit: number;
  sinceUnixNs?: bigint;
  untilUnixNs?: bigint;
  service?: string;
  /** 'error': status ERROR or HTTP ≥ 500; 'ok': the rest. */
  status?: 'error' | 'ok';
  /** Exact http.route, else exact span name. */
  route?: string;
}

/** Slowest SERVER spans matching the filters, same order as Store.slowestSpans. */
export async function listSpans(conn: DuckDBConnection, q: SpanListQuery): Promise<SpanRow[]> {
  const conds = [`kind = ${SPAN_KIND_SERVER}`];
  const params: Params = { limit: q.limit };
  if (q.service !== undefined) (conds.push('service_name = $service'), (params.service = q.service));
  if (q.sinceUnixNs !== undefined) (conds.push('start_unix_ns >= $since'), (params.since = q.sinceUnixNs));
  if (q.untilUnixNs !== undefined) (conds.push('start_unix_ns < $until'), (params.until = q.untilUnixNs));
  if (q.route !== undefined) (conds.push('(http_route = $route OR name = $route)'), (params.route = q.route));
  const isError = '(status_code = 2 OR coalesce(http_status_code, 0) >= 500)';
  if (q.status === 'error') conds.push(isError);
  if (q.status === 'ok') conds.push(`NOT ${isError}`);
  const rows = await readObjects(
    conn,
    `SELECT * FROM spans WHERE ${conds.join(' AND ')} ORDER BY duration_ns DESC, start_unix_ns, span_id LIMIT $limit`,
    params,
  );
  return rows.map(spanFromDb);
}

/** Every stored span with this id (normally one; a client and a server span never share an id). */
export async function spanById(conn: DuckDBConnection, spanId: string): Promise<SpanRow[]> {
  const rows = await readObjects(conn, `SELECT * FROM spans WHERE span_id = $id ORDER BY kind DESC, start_unix_ns`, { id: spanId.toLowerCase() });
  return rows.map(spanFromDb);
}

/** The spans of one trace seen on this node, in start order (bounded: a runaway trace must not flood the page). */
export async function traceSpans(conn: DuckDBConnection, traceId: string, limit = 1000): Promise<SpanRow[]> {
  const rows = await readObjects(conn, `SELECT * FROM spans WHERE trace_id = $id ORDER BY start_unix_ns, span_id LIMIT $limit`, {
    id: traceId.toLowerCase(),
    limit,
  });
  return rows.map(spanFromDb);
}

export interface FlowSeries {
  /** hotspan.network.flow.bytes | .connections | .retransmits */
  metric: string;
  process: string;
  role: string;
  serverAddress: string;
  serverPort: string;
  outcome: string;
  direction: string;
  /** Increase of the cumulative sum within the range. */
  value: number;
}

/**
 * The flow metrics are cumulative sums per agent run (same start time); their increase within
 * [from, to) is the last value in range minus the last value before it (0 when the run started
 * inside the range).
 */
export async function flowSummary(conn: DuckDBConnection, q: { fromUnixNs: bigint; toUnixNs: bigint }): Promise<FlowSeries[]> {
  const rows = await readObjects(
    conn,
    `WITH pts AS (
       SELECT name, start_unix_ns, attributes, time_unix_ns, value FROM metrics
        WHERE name LIKE 'hotspan.network.flow.%' AND time_unix_ns < $to),
     series AS (
       SELECT name, start_unix_ns, attributes,
              arg_max(value, time_unix_ns) FILTER (WHERE time_unix_ns >= $from) AS last_in,
              arg_max(value, time_unix_ns) FILTER (WHERE time_unix_ns < $from) AS last_before
         FROM pts GROUP BY name, start_unix_ns, attributes)
     SELECT name,
            coalesce(json_extract_string(attributes, '$."process.executable.name"'), '') AS process,
            coalesce(json_extract_string(attributes, '$."hotspan.network.flow.role"'), '') AS role,
            coalesce(json_extract_string(attributes, '$."server.address"'), '') AS server_address,
            coalesce(json_extract_string(attributes, '$."server.port"'), '') AS server_port,
            coalesce(json_extract_string(attributes, '$."hotspan.network.flow.outcome"'), '') AS outcome,
            coalesce(json_extract_string(attributes, '$."network.io.direction"'), '') AS direction,
            sum(last_in - coalesce(last_before, 0)) AS value
       FROM series WHERE last_in IS NOT NULL
      GROUP BY ALL HAVING sum(last_in - coalesce(last_before, 0)) > 0
      ORDER BY value DESC`,
    { from: q.fromUnixNs, to: q.toUnixNs },
  );
  return rows.map((r) => ({
    metric: String(r.name),
    process: String(r.process),
    role: String(r.role),
    serverAddress: String(r.server_address),
    serverPort: String(r.server_port),
    outcome: String(r.outcome),
    direction: String(r.direction),
    value: Number(r.value),
  }));
}

export interface NamedStack {
  /** Frame names, root first. */
  names: string[];
  count: bigint;
  cpuNs: bigint;
}

export interface NamedProfile {
  periodNs: bigint;
  firstUnixNs: bigint;
  lastUnixNs: bigint;
  totalCount: bigint;
  /** By count descending, then names: the same input gives the same order. */
  stacks: NamedStack[];
}

/**
 * Like Store.mergeProfile without labels, but stacks come back as frame names only, summed per
 * distinct name list. Converting whole frame structs (file, module, build id) to JS costs most of
 * a large merge; the flame graph and folded text need the names alone.
 */
export interface StackNamesQuery {
  service?: string;
  version?: string;
  pid?: number;
  spanId?: string;
  traceId?: string;
  fromUnixNs?: bigint;
  toUnixNs?: bigint;
}

export async function mergeStackNames(conn: DuckDBConnection, q: StackNamesQuery): Promise<NamedProfile> {
  const conds = [`sample_type = 'samples/count'`];
  const params: Params = {};
  if (q.pid !== undefined) (conds.push('pid = $pid'), (params.pid = q.pid));
  if (q.service !== undefined) (conds.push('service_name = $service'), (params.service = q.service));
  if (q.version !== undefined) (conds.push('service_version = $version'), (params.version = q.version));
  if (q.spanId !== undefined) (conds.push('span_id = $spanId'), (params.spanId = q.spanId.toLowerCase()));
  if (q.traceId !== undefined) (conds.push('trace_id = $traceId'), (params.traceId = q.traceId.toLowerCase()));
  if (q.fromUnixNs !== undefined) (conds.push('time_unix_ns >= $fromNs'), (params.fromNs = q.fromUnixNs));
  if (q.toUnixNs !== undefined) (conds.push('time_unix_ns < $toNs'), (params.toNs = q.toUnixNs));
  const where = conds.join(' AND ');
  // Each stack's names come back as one JSON text (root first), made per stored stack before the
  // dedup (any_value over text is cheap, over a list of structs it is not) and parsed here:
  // converting 100k DuckDB lists value by value cost most of a 10-minute flame graph. Columns, not
  // row objects: the node API's per-row conversion is the other big cost. JSON keeps any name intact.
  const reader = await conn.runAndReadAll(
    `WITH agg AS (
       SELECT stack_id, sum(value) AS count, sum(value::HUGEINT * period_ns) AS cpu_ns FROM samples WHERE ${where} GROUP BY stack_id),
     st AS (
       SELECT stack_id, any_value(names) AS names FROM (
         SELECT stack_id, to_json(list_reverse(list_transform(frames, f -> coalesce(f.name, ''))))::VARCHAR AS names
           FROM stacks WHERE stack_id IN (SELECT stack_id FROM agg))
        GROUP BY stack_id)
     SELECT coalesce(st.names, '[]') AS names, sum(agg.count)::BIGINT AS count, sum(agg.cpu_ns)::BIGINT AS cpu_ns
       FROM agg LEFT JOIN st USING (stack_id)
      GROUP BY 1 ORDER BY count DESC, names`,
    params,
  );
  // No rows, no columns: the node API returns [] then, not three empty columns.
  const [namesCol = [], countCol = [], cpuCol = []] = reader.getColumnsJS() as [string[]?, bigint[]?, (bigint | null)[]?];
  const summary = await readObjects(
    conn,
    `SELECT min(time_unix_ns) AS first_ns, max(time_unix_ns) AS last_ns, sum(value) AS total,
            (SELECT period_ns FROM samples WHERE ${where}
              GROUP BY period_ns ORDER BY sum(value) DESC, period_ns LIMIT 1) AS period_ns
       FROM samples WHERE ${where}`,
    params,
  );
  const s = summary[0] ?? {};
  return {
    periodNs: BigInt((s.period_ns as bigint | null) ?? 0n),
    firstUnixNs: BigInt((s.first_ns as bigint | null) ?? 0n),
    lastUnixNs: BigInt((s.last_ns as bigint | null) ?? 0n),
    totalCount: BigInt((s.total as bigint | null) ?? 0n),
    stacks: namesCol.map((names, i) => ({
      names: JSON.parse(names) as string[],
      count: countCol[i]!,
      cpuNs: cpuCol[i] ?? 0n,
    })),
  };
}

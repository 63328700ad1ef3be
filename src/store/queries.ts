/**
 * The store's read queries. Each one is a filtered group-by over the wide tables; stacks are joined
 * in only for the stack ids the aggregate produced.
 */

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { ATTR_SPAN_ATTRIBUTION, ATTR_SPAN_CANDIDATES } from '../otlp/convert-profiles.js';
import type { FrameKind } from '../symbols/types.js';
import type { MergeLabel, MergeQuery, MergedProfile, MergedStack, ServiceVersion, SpanRow, SpanSample, StoredFrame } from './types.js';

const LABEL_COLUMNS: Record<MergeLabel, string> = {
  pid: 'pid',
  tid: 'tid',
  threadName: 'thread_name',
  traceId: 'trace_id',
  spanId: 'span_id',
  spanName: 'span_name',
  service: 'service_name',
  spanAttribution: 'span_attribution',
};

/**
 * Labels computed from the `labels` JSON instead of read from a column. span_attribution:
 * `ambiguous:N` for a sample N requests could have run (convert-profiles.ts writes the
 * attributes), as the pprof files of `hotspan record` label it; null otherwise.
 */
const LABEL_EXPRESSIONS: Partial<Record<MergeLabel, string>> = {
  spanAttribution: `CASE WHEN json_extract_string(labels, '$."${ATTR_SPAN_ATTRIBUTION}"') = 'ambiguous'
      THEN 'ambiguous:' || coalesce(json_extract_string(labels, '$."${ATTR_SPAN_CANDIDATES}"'), '0') END`,
};

export const DEFAULT_SAMPLE_TYPE = 'samples/count';

type Params = Record<string, DuckDBValue>;

function mergeFilter(q: MergeQuery): { where: string; params: Params } {
  const conds = ['sample_type = $sampleType'];
  const params: Params = { sampleType: q.sampleType ?? DEFAULT_SAMPLE_TYPE };
  if (q.pid !== undefined) (conds.push('pid = $pid'), (params.pid = q.pid));
  if (q.service !== undefined) (conds.push('service_name = $service'), (params.service = q.service));
  if (q.version !== undefined) (conds.push('service_version = $version'), (params.version = q.version));
  if (q.spanId !== undefined) (conds.push('span_id = $spanId'), (params.spanId = q.spanId.toLowerCase()));
  if (q.traceId !== undefined) (conds.push('trace_id = $traceId'), (params.traceId = q.traceId.toLowerCase()));
  if (q.fromUnixNs !== undefined) (conds.push('time_unix_ns >= $fromNs'), (params.fromNs = q.fromUnixNs));
  if (q.toUnixNs !== undefined) (conds.push('time_unix_ns < $toNs'), (params.toNs = q.toUnixNs));
  return { where: conds.join(' AND '), params };
}

export async function mergeProfile(conn: DuckDBConnection, q: MergeQuery): Promise<MergedProfile> {
  const { where, params } = mergeFilter(q);
  const labels = [...new Set(q.labels ?? [])];
  const labelCols = labels.map((l) => LABEL_COLUMNS[l]);
  if (labelCols.some((c) => c === undefined)) {
    throw new Error(`mergeProfile: unknown label in ${JSON.stringify(q.labels)}; use ${Object.keys(LABEL_COLUMNS).join(', ')}`);
  }
  const groupCols = ['stack_id', ...labelCols].join(', ');
  const selectCols = ['stack_id', ...labels.map((l, i) => (LABEL_EXPRESSIONS[l] ? `${LABEL_EXPRESSIONS[l]} AS ${labelCols[i]}` : labelCols[i]))].join(', ');
  // Stacks may (briefly, see Store.collectStacks) exist twice; any_value keeps the join 1:1.
  const rows = await readObjects(
    conn,
    `WITH agg AS (
       SELECT ${selectCols}, sum(value) AS count, sum(value::HUGEINT * period_ns) AS cpu_ns
         FROM samples WHERE ${where} GROUP BY ${groupCols})
     SELECT agg.*, st.frames FROM agg
       LEFT JOIN (SELECT stack_id, any_value(frames) AS frames FROM stacks
                   WHERE stack_id IN (SELECT stack_id FROM agg) GROUP BY stack_id) st USING (stack_id)
      ORDER BY count DESC, stack_id${labelCols.length ? ', ' + labelCols.join(', ') : ''}`,
    params,
  );
  const summary = await readObjects(
    conn,
    `SELECT min(time_unix_ns) AS first_ns, max(time_unix_ns) AS last_ns, sum(value) AS total,
            (SELECT period_ns FROM samples WHERE ${where}
              GROUP BY period_ns ORDER BY sum(value) DESC, period_ns LIMIT 1) AS period_ns
       FROM samples WHERE ${where}`,
    params,
  );
  const s = summary[0] ?? {};
  const stacks: MergedStack[] = rows.map((r) => {
    const lv: MergedStack['labels'] = {};
    labels.forEach((l, i) => {
      const v = r[labelCols[i]!];
      if (v !== null && v !== undefined) lv[l] = typeof v === 'bigint' ? Number(v) : (v as string | number);
    });
    return {
      stackId: r.stack_id as bigint,
      frames: framesFromDb(r.frames),
      count: BigInt(r.count as bigint),
      cpuNs: BigInt((r.cpu_ns as bigint | null) ?? 0n),
      labels: lv,
    };
  });
  return {
    sampleType: params.sampleType as string,
    periodNs: BigInt((s.period_ns as bigint | null) ?? 0n),
    firstUnixNs: BigInt((s.first_ns as bigint | null) ?? 0n),
    lastUnixNs: BigInt((s.last_ns as bigint | null) ?? 0n),
    totalCount: BigInt((s.total as bigint | null) ?? 0n),
    stacks,
  };
}

export async function slowestSpans(conn: DuckDBConnection, q: { limit: number; service?: string; sinceUnixNs?: bigint; kind?: number }): Promise<SpanRow[]> {
  if (!Number.isSafeInteger(q.limit) || q.limit < 0) {
    throw new Error(`slowestSpans: limit must be a non-negative integer, got ${q.limit}`);
  }
  const conds = ['TRUE'];
  const params: Params = { limit: q.limit };
  if (q.service !== undefined) (conds.push('service_name = $service'), (params.service = q.service));
  if (q.sinceUnixNs !== undefined) (conds.push('start_unix_ns >= $since'), (params.since = q.sinceUnixNs));
  if (q.kind !== undefined) (conds.push('kind = $kind'), (params.kind = q.kind));
  const rows = await readObjects(
    conn,
    `SELECT * FROM spans WHERE ${conds.join(' AND ')}
      ORDER BY duration_ns DESC, start_unix_ns, span_id LIMIT $limit`,
    params,
  );
  return rows.map(spanFromDb);
}

export async function spanSamples(conn: DuckDBConnection, spanId: string): Promise<SpanSample[]> {
  const rows = await readObjects(
    conn,
    `WITH s AS (SELECT time_unix_ns, pid, tid, thread_name, cpu, value, stack_id FROM samples WHERE span_id = $spanId)
     SELECT s.*, st.frames FROM s
       LEFT JOIN (SELECT stack_id, any_value(frames) AS frames FROM stacks
                   WHERE stack_id IN (SELECT stack_id FROM s) GROUP BY stack_id) st USING (stack_id)
      ORDER BY time_unix_ns, tid`,
    { spanId: spanId.toLowerCase() },
  );
  return rows.map((r) => ({
    timeUnixNs: r.time_unix_ns as bigint,
    pid: (r.pid as number | null) ?? null,
    tid: (r.tid as number | null) ?? null,
    threadName: (r.thread_name as string | null) ?? '',
    cpu: (r.cpu as number | null) ?? null,
    value: r.value as bigint,
    stackId: r.stack_id as bigint,
    frames: framesFromDb(r.frames),
  }));
}

export async function serviceVersions(conn: DuckDBConnection, service: string): Promise<ServiceVersion[]> {
  const rows = await readObjects(
    conn,
    `SELECT service_version AS version, min(t) AS first_ns, max(t) AS last_ns FROM (
        SELECT service_version, time_unix_ns AS t FROM samples WHERE service_name = $service
        UNION ALL SELECT service_version, start_unix_ns FROM spans WHERE service_name = $service
        UNION ALL SELECT service_version, time_unix_ns FROM metrics WHERE service_name = $service
        UNION ALL SELECT service_version, time_unix_ns FROM logs WHERE service_name = $service)
      WHERE service_version <> '' GROUP BY service_version ORDER BY first_ns, version`,
    { service },
  );
  return rows.map((r) => ({
    version: r.version as string,
    firstSeenUnixNs: r.first_ns as bigint,
    lastSeenUnixNs: r.last_ns as bigint,
  }));
}

export async function readObjects(conn: DuckDBConnection, sql: string, params?: Params): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

function framesFromDb(v: unknown): StoredFrame[] {
  if (!Array.isArray(v)) return [];
  return v.map((f: Record<string, unknown>) => ({
    name: String(f.name ?? ''),
    file: String(f.file ?? ''),
    line: Number(f.line ?? 0),
    module: String(f.module ?? ''),
    kind: String(f.kind ?? 'unknown') as FrameKind,
    buildId: String(f.build_id ?? ''),
  }));
}

export function spanFromDb(r: Record<string, unknown>): SpanRow {
  return {
    traceId: r.trace_id as string,
    spanId: r.span_id as string,
    parentSpanId: (r.parent_span_id as string) ?? '',
    name: r.name as string,
    kind: r.kind as number,
    startUnixNs: r.start_unix_ns as bigint,
    endUnixNs: r.end_unix_ns as bigint,
    durationNs: r.duration_ns as bigint,
    statusCode: r.status_code as number,
    statusMessage: (r.status_message as string) ?? '',
    service: (r.service_name as string) ?? '',
    serviceVersion: (r.service_version as string) ?? '',
    pid: (r.pid as number | null) ?? null,
    httpRoute: (r.http_route as string | null) ?? null,
    httpMethod: (r.http_method as string | null) ?? null,
    httpStatusCode: (r.http_status_code as number | null) ?? null,
    cpuTimeS: (r.cpu_time_s as number | null) ?? null,
    profileId: (r.profile_id as string | null) ?? null,
    attributes: JSON.parse((r.attributes as string) || '{}') as Record<string, unknown>,
  };
}

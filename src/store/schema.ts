/**
 * Table layout of the store, defined once: the DDL and the appenders' column types are both derived
 * from these column lists, so the two cannot drift apart.
 */

import { BIGINT, DOUBLE, INTEGER, LIST, STRUCT, VARCHAR, listValue, structValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { ResourceColumns } from './attributes.js';
import type { SampleRow, StackRow } from './decode-profiles.js';
import type { LogRowIn } from './decode-logs.js';
import type { MetricRowIn } from './decode-metrics.js';
import type { SpanRowIn } from './decode-traces.js';

/** Bump when a table changes shape; open() refuses a store written with another version. */
export const SCHEMA_VERSION = 1;

export interface Column<R> {
  name: string;
  type: DuckDBType;
  get: (row: R) => DuckDBValue;
}

export interface TableSpec<R> {
  name: string;
  /** Column holding the row's Unix-ns time; age retention deletes by it. */
  timeColumn: string | null;
  columns: Column<R>[];
}

const FRAME_TYPE = STRUCT({
  name: VARCHAR,
  file: VARCHAR,
  line: BIGINT,
  module: VARCHAR,
  kind: VARCHAR,
  build_id: VARCHAR,
});

function resourceCols<R>(res: (r: R) => ResourceColumns): Column<R>[] {
  return [
    { name: 'service_name', type: VARCHAR, get: (r) => res(r).serviceName },
    { name: 'service_version', type: VARCHAR, get: (r) => res(r).serviceVersion },
    { name: 'host_name', type: VARCHAR, get: (r) => res(r).hostName },
    { name: 'process_name', type: VARCHAR, get: (r) => res(r).processName },
    { name: 'container_id', type: VARCHAR, get: (r) => res(r).containerId },
    // The full attribute set is stored once per distinct resource (RESOURCES), not per row.
    { name: 'resource_id', type: BIGINT, get: (r) => res(r).resourceId },
  ];
}

export const RESOURCES: TableSpec<ResourceColumns> = {
  name: 'resources',
  timeColumn: null,
  columns: [
    { name: 'resource_id', type: BIGINT, get: (r) => r.resourceId },
    { name: 'attributes', type: VARCHAR, get: (r) => r.resourceJson },
  ],
};

export const SAMPLES: TableSpec<SampleRow> = {
  name: 'samples',
  timeColumn: 'time_unix_ns',
  columns: [
    { name: 'time_unix_ns', type: BIGINT, get: (r) => r.timeUnixNs },
    ...resourceCols<SampleRow>((r) => r.resource),
    { name: 'pid', type: INTEGER, get: (r) => r.pid },
    { name: 'tid', type: INTEGER, get: (r) => r.tid },
    { name: 'thread_name', type: VARCHAR, get: (r) => r.threadName },
    { name: 'cpu', type: INTEGER, get: (r) => r.cpu },
    { name: 'stack_id', type: BIGINT, get: (r) => r.stackId },
    { name: 'trace_id', type: VARCHAR, get: (r) => r.traceId },
    { name: 'span_id', type: VARCHAR, get: (r) => r.spanId },
    { name: 'span_name', type: VARCHAR, get: (r) => r.spanName },
    { name: 'sample_type', type: VARCHAR, get: (r) => r.sampleType },
    { name: 'period_ns', type: BIGINT, get: (r) => r.periodNs },
    { name: 'value', type: BIGINT, get: (r) => r.value },
    { name: 'labels', type: VARCHAR, get: (r) => r.labelsJson },
  ],
};

export const STACKS: TableSpec<StackRow> = {
  name: 'stacks',
  timeColumn: null,
  columns: [
    { name: 'stack_id', type: BIGINT, get: (r) => r.stackId },
    {
      name: 'frames',
      type: LIST(FRAME_TYPE),
      get: (r) =>
        listValue(
          r.frames.map((f) =>
            structValue({
              name: f.name,
              file: f.file,
              line: BigInt(f.line),
              module: f.module,
              kind: f.kind,
              build_id: f.buildId,
            }),
          ),
        ),
    },
  ],
};

export const SPANS: TableSpec<SpanRowIn> = {
  name: 'spans',
  timeColumn: 'start_unix_ns',
  columns: [
    { name: 'trace_id', type: VARCHAR, get: (r) => r.traceId },
    { name: 'span_id', type: VARCHAR, get: (r) => r.spanId },
    { name: 'parent_span_id', type: VARCHAR, get: (r) => r.parentSpanId },
    { name: 'name', type: VARCHAR, get: (r) => r.name },
    { name: 'kind', type: INTEGER, get: (r) => r.kind },
    { name: 'start_unix_ns', type: BIGINT, get: (r) => r.startUnixNs },
    { name: 'end_unix_ns', type: BIGINT, get: (r) => r.endUnixNs },
    { name: 'duration_ns', type: BIGINT, get: (r) => r.endUnixNs - r.startUnixNs },
    { name: 'status_code', type: INTEGER, get: (r) => r.statusCode },
    { name: 'status_message', type: VARCHAR, get: (r) => r.statusMessage },
    ...resourceCols<SpanRowIn>((r) => r.resource),
    { name: 'pid', type: INTEGER, get: (r) => r.resource.pid },
    { name: 'http_route', type: VARCHAR, get: (r) => r.httpRoute },
    { name: 'http_method', type: VARCHAR, get: (r) => r.httpMethod },
    { name: 'http_status_code', type: INTEGER, get: (r) => r.httpStatusCode },
    { name: 'cpu_time_s', type: DOUBLE, get: (r) => r.cpuTimeS },
    { name: 'profile_id', type: VARCHAR, get: (r) => r.profileId },
    { name: 'attributes', type: VARCHAR, get: (r) => r.attributesJson },
  ],
};

export const METRICS: TableSpec<MetricRowIn> = {
  name: 'metrics',
  timeColumn: 'time_unix_ns',
  columns: [
    { name: 'time_unix_ns', type: BIGINT, get: (r) => r.timeUnixNs },
    { name: 'start_unix_ns', type: BIGINT, get: (r) => r.startUnixNs },
    { name: 'name', type: VARCHAR, get: (r) => r.name },
    { name: 'unit', type: VARCHAR, get: (r) => r.unit },
    { name: 'kind', type: VARCHAR, get: (r) => r.kind },
    { name: 'value', type: DOUBLE, get: (r) => r.value },
    { name: 'hist_count', type: BIGINT, get: (r) => r.histCount },
    { name: 'hist_sum', type: DOUBLE, get: (r) => r.histSum },
    { name: 'bucket_counts', type: LIST(BIGINT), get: (r) => (r.bucketCounts ? listValue(r.bucketCounts) : null) },
    { name: 'explicit_bounds', type: LIST(DOUBLE), get: (r) => (r.explicitBounds ? listValue(r.explicitBounds) : null) },
    ...resourceCols<MetricRowIn>((r) => r.resource),
    { name: 'pid', type: INTEGER, get: (r) => r.resource.pid },
    { name: 'attributes', type: VARCHAR, get: (r) => r.attributesJson },
  ],
};

export const LOGS: TableSpec<LogRowIn> = {
  name: 'logs',
  timeColumn: 'time_unix_ns',
  columns: [
    { name: 'time_unix_ns', type: BIGINT, get: (r) => r.timeUnixNs },
    { name: 'observed_unix_ns', type: BIGINT, get: (r) => r.observedUnixNs },
    { name: 'severity_number', type: INTEGER, get: (r) => r.severityNumber },
    { name: 'severity_text', type: VARCHAR, get: (r) => r.severityText },
    { name: 'body', type: VARCHAR, get: (r) => r.body },
    { name: 'trace_id', type: VARCHAR, get: (r) => r.traceId },
    { name: 'span_id', type: VARCHAR, get: (r) => r.spanId },
    ...resourceCols<LogRowIn>((r) => r.resource),
    { name: 'pid', type: INTEGER, get: (r) => r.resource.pid },
    { name: 'attributes', type: VARCHAR, get: (r) => r.attributesJson },
  ],
};

/** Tables with a time column, in the order retention visits them. */
export const TIMED_TABLES = [SAMPLES, SPANS, METRICS, LOGS] as const;

export function createTableSql(spec: TableSpec<never>): string {
  const cols = spec.columns.map((c) => `${c.name} ${c.type.toString()}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${spec.name} (${cols})`;
}

/**
 * All DDL. No indexes: queries filter on time (zone maps make that cheap because rows arrive
 * roughly in time order) and on low-cardinality columns; ART indexes would slow appends and
 * retention deletes for little gain at node-local sizes.
 */
export function schemaSql(): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
    ...[SAMPLES, STACKS, RESOURCES, SPANS, METRICS, LOGS].map((t) => createTableSql(t as TableSpec<never>)),
    // L4/L7 flows arrive as metrics whose points name a peer; the view gives them their own name.
    `CREATE OR REPLACE VIEW flows AS
       SELECT time_unix_ns, name, value, service_name, pid, container_id,
              json_extract_string(attributes, '$."server.address"') AS server_address,
              json_extract_string(attributes, '$."server.port"') AS server_port,
              json_extract_string(attributes, '$."network.peer.address"') AS peer_address,
              json_extract_string(attributes, '$."network.peer.port"') AS peer_port,
              attributes
         FROM metrics
        WHERE json_exists(attributes, '$."server.address"') OR json_exists(attributes, '$."network.peer.address"')`,
  ];
}

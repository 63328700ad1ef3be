/**
 * The pprof label keys hotspan writes: one vocabulary for every file it produces (agent windows,
 * `hotspan record`, `hotspan profile`, the API's pprof download, `hotspan flamegraph -o x.pb.gz`).
 * Keys are plain identifiers ([a-z_]+): Grafana Pyroscope reads `span_id`/`span_name` for span
 * profiles, and label names with dots are not valid Prometheus-style names there.
 */
export const PPROF_LABEL = {
  pid: 'pid',
  tid: 'tid',
  threadName: 'thread_name',
  processName: 'process_name',
  service: 'service_name',
  serviceVersion: 'service_version',
  traceId: 'trace_id',
  spanId: 'span_id',
  spanName: 'span_name',
  /** `ambiguous:N` when a sample could belong to N spans of its thread. */
  spanAttribution: 'span_attribution',
} as const;

export type PprofLabelKey = (typeof PPROF_LABEL)[keyof typeof PPROF_LABEL];

/** Labels written as numbers (`num`), the rest as strings. */
export const NUMERIC_PPROF_LABELS: ReadonlySet<string> = new Set([PPROF_LABEL.pid, PPROF_LABEL.tid]);

/** The value of the span attribution label for a sample shared by `candidates` spans. */
export function ambiguousAttribution(candidates: number): string {
  return `ambiguous:${candidates}`;
}

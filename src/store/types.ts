/**
 * Data shapes of the embedded store: what queries return and how rows look before they are appended.
 * Ids are lowercase hex strings; times are bigint Unix epoch nanoseconds.
 */

import type { FrameKind } from '../symbols/types.js';

export interface StoreOptions {
  /** Directory holding `store.duckdb` (created if missing). */
  dataDir: string;
  /** Rows older than this are deleted by retention. Default 7 days. 0 disables age retention. */
  retentionMs?: number;
  /** Target on-disk size of the database. Default 2 GiB. 0 disables size retention. */
  maxBytes?: number;
  /** How often retention runs in the background. Default 60 s. 0 disables the timer. */
  retentionIntervalMs?: number;
}

/** One frame of a stored stack, as it came off the wire. */
export interface StoredFrame {
  /** Function name; `module+0x1a2b` or `[unknown]` when the sender could not name it. */
  name: string;
  file: string;
  /** Source line, 0 when unknown. */
  line: number;
  /** Module basename (`libc.so.6`, `vmlinux`). */
  module: string;
  kind: FrameKind;
  /** GNU build id (or htlhash) of the module, '' when unknown. */
  buildId: string;
}

/** Columns a merged stack can be split by; each becomes a pprof label. */
export type MergeLabel = 'pid' | 'tid' | 'threadName' | 'traceId' | 'spanId' | 'spanName' | 'service' | 'spanAttribution';

export interface MergeQuery {
  pid?: number;
  service?: string;
  version?: string;
  spanId?: string;
  traceId?: string;
  /** Inclusive lower bound on the sample time. */
  fromUnixNs?: bigint;
  /** Exclusive upper bound on the sample time. */
  toUnixNs?: bigint;
  /** Which sample type to merge, as `type/unit`. Default `samples/count`. */
  sampleType?: string;
  /** Keep stacks apart per value of these columns (they become labels). Default: none. */
  labels?: MergeLabel[];
}

/** One distinct stack (plus label values, if asked for) with its summed value. */
export interface MergedStack {
  stackId: bigint;
  /** Leaf first. */
  frames: StoredFrame[];
  /** Sum of sample values (for `samples/count`: the number of samples). */
  count: bigint;
  /** Sum of value × period: CPU time for `samples/count` with a `cpu/nanoseconds` period. */
  cpuNs: bigint;
  labels: Partial<Record<MergeLabel, string | number>>;
}

/**
 * The result of merging samples: like a pprof profile with samples grouped by stack.
 * `stacks` are sorted by count descending, then stack id, so output is deterministic.
 */
export interface MergedProfile {
  sampleType: string;
  /** The most common sampling period among the merged samples; 0 when none was sent. */
  periodNs: bigint;
  /** Time span actually covered by the merged samples (0n/0n when empty). */
  firstUnixNs: bigint;
  lastUnixNs: bigint;
  totalCount: bigint;
  stacks: MergedStack[];
}

export interface SpanRow {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTel SpanKind number. */
  kind: number;
  startUnixNs: bigint;
  endUnixNs: bigint;
  durationNs: bigint;
  /** 0 UNSET, 1 OK, 2 ERROR. */
  statusCode: number;
  statusMessage: string;
  service: string;
  serviceVersion: string;
  pid: number | null;
  httpRoute: string | null;
  httpMethod: string | null;
  httpStatusCode: number | null;
  /** `hotspan.cpu.time` in seconds, when the span carried it. */
  cpuTimeS: number | null;
  /** `pyroscope.profile.id`, when present. */
  profileId: string | null;
  attributes: Record<string, unknown>;
}

/** One sample row belonging to a span, with its stack. */
export interface SpanSample {
  timeUnixNs: bigint;
  pid: number | null;
  tid: number | null;
  threadName: string;
  cpu: number | null;
  value: bigint;
  stackId: bigint;
  frames: StoredFrame[];
}

export interface ServiceVersion {
  version: string;
  firstSeenUnixNs: bigint;
  lastSeenUnixNs: bigint;
}

/** Counters since open: what was written and what was skipped as malformed. */
export interface StoreStats {
  rowsIngested: Record<'samples' | 'stacks' | 'spans' | 'metrics' | 'logs', number>;
  /** Items skipped because they broke the spec (bad index, bad number, …), by reason. */
  malformed: Record<string, number>;
  retentionRuns: number;
  retentionDeletedRows: number;
}

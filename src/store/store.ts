/**
 * The embedded analytical store: a DuckDB file in the data directory. Implements OtlpSink so the
 * embedded receiver can hand it decoded requests, and answers the queries later commands need.
 *
 * Connections: one for ingest (appenders), one for reads, one for retention. Appends are synchronous
 * batches (one commit each); reads and retention run on DuckDB's threads and do not block the
 * event loop.
 */

import { mkdirSync, accessSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type {
  ExportLogsServiceRequestObject,
  ExportMetricsServiceRequestObject,
  ExportProfilesServiceRequestObject,
  ExportTraceServiceRequestObject,
  OtlpSink,
} from '../otlp/index.js';
import type { MalformedCounts, ResourceColumns } from './attributes.js';
import { appendRows } from './append.js';
import { decodeLogs } from './decode-logs.js';
import { decodeMetrics } from './decode-metrics.js';
import { decodeProfiles, type StackRow } from './decode-profiles.js';
import { decodeTraces } from './decode-traces.js';
import * as queries from './queries.js';
import * as retention from './retention.js';
import * as ui from './ui-queries.js';
import type { FlowSeries, NamedProfile, ServiceSummary, SpanListQuery, StackNamesQuery } from './ui-queries.js';
import { LOGS, METRICS, RESOURCES, SAMPLES, SCHEMA_VERSION, SPANS, STACKS, schemaSql, type TableSpec } from './schema.js';
import type { MergeQuery, MergedProfile, ServiceVersion, SpanRow, SpanSample, StoreOptions, StoreStats } from './types.js';

export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
export const DEFAULT_RETENTION_INTERVAL_MS = 60_000;
/**
 * DuckDB defaults to 80 % of RAM; the whole agent must fit the DaemonSet's 512 Mi, so its store
 * gets a quarter of that. Queries and inserts spill to the store's temp directory beyond it.
 */
const MEMORY_LIMIT = '128MB';
export const DB_FILE_NAME = 'store.duckdb';

export type StoreErrorCode = 'STORE_DIR' | 'STORE_LOCKED' | 'STORE_SCHEMA' | 'STORE_OPEN' | 'STORE_CLOSED';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** /var/lib/hotspan as root; otherwise under XDG_STATE_HOME (or ~/.local/state). */
export function defaultDataDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/hotspan';
  const state = process.env.XDG_STATE_HOME || join(process.env.HOME ?? '/tmp', '.local', 'state');
  return join(state, 'hotspan');
}

/** Referenced tables before the tables that reference them (see Store.flushPending). */
const FLUSH_ORDER = [RESOURCES, STACKS, SAMPLES, SPANS, METRICS, LOGS];
/** How long ingested rows may wait unflushed when nothing reads them (one profile window; a read flushes first). */
const FLUSH_INTERVAL_MS = 10_000;

export class Store implements OtlpSink {
  private readonly appenders = new Map<string, DuckDBAppender>();
  /** Stack ids known to be in the `stacks` table, so each stack is written once. */
  private readonly knownStacks = new Set<bigint>();
  /** Resource ids already in the `resources` table. Resources are few (one per process) and kept. */
  private readonly knownResources = new Set<bigint>();
  /** Set while stack garbage collection runs; ingest waits for it (see collectStacks). */
  private stackGc: Promise<void> | null = null;
  /** Rows appended but not flushed yet, and the timer that will flush them (see flushPending). */
  private pending = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private retentionRun: Promise<{ deletedRows: number }> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly counters: StoreStats = {
    rowsIngested: { samples: 0, stacks: 0, spans: 0, metrics: 0, logs: 0 },
    malformed: {},
    retentionRuns: 0,
    retentionDeletedRows: 0,
  };

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly ingestConn: DuckDBConnection,
    private readonly queryConn: DuckDBConnection,
    private readonly retentionConn: DuckDBConnection,
    readonly dbPath: string,
    private readonly retentionMs: number,
    private readonly maxBytes: number,
  ) {}

  static async open(opts: StoreOptions): Promise<Store> {
    const dataDir = opts.dataDir;
    if (!dataDir) throw new StoreError('STORE_DIR', 'store: no data directory given; pass --data-dir or use defaultDataDir()');
    try {
      mkdirSync(dataDir, { recursive: true });
      accessSync(dataDir, fsConstants.W_OK);
    } catch (e) {
      throw new StoreError(
        'STORE_DIR',
        `store: data directory ${dataDir} cannot be created or written (${(e as NodeJS.ErrnoException).code}); ` +
          `run as root, fix its permissions, or choose another with --data-dir`,
        { cause: e },
      );
    }
    const dbPath = join(dataDir, DB_FILE_NAME);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(dbPath, { memory_limit: MEMORY_LIMIT });
    } catch (e) {
      const msg = String((e as Error).message);
      if (/lock/i.test(msg)) {
        throw new StoreError(
          'STORE_LOCKED',
          `store: ${dbPath} is held by another process (${msg.split('\n')[0]}); stop the other hotspan or use another --data-dir`,
          { cause: e },
        );
      }
      throw new StoreError('STORE_OPEN', `store: cannot open ${dbPath}: ${msg}; if the file is corrupt, move it away`, { cause: e });
    }
    const ingestConn = await instance.connect();
    for (const sql of schemaSql()) await ingestConn.run(sql);
    await checkSchemaVersion(ingestConn, dbPath);
    const store = new Store(
      instance,
      ingestConn,
      await instance.connect(),
      await instance.connect(),
      dbPath,
      opts.retentionMs ?? DEFAULT_RETENTION_MS,
      opts.maxBytes ?? DEFAULT_MAX_BYTES,
    );
    for (const t of [SAMPLES, STACKS, RESOURCES, SPANS, METRICS, LOGS]) {
      store.appenders.set(t.name, await ingestConn.createAppender(t.name));
    }
    for (const r of await queries.readObjects(ingestConn, 'SELECT DISTINCT stack_id FROM stacks')) {
      store.knownStacks.add(r.stack_id as bigint);
    }
    for (const r of await queries.readObjects(ingestConn, 'SELECT DISTINCT resource_id FROM resources')) {
      store.knownResources.add(r.resource_id as bigint);
    }
    const intervalMs = opts.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
    if (intervalMs > 0) {
      store.timer = setInterval(() => {
        store.applyRetention().catch(() => {
          // A failed pass is retried on the next tick; the counters show whether passes succeed.
        });
      }, intervalMs);
      store.timer.unref();
    }
    return store;
  }

  async ingestProfiles(req: ExportProfilesServiceRequestObject): Promise<void> {
    await this.beforeIngest();
    const { samples, stacks, malformed } = decodeProfiles(req);
    this.addMalformed(malformed);
    const newStacks: StackRow[] = [];
    for (const s of stacks.values()) if (!this.knownStacks.has(s.stackId)) newStacks.push(s);
    // Stacks first, so a reader never sees a sample whose stack is missing.
    this.appendResources(samples);
    this.append(STACKS, newStacks, 'stacks');
    for (const s of newStacks) this.knownStacks.add(s.stackId);
    this.append(SAMPLES, samples, 'samples');
  }

  async ingestTraces(req: ExportTraceServiceRequestObject): Promise<void> {
    await this.beforeIngest();
    const { spans, malformed } = decodeTraces(req);
    this.addMalformed(malformed);
    this.appendResources(spans);
    this.append(SPANS, spans, 'spans');
  }

  async ingestMetrics(req: ExportMetricsServiceRequestObject): Promise<void> {
    await this.beforeIngest();
    const { metrics, malformed } = decodeMetrics(req);
    this.addMalformed(malformed);
    this.appendResources(metrics);
    this.append(METRICS, metrics, 'metrics');
  }

  async ingestLogs(req: ExportLogsServiceRequestObject): Promise<void> {
    await this.beforeIngest();
    const { logs, malformed } = decodeLogs(req);
    this.addMalformed(malformed);
    this.appendResources(logs);
    this.append(LOGS, logs, 'logs');
  }

  /** Samples matching the query, summed per stack (and per label value when labels are asked for). */
  mergeProfile(q: MergeQuery): Promise<MergedProfile> {
    this.beforeRead();
    return queries.mergeProfile(this.queryConn, q);
  }

  /** kind: OTel SpanKind number (2 = SERVER); all kinds when unset. */
  slowestSpans(q: { limit: number; service?: string; sinceUnixNs?: bigint; kind?: number }): Promise<SpanRow[]> {
    this.beforeRead();
    return queries.slowestSpans(this.queryConn, q);
  }

  /** The samples one span ran, oldest first, with their stacks. */
  spanSamples(spanId: string): Promise<SpanSample[]> {
    this.beforeRead();
    return queries.spanSamples(this.queryConn, spanId);
  }

  // The API's reads (ui-queries.ts). Callers serialize their calls (src/api queues them): one
  // connection runs one query at a time. Every query is a method of its own, so the worker proxy
  // (remote.ts) forwards it by name: a function cannot cross a thread boundary.

  serviceSummaries(q: { fromUnixNs: bigint; toUnixNs: bigint }): Promise<ServiceSummary[]> {
    this.beforeRead();
    return ui.serviceSummaries(this.queryConn, q);
  }

  listSpans(q: SpanListQuery): Promise<SpanRow[]> {
    this.beforeRead();
    return ui.listSpans(this.queryConn, q);
  }

  spanById(spanId: string): Promise<SpanRow[]> {
    this.beforeRead();
    return ui.spanById(this.queryConn, spanId);
  }

  traceSpans(traceId: string, limit?: number): Promise<SpanRow[]> {
    this.beforeRead();
    return ui.traceSpans(this.queryConn, traceId, limit);
  }

  flowSummary(q: { fromUnixNs: bigint; toUnixNs: bigint }): Promise<FlowSeries[]> {
    this.beforeRead();
    return ui.flowSummary(this.queryConn, q);
  }

  /** Like mergeProfile without labels, stacks as frame names only (what flame graphs need). */
  mergeStackNames(q: StackNamesQuery): Promise<NamedProfile> {
    this.beforeRead();
    return ui.mergeStackNames(this.queryConn, q);
  }

  serviceVersions(service: string): Promise<ServiceVersion[]> {
    this.beforeRead();
    return queries.serviceVersions(this.queryConn, service);
  }

  /**
   * Deletes rows older than retentionMs, then the oldest rows while the store is above maxBytes,
   * then stacks nothing refers to. Overlapping calls share one run.
   */
  applyRetention(nowUnixNs?: bigint): Promise<{ deletedRows: number }> {
    this.assertOpen();
    if (!this.retentionRun) {
      this.retentionRun = this.runRetention(nowUnixNs ?? BigInt(Date.now()) * 1_000_000n).finally(() => {
        this.retentionRun = null;
      });
    }
    return this.retentionRun;
  }

  /** Current on-disk size: used blocks plus the write-ahead log. */
  sizeBytes(): Promise<number> {
    this.beforeRead();
    return retention.storeSizeBytes(this.queryConn, this.dbPath);
  }

  /** Async like every other method, so the worker proxy has the same surface. */
  async stats(): Promise<StoreStats> {
    return structuredClone(this.counters);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPending();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.retentionRun?.catch(() => undefined);
    for (const a of this.appenders.values()) a.closeSync();
    this.appenders.clear();
    await retention.checkpoint(this.ingestConn);
    for (const c of [this.ingestConn, this.queryConn, this.retentionConn]) c.closeSync();
    this.instance.closeSync();
  }

  private async runRetention(nowUnixNs: bigint): Promise<{ deletedRows: number }> {
    // Pending rows are invisible to the deletes and the size: make them count.
    this.flushPending();
    const conn = this.retentionConn;
    let deletedRows = 0;
    if (this.retentionMs > 0) {
      deletedRows += await retention.deleteOlderThan(conn, nowUnixNs - BigInt(this.retentionMs) * 1_000_000n);
    }
    if (this.maxBytes > 0) {
      if (deletedRows > 0) await retention.checkpoint(conn);
      const usedBytes = await retention.storeSizeBytes(conn, this.dbPath);
      if (usedBytes > this.maxBytes) {
        const cutoff = await retention.sizeCutoff(conn, usedBytes, this.maxBytes);
        if (cutoff !== null) deletedRows += await retention.deleteOlderThan(conn, cutoff);
      }
    }
    if (deletedRows > 0) {
      deletedRows += await this.collectStacks();
      await retention.checkpoint(conn);
    }
    this.counters.retentionRuns++;
    this.counters.retentionDeletedRows += deletedRows;
    return { deletedRows };
  }

  /**
   * Deletes unreferenced stacks. Ingest waits while this runs: otherwise a batch could append
   * samples for a stack it believes stored just as the stack is deleted. The wait is one anti-join.
   */
  private async collectStacks(): Promise<number> {
    let release!: () => void;
    this.stackGc = new Promise<void>((r) => (release = r));
    try {
      // Rows still pending are invisible to the delete: a stack only they use would go.
      this.flushPending();
      const ids = await retention.deleteUnreferencedStacks(this.retentionConn);
      for (const id of ids) this.knownStacks.delete(id);
      return ids.length;
    } finally {
      this.stackGc = null;
      release();
    }
  }

  /** Every read sees every row ingested before it: pending rows are flushed first. */
  private beforeRead(): void {
    this.assertOpen();
    this.flushPending();
  }

  /**
   * Flushes every table's appender, referenced tables first (resources, stacks, then the rows that
   * use them), so a reader never sees a sample whose stack is missing. Ingest leaves rows pending
   * and flushes at most every FLUSH_INTERVAL_MS, or when something reads: a DuckDB flush of this
   * schema's wide tables costs 10–25 ms whether it carries 50 rows or 2000, and flushing each
   * table on every ingest batch was most of the store's CPU in steady state.
   */
  private flushPending(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending || this.closed) return;
    for (const t of FLUSH_ORDER) this.appender(t.name).flushSync();
    // Only now: a flush that throws leaves the rows pending, and the next read tries again.
    this.pending = false;
  }

  private markPending(): void {
    this.pending = true;
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      try {
        this.flushPending();
      } catch {
        // Still pending: the next read flushes again and throws it to a caller that can report it.
      }
    }, FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
  }

  private async beforeIngest(): Promise<void> {
    this.assertOpen();
    while (this.stackGc) await this.stackGc;
    this.assertOpen();
  }

  private append<R>(spec: TableSpec<R>, rows: readonly R[], counter: keyof StoreStats['rowsIngested']): void {
    if (rows.length === 0) return;
    appendRows(this.appender(spec.name), spec, rows);
    this.markPending();
    this.counters.rowsIngested[counter] += rows.length;
  }

  private appendResources(rows: readonly { resource: ResourceColumns }[]): void {
    const fresh = new Map<bigint, ResourceColumns>();
    for (const r of rows) {
      if (!this.knownResources.has(r.resource.resourceId)) fresh.set(r.resource.resourceId, r.resource);
    }
    if (fresh.size === 0) return;
    appendRows(this.appender(RESOURCES.name), RESOURCES, [...fresh.values()]);
    this.markPending();
    for (const id of fresh.keys()) this.knownResources.add(id);
  }

  private appender(table: string): DuckDBAppender {
    const a = this.appenders.get(table);
    if (!a) throw new Error(`store: no appender for table ${table}`);
    return a;
  }

  private addMalformed(m: MalformedCounts): void {
    for (const [k, n] of Object.entries(m)) this.counters.malformed[k] = (this.counters.malformed[k] ?? 0) + n;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store: used after close()');
  }
}

async function checkSchemaVersion(conn: DuckDBConnection, dbPath: string): Promise<void> {
  const rows = await queries.readObjects(conn, `SELECT value FROM meta WHERE key = 'schema_version'`);
  const found = rows[0]?.value as string | undefined;
  if (found === undefined) {
    await conn.run(`INSERT INTO meta VALUES ('schema_version', $v)`, { v: String(SCHEMA_VERSION) });
  } else if (found !== String(SCHEMA_VERSION)) {
    throw new StoreError(
      'STORE_SCHEMA',
      `store: ${dbPath} has schema version ${found}, this hotspan writes version ${SCHEMA_VERSION}; ` +
        `move the old store away (its data is not migrated) or run the matching hotspan version`,
    );
  }
}

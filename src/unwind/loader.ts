/**
 * Feeds the BPF walker (bpf/unwind.bpf.h): for each process seen in samples, reads
 * its executable mappings, builds (or reuses, by build id) each file's unwind table
 * off the hot path, loads the rows into `unwind_pages`/`unwind_tables`, then the
 * process's mapping list into `unwind_procs`. Until that last write the kernel walks
 * the process by frame pointers and counts it (UnwindNoTables).
 *
 * Table memory has a budget: tables are kept LRU by the last time a loaded process
 * used them; evicting one clears its table entry first (frames in it then fall back
 * to frame pointers, counted in UnwindFpFrames), then its pages.
 */
import { readFileSync } from 'node:fs';
import {
  UNWIND_MAPPING_LAYOUT,
  UNWIND_MAX_MAPPINGS,
  UNWIND_MAX_PAGES,
  UNWIND_MAX_TABLES,
  UNWIND_PAGE_LAYOUT,
  UNWIND_PROC_LAYOUT,
  UNWIND_ROWS_PER_PAGE,
} from '../events/decode.js';
import { readElfCfi } from './elf-sections.js';
import { buildTable, UNWIND_ROW_BYTES, type UnwindTable } from './table.js';

/** The map operations the loader needs (BpfObject has them). */
export interface UnwindMaps {
  mapUpdate(map: string, key: Buffer, value: Buffer, flags?: number): void;
  mapDelete(map: string, key: Buffer): boolean;
}

export interface UnwindLoaderOptions {
  /** Kernel memory for table rows; at most (and by default) the walker's preallocated 12 MiB (node's own table is ~4.3 MiB). */
  budgetBytes?: number;
  /** Longest a build or load step may hold the event loop. */
  sliceMs?: number;
  /** How long a process unloaded by an eviction stays on frame pointers; EVICTED_COOLDOWN_MS by default. */
  evictedCooldownMs?: number;
  onError?: (err: Error) => void;
}

export interface UnwindLoaderStats {
  processesLoaded: number;
  processesPending: number;
  tablesLoaded: number;
  tableBytes: number;
  budgetBytes: number;
  tablesBuilt: number;
  buildErrors: number;
  evictions: number;
  /** Executable mappings left out because a process had more than the walker holds. */
  mappingsDropped: number;
  /** Tables not loaded because the budget could not fit them even after evicting. */
  overBudget: number;
  /** Processes the kernel's process map had no room for: walked by frame pointers. */
  procsSkipped: number;
  /** Processes whose state was released after they exited (forgetProcess). */
  processesForgotten: number;
}

interface LoadedTable {
  id: number;
  key: string;
  pages: number;
  bytes: number;
  lastUsedMs: number;
  users: Set<number>;
}

interface FileInfo {
  key: string;
  segments: Array<{ vaddr: number; fileOffset: number; fileSize: number }>;
}

const PAGE_BYTES = UNWIND_PAGE_LAYOUT.size;
/** How long a process unloaded by an eviction stays on frame pointers before it may reload. */
export const EVICTED_COOLDOWN_MS = 30_000;

function u32key(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/** Executable file-backed mappings of /proc/PID/maps: start, end, offset, path. */
export function executableMappings(mapsText: string): Array<{ start: bigint; end: bigint; offset: bigint; path: string; fileId: string }> {
  const out = [];
  for (const line of mapsText.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x' || m[6] === '0' || m[7]!.endsWith(' (deleted)')) continue;
    out.push({ start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), offset: BigInt('0x' + m[4]), path: m[7]!, fileId: `${m[5]}:${m[6]}` });
  }
  return out;
}

export class UnwindLoader {
  private readonly budgetBytes: number;
  private readonly sliceMs: number;
  private readonly tables = new Map<string, LoadedTable>();
  private readonly failed = new Set<string>();
  private readonly files = new Map<string, FileInfo | null>();
  private readonly freeIds: number[] = [];
  private readonly procs = new Set<number>();
  /** Processes the walker map had no room for (UNWIND_MAX_PROCS): frame pointers until they exit. */
  private readonly skipped = new Set<number>();
  /**
   * Processes unloaded by an eviction, until when they stay on frame pointers: reloading them at
   * their next sample would evict another table and rebuild this one, round and round.
   */
  private readonly cooldownUntilMs = new Map<number, number>();
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  private running = false;
  private stopped = false;
  private stats_ = { tablesBuilt: 0, buildErrors: 0, evictions: 0, mappingsDropped: 0, overBudget: 0, procsSkipped: 0, processesForgotten: 0 };

  constructor(
    private readonly maps: UnwindMaps,
    private readonly opts: UnwindLoaderOptions = {},
  ) {
    this.budgetBytes = Math.min(opts.budgetBytes ?? UNWIND_MAX_PAGES * PAGE_BYTES, UNWIND_MAX_PAGES * PAGE_BYTES);
    this.sliceMs = opts.sliceMs ?? 20;
    for (let id = UNWIND_MAX_TABLES - 1; id >= 1; id--) this.freeIds.push(id);
  }

  /** Call with the pids of arriving samples: unknown ones are queued for loading. */
  notePids(pids: Iterable<number>): void {
    if (this.stopped) return;
    for (const pid of pids) {
      if (pid <= 0 || this.procs.has(pid) || this.queued.has(pid) || this.skipped.has(pid)) continue;
      const until = this.cooldownUntilMs.get(pid);
      if (until !== undefined) {
        if (Date.now() < until) continue;
        this.cooldownUntilMs.delete(pid);
      }
      this.queued.add(pid);
      this.queue.push(pid);
    }
    if (!this.running && this.queue.length) void this.drain();
  }

  /** Resolves when every queued process is loaded (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running || this.queue.length) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Resolves true once `pid` is loaded; false when its load ended without tables (no CFI, gone,
   * no room) or after `timeoutMs`.
   */
  async whenLoaded(pid: number, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.procs.has(pid) && !this.stopped && Date.now() < until && (this.queued.has(pid) || this.running)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.procs.has(pid);
  }

  /** Releases an exited process: its kernel mapping list and its hold on tables (which stay, LRU). */
  forgetProcess(pid: number): void {
    let had = this.skipped.delete(pid);
    this.cooldownUntilMs.delete(pid);
    if (this.procs.delete(pid)) {
      had = true;
      if (!this.stopped) this.maps.mapDelete('unwind_procs', u32key(pid)); // once stopped the maps are closed
    }
    if (this.queued.delete(pid)) {
      had = true;
      const i = this.queue.indexOf(pid);
      if (i >= 0) this.queue.splice(i, 1);
    }
    for (const t of this.tables.values()) t.users.delete(pid);
    if (had) this.stats_.processesForgotten++;
  }

  stats(): UnwindLoaderStats {
    let tableBytes = 0;
    for (const t of this.tables.values()) tableBytes += t.bytes;
    return {
      processesLoaded: this.procs.size,
      processesPending: this.queue.length,
      tablesLoaded: this.tables.size,
      tableBytes,
      budgetBytes: this.budgetBytes,
      ...this.stats_,
    };
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.queue.length) {
        const pid = this.queue.shift()!;
        this.queued.delete(pid);
        try {
          await this.loadProcess(pid);
        } catch (err) {
          if (this.stopped) return; // the sampler closed the maps under an in-flight load
          // A process that exited mid-way, or a map update that failed: counted, never fatal.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') this.opts.onError?.(err as Error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private fileInfo(path: string, procPath: string): FileInfo | null {
    let info = this.files.get(path);
    if (info !== undefined) return info;
    try {
      const cfi = readElfCfi(procPath, { withSections: false });
      info = { key: cfi.buildId ?? `path:${path}`, segments: cfi.execSegments };
    } catch {
      info = null;
    }
    this.files.set(path, info);
    return info;
  }

  private async loadProcess(pid: number): Promise<void> {
    const mapsText = readFileSync(`/proc/${pid}/maps`, 'utf8');
    const execs = executableMappings(mapsText);
    const entries: Array<{ start: bigint; end: bigint; bias: bigint; tableId: number }> = [];
    const now = Date.now();
    for (const m of execs) {
      if (this.stopped) return;
      // Files as the process sees them (its own mount namespace).
      const procPath = `/proc/${pid}/root${m.path}`;
      const info = this.fileInfo(`${m.fileId}:${m.path}`, procPath);
      if (!info) continue;
      const seg = info.segments.find((s) => BigInt(s.fileOffset) <= m.offset + 4096n && m.offset < BigInt(s.fileOffset + s.fileSize));
      if (!seg) continue;
      const bias = m.start - (BigInt(seg.vaddr) + m.offset - BigInt(seg.fileOffset));
      const table = await this.ensureTable(info.key, procPath, pid);
      if (!table) continue;
      table.lastUsedMs = now;
      table.users.add(pid);
      entries.push({ start: m.start, end: m.end, bias, tableId: table.id });
    }
    if (this.stopped || entries.length === 0) return;
    entries.sort((a, b) => (a.start < b.start ? -1 : 1));
    if (entries.length > UNWIND_MAX_MAPPINGS) {
      this.stats_.mappingsDropped += entries.length - UNWIND_MAX_MAPPINGS;
      entries.length = UNWIND_MAX_MAPPINGS;
    }
    const value = Buffer.alloc(UNWIND_PROC_LAYOUT.size);
    value.writeUInt32LE(entries.length, UNWIND_PROC_LAYOUT.fields.count);
    entries.forEach((e, i) => {
      const o = UNWIND_PROC_LAYOUT.fields.mappings + i * UNWIND_MAPPING_LAYOUT.size;
      value.writeBigUInt64LE(e.start, o + UNWIND_MAPPING_LAYOUT.fields.start);
      value.writeBigUInt64LE(e.end, o + UNWIND_MAPPING_LAYOUT.fields.end);
      value.writeBigUInt64LE(BigInt.asUintN(64, e.bias), o + UNWIND_MAPPING_LAYOUT.fields.bias);
      value.writeUInt32LE(e.tableId, o + UNWIND_MAPPING_LAYOUT.fields.table_id);
    });
    try {
      this.maps.mapUpdate('unwind_procs', u32key(pid), value);
    } catch (err) {
      this.skipped.add(pid); // map full (or the kernel refused): not retried at every sample
      this.stats_.procsSkipped++;
      throw err;
    }
    this.procs.add(pid);
  }

  /** The loaded table for a file, building and loading it if needed (null: no usable CFI). */
  private async ensureTable(key: string, path: string, forPid: number): Promise<LoadedTable | null> {
    const have = this.tables.get(key);
    if (have) return have;
    if (this.failed.has(key)) return null;
    let table: UnwindTable;
    try {
      table = await buildTable(path, this.sliceMs, () => this.stopped);
      this.stats_.tablesBuilt++;
    } catch (err) {
      if (this.stopped) return null;
      this.stats_.buildErrors++;
      this.failed.add(key);
      this.opts.onError?.(err as Error);
      return null;
    }
    if (table.rowCount === 0) {
      this.failed.add(key);
      return null;
    }
    const pages = Math.ceil(table.rowCount / UNWIND_ROWS_PER_PAGE);
    const bytes = pages * PAGE_BYTES;
    if (bytes > this.budgetBytes || pages > 0x10000) {
      this.failed.add(key);
      this.stats_.buildErrors++;
      return null;
    }
    if (!this.makeRoom(bytes, forPid)) {
      this.stats_.overBudget++; // not loaded: its frames fall back to frame pointers (counted in BPF)
      return null;
    }
    const id = this.freeIds.pop();
    if (id === undefined) return null;
    // Pages first, the table entry last: the walker never sees a table with missing pages.
    const page = Buffer.alloc(PAGE_BYTES);
    let deadline = performance.now() + this.sliceMs;
    for (let p = 0; p < pages; p++) {
      page.fill(0);
      table.rows.copy(page, 0, p * UNWIND_ROWS_PER_PAGE * UNWIND_ROW_BYTES, Math.min(table.rows.length, (p + 1) * UNWIND_ROWS_PER_PAGE * UNWIND_ROW_BYTES));
      this.maps.mapUpdate('unwind_pages', u32key(id * 0x10000 + p), page);
      if (performance.now() > deadline) {
        await new Promise((r) => setImmediate(r));
        deadline = performance.now() + this.sliceMs;
      }
    }
    const entry = Buffer.alloc(8);
    entry.writeUInt32LE(table.rowCount, 0);
    entry.writeUInt32LE(pages, 4);
    this.maps.mapUpdate('unwind_tables', u32key(id), entry);
    const loaded: LoadedTable = { id, key, pages, bytes, lastUsedMs: Date.now(), users: new Set() };
    this.tables.set(key, loaded);
    return loaded;
  }

  /** Evicts least recently used tables until `bytes` fit, sparing those `forPid` (being loaded) uses. */
  private makeRoom(bytes: number, forPid: number): boolean {
    let used = 0;
    for (const t of this.tables.values()) used += t.bytes;
    const byAge = [...this.tables.values()].sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    for (const t of byAge) {
      if (used + bytes <= this.budgetBytes) break;
      if (t.users.has(forPid)) continue;
      this.evict(t);
      used -= t.bytes;
    }
    return used + bytes <= this.budgetBytes;
  }

  private evict(t: LoadedTable): void {
    // Processes using the table are unloaded first (walked by frame pointers, counted,
    // and reloaded at their next sample), so its id can never name another file's rows
    // in a stale mapping list. Then the table entry (row_count 0 = "not loaded"), then pages.
    for (const pid of t.users) {
      if (this.procs.delete(pid)) this.maps.mapDelete('unwind_procs', u32key(pid));
      this.cooldownUntilMs.set(pid, Date.now() + (this.opts.evictedCooldownMs ?? EVICTED_COOLDOWN_MS));
    }
    this.maps.mapUpdate('unwind_tables', u32key(t.id), Buffer.alloc(8));
    for (let p = 0; p < t.pages; p++) this.maps.mapDelete('unwind_pages', u32key(t.id * 0x10000 + p));
    this.tables.delete(t.key);
    this.freeIds.push(t.id);
    this.stats_.evictions++;
  }
}

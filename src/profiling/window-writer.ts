import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePprof } from './pprof.js';
import type { ProfileWindow } from './types.js';

/**
 * Writes each closed window as a gzipped pprof file:
 *   <dir>/<service or executable>/<start unix ms>-<pid>.pb.gz
 * and deletes files older than the retention. Directory names are sanitised.
 */
export class PprofWindowWriter {
  written = 0;
  failures = 0;
  /** Directories made already: one mkdir per service, not one per window. */
  private readonly madeDirs = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly retentionMs: number,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    mkdirSync(dir, { recursive: true });
  }

  static pathFor(dir: string, w: ProfileWindow): string {
    const who = safePathComponent(w.process.serviceName ?? w.process.name);
    return join(dir, who, `${w.startUnixNs / 1_000_000n}-${w.process.pid}.pb.gz`);
  }

  write(w: ProfileWindow): string | undefined {
    let path = PprofWindowWriter.pathFor(this.dir, w);
    // Samples that reach the agent after their window closed form a second window
    // with the same start: written beside the first, never over it.
    for (let n = 1; existsSync(path); n++) path = PprofWindowWriter.pathFor(this.dir, w).replace(/\.pb\.gz$/, `.${n}.pb.gz`);
    const parent = join(path, '..');
    try {
      const bytes = encodePprof({ samples: w.samples, periodNs: w.periodNs, startUnixNs: w.startUnixNs, endUnixNs: w.endUnixNs });
      if (!this.madeDirs.has(parent)) this.makeDir(parent);
      try {
        writeFileSync(path, bytes);
      } catch (err) {
        // The directory went away under us (an operator cleaned up): make it again, once.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.makeDir(parent);
        writeFileSync(path, bytes);
      }
      this.written++;
      return path;
    } catch (err) {
      // A full disk must not stop profiling: count, report, go on.
      this.failures++;
      this.onError(err as Error);
      return undefined;
    }
  }

  private makeDir(dir: string): void {
    mkdirSync(dir, { recursive: true });
    // Bounded by the number of services; started over if a host churns through names.
    if (this.madeDirs.size >= 10_000) this.madeDirs.clear();
    this.madeDirs.add(dir);
  }

  /** Removes window files older than the retention; returns how many. */
  prune(nowMs = Date.now()): number {
    let removed = 0;
    for (const sub of safeReaddir(this.dir)) {
      const subdir = join(this.dir, sub);
      for (const f of safeReaddir(subdir)) {
        const p = join(subdir, f);
        try {
          if (nowMs - statSync(p).mtimeMs > this.retentionMs) {
            rmSync(p);
            removed++;
          }
        } catch {
          // raced with another prune
        }
      }
    }
    return removed;
  }
}

/** Longest directory name made from a service name (README "Bounds"). */
export const MAX_SERVICE_DIR_CHARS = 100;

/**
 * A service or executable name (the workload's choice: OTEL_SERVICE_NAME, argv[0]) as one path
 * component that stays one directory below the windows dir: only [A-Za-z0-9._-], never `.`, `..`
 * or a hidden name (retention walks exactly one level of plain directories), bounded in length.
 */
export function safePathComponent(name: string): string {
  let s = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_SERVICE_DIR_CHARS);
  if (s.startsWith('.')) s = `_${s.slice(1)}`;
  return s.length > 0 ? s : 'unknown';
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

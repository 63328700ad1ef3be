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
    try {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, encodePprof({ samples: w.samples, periodNs: w.periodNs, startUnixNs: w.startUnixNs, endUnixNs: w.endUnixNs }));
      this.written++;
      return path;
    } catch (err) {
      // A full disk must not stop profiling: count, report, go on.
      this.failures++;
      this.onError(err as Error);
      return undefined;
    }
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

/**
 * Finds separate debug info for a stripped ELF the way gdb and perf do:
 *   1. <debugDir>/.build-id/xx/rest.debug        (by GNU build id)
 *   2. .gnu_debuglink name next to the binary, in its .debug/ subdir (both inside the
 *      process's root), and under <debugDir>/<binary's dir>/   (CRC32 of the file must match)
 *   3. <debugDir>/<binary path> and <debugDir>/<binary path>.debug
 * Candidates whose build id differs from the binary's are rejected.
 *
 * Every name here comes from the workload (its paths, its debuglink), so every candidate is
 * opened through src/workload-files inside a root: the process's root for files beside the
 * binary, the debug directory itself for <debugDir>/...; a debuglink must be a plain file name.
 */
import { crc32 } from 'node:zlib';
import { dirname, posix } from 'node:path';
import { countFailure, openWorkloadFile, displayName, type WorkloadFile } from '../workload-files/index.js';
import { readElfHeaders, type ElfHeaders } from './elf.js';

export const DEFAULT_DEBUG_DIRS = ['/usr/lib/debug'];

/** A .gnu_debuglink CRC check reads at most this much (README "Bounds"); bigger candidates are skipped. */
export const DEBUGLINK_CRC_MAX_BYTES = 128 * 1024 * 1024;
/** Piece of a CRC read. */
const CRC_PIECE_BYTES = 1024 * 1024;

/** Where a file is: `path` resolved inside `root`. */
export interface RootedPath {
  root: string;
  path: string;
}

export interface DebugFileQuery {
  /** The root the binary's own paths resolve in (`/proc/PID/root`, or `/` for host files). */
  root: string;
  /** The binary's path as the process sees it (used for /usr/lib/debug/<path>). */
  logicalPath: string;
  /** dev:ino of the binary, so it is never its own debug file. */
  binaryId?: string;
  headers: ElfHeaders;
  debugDirs: readonly string[];
}

function tryOpen(c: RootedPath): WorkloadFile | undefined {
  try {
    // A missing candidate is the normal case: only real failures (a FIFO planted where a
    // debug file should be, an escape) are counted.
    return openWorkloadFile(c.path, 'debug-file', { root: c.root, count: false });
  } catch (err) {
    const reason = (err as { reason?: string }).reason;
    if (reason && reason !== 'not-found') countFailure(reason as 'not-regular');
    return undefined;
  }
}

function buildIdOf(f: WorkloadFile): string | undefined {
  try {
    return readElfHeaders({ name: f.name, size: f.size, read: (o, l) => f.read(o, l), close() {} }).buildId;
  } catch {
    return undefined;
  }
}

function crcMatches(f: WorkloadFile, expected: number): boolean {
  if (f.size > DEBUGLINK_CRC_MAX_BYTES) {
    countFailure('too-large');
    return false;
  }
  let crc = 0;
  try {
    for (let off = 0; off < f.size; off += CRC_PIECE_BYTES) {
      const piece = f.read(off, CRC_PIECE_BYTES);
      if (piece.length === 0) break;
      crc = crc32(piece, crc);
    }
  } catch {
    return false;
  }
  return crc >>> 0 === expected >>> 0;
}

/** A debuglink is a file name; anything else ('/', '..', control characters) is refused. */
export function validDebugLinkName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !name.includes('/') && !/[\u0000-\u001f\u007f]/.test(name);
}

/** Where a matching separate debug file is, or undefined. */
export function findDebugFile(q: DebugFileQuery): RootedPath | undefined {
  const buildId = q.headers.buildId;
  const idOf = (f: WorkloadFile) => `${f.dev}:${f.ino}`;
  const check = (c: RootedPath, match: (f: WorkloadFile) => boolean): boolean => {
    const f = tryOpen(c);
    if (!f) return false;
    try {
      if (q.binaryId !== undefined && idOf(f) === q.binaryId) return false;
      if (!match(f)) return false;
      const other = buildIdOf(f);
      return !buildId || other === undefined || other === buildId;
    } finally {
      f.close();
    }
  };

  if (buildId && /^[0-9a-f]{4,128}$/.test(buildId)) {
    for (const dir of q.debugDirs) {
      const c = { root: dir, path: `/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug` };
      if (check(c, () => true)) return c;
    }
  }

  const link = q.headers.debugLink;
  if (link && !validDebugLinkName(link.fileName)) {
    countFailure('bad-debuglink');
  } else if (link) {
    const dir = dirname(posix.normalize(q.logicalPath));
    const candidates: RootedPath[] = [
      { root: q.root, path: posix.join(dir, link.fileName) },
      { root: q.root, path: posix.join(dir, '.debug', link.fileName) },
    ];
    for (const d of q.debugDirs) candidates.push({ root: d, path: posix.join(dir, link.fileName) });
    for (const c of candidates) {
      if (check(c, (f) => crcMatches(f, link.crc32))) return c;
    }
  }

  for (const d of q.debugDirs) {
    for (const path of [q.logicalPath, `${q.logicalPath}.debug`]) {
      const c = { root: d, path };
      if (check(c, () => true)) return c;
    }
  }
  return undefined;
}

/** Display name of a debug file (diagnostics and tests). */
export function debugFileName(c: RootedPath): string {
  return displayName(c.path, c.root);
}

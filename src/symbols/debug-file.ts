/**
 * Finds separate debug info for a stripped ELF the way gdb and perf do:
 *   1. <debugDir>/.build-id/xx/rest.debug        (by GNU build id)
 *   2. .gnu_debuglink name next to the binary, in its .debug/ subdir, and under
 *      <debugDir>/<binary's dir>/              (CRC32 of the file must match)
 *   3. <debugDir>/<binary path> and <debugDir>/<binary path>.debug
 * Candidates whose build id differs from the binary's are rejected.
 */
import { readFileSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileSource, readElfHeaders, type ElfHeaders } from './elf.js';

export const DEFAULT_DEBUG_DIRS = ['/usr/lib/debug'];

export interface DebugFileQuery {
  /** Where the binary can be read from now (e.g. /proc/PID/root/usr/bin/x). */
  openPath: string;
  /** The binary's path as the process sees it (used for /usr/lib/debug/<path>). */
  logicalPath: string;
  headers: ElfHeaders;
  debugDirs: readonly string[];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function buildIdOf(path: string): string | undefined {
  const src = fileSource(path);
  try {
    return readElfHeaders(src).buildId;
  } catch {
    return undefined;
  } finally {
    src.close();
  }
}

function crcMatches(path: string, expected: number): boolean {
  try {
    return crc32(readFileSync(path)) >>> 0 === expected >>> 0;
  } catch {
    return false;
  }
}

/** Path of a matching separate debug file, or undefined. */
export function findDebugFile(q: DebugFileQuery): string | undefined {
  const buildId = q.headers.buildId;
  const sameBuild = (path: string) => !buildId || buildIdOf(path) === undefined || buildIdOf(path) === buildId;

  if (buildId && buildId.length > 2) {
    for (const dir of q.debugDirs) {
      const p = join(dir, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
      if (isFile(p)) return p;
    }
  }

  const link = q.headers.debugLink;
  if (link) {
    const candidates = [join(dirname(q.openPath), link.fileName), join(dirname(q.openPath), '.debug', link.fileName)];
    for (const dir of q.debugDirs) candidates.push(join(dir, dirname(q.logicalPath), link.fileName));
    for (const p of candidates) {
      if (p !== q.openPath && isFile(p) && crcMatches(p, link.crc32) && sameBuild(p)) return p;
    }
  }

  for (const dir of q.debugDirs) {
    for (const p of [join(dir, q.logicalPath), join(dir, `${q.logicalPath}.debug`)]) {
      if (isFile(p) && sameBuild(p)) return p;
    }
  }
  return undefined;
}

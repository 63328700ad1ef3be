/**
 * process.executable.build_id.htlhash: the file identity the OpenTelemetry eBPF profiler uses for
 * executables without a GNU build id ("head, tail, length" hash): SHA-256 over the first 4 KiB,
 * the last 4 KiB and the file length as a big-endian uint64, truncated to 16 bytes, lowercase hex.
 * Reads at most 8 KiB per file, cached by (device, inode, size, mtime).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { MappingInfo } from '../symbols/types.js';

const CHUNK_BYTES = 4096;
const cache = new Map<string, string>();

/** htlhash of a file, or undefined when it cannot be read (gone, no permission). */
export function htlHashOfFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const size = Number(st.size);
    const h = createHash('sha256');
    const buf = Buffer.alloc(CHUNK_BYTES);
    const head = readSync(fd, buf, 0, Math.min(CHUNK_BYTES, size), 0);
    h.update(buf.subarray(0, head));
    const tailStart = Math.max(0, size - CHUNK_BYTES);
    const tail = readSync(fd, buf, 0, size - tailStart, tailStart);
    h.update(buf.subarray(0, tail));
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(st.size);
    h.update(len);
    const hex = h.digest().subarray(0, 16).toString('hex');
    if (cache.size > 10_000) cache.clear();
    cache.set(key, hex);
    return hex;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** htlHashOf for profilesToOtlp: reads the mapped file through the process's root (its mount namespace). */
export function htlHashOfMapping(mapping: MappingInfo, pid: number): string | undefined {
  if (!mapping.path.startsWith('/')) return undefined; // [vdso], anon, memfd: no file
  return htlHashOfFile(`/proc/${pid}/root${mapping.path}`) ?? htlHashOfFile(mapping.path);
}

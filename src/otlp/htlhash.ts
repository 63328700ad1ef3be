/**
 * process.executable.build_id.htlhash: the file identity the OpenTelemetry eBPF profiler uses for
 * executables without a GNU build id ("head, tail, length" hash): SHA-256 over the first 4 KiB,
 * the last 4 KiB and the file length as a big-endian uint64, truncated to 16 bytes, lowercase hex.
 * Reads at most 8 KiB per file, cached by (device, inode, size, mtime).
 */
import { createHash } from 'node:crypto';
import { openWorkloadFile, type OpenOptions } from '../workload-files/index.js';
import type { MappingInfo } from '../symbols/types.js';

const CHUNK_BYTES = 4096;
const cache = new Map<string, string>();

/**
 * htlhash of a file, or undefined when it cannot be read (gone, no permission, not a regular
 * file). Opened through the workload-file reader: a FIFO or device is refused, never waited on.
 */
export function htlHashOfFile(path: string, opts: OpenOptions = { root: '/' }): string | undefined {
  let f;
  try {
    f = openWorkloadFile(path, 'htlhash', opts);
  } catch {
    return undefined;
  }
  try {
    const key = `${f.dev}:${f.ino}:${f.size}:${f.mtimeMs}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const size = f.size;
    const h = createHash('sha256');
    h.update(f.read(0, Math.min(CHUNK_BYTES, size)));
    const tailStart = Math.max(0, size - CHUNK_BYTES);
    h.update(f.read(tailStart, size - tailStart));
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(size));
    h.update(len);
    const hex = h.digest().subarray(0, 16).toString('hex');
    if (cache.size > 10_000) cache.clear();
    cache.set(key, hex);
    return hex;
  } catch {
    return undefined;
  } finally {
    f.close();
  }
}

/** htlHashOf for profilesToOtlp: reads the mapped file inside the process's root (its mount namespace), never outside it. */
export function htlHashOfMapping(mapping: MappingInfo, pid: number): string | undefined {
  if (!mapping.path.startsWith('/')) return undefined; // [vdso], anon, memfd: no file
  return htlHashOfFile(mapping.path, { root: `/proc/${pid}/root` });
}

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

/**
 * Per mapping as the symbolizer read it from /proc/PID/maps (the same object until it reads the
 * maps again), its hash or null when the file could not be read. Why: every window of a process
 * asked again for every mapping, and each ask opened the file to stat it (five syscalls), or
 * failed to open it again (a memfd, a deleted file). A mapping's bytes do not change under it;
 * a file replaced on disk is not what the process maps, so the first answer is the right one.
 */
const byMapping = new WeakMap<MappingInfo, string | null>();

/** htlHashOf for profilesToOtlp: reads the mapped file inside the process's root (its mount namespace), never outside it. */
export function htlHashOfMapping(mapping: MappingInfo, pid: number): string | undefined {
  if (!mapping.path.startsWith('/')) return undefined; // [vdso], anon: no file
  const known = byMapping.get(mapping);
  if (known !== undefined) return known ?? undefined;
  const hash = htlHashOfFile(mapping.path, { root: `/proc/${pid}/root` });
  byMapping.set(mapping, hash ?? null);
  return hash;
}

import { NET_RING_BOUNDS } from '../../events/decode.js';

/**
 * Bytes of the net_events ring buffer for a host with `cpus` online CPUs: NET_RING_BOUNDS'
 * bytes per CPU, rounded up to a power of two (the kernel requires one), within its min and max.
 * On this 2-CPU machine 4 MiB instead of the compiled 16 MiB: 24 MiB less RSS (libbpf maps a
 * ring's data twice) and 12 MiB less pinned kernel memory.
 */
export function netRingBytes(cpus: number, bounds: { bytesPerCpu: number; minBytes: number; maxBytes: number } = NET_RING_BOUNDS): number {
  const want = Math.max(bounds.minBytes, Math.max(1, Math.floor(cpus)) * bounds.bytesPerCpu);
  const pow2 = 2 ** Math.ceil(Math.log2(want));
  return Math.min(bounds.maxBytes, pow2);
}

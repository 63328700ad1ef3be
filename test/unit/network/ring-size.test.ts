import { describe, expect, it } from 'vitest';
import { NET_RING_BOUNDS } from '../../../src/events/decode.js';
import { netRingBytes } from '../../../src/network/kernel/ring-size.js';

const MiB = 1 << 20;

describe('net_events ring size', () => {
  it('follows the online CPUs, a power of two within the bounds hotspan.h sets', () => {
    expect(NET_RING_BOUNDS).toEqual({ bytesPerCpu: 2 * MiB, minBytes: 4 * MiB, maxBytes: 16 * MiB });
    expect([0, 1, 2, 3, 4, 5, 8, 9, 64, 512].map((c) => netRingBytes(c) / MiB)).toEqual([4, 4, 4, 8, 8, 16, 16, 16, 16, 16]);
  });

  it('is always a power of two the kernel accepts, even with odd bounds', () => {
    for (let cpus = 1; cpus <= 300; cpus++) {
      const b = netRingBytes(cpus, { bytesPerCpu: 3 * MiB, minBytes: 5 * MiB, maxBytes: 256 * MiB });
      expect(Number.isInteger(Math.log2(b)), `${cpus} CPUs: ${b}`).toBe(true);
      expect(b).toBeGreaterThanOrEqual(Math.min(256 * MiB, cpus * 3 * MiB));
    }
  });
});

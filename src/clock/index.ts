/**
 * The agent's one clock. The kernel stamps samples and network events with CLOCK_MONOTONIC
 * (bpf_ktime_get_ns); Node's process.hrtime is the same clock, so one offset converts every
 * timestamp to Unix epoch nanoseconds. The offset is taken from the wall clock (CLOCK_REALTIME,
 * which NTP may step) and re-taken by `resync()`: the sample flow calls it once a minute.
 */
export interface Clock {
  /** CLOCK_MONOTONIC now, ns (the kernel's bpf_ktime_get_ns timebase). */
  nowMonoNs(): bigint;
  /** A CLOCK_MONOTONIC timestamp on the wall clock, Unix epoch ns. */
  toUnixNs(monoNs: bigint): bigint;
  /** Unix epoch ns minus CLOCK_MONOTONIC ns. */
  readonly offsetNs: bigint;
}

export class MonotonicClock implements Clock {
  private offset: bigint;

  constructor() {
    this.offset = measureMonoToUnixOffsetNs();
  }

  get offsetNs(): bigint {
    return this.offset;
  }

  /** Re-takes the offset, following a wall-clock step (NTP, an operator's `date -s`). */
  resync(): void {
    this.offset = measureMonoToUnixOffsetNs();
  }

  toUnixNs(monoNs: bigint): bigint {
    return monoNs + this.offset;
  }

  nowMonoNs(): bigint {
    return process.hrtime.bigint();
  }
}

/**
 * Unix ns − CLOCK_MONOTONIC ns. Date.now() has millisecond resolution, so the monotonic clock is
 * read at the instant Date.now() ticks over (a wait of at most ~1 ms): the offset is then good to
 * the few µs between the two reads, not to ±0.5 ms. (performance.timeOrigin + performance.now()
 * is finer but never follows a wall-clock step, and the L7 engine's old `Date.now() −
 * performance.now()` was the wall time of the agent's start, off by the host's uptime.)
 */
export function measureMonoToUnixOffsetNs(): bigint {
  const startMs = Date.now();
  const giveUpNs = process.hrtime.bigint() + 5_000_000n;
  let ms = startMs;
  let mono = process.hrtime.bigint();
  while (ms === startMs && mono < giveUpNs) {
    mono = process.hrtime.bigint();
    ms = Date.now();
  }
  return BigInt(ms) * 1_000_000n - mono;
}

/** The process-wide clock: every part of the agent converts with the same offset. */
export const hostClock = new MonotonicClock();

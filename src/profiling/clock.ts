/**
 * Converts kernel CLOCK_MONOTONIC timestamps (bpf_ktime_get_ns) to Unix epoch
 * nanoseconds. Node's hrtime is CLOCK_MONOTONIC too, so one offset taken at
 * start converts every sample; re-taken on demand to follow NTP slews.
 */
export class MonotonicClock {
  private offsetNs: bigint;

  constructor() {
    this.offsetNs = MonotonicClock.measureOffset();
  }

  static measureOffset(): bigint {
    const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    return wallNs - process.hrtime.bigint();
  }

  resync(): void {
    this.offsetNs = MonotonicClock.measureOffset();
  }

  toUnixNs(monoNs: bigint): bigint {
    return monoNs + this.offsetNs;
  }

  nowMonoNs(): bigint {
    return process.hrtime.bigint();
  }
}

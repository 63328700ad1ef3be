import type { CpuSample, ProcessInfo, ProfileWindow } from './types.js';

interface OpenWindow {
  startUnixNs: bigint;
  process: ProcessInfo;
  samples: CpuSample[];
}

/**
 * Groups samples per process into fixed, wall-clock-aligned windows (10 s by
 * default) and hands each window over once it can no longer receive samples:
 * when a later sample for the process arrives, or `graceMs` after its end
 * (samples reach user space in batches, a little late).
 */
export class WindowAggregator {
  private readonly open = new Map<number, OpenWindow>();
  private readonly windowNs: bigint;

  constructor(
    readonly windowMs: number,
    private readonly periodNs: bigint,
    /** What is known of a sample's process, asked once per window (not per sample). */
    private readonly processOf: (pid: number, comm: string) => ProcessInfo,
    private readonly emit: (w: ProfileWindow) => void,
    private readonly graceMs = 2000,
  ) {
    this.windowNs = BigInt(windowMs) * 1_000_000n;
  }

  add(sample: CpuSample): void {
    const start = sample.timeUnixNs - (sample.timeUnixNs % this.windowNs);
    let w = this.open.get(sample.pid);
    if (w && w.startUnixNs !== start) {
      if (start < w.startUnixNs) {
        // A late sample from an already-closed window: keep it in the current one
        // rather than drop it; the window's time range is approximate by <1 batch.
        w.samples.push(sample);
        return;
      }
      this.close(sample.pid, w);
      w = undefined;
    }
    if (!w) {
      w = { startUnixNs: start, process: this.processOf(sample.pid, sample.processName), samples: [] };
      this.open.set(sample.pid, w);
    }
    w.samples.push(sample);
  }

  /** Emits every window whose end is more than the grace period ago. */
  flushExpired(nowUnixNs: bigint): void {
    const graceNs = BigInt(this.graceMs) * 1_000_000n;
    for (const [pid, w] of this.open) {
      if (w.startUnixNs + this.windowNs + graceNs <= nowUnixNs) this.close(pid, w);
    }
  }

  /** Emits every open window (on shutdown). */
  flushAll(): void {
    for (const [pid, w] of this.open) this.close(pid, w);
  }

  private close(pid: number, w: OpenWindow): void {
    this.open.delete(pid);
    this.emit({
      startUnixNs: w.startUnixNs,
      endUnixNs: w.startUnixNs + this.windowNs,
      periodNs: this.periodNs,
      process: w.process,
      samples: w.samples,
    });
  }
}

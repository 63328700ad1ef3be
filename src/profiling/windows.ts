import type { CpuSample, ProcessInfo, ProfileWindow } from './types.js';

interface OpenWindow {
  readonly startUnixNs: bigint;
  /** When flushExpired hands it over: end + grace + this process's stagger. */
  readonly closeAtUnixNs: bigint;
  readonly process: ProcessInfo;
  readonly samples: CpuSample[];
}

/** Golden-ratio multiplier (Knuth): consecutive pids land far apart in the stagger range. */
const PID_HASH = 2654435761;

/**
 * Groups samples per process into fixed, wall-clock-aligned windows (10 s by
 * default) and hands each window over `graceMs` after its end plus a per-process
 * stagger (samples reach user space in batches, a little late).
 *
 * Why the stagger: every process's window ends at the same instant, and closing a
 * window (encoding, writing, exporting it) is the costly part of a sample's life.
 * Closing them all at once stalled the event loop for 0.5–1.8 s every 10 s on a
 * busy 2-CPU host (issue #12); spread by pid over up to `staggerMs`, the same work
 * comes in small pieces across the agent's 500 ms ticks. The windows themselves stay
 * aligned (same start and end for every process), only their hand-over moves.
 *
 * A process has at most two open windows: the current one and the previous one
 * waiting for its close, which still takes the samples that arrive late for it.
 */
export class WindowAggregator {
  private readonly current = new Map<number, OpenWindow>();
  private readonly previous = new Map<number, OpenWindow>();
  private readonly windowNs: bigint;
  private readonly graceNs: bigint;
  private readonly staggerMs: number;

  constructor(
    readonly windowMs: number,
    private readonly periodNs: bigint,
    /** What is known of a sample's process, asked once per window (not per sample). */
    private readonly processOf: (pid: number, comm: string) => ProcessInfo,
    private readonly emit: (w: ProfileWindow) => void,
    graceMs = 2000,
    /** Spread of window hand-overs across processes; half a window, at most 5 s, by default. */
    staggerMs = Math.min(windowMs / 2, 5_000),
  ) {
    this.windowNs = BigInt(windowMs) * 1_000_000n;
    this.graceNs = BigInt(graceMs) * 1_000_000n;
    this.staggerMs = Math.max(0, Math.floor(staggerMs));
  }

  /** This process's offset in the stagger range, in ns (stable for the pid). */
  private staggerNs(pid: number): bigint {
    if (this.staggerMs === 0) return 0n;
    const unit = (Math.imul(pid, PID_HASH) >>> 0) / 2 ** 32;
    return BigInt(Math.floor(unit * this.staggerMs)) * 1_000_000n;
  }

  private openWindow(pid: number, comm: string, startUnixNs: bigint): OpenWindow {
    return {
      startUnixNs,
      closeAtUnixNs: startUnixNs + this.windowNs + this.graceNs + this.staggerNs(pid),
      process: this.processOf(pid, comm),
      samples: [],
    };
  }

  add(sample: CpuSample): void {
    const start = sample.timeUnixNs - (sample.timeUnixNs % this.windowNs);
    const pid = sample.pid;
    let w = this.current.get(pid);
    if (w === undefined) {
      w = this.openWindow(pid, sample.processName, start);
      this.current.set(pid, w);
    } else if (w.startUnixNs !== start) {
      if (start < w.startUnixNs) {
        // Late for the current window: into the previous one while it is still open, else
        // into the current one rather than dropped (its time range is approximate by <1 batch).
        const p = this.previous.get(pid);
        (p !== undefined && p.startUnixNs <= start ? p : w).samples.push(sample);
        return;
      }
      // The process moved on to a new window: the current one waits for its own close time.
      const older = this.previous.get(pid);
      if (older !== undefined) this.close(older);
      this.previous.set(pid, w);
      w = this.openWindow(pid, sample.processName, start);
      this.current.set(pid, w);
    }
    w.samples.push(sample);
  }

  /** Emits every window whose end + grace + its process's stagger has passed. */
  flushExpired(nowUnixNs: bigint): void {
    for (const [pid, w] of this.previous) {
      if (w.closeAtUnixNs <= nowUnixNs) {
        this.previous.delete(pid);
        this.close(w);
      }
    }
    for (const [pid, w] of this.current) {
      if (w.closeAtUnixNs <= nowUnixNs) {
        this.current.delete(pid);
        this.close(w);
      }
    }
  }

  /** Emits every open window (on shutdown), oldest first per process. */
  flushAll(): void {
    for (const w of this.previous.values()) this.close(w);
    this.previous.clear();
    for (const w of this.current.values()) this.close(w);
    this.current.clear();
  }

  /** Windows open now (current and waiting to close). */
  get openCount(): number {
    return this.current.size + this.previous.size;
  }

  private close(w: OpenWindow): void {
    this.emit({
      startUnixNs: w.startUnixNs,
      endUnixNs: w.startUnixNs + this.windowNs,
      periodNs: this.periodNs,
      process: w.process,
      samples: w.samples,
    });
  }
}

/**
 * The sample flow's core, with no kernel in it: samples → (optional span join) → per-process
 * windows → sinks. Fed by the profiler (node-pipeline.ts), driven by a tick; testable with
 * hand-made samples.
 *
 * Ownership: a window is built once and handed to every sink read-only; its process is a frozen
 * copy carrying the process's identity (src/resource decides it), so no sink sees another's edits
 * and the profiler's own process table is never written to.
 */
import type { CpuSample, ProcessInfo, ProfileWindow } from '../profiling/index.js';
import { WindowAggregator } from '../profiling/index.js';

/** A consumer of closed windows (pprof files, deploy watcher, OTLP export). Must not mutate them. */
export interface WindowSink {
  /** For log lines when it throws. */
  readonly name: string;
  write(window: Readonly<ProfileWindow>): void;
  /** Called once on shutdown, after the last window. */
  close?(): void;
}

/** Holds samples until their span attribution is decided (the span ↔ profile join). */
export interface SampleJoin {
  addSamples(samples: CpuSample[]): void;
  drainSamples(nowMonoNs: bigint, force: boolean): CpuSample[];
}

export interface SampleFlowOptions {
  windowMs: number;
  periodNs: bigint;
  /** What /proc said of a process (read once per process lifetime by its owner). */
  processOf: (pid: number, comm: string) => ProcessInfo;
  /** The process as exported: its identity (service name, version, container) filled in, never mutated in place. */
  identify: (p: ProcessInfo) => ProcessInfo;
  /** Called after a process's window is out; returns true when the process has exited and was forgotten. */
  forgetIfExited: (pid: number) => void;
  sinks: readonly WindowSink[];
  /** Present with network capture: samples wait here for their spans. */
  join?: SampleJoin;
  /** How long after its end a window may still receive samples. */
  windowGraceMs?: number;
  /** Main-thread time one turn of the event loop may spend handing windows to the sinks (HANDOVER_BUDGET_MS). */
  handoverBudgetMs?: number;
  log: (msg: string) => void;
}

/**
 * Why a budget: a 500 ms tick often finds several windows due at once (the stagger spreads them
 * by pid, but with many processes a tick's slice holds several), and each costs the sinks 2–10 ms,
 * a large process's tens. Written in one go they held the event loop for 90–220 ms (a CPU profile
 * of the agent in steady state: every stall over 50 ms after start-up was window hand-over plus
 * its OTLP conversion). Past the budget the rest waits for the next turn of the loop (setImmediate),
 * so timers, I/O and /healthz run in between; a turn is never longer than the budget plus one window.
 */
export const HANDOVER_BUDGET_MS = 10;

export interface SampleFlowStats {
  /** Windows closed and handed to the sinks. */
  windows: number;
  /** Sink calls that threw (each logged; the other sinks still got the window). */
  sinkErrors: number;
  /**
   * Main-thread milliseconds each sink spent on the windows so far, by sink name: the per-window
   * cost of the agent, split (the bench divides by windows; /metrics shows them).
   */
  [sinkMs: `sinkMs.${string}`]: number;
}

export class SampleFlow {
  private readonly windows: WindowAggregator;
  private windowCount = 0;
  private sinkErrors = 0;
  private readonly sinkMs = new Map<string, number>();
  private closed = false;
  /** Closed windows not yet handed to the sinks, oldest first. */
  private readonly due: ProfileWindow[] = [];
  private handoverScheduled = false;
  private readonly handoverBudgetMs: number;

  constructor(private readonly opts: SampleFlowOptions) {
    this.handoverBudgetMs = opts.handoverBudgetMs ?? HANDOVER_BUDGET_MS;
    this.windows = new WindowAggregator(opts.windowMs, opts.periodNs, opts.processOf, (w) => void this.due.push(w), opts.windowGraceMs);
  }

  /** Every symbolized sample, as the profiler delivers it. */
  addSamples(samples: CpuSample[]): void {
    if (this.opts.join) this.opts.join.addSamples(samples);
    else for (const s of samples) this.windows.add(s);
  }

  /** Moves decided samples into windows and closes windows past their grace period. */
  tick(nowMonoNs: bigint, nowUnixNs: bigint): void {
    if (this.opts.join) for (const s of this.opts.join.drainSamples(nowMonoNs, false)) this.windows.add(s);
    this.windows.flushExpired(nowUnixNs);
    this.handOver(this.handoverBudgetMs);
  }

  /** On shutdown, after the sources stopped: decides every sample the join still holds. */
  drainJoin(nowMonoNs: bigint): void {
    if (this.opts.join) for (const s of this.opts.join.drainSamples(nowMonoNs, true)) this.windows.add(s);
  }

  /** On shutdown, last: decides every held sample, closes every window, then every sink. */
  close(nowMonoNs: bigint): void {
    if (this.closed) return;
    this.closed = true;
    this.drainJoin(nowMonoNs);
    this.windows.flushAll();
    this.handOver(Infinity);
    for (const sink of this.opts.sinks) this.guard(sink, () => sink.close?.());
  }

  stats(): SampleFlowStats {
    const out: SampleFlowStats = { windows: this.windowCount, sinkErrors: this.sinkErrors };
    for (const sink of this.opts.sinks) out[`sinkMs.${sink.name}`] = this.sinkMs.get(sink.name) ?? 0;
    return out;
  }

  /** Hands due windows to the sinks until the budget is spent (at least one), the rest on a later turn. */
  private handOver(budgetMs: number): void {
    const t0 = performance.now();
    let n = 0;
    while (n < this.due.length && (n === 0 || performance.now() - t0 < budgetMs)) this.onWindow(this.due[n++]!);
    this.due.splice(0, n);
    if (this.due.length === 0 || this.handoverScheduled || this.closed) return;
    this.handoverScheduled = true;
    setImmediate(() => {
      this.handoverScheduled = false;
      if (!this.closed) this.handOver(this.handoverBudgetMs);
    });
  }

  private onWindow(raw: ProfileWindow): void {
    this.windowCount++;
    const w: ProfileWindow = { ...raw, process: this.opts.identify(raw.process) };
    for (const sink of this.opts.sinks) this.guard(sink, () => sink.write(w));
    this.opts.forgetIfExited(raw.process.pid);
  }

  /** One sink's failure (a full disk, a bug) must not cost the other sinks their windows. */
  private guard(sink: WindowSink, fn: () => void): void {
    const t0 = performance.now();
    try {
      fn();
    } catch (e) {
      this.sinkErrors++;
      this.opts.log(`window sink ${sink.name} failed: ${(e as Error).message}`);
    }
    this.sinkMs.set(sink.name, (this.sinkMs.get(sink.name) ?? 0) + performance.now() - t0);
  }
}

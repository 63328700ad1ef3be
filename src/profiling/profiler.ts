import { Symbolizer } from '../symbols/index.js';
import { countFailure, failureCounts } from '../workload-files/index.js';
import type { RawCpuSample } from '../events/decode.js';
import { hostClock } from '../clock/index.js';
import { processAlive, readProcessInfo } from './process-info.js';
import { StackCache } from './stack-cache.js';
import { CpuSampler, DEFAULT_FREQUENCY_HZ, type SamplerCounters, type SamplerOptions } from './sampler.js';
import type { CpuSample, ProcessInfo } from './types.js';

export interface ProfilerOptions extends SamplerOptions {
  symbolizer?: Symbolizer;
  /** Every symbolized sample, as it arrives: windows are the sample flow's (src/pipeline). */
  onSamples?: (samples: CpuSample[]) => void;
}

export interface ProfilerStats extends SamplerCounters {
  samples: number;
  /** Samples dropped because naming them threw (counted as workloadFile.callback-error too). */
  sampleErrors: number;
  processes: number;
}

/**
 * Sampler + symbolizer: CPU samples with every frame named. Frames are named as samples arrive
 * (while the process is still alive), so a process that exits mid-window keeps its names.
 */
export class Profiler {
  readonly periodNs: bigint;
  private readonly clock = hostClock;
  private readonly symbolizer: Symbolizer;
  private readonly processes = new Map<number, ProcessInfo>();
  private readonly stacks = new StackCache();
  private readonly sampler: CpuSampler;
  private sampleCount = 0;
  private sampleErrors = 0;
  private stopped = false;

  private constructor(private readonly opts: ProfilerOptions) {
    const frequencyHz = opts.frequencyHz ?? DEFAULT_FREQUENCY_HZ;
    this.periodNs = BigInt(Math.round(1e9 / frequencyHz));
    this.symbolizer = opts.symbolizer ?? new Symbolizer();
    this.sampler = CpuSampler.start(opts, (raw) => this.onRaw(raw));
  }

  static start(opts: ProfilerOptions = {}): Profiler {
    return new Profiler(opts);
  }

  get frequencyHz(): number {
    return this.sampler.frequencyHz;
  }

  /**
   * Names every frame of a raw sample. Samples with the same stack in one process share
   * one frames array (read-only for everyone downstream).
   */
  symbolize(raw: RawCpuSample, nowMs = Date.now()): CpuSample {
    let frames = this.stacks.get(raw.pid, raw.stackKey, nowMs);
    if (!frames) {
      frames = raw.kernelStack.length ? this.symbolizer.kernelFrames(raw.kernelStack) : [];
      if (raw.userStack.length) frames.push(...this.symbolizer.userFrames(raw.pid, raw.userStack));
      this.stacks.set(raw.pid, raw.stackKey, frames, nowMs);
    }
    return {
      timeUnixNs: this.clock.toUnixNs(raw.timeMonoNs),
      timeMonoNs: raw.timeMonoNs,
      pid: raw.pid,
      tid: raw.tid,
      cpu: raw.cpu,
      threadName: raw.threadName,
      processName: raw.processName,
      frames,
    };
  }

  /** What is known of a process seen in a sample (read once, at its first sample). */
  processInfo(pid: number, comm: string): ProcessInfo {
    let p = this.processes.get(pid);
    if (!p) {
      p = readProcessInfo(pid, comm);
      // Only a process whose exe could be read has one to take a build id from.
      const buildId = p.executablePath !== undefined ? this.symbolizer.executableBuildId(pid) : undefined;
      if (buildId) p.buildId = buildId;
      this.processes.set(pid, p);
    }
    return p;
  }

  private onRaw(raw: RawCpuSample[]): void {
    const nowMs = Date.now();
    const samples: CpuSample[] = [];
    for (const r of raw) {
      // One process's bad files must not cost the batch the other processes' samples.
      try {
        this.processInfo(r.pid, r.processName);
        samples.push(this.symbolize(r, nowMs));
      } catch {
        this.sampleErrors++;
        countFailure('callback-error');
      }
    }
    this.sampleCount += samples.length;
    this.opts.onSamples?.(samples);
  }

  /** Drops the caches of a process that has exited; call when its last window is out. */
  forgetIfExited(pid: number): boolean {
    if (processAlive(pid)) return false;
    this.processes.delete(pid);
    this.stacks.forget(pid);
    this.symbolizer.forgetProcess(pid);
    this.sampler.unwinder?.forgetProcess(pid);
    return true;
  }

  stats(): ProfilerStats {
    return {
      ...this.sampler.counters(),
      samples: this.sampleCount,
      sampleErrors: this.sampleErrors,
      processes: this.processes.size,
      ...failureCounts(),
    };
  }

  /**
   * Resolves true once `pid`'s unwind tables are in the kernel, false when they were not loaded
   * within `timeoutMs`, undefined when unwinding is off. Until then its stacks are walked by frame
   * pointers (counted).
   */
  unwindReady(pid: number, timeoutMs: number): Promise<boolean | undefined> {
    return this.sampler.unwinder?.whenLoaded(pid, timeoutMs) ?? Promise.resolve(undefined);
  }

  programStats() {
    return this.sampler.programStats();
  }

  /** Stops sampling and delivers the samples still in flight, their frames named. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Resolves once the reader's last batch has landed (a fixed wait was too short under qemu,
    // and a batch arriving after shutdown hit closed consumers).
    await this.sampler.stop();
    // Frames of files still loading in the symbol worker are renamed in place when they land.
    await this.symbolizer.settled();
  }
}

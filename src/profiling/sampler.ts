import { parseFrequencyHz } from '../config/index.js';
import { BpfObject, bpfObjectPath, onlineCpus, requireFeature } from '../bpf/index.js';
import { countFailure } from '../workload-files/index.js';
import { decodeCpuSample, SamplerCounter, type RawCpuSample } from '../events/decode.js';
import { UnwindLoader, type UnwindLoaderOptions, type UnwindLoaderStats } from '../unwind/index.js';

export const DEFAULT_FREQUENCY_HZ = 99;

export interface SamplerOptions {
  /** Samples per second per CPU; 99 by default, off the 100 Hz beat of application timers. */
  frequencyHz?: number;
  /** Only this process (thread group id); every process when unset. */
  pid?: number;
  /** How often the ring-buffer reader hands a batch to JS. */
  flushIntervalMs?: number;
  /** Called for records that fail to decode (counted, never fatal). */
  onDecodeError?: (err: Error) => void;
  /** Called when the batch consumer threw (counted as callbackErrors, never fatal). */
  onCallbackError?: (err: Error) => void;
  /**
   * Walk user stacks with .eh_frame unwind tables (src/unwind, bpf/unwind.bpf.h) instead of
   * frame pointers only. `auto` (the default): whenever the walker loads on this kernel, else
   * frame pointers and one `log` line; `true` or loader options: required (a failed load throws);
   * `false` / `off`: frame pointers only.
   */
  unwind?: boolean | 'auto' | 'off' | UnwindLoaderOptions;
  /** Where the sampler says what it fell back to (one line each). */
  log?: (msg: string) => void;
}

/**
 * The sampler object with the .eh_frame walker when unwinding is on (or `auto` and it loads),
 * else the frame-pointer-only one; the loader options when the walker is in.
 */
function loadSamplerObject(opts: SamplerOptions): { obj: BpfObject; unwind?: UnwindLoaderOptions } {
  const tunables = { target_tgid: opts.pid ?? 0 };
  const mode = opts.unwind ?? 'auto';
  if (mode === false || mode === 'off') return { obj: BpfObject.load(bpfObjectPath('profile'), tunables) };
  const loaderOpts = typeof mode === 'object' ? mode : {};
  if (mode !== 'auto') return { obj: BpfObject.load(bpfObjectPath('profile_unwind'), tunables), unwind: loaderOpts };
  try {
    return { obj: BpfObject.load(bpfObjectPath('profile_unwind'), tunables), unwind: loaderOpts };
  } catch (err) {
    opts.log?.(`.eh_frame unwinding unavailable (${(err as Error).message.split('\n')[0]}): user stacks walked by frame pointers only`);
    return { obj: BpfObject.load(bpfObjectPath('profile'), tunables) };
  }
}

export interface SamplerCounters {
  emitted: bigint;
  /** Samples the kernel could not queue because the ring buffer was full. */
  lost: bigint;
  idle: bigint;
  filtered: bigint;
  /** Records that reached user space but could not be decoded. */
  decodeErrors: number;
  /** Batches whose consumer threw (the batch's remaining samples may be lost; sampling goes on). */
  callbackErrors: number;
  /** .eh_frame unwinding (present when it is on): kernel counters (bpf/hotspan.h) and table self-metrics. */
  unwindDwarfSamples?: bigint;
  /** Samples of processes whose tables were not loaded yet: walked by frame pointers. */
  unwindNoTablesSamples?: bigint;
  unwindFpFrames?: bigint;
  unwindComplete?: bigint;
  unwindTruncated?: bigint;
  unwindNoRegs?: bigint;
  /** Signal frames walked through (the interrupted registers read from the ucontext). */
  unwindSignalFrames?: bigint;
  unwindTableBytes?: number;
  unwindBudgetBytes?: number;
  unwindTablesLoaded?: number;
  unwindEvictions?: number;
  unwindBuildErrors?: number;
  /** Processes whose unwind state was released after they exited. */
  unwindForgotten?: number;
  /** Processes the kernel's table of walked processes had no room for (frame pointers). */
  unwindProcsSkipped?: number;
  /** Executable mappings beyond what the walker holds per process (frame pointers there). */
  unwindMappingsDropped?: number;
}

/**
 * The whole-host CPU sampler: a cpu-clock perf event on every online CPU
 * running bpf/profile.bpf.c, delivering decoded samples in batches.
 * Needs root or CAP_BPF + CAP_PERFMON, Linux 5.8+ with BTF (ring buffer): older kernels get an
 * UnsupportedFeatureError naming that minimum before anything is loaded.
 */
export class CpuSampler {
  private decodeErrors = 0;
  private callbackErrors = 0;
  private stopReading: (() => Promise<void>) | undefined;
  private perfLink: number | undefined;
  private finalCounters: SamplerCounters | undefined;
  /** Loads unwind tables for the processes seen in samples (when unwinding is on). */
  unwinder: UnwindLoader | undefined;

  private constructor(
    private readonly obj: BpfObject,
    readonly frequencyHz: number,
    readonly cpus: number[],
  ) {}

  static start(opts: SamplerOptions, onSamples: (samples: RawCpuSample[]) => void): CpuSampler {
    // The config's one check, for programmatic callers that did not come through it.
    const frequencyHz = parseFrequencyHz(opts.frequencyHz ?? DEFAULT_FREQUENCY_HZ);
    requireFeature('cpu-sampling');
    const { obj, unwind } = loadSamplerObject(opts);
    const cpus = onlineCpus();
    const sampler = new CpuSampler(obj, frequencyHz, cpus);
    if (unwind) {
      sampler.unwinder = new UnwindLoader(obj, unwind);
      // A one-process sampler knows its process now: its tables start building before the first sample.
      if (opts.pid) sampler.unwinder.notePids([opts.pid]);
    }
    try {
      sampler.stopReading = obj.readRingBuffer(
        'samples',
        (records) => {
          const out: RawCpuSample[] = [];
          for (const r of records) {
            try {
              out.push(decodeCpuSample(r));
            } catch (err) {
              sampler.decodeErrors++;
              opts.onDecodeError?.(err as Error);
            }
          }
          if (out.length === 0) return;
          // A throw here would go up into the ring reader's native callback, where Node turns it
          // into a warning and the batch is gone: counted instead, and the reader goes on.
          try {
            sampler.unwinder?.notePids(new Set(out.map((s) => s.pid)));
            onSamples(out);
          } catch (err) {
            sampler.callbackErrors++;
            countFailure('callback-error');
            opts.onCallbackError?.(err as Error);
          }
        },
        opts.flushIntervalMs ?? 100,
      );
      sampler.perfLink = obj.attachPerfEvent('handle_cpu_sample', { cpus, frequencyHz });
    } catch (err) {
      obj.close();
      throw err;
    }
    return sampler;
  }

  counters(): SamplerCounters {
    if (this.finalCounters) return { ...this.finalCounters, decodeErrors: this.decodeErrors, callbackErrors: this.callbackErrors };
    const c = this.obj.readPerCpuCounters('sampler_counters', SamplerCounter.Count);
    return {
      emitted: c[SamplerCounter.Emitted],
      lost: c[SamplerCounter.Lost],
      idle: c[SamplerCounter.Idle],
      filtered: c[SamplerCounter.Filtered],
      decodeErrors: this.decodeErrors,
      callbackErrors: this.callbackErrors,
      ...(this.unwinder ? this.unwindCounters(c, this.unwinder.stats()) : {}),
    };
  }

  private unwindCounters(c: bigint[], t: UnwindLoaderStats): Partial<SamplerCounters> {
    return {
      unwindDwarfSamples: c[SamplerCounter.UnwindDwarf],
      unwindNoTablesSamples: c[SamplerCounter.UnwindNoTables],
      unwindFpFrames: c[SamplerCounter.UnwindFpFrames],
      unwindComplete: c[SamplerCounter.UnwindComplete],
      unwindTruncated: c[SamplerCounter.UnwindTruncated],
      unwindNoRegs: c[SamplerCounter.UnwindNoRegs],
      unwindSignalFrames: c[SamplerCounter.UnwindSignalFrames],
      unwindTableBytes: t.tableBytes,
      unwindBudgetBytes: t.budgetBytes,
      unwindTablesLoaded: t.tablesLoaded,
      unwindEvictions: t.evictions,
      unwindBuildErrors: t.buildErrors,
      unwindForgotten: t.processesForgotten,
      unwindProcsSkipped: t.procsSkipped,
      unwindMappingsDropped: t.mappingsDropped,
    };
  }

  /** Table loader self-metrics (tables, bytes vs budget, evictions); undefined when unwinding is off. */
  unwindStats(): UnwindLoaderStats | undefined {
    return this.unwinder?.stats();
  }

  /** Kernel-measured cost of the sampling program (needs kernel.bpf_stats_enabled=1). */
  programStats() {
    // Throws once stopped: the program is gone.
    return this.obj.programStats('handle_cpu_sample');
  }

  /**
   * Detaches the perf events, then drains what is left in the ring buffer; resolves once the
   * last batch has reached `onSamples` (on a slow machine that is well after this returns:
   * consumers closed before it would be called after their end).
   */
  stop(): Promise<void> {
    this.unwinder?.stop();
    if (this.perfLink !== undefined) this.obj.detach(this.perfLink);
    this.perfLink = undefined;
    const drained = this.stopReading?.() ?? Promise.resolve();
    this.stopReading = undefined;
    if (!this.finalCounters) this.finalCounters = this.counters();
    this.obj.close();
    return drained;
  }
}

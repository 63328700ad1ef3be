import { loadAddon, type NativeBpfObject } from './addon.js';
import { fromNative } from './errors.js';

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** perf_event_attr.type / config values used by hotspan (linux/perf_event.h). */
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_COUNT_SW_CPU_CLOCK = 0;

export type Tunables = Record<string, number | bigint | boolean>;

export interface LoadOptions {
  /**
   * Programs left out of the load (libbpf autoload off): their hook or a helper they call is
   * missing on this kernel, or a variant of them is used instead. Nothing of theirs reaches the
   * verifier, so they cannot fail the object.
   */
  skipPrograms?: Iterable<string>;
  /** Maps resized before the load (a ring buffer's bytes: a power of two, page-aligned). */
  maxEntries?: Readonly<Record<string, number>>;
}

/**
 * A loaded BPF object and everything attached from it. close() detaches all
 * links and stops all ring-buffer readers; it is idempotent, and every open
 * object is closed on process exit (the 'exit' handler below).
 */
export class BpfObject {
  private native: NativeBpfObject | undefined;
  private readonly readers = new Set<number>();

  private constructor(
    native: NativeBpfObject,
    readonly path: string,
  ) {
    this.native = native;
    live.add(this);
  }

  /** Opens `path`, sets `const volatile` tunables, and loads it into the kernel. */
  static load(path: string, tunables: Tunables = {}, opts: LoadOptions = {}): BpfObject {
    const addon = loadAddon();
    const native = wrap(() => new addon.BpfObject(path));
    try {
      for (const prog of opts.skipPrograms ?? []) wrap(() => native.setAutoload(prog, false));
      for (const [map, n] of Object.entries(opts.maxEntries ?? {})) wrap(() => native.setMaxEntries(map, n));
      wrap(() => native.load(tunables));
    } catch (err) {
      native.close();
      throw err;
    }
    return new BpfObject(native, path);
  }

  private get n(): NativeBpfObject {
    if (!this.native) throw new Error(`BPF object ${this.path} is closed`);
    return this.native;
  }

  attachPerfEvent(prog: string, opts: { cpus: number[]; frequencyHz?: number; period?: number; type?: number; config?: number }): number {
    return wrap(() =>
      this.n.attachPerfEvent(prog, {
        type: opts.type ?? PERF_TYPE_SOFTWARE,
        config: opts.config ?? PERF_COUNT_SW_CPU_CLOCK,
        frequency: opts.frequencyHz,
        period: opts.period,
        cpus: opts.cpus,
      }),
    );
  }

  attachTracepoint(prog: string, category: string, name: string): number {
    return wrap(() => this.n.attachTracepoint(prog, category, name));
  }

  /** `offset` is the file offset of the probed instruction in `path`. */
  attachUprobe(prog: string, opts: { path: string; offset: number | bigint; pid?: number; retprobe?: boolean }): number {
    return wrap(() => this.n.attachUprobe(prog, opts));
  }

  detach(linkId: number): void {
    this.n.detach(linkId);
  }

  /**
   * Streams records of a BPF ring buffer to `onBatch` from a native thread;
   * batches arrive every `flushIntervalMs` at most once per interval.
   * Returns a function that stops reading; its promise resolves once the last
   * batch has been handed to `onBatch` (they are delivered on the event loop, so
   * a consumer torn down before that would be called after its end).
   */
  readRingBuffer(map: string, onBatch: (records: Buffer[]) => void, flushIntervalMs = 50): () => Promise<void> {
    let drained!: () => void;
    const done = new Promise<void>((r) => (drained = r));
    const id = wrap(() => this.n.openRingBuffer(map, (records) => (records === null ? drained() : onBatch(records)), flushIntervalMs));
    this.readers.add(id);
    return () => {
      if (this.readers.delete(id) && this.native) this.native.closeRingBuffer(id);
      return done;
    };
  }

  mapInfo(map: string) {
    return wrap(() => this.n.mapInfo(map));
  }
  mapLookup(map: string, key: Buffer): Buffer | null {
    return wrap(() => this.n.mapLookup(map, key));
  }
  mapUpdate(map: string, key: Buffer, value: Buffer, flags = 0): void {
    wrap(() => this.n.mapUpdate(map, key, value, flags));
  }
  mapDelete(map: string, key: Buffer): boolean {
    return wrap(() => this.n.mapDelete(map, key));
  }
  mapKeys(map: string): Buffer[] {
    return wrap(() => this.n.mapKeys(map));
  }

  /**
   * Sums a per-CPU array of u64 counters: element i of the result is the
   * total of counter i over every CPU.
   */
  readPerCpuCounters(map: string, count: number): bigint[] {
    const info = this.mapInfo(map);
    const out: bigint[] = [];
    for (let i = 0; i < count; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      const v = this.mapLookup(map, key);
      let sum = 0n;
      if (v) for (let c = 0; c < info.possibleCpus; c++) sum += v.readBigUInt64LE(c * 8);
      out.push(sum);
    }
    return out;
  }

  programs(): string[] {
    return this.n.programs();
  }

  /** Programs actually in the kernel (the skipped ones are not). */
  loadedPrograms(): string[] {
    return this.n.loadedPrograms();
  }

  /**
   * Kernel-measured run time of a program (kernel.bpf_stats_enabled must be 1), and the
   * instructions the verifier processed for it (5.16+; 0 before).
   */
  programStats(prog: string): { id: number; runTimeNs: bigint; runCount: bigint; verifiedInsns: number } {
    return wrap(() => this.n.programStats(prog));
  }

  close(): void {
    if (!this.native) return;
    this.readers.clear();
    this.native.close();
    this.native = undefined;
    live.delete(this);
  }
}

const live = new Set<BpfObject>();

/** Closes every open BPF object: detaches links, stops readers. */
export function closeAllBpfObjects(): void {
  for (const o of [...live]) o.close();
}

// Whatever path ends the process (process.exit anywhere, or the loop running dry), every ring
// reader thread is joined here first: exit() then tears down V8 and static objects, and a reader
// thread still running at that point touches freed memory (SIGSEGV).
process.on('exit', closeAllBpfObjects);

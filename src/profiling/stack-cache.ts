import type { Frame } from '../symbols/types.js';

interface Entry {
  frames: Frame[];
  /** Unix ms after which the entry is stale; Infinity for stacks whose frames all have names. */
  expiresAtMs: number;
}

/**
 * Symbolized stacks by (pid, raw stack bytes). On a busy host most samples repeat a stack
 * seen moments before; a hit skips symbolization and hands out the same Frame[] again, so
 * pprof and OTLP encoders intern the stack by identity instead of re-keying every frame.
 *
 * Stacks holding a placeholder frame expire after `unresolvedTtlMs`: a JIT may write its
 * perf map, or a library may be mapped, after the first sighting. Named stacks live until
 * the process is forgotten or the cache passes `maxStacks`, when it starts over (the hot
 * stacks refill it within a second).
 */
export class StackCache {
  private readonly byPid = new Map<number, Map<string, Entry>>();
  private count = 0;

  constructor(
    private readonly maxStacks = 50_000,
    private readonly unresolvedTtlMs = 2_000,
  ) {}

  get size(): number {
    return this.count;
  }

  get(pid: number, key: string, nowMs: number): Frame[] | undefined {
    const e = this.byPid.get(pid)?.get(key);
    if (!e || e.expiresAtMs <= nowMs) return undefined;
    return e.frames;
  }

  set(pid: number, key: string, frames: Frame[], nowMs: number): void {
    if (this.count >= this.maxStacks) this.clear();
    let stacks = this.byPid.get(pid);
    if (!stacks) {
      stacks = new Map();
      this.byPid.set(pid, stacks);
    }
    const allNamed = frames.every((f) => f.resolved);
    if (!stacks.has(key)) this.count++;
    stacks.set(key, { frames, expiresAtMs: allNamed ? Number.POSITIVE_INFINITY : nowMs + this.unresolvedTtlMs });
  }

  forget(pid: number): void {
    const stacks = this.byPid.get(pid);
    if (!stacks) return;
    this.count -= stacks.size;
    this.byPid.delete(pid);
  }

  clear(): void {
    this.byPid.clear();
    this.count = 0;
  }
}

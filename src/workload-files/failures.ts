/**
 * Why a workload's file cost its process names, counted by reason. One process-wide table:
 * the symbolizer, perf maps, debug links and htlhash all report here, and the agent exposes
 * it on /metrics (hotspan_agent_counter{name="workloadFile.<reason>"}).
 */
export type FailureReason =
  /** The path does not exist (or the process is gone). */
  | 'not-found'
  /** A directory, FIFO, socket, device or symlink where a regular file was expected. */
  | 'not-regular'
  /** Resolution tried to leave the process's root (magic link, or a cross-device escape). */
  | 'escape'
  /** st_size above the kind's cap. */
  | 'too-large'
  /** The kind's cap on bytes actually read was reached (sparse or huge files). */
  | 'read-budget'
  /** Not owned by the process's user or root (perf maps, as perf itself requires). */
  | 'wrong-owner'
  /** Any other open/read error (EACCES, EIO, ...). */
  | 'io'
  /** The bytes were not what they claimed (bad ELF, bad note, offsets out of the file). */
  | 'parse'
  /** A per-file bound was hit (symbol count, name bytes, entries): names kept up to the bound. */
  | 'bound'
  /** A debug-link name that is not a plain file name (has '/', '..', control characters). */
  | 'bad-debuglink'
  /** A demangled name over the cap: the mangled name is kept. */
  | 'demangle-cap'
  /** Something threw where nothing should: caught at the ring-buffer callback, batch kept going. */
  | 'callback-error'
  /** A symbol load ran past its time in the loader worker (the worker is replaced). */
  | 'timeout'
  /** Too many symbol loads queued: this one was not started (retried at the mapping's next sample). */
  | 'busy';

const counts = new Map<FailureReason, number>();

export function countFailure(reason: FailureReason, n = 1): void {
  counts.set(reason, (counts.get(reason) ?? 0) + n);
}

/** Counts so far, keyed `workloadFile.<reason>`, for the agent's counters. */
export function failureCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of counts) out[`workloadFile.${k}`] = v;
  return out;
}

/** Counts so far by reason, for a worker to hand its own counts to the main thread's table. */
export function failureCountsByReason(): Map<FailureReason, number> {
  return new Map(counts);
}

/** For tests: the count of one reason. */
export function failureCount(reason: FailureReason): number {
  return counts.get(reason) ?? 0;
}

/** hotspan's own sampler output (ProfileWindow, see src/profiling/types.ts) into the model. */
import type { ProfileWindow } from '../profiling/types.js';
import { aggregate, NameTable, type Labels, type Profile, type Stack } from './model.js';
import type { Frame } from '../symbols/types.js';

/** The service key a window is grouped under: service.name when known, else the executable name. */
export function serviceOf(w: ProfileWindow): string {
  return w.process.serviceName ?? w.process.name;
}

/** The version a window's workload runs: service.version when known, else the build id. */
export function versionOf(w: ProfileWindow): string | undefined {
  return w.process.serviceVersion ?? w.process.buildId;
}

/**
 * Converts windows to one profile. Every stack carries labels service, version (when
 * known), pid, thread and span (when the sample ran inside a traced request), so that
 * `filter` can select on them. Duration is the wall time from the earliest window start
 * to the latest window end, so CPU-seconds-per-second is per second of that span.
 */
export function fromWindows(windows: readonly ProfileWindow[]): Profile {
  const table = new NameTable();
  const stacks: Stack[] = [];
  let startNs: bigint | undefined;
  let endNs: bigint | undefined;
  let periodNs: number | undefined;
  let malformed = 0;
  // The profiler hands out one Frame[] per distinct stack and the same few threads recur: their
  // ids and label sets are made once per call and shared (read-only) by every stack that has them.
  const idsOf = new Map<readonly Frame[], number[]>();
  for (const w of windows) {
    if (startNs === undefined || w.startUnixNs < startNs) startNs = w.startUnixNs;
    if (endNs === undefined || w.endUnixNs > endNs) endNs = w.endUnixNs;
    const period = Number(w.periodNs);
    periodNs ??= period;
    const service = serviceOf(w);
    const version = versionOf(w);
    // A window is one process: its label sets differ by thread and span (started over should a
    // hand-made window mix pids).
    const labelsOf = new Map<string, Map<string | undefined, Labels>>();
    let labelsPid: number | undefined;
    for (const s of w.samples) {
      if (!Array.isArray(s.frames)) {
        malformed++;
        continue;
      }
      let frames = idsOf.get(s.frames);
      if (frames === undefined) {
        frames = [];
        // Samples are leaf first; the model is root first.
        for (let i = s.frames.length - 1; i >= 0; i--) frames.push(table.id(s.frames[i]!.name));
        idsOf.set(s.frames, frames);
      }
      if (s.pid !== labelsPid) {
        labelsOf.clear();
        labelsPid = s.pid;
      }
      let bySpan = labelsOf.get(s.threadName);
      if (bySpan === undefined) labelsOf.set(s.threadName, (bySpan = new Map()));
      let labels = bySpan.get(s.spanName);
      if (labels === undefined) {
        const l: Record<string, string> = { service, pid: String(s.pid), thread: s.threadName };
        if (version !== undefined) l.version = version;
        if (s.spanName !== undefined) l.span = s.spanName;
        bySpan.set(s.spanName, (labels = l));
      }
      stacks.push({ frames, samples: 1, cpuNs: period, labels });
    }
  }
  const profile: Profile = { names: table.names, stacks, malformed };
  if (periodNs !== undefined) profile.periodNs = periodNs;
  if (startNs !== undefined && endNs !== undefined) {
    profile.startUnixNs = startNs;
    profile.durationNs = Number(endNs - startNs);
  }
  return aggregate(profile);
}

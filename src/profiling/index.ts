export { Profiler, type ProfilerOptions, type ProfilerStats } from './profiler.js';
export { CpuSampler, DEFAULT_FREQUENCY_HZ, type SamplerOptions, type SamplerCounters } from './sampler.js';
export {
  buildPprof,
  encodePprof,
  type PprofInput,
  LABEL_PID,
  LABEL_TID,
  LABEL_THREAD_NAME,
  LABEL_PROCESS_NAME,
  LABEL_TRACE_ID,
  LABEL_SPAN_ID,
  LABEL_SPAN_NAME,
  LABEL_SPAN_ATTRIBUTION,
} from './pprof.js';
export { WindowAggregator } from './windows.js';
export { readProcessInfo, processAlive } from './process-info.js';
export type { CpuSample, ProfileWindow, ProcessInfo } from './types.js';
export { PprofWindowWriter, safePathComponent } from './window-writer.js';

export { Profiler, type ProfilerOptions, type ProfilerStats } from './profiler.js';
export { CpuSampler, DEFAULT_FREQUENCY_HZ, type SamplerOptions, type SamplerCounters } from './sampler.js';
export { buildPprof, encodePprof, type PprofInput } from './pprof.js';
export { WindowAggregator } from './windows.js';
export { readProcessInfo, processAlive } from './process-info.js';
export type { CpuSample, ProfileWindow, ProcessInfo } from './types.js';
export { PprofWindowWriter, safePathComponent } from './window-writer.js';

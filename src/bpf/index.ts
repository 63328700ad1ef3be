export { BpfObject, closeAllBpfObjects, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, type Tunables, type LoadOptions } from './object.js';
export { BpfError, errnoName, type BpfFailureCause } from './errors.js';
export { ensureTracefs, TRACEFS } from './tracefs.js';
export { onlineCpus, parseCpuList } from './cpus.js';
export { bpfObjectPath, projectPath } from './paths.js';
export { loadAddon } from './addon.js';
export {
  FEATURES,
  probeFeatures,
  parseFeatureList,
  describeDegraded,
  kernelProbes,
  UnsupportedFeatureError,
  requireFeature,
  type FeatureId,
  type FeatureSpec,
  type FeatureStatus,
  type FeatureReport,
  type FeatureProbeOptions,
  type KernelProbes,
} from './features.js';

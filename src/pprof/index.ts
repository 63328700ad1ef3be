/** pprof out: one writer and one label vocabulary for every file hotspan produces. */
export { PprofWriter, type MappingSpec, type LocationSpec, type PprofLabelPairs, type PprofMeta } from './writer.js';
export { PPROF_LABEL, NUMERIC_PPROF_LABELS, ambiguousAttribution, type PprofLabelKey } from './labels.js';

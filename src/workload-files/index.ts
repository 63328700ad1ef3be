/**
 * Reading files a workload controls: one safe open (inside the process's root, regular files
 * only, non-blocking, size- and read-capped) and the per-reason failure counts.
 */
export {
  openWorkloadFile,
  openProcessRootDir,
  processRoot,
  adoptWorkloadFile,
  readWorkloadFile,
  displayName,
  FILE_BOUNDS,
  READ_PIECE_BYTES,
  WorkloadFileError,
  type FileKind,
  type KindBounds,
  type OpenOptions,
  type WorkloadFile,
} from './open.js';
export { countFailure, failureCounts, failureCountsByReason, failureCount, type FailureReason } from './failures.js';

import { constants as fsConstants, openSync } from 'node:fs';

/**
 * Reading files a workload controls: one safe open (inside the process's root, regular files
 * only, non-blocking, size- and read-capped) and the per-reason failure counts.
 */
export {
  openWorkloadFile,
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

/**
 * The directory a process sees as `/`, opened (O_DIRECTORY: never a FIFO or device, so never
 * blocking), for loads that must finish after the process is gone: files under it are then
 * opened relative to this fd, confined to it. undefined when the process has exited.
 */
export function openProcessRootDir(rootPath: string): number | undefined {
  try {
    return openSync(rootPath, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch {
    return undefined;
  }
}

/** The root a process sees, for `openWorkloadFile(path, kind, { root })`. */
export function processRoot(pid: number, procRoot = '/proc'): string {
  return `${procRoot}/${pid}/root`;
}

/**
 * The one way hotspan reads a file a workload controls (ELF binaries, debug files, perf maps,
 * /proc files, htlhash): resolved inside the process's root without following links out of it
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, native/workload_open.cc), regular files only
 * (FIFOs, devices, sockets, directories refused before anything is opened for reading), never
 * blocking, with a cap per kind on st_size and on the bytes actually read (a sparse file costs
 * what is read, not what it claims). Needs Linux 5.6+ (openat2).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
// addon.js, not the bpf index: the symbol loader's worker imports this, and needs nothing else of bpf/.
import { loadAddon } from '../bpf/addon.js';
import { countFailure, type FailureReason } from './failures.js';

export type FileKind = 'elf' | 'debug-file' | 'perf-map' | 'proc' | 'htlhash';

export interface KindBounds {
  /** Files whose st_size is above this are refused. */
  maxFileBytes: number;
  /** Bytes read over the life of one open file, summed; past it reads fail ('read-budget'). */
  maxReadBytes: number;
}

const MiB = 1024 * 1024;
/**
 * Named bounds per kind (README "Bounds"). An ELF is read by ranges, so its size may be large;
 * what it costs is the read budget. A debug file's CRC check reads it whole, hence its cap.
 */
export const FILE_BOUNDS: Record<FileKind, KindBounds> = {
  elf: { maxFileBytes: 4096 * MiB, maxReadBytes: 160 * MiB },
  'debug-file': { maxFileBytes: 4096 * MiB, maxReadBytes: 160 * MiB },
  'perf-map': { maxFileBytes: 1024 * MiB, maxReadBytes: 64 * MiB },
  proc: { maxFileBytes: Number.MAX_SAFE_INTEGER, maxReadBytes: 16 * MiB },
  htlhash: { maxFileBytes: Number.MAX_SAFE_INTEGER, maxReadBytes: 8192 },
};

/** One read() of at most this many bytes: long reads are split so no single call is huge. */
export const READ_PIECE_BYTES = 4 * MiB;

export class WorkloadFileError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'WorkloadFileError';
  }
}

export interface WorkloadFile {
  readonly name: string;
  readonly kind: FileKind;
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly uid: number;
  readonly mtimeMs: number;
  /** Bytes read so far (counts against the kind's maxReadBytes). */
  readonly bytesRead: number;
  /** Up to `length` bytes at `offset`; fewer at end of file. Throws WorkloadFileError past the read budget. */
  read(offset: number, length: number): Buffer;
  close(): void;
  /** Hands the open fd to the caller (who closes it); this reader is closed without closing it. */
  detach(): number;
}

interface OpenAddon {
  openInRoot(root: string, path: string, noFollowLast: boolean): number;
}

function addon(): OpenAddon {
  const a = loadAddon() as unknown as Partial<OpenAddon>;
  if (typeof a.openInRoot !== 'function') throw new Error('native addon has no openInRoot; fix: rebuild it (`bash deploy/setup.sh --build-only`)');
  return a as OpenAddon;
}

function reasonOf(err: { code?: string; errno?: number; detail?: string }): FailureReason {
  if (err.code === 'ENOTREG') return 'not-regular';
  switch (err.errno) {
    case 2: // ENOENT
    case 3: // ESRCH
    case 20: // ENOTDIR
      return 'not-found';
    case 18: // EXDEV: the walk tried to leave the root
    case 40: // ELOOP: a magic link, or O_NOFOLLOW on a symlink
      return 'escape';
    default:
      return 'io';
  }
}

export interface OpenOptions {
  /**
   * The directory the path is resolved in, e.g. `/proc/PID/root` or a debug directory; `..` and
   * absolute symlinks stay inside it. Omit only for paths the agent itself trusts (its procfs).
   */
  root?: string;
  /** Refuse a symlink as the last component (perf maps are written by the JIT, never linked). */
  noFollowLast?: boolean;
  /** Count failures in the per-reason table (default true). */
  count?: boolean;
}

function failer(path: string, opts: OpenOptions) {
  return (reason: FailureReason, detail: string): never => {
    if (opts.count !== false) countFailure(reason);
    throw new WorkloadFileError(reason, path, detail);
  };
}

/** fd + fstat of a regular file within the kind's size cap; throws WorkloadFileError (counted). */
function openChecked(path: string, kind: FileKind, opts: OpenOptions): { fd: number; st: Stats } {
  const fail = failer(path, opts);
  let fd: number;
  try {
    fd = addon().openInRoot(opts.root ?? '', path, opts.noFollowLast === true);
  } catch (err) {
    const e = err as { code?: string; errno?: number; detail?: string; message: string };
    if (e.code === undefined && e.errno === undefined) throw err; // the addon itself is missing
    return fail(reasonOf(e), `${e.message}${e.detail ? ` (${e.detail})` : ''}`);
  }
  const st = fstatSync(fd);
  const maxFileBytes = FILE_BOUNDS[kind].maxFileBytes;
  if (st.size > maxFileBytes) {
    closeSync(fd);
    return fail('too-large', `${st.size} bytes is over the ${kind} cap of ${maxFileBytes}`);
  }
  return { fd, st };
}

/** How a file opened in a root is named in errors and diagnostics. */
export function displayName(path: string, root?: string): string {
  if (!root || root === '/') return path;
  return `${root.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** Opens a workload's file for bounded reading. Throws WorkloadFileError (counted by reason). */
export function openWorkloadFile(path: string, kind: FileKind, opts: OpenOptions = {}): WorkloadFile {
  const { fd, st } = openChecked(path, kind, opts);
  return boundedReader(fd, st, kind, displayName(path, opts.root), failer(path, opts), true);
}

/**
 * A bounded reader over an fd another thread opened with openWorkloadFile's checks (the
 * symbolizer opens a binary at first sight, while its process lives, and hands the fd to the
 * loader worker: fds are process-wide). The caller keeps owning the fd: close() here does not
 * close it. The kind's caps apply again, on a fresh fstat.
 */
export function adoptWorkloadFile(fd: number, kind: FileKind, name: string, opts: Pick<OpenOptions, 'count'> = {}): WorkloadFile {
  const fail = failer(name, opts);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (err) {
    return fail('io', (err as Error).message);
  }
  if (!st.isFile()) return fail('not-regular', 'not a regular file');
  if (st.size > FILE_BOUNDS[kind].maxFileBytes) return fail('too-large', `${st.size} bytes is over the ${kind} cap of ${FILE_BOUNDS[kind].maxFileBytes}`);
  return boundedReader(fd, st, kind, name, fail, false);
}

function boundedReader(
  fd: number,
  st: Stats,
  kind: FileKind,
  name: string,
  fail: (reason: FailureReason, detail: string) => never,
  owned: boolean,
): WorkloadFile {
  const bounds = FILE_BOUNDS[kind];
  let bytesRead = 0;
  let closed = false;
  const file: WorkloadFile = {
    name,
    kind,
    size: st.size,
    dev: st.dev,
    ino: st.ino,
    uid: st.uid,
    mtimeMs: st.mtimeMs,
    get bytesRead() {
      return bytesRead;
    },
    read(offset, length) {
      if (closed) return fail('io', 'read after close');
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        return fail('parse', `bad read range ${offset}+${length}`);
      }
      // Never allocate for bytes the file does not have.
      const want = Math.max(0, Math.min(length, st.size - offset));
      if (bytesRead + want > bounds.maxReadBytes) {
        return fail('read-budget', `reading ${want} more bytes passes the ${kind} read budget of ${bounds.maxReadBytes}`);
      }
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      try {
        while (got < want) {
          const n = readSync(fd, buf, got, Math.min(want - got, READ_PIECE_BYTES), offset + got);
          if (n === 0) break;
          got += n;
        }
      } catch (err) {
        return fail('io', (err as Error).message);
      }
      bytesRead += got;
      return got === want ? buf : buf.subarray(0, got);
    },
    close() {
      if (!closed && owned) closeSync(fd);
      closed = true;
    },
    detach() {
      if (closed) return fail('io', 'detach after close');
      closed = true;
      return fd;
    },
  };
  return file;
}

/**
 * A whole small file (procfs text, a perf map's new tail) read in pieces up to the kind's read
 * budget. procfs reports size 0, so this reads until EOF rather than trusting st_size.
 */
export function readWorkloadFile(path: string, kind: FileKind, opts: OpenOptions = {}): Buffer {
  const { fd } = openChecked(path, kind, opts);
  try {
    const budget = FILE_BOUNDS[kind].maxReadBytes;
    const pieces: Buffer[] = [];
    let total = 0;
    const piece = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSync(fd, piece, 0, piece.length, null);
      if (n === 0) break;
      total += n;
      if (total > budget) {
        if (opts.count !== false) countFailure('read-budget');
        throw new WorkloadFileError('read-budget', path, `more than ${budget} bytes`);
      }
      pieces.push(Buffer.from(piece.subarray(0, n)));
    }
    return Buffer.concat(pieces, total);
  } catch (err) {
    if (err instanceof WorkloadFileError) throw err;
    return failer(path, opts)('io', (err as Error).message);
  } finally {
    closeSync(fd);
  }
}

/** The root a process sees, for `openWorkloadFile(path, kind, { root })`. */
export function processRoot(pid: number, procRoot = '/proc'): string {
  return `${procRoot}/${pid}/root`;
}

/**
 * The directory process `pid` sees as `/`, opened (O_DIRECTORY: never a FIFO or device, so never
 * blocking), for loads that finish after the process is gone: files under it are then opened
 * relative to this fd, confined to it by openInRoot. The /proc magic link is the kernel's, not
 * the workload's, so it is followed here on purpose. undefined when the process has exited.
 */
export function openProcessRootDir(pid: number, procRoot = '/proc'): number | undefined {
  try {
    return openSync(processRoot(pid, procRoot), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch {
    return undefined;
  }
}

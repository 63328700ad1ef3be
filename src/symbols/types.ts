/** The kind of code a frame belongs to; mirrors OTel `profile.frame.type` values. */
export type FrameKind = 'kernel' | 'native' | 'v8js' | 'unknown';

/** The file a user frame was mapped from, as a pprof/OTLP mapping needs it. */
export interface MappingInfo {
  /** Path as the process sees it (from /proc/PID/maps), e.g. /usr/lib/x86_64-linux-gnu/libc.so.6. */
  path: string;
  /** Mapping bounds in the process's address space. */
  start: bigint;
  end: bigint;
  /** File offset of `start`. */
  fileOffset: bigint;
  /** GNU build id, lowercase hex, when the ELF has one. */
  buildId?: string;
}

/** One named stack frame. A frame that cannot be named is kept, named `module+0xoffset`. */
export interface Frame {
  /** Function name, demangled; or `module+0x1a2b` when unknown; or `[unknown]` with no module. */
  name: string;
  kind: FrameKind;
  /** The instruction address that was sampled (return address for non-leaf frames). */
  address: bigint;
  /** Module basename (`libc.so.6`, `vmlinux`, `[kernel.kallsyms]`, `perf-map`). */
  module: string;
  /** Source file when known (from debug info or a JIT map). */
  file?: string;
  line?: number;
  /** Set for user frames that fell in a file-backed mapping. */
  mapping?: MappingInfo;
  /** True when `name` is a real symbol, false for `module+0xoffset` placeholders. */
  resolved: boolean;
}

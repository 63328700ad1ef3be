/**
 * Errors from the BPF layer. The addon throws plain errors carrying
 * {code, op, errno, detail}; here they become BpfError with a one-line cause
 * and fix that a user can act on.
 */
export class BpfError extends Error {
  readonly code: string;
  readonly op: string;
  readonly errno: number;
  /** Tail of libbpf's log (e.g. the verifier's last lines), possibly empty. */
  readonly detail: string;
  /** What to do about it, in plain language. */
  readonly fix: string;

  constructor(fields: { code: string; op: string; errno: number; detail: string; message?: string; fix?: string }) {
    const fix = fields.fix ?? explainFix(fields.code, fields.errno, fields.detail);
    super(fields.message ?? `${fields.op} failed (${errnoName(fields.errno)})`);
    this.name = 'BpfError';
    this.code = fields.code;
    this.op = fields.op;
    this.errno = fields.errno;
    this.detail = fields.detail;
    this.fix = fix;
  }

  /** One line: cause and fix. */
  summary(): string {
    return `${this.message}; fix: ${this.fix}`;
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 7: 'E2BIG', 9: 'EBADF', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY',
  19: 'ENODEV', 22: 'EINVAL', 38: 'ENOSYS', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

function explainFix(code: string, errno: number, detail: string): string {
  if (errno === 1 || errno === 13) {
    if (code === 'EPERFEVENT') {
      return 'opening perf events needs CAP_PERFMON (or root) or kernel.perf_event_paranoid ≤ -1; run as root or grant CAP_BPF,CAP_PERFMON';
    }
    return 'loading BPF needs root, or CAP_BPF + CAP_PERFMON (+ CAP_SYS_RESOURCE on kernels before 5.11); run as root (sudo) or grant those capabilities';
  }
  if (code === 'EOPEN' && /BTF|btf/.test(detail)) {
    return 'this kernel lacks BTF (/sys/kernel/btf/vmlinux); use a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8+)';
  }
  if (code === 'EOPEN' && errno === 2) return 'the BPF object file is missing; run `npm run setup` to build it';
  if (code === 'ELOAD') {
    if (/failed to find valid kernel BTF|vmlinux BTF/.test(detail)) {
      return 'this kernel lacks BTF (/sys/kernel/btf/vmlinux); use a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8+)';
    }
    if (/invalid func|unknown func|helper call is not allowed/.test(detail)) {
      return 'the kernel lacks a BPF helper this program needs; hotspan requires Linux 5.8+ (ring buffer)';
    }
    return 'the kernel verifier rejected the program; the verifier log tail above names the instruction — report it with `hotspan doctor` output';
  }
  if (code === 'EATTACH' && errno === 2) {
    return 'the hook point does not exist on this kernel (tracepoint missing or tracefs not mounted: mount -t tracefs nodev /sys/kernel/tracing)';
  }
  if (code === 'EPERFEVENT' && errno === 2) return 'this CPU or kernel has no such perf event';
  return 'run `hotspan doctor` to check kernel features and privileges';
}

/** Converts an error thrown by the addon into a BpfError (other errors pass through). */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'op' in err) {
    const e = err as Error & { code: string; op: string; errno: number; detail: string };
    return new BpfError({ code: e.code, op: e.op, errno: e.errno, detail: e.detail ?? '', message: e.message });
  }
  return err;
}

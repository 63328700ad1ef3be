/**
 * Errors from the BPF layer. The addon throws plain errors carrying
 * {code, op, errno, detail}; here they become BpfError with a one-line cause
 * and fix that a user can act on.
 */
/** Why a BPF operation failed, as far as the errno and libbpf's log tell. */
export type BpfFailureCause = 'permission' | 'verifier' | 'no-btf' | 'missing-hook' | 'missing-file' | 'other';

export class BpfError extends Error {
  readonly failure: BpfFailureCause;
  readonly code: string;
  readonly op: string;
  readonly errno: number;
  /** Tail of libbpf's log (e.g. the verifier's last lines), possibly empty. */
  readonly detail: string;
  /** What to do about it, in plain language. */
  readonly fix: string;

  constructor(fields: { code: string; op: string; errno: number; detail: string; message?: string; fix?: string }) {
    const cause = classify(fields.code, fields.errno, fields.detail);
    const fix = fields.fix ?? explainFix(cause, fields.code);
    const verifierReason = cause === 'verifier' ? verifierMessage(fields.detail) : undefined;
    super(
      verifierReason
        ? `the kernel verifier rejected a BPF program: ${verifierReason}`
        : `${fields.message ?? `${fields.op} failed (${errnoName(fields.errno)})`}${oneLine(fields.detail) ? ` — ${fields.detail.trim()}` : ''}`,
    );
    this.name = 'BpfError';
    this.failure = cause;
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
  1: 'EPERM',
  2: 'ENOENT',
  7: 'E2BIG',
  9: 'EBADF',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  19: 'ENODEV',
  22: 'EINVAL',
  38: 'ENOSYS',
  95: 'EOPNOTSUPP',
  524: 'ENOTSUPP',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A detail short enough to belong in the message itself (not a log). */
function oneLine(detail: string): boolean {
  const d = detail.trim();
  return d.length > 0 && d.length < 200 && !d.includes('\n');
}

const VERIFIER_LOG = /PROG LOAD LOG|processed \d+ insns|BPF program is too large/;

function classify(code: string, errno: number, detail: string): BpfFailureCause {
  // The verifier answers EACCES or EINVAL; only its log tells a rejection from a privilege problem.
  if (VERIFIER_LOG.test(detail)) return 'verifier';
  if (/failed to find valid kernel BTF|vmlinux BTF|BTF is required/i.test(detail)) return 'no-btf';
  if (errno === 1 || errno === 13) return 'permission';
  if (code === 'EOPEN' && errno === 2) return 'missing-file';
  if ((code === 'EATTACH' || code === 'EPERFEVENT') && (errno === 2 || errno === 19 || errno === 95)) return 'missing-hook';
  return 'other';
}

/** The verifier's own reason: the last log line before its "processed N insns" summary. */
function verifierMessage(detail: string): string | undefined {
  const lines = detail.split('\n').map((l) => l.trim());
  const summary = lines.findIndex((l) => /^processed \d+ insns/.test(l));
  for (let i = (summary < 0 ? lines.length : summary) - 1; i >= 0; i--) {
    const l = lines[i];
    if (l && !l.startsWith(';') && !/^\d+: \(/.test(l) && !l.startsWith('--')) return l;
  }
  return undefined;
}

function explainFix(cause: BpfFailureCause, code: string): string {
  switch (cause) {
    case 'permission':
      return code === 'EPERFEVENT'
        ? 'opening perf events needs CAP_PERFMON (or root) or kernel.perf_event_paranoid ≤ -1; run as root or grant CAP_BPF,CAP_PERFMON'
        : 'loading BPF needs root, or CAP_BPF + CAP_PERFMON (+ CAP_SYS_RESOURCE on kernels before 5.11); run as root (sudo) or grant those capabilities';
    case 'verifier':
      return 'this kernel cannot run the program as built; run `hotspan doctor` and report the verifier log below with the kernel version';
    case 'no-btf':
      return 'this kernel lacks BTF (/sys/kernel/btf/vmlinux); use a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8+)';
    case 'missing-file':
      return 'the BPF object file is missing; run `npm run setup` to build it';
    case 'missing-hook':
      return 'the hook point does not exist on this kernel (tracepoint or perf event missing; is tracefs mounted? mount -t tracefs nodev /sys/kernel/tracing)';
    default:
      return 'run `hotspan doctor` to check kernel features and privileges';
  }
}

/** Converts an error thrown by the addon into a BpfError (other errors pass through). */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'op' in err) {
    const e = err as Error & { code: string; op: string; errno: number; detail: string };
    return new BpfError({ code: e.code, op: e.op, errno: e.errno, detail: e.detail ?? '', message: e.message });
  }
  return err;
}

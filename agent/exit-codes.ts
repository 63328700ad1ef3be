/**
 * Process exit codes (sysexits.h where one fits), so scripts can tell causes apart. Every command
 * uses the same table (README "Exit codes", `hotspan --help`); lifecycle.ts exitCodeFor() maps an
 * error to its code.
 */
export const ExitCode = {
  Ok: 0,
  /** Anything else: the message says what (no agent answering, store locked, I/O error…). */
  Failure: 1,
  /** Bad command line: unknown option, invalid value. */
  Usage: 64,
  /** The input profile or selector cannot be used: unreadable file, malformed stacks, nothing matched. */
  DataErr: 65,
  /** A kernel feature hotspan needs is missing. */
  Unavailable: 69,
  /** An internal error (a bug). */
  Software: 70,
  /** Missing privilege (not root, missing capability). */
  NoPermission: 77,
} as const;

/** The table above as `hotspan --help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0   success
  1   failure (the message says what)
  64  usage: bad option or value
  65  bad input: unreadable profile file, malformed stacks, selector matching nothing
  69  a kernel feature hotspan needs is missing (hotspan doctor)
  70  internal error (a bug: please report it)
  77  missing privilege (run as root or with CAP_BPF+CAP_PERFMON)`;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

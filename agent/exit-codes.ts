/** Process exit codes (sysexits.h where one fits), so scripts can tell causes apart. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 64,
  /** A kernel feature hotspan needs is missing. */
  Unavailable: 69,
  /** An internal error (a bug). */
  Software: 70,
  /** Missing privilege (not root, missing capability). */
  NoPermission: 77,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

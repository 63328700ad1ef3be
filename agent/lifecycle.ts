import { closeAllBpfObjects, BpfError, UnsupportedFeatureError } from '../src/bpf/index.js';
import { InputError } from '../src/flamegraph/index.js';
import { ConfigError } from '../src/config/index.js';
import { stripControl } from '../src/api/text.js';
import { ExitCode } from './exit-codes.js';

/** The exit code of an error, for every command alike (exit-codes.ts). */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof BpfError) {
    if (err.failure === 'permission') return ExitCode.NoPermission;
    if (err.failure === 'other') return ExitCode.Failure;
    return ExitCode.Unavailable;
  }
  if (err instanceof UnsupportedFeatureError) return ExitCode.Unavailable;
  if (err instanceof PreflightError) return err.exitCode;
  if (err instanceof ConfigError) return ExitCode.Usage;
  if (err instanceof InputError) return ExitCode.DataErr;
  return ExitCode.Failure;
}

/**
 * Prints one line naming the cause and fix (`hotspan <command>: …`; messages may quote profile
 * frames or selectors, so control characters are stripped) and returns the exit code for it.
 */
export function reportFatal(err: unknown, command?: string): ExitCode {
  const prefix = command ? `hotspan ${command}` : 'hotspan';
  const msg = err instanceof BpfError ? err.summary() : err instanceof Error ? err.message : String(err);
  process.stderr.write(stripControl(`${prefix}: ${msg}`) + '\n');
  if (err instanceof BpfError && err.detail && err.failure === 'verifier') process.stderr.write(`  verifier log (tail):\n${indent(err.detail)}\n`);
  return exitCodeFor(err);
}

export class PreflightError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

function indent(s: string): string {
  return s
    .trimEnd()
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
}

/**
 * Runs `shutdown` on SIGINT/SIGTERM (once; a second signal exits at once) and
 * detaches every BPF program on an uncaught error. Returns a function that
 * removes the handlers.
 */
export function installShutdownHandlers(shutdown: (signal: string) => Promise<void>, deadlineMs = 10_000): () => void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      closeAllBpfObjects();
      process.exit(ExitCode.Failure);
    }
    shuttingDown = true;
    const timer = setTimeout(() => {
      process.stderr.write(`hotspan: shutdown took longer than ${deadlineMs} ms; exiting\n`);
      closeAllBpfObjects();
      process.exit(ExitCode.Failure);
    }, deadlineMs);
    timer.unref();
    shutdown(signal)
      .then(() => {
        closeAllBpfObjects();
        process.exit(ExitCode.Ok);
      })
      .catch((err) => {
        closeAllBpfObjects();
        process.exit(reportFatal(err));
      });
  };
  const onUncaught = (err: unknown) => {
    closeAllBpfObjects();
    process.stderr.write(`hotspan: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(ExitCode.Software);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  };
}

// What the commands share: where the store is, how times and numbers are read from flags, and
// the one error path (message + exit code from exit-codes.ts). Commands import from here, never
// from each other.
import { join } from 'node:path';
import { CommanderError, InvalidArgumentError } from 'commander';
import { DEFAULT_DATA_DIR, parseTimeUnixNs } from '../../src/config/index.js';
import { reportFatal } from '../lifecycle.js';

export function dataDirOf(dataDir: string | undefined): string {
  return dataDir ?? DEFAULT_DATA_DIR;
}

/** The store the agent writes: `<dataDir>/store`. */
export function storeDir(dataDir: string | undefined): string {
  return join(dataDirOf(dataDir), 'store');
}

/** --since/--until: an ISO time or a duration back from now (src/config parseTimeUnixNs). */
export function timeOption(v: string): bigint {
  try {
    return parseTimeUnixNs(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function positiveNumberOption(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
}

/**
 * Wraps a command's action: an error is printed as `hotspan <command>: …` and sets the exit code
 * for its kind (bad input 65, missing privilege 77, …), the same for every command. Usage errors
 * raised with cmd.error() are already printed: commander handles them (exit 64).
 */
export function runAction<A extends unknown[]>(command: string, action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      if (e instanceof CommanderError) throw e;
      process.exitCode = reportFatal(e, command);
    }
  };
}

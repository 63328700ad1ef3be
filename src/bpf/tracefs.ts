import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const TRACEFS = '/sys/kernel/tracing';

function isMounted(path: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === path);
  } catch {
    return false;
  }
}

/**
 * Makes sure tracefs is mounted at /sys/kernel/tracing: libbpf resolves
 * tracepoint ids through it. Mounts it when absent and we have the right to.
 * Returns a description of what was done, or throws with the fix.
 */
export function ensureTracefs(): 'present' | 'mounted' {
  if (existsSync(`${TRACEFS}/events`) || isMounted(TRACEFS)) return 'present';
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'pipe' });
  } catch (err) {
    const why = err instanceof Error ? (err as { stderr?: Buffer }).stderr?.toString().trim() || err.message : String(err);
    throw new Error(`tracefs is not mounted at ${TRACEFS} and mounting it failed (${why}); fix: run as root, or mount it: mount -t tracefs nodev ${TRACEFS}`, {
      cause: err,
    });
  }
  return 'mounted';
}

import { ensureTracefs } from '../src/bpf/index.js';
import { runChecks } from '../src/preflight/index.js';
import { ExitCode } from './exit-codes.js';
import { PreflightError } from './lifecycle.js';

/**
 * Checks privileges and kernel features before anything is loaded, so the user
 * sees one line with the cause and the fix instead of a bare EPERM.
 */
export function preflight(opts: { needTracefs?: boolean } = {}): void {
  const results = runChecks();
  for (const r of results) {
    if (!r.required || r.ok) continue;
    const code = r.name === 'privileges' || r.name === 'perf events' ? ExitCode.NoPermission : ExitCode.Unavailable;
    throw new PreflightError(`${r.name}: ${r.detail}; fix: ${r.fix}`, code);
  }
  if (opts.needTracefs) ensureTracefs();
}

import { ensureTracefs, parseFeatureList, probeFeatures, type FeatureId, type FeatureReport } from '../src/bpf/index.js';
import { runChecks } from '../src/preflight/index.js';
import { ExitCode } from './exit-codes.js';
import { PreflightError } from './lifecycle.js';

/**
 * Checks privileges and kernel features before anything is loaded, so the user
 * sees one line with the cause and the fix instead of a bare EPERM. Returns what
 * this kernel can do (probed, after tracefs is mounted), with the features named in
 * HOTSPAN_DISABLE_FEATURES turned off.
 */
export function preflight(opts: { needTracefs?: boolean; env?: NodeJS.ProcessEnv; only?: readonly FeatureId[] } = {}): FeatureReport {
  const env = opts.env ?? process.env;
  let disabled;
  try {
    disabled = parseFeatureList(env.HOTSPAN_DISABLE_FEATURES);
  } catch (err) {
    throw new PreflightError((err as Error).message, ExitCode.Usage);
  }
  const failed = runChecks().filter((r) => r.required && !r.ok);
  // A missing privilege first: without it the kernel probes fail too (EPERM reads as "no ring
  // buffer"), and the one line must name the cause, not a symptom.
  const isPermission = (name: string) => name === 'privileges' || name === 'perf events';
  const first = failed.find((r) => isPermission(r.name)) ?? failed[0];
  if (first) {
    const code = isPermission(first.name) ? ExitCode.NoPermission : ExitCode.Unavailable;
    throw new PreflightError(`${first.name}: ${first.detail}; fix: ${first.fix}`, code);
  }
  if (opts.needTracefs) ensureTracefs();
  return probeFeatures({ disabled, ...(opts.only && { only: opts.only }) });
}

import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../../agent/node-flags.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES_BIN = join(ROOT, 'test/fixtures/bin');
export const PPROF = join(FIXTURES_BIN, 'pprof');
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Integration tests load BPF and need root. In CI they must run, so a non-root
 * CI run fails loudly; a local non-root run returns false with a printed reason.
 */
export function requireRoot(what: string): boolean {
  if (process.geteuid?.() === 0) return true;
  if (isCI) throw new Error(`${what} needs root and CI=true: refusing to skip`);
  console.warn(`[not run] ${what}: needs root`);
  return false;
}

let built = false;
/** Builds the fixture programs (idempotent, make-driven). */
export function buildFixtures(): void {
  if (built) return;
  execFileSync('make', ['-s', '-C', join(ROOT, 'test/fixtures')], { stdio: 'inherit' });
  built = true;
}

/**
 * Argument vector that runs the hotspan CLI as `npm start` does: the build in dist/ (deploy/setup.sh
 * builds it before the tests). Tests that bound the agent's memory use it: from source, every worker
 * thread (store, symbol loaders) boots its own TypeScript loader and roughly doubles the RSS.
 */
export function builtCliArgs(...args: string[]): string[] {
  const cli = join(ROOT, 'dist/agent/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing; fix: npm run build`);
  return [...AGENT_NODE_FLAGS, cli, ...args];
}

/** Argument vector that runs the hotspan CLI from source. */
export function cliArgs(...args: string[]): string[] {
  return ['--import', 'tsx', join(ROOT, 'agent/cli.ts'), ...args];
}

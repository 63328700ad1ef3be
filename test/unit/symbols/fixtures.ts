// Builds the C fixtures once per test file (make is a no-op when up to date; the
// lock keeps parallel test files from racing on the same outputs).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURE_BIN = `${REPO_ROOT}test/fixtures/bin`;

export function buildFixtures(): void {
  execFileSync('flock', ['/tmp/hotspan-fixtures.lock', 'make', '-s', '-C', `${REPO_ROOT}test/fixtures`], { stdio: 'inherit' });
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

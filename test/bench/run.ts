// `npm run bench`: runs every benchmark script in test/bench/ one after another
// (each prints its own report with ratios against peers measured in the same
// run). Pass names to run a subset: npm run bench -- profiling otlp
// Flags (--quick, --rss-minutes=10, ...) are passed on to every script run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const s of scripts) {
  console.log(`\n# ${s}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, s), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`(${s} exited with ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed ? 1 : 0;

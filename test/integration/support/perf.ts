import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `perf record -F <hz> -g -p <pid>` for `seconds` and returns perf's own
 * self share per symbol (percent of the process's samples), the independent
 * ground truth for hotspan's profiles.
 */
export async function perfSelfShares(pid: number, seconds: number, hz = 99): Promise<{ shares: Map<string, number>; samples: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-perf-'));
  const data = join(dir, 'perf.data');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('perf', ['record', '-q', '-F', String(hz), '-g', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${code}`))));
  });
  const report = execFileSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'sym', '-g', 'none', '--percent-limit', '0'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const shares = new Map<string, number>();
  for (const line of report.split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[[.k]\]\s+(.+?)\s*$/.exec(line);
    if (m) shares.set(m[2], (shares.get(m[2]) ?? 0) + Number(m[1]));
  }
  const nm = /^# Samples: (\d+)/m.exec(report);
  return { shares, samples: nm ? Number(nm[1]) : 0 };
}
/** Binomial standard error of a share (percent) estimated from n samples. */
export function shareStdErrPct(sharePct: number, n: number): number {
  const p = sharePct / 100;
  return 100 * Math.sqrt((p * (1 - p)) / Math.max(n, 1));
}

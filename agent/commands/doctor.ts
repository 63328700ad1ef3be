import type { Command } from 'commander';
import { parseFeatureList, probeFeatures } from '../../src/bpf/index.js';
import { runChecks } from '../../src/preflight/index.js';
import { ExitCode } from '../exit-codes.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check privileges and probe which hotspan features this kernel has, with a fix or the kernel each missing one needs')
    .option('--json', 'print the results as JSON: { checks, kernel, features }')
    .action((opts: { json?: boolean }) => {
      const results = runChecks();
      const report = probeFeatures({ disabled: parseFeatureList(process.env.HOTSPAN_DISABLE_FEATURES) });
      if (opts.json) {
        const features = report.features.map((f) => ({
          id: f.id,
          title: f.title,
          available: f.available,
          minKernel: f.minKernel,
          needs: f.needs,
          detail: f.detail,
          without: f.without,
        }));
        process.stdout.write(JSON.stringify({ checks: results, kernel: report.kernel, features }, null, 2) + '\n');
      } else {
        for (const r of results) {
          const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
          process.stdout.write(`${mark}  ${r.name.padEnd(20)} ${r.detail}\n`);
          if (!r.ok && r.fix) process.stdout.write(`      ${''.padEnd(20)} fix: ${r.fix}\n`);
        }
        process.stdout.write(`\nfeatures on Linux ${report.kernel} (probed):\n`);
        for (const f of report.features) {
          process.stdout.write(`${f.available ? 'yes ' : 'NO  '}  ${f.title.padEnd(36)} needs ${`${f.minKernel}+`.padEnd(6)} ${f.detail}\n`);
          if (!f.available) process.stdout.write(`      ${''.padEnd(36)} without it: ${f.without}\n`);
        }
      }
      process.exitCode = results.some((r) => r.required && !r.ok) ? ExitCode.Unavailable : ExitCode.Ok;
    });
}

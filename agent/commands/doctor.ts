import type { Command } from 'commander';
import { runChecks } from '../../src/preflight/index.js';
import { ExitCode } from '../exit-codes.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check kernel features and privileges hotspan needs, with a fix for each missing one')
    .option('--json', 'print the results as JSON')
    .action((opts: { json?: boolean }) => {
      const results = runChecks();
      if (opts.json) {
        process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      } else {
        for (const r of results) {
          const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
          process.stdout.write(`${mark}  ${r.name.padEnd(20)} ${r.detail}\n`);
          if (!r.ok && r.fix) process.stdout.write(`      ${''.padEnd(20)} fix: ${r.fix}\n`);
        }
      }
      process.exitCode = results.some((r) => r.required && !r.ok) ? ExitCode.Unavailable : ExitCode.Ok;
    });
}

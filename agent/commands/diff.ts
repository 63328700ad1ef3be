// `hotspan diff BASE HEAD`: which functions changed between two profiles.
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { diff, loadInput, renderDiffHtml, renderDiffTable, renderSvg } from '../../src/flamegraph/index.js';

interface DiffCliOptions {
  output?: string;
  top: number;
  alpha: number;
  since?: string;
  until?: string;
  baseSeconds?: number;
  headSeconds?: number;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('diff two profiles: top regressions and improvements by share of CPU, with a significance test')
    .argument('<base>', 'pprof file, folded-stack file, or selector (service=checkout,version=1.4.2)')
    .argument('<head>', 'same kinds as base')
    .option('-o, --output <file>', 'also write the diff: .html (interactive differential flame graph), .svg, .json, else text')
    .option('--top <n>', 'rows per list', (v) => Math.round(positiveNumber(v)), 20)
    .option('--alpha <p>', 'two-sided significance level of each test', positiveNumber, 0.001)
    .option('--since <time>', 'selectors only: start of the selection (ISO time)')
    .option('--until <time>', 'selectors only: end of the selection (ISO time)')
    .option('--base-seconds <s>', 'wall time the base covers, for CPU-s/s (folded files have none)', positiveNumber)
    .option('--head-seconds <s>', 'wall time the head covers', positiveNumber)
    .action(async (baseArg: string, headArg: string, opts: DiffCliOptions) => {
      try {
        if (opts.since !== undefined || opts.until !== undefined) {
          throw new Error('--since/--until select over the local store, which is not yet available; fix: pass files');
        }
        const [base, head] = await Promise.all([
          loadInput(baseArg, opts.baseSeconds ? { durationNs: opts.baseSeconds * 1e9 } : {}),
          loadInput(headArg, opts.headSeconds ? { durationNs: opts.headSeconds * 1e9 } : {}),
        ]);
        const d = diff(base, head, { alpha: opts.alpha });
        const text = renderDiffTable(d, { top: opts.top });
        process.stdout.write(text);
        const skipped = (base.malformed ?? 0) + (head.malformed ?? 0);
        if (skipped > 0) process.stderr.write(`hotspan diff: skipped ${skipped} malformed records\n`);
        if (opts.output) {
          const ext = extname(opts.output).toLowerCase();
          const body =
            ext === '.html' ? renderDiffHtml(base, head, { title: `${baseArg} → ${headArg}` })
            : ext === '.svg' ? renderSvg(head, { base, title: `${baseArg} → ${headArg}` })
            : ext === '.json' ? JSON.stringify({ ...d, stacks: d.stacks.slice(0, 1000) }, null, 1)
            : text;
          await writeFile(opts.output, body);
        }
      } catch (e) {
        process.stderr.write(`hotspan diff: ${(e as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}

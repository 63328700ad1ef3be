// `hotspan flamegraph INPUT -o flame.html`: render one profile.
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command } from 'commander';
import {
  filter,
  loadInput,
  merge,
  parseSelector,
  renderHtml,
  renderSvg,
  renderTopTable,
  toFolded,
} from '../../src/flamegraph/index.js';

interface FlamegraphCliOptions {
  output?: string;
  top: string;
  filter?: string;
}

export function register(program: Command): void {
  program
    .command('flamegraph')
    .description('render profiles as a flame graph: .html (interactive), .svg, .folded or .txt (top table)')
    .argument('<inputs...>', 'pprof or folded-stack files (merged when several)')
    .option('-o, --output <file>', 'output file; format from extension (.html, .svg, .folded, .txt); without it, a top table on stdout')
    .option('--top <n>', 'rows in the top table', '20')
    .option('--filter <selector>', 'keep stacks with these labels, e.g. thread=worker,pid=42')
    .action(async (inputs: string[], opts: FlamegraphCliOptions) => {
      try {
        let p = merge(await Promise.all(inputs.map((i) => loadInput(i))));
        if (opts.filter) p = filter(p, parseSelector(opts.filter));
        if (p.stacks.length === 0) throw new Error('no samples to draw (empty input or filter matched nothing)');
        if ((p.malformed ?? 0) > 0) process.stderr.write(`hotspan flamegraph: skipped ${p.malformed} malformed records\n`);
        const top = Number(opts.top) > 0 ? Math.round(Number(opts.top)) : 20;
        if (!opts.output) {
          process.stdout.write(renderTopTable(p, { top }));
          return;
        }
        const ext = extname(opts.output).toLowerCase();
        const title = inputs.join(' + ');
        const body =
          ext === '.html' ? renderHtml(p, { title })
          : ext === '.svg' ? renderSvg(p, { title })
          : ext === '.folded' || ext === '.collapsed' ? toFolded(p)
          : renderTopTable(p, { top });
        await writeFile(opts.output, body);
      } catch (e) {
        process.stderr.write(`hotspan flamegraph: ${(e as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}

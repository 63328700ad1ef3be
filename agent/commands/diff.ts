// `hotspan diff BASE HEAD`: which functions changed between two profiles.
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { stripControl } from '../../src/api/text.js';
import { diff, renderDiffHtml, renderDiffTable, renderSvg, type LoadOptions } from '../../src/flamegraph/index.js';
import { positiveNumberOption, runAction, timeOption } from './common.js';
import { agentFor, loadCliInput } from './store-access.js';

interface DiffCliOptions {
  output?: string;
  top: number;
  alpha: number;
  since?: bigint;
  until?: bigint;
  dataDir?: string;
  baseSeconds?: number;
  headSeconds?: number;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('diff two profiles: top regressions and improvements by share of CPU, with a significance test')
    .argument('<base>', 'pprof file, folded-stack file, or selector (service=checkout,version=1.4.2)')
    .argument('<head>', 'same kinds as base')
    .option('-o, --output <file>', 'also write the diff: .html (interactive differential flame graph), .svg, .json, else text')
    .option('--top <n>', 'rows per list', (v) => Math.round(positiveNumberOption(v)), 20)
    .option('--alpha <p>', 'two-sided significance level of each test', positiveNumberOption, 0.001)
    .option('--since <time>', 'selectors: start of the selection (ISO time, or 2h for two hours ago)', timeOption)
    .option('--until <time>', 'selectors: end of the selection (ISO time, or 30m)', timeOption)
    .option('--data-dir <dir>', "selectors: the agent's data directory")
    .option('--base-seconds <s>', 'wall time the base covers, for CPU-s/s (folded files have none)', positiveNumberOption)
    .option('--head-seconds <s>', 'wall time the head covers', positiveNumberOption)
    .action(
      runAction('diff', async (baseArg: string, headArg: string, opts: DiffCliOptions) => {
        const common: LoadOptions & { dataDir?: string } = opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {};
        const agent = !existsSync(baseArg) || !existsSync(headArg) ? await agentFor(opts.dataDir) : undefined;
        if (opts.since !== undefined) common.fromUnixNs = opts.since;
        if (opts.until !== undefined) common.toUnixNs = opts.until;
        // One after the other: both may open the same store.
        const base = await loadCliInput(baseArg, opts.baseSeconds ? { ...common, durationNs: opts.baseSeconds * 1e9 } : common, agent);
        const head = await loadCliInput(headArg, opts.headSeconds ? { ...common, durationNs: opts.headSeconds * 1e9 } : common, agent);
        const d = diff(base, head, { alpha: opts.alpha });
        const text = renderDiffTable(d, { top: opts.top });
        process.stdout.write(stripControl(text));
        const skipped = (base.malformed ?? 0) + (head.malformed ?? 0);
        if (skipped > 0) process.stderr.write(`hotspan diff: skipped ${skipped} malformed records\n`);
        if (opts.output) {
          const ext = extname(opts.output).toLowerCase();
          const body =
            ext === '.html'
              ? renderDiffHtml(base, head, { title: `${baseArg} → ${headArg}` })
              : ext === '.svg'
                ? renderSvg(head, { base, title: `${baseArg} → ${headArg}` })
                : ext === '.json'
                  ? JSON.stringify({ ...d, stacks: d.stacks.slice(0, 1000) }, null, 1)
                  : text;
          await writeFile(opts.output, body);
        }
      }),
    );
}

// `hotspan flamegraph INPUT -o flame.html`: render one profile.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command } from 'commander';
import { stripControl } from '../../src/api/text.js';
import { filter, InputError, merge, parseSelector, renderHtml, renderSvg, renderTopTable, toFolded } from '../../src/flamegraph/index.js';
import { runAction, timeOption } from './common.js';
import { agentFor, loadCliInput } from './store-access.js';

interface FlamegraphCliOptions {
  output?: string;
  top: string;
  filter?: string;
  dataDir?: string;
  since?: bigint;
  until?: bigint;
}

export function register(program: Command): void {
  program
    .command('flamegraph')
    .description('render profiles as a flame graph: .html (interactive), .svg, .folded or .txt (top table)')
    .argument('<inputs...>', 'pprof or folded-stack files, or store selectors (service=checkout,version=1.4.2); merged when several')
    .option('-o, --output <file>', 'output file; format from extension (.html, .svg, .folded, .txt); without it, a top table on stdout')
    .option('--top <n>', 'rows in the top table', '20')
    .option('--filter <selector>', 'keep stacks with these labels, e.g. thread=worker,pid=42')
    .option('--since <time>', 'selectors: start of the selection (ISO time, or 2h for two hours ago)', timeOption)
    .option('--until <time>', 'selectors: end of the selection (ISO time, or 30m)', timeOption)
    .option('--data-dir <dir>', "selectors: the agent's data directory (read through the running agent when it holds the store)")
    .action(
      runAction('flamegraph', async (inputs: string[], opts: FlamegraphCliOptions) => {
        const agent = inputs.some((i) => !existsSync(i)) ? await agentFor(opts.dataDir) : undefined;
        const loadOpts = {
          ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }),
          ...(opts.since !== undefined && { fromUnixNs: opts.since }),
          ...(opts.until !== undefined && { toUnixNs: opts.until }),
        };
        // One after the other: selectors may open the same store.
        const loaded = [];
        for (const i of inputs) loaded.push(await loadCliInput(i, loadOpts, agent));
        let p = merge(loaded);
        if (opts.filter) p = filter(p, parseSelector(opts.filter));
        if (p.stacks.length === 0) throw new InputError('no samples to draw (empty input or filter matched nothing)');
        if ((p.malformed ?? 0) > 0) process.stderr.write(`hotspan flamegraph: skipped ${p.malformed} malformed records\n`);
        const top = Number(opts.top) > 0 ? Math.round(Number(opts.top)) : 20;
        if (!opts.output) {
          // Frame names come from binaries and the network: no raw escapes to the terminal.
          process.stdout.write(stripControl(renderTopTable(p, { top })));
          return;
        }
        const ext = extname(opts.output).toLowerCase();
        const title = inputs.join(' + ');
        const body =
          ext === '.html'
            ? renderHtml(p, { title })
            : ext === '.svg'
              ? renderSvg(p, { title })
              : ext === '.folded' || ext === '.collapsed'
                ? toFolded(p)
                : renderTopTable(p, { top });
        await writeFile(opts.output, body);
      }),
    );
}

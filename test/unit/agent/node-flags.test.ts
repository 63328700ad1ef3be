// Every place that starts the agent passes the flags agent/node-flags.ts names, in its order: V8
// flags cannot be set safely once node runs, so a launcher that drops one changes the agent.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS, describeMissingNodeFlags, missingNodeFlags } from '../../../agent/node-flags.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
const FLAGS = AGENT_NODE_FLAGS.join(' ');

describe('the node flags the agent is started with', () => {
  it('are the same in npm start, the hotspan #! line, the image, the bench probes and the kernel guests', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${FLAGS} dist/agent/cli.js agent`);
    expect(read('agent/cli.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${FLAGS}`);
    const entrypoint = read('deploy/Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT'));
    expect(JSON.parse(entrypoint!.slice('ENTRYPOINT'.length))).toEqual(['node', ...AGENT_NODE_FLAGS, '/app/dist/agent/cli.js']);
    expect(read('test/kernels/guest-checks.sh')).toContain(`read -r -a NODE <<<"node ${FLAGS} \${HOTSPAN_MATRIX_NODE_FLAGS:-}"`);
    expect(read('test/bench/probes/busy-host.sh')).toContain(`node ${FLAGS} \${NODEFLAGS:-} dist/agent/cli.js agent`);
  });

  it('are this test process’s own (the unit project starts node as npm start does)', () => {
    expect(missingNodeFlags()).toEqual([]);
    expect(describeMissingNodeFlags()).toBeUndefined();
  });

  it('when missing, are named with what they cost and the fix', () => {
    expect(missingNodeFlags(['--expose-gc'])).toEqual(['--no-wasm-dynamic-tiering', '--no-wasm-tier-up', '--no-wasm-lazy-compilation']);
    const line = describeMissingNodeFlags(['--no-wasm-tier-up'])!;
    expect(line).toMatch(/^node was started without --expose-gc --no-wasm-dynamic-tiering --no-wasm-lazy-compilation: /);
    expect(line).toContain('no heap trimming');
    expect(line).toContain('demangler WASM');
    expect(line).toContain(`fix: start the agent as \`npm start\``);
    expect(line).toContain(`(node ${FLAGS})`);
  });
});

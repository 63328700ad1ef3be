/**
 * The V8 flags node is started with for the agent: `npm start`, the `hotspan` command's #! line,
 * the image's ENTRYPOINT, the bench and the kernel matrix's guests all pass exactly these
 * (test/unit/agent/node-flags.test.ts holds them to this list). V8 flags cannot be set safely once
 * the process runs, so a node started without them is told so at start-up (missingNodeFlags).
 */
export const AGENT_NODE_FLAGS = ['--expose-gc', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up', '--no-wasm-lazy-compilation'] as const;

/** What the agent loses without each flag: the start-up message names it. */
const WITHOUT: Record<(typeof AGENT_NODE_FLAGS)[number], string> = {
  // src/heap/trim.ts: the main isolate's heap is collected back to its live size with gc().
  '--expose-gc': "no heap trimming, so the heap grows to V8's own limits (~500 MB RSS)",
  // The demangler's WASM (src/symbols/demangle.ts) runs on the main thread and in a worker, one
  // module shared by both isolates. By default V8 compiles its functions lazily, recompiles hot
  // ones and frees the replaced code once every isolate has reported its stacks. The kernel
  // matrix's guests (qemu TCG, 2 vCPUs) saw the agent's main thread jump into such freed code:
  // SIGSEGV at a WASM address on a page V8 had decommitted, 2 of 5 kernels in one CI run. These
  // three flags compile each function once, eagerly, with the baseline compiler, so no WASM code
  // is ever replaced or freed. Cost, measured on this host (20k of node's own C++ symbols): the
  // module compiles in 45–51 ms instead of 14–16; a first demangle takes 6–7 µs instead of 13–15
  // (no lazy compile), a repeated one 4.7 instead of 4.2 µs. The agent demangles a name once.
  '--no-wasm-dynamic-tiering': 'the demangler WASM is recompiled and its old code freed while the agent runs',
  '--no-wasm-tier-up': 'the demangler WASM is recompiled and its old code freed while the agent runs',
  '--no-wasm-lazy-compilation': 'the demangler WASM is compiled and patched in while it runs',
};

/** The agent's flags this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return AGENT_NODE_FLAGS.filter((f) => !execArgv.includes(f));
}

/** One line for the log naming what is missing, what it costs and the fix; undefined when nothing is. */
export function describeMissingNodeFlags(execArgv: readonly string[] = process.execArgv): string | undefined {
  const missing = missingNodeFlags(execArgv);
  if (missing.length === 0) return undefined;
  const costs = [...new Set(missing.map((f) => WITHOUT[f as keyof typeof WITHOUT]))];
  return `node was started without ${missing.join(' ')}: ${costs.join('; ')}; fix: start the agent as \`npm start\`, the hotspan command and the image do (node ${AGENT_NODE_FLAGS.join(' ')})`;
}

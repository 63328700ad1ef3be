import { defineConfig } from 'vitest/config';
import { AGENT_NODE_FLAGS } from '../agent/node-flags.js';

// Unit tests run in parallel and need no privileges. Integration tests load real
// BPF programs and measure real CPU shares, so they run one file at a time: two
// CPU-burning fixtures sharing 2 cores would distort each other's profiles.
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // As npm start runs the agent (the heap trim tests collect with V8's gc()).
          execArgv: [...AGENT_NODE_FLAGS],
          // Groups run one after the other: unit tests never share the CPU with an integration test.
          sequence: { groupOrder: 0 },
          testTimeout: 60_000,
        },
      },
      {
        // Fuzzers: no privileges; each file in its own process so heap measurements are its own.
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 600_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: 'forks',
          // As npm start runs the agent: several files run it in the test's own process.
          execArgv: [...AGENT_NODE_FLAGS],
        },
      },
      {
        test: {
          // Debian's kernels under qemu plus the host kernel, one guest at a time, after the
          // integration tests (test/kernels/matrix.test.ts): each kernel is one pass/fail.
          name: 'kernels',
          include: ['test/kernels/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});

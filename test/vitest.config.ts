import { defineConfig } from 'vitest/config';

// Unit tests run in parallel and need no privileges. Integration tests load real
// BPF programs and measure real CPU shares, so they run one file at a time: two
// CPU-burning fixtures sharing 2 cores would distort each other's profiles.
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});

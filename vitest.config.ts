import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // e2e tests start real daemons; two noisy cores do not want many at once.
    maxWorkers: 2,
    fileParallelism: true,
  },
});

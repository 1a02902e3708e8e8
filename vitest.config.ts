import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM; Pothos and Yoga load the CJS build, so tests must too (one graphql realm).
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: each file starts real servers and databases, and CI machines are shared.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file starts its own servers and databases; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});

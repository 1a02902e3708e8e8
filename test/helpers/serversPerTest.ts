/** Servers started by a test and stopped after it, with whatever else the test must undo. */
import { afterEach } from 'vitest';
import { startTestServer } from '../../support/server.ts';

/**
 * For a test file whose tests each start their own servers: `serverWith` starts one, and every server and every
 * cleanup pushed onto `cleanups` is undone after each test, last first.
 */
export function serversPerTest() {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const serverWith = async (...args: Parameters<typeof startTestServer>) => {
    const server = await startTestServer(...args);
    cleanups.push(() => server.dispose());
    return server;
  };
  return { serverWith, cleanups };
}

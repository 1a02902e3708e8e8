/**
 * Failure paths that need more than one process or a database that can disappear: a database that goes away and
 * comes back, and a server killed with SIGKILL in the middle of a burst.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseOnTcp } from '../../support/database.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { exited, startServerProcess } from '../helpers/process.ts';
import { startProxy } from '../helpers/proxy.ts';
import { deliver, startTestServer, storedOrder } from '../../support/server.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('the database goes away', () => {
  it('answers 503 (retry later) and not ready, then recovers when the database comes back', async () => {
    const target = await databaseOnTcp();
    cleanups.push(() => target.dispose());
    const proxy = await startProxy(target.port, target.host);
    cleanups.push(() => proxy.close().catch(() => {}));
    const server = await startTestServer(
      { databaseUrl: target.url(proxy.port) },
      { dataDir: target.dataDir, databaseUrl: target.url(proxy.port), dispose: async () => {} },
    );
    cleanups.push(() => server.dispose());

    const first = orderDelivery('call_db_down', [{ id: 'db_a0' }, { id: 'db_a1' }], 0);
    expect((await server.deliver(first)).status).toBe(200);

    await proxy.goAway();
    const second = orderDelivery('call_db_down', [{ id: 'db_a0' }, { id: 'db_a1' }], 1);
    const refused = await server.deliver(second);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('database_unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await proxy.comeBack();
    // The sender retries: now it is stored, and what was stored before is intact.
    const retried = await server.deliver(second);
    expect(retried.status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const order = await storedOrder(server, 'call_db_down');
    expect(order).toMatchObject({ isCompleted: true, callsCount: 2 });
    expect(order!.attempts.map((a) => a.revoxId)).toEqual(['db_a0', 'db_a1']);
    expect(server.logs.some((line) => line.includes('webhook.database_unavailable'))).toBe(true);
  });
});

describe('a crash in the middle of a burst', () => {
  it('loses nothing that was answered 200 when killed with SIGKILL, and restarts on the same data', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.dispose());
    const env = { DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };

    const { child, url } = await startServerProcess(env);
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited(child);
    });
    const acknowledged: string[] = [];
    let killed = false;
    const sender = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        const id = `call_crash_${worker}_${i}`;
        const delivery = orderDelivery(id, [{ id: `${id}_a0`, turns: 50 }], 0);
        try {
          const response = await deliver(url, delivery);
          if (response.status === 200) acknowledged.push(id);
        } catch {
          return; // The server is gone.
        }
        if (acknowledged.length >= 30 && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(sender));
    await exited(child);
    expect(acknowledged.length).toBeGreaterThanOrEqual(30);

    const restarted = await startTestServer({}, { ...database, dispose: async () => {} });
    cleanups.push(() => restarted.dispose());
    for (const id of acknowledged) {
      const order = await storedOrder(restarted, id);
      expect(order, id).not.toBeNull();
      expect(order!.attempts[0]!.transcript, id).toHaveLength(50);
    }
    // The server accepts deliveries again on the same data.
    expect((await restarted.deliver(orderDelivery('call_after_crash', [{ id: 'after_a0' }], 0))).status).toBe(200);
  });
});

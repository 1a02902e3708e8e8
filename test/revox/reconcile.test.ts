/**
 * Reconciliation inside the server: stuck orders are re-read from Revox (the local fake) and healed through the
 * webhook pipeline, firing their events once; it is bounded, and never runs twice at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createReconciler, type ReconcilerOptions } from '../../src/revox/reconcile.ts';
import { orderDeliveries } from '../../support/deliveries.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';
import { subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';
import { BROKEN_BODY_START, clientFor, FAKE_API_KEY, restCall, startFakeRevox, type FakeRevox } from './fakeRevox.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<{ server: TestServer; revox: FakeRevox }> {
  const revox = await startFakeRevox();
  cleanups.push(() => revox.close());
  const server = await startTestServer({ revoxBaseUrl: revox.baseUrl, ...overrides });
  cleanups.push(() => server.dispose());
  return { server, revox };
}

const retrieved = (revox: FakeRevox) =>
  revox.requests.filter((request) => request.path.startsWith('/call/') && request.path !== '/call/search').map((r) => r.path.slice(6));

const EVENTS = `subscription($filter: CallCompletedFilter) {
  callCompleted(filter: $filter) { callOrder { revoxId isCompleted } attempt { revoxId result } }
}`;

describe('reconciliation in the server', () => {
  it('heals an order whose completion webhook never came: stored, the subscription fires once, a log line counts it', async () => {
    const { server, revox } = await start({
      revoxApiKey: FAKE_API_KEY,
      revoxReconcileIntervalMs: 100,
      revoxReconcileStaleAfterMs: 0,
      revoxReconcileMaxPerMinute: 6_000,
    });
    const attempts = [
      { id: 'dropped_a0', result: 'voicemail' },
      { id: 'dropped_a1', result: 'human' },
    ];
    const [first] = orderDeliveries('call_dropped', attempts);
    revox.put(restCall('call_dropped', attempts, 1));

    const client = wsClient(server.url);
    cleanups.push(() => client.dispose());
    const subscription = await subscribeWs(client, EVENTS, { filter: { callOrderRevoxId: 'call_dropped' } });
    await waitFor(() => server.events.subscriberCount() === 1);
    // The webhook of the first attempt arrives; the second attempt's is dropped.
    expect((await server.deliver(first)).status).toBe(200);

    expect((await subscription.next()).data.callCompleted).toEqual({
      callOrder: { revoxId: 'call_dropped', isCompleted: false },
      attempt: { revoxId: 'dropped_a0', result: 'VOICEMAIL' },
    });
    expect((await subscription.next()).data.callCompleted).toEqual({
      callOrder: { revoxId: 'call_dropped', isCompleted: true },
      attempt: { revoxId: 'dropped_a1', result: 'HUMAN' },
    });
    const healed = (await storedOrder(server, 'call_dropped'))!;
    expect(healed).toMatchObject({ isCompleted: true, status: 'completed', callsCount: 2 });
    const archived = await server.database.prisma.webhookDelivery.findMany({
      where: { callRevoxId: 'call_dropped', outcome: 'accepted' },
      orderBy: { receivedAt: 'asc' },
    });
    expect(archived.map((delivery) => delivery.source)).toEqual(['webhook', 'sync']);

    // Two more runs find nothing to do: the order is completed, nothing fires again, and it is not re-read.
    const readsAfterHeal = retrieved(revox).length;
    const runsAfterHeal = await server.database.prisma.revoxSyncRun.count({ where: { kind: 'reconcile', status: 'completed' } });
    await waitFor(
      async () =>
        (await server.database.prisma.revoxSyncRun.count({ where: { kind: 'reconcile', status: 'completed' } })) >= runsAfterHeal + 2,
    );
    expect(subscription.results).toHaveLength(2);
    expect(retrieved(revox)).toHaveLength(readsAfterHeal);

    const lines = server.logs.map((line) => JSON.parse(line)).filter((line) => line.event === 'revox.reconciled');
    expect(lines.filter((line) => line.healed === 1)).toEqual([
      expect.objectContaining({ level: 'info', status: 'completed', seen: 1, healed: 1, failed: 0 }),
    ]);
    expect(server.logs.join('\n')).not.toContain(FAKE_API_KEY);

    const status = await server.graphql(
      '{ syncStatus { lastSync { status } lastReconcile { status startedAt finishedAt seen healed failed lastError } } }',
    );
    expect(status.body.data.syncStatus.lastSync).toBeNull();
    expect(status.body.data.syncStatus.lastReconcile).toMatchObject({
      status: expect.stringMatching(/^(RUNNING|COMPLETED)$/),
      failed: 0,
      lastError: null,
    });
  });

  it('is off without REVOX_API_KEY', async () => {
    const { server } = await start({ revoxReconcileIntervalMs: 100, revoxReconcileStaleAfterMs: 0 });
    expect((await server.deliver(orderDeliveries('call_no_key', [{ id: 'no_key_a0' }, { id: 'no_key_a1' }])[0])).status).toBe(200);
    expect(await server.database.prisma.revoxSyncRun.count()).toBe(0);
    expect((await server.graphql('{ syncStatus { lastReconcile { status } } }')).body.data.syncStatus.lastReconcile).toBeNull();
  });
});

describe('which orders, how many, and only one at a time', () => {
  /** A server without its own reconciliation, and reconcilers run by hand against its database. */
  async function setUp() {
    const { server, revox } = await start();
    const reconciler = (options: Partial<ReconcilerOptions> = {}) =>
      createReconciler({
        prisma: server.database.prisma,
        client: clientFor(revox, { maxRetries: 0 }),
        logger: createLogger(() => {}),
        intervalMs: 60_000,
        staleAfterMs: 3_600_000,
        maxPerMinute: 6_000,
        events: server.events,
        ...options,
      });
    /** Stores the first of two attempts by webhook, with its news dated `newsAt`; Revox has both. */
    const stuck = async (id: string, newsAt: Date | null, nextCallAt?: Date) => {
      const attempts = [{ id: `${id}_a0` }, { id: `${id}_a1` }];
      const delivery: any = orderDeliveries(id, attempts)[0];
      if (nextCallAt) delivery.call.next_call_at = nextCallAt.toISOString();
      expect((await server.deliver(delivery)).status).toBe(200);
      if (newsAt) await server.database.prisma.webhookDelivery.updateMany({ where: { callRevoxId: id }, data: { receivedAt: newsAt } });
      revox.put(restCall(id, attempts, 1));
    };
    return { server, revox, reconciler, stuck };
  }

  it('re-reads orders without news for the threshold and orders past next_call_at with no news since; not the others', async () => {
    const { server, revox, reconciler, stuck } = await setUp();
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    await stuck('call_stale', hoursAgo(2));
    await stuck('call_overdue', hoursAgo(0.5), hoursAgo(0.25));
    await stuck('call_fresh', null, new Date(Date.now() + 3_600_000));
    await stuck('call_recently_read', hoursAgo(0.1), hoursAgo(0.25));
    for (const delivery of orderDeliveries('call_done', [{ id: 'call_done_a0' }]))
      expect((await server.deliver(delivery)).status).toBe(200);
    await server.database.prisma.webhookDelivery.updateMany({ where: { callRevoxId: 'call_done' }, data: { receivedAt: hoursAgo(5) } });
    await stuck('call_gone', hoursAgo(3));
    revox.calls.delete('call_gone');

    const summary = await reconciler().runOnce();
    expect(retrieved(revox).sort()).toEqual(['call_gone', 'call_overdue', 'call_stale']);
    expect(summary).toMatchObject({ status: 'completed', seen: 3, healed: 2, stored: 2, failed: 1 });
    expect(summary!.lastError).toBeNull();
    const run = await server.database.prisma.revoxSyncRun.findUniqueOrThrow({ where: { id: summary!.runId } });
    expect(run.failures).toEqual([{ revoxId: 'call_gone', error: expect.stringMatching(/^Revox has no call "call_gone" \(HTTP 404/) }]);
    expect((await storedOrder(server, 'call_stale'))!.isCompleted).toBe(true);
    expect((await storedOrder(server, 'call_fresh'))!.isCompleted).toBe(false);

    // Read once, they are news: the next run leaves them alone.
    revox.requests.length = 0;
    expect(await reconciler().runOnce()).toMatchObject({ seen: 0 });
    expect(retrieved(revox)).toEqual([]);
  });

  it('reads no more calls in a run than the rate allows until the next one, oldest news first', async () => {
    const { revox, reconciler, stuck } = await setUp();
    await stuck('call_bound_1', new Date(Date.now() - 3 * 3_600_000));
    await stuck('call_bound_2', new Date(Date.now() - 5 * 3_600_000));
    await stuck('call_bound_3', new Date(Date.now() - 4 * 3_600_000));
    expect(await reconciler({ maxPerMinute: 1, intervalMs: 60_000 }).runOnce()).toMatchObject({ seen: 1, healed: 1 });
    expect(retrieved(revox)).toEqual(['call_bound_2']);
  });

  it('never runs twice at once: a second reconciler finds the first one running and does nothing', async () => {
    const { revox, reconciler, stuck } = await setUp();
    await stuck('call_once', new Date(Date.now() - 2 * 3_600_000));
    revox.faults.push({ delayMs: 1_000, only: 'retrieve' });
    const first = reconciler().runOnce();
    await waitFor(() => revox.requests.length > 0);
    expect(await reconciler().runOnce()).toBeNull();
    expect(await first).toMatchObject({ status: 'completed', seen: 1, healed: 1 });
    expect(retrieved(revox)).toEqual(['call_once']);
  });

  it('a refused key fails the run with a message naming REVOX_API_KEY, and logs no key', async () => {
    const { revox, reconciler, stuck } = await setUp();
    await stuck('call_bad_key', new Date(Date.now() - 2 * 3_600_000));
    const logs: string[] = [];
    const wrongKey = 'sk_live_wrong_reconcile_key';
    const bad = reconciler({
      logger: createLogger((line) => logs.push(line)),
      client: clientFor(revox, {}, wrongKey),
    });
    const summary = await bad.runOnce();
    expect(summary).toMatchObject({ status: 'failed', seen: 1, healed: 0 });
    expect(summary!.lastError).toBe('Revox refused the API key (HTTP 401 to GET /call/call_bad_key): check REVOX_API_KEY');
    expect(logs.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'warn', event: 'revox.reconciled', error: summary!.lastError }),
    ]);
    expect(logs.join('\n')).not.toContain(wrongKey);
  });

  it('a truncated answer fails the run with its position and length: no part of the call in the log or the run', async () => {
    const { server, revox, reconciler, stuck } = await setUp();
    await stuck('call_truncated', new Date(Date.now() - 2 * 3_600_000));
    revox.lasting = { body: 'truncated', only: 'retrieve' };
    const logs: string[] = [];
    const summary = await reconciler({ logger: createLogger((line) => logs.push(line)) }).runOnce();
    const length = BROKEN_BODY_START.length;
    expect(summary).toMatchObject({ status: 'failed', seen: 1 });
    expect(summary!.lastError).toBe(
      `Revox's answer to GET /call/call_truncated is not JSON (invalid JSON at position ${length}, ${length} bytes)`,
    );
    const run = await server.database.prisma.revoxSyncRun.findUniqueOrThrow({ where: { id: summary!.runId } });
    expect(run.lastError).toBe(summary!.lastError);
    expect(logs.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ event: 'revox.reconciled', error: summary!.lastError }),
    ]);
    expect(JSON.stringify(run) + logs.join('\n')).not.toMatch(/\+33612345678|call_broken/);
  });
});

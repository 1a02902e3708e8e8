/**
 * Two server instances sharing one PostgreSQL and one real redis-server: a webhook stored by one reaches a
 * subscriber on the other, and losing Redis never loses or refuses a delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOnTcp, type TcpDatabase } from '../../support/database.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { redisServerPath, startRedis, type RedisServer } from '../../support/redis.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';
import { subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

const inCi = process.env.CI === 'true';
if (!redisServerPath && !inCi) {
  console.warn('Skipping the Redis fan-out tests: redis-server is not installed (apt-get install redis-server).');
}

describe.skipIf(!redisServerPath && !inCi)('across instances through Redis', () => {
  let database: TcpDatabase;
  let redis: RedisServer;
  let one: TestServer;
  let two: TestServer;

  beforeAll(async () => {
    expect(redisServerPath, 'CI must install redis-server').toBeTruthy();
    database = await databaseOnTcp();
    redis = await startRedis();
    const shared = { dataDir: database.dataDir, databaseUrl: database.url(database.port), dispose: async () => {} };
    one = await startTestServer({ databaseUrl: shared.databaseUrl, redisUrl: redis.url }, shared);
    two = await startTestServer({ databaseUrl: shared.databaseUrl, redisUrl: redis.url }, shared);
  });
  afterAll(async () => {
    await one?.dispose();
    await two?.dispose();
    await redis?.stop();
    await database?.dispose();
  });

  const EVENTS = 'subscription { callCompleted { callOrder { revoxId } attempt { revoxId result transcript { content } } } }';

  it('delivers a webhook stored by instance 1 to a subscriber on instance 2, and survives Redis going away', async () => {
    const client = wsClient(two.url);
    const subscription = await subscribeWs(client, EVENTS);
    await waitFor(() => two.events.subscriberCount() === 1);
    // Each instance listens on the channel from start-up, so a subscriber's first event cannot race a SUBSCRIBE.
    await waitFor(async () => (await redis.subscribers('callCompleted')) === 2);

    expect((await one.deliver(orderDelivery('call_fanout_1', [{ id: 'fanout_a0', result: 'human' }], 0))).status).toBe(200);
    const event = (await subscription.next()).data.callCompleted;
    expect(event).toMatchObject({ callOrder: { revoxId: 'call_fanout_1' }, attempt: { revoxId: 'fanout_a0', result: 'HUMAN' } });
    expect(event.attempt.transcript).toHaveLength(2);

    // Redis goes away: deliveries are still stored and answered 200, and the failure is logged.
    await redis.stop();
    const during = await one.deliver(orderDelivery('call_fanout_2', [{ id: 'fanout_b0' }], 0));
    expect(during.status).toBe(200);
    expect(await storedOrder(one, 'call_fanout_2')).not.toBeNull();
    await waitFor(() =>
      one.logs.some((line) => line.includes('"event":"events.publish_failed"') || line.includes('"event":"redis.error"')),
    );

    // Redis comes back: both instances reconnect, and events flow again.
    await redis.start();
    await waitFor(async () => (await redis.subscribers('callCompleted')) === 2);
    await waitFor(() => one.logs.some((line) => line.includes('"event":"redis.reconnected","role":"publish"')));
    expect((await one.deliver(orderDelivery('call_fanout_3', [{ id: 'fanout_c0' }], 0))).status).toBe(200);
    const resumed = (await subscription.next()).data.callCompleted;
    expect(resumed.attempt.revoxId).toBe('fanout_c0');
    // The event published while Redis was down is lost (pub/sub has no history); the data is not.
    expect(subscription.results.map((r) => r.data.callCompleted.attempt.revoxId)).toEqual(['fanout_a0', 'fanout_c0']);
    client.dispose();
  });
});

/**
 * The bus and its transport, without a server: in-process the bus dispatches what it publishes itself; given a
 * transport, it publishes through it and dispatches only what comes back, so an event reaches each subscriber once.
 * The Redis transport carries events between two buses sharing a real redis-server.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallCompletedPayload, createEventBus, type EventBus, type EventTransport } from '../../src/events/eventBus.ts';
import { createRedisTransport } from '../../src/events/redisTransport.ts';
import { createLogger } from '../../src/log.ts';
import { redisServerPath, startRedis, type RedisServer } from '../../support/redis.ts';
import { waitFor } from '../../support/subscriptions.ts';

const silent = createLogger(() => {});

const completion = (attemptId: string, direction = 'outbound'): CallCompletedPayload => ({
  attemptId,
  callOrderId: `order_${attemptId}`,
  callRevoxId: `call_${attemptId}`,
  phoneNumbers: ['+33600000000'],
  direction,
  result: 'human',
  orderCompleted: true,
});

/** Every event `bus` hands to a subscriber that wants `wanted`, as they come. */
function received(bus: EventBus, wanted: (event: CallCompletedPayload) => boolean = () => true) {
  const events: CallCompletedPayload[] = [];
  void (async () => {
    for await (const event of bus.subscribeCallCompleted({ wanted, transport: 'test' })) {
      events.push(event);
      bus.eventSent();
    }
  })();
  return events;
}

/** A transport that keeps what it is asked to publish, and delivers when the test says so. */
function recordingTransport() {
  const published: CallCompletedPayload[] = [];
  let deliver: (event: CallCompletedPayload) => void = () => {};
  const transport: EventTransport = {
    publish: (event) => published.push(event),
    listen: (handler) => (deliver = handler),
    connected: () => ({ publish: true, subscribe: false }),
    ready: async () => false,
    close: async () => {},
  };
  return { transport, published, arrive: (event: CallCompletedPayload) => deliver(event) };
}

describe('the event bus', () => {
  it('in-process, hands what it publishes to the subscribers that want it', async () => {
    let publishedCount = 0;
    const bus = createEventBus(silent, { onPublished: (count) => (publishedCount += count) });
    const inbound = received(bus, (event) => event.direction === 'inbound');
    const all = received(bus);

    bus.publishCallCompleted([completion('a0'), completion('a1', 'inbound')]);
    await waitFor(() => all.length === 2);
    expect(all.map((event) => event.attemptId)).toEqual(['a0', 'a1']);
    expect(inbound.map((event) => event.attemptId)).toEqual(['a1']);
    expect(publishedCount).toBe(2);
    expect(bus.redisConnected()).toBeUndefined();
    expect(await bus.ready(1)).toBe(true);
  });

  it('given a transport, publishes through it and dispatches only what the transport delivers', async () => {
    const { transport, published, arrive } = recordingTransport();
    let publishedCount = 0;
    const bus = createEventBus(silent, { transport, onPublished: (count) => (publishedCount += count) });
    const events = received(bus);

    bus.publishCallCompleted([completion('b0'), completion('b1')]);
    expect(published.map((event) => event.attemptId)).toEqual(['b0', 'b1']);
    expect(publishedCount).toBe(2);
    // Published here, the events come back through the transport like any other instance's.
    arrive(completion('b0'));
    arrive(completion('c0'));
    await waitFor(() => events.length === 2);
    expect(events.map((event) => event.attemptId)).toEqual(['b0', 'c0']);
    expect(bus.redisConnected()).toEqual({ publish: true, subscribe: false });
    expect(await bus.ready(1)).toBe(false);
  });
});

const inCi = process.env.CI === 'true';
describe.skipIf(!redisServerPath && !inCi)('the Redis transport', () => {
  let redis: RedisServer;
  const logs: string[] = [];
  const logger = createLogger((line) => logs.push(line));
  const buses: EventBus[] = [];

  beforeAll(async () => {
    expect(redisServerPath, 'CI must install redis-server').toBeTruthy();
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    await redis?.stop();
  });

  it('carries an event published on one bus to the subscribers of every bus, and skips a message that is not JSON', async () => {
    const [one, two] = [1, 2].map(() => createEventBus(logger, { transport: createRedisTransport(redis.url, logger) })) as [
      EventBus,
      EventBus,
    ];
    buses.push(one, two);
    expect(await one.ready(5_000)).toBe(true);
    expect(await two.ready(5_000)).toBe(true);
    expect(one.redisConnected()).toEqual({ publish: true, subscribe: true });
    const onOne = received(one);
    const onTwo = received(two);

    const stranger = new Redis(redis.url);
    try {
      await stranger.publish('callCompleted', 'not json');
    } finally {
      stranger.disconnect();
    }
    one.publishCallCompleted([completion('r0')]);
    await waitFor(() => onOne.length === 1 && onTwo.length === 1);
    expect([...onOne, ...onTwo].map((event) => event.attemptId)).toEqual(['r0', 'r0']);
    expect(logs.filter((line) => line.includes('"event":"events.bad_message"'))).toHaveLength(2);
  });
});

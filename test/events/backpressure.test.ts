/**
 * Every subscriber's backlog is bounded: one that stops reading is cut off (4008 over WebSocket, its stream ended
 * over SSE) and logged, while the process and every other subscriber carry on.
 */
import http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSubscriberQueue } from '../../src/events/subscriberQueue.ts';
import { attempt } from '../../support/deliveries.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

/**
 * A GET on a connection of its own, as a readiness probe makes it. fetch would reuse the burst's pooled connection,
 * which the server may close for idleness (5 s) just as it is reused while this busy process waits for 1,000 events.
 */
function statusOnNewConnection(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode);
      })
      .on('error', reject);
  });
}

describe('a subscriber queue', () => {
  const queueWith = (maxEvents: number, maxLagMs: number) => {
    const seen = { overflow: [] as number[], ended: 0, taken: 0 };
    const queue = createSubscriberQueue<number>({
      maxEvents,
      maxLagMs,
      onOverflow: (backlog) => seen.overflow.push(backlog),
      onEnd: () => (seen.ended += 1),
      onTaken: () => (seen.taken += 1),
    });
    return { queue, seen };
  };

  it('hands events out in order, to a waiting reader at once', async () => {
    const { queue, seen } = queueWith(10, 60_000);
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: false, value: 2 });
    expect(seen.taken).toBe(2);
  });

  it('cuts off a reader whose backlog passes the limit, once, and ends its iteration', async () => {
    const { queue, seen } = queueWith(3, 60_000);
    expect([1, 2, 3].map((event) => queue.push(event))).toEqual([true, true, true]);
    expect(queue.push(4)).toBe(false);
    expect(queue.push(5)).toBe(false);
    expect(seen.overflow).toEqual([3]);
    expect(seen.ended).toBe(1);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('cuts off a reader whose oldest event has waited too long', async () => {
    const { queue, seen } = queueWith(1_000, 50);
    queue.push(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(queue.push(2)).toBe(false);
    expect(seen.overflow).toEqual([1]);
  });

  it('releases a reader that leaves while waiting', async () => {
    const { queue, seen } = queueWith(10, 60_000);
    const pending = queue.next();
    await queue.return!();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(seen.ended).toBe(1);
    expect(queue.push(1)).toBe(false);
  });
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
let server: TestServer;
afterAll(() => server?.dispose());

const LIGHT = 'subscription($filter: CallCompletedFilter) { callCompleted(filter: $filter) { attempt { revoxId } } }';
const HEAVY = 'subscription { callCompleted { attempt { revoxId transcript { content } } } }';

/** One order whose delivery finishes `count` attempts at once, each with `turns` long turns. */
function burst(orderId: string, count: number, turns: number) {
  const attempts = Array.from({ length: count }, (_, index) => {
    const made = attempt({ id: `${orderId}_a${index}`, turns }, index);
    made.transcript = made.transcript.map((turn) => ({ ...turn, content: `${turn.content} ${'x'.repeat(300)}` }));
    return made;
  });
  return {
    call: {
      id: orderId,
      from_phone_number: '+33187654321',
      to_phone_number: '+33612345678',
      direction: 'outbound',
      is_completed: true,
      calls_count: count,
      created_at: '2026-11-20T08:00:00Z',
      call_attempts: attempts,
    },
  };
}

describe('a burst of events with subscribers connected', () => {
  it('a delivery finishing 1,000 attempts is stored; a fast subscriber gets every event, a filtered one none, and the server stays ready', async () => {
    // The burst's events wait while earlier ones are loaded: on a busy machine that can take longer than the default
    // lag allows, and this test is about the burst, not about lag.
    server ??= await startTestServer({ maxBodyBytes: 64 * 1024 * 1024 }, undefined, {
      subscriberLimits: { maxQueuedEvents: 2_000, maxEventLagMs: 10 * 60_000 },
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));

    // More subscribers than EventTarget's default listener limit (10).
    const clients = Array.from({ length: 12 }, () => wsClient(server.url));
    cleanups.push(() => {
      for (const client of clients) client.dispose();
    });
    const fast = await subscribeWs(clients[0]!, LIGHT);
    const filtered = await subscribeWs(clients[1]!, LIGHT, { filter: { callOrderRevoxId: 'nobody' } });
    for (const client of clients.slice(2)) await subscribeWs(client, LIGHT, { filter: { phoneNumber: '+10000000000' } });
    const sse = await subscribeSse(server.url, LIGHT);
    cleanups.push(() => sse.close());
    await waitFor(() => server.events.subscriberCount() === 13);

    const response = await server.deliver(burst('call_burst', 1_000, 1));
    expect(response.status).toBe(200);
    expect(response.body.attempts.created).toBe(1_000);
    await waitFor(() => fast.results.length === 1_000 && sse.results.length === 1_000);
    expect(new Set(fast.results.map((result) => result.data.callCompleted.attempt.revoxId)).size).toBe(1_000);
    expect(filtered.results).toEqual([]);
    expect(await statusOnNewConnection(`${server.url}/ready`)).toBe(200);
    expect(server.events.subscriberCount()).toBe(13);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('a subscriber that stops reading is closed with 4008 and logged; the others never notice', async () => {
    const limited = await startTestServer({ maxBodyBytes: 64 * 1024 * 1024 }, undefined, {
      subscriberLimits: { maxQueuedEvents: 2_000, maxEventLagMs: 500 },
    });
    cleanups.push(() => limited.dispose());
    const fastClient = wsClient(limited.url);
    cleanups.push(() => fastClient.dispose());
    const fast = await subscribeWs(fastClient, LIGHT);

    // A client that subscribes to large events, then stops reading its socket.
    const paused = new WebSocket(`${limited.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    cleanups.push(() => paused.terminate());
    await new Promise((resolve) => paused.once('open', resolve));
    paused.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => paused.once('message', resolve));
    paused.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: HEAVY } }));
    await waitFor(() => limited.events.subscriberCount() === 2);
    paused.pause();

    // The same over Server-Sent Events: a stream whose reader stops reading.
    const sseResponse = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const url = new URL(`${limited.url}/graphql`);
      url.searchParams.set('query', HEAVY);
      http.get(url, { headers: { accept: 'text/event-stream' } }, resolve).on('error', reject);
    });
    cleanups.push(() => sseResponse.destroy());
    await waitFor(() => limited.events.subscriberCount() === 3);
    sseResponse.pause();
    const sseEnded = new Promise<boolean>((resolve) => {
      sseResponse.on('end', () => resolve(true));
      sseResponse.on('error', () => resolve(false));
    });
    const closed = new Promise<number>((resolve) => paused.once('close', (code) => resolve(code)));

    // About 18 MB of events for the paused client: more than the socket buffers hold.
    expect((await limited.deliver(burst('call_paused_a', 200, 300))).status).toBe(200);
    await waitFor(() => fast.results.length === 200);
    await new Promise((resolve) => setTimeout(resolve, 700));
    // The next event finds the paused client's backlog too old (or its socket too full) and cuts it off.
    expect((await limited.deliver(burst('call_paused_b', 1, 1))).status).toBe(200);
    await waitFor(() => limited.logs.some((line) => /"event":"(events.slow_subscriber|websocket.slow_consumer)"/.test(line)));
    await waitFor(() => fast.results.length === 201);

    paused.resume();
    expect(await closed).toBe(4008);
    sseResponse.on('data', () => {});
    sseResponse.resume();
    await waitFor(() => limited.events.subscriberCount() === 1);
    expect((await fetch(`${limited.url}/ready`)).status).toBe(200);
    const cutOff = limited.logs.filter((entry) => entry.includes('"event":"events.slow_subscriber"')).map((entry) => JSON.parse(entry));
    expect(cutOff).toContainEqual(expect.objectContaining({ level: 'warn', transport: 'websocket' }));
    expect(cutOff).toContainEqual(expect.objectContaining({ level: 'warn', transport: 'sse' }));
    expect(await sseEnded).toBe(true);
  });
});

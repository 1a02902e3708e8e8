/** Subscription.callCompleted over WebSocket (graphql-ws) and Server-Sent Events, against the real server. */
import http from 'node:http';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { orderDelivery } from '../../support/deliveries.ts';
import { fixture, startTestServer, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

const EVENTS = `subscription($filter: CallCompletedFilter) {
  callCompleted(filter: $filter) {
    callOrder { revoxId isCompleted callsCount }
    attempt { revoxId status result transcript { role content } }
  }
}`;

let server: TestServer;
const cleanups: (() => unknown)[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await waitFor(() => server.events.subscriberCount() === 0);
});
afterAll(() => server?.dispose());

async function subscribe(variables?: Record<string, unknown>, target: TestServer = server) {
  const client = wsClient(target.url);
  cleanups.push(() => client.dispose());
  const before = target.events.subscriberCount();
  const subscription = await subscribeWs(client, EVENTS, variables);
  await waitFor(() => target.events.subscriberCount() > before);
  return subscription;
}

describe('callCompleted over WebSocket', () => {
  it('fires once per newly finished attempt, with data a query on receipt can see', async () => {
    const subscription = await subscribe();
    const first = fixture('outbound-attempt-1-voicemail');
    expect((await server.deliver(first)).status).toBe(200);
    const event = (await subscription.next()).data.callCompleted;
    expect(event.attempt).toMatchObject({ revoxId: first.call_attempt.id, status: 'COMPLETED', result: 'VOICEMAIL' });
    expect(event.callOrder).toMatchObject({ revoxId: first.call.id, isCompleted: false, callsCount: 1 });
    expect(event.attempt.transcript.length).toBe(first.call_attempt.transcript.length);
    // A query made on receipt sees the committed data.
    const { body } = await server.graphql(`{ callAttempt(revoxId: "${first.call_attempt.id}") { status callOrder { revoxId } } }`);
    expect(body.data.callAttempt).toEqual({ status: 'COMPLETED', callOrder: { revoxId: first.call.id } });

    // The second delivery repeats attempt 1 and adds attempt 2: one event, for attempt 2 only.
    const second = fixture('outbound-attempt-2-human-completed');
    await server.deliver(second);
    const next = (await subscription.next()).data.callCompleted;
    expect(next.attempt).toMatchObject({ revoxId: second.call_attempt.id, result: 'HUMAN' });
    expect(next.callOrder).toMatchObject({ isCompleted: true, callsCount: 2 });

    // A duplicate and a late older delivery fire nothing: the next event is the sentinel's.
    expect((await server.deliver(second)).body.duplicate).toBe(true);
    expect((await server.deliver(first)).body.duplicate).toBe(true);
    const stale = fixture('outbound-attempt-1-voicemail');
    stale.call.metadata = { reordered: 'yes' };
    expect((await server.deliver(stale)).body.duplicate).toBe(false);
    const sentinel = orderDelivery('call_sentinel_1', [{ id: 'sentinel_1' }], 0);
    await server.deliver(sentinel);
    expect((await subscription.next()).data.callCompleted.attempt.revoxId).toBe('sentinel_1');
    expect(subscription.results).toHaveLength(3);
  });

  it('fires for an attempt that arrives finished only inside call_attempts', async () => {
    const subscription = await subscribe({ filter: { callOrderRevoxId: 'call_listed_only' } });
    const d = orderDelivery('call_listed_only', [{ id: 'listed_a0' }, { id: 'listed_a1', result: 'human' }], 1);
    // Attempt 0 was never delivered on its own: it is new here, and finished.
    await server.deliver(d);
    const received = [(await subscription.next()).data, (await subscription.next()).data].map((e) => e.callCompleted.attempt.revoxId);
    expect(received.sort()).toEqual(['listed_a0', 'listed_a1']);
  });

  it('applies filters on the server: a subscriber receives only matching events', async () => {
    const byResult = await subscribe({ filter: { result: 'HUMAN' } });
    const byNumber = await subscribe({ filter: { phoneNumber: '+14155550199' } });
    const completedOnly = await subscribe({ filter: { orderCompleted: true, direction: 'INBOUND' } });
    const everything = await subscribe();

    const voicemail = orderDelivery('call_filter_1', [{ id: 'filter_vm', result: 'voicemail' }, { id: 'filter_x' }], 0, '+14155550199');
    const human = orderDelivery('call_filter_2', [{ id: 'filter_human', result: 'human' }], 0);
    const inbound: any = orderDelivery('call_filter_3', [{ id: 'filter_inbound', result: 'IVR' }], 0);
    inbound.call.direction = 'inbound';
    for (const d of [voicemail, human, inbound]) await server.deliver(d);

    const ids = async (subscription: { next(): Promise<any> }, count: number) => {
      const received = [];
      for (let i = 0; i < count; i++) received.push((await subscription.next()).data.callCompleted.attempt.revoxId);
      return received;
    };
    expect(await ids(everything, 3)).toEqual(['filter_vm', 'filter_human', 'filter_inbound']);
    expect(await ids(byResult, 1)).toEqual(['filter_human']);
    expect(await ids(byNumber, 1)).toEqual(['filter_vm']);
    expect(await ids(completedOnly, 1)).toEqual(['filter_inbound']);
    for (const subscription of [byResult, byNumber, completedOnly]) expect(subscription.results).toHaveLength(1);
  });

  it('survives a client that vanishes mid-stream', async () => {
    const healthy = await subscribe();
    const raw = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => raw.once('message', resolve));
    raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: EVENTS } }));
    await waitFor(() => server.events.subscriberCount() === 2);
    raw.terminate(); // no close frame, as when a laptop lid closes

    await server.deliver(orderDelivery('call_after_vanish', [{ id: 'vanish_a0' }], 0));
    expect((await healthy.next()).data.callCompleted.attempt.revoxId).toBe('vanish_a0');
    await waitFor(() => server.events.subscriberCount() === 1);
  });
});

describe('callCompleted over Server-Sent Events', () => {
  it('streams the same events to a plain HTTP client', async () => {
    const sse = await subscribeSse(server.url, EVENTS, { filter: { callOrderRevoxId: 'call_sse' } });
    cleanups.push(() => sse.close());
    expect(sse.status).toBe(200);
    expect(sse.response.headers.get('content-type')).toMatch(/text\/event-stream/);
    await waitFor(() => server.events.subscriberCount() === 1);
    await server.deliver(orderDelivery('call_sse', [{ id: 'sse_a0', result: 'human', turns: 3 }], 0));
    const event = (await sse.next()).data.callCompleted;
    expect(event.attempt).toMatchObject({ revoxId: 'sse_a0', result: 'HUMAN' });
    expect(event.attempt.transcript).toHaveLength(3);
  });
});

describe('with API tokens', () => {
  let secured: TestServer;
  beforeAll(async () => {
    secured = await startTestServer({ apiTokens: ['ws-token-1234567'] });
  });
  afterAll(() => secured?.dispose());

  it.each([
    ['no connectionParams', undefined],
    ['a wrong token', 'wrong'],
  ])('closes a WebSocket with %s with 4403', async (_case, token) => {
    let closed: { code: number } | undefined;
    const client = wsClient(secured.url, token, (event) => (closed = event));
    cleanups.push(() => client.dispose());
    await expect(subscribeWs(client, EVENTS)).rejects.toThrow('closed 4403');
    expect(closed?.code).toBe(4403);
  });

  it('accepts a WebSocket with the token in connectionParams', async () => {
    const client = wsClient(secured.url, 'ws-token-1234567');
    cleanups.push(() => client.dispose());
    const subscription = await subscribeWs(client, EVENTS);
    await waitFor(() => secured.events.subscriberCount() === 1);
    await secured.deliver(orderDelivery('call_secured', [{ id: 'secured_a0' }], 0));
    expect((await subscription.next()).data.callCompleted.attempt.revoxId).toBe('secured_a0');
  });

  it('refuses SSE without the Authorization header, and streams with it', async () => {
    const refused = await subscribeSse(secured.url, EVENTS);
    expect(refused.status).toBe(401);
    const sse = await subscribeSse(secured.url, EVENTS, undefined, 'ws-token-1234567');
    cleanups.push(() => sse.close());
    expect(sse.status).toBe(200);
    await waitFor(() => secured.events.subscriberCount() === 1);
    await secured.deliver(orderDelivery('call_secured_sse', [{ id: 'secured_sse_a0' }], 0));
    expect((await sse.next()).data.callCompleted.attempt.revoxId).toBe('secured_sse_a0');
  });
});

describe('limits and shutdown', () => {
  it('on stop, finishes the delivery in flight, sends its event, then closes WebSockets with 1001', async () => {
    const stopping = await startTestServer();
    let closed: { code: number } | undefined;
    const client = wsClient(stopping.url, undefined, (event) => (closed = event));
    const subscription = await subscribeWs(client, EVENTS);
    await waitFor(() => stopping.events.subscriberCount() === 1);

    // A delivery whose body is still arriving when the server is asked to stop.
    const body = Buffer.from(JSON.stringify(orderDelivery('call_stopping', [{ id: 'stopping_a0', turns: 100 }], 0)));
    const url = new URL(`${stopping.url}/webhooks/revox?token=${WEBHOOK_SECRET}`);
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } });
    const response = new Promise<number>((resolve, reject) => {
      request.on('response', (res) => resolve(res.statusCode!));
      request.on('error', reject);
    });
    request.write(body.subarray(0, 100));
    await waitFor(() => stopping.inFlightDeliveries() === 1);
    const stopped = stopping.dispose();
    request.end(body.subarray(100));

    expect(await response).toBe(200);
    await stopped;
    const events = subscription.results.filter((r) => r.data);
    expect(events.map((r) => r.data.callCompleted.attempt.revoxId)).toEqual(['stopping_a0']);
    expect(closed?.code).toBe(1001);
    client.dispose();
  });
});

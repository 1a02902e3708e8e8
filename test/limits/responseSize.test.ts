/** The cap on the size of one response and of one subscription event, measured and enforced by the real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_LIMITS } from '../../src/limits/index.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, wsClient, type Subscription } from '../../support/subscriptions.ts';

describe(`responses over ${OPERATION_LIMITS.maxResponseBytes} bytes`, () => {
  // Turns long enough for one attempt's transcript to pass the cap; the webhook is allowed a body that size.
  const TURNS = 100;
  const TURN_BYTES = Math.ceil((OPERATION_LIMITS.maxResponseBytes * 1.1) / TURNS);
  const big = orderDelivery('order_big', [{ id: 'attempt_big', turns: TURNS }], 0);
  for (const turn of big.call_attempt!.transcript) turn.content = `${turn.content} ${'x'.repeat(TURN_BYTES)}`;
  const small = orderDelivery('order_small', [{ id: 'attempt_small', turns: 2 }], 0);

  const EVENT = 'subscription { callCompleted { attempt { revoxId transcript { content } } } }';

  let server: TestServer;
  let client: ReturnType<typeof wsClient>;
  let ws: Subscription;
  let sse: Awaited<ReturnType<typeof subscribeSse>>;
  beforeAll(async () => {
    server = await startTestServer({ maxBodyBytes: 4 * OPERATION_LIMITS.maxResponseBytes });
    client = wsClient(server.url);
    ws = await subscribeWs(client, EVENT);
    sse = await subscribeSse(server.url, EVENT);
    expect((await server.deliver(big)).status).toBe(200);
    expect((await server.deliver(small)).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await ws?.close();
    await sse?.close();
    await client?.dispose();
    await server?.dispose();
  });

  function expectTooLarge(result: any) {
    expect(result.data).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].message).toMatch(
      /^Response too large: it is over the limit of 10,485,760 bytes per response, so it was not sent\. Ask for fewer items with first\/last/,
    );
    expect(result.errors[0].extensions.code).toBe('RESPONSE_TOO_LARGE');
  }

  it('a query gets an error instead of the data, while a smaller selection of the same records is served', async () => {
    const tooLarge = await server.graphql('{ callAttempt(revoxId: "attempt_big") { transcript { content } } }');
    expectTooLarge(tooLarge.body);
    const smaller = await server.graphql('{ callAttempt(revoxId: "attempt_big") { transcript { position } } }');
    expect(smaller.body.data.callAttempt.transcript).toHaveLength(TURNS);
  });

  it.each([
    ['graphql-ws', () => ws],
    ['SSE', () => sse],
  ])('over %s, the oversized event becomes an error and the next event still arrives', async (_transport, subscription) => {
    expectTooLarge(await subscription().next());
    expect(await subscription().next()).toEqual({
      data: {
        callCompleted: {
          attempt: { revoxId: 'attempt_small', transcript: small.call_attempt!.transcript.map(({ content }) => ({ content })) },
        },
      },
    });
  });
});

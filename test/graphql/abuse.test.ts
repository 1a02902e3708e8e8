/**
 * Operations written to make the server do too much get a clear error and no data, over every transport, while
 * /ready and other clients are served; the queries real frontends send still pass.
 */
import { getIntrospectionQuery, Kind, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_LIMITS } from '../../src/limits/index.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { fixture, graphql, startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, wsClient } from '../../support/subscriptions.ts';

/** Longer than the transcript the cost model assumes, as in the reported attack. */
const LONG_TURNS = 214;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  expect((await server.deliver(orderDelivery('order_long', [{ id: 'attempt_long', turns: LONG_TURNS }], 0))).status).toBe(200);
  expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
}, 60_000);
afterAll(() => server?.dispose());

type Refusal = { cost: number | 'any' } | { message: RegExp };
const TOO_EXPENSIVE: Refusal = { cost: 'any' };

const aliases = (count: number, selection: string) => Array.from({ length: count }, (_, i) => `a${i}: ${selection}`).join(' ');

const ABUSIVE: [string, string, Refusal][] = [
  [
    'a cyclic selection through orders and attempts',
    '{ callOrders { nodes { attempts { nodes { callOrder { attempts { nodes { callOrder { attempts { nodes { transcript { content } } } } } } } } } } } }',
    TOO_EXPENSIVE,
  ],
  [
    'nested connections of 100 x 100 x 100',
    '{ callOrders(first: 100) { nodes { attempts(first: 100) { nodes { callOrder { attempts(first: 100) { nodes { revoxId } } } } } } } }',
    { cost: 2 + 100 * (2 + 100 * (1 + 2 + 100)) },
  ],
  [
    'transcripts under nested connections',
    '{ callOrders(first: 100) { nodes { attempts(first: 100) { nodes { transcript { content } } } } } }',
    TOO_EXPENSIVE,
  ],
  [
    'more aliases than allowed',
    `{ ${aliases(OPERATION_LIMITS.maxAliases + 1, 'callStats { attempts }')} }`,
    { message: /Aliases limit of 20 exceeded/ },
  ],
  [
    'aliases within the limit, each expensive',
    `{ ${aliases(OPERATION_LIMITS.maxAliases, 'callAttempts(first: 100) { nodes { transcript { content role } } }')} }`,
    TOO_EXPENSIVE,
  ],
  [
    'aliases hidden in a fragment spread in several places',
    `fragment Many on CallOrder { ${aliases(11, 'revoxId')} } { callOrders { nodes { ...Many lastAttempt { callOrder { ...Many } } } } }`,
    { message: /Aliases limit of 20 exceeded/ },
  ],
  [
    'a fragment spread under many aliases',
    `fragment Turns on CallAttempt { transcript { position role content toolName toolArguments } } { ${aliases(5, 'callAttempts(first: 100) { nodes { ...Turns } }')} }`,
    TOO_EXPENSIVE,
  ],
  [
    'nested fragments',
    `fragment Turns on CallAttempt { transcript { content } }
     fragment Order on CallOrder { lastAttempt { ...Turns } attempts(first: 100) { nodes { ...Turns } } }
     fragment Orders on Query { callOrders(first: 100) { nodes { ...Order } } }
     { ...Orders }`,
    TOO_EXPENSIVE,
  ],
  [
    'a fragment cycle',
    'fragment A on CallOrder { lastAttempt { callOrder { ...B } } } fragment B on CallOrder { ...A } { callOrders { nodes { ...A } } }',
    { message: /Cannot spread fragment "A" within itself via "B"/ },
  ],
  [
    'the transcript back-edge of the original report',
    '{ callAttempt(revoxId: "attempt_long") { transcript { callAttempt { transcript { callAttempt { transcript { content } } } } } } }',
    { message: /^Cannot query field "callAttempt" on type "TranscriptMessage"\.$/ },
  ],
  [
    `nesting deeper than ${OPERATION_LIMITS.maxDepth}`,
    `{ callOrder(revoxId: "x") { ${'lastAttempt { callOrder { '.repeat(6)}revoxId${' } }'.repeat(6)} } }`,
    { message: /Query depth limit of 12 exceeded/ },
  ],
  [
    'a huge first',
    '{ callOrders(first: 2147483647) { nodes { revoxId } } }',
    { message: /^first must be between 0 and 100, got 2147483647$/ },
  ],
  [
    'a first above the page size limit, with no nodes',
    '{ callOrders(first: 1000) { totalCount } }',
    { message: /^first must be between 0 and 100, got 1000$/ },
  ],
  [
    'a negative last on a nested connection',
    '{ callOrders(first: 1) { nodes { attempts(last: -1) { totalCount } } } }',
    { message: /^last must be between 0 and 100, got -1$/ },
  ],
  [
    'a transcript search of 400 KB made of escaped wildcards',
    `{ callAttempts(filter: { transcriptContains: "${'%_'.repeat(200_000)}" }) { totalCount } }`,
    { message: /^filter\.transcriptContains may hold at most 200 characters, got 400000$/ },
  ],
  [
    'aliased hourly series, each a statement over every attempt',
    `{ callStats { ${aliases(OPERATION_LIMITS.maxAliases, 'series(bucket: HOUR, timeZone: "Europe/Paris") { start }')} } }`,
    TOO_EXPENSIVE,
  ],
  [
    'aliased transcript searches of escaped wildcards, which the trigram index cannot narrow',
    `{ ${aliases(OPERATION_LIMITS.maxAliases, 'callAttempts(first: 1, filter: { transcriptContains: "%_%_%_" }) { totalCount }')} }`,
    TOO_EXPENSIVE,
  ],
  ['aliased statistics', `{ ${aliases(OPERATION_LIMITS.maxAliases, 'callStats { attempts }')} }`, TOO_EXPENSIVE],
  [
    'a very long document',
    `{ callStats { ${'attempts '.repeat(OPERATION_LIMITS.maxTokens)} } }`,
    { message: /Token limit of 3000 exceeded/ },
  ],
];

function expectRefused(body: any, refusal: Refusal) {
  expect(body.data ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors;
  if ('message' in refusal) {
    expect(error.message).toMatch(refusal.message);
    return;
  }
  expect(error.extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE', maxCost: OPERATION_LIMITS.maxCost });
  expect(error.extensions.cost).toBeGreaterThan(OPERATION_LIMITS.maxCost);
  if (refusal.cost !== 'any') expect(error.extensions.cost).toBe(refusal.cost);
  const cost = (error.extensions.cost as number).toLocaleString('en-US');
  expect(error.message).toBe(
    `Operation too expensive: it may return ${cost} values, over the maximum of 250,000. A list counts once per item it may hold ` +
      '(a connection holds first/last items, 20 when neither is given), and statistics and node lookups count for the database work ' +
      'they cause. Ask for fewer items with first/last, fewer fields inside lists, fewer nested connections, or fewer statistics.',
  );
}

describe('abusive operations', () => {
  it.each(ABUSIVE)('%s: a clear error and no data', async (_name, query, refusal) => {
    const { body } = await server.graphql(query);
    expectRefused(body, refusal);
  });

  it('are refused while /ready answers and another client is served', async () => {
    const NORMAL = '{ callOrders(first: 10) { totalCount nodes { revoxId lastAttempt { transcript { content } } } } }';
    let abuseDone = false;
    const abuse = Promise.all(ABUSIVE.map(([, query]) => server.graphql(query))).finally(() => (abuseDone = true));
    const readyStatuses: number[] = [];
    const otherClient: any[] = [];
    do {
      const [ready, normal] = await Promise.all([fetch(`${server.url}/ready`), graphql(server.url, NORMAL)]);
      readyStatuses.push(ready.status);
      otherClient.push(normal.body);
    } while (!abuseDone);

    (await abuse).forEach(({ body }, i) => {
      expectRefused(body, ABUSIVE[i]![2]);
    });
    expect(readyStatuses.every((status) => status === 200)).toBe(true);
    for (const body of otherClient) {
      expect(body.errors).toBeUndefined();
      expect(body.data.callOrders.totalCount).toBe(2);
    }
  });

  it('one document sent with different variables is judged by the variables of each request, again and again', async () => {
    const PAGE =
      'query Page($first: Int, $inner: Int) { callOrders(first: $first) { nodes { revoxId attempts(first: $inner) { nodes { transcript { content } } } } } }';
    for (let round = 0; round < 3; round++) {
      const cheap = await server.graphql(PAGE, { first: 10, inner: 10 });
      expect(cheap.body.errors).toBeUndefined();
      expect(cheap.body.data.callOrders.nodes).toHaveLength(2);
      const expensive = await server.graphql(PAGE, { first: 100, inner: 100 });
      expect(expensive.body.errors?.[0]?.extensions?.code).toBe('OPERATION_TOO_EXPENSIVE');
      const outOfRange = await server.graphql(PAGE, { first: 100_000, inner: 1 });
      expect(outOfRange.body.errors?.[0]?.message).toMatch(/first must be between 0 and/);
      expect(outOfRange.body.data).toBeUndefined();
    }
  });

  it('a batch of operations (a JSON array) is refused with a 400', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ callStats { attempts } }' }, { query: '{ callStats { attempts } }' }]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: 'Batching is not supported.', extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('the same cost limit applies to GET requests', async () => {
    const [, query, refusal] = ABUSIVE[1]!;
    const response = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(response.status).toBe(400);
    expectRefused(await response.json(), refusal);
  });

  describe('a subscription too expensive', () => {
    const EXPENSIVE =
      'subscription { callCompleted { attempt { callOrder { attempts(first: 100) { nodes { callOrder { attempts(first: 100) { nodes { transcript { content } } } } } } } } } }';

    it('is refused over graphql-ws', async () => {
      const client = wsClient(server.url);
      try {
        const subscription = await subscribeWs(client, EXPENSIVE);
        expectRefused(await subscription.next(), TOO_EXPENSIVE);
      } finally {
        await client.dispose();
      }
    });

    it('is refused over SSE', async () => {
      const subscription = await subscribeSse(server.url, EXPENSIVE);
      try {
        expectRefused(await subscription.next(), TOO_EXPENSIVE);
      } finally {
        await subscription.close();
      }
    });
  });
});

describe('the queries real frontends send pass', () => {
  const TURN = 'id position role roleRaw content toolName toolArguments toolIsError';
  const ATTEMPT = `id revoxId phoneNumber status statusRaw result resultRaw dialError dialErrorRaw endedBy endedByRaw endReason recordingUrl
    startedAt answeredAt endedAt durationSeconds handledByAi handledByHuman structuredOutput`;
  const ORDER = `id revoxId fromPhoneNumber toPhoneNumber direction directionRaw isCompleted isCancelled callsCount nextCallAt scheduledAt
    createdAt status statusRaw outcome outcomeRaw metadata
    retryConfig { callingWindows { start end retryDelaySeconds } maxRetryAttempts timezone allowedDays callTwiceInARow raw }
    llmModel { __typename ... on DedicatedInstanceLlm { name type } ... on CustomLlm { apiUrl modelName type } }`;

  async function passes(query: string) {
    const { status, body } = await server.graphql(query);
    expect(body.errors).toBeUndefined();
    expect(status).toBe(200);
    return body.data;
  }

  it('a page of 100 orders with every field of their last attempt and its full transcript', async () => {
    const data = await passes(`{ callOrders(first: 100) { totalCount pageInfo { hasNextPage endCursor }
      nodes { ${ORDER} lastAttempt { ${ATTEMPT} transcript { ${TURN} } } } } }`);
    const long = data.callOrders.nodes.find((order: any) => order.revoxId === 'order_long');
    expect(long.lastAttempt.transcript).toHaveLength(LONG_TURNS);
  });

  it('100 attempts with their transcripts and orders', async () => {
    const data = await passes(
      `{ callAttempts(first: 100) { totalCount nodes { ${ATTEMPT} transcript { ${TURN} } callOrder { ${ORDER} } } } }`,
    );
    expect(data.callAttempts.nodes.find((attempt: any) => attempt.revoxId === 'attempt_long').transcript).toHaveLength(LONG_TURNS);
  });

  it('callStats with its breakdowns', async () => {
    const data = await passes(`{ callStats { attempts callOrders completedCallOrders answerRate averageDurationSeconds
      p50DurationSeconds p90DurationSeconds byResult { result resultRaw count } byStatus { status statusRaw count } } }`);
    expect(data.callStats.attempts).toBe(3);
  });

  it("GraphiQL's example query and its introspection", async () => {
    const page = await (await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    const example = JSON.parse(page.match(/"defaultQuery":("(?:[^"\\]|\\.)*")/)![1]!) as string;
    const operations = parse(example).definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    expect(operations.map((operation) => `${operation.operation} ${operation.name?.value}`)).toEqual([
      'query LatestHumanAnswers',
      'query Transcripts',
      'subscription Dashboard',
    ]);
    // Each query runs on its own, as GraphiQL's run button sends it.
    for (const operation of operations.filter(({ operation }) => operation === 'query')) {
      expect((await passes(print(operation))).callAttempts.totalCount).toEqual(expect.any(Number));
    }
    const introspection = await passes(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }));
    expect(introspection.__schema.queryType.name).toBe('Query');
  });

  // Last: its delivery adds an order the counts above do not expect.
  it('the callCompleted subscription with the order and the attempt with its transcript, over graphql-ws and SSE', async () => {
    const query = `subscription { callCompleted { callOrder { ${ORDER} } attempt { ${ATTEMPT} transcript { ${TURN} } } } }`;
    const client = wsClient(server.url);
    const ws = await subscribeWs(client, query);
    const sse = await subscribeSse(server.url, query);
    try {
      expect((await server.deliver(orderDelivery('order_live', [{ id: 'attempt_live', turns: LONG_TURNS }], 0))).status).toBe(200);
      for (const event of [await ws.next(), await sse.next()]) {
        expect(event.errors).toBeUndefined();
        expect(event.data.callCompleted.callOrder.revoxId).toBe('order_live');
        expect(event.data.callCompleted.attempt.transcript).toHaveLength(LONG_TURNS);
      }
    } finally {
      await ws.close();
      await sse.close();
      await client.dispose();
    }
  });
});

/**
 * The one-statement reads (src/read/onePage.ts) against the Prisma path: two servers on the same data, stored
 * through the real webhook, one of them built without one-statement reads; every filter, both orders and both paging
 * directions give the same GraphQL response from both, byte for byte. Ties (equal creation, start and end times) and
 * nulls (no result, no end, no start) are in the data on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOnTcp, type TcpDatabase } from '../../support/database.ts';
import { attempt, deliveryMaker } from '../../support/deliveries.ts';
import { secretsScrubbed, startTestServer, type TestServer } from '../../support/server.ts';

let database: TcpDatabase;
/** Reads pages in one statement where it can. */
let server: TestServer;
/** On the same database, reads every page the Prisma way. */
let prismaServer: TestServer;
/** The statements of both servers: they are asked one after the other. */
const statements: string[] = [];
const BASE = Date.parse('2026-11-20T09:00:00Z');
const ORDERS = 30;
const RESULTS = ['human', 'voicemail', null, 'fax-machine', 'IVR'];
const STATUSES = ['completed', 'error', 'ongoing', 'transferred', 'completed'];
const DIRECTIONS = ['outbound', 'inbound', 'sideways'];
const PHONE_NUMBERS = ['+33612345678', '+14155550123'];
// Text to search: case, and the characters LIKE would read as wildcards or escapes.
const TEXTS = ['Hello there', 'about 50% off', 'code a_b', 'HELLO again', 'back\\slash', 'nothing to see'];

/** Order i: 1-3 attempts; creation times shared by three orders, end times by many attempts; some nulls. */
function delivery(make: ReturnType<typeof deliveryMaker>, i: number) {
  return make((d) => {
    const phoneNumber = PHONE_NUMBERS[i % 2]!;
    const attempts = Array.from({ length: 1 + (i % 3) }, (_, a) => {
      const status = STATUSES[(i + a) % STATUSES.length]!;
      const made = attempt(
        {
          id: `${d.call.id}_a${a}`,
          status,
          result: RESULTS[(i * 2 + a) % RESULTS.length],
          turns: 1 + ((i + a) % 3),
          endedAt: status === 'ongoing' ? null : new Date(BASE + ((i + a) % 4) * 60_000).toISOString(),
        },
        a,
        phoneNumber,
      );
      // Every seventh order's last attempt has not started; others start at the same time in pairs of orders.
      const startedAt = i % 7 === 0 && a === i % 3 ? null : new Date(BASE + Math.floor(i / 2) * 1_000 + a * 3_600_000).toISOString();
      const transcript = made.transcript.map((turn, t) => ({ ...turn, content: `${TEXTS[(i + a + t) % TEXTS.length]} (${d.call.id})` }));
      return { ...made, started_at: startedAt, transcript };
    }).reverse();
    Object.assign(d.call, {
      direction: DIRECTIONS[i % DIRECTIONS.length],
      is_completed: i % 2 === 0,
      to_phone_number: phoneNumber,
      created_at: new Date(BASE - Math.floor(i / 3) * 60_000).toISOString(),
      status: i % 5 === 0 ? null : d.call.status,
      calls_count: attempts.length,
      call_attempts: attempts,
      last_call_attempt: attempts[0],
    });
    d.call_attempt = attempts[0];
  });
}

// A token from API_TOKENS needs no database to check, so only the statements of the reads are counted.
const TOKEN = 'one-page-token-0123456789';
beforeAll(async () => {
  database = await databaseOnTcp();
  const shared = { dataDir: database.dataDir, databaseUrl: database.url(database.port), dispose: async () => {} };
  const config = { apiTokens: [TOKEN], databaseUrl: shared.databaseUrl };
  const onQuery = (sql: string) => statements.push(sql);
  server = await startTestServer(config, shared, { onQuery });
  prismaServer = await startTestServer(config, shared, { onQuery, oneStatementReads: false });
  await Promise.all([secretsScrubbed(server), secretsScrubbed(prismaServer)]);
  const make = deliveryMaker('one_page');
  for (let i = 0; i < ORDERS; i++) {
    const { status, body } = await server.deliver(delivery(make, i));
    expect(status, JSON.stringify(body)).toBe(200);
  }
}, 180_000);
afterAll(async () => {
  await server?.dispose();
  await prismaServer?.dispose();
  await database?.dispose();
});

const ATTEMPT_FIELDS = `id revoxId phoneNumber status statusRaw result resultRaw dialError dialErrorRaw endedBy endedByRaw endReason
  recordingUrl startedAt answeredAt endedAt durationSeconds handledByAi handledByHuman structuredOutput __typename
  transcript { id position role roleRaw content toolName toolArguments toolIsError }`;
const ORDER_FIELDS = `id revoxId fromPhoneNumber toPhoneNumber direction directionRaw isCompleted isCancelled callsCount nextCallAt
  scheduledAt createdAt status statusRaw outcome outcomeRaw metadata
  retryConfig { callingWindows { start end retryDelaySeconds } maxRetryAttempts timezone raw } llmModel { __typename }`;
const PAGE_ARGUMENTS = 'first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy';
const PAGE_FIELDS = 'totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

const ORDERS_QUERY = `query($first: Int, $last: Int, $after: String, $before: String, $filter: CallOrderFilter, $orderBy: CallOrderOrderBy) {
  callOrders(${PAGE_ARGUMENTS}) { ${PAGE_FIELDS}
    edges { cursor node { ${ORDER_FIELDS} lastAttempt { ${ATTEMPT_FIELDS} } } } } }`;
const ATTEMPTS_QUERY = `query($first: Int, $last: Int, $after: String, $before: String, $filter: CallAttemptFilter, $orderBy: CallAttemptOrderBy) {
  callAttempts(${PAGE_ARGUMENTS}) { ${PAGE_FIELDS}
    nodes { ${ATTEMPT_FIELDS} callOrder { ${ORDER_FIELDS} lastAttempt { revoxId startedAt } } } } }`;

/** The responses of both servers, which must be equal; the server built without one-statement reads used none. */
async function compared(query: string, variables: Record<string, unknown>) {
  statements.length = 0;
  const fast = await server.graphql(query, variables, TOKEN);
  const fastStatements = statements.splice(0);
  const prisma = await prismaServer.graphql(query, variables, TOKEN);
  const prismaStatements = statements.splice(0);
  expect(fast.body.errors, JSON.stringify(fast.body.errors)).toBeUndefined();
  expect(prismaStatements.filter(isOneStatementRead)).toEqual([]);
  expect(fast.body).toEqual(prisma.body);
  return { data: fast.body.data, fastStatements, prismaStatements };
}

const isOneStatementRead = (sql: string) => sql.includes('json_build_object');

/** Walks every page forwards (first/after) and backwards (last/before); returns the nodes met each way. */
async function walk(query: string, field: string, variables: Record<string, unknown>) {
  const nodesOf = (connection: any) => connection.edges?.map((edge: any) => edge.node) ?? connection.nodes;
  const forwards: any[] = [];
  let after: string | null = null;
  for (;;) {
    const { data, fastStatements } = await compared(query, { ...variables, first: 4, after });
    expect(fastStatements.filter(isOneStatementRead)).toHaveLength(1);
    const connection = data[field];
    forwards.push(...nodesOf(connection));
    if (!connection.pageInfo.hasNextPage) {
      expect(forwards).toHaveLength(connection.totalCount);
      break;
    }
    after = connection.pageInfo.endCursor;
  }
  const backwards: any[] = [];
  let before: string | null = null;
  for (;;) {
    const { data } = await compared(query, { ...variables, last: 4, before });
    const connection = data[field];
    backwards.unshift(...nodesOf(connection));
    if (!connection.pageInfo.hasPreviousPage) break;
    before = connection.pageInfo.startCursor;
  }
  expect(backwards).toEqual(forwards);
  return forwards;
}

describe('callOrders, one statement against Prisma', () => {
  const filters: Record<string, unknown>[] = [
    {},
    { direction: ['OUTBOUND'] },
    { direction: ['INBOUND', 'OTHER'] },
    { isCompleted: true },
    { isCompleted: false, phoneNumber: '+14155550123' },
    { createdAfter: new Date(BASE - 4 * 60_000).toISOString(), createdBefore: new Date(BASE - 60_000).toISOString() },
  ];
  for (const orderBy of ['CREATED_AT_DESC', 'CREATED_AT_ASC']) {
    for (const filter of filters) {
      it(`${orderBy}, filter ${JSON.stringify(filter)}`, async () => {
        const nodes = await walk(ORDERS_QUERY, 'callOrders', { filter, orderBy });
        expect(nodes.length).toBeGreaterThan(0);
      });
    }
  }

  it('holds the ties and nulls the comparison is about', async () => {
    const nodes = await walk(ORDERS_QUERY, 'callOrders', { filter: {}, orderBy: 'CREATED_AT_DESC' });
    expect(nodes).toHaveLength(ORDERS);
    expect(new Set(nodes.map((node) => node.createdAt)).size).toBeLessThan(ORDERS);
    expect(nodes.some((node) => node.status === null)).toBe(true);
    expect(nodes.some((node) => node.lastAttempt.startedAt === null)).toBe(true);
    expect(nodes.some((node) => node.lastAttempt.endedAt === null && node.lastAttempt.result === null)).toBe(true);
  });
});

describe('callAttempts, one statement against Prisma', () => {
  const filters: Record<string, unknown>[] = [
    {},
    { status: ['COMPLETED', 'OTHER'] },
    { result: ['HUMAN'] },
    { result: ['VOICEMAIL', 'OTHER'] },
    { phoneNumber: '+33612345678' },
    { endedAfter: new Date(BASE + 60_000).toISOString(), endedBefore: new Date(BASE + 3 * 60_000).toISOString() },
    { transcriptContains: 'hello' },
    { transcriptContains: '50%' },
    { transcriptContains: 'a_b' },
    { transcriptContains: 'back\\slash' },
    { transcriptContains: 'Hello', result: ['HUMAN'] },
  ];
  for (const orderBy of ['ENDED_AT_DESC', 'ENDED_AT_ASC', 'STARTED_AT_DESC', 'STARTED_AT_ASC']) {
    for (const filter of filters) {
      it(`${orderBy}, filter ${JSON.stringify(filter)}`, async () => {
        const nodes = await walk(ATTEMPTS_QUERY, 'callAttempts', { filter, orderBy });
        expect(nodes.length).toBeGreaterThan(0);
      });
    }
  }

  it('matches % and _ literally', async () => {
    const percent = await walk(ATTEMPTS_QUERY, 'callAttempts', { filter: { transcriptContains: '0%' } });
    const underscore = await walk(ATTEMPTS_QUERY, 'callAttempts', { filter: { transcriptContains: 'a_' } });
    const contents = (nodes: any[]) => nodes.flatMap((node) => node.transcript.map((turn: any) => turn.content));
    expect(percent.length).toBeGreaterThan(0);
    expect(percent.every((node) => node.transcript.some((turn: any) => turn.content.includes('0%')))).toBe(true);
    expect(underscore.every((node) => node.transcript.some((turn: any) => turn.content.includes('a_')))).toBe(true);
    expect(contents(underscore).length).toBeGreaterThan(0);
  });
});

describe('selections one statement does not cover', () => {
  it('are read the Prisma way, with the same answer', async () => {
    const query = `{ callOrders(first: 5) { nodes { revoxId lastAttempt { revoxId } attempts(first: 2) { nodes { revoxId } } } } }`;
    const { fastStatements, prismaStatements } = await compared(query, {});
    expect(fastStatements.some(isOneStatementRead)).toBe(false);
    expect(fastStatements).toEqual(prismaStatements);
  });

  it('include fragments and aliases, which it does cover', async () => {
    const query = `fragment Attempt on CallAttempt { revoxId when: endedAt transcript { ...Turn } }
      fragment Turn on TranscriptMessage { content }
      { callOrders(last: 3) { nodes { ... on CallOrder { revoxId latest: lastAttempt { ...Attempt } } } } }`;
    const { fastStatements } = await compared(query, {});
    expect(fastStatements).toHaveLength(1);
    expect(isOneStatementRead(fastStatements[0]!)).toBe(true);
  });
});

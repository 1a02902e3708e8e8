/** The read API against the real server: pagination, filters, ordering, nodes, enums and stats. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, PHONE_NUMBERS, seedOrders } from '../helpers/seed.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
const ORDERS = 300;
beforeAll(async () => {
  server = await startTestServer();
  await seedOrders(server.database.prisma, ORDERS);
}, 120_000);
afterAll(() => server?.dispose());

async function query(text: string, variables?: Record<string, unknown>) {
  const { status, body } = await server.graphql(text, variables);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  expect(status).toBe(200);
  return body.data;
}

const ORDER_PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: CallOrderFilter, $orderBy: CallOrderOrderBy) {
  callOrders(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { revoxId createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

const ATTEMPT_PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: CallAttemptFilter, $orderBy: CallAttemptOrderBy) {
  callAttempts(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { revoxId endedAt startedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

/** Walks a connection to its end with `first`/`after`, then back to its start with `last`/`before`. */
async function walk(field: 'callOrders' | 'callAttempts', variables: Record<string, unknown>, pageSize = 37) {
  const text = field === 'callOrders' ? ORDER_PAGE : ATTEMPT_PAGE;
  const forward: any[] = [];
  let after: string | null = null;
  let totalCount = 0;
  for (;;) {
    const page: any = (await query(text, { ...variables, first: pageSize, after }))[field];
    totalCount = page.totalCount;
    forward.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  const backward: any[] = [];
  let before: string | null = null;
  for (;;) {
    const page: any = (await query(text, { ...variables, last: pageSize, before }))[field];
    backward.unshift(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasPreviousPage) break;
    before = page.pageInfo.startCursor;
  }
  return { forward, backward, totalCount };
}

const ids = (nodes: { revoxId: string }[]) => nodes.map((n) => n.revoxId);

describe('callOrders pagination', () => {
  it.each(['CREATED_AT_DESC', 'CREATED_AT_ASC'])('walks %s forward and backward: every order once, in order', async (orderBy) => {
    const { forward, backward, totalCount } = await walk('callOrders', { orderBy });
    expect(totalCount).toBe(ORDERS);
    expect(forward).toHaveLength(ORDERS);
    expect(new Set(ids(forward)).size).toBe(ORDERS);
    expect(ids(backward)).toEqual(ids(forward));
    const times = forward.map((n) => Date.parse(n.createdAt));
    const sorted = [...times].sort((a, b) => (orderBy === 'CREATED_AT_DESC' ? b - a : a - b));
    expect(times).toEqual(sorted);
  });

  it('a page taken after new orders arrive continues where the previous one ended', async () => {
    const first = (await query(ORDER_PAGE, { first: 10 })).callOrders;
    const all = (await query(ORDER_PAGE, { first: 30 })).callOrders.edges.map((e: any) => e.node.revoxId);
    // Newer orders arrive, before the client asks for the next page.
    const delivery = fixture('outbound-attempt-1-voicemail');
    delivery.call.created_at = new Date().toISOString();
    expect((await server.deliver(delivery)).status).toBe(200);
    const next = (await query(ORDER_PAGE, { first: 20, after: first.pageInfo.endCursor })).callOrders;
    expect(ids(next.edges.map((e: any) => e.node))).toEqual(all.slice(10, 30));
    await server.database.prisma.callOrder.delete({ where: { revoxId: delivery.call.id } });
  });

  it('has a default page size and refuses one over the maximum', async () => {
    expect((await query(ORDER_PAGE, {})).callOrders.edges).toHaveLength(20);
    expect((await query(ORDER_PAGE, { first: 100 })).callOrders.edges).toHaveLength(100);
    const { body } = await server.graphql(ORDER_PAGE, { first: 101 });
    expect(body.errors[0].message).toBe('first must be between 0 and 100, got 101');
    // Refused before execution: no data at all.
    expect(body.data).toBeUndefined();
  });
});

describe('callOrders filters', () => {
  async function matching(filter: Record<string, unknown>) {
    const { forward, totalCount } = await walk('callOrders', { filter }, 100);
    expect(forward).toHaveLength(totalCount);
    return new Set(ids(forward));
  }
  async function expected(where: object) {
    const rows = await server.database.prisma.callOrder.findMany({
      where: { revoxId: { startsWith: 'seed_' }, ...where },
      select: { revoxId: true },
    });
    expect(rows.length).toBeGreaterThan(0);
    return new Set(rows.map((r) => r.revoxId));
  }

  it.each([
    [{ direction: 'INBOUND' }, { direction: 'inbound' }],
    [{ direction: ['OUTBOUND'] }, { direction: 'outbound' }],
    [{ direction: 'OTHER' }, { direction: 'sideways' }],
    [{ isCompleted: true }, { isCompleted: true }],
    [{ isCompleted: false }, { isCompleted: false }],
    [{ phoneNumber: PHONE_NUMBERS[1] }, { OR: [{ toPhoneNumber: PHONE_NUMBERS[1] }, { fromPhoneNumber: PHONE_NUMBERS[1] }] }],
    [{ phoneNumber: '+33100000000' }, { fromPhoneNumber: '+33100000000' }],
    [
      { createdAfter: new Date(BASE + 100 * 60_000).toISOString(), createdBefore: new Date(BASE + 150 * 60_000).toISOString() },
      { createdAt: { gte: new Date(BASE + 100 * 60_000), lt: new Date(BASE + 150 * 60_000) } },
    ],
    [
      { direction: 'OUTBOUND', isCompleted: true, phoneNumber: PHONE_NUMBERS[0] },
      { direction: 'outbound', isCompleted: true, toPhoneNumber: PHONE_NUMBERS[0] },
    ],
  ])('%o', async (filter, where) => {
    expect(await matching(filter)).toEqual(await expected(where));
  });

  it('time ranges are half-open', async () => {
    // Orders 121 and 122 were both created at minute 121 (a tie), order 120 at minute 120.
    const minute = (n: number) => new Date(BASE + n * 60_000).toISOString();
    expect(await matching({ createdAfter: minute(121), createdBefore: minute(122) })).toEqual(new Set(['seed_1_121', 'seed_1_122']));
    expect(await matching({ createdAfter: minute(120), createdBefore: minute(121) })).toEqual(new Set(['seed_1_120']));
  });
});

describe('callAttempts', () => {
  it.each(['ENDED_AT_DESC', 'ENDED_AT_ASC', 'STARTED_AT_DESC'])(
    'walks %s forward and backward; attempts not ended count as the latest',
    async (orderBy) => {
      const total = await server.database.prisma.callAttempt.count();
      const { forward, backward, totalCount } = await walk('callAttempts', { orderBy }, 45);
      expect(totalCount).toBe(total);
      expect(new Set(ids(forward)).size).toBe(total);
      expect(ids(backward)).toEqual(ids(forward));
      const key = orderBy.startsWith('ENDED') ? 'endedAt' : 'startedAt';
      const descending = orderBy.endsWith('DESC');
      // Missing times sort as later than any time: first when descending, last when ascending.
      const times = forward.map((n) => (n[key] === null ? Number.POSITIVE_INFINITY : Date.parse(n[key])));
      expect(times).toEqual([...times].sort((a, b) => (descending ? b - a : a - b)));
      if (key === 'endedAt') expect(times.filter((t) => t === Number.POSITIVE_INFINITY).length).toBeGreaterThan(0);
    },
  );

  async function matching(filter: Record<string, unknown>) {
    const { forward, totalCount } = await walk('callAttempts', { filter }, 100);
    expect(forward).toHaveLength(totalCount);
    return new Set(ids(forward));
  }
  async function expected(where: object) {
    const rows = await server.database.prisma.callAttempt.findMany({ where, select: { revoxId: true } });
    expect(rows.length).toBeGreaterThan(0);
    return new Set(rows.map((r) => r.revoxId));
  }
  const ended = { gte: new Date(BASE + 60 * 60_000), lt: new Date(BASE + 240 * 60_000) };

  it.each([
    [{ status: 'COMPLETED' }, { status: 'completed' }],
    [{ status: ['COMPLETED', 'ERROR'] }, { status: { in: ['completed', 'error'] } }],
    [{ status: 'OTHER' }, { status: 'transferred' }],
    [{ result: 'HUMAN' }, { result: 'human' }],
    [{ result: 'IOS_SCREENING_FILTER' }, { result: 'ios-screening-filter' }],
    [{ result: 'OTHER' }, { result: 'fax-machine' }],
    [{ result: ['IVR', 'OTHER'] }, { result: { in: ['IVR', 'fax-machine'] } }],
    [{ phoneNumber: PHONE_NUMBERS[2] }, { phoneNumber: PHONE_NUMBERS[2] }],
    [{ endedAfter: ended.gte.toISOString(), endedBefore: ended.lt.toISOString() }, { endedAt: ended }],
    [{ transcriptContains: 'rendez-VOUS' }, { transcript: { some: { content: { contains: 'Rendez-vous' } } } }],
    [{ transcriptContains: 'öffnungszeiten' }, { transcript: { some: { content: { contains: 'Öffnungszeiten' } } } }],
    [
      { transcriptContains: 'delivery', result: 'HUMAN' },
      { result: 'human', transcript: { some: { content: { contains: 'DELIVERY' } } } },
    ],
  ])('%o', async (filter, where) => {
    expect(await matching(filter)).toEqual(await expected(where));
  });

  it('transcriptContains treats % and _ as text, not wildcards', async () => {
    const { body } = await server.graphql(
      `{ callAttempts(filter: {transcriptContains: "turn_0"}) { totalCount } callStats(filter: {transcriptContains: "%"}) { attempts } }`,
    );
    expect(body.data).toEqual({ callAttempts: { totalCount: 0 }, callStats: { attempts: 0 } });
  });
});

describe('records', () => {
  it('serves a delivery in full, with enums, raw values, derived duration and the retry config in one shape', async () => {
    const delivery = fixture('outbound-attempt-2-human-completed');
    await server.deliver(delivery);
    const { callOrder } = await query(`{
      callOrder(revoxId: "${delivery.call.id}") {
        revoxId direction directionRaw isCompleted isCancelled callsCount status outcome metadata createdAt nextCallAt
        retryConfig { callingWindows { start end retryDelaySeconds } maxRetryAttempts timezone allowedDays callTwiceInARow }
        llmModel { __typename ... on DedicatedInstanceLlm { type name } }
        lastAttempt { revoxId }
        attempts(first: 10) { totalCount nodes { revoxId status result resultRaw endedBy endReason durationSeconds answeredAt
          transcript { position role content toolName toolArguments toolIsError } callOrder { revoxId } } }
      }
    }`);
    expect(callOrder).toMatchObject({
      revoxId: delivery.call.id,
      direction: 'OUTBOUND',
      directionRaw: 'outbound',
      isCompleted: true,
      isCancelled: false,
      callsCount: 2,
      status: 'COMPLETED',
      outcome: 'COMPLETED',
      metadata: delivery.call.metadata,
      createdAt: '2026-11-20T08:59:58.000Z',
      nextCallAt: null,
      retryConfig: {
        callingWindows: delivery.call.call_retry_config.calling_windows.map((w: any) => ({
          start: w.start,
          end: w.end,
          retryDelaySeconds: w.retry_delay_seconds,
        })),
        maxRetryAttempts: delivery.call.call_retry_config.max_retry_attempts,
        timezone: delivery.call.call_retry_config.timezone,
        allowedDays: delivery.call.call_retry_config.allowed_days,
      },
      llmModel: { __typename: 'DedicatedInstanceLlm', type: 'dedicated-instance', name: delivery.call.llm_model.name },
      lastAttempt: { revoxId: delivery.call_attempt.id },
    });
    const [latest, first] = callOrder.attempts.nodes;
    expect(callOrder.attempts.totalCount).toBe(2);
    expect(latest).toMatchObject({
      revoxId: delivery.call_attempt.id,
      status: 'COMPLETED',
      result: 'HUMAN',
      resultRaw: 'human',
      endedBy: 'AGENT',
      endReason: 'tool_end_call',
      durationSeconds: 198,
      callOrder: { revoxId: delivery.call.id },
    });
    expect(first.result).toBe('VOICEMAIL');
    expect(latest.transcript[2]).toEqual({
      position: 2,
      role: 'TOOL',
      content: delivery.call_attempt.transcript[2].content,
      toolName: 'find_slots',
      toolArguments: { day: '2026-11-27', part: 'morning' },
      toolIsError: false,
    });
  });

  it('reads the flat retry config with defaults, and a custom llm_model without any api_key', async () => {
    const delivery = fixture('inbound-custom-llm-with-api-key');
    await server.deliver(delivery);
    const { callOrder } = await query(`{ callOrder(revoxId: "${delivery.call.id}") {
      retryConfig { callingWindows { start end retryDelaySeconds } maxRetryAttempts timezone allowedDays }
      llmModel { __typename ... on CustomLlm { type apiUrl modelName raw } }
    } }`);
    expect(callOrder.retryConfig).toEqual({
      callingWindows: [{ start: '10:00', end: '18:00', retryDelaySeconds: 7200 }],
      maxRetryAttempts: 3,
      timezone: 'America/Los_Angeles',
      allowedDays: null,
    });
    expect(callOrder.llmModel).toEqual({
      __typename: 'CustomLlm',
      type: 'custom',
      apiUrl: 'https://llm.internal.example.com/v1',
      modelName: 'support-agent-v3',
      raw: { type: 'custom', api_url: 'https://llm.internal.example.com/v1', model_name: 'support-agent-v3' },
    });
    const { body } = await server.graphql(`{ callOrder(revoxId: "${delivery.call.id}") { llmModel { ... on CustomLlm { apiKey } } } }`);
    expect(body.errors[0].message).toMatch(/Cannot query field "apiKey"/);
  });

  it('shows values this code does not know as OTHER with the raw value, without failing', async () => {
    const { callAttempts } = await query(
      `{ callAttempts(first: 100, filter: {status: OTHER, result: OTHER}) { nodes { status statusRaw result resultRaw } } }`,
    );
    expect(callAttempts.nodes.length).toBeGreaterThan(0);
    for (const node of callAttempts.nodes)
      expect(node).toEqual({ status: 'OTHER', statusRaw: 'transferred', result: 'OTHER', resultRaw: 'fax-machine' });
    const { callOrders } = await query(`{ callOrders(first: 5, filter: {direction: OTHER}) { nodes { direction directionRaw } } }`);
    expect(callOrders.nodes[0]).toEqual({ direction: 'OTHER', directionRaw: 'sideways' });
  });

  it('round-trips every node type through node(id)', async () => {
    const { callOrders } = await query(
      `{ callOrders(first: 3) { nodes { id revoxId lastAttempt { id revoxId transcript { id content } } } } }`,
    );
    for (const order of callOrders.nodes) {
      const { node } = await query(`query($id: ID!) { node(id: $id) { __typename id ... on CallOrder { revoxId } } }`, { id: order.id });
      expect(node).toEqual({ __typename: 'CallOrder', id: order.id, revoxId: order.revoxId });
      const attempt = (
        await query(`query($id: ID!) { node(id: $id) { __typename ... on CallAttempt { revoxId } } }`, { id: order.lastAttempt.id })
      ).node;
      expect(attempt).toEqual({ __typename: 'CallAttempt', revoxId: order.lastAttempt.revoxId });
      const message = order.lastAttempt.transcript[0];
      expect(
        (await query(`query($id: ID!) { node(id: $id) { ... on TranscriptMessage { id content } } }`, { id: message.id })).node,
      ).toEqual(message);
    }
    expect((await query(`{ callOrder(revoxId: "no-such-order") { id } callAttempt(revoxId: "nope") { id } }`)).callOrder).toBeNull();
  });

  it('lastAttempt is the most recently started attempt', async () => {
    const { callOrders } = await query(
      `{ callOrders(first: 50) { nodes { lastAttempt { revoxId startedAt } attempts(first: 5) { nodes { revoxId startedAt } } } } }`,
    );
    for (const order of callOrders.nodes) {
      expect(order.lastAttempt).toEqual(order.attempts.nodes[0]);
      const starts = order.attempts.nodes.map((a: any) => Date.parse(a.startedAt));
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
    }
  });
});

describe('callStats', () => {
  const STATS = `query($filter: CallAttemptFilter) { callStats(filter: $filter) {
    attempts callOrders completedCallOrders answerRate averageDurationSeconds p50DurationSeconds p90DurationSeconds
    byResult { result resultRaw count } byStatus { status statusRaw count }
  } }`;

  /** The same numbers, computed here from every row. */
  async function computed(where: object) {
    const attempts = await server.database.prisma.callAttempt.findMany({ where, include: { callOrder: true } });
    const finished = attempts.filter((a) => a.status === 'completed' || a.status === 'error');
    const durations = attempts
      .filter((a) => a.answeredAt && a.endedAt)
      .map((a) => (a.endedAt!.getTime() - a.answeredAt!.getTime()) / 1000)
      .sort((a, b) => a - b);
    const percentile = (p: number) => {
      const rank = p * (durations.length - 1);
      const low = Math.floor(rank);
      return durations[low]! + (durations[Math.min(low + 1, durations.length - 1)]! - durations[low]!) * (rank - low);
    };
    const count = <K extends string | null>(key: (a: (typeof attempts)[number]) => K) => {
      const counts = new Map<K, number>();
      for (const a of attempts) counts.set(key(a), (counts.get(key(a)) ?? 0) + 1);
      return counts;
    };
    return {
      attempts: attempts.length,
      callOrders: new Set(attempts.map((a) => a.callOrderId)).size,
      completedCallOrders: new Set(attempts.filter((a) => a.callOrder.isCompleted).map((a) => a.callOrderId)).size,
      answerRate: finished.filter((a) => a.result === 'human').length / finished.length,
      averageDurationSeconds: durations.reduce((s, d) => s + d, 0) / durations.length,
      p50DurationSeconds: percentile(0.5),
      p90DurationSeconds: percentile(0.9),
      byResult: count((a) => a.result),
      byStatus: count((a) => a.status),
    };
  }

  it.each([
    [undefined, {}],
    [{ phoneNumber: PHONE_NUMBERS[0] }, { phoneNumber: PHONE_NUMBERS[0] }],
    [
      { status: ['COMPLETED', 'ERROR'], transcriptContains: 'invoice' },
      { status: { in: ['completed', 'error'] }, transcript: { some: { content: { contains: 'invoice' } } } },
    ],
  ])('matches numbers computed from the rows for filter %o', async (filter, where) => {
    const { callStats } = await query(STATS, { filter: filter ?? null });
    const expected = await computed(where);
    expect(callStats.attempts).toBe(expected.attempts);
    expect(callStats.callOrders).toBe(expected.callOrders);
    expect(callStats.completedCallOrders).toBe(expected.completedCallOrders);
    expect(callStats.answerRate).toBeCloseTo(expected.answerRate, 10);
    expect(callStats.averageDurationSeconds).toBeCloseTo(expected.averageDurationSeconds, 6);
    expect(callStats.p50DurationSeconds).toBeCloseTo(expected.p50DurationSeconds, 6);
    expect(callStats.p90DurationSeconds).toBeCloseTo(expected.p90DurationSeconds, 6);
    expect(new Map(callStats.byResult.map((r: any) => [r.resultRaw, r.count]))).toEqual(expected.byResult);
    expect(new Map(callStats.byStatus.map((r: any) => [r.statusRaw, r.count]))).toEqual(expected.byStatus);
    // A null result counts under `result: null`; a value this code does not know under OTHER.
    const KNOWN_RESULTS: Record<string, string> = {
      human: 'HUMAN',
      voicemail: 'VOICEMAIL',
      IVR: 'IVR',
      'ios-screening-filter': 'IOS_SCREENING_FILTER',
    };
    for (const { resultRaw, result } of callStats.byResult) {
      expect(result).toBe(resultRaw === null ? null : (KNOWN_RESULTS[resultRaw] ?? 'OTHER'));
    }
  });

  it('is all zeros and nulls when nothing matches', async () => {
    const { callStats } = await query(STATS, { filter: { phoneNumber: '+10000000000' } });
    expect(callStats).toEqual({
      attempts: 0,
      callOrders: 0,
      completedCallOrders: 0,
      answerRate: null,
      averageDurationSeconds: null,
      p50DurationSeconds: null,
      p90DurationSeconds: null,
      byResult: [],
      byStatus: [],
    });
  });
});

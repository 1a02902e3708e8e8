/**
 * Conditions on structured output and its values counted, against the real server and database: each operator and
 * its exactness, the null-or-missing rule shared by conditions and `byOutput`, paging, series buckets, scopes, hostile
 * input, one statement per read, and the GIN index that answers `equals`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { MAX_REQUEST_BODY_BYTES } from '../../src/limits/limits.ts';
import { callAttemptCondition } from '../../src/read/callAttempt.ts';
import { outputConditions } from '../../src/read/outputConditions.ts';
import { deliveryMaker } from '../../support/deliveries.ts';
import { secretsScrubbed, startTestServer, type TestServer } from '../../support/server.ts';
import { serversPerTest } from '../helpers/serversPerTest.ts';

let server: TestServer;
let callsKey: string;
const FULL_TOKEN = 'full-access-token-0123456789';
/** A GraphQL request to the shared server, with every scope unless `token` says otherwise. */
const ask = (query: string, variables?: Record<string, unknown>, token = FULL_TOKEN) => server.graphql(query, variables, token);
const make = deliveryMaker('out');

/** Each attempt by name: its structured output (`undefined`: the key is absent), the day it ended, its result. */
const ATTEMPTS = {
  confirmed: {
    output: { appointment: { confirmed: true, date: '2026-12-01' }, sentiment: 'positive', score: 8, tags: ['vip', 'new'] },
    day: 1,
  },
  declined: { output: { appointment: { confirmed: false, date: '2026-12-02' }, sentiment: 'Negative 100%_off', score: 2.5 }, day: 1 },
  textual: { output: { appointment: { confirmed: 'true' }, sentiment: 'neutral', score: '9' }, day: 2 },
  nullAppointment: { output: { appointment: null, score: 1, tags: ['vip'] }, day: 2 },
  nullOutput: { output: null, day: 2 },
  noOutput: { output: undefined, day: 3 },
  shouted: {
    output: { appointment: { confirmed: true, date: '2026-12-03' }, sentiment: 'POSITIVE', score: 10, tags: ['new', 'vip'] },
    day: 3,
    result: 'human',
  },
  nested: { output: { list: [10, 20], map: { '1': 20 } }, day: 3 },
} as const satisfies Record<string, { output: unknown; day: number; result?: string }>;

type Name = keyof typeof ATTEMPTS | 'decimalText';
const NAMES = [...(Object.keys(ATTEMPTS) as Name[]), 'decimalText' as const];
const revoxIds = new Map<string, Name>();

/** The instant `day` days after 2026-11-30 at 10:00 UTC. */
const dayAt = (day: number, offsetMs = 0) => new Date(Date.UTC(2026, 10, 30 + day, 10) + offsetMs).toISOString();

async function deliverAttempt(
  target: TestServer,
  name: Name,
  { output, day, result }: { output: unknown; day: number; result?: string },
  raw?: (json: string) => string,
) {
  const delivery = make((d) => {
    const attempt = d.call_attempt;
    if (output === undefined) delete attempt.structured_output;
    else attempt.structured_output = output;
    attempt.started_at = dayAt(day);
    attempt.answered_at = dayAt(day, 5_000);
    attempt.ended_at = dayAt(day, 65_000);
    if (result) attempt.result = result;
  });
  const json = JSON.stringify(delivery);
  expect((await target.deliver(undefined, { raw: raw ? raw(json) : json })).status).toBe(200);
  revoxIds.set(delivery.call_attempt.id, name);
}

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [FULL_TOKEN] });
  callsKey = (await createKeyStore(server.database.prisma).create({ name: 'dashboard', scopes: ['calls:read'] })).key;
  for (const [name, spec] of Object.entries(ATTEMPTS)) await deliverAttempt(server, name as Name, spec);
  // A number sent as 1.0, as JSON text allows.
  await deliverAttempt(server, 'decimalText', { output: { score: 1.5 }, day: 3 }, (json) => json.replaceAll('"score":1.5', '"score":1.0'));
}, 120_000);
afterAll(() => server?.dispose());

const ATTEMPTS_QUERY = `query($filter: CallAttemptFilter, $first: Int, $after: String) {
  callAttempts(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } nodes { revoxId } }
}`;

/** The names of the attempts matching these output conditions (and the rest of the filter), checked against totalCount. */
async function matching(output: unknown[], rest: Record<string, unknown> = {}): Promise<Name[]> {
  const { body } = await ask(ATTEMPTS_QUERY, { filter: { output, ...rest }, first: 100 });
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  const { totalCount, nodes } = body.data.callAttempts;
  expect(totalCount).toBe(nodes.length);
  return nodes.map((node: { revoxId: string }) => revoxIds.get(node.revoxId)).sort();
}

/** The error a request gets, which must be the only answer. */
async function refusal(query: string, variables: Record<string, unknown>, token?: string) {
  const { status, body } = await ask(query, variables, token);
  expect(body.data?.callAttempts ?? body.data?.callStats ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  return { status, error: body.errors[0] };
}

const sorted = (...names: Name[]) => names.sort();
const except = (...names: Name[]) => NAMES.filter((name) => !names.includes(name)).sort();

describe('equals and in', () => {
  it('compare scalars exactly: true is not "true", strings keep their case', async () => {
    expect(await matching([{ path: ['appointment', 'confirmed'], equals: true }])).toEqual(sorted('confirmed', 'shouted'));
    expect(await matching([{ path: ['appointment', 'confirmed'], equals: 'true' }])).toEqual(['textual']);
    expect(await matching([{ path: ['sentiment'], equals: 'positive' }])).toEqual(['confirmed']);
    expect(await matching([{ path: ['score'], equals: 9 }])).toEqual([]);
    expect(await matching([{ path: ['score'], equals: '9' }])).toEqual(['textual']);
  });

  it('take 1 and 1.0 as one number, whichever way each was written', async () => {
    expect(await matching([{ path: ['score'], equals: 1 }])).toEqual(sorted('nullAppointment', 'decimalText'));
    const { body } = await ask(
      '{ callAttempts(filter: { output: [{ path: ["score"], equals: 1.0 }] }) { totalCount } byIn: callAttempts(filter: { output: [{ path: ["score"], in: [1.0, 2.5] }] }) { totalCount } }',
    );
    expect(body.data).toEqual({ callAttempts: { totalCount: 2 }, byIn: { totalCount: 3 } });
  });

  it('compare objects and arrays whole, not by containment', async () => {
    expect(await matching([{ path: ['tags'], equals: ['vip'] }])).toEqual(['nullAppointment']);
    expect(await matching([{ path: ['tags'], equals: ['vip', 'new'] }])).toEqual(['confirmed']);
    expect(await matching([{ path: ['appointment'], equals: { date: '2026-12-01', confirmed: true } }])).toEqual(['confirmed']);
    expect(await matching([{ path: ['appointment'], equals: { confirmed: true } }])).toEqual([]);
    expect(await matching([{ path: [], equals: { list: [10, 20], map: { '1': 20 } } }])).toEqual(['nested']);
  });

  it('in: any of the values, each compared exactly; an empty list matches nothing', async () => {
    expect(await matching([{ path: ['appointment', 'confirmed'], in: [true, 'true'] }])).toEqual(sorted('confirmed', 'shouted', 'textual'));
    expect(await matching([{ path: ['tags'], in: [['vip'], ['new']] }])).toEqual(['nullAppointment']);
    expect(await matching([{ path: ['sentiment'], in: [] }])).toEqual([]);
  });

  it('walk object keys only, never into an array', async () => {
    expect(await matching([{ path: ['map', '1'], equals: 20 }])).toEqual(['nested']);
    expect(await matching([{ path: ['list', '1'], equals: 20 }])).toEqual([]);
    expect(await matching([{ path: ['list', '1'], exists: true }])).toEqual([]);
  });
});

describe('null and missing', () => {
  it('equals: null matches a JSON null, a missing path and no structured output', async () => {
    expect(await matching([{ path: ['appointment'], equals: null }])).toEqual(except('confirmed', 'declined', 'textual', 'shouted'));
    expect(await matching([{ path: ['appointment', 'confirmed'], equals: null }])).toEqual(
      except('confirmed', 'declined', 'textual', 'shouted'),
    );
  });

  it('exists: true wants a value other than null, exists: false is everything else', async () => {
    expect(await matching([{ path: ['appointment'], exists: true }])).toEqual(sorted('confirmed', 'declined', 'textual', 'shouted'));
    expect(await matching([{ path: ['appointment'], exists: false }])).toEqual(except('confirmed', 'declined', 'textual', 'shouted'));
    expect(await matching([{ path: [], exists: false }])).toEqual(sorted('nullOutput', 'noOutput'));
  });

  it('an operator given as null is no operator, but for equals', async () => {
    expect(await matching([{ path: ['score'], gt: null, equals: 8 }])).toEqual(['confirmed']);
  });
});

describe('number bounds and contains', () => {
  it('compare numbers only: a number written as a string never matches, and never fails', async () => {
    expect(await matching([{ path: ['score'], gt: 2 }])).toEqual(sorted('confirmed', 'declined', 'shouted'));
    expect(await matching([{ path: ['score'], gte: 10 }])).toEqual(['shouted']);
    expect(await matching([{ path: ['score'], lt: 2 }])).toEqual(sorted('nullAppointment', 'decimalText'));
    expect(await matching([{ path: ['score'], lte: 2.5 }])).toEqual(sorted('declined', 'nullAppointment', 'decimalText'));
    expect(await matching([{ path: ['sentiment'], gt: -1e300 }])).toEqual([]);
  });

  it('contains is a case-insensitive substring of a string, % and _ taken literally', async () => {
    expect(await matching([{ path: ['sentiment'], contains: 'POSIT' }])).toEqual(sorted('confirmed', 'shouted'));
    expect(await matching([{ path: ['sentiment'], contains: '0%_O' }])).toEqual(['declined']);
    expect(await matching([{ path: ['sentiment'], contains: '_' }])).toEqual(['declined']);
    expect(await matching([{ path: ['sentiment'], contains: 'e%' }])).toEqual([]);
    expect(await matching([{ path: ['score'], contains: '1' }])).toEqual([]);
  });
});

describe('combined', () => {
  it('all conditions must hold, with the rest of the filter too', async () => {
    const positive = { path: ['sentiment'], contains: 'positive' };
    expect(await matching([positive, { path: ['score'], gt: 9 }])).toEqual(['shouted']);
    expect(await matching([positive], { result: ['HUMAN'] })).toEqual(['shouted']);
    expect(await matching([positive], { result: ['VOICEMAIL'] })).toEqual(['confirmed']);
    expect(await matching([positive], { endedAfter: dayAt(2) })).toEqual(['shouted']);
  });

  it('pages through the matches, each page with the whole count', async () => {
    const filter = { output: [{ path: ['appointment'], exists: true }] };
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const { body }: { body: any } = await ask(ATTEMPTS_QUERY, { filter, first: 3, after });
      expect(body.data.callAttempts.totalCount).toBe(4);
      seen.push(...body.data.callAttempts.nodes.map((node: { revoxId: string }) => revoxIds.get(node.revoxId)));
      after = body.data.callAttempts.pageInfo.hasNextPage ? body.data.callAttempts.pageInfo.endCursor : null;
    } while (after);
    expect(seen.sort()).toEqual(sorted('confirmed', 'declined', 'textual', 'shouted'));
  });

  it('selects the same attempts when the page is read the Prisma way', async () => {
    const { serverWith } = serversPerTest();
    const prismaWay = await serverWith({}, undefined, { oneStatementReads: false });
    for (const name of ['confirmed', 'declined', 'shouted'] as const) await deliverAttempt(prismaWay, name, ATTEMPTS[name]);
    const { body } = await prismaWay.graphql(ATTEMPTS_QUERY, {
      filter: { output: [{ path: ['appointment', 'confirmed'], equals: true }] },
      first: 1,
    });
    expect(body.data.callAttempts.totalCount).toBe(2);
    // Most recently ended first.
    expect(body.data.callAttempts.nodes.map((node: { revoxId: string }) => revoxIds.get(node.revoxId))).toEqual(['shouted']);
  });

  it('counts in callStats as in callAttempts', async () => {
    const { body } = await ask('{ callStats(filter: { output: [{ path: ["score"], gte: 1 }] }) { attempts } }');
    expect(body.data.callStats.attempts).toBe(5);
  });
});

const BY_OUTPUT = `query($path: [String!]!, $first: Int, $filter: CallAttemptFilter) {
  callStats(filter: $filter) { byOutput(path: $path, first: $first) { value count } }
}`;

async function byOutput(path: string[], first?: number, filter?: Record<string, unknown>) {
  const { body } = await ask(BY_OUTPUT, { path, first, filter });
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data.callStats.byOutput as { value: unknown; count: number }[];
}

describe('byOutput', () => {
  it('counts each value, most frequent first, ties by JSON text, missing and null as null', async () => {
    expect(await byOutput(['appointment', 'confirmed'])).toEqual([
      { value: null, count: 5 },
      { value: true, count: 2 },
      { value: 'true', count: 1 },
      { value: false, count: 1 },
    ]);
    // Ties by JSON text in byte order: "POSITIVE" before "neutral"; null is last among its ties.
    expect(await byOutput(['sentiment'], 3)).toEqual([
      { value: null, count: 5 },
      { value: 'Negative 100%_off', count: 1 },
      { value: 'POSITIVE', count: 1 },
    ]);
    expect(await byOutput(['score'])).toEqual([
      { value: null, count: 3 },
      { value: 1, count: 2 },
      { value: '9', count: 1 },
      { value: 10, count: 1 },
      { value: 2.5, count: 1 },
      { value: 8, count: 1 },
    ]);
  });

  it('compares objects and arrays whole, and counts only the filtered attempts', async () => {
    expect(await byOutput(['tags'], 20, { output: [{ path: ['tags'], exists: true }] })).toEqual([
      { value: ['new', 'vip'], count: 1 },
      { value: ['vip', 'new'], count: 1 },
      { value: ['vip'], count: 1 },
    ]);
    expect(await byOutput(['appointment'], 1, { result: ['HUMAN'] })).toEqual([
      { value: { confirmed: true, date: '2026-12-03' }, count: 1 },
    ]);
    expect(await byOutput(['sentiment'], 0)).toEqual([]);
  });

  it('counts as many attempts under a value as equals finds with it', async () => {
    for (const path of [['appointment', 'confirmed'], ['score'], ['tags'], ['appointment']]) {
      for (const { value, count } of await byOutput(path)) {
        expect(await matching([{ path, equals: value }])).toHaveLength(count);
      }
    }
  });

  it('is counted per bucket of a series, from one statement for the whole series', async () => {
    const statements: string[] = [];
    const { serverWith } = serversPerTest();
    const counted = await serverWith({}, undefined, { onQuery: (sql) => statements.push(sql) });
    for (const [name, spec] of Object.entries(ATTEMPTS)) await deliverAttempt(counted, name as Name, spec);
    statements.length = 0;
    const { body } = await counted.graphql(`{
      callStats(filter: { endedAfter: "${dayAt(1)}", endedBefore: "${dayAt(4)}" }) {
        series(bucket: DAY, timeZone: "Europe/Paris") {
          start
          confirmed: byOutput(path: ["appointment", "confirmed"]) { value count }
          again: byOutput(path: ["appointment", "confirmed"]) { value count }
          top: byOutput(path: ["appointment", "confirmed"], first: 1) { value count }
        }
      }
    }`);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    const series = body.data.callStats.series;
    expect(series.map((bucket: { start: string }) => bucket.start)).toEqual(
      [1, 2, 3, 4].map((day) => new Date(Date.UTC(2026, 10, 30 + day) - 3_600_000).toISOString()),
    );
    expect(series.map((bucket: any) => bucket.confirmed)).toEqual([
      [
        { value: false, count: 1 },
        { value: true, count: 1 },
      ],
      [
        { value: null, count: 2 },
        { value: 'true', count: 1 },
      ],
      [
        { value: null, count: 2 },
        { value: true, count: 1 },
      ],
      [],
    ]);
    expect(series.map((bucket: any) => bucket.again)).toEqual(series.map((bucket: any) => bucket.confirmed));
    expect(series.map((bucket: any) => bucket.top)).toEqual(series.map((bucket: any) => bucket.confirmed.slice(0, 1)));
    // The series, then one statement per distinct (path, first), whatever the number of buckets.
    expect(statements.filter((sql) => sql.includes('structured_output'))).toHaveLength(2);
    expect(statements.filter((sql) => sql.includes('generate_series'))).toHaveLength(1);
  });
});

describe("the README's example", () => {
  it('runs, and counts confirmed appointments per day', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const document = /```graphql\n(query Appointments [\s\S]*?)```/.exec(readme)?.[1];
    expect(document).toBeDefined();
    // The month of the attempts here.
    const december = document!.replace('"2026-12-01T', '"2027-01-01T').replace('"2026-11-01T', '"2026-12-01T');
    const { body } = await ask(december);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data.callAttempts.nodes.map((node: { revoxId: string }) => revoxIds.get(node.revoxId)).sort()).toEqual(
      sorted('confirmed', 'shouted'),
    );
    expect(body.data.callStats.series[0].byOutput).toEqual([
      { value: false, count: 1 },
      { value: true, count: 1 },
    ]);
  });
});

describe('one statement per read', () => {
  it('reads a page, its count, the counters and each byOutput in a statement each', async () => {
    const statements: string[] = [];
    const { serverWith } = serversPerTest();
    const counted = await serverWith({}, undefined, { onQuery: (sql) => statements.push(sql) });
    for (const name of ['confirmed', 'declined', 'shouted'] as const) await deliverAttempt(counted, name, ATTEMPTS[name]);
    await secretsScrubbed(counted);
    statements.length = 0;
    const { body } = await counted.graphql(`{
      callAttempts(filter: { output: [{ path: ["appointment", "confirmed"], equals: true }, { path: ["score"], gt: 5 }] }) {
        totalCount
        nodes { revoxId structuredOutput }
      }
      callStats(filter: { output: [{ path: ["sentiment"], contains: "posit" }] }) {
        attempts
        byOutput(path: ["score"]) { value count }
      }
    }`);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data.callAttempts.totalCount).toBe(2);
    expect(body.data.callStats).toEqual({
      attempts: 2,
      // Ties by JSON text: "10" before "8".
      byOutput: [
        { value: 10, count: 1 },
        { value: 8, count: 1 },
      ],
    });
    expect(statements.filter((sql) => sql.includes('call_attempts'))).toHaveLength(4);
  });
});

describe('scopes', () => {
  it('a calls:read key may not filter by structured output: the refusal names the argument', async () => {
    const { error } = await refusal(ATTEMPTS_QUERY, { filter: { output: [{ path: ['score'], gt: 1 }] } }, callsKey);
    expect(error).toMatchObject({
      message: 'filter.output needs transcripts:read, which this API key lacks',
      extensions: { code: 'FORBIDDEN', missingScope: 'transcripts:read' },
    });
  });

  it.each([
    ['CallStats.byOutput', '{ callStats { attempts byOutput(path: ["score"]) { count } } }'],
    ['CallStatsBucket.byOutput', '{ callStats { series(bucket: DAY) { attempts byOutput(path: ["score"]) { count } } } }'],
  ])('nor count its values: the refusal names %s', async (field, query) => {
    const { error } = await refusal(query, {}, callsKey);
    expect(error).toMatchObject({
      message: `${field} needs transcripts:read, which this API key lacks`,
      extensions: { code: 'FORBIDDEN', missingScope: 'transcripts:read' },
    });
  });
});

describe('bad and hostile input', () => {
  const badInput = async (output: unknown[]) => {
    const { error } = await refusal(ATTEMPTS_QUERY, { filter: { output } });
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    return error.message as string;
  };

  it('wants exactly one operator per condition, and names the condition', async () => {
    expect(
      await badInput([
        { path: ['a'], exists: true },
        { path: ['b'], equals: 1, gt: 2 },
      ]),
    ).toBe('filter.output[1]: give exactly one operator (equals, in, exists, gt, gte, lt, lte, contains), got equals and gt.');
    expect(await badInput([{ path: ['a'] }])).toMatch(/^filter\.output\[0\]: give exactly one operator .*, got none\.$/);
    expect(await badInput([{ path: ['a'], in: [1], lt: 1, contains: 'x' }])).toMatch(/got in, lt and contains\.$/);
  });

  it('refuses a path of 100 keys, and a key of 1,000 characters', async () => {
    expect(await badInput([{ path: Array.from({ length: 100 }, (_, n) => `k${n}`), exists: true }])).toBe(
      'filter.output[0].path: a path may have at most 16 keys, got 100.',
    );
    expect(await badInput([{ path: ['a', 'k'.repeat(1_000)], exists: true }])).toBe(
      'filter.output[0].path[1]: a key may have at most 100 characters, got 1,000.',
    );
  });

  it('refuses an equals value of about 1 MiB, naming the bound, and a body over 1 MiB as too large', async () => {
    const value = { text: 'x'.repeat(MAX_REQUEST_BODY_BYTES - 4_096) };
    expect(await badInput([{ path: ['a'], equals: value }])).toBe(
      `filter.output[0].equals: a JSON value may be at most 2,048 bytes as JSON text, got ${JSON.stringify(value).length.toLocaleString('en-US')}.`,
    );
    const { status, body } = await ask(ATTEMPTS_QUERY, {
      filter: { output: [{ path: ['a'], equals: 'x'.repeat(MAX_REQUEST_BODY_BYTES) }] },
    });
    expect(status).toBe(413);
    expect(body.errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('refuses a value nested too deep to measure, without failing', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    // Sent as text: the test's own JSON.stringify would not survive such nesting either.
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${FULL_TOKEN}` },
      body: `{"query": ${JSON.stringify(ATTEMPTS_QUERY)}, "variables": {"filter": {"output": [{"path": ["a"], "equals": ${deep}}]}}}`,
    });
    const body: any = await response.json();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message).toBe(
      'filter.output[0].equals: a JSON value may be at most 2,048 bytes as JSON text, got a value nested too deep to measure.',
    );
  });

  it('refuses in with 10,000 values, and one value over the bound', async () => {
    expect(await badInput([{ path: ['a'], in: Array.from({ length: 10_000 }, (_, n) => n) }])).toBe(
      'filter.output[0].in: at most 100 values, got 10,000.',
    );
    expect(await badInput([{ path: ['a'], in: [1, 'y'.repeat(3_000)] }])).toMatch(/^filter\.output\[0\]\.in\[1\]: .* got 3,002\.$/);
  });

  it('refuses more than 10 conditions, and a contains over 200 characters', async () => {
    expect(await badInput(Array.from({ length: 1_000 }, () => ({ path: ['a'], exists: true })))).toBe(
      'filter.output: at most 10 conditions, got 1,000.',
    );
    expect(await badInput([{ path: ['a'], contains: 'z'.repeat(10_000) }])).toBe(
      'filter.output[0].contains: at most 200 characters, got 10,000.',
    );
  });

  it('refuses the character U+0000, which PostgreSQL cannot hold, wherever it is', async () => {
    const refused = (name: string) => `${name}: may not contain the character U+0000, which no stored value holds.`;
    expect(await badInput([{ path: ['a', 'b\u0000'], exists: true }])).toBe(refused('filter.output[0].path[1]'));
    expect(await badInput([{ path: ['a'], equals: 'x\u0000' }])).toBe(refused('filter.output[0].equals'));
    expect(await badInput([{ path: ['a'], in: [1, { deep: [{ 'k\u0000': 1 }] }] }])).toBe(refused('filter.output[0].in[1]'));
    expect(await badInput([{ path: ['a'], contains: '\u0000' }])).toBe(refused('filter.output[0].contains'));
    // A backslash and "u0000" are only characters.
    expect(await matching([{ path: ['sentiment'], equals: '\\u0000' }])).toEqual([]);
  });

  it('refuses byOutput values that come to more than an answer may hold, before reading them all', async () => {
    const prisma = server.database.prisma;
    await prisma.$executeRaw`
      INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, version_key, updated_at, structured_output)
      SELECT gen_random_uuid(), 'large_' || n, a.call_order_id, a.phone_number, a.status, 'large', now(),
             jsonb_build_object('text', repeat('x', 1024 * 1024), 'n', n)
      FROM generate_series(1, 11) AS n, (SELECT * FROM call_attempts LIMIT 1) AS a`;
    try {
      const { error } = await refusal(BY_OUTPUT, { path: [] });
      expect(error).toMatchObject({
        message:
          'byOutput: the values at this path come to more than the 10 MiB an answer may hold: ask for a path deeper in the structured output, or for fewer values with first.',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      // The same text eleven times is one value.
      const [text] = await byOutput(['text'], 1);
      expect(text).toEqual({ value: 'x'.repeat(1024 * 1024), count: 11 });
    } finally {
      await prisma.$executeRaw`DELETE FROM call_attempts WHERE version_key = 'large'`;
    }
  });

  it('refuses a byOutput path of 100 keys and a first over 100', async () => {
    const { error } = await refusal(BY_OUTPUT, { path: Array.from({ length: 100 }, () => 'k') });
    expect(error).toMatchObject({
      message: 'byOutput.path: a path may have at most 16 keys, got 100.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const tooMany = await refusal(BY_OUTPUT, { path: ['score'], first: 1_000 });
    expect(tooMany.error.message).toBe('first must be between 0 and 100, got 1000');
  });
});

describe('the index', () => {
  it('answers an equals condition on a few thousand attempts', async () => {
    const prisma = server.database.prisma;
    await prisma.$executeRaw`
      INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, version_key, updated_at, structured_output)
      SELECT gen_random_uuid(), 'bulk_' || n, a.call_order_id, a.phone_number, a.status, 'bulk', now(),
             jsonb_build_object('appointment', jsonb_build_object('confirmed', n % 2 = 0), 'score', n % 11)
      FROM generate_series(1, 3000) AS n, (SELECT * FROM call_attempts LIMIT 1) AS a`;
    await prisma.$executeRaw`ANALYZE call_attempts`;
    try {
      const where = callAttemptCondition({ output: outputConditions([{ path: ['appointment', 'confirmed'], equals: true }]) });
      const [, plan] = await prisma.$transaction([
        prisma.$executeRaw`SET LOCAL enable_seqscan = off`,
        prisma.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN SELECT count(*) FROM call_attempts a WHERE ${where}`,
      ]);
      expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('call_attempts_structured_output_idx');
      const { body } = await ask(
        '{ callAttempts(filter: { output: [{ path: ["appointment", "confirmed"], equals: true }] }) { totalCount } }',
      );
      expect(body.data.callAttempts.totalCount).toBe(1_500 + 2);
    } finally {
      await prisma.$executeRaw`DELETE FROM call_attempts WHERE version_key = 'bulk'`;
    }
  });
});

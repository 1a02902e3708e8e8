/**
 * GET /export/call-attempts.csv and .ndjson against the real server: deliveries stored through the webhook come back
 * with exact values in both formats, for each scope; filters and orders mean what they mean in GraphQL; a large set
 * streams in several batches, every row once and in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_ROWS } from '../../src/export/exportAttempts.ts';
import { orderDeliveries, orderDelivery } from '../../support/deliveries.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { createKey, csvObjects, fetchExport, parseCsv, parseNdjson } from './exportClient.ts';

const TOKEN = 'export-test-token-0123456789';
let server: TestServer;
let callsKey: string;
let transcriptsKey: string;
const statements: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [TOKEN] }, undefined, { onQuery: (sql) => statements.push(sql) });
  callsKey = await createKey(server, 'dashboard', ['calls:read']);
  transcriptsKey = await createKey(server, 'quality', ['transcripts:read']);

  // An order over two attempts; a turn of the second needs CSV quoting (comma, quotes, line break).
  const plain = orderDeliveries('call_exp_plain', [{ id: 'exp_voicemail' }, { id: 'exp_human', result: 'human', turns: 3 }]);
  plain[1]!.call_attempt!.transcript[1]!.content = 'Oui, le "mardi"\nà 10 h';
  // Values this version does not know, and everything that may be missing, missing.
  const odd = orderDelivery('call_exp_odd', [{ id: 'exp_odd', status: 'transferred', result: 'fax-machine', turns: 0 }], 0, '+14155550123');
  odd.call.direction = 'sideways';
  Object.assign(odd.call_attempt!, { answered_at: null, recording_url: null, structured_output: null });
  // Cells a spreadsheet would run as formulas.
  const formula = orderDelivery('=HYPERLINK("http://evil.example","x")', [{ id: '@SUM(A1)' }], 0);
  formula.call_attempt!.recording_url = '-2+3';
  const control = orderDelivery('\t=tab', [{ id: '\r=cr' }], 0);
  for (const delivery of [...plain, odd, formula, control]) expect((await server.deliver(delivery)).status).toBe(200);
}, 120_000);
afterAll(() => server?.dispose());

const CALL_COLUMNS = [
  'revoxId',
  'callOrderRevoxId',
  'phoneNumber',
  'direction',
  'status',
  'result',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSeconds',
];
const CONTENT_COLUMNS = ['recordingUrl', 'structuredOutput', 'transcript'];

/** exp_human as NDJSON gives it, with every column. */
const HUMAN = {
  revoxId: 'exp_human',
  callOrderRevoxId: 'call_exp_plain',
  phoneNumber: '+33612345678',
  direction: 'OUTBOUND',
  status: 'COMPLETED',
  result: 'HUMAN',
  startedAt: '2026-11-20T10:00:00.000Z',
  answeredAt: '2026-11-20T10:00:05.000Z',
  endedAt: '2026-11-20T10:01:05.000Z',
  durationSeconds: 60,
  recordingUrl: 'https://recordings.example.com/exp_human.mp3',
  structuredOutput: { attempt: 1 },
  transcript: [
    { role: 'ASSISTANT', content: 'exp_human turn 0' },
    { role: 'USER', content: 'Oui, le "mardi"\nà 10 h' },
    { role: 'ASSISTANT', content: 'exp_human turn 2' },
  ],
};

const ODD = {
  revoxId: 'exp_odd',
  callOrderRevoxId: 'call_exp_odd',
  phoneNumber: '+14155550123',
  direction: 'OTHER',
  status: 'OTHER',
  result: 'OTHER',
  startedAt: '2026-11-20T09:00:00.000Z',
  answeredAt: null,
  endedAt: '2026-11-20T09:01:05.000Z',
  durationSeconds: null,
  recordingUrl: null,
  structuredOutput: null,
  transcript: [],
};

const byRevoxId = <Row extends Record<string, unknown>>(rows: Row[]) => new Map(rows.map((row) => [row.revoxId as string, row]));

describe('CSV', () => {
  it('gives a calls:read key the ten call columns, RFC 4180 with CRLF, enums and times as GraphQL gives them', async () => {
    const { status, headers, text } = await fetchExport(server, 'csv', callsKey);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(headers.get('content-disposition')).toBe('attachment; filename="call-attempts.csv"');
    expect(headers.get('cache-control')).toBe('no-store');
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    const [header] = parseCsv(text);
    expect(header).toEqual(CALL_COLUMNS);
    const rows = byRevoxId(csvObjects(text));
    expect(rows.size).toBe(5);
    expect(rows.get('exp_human')).toEqual({
      revoxId: 'exp_human',
      callOrderRevoxId: 'call_exp_plain',
      phoneNumber: "'+33612345678",
      direction: 'OUTBOUND',
      status: 'COMPLETED',
      result: 'HUMAN',
      startedAt: '2026-11-20T10:00:00.000Z',
      answeredAt: '2026-11-20T10:00:05.000Z',
      endedAt: '2026-11-20T10:01:05.000Z',
      durationSeconds: '60',
    });
    expect(rows.get('exp_odd')).toEqual({
      revoxId: 'exp_odd',
      callOrderRevoxId: 'call_exp_odd',
      phoneNumber: "'+14155550123",
      direction: 'OTHER',
      status: 'OTHER',
      result: 'OTHER',
      startedAt: '2026-11-20T09:00:00.000Z',
      answeredAt: '',
      endedAt: '2026-11-20T09:01:05.000Z',
      durationSeconds: '',
    });
    expect(text).not.toContain('exp_human turn');
    expect(text).not.toContain('recordings.example.com');
  });

  it('gives a transcripts:read key thirteen columns: JSON text, one line per turn, quoted where needed', async () => {
    const { status, text } = await fetchExport(server, 'csv', transcriptsKey);
    expect(status).toBe(200);
    expect(parseCsv(text)[0]).toEqual([...CALL_COLUMNS, ...CONTENT_COLUMNS]);
    const rows = byRevoxId(csvObjects(text));
    expect(rows.get('exp_human')).toMatchObject({
      durationSeconds: '60',
      recordingUrl: 'https://recordings.example.com/exp_human.mp3',
      structuredOutput: '{"attempt":1}',
      transcript: 'ASSISTANT: exp_human turn 0\nUSER: Oui, le "mardi"\nà 10 h\nASSISTANT: exp_human turn 2',
    });
    expect(text).toContain('"ASSISTANT: exp_human turn 0\nUSER: Oui, le ""mardi""\nà 10 h\nASSISTANT: exp_human turn 2"');
    expect(rows.get('exp_odd')).toMatchObject({ recordingUrl: '', structuredOutput: '', transcript: '' });
  });

  it("prefixes with ' every cell that starts with =, +, -, @, tab or carriage return", async () => {
    const rows = byRevoxId(csvObjects((await fetchExport(server, 'csv', TOKEN)).text));
    expect(rows.get("'@SUM(A1)")).toMatchObject({
      callOrderRevoxId: `'=HYPERLINK("http://evil.example","x")`,
      phoneNumber: "'+33612345678",
      recordingUrl: "'-2+3",
    });
    expect(rows.get("'\r=cr")).toMatchObject({ callOrderRevoxId: "'\t=tab" });
    const cells = [...rows.values()].flatMap((row) => Object.values(row));
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
  });
});

describe('NDJSON', () => {
  it('gives one JSON object per line with the same keys in the same order, values as JSON', async () => {
    const { status, headers, text } = await fetchExport(server, 'ndjson', transcriptsKey);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(headers.get('content-disposition')).toBe('attachment; filename="call-attempts.ndjson"');
    const lines = parseNdjson(text);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(Object.keys(line)).toEqual([...CALL_COLUMNS, ...CONTENT_COLUMNS]);
    const rows = byRevoxId(lines);
    expect(rows.get('exp_human')).toEqual(HUMAN);
    expect(rows.get('exp_odd')).toEqual(ODD);
    // No spreadsheet reads NDJSON: values stay as stored.
    expect(rows.get('@SUM(A1)')).toMatchObject({ callOrderRevoxId: '=HYPERLINK("http://evil.example","x")', recordingUrl: '-2+3' });
  });

  it('leaves the content keys out for a calls:read key', async () => {
    const lines = parseNdjson((await fetchExport(server, 'ndjson', callsKey)).text);
    for (const line of lines) expect(Object.keys(line)).toEqual(CALL_COLUMNS);
    const { recordingUrl, structuredOutput, transcript, ...callColumns } = HUMAN;
    expect(byRevoxId(lines).get('exp_human')).toEqual(callColumns);
  });
});

describe('filter and orderBy', () => {
  const revoxIds = async (parameters: Record<string, string>, token = TOKEN) => {
    const { status, text } = await fetchExport(server, 'ndjson', token, parameters);
    expect(status, text).toBe(200);
    return parseNdjson(text).map((line) => line.revoxId);
  };

  it('filter the way GraphQL does', async () => {
    expect(await revoxIds({ filter: JSON.stringify({ result: ['HUMAN'] }) })).toEqual(['exp_human']);
    // One value for a list, as GraphQL's input coercion allows.
    expect(await revoxIds({ filter: JSON.stringify({ result: 'OTHER', status: ['OTHER'] }) })).toEqual(['exp_odd']);
    expect(await revoxIds({ filter: JSON.stringify({ phoneNumber: '+14155550123' }) })).toEqual(['exp_odd']);
    expect(await revoxIds({ filter: JSON.stringify({ endedAfter: '2026-11-20T11:01:00+01:00' }) })).toEqual(['exp_human']);
    expect(await revoxIds({ filter: JSON.stringify({ transcriptContains: 'MARDI' }) }, transcriptsKey)).toEqual(['exp_human']);
    expect(await revoxIds({ filter: 'null' })).toHaveLength(5);
    expect(await revoxIds({ filter: JSON.stringify({ result: [] }) })).toEqual([]);
    // Nothing selected: the header alone in CSV, nothing in NDJSON.
    expect((await fetchExport(server, 'csv', callsKey, { filter: '{"result":[]}' })).text).toBe(`${CALL_COLUMNS.join(',')}\r\n`);
    expect((await fetchExport(server, 'ndjson', callsKey, { filter: '{"result":[]}' })).text).toBe('');
  });

  it('order by the CallAttemptOrderBy named, ENDED_AT_DESC by default, like GraphQL', async () => {
    const page = async (orderBy: string) => {
      const { body } = await server.graphql(
        `query($orderBy: CallAttemptOrderBy) { callAttempts(first: 100, orderBy: $orderBy) { nodes { revoxId } } }`,
        { orderBy },
        TOKEN,
      );
      return body.data.callAttempts.nodes.map((node: { revoxId: string }) => node.revoxId);
    };
    expect(await revoxIds({})).toEqual(await page('ENDED_AT_DESC'));
    for (const orderBy of ['ENDED_AT_ASC', 'STARTED_AT_DESC', 'STARTED_AT_ASC']) {
      expect(await revoxIds({ orderBy })).toEqual(await page(orderBy));
    }
    expect(await revoxIds({ orderBy: 'ENDED_AT_ASC' })).not.toEqual(await revoxIds({}));
    const search = { filter: JSON.stringify({ transcriptMatches: 'mardi OR turn' }), orderBy: 'RELEVANCE' };
    const { body } = await server.graphql(
      '{ callAttempts(first: 100, orderBy: RELEVANCE, filter: { transcriptMatches: "mardi OR turn" }) { nodes { revoxId } } }',
      undefined,
      TOKEN,
    );
    expect(await revoxIds(search, transcriptsKey)).toEqual(body.data.callAttempts.nodes.map((node: { revoxId: string }) => node.revoxId));
  });
});

it('HEAD answers the headers, reading nothing', async () => {
  const before = statements.length;
  const response = await fetch(`${server.url}/export/call-attempts.csv`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${callsKey}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  expect(await response.text()).toBe('');
  expect(statements.slice(before).filter((sql) => /FROM call_attempts a\b/.test(sql))).toEqual([]);
});

describe('a large set', () => {
  const ATTEMPTS = 1_234;

  beforeAll(async () => {
    const prisma = server.database.prisma;
    const order = await prisma.callOrder.create({
      data: {
        revoxId: 'call_exp_large',
        fromPhoneNumber: '+33100000000',
        toPhoneNumber: '+33612345678',
        direction: 'outbound',
        isCompleted: true,
        callsCount: ATTEMPTS,
        createdAt: new Date('2026-01-01T00:00:00Z'),
        versionKey: 'seed',
      },
    });
    const base = Date.parse('2026-01-01T00:00:00Z');
    await prisma.callAttempt.createMany({
      data: Array.from({ length: ATTEMPTS }, (_, i) => ({
        revoxId: `large_${String(i).padStart(4, '0')}`,
        callOrderId: order.id,
        phoneNumber: '+33612345678',
        status: i % 10 === 0 ? 'ongoing' : 'completed',
        // Ties on the end time (every pair), and attempts not ended yet, which sort first.
        endedAt: i % 10 === 0 ? null : new Date(base + Math.floor(i / 2) * 60_000),
        startedAt: new Date(base + Math.floor(i / 2) * 60_000 - 30_000),
        versionKey: 'seed',
      })),
    });
  }, 60_000);

  it('streams every attempt exactly once, in order, over several batches', async () => {
    const expected = await server.database.prisma.callAttempt.findMany({
      orderBy: [{ endedAt: 'desc' }, { id: 'desc' }],
      select: { revoxId: true },
    });
    const before = statements.length;
    const { status, text } = await fetchExport(server, 'csv', callsKey);
    expect(status).toBe(200);
    const batches = statements.slice(before).filter((sql) => /FROM call_attempts a\b/.test(sql)).length;
    const exported = csvObjects(text).map((row) => row.revoxId!);
    expect(exported).toHaveLength(ATTEMPTS + 5);
    expect(new Set(exported).size).toBe(ATTEMPTS + 5);
    expect(exported.map((id) => id.replace(/^'/, ''))).toEqual(expected.map((attempt) => attempt.revoxId));
    // Without content, batches are full: 1,239 rows at 500 a batch.
    expect(batches).toBe(Math.ceil((ATTEMPTS + 5) / MAX_BATCH_ROWS));
    expect(batches).toBeGreaterThan(1);
    expect(server.logs.filter((line) => line.includes('"event":"export.finished"')).at(-1)).toMatch(
      new RegExp(`"format":"csv","key":"dashboard","rows":1239,"bytes":\\d+,"batches":${batches},"durationMs":\\d+,"outcome":"complete"`),
    );
  });

  it('in NDJSON and with the content columns alike', async () => {
    const { text } = await fetchExport(server, 'ndjson', transcriptsKey, { orderBy: 'STARTED_AT_ASC' });
    const exported = parseNdjson(text).map((line) => line.revoxId);
    const expected = await server.database.prisma.callAttempt.findMany({
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
      select: { revoxId: true },
    });
    expect(exported).toEqual(expected.map((attempt) => attempt.revoxId));
  });
});

it('logs one line per export, naming the key, never the key itself, the filter or a row', () => {
  const lines = server.logs.filter((line) => line.includes('"event":"export.finished"'));
  // One per export made above (HEAD reads nothing and logs nothing).
  expect(lines.length).toBeGreaterThanOrEqual(15);
  for (const line of lines) expect(JSON.parse(line).key).toMatch(/^(dashboard|quality|API_TOKENS)$/);
  const log = server.logs.join('\n');
  for (const secret of [TOKEN, callsKey, transcriptsKey, '+14155550123', 'MARDI', 'exp_human']) expect(log).not.toContain(secret);
});

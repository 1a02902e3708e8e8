/**
 * The export against callers that should get nothing, and clients that misbehave: no rows without a token and the
 * scopes, bad filters refused naming the field before any row, path variants and other methods serve nothing, a
 * client that goes away stops the reading, a client that does not read holds it, ingest keeps answering during an
 * export, and a failure half-way cuts the connection instead of ending the body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryMaker, orderDelivery } from '../../support/deliveries.ts';
import { rawExchange, startTestServer, type TestServer } from '../../support/server.ts';
import { createKey, exportUrl, fetchExport, nextChunk, openExport, parseCsv, parseNdjson, readRest } from './exportClient.ts';

const TOKEN = 'export-abuse-token-0123456789';
let server: TestServer;
let callsKey: string;
let transcriptsKey: string;
const statements: string[] = [];
/** The statements that read a batch of attempts. */
const batchReads = () => statements.filter((sql) => /FROM call_attempts a\b/.test(sql)).length;

/** Heavy rows, so that an export is many batches and far more bytes than socket buffers hold. */
const HEAVY_ATTEMPTS = 1_500;
const TURN = 'Bonjour, je vous appelle au sujet de votre rendez-vous. '.repeat(300);

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [TOKEN] }, undefined, { onQuery: (sql) => statements.push(sql) });
  callsKey = await createKey(server, 'dashboard', ['calls:read']);
  transcriptsKey = await createKey(server, 'quality', ['transcripts:read']);
  expect((await server.deliver(orderDelivery('call_abuse_secret', [{ id: 'abuse_secret', turns: 2 }], 0, '+33699887766'))).status).toBe(
    200,
  );

  const prisma = server.database.prisma;
  const order = await prisma.callOrder.create({
    data: {
      revoxId: 'call_heavy',
      fromPhoneNumber: '+33100000000',
      toPhoneNumber: '+33612345678',
      direction: 'outbound',
      isCompleted: true,
      callsCount: HEAVY_ATTEMPTS,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      versionKey: 'seed',
    },
  });
  const base = Date.parse('2026-01-01T00:00:00Z');
  await prisma.callAttempt.createMany({
    data: Array.from({ length: HEAVY_ATTEMPTS }, (_, i) => ({
      revoxId: `heavy_${String(i).padStart(4, '0')}`,
      callOrderId: order.id,
      phoneNumber: '+33612345678',
      status: 'completed',
      startedAt: new Date(base + i * 60_000),
      endedAt: new Date(base + i * 60_000 + 30_000),
      versionKey: 'seed',
    })),
  });
  const attempts = await prisma.callAttempt.findMany({ where: { callOrderId: order.id }, select: { id: true } });
  for (let i = 0; i < attempts.length; i += 250) {
    await prisma.transcriptMessage.createMany({
      data: attempts.slice(i, i + 250).map(({ id }) => ({ callAttemptId: id, position: 0, role: 'assistant', content: TURN })),
    });
  }
}, 180_000);
afterAll(() => server?.dispose());

const SECRETS = ['+33699887766', 'abuse_secret turn 1', 'abuse_secret'];

describe('who may export', () => {
  it('answers 401 without a token or with a wrong one, and no rows', async () => {
    for (const token of [undefined, 'wrong-token', 'cb_not_a_real_key_0000000000000000000000000000']) {
      const { status, headers, text } = await fetchExport(server, 'csv', token);
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toBe('Bearer');
      expect(JSON.parse(text).error.code).toBe('unauthorized');
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
  });

  it('answers 401 to a revoked or expired key', async () => {
    const prisma = server.database.prisma;
    const revoked = await createKey(server, 'revoked', ['admin']);
    await prisma.apiKey.update({ where: { name: 'revoked' }, data: { revokedAt: new Date() } });
    const expired = await createKey(server, 'expired', ['admin']);
    await prisma.apiKey.update({ where: { name: 'expired' }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    for (const token of [revoked, expired]) expect((await fetchExport(server, 'ndjson', token)).status).toBe(401);
  });

  it('answers 403 to a key without calls:read', async () => {
    // No scope a key can be given today lacks calls:read; a key stored with a scope this version does not know does.
    const future = await createKey(server, 'future', ['calls:read']);
    await server.database.prisma.apiKey.update({ where: { name: 'future' }, data: { scopes: ['billing:read'] } });
    const { status, text } = await fetchExport(server, 'csv', future);
    expect(status).toBe(403);
    expect(JSON.parse(text).error).toEqual({ code: 'forbidden', message: 'the export needs a key with the "calls:read" scope' });
  });

  it('answers 403 naming filter.transcriptContains to a key without transcripts:read', async () => {
    const { status, text } = await fetchExport(server, 'csv', callsKey, { filter: '{"transcriptContains":"rendez-vous"}' });
    expect(status).toBe(403);
    expect(JSON.parse(text).error).toEqual({
      code: 'forbidden',
      message: 'filter.transcriptContains needs a key with the "transcripts:read" scope',
    });
    // An empty text is no condition, as in GraphQL.
    expect((await fetchExport(server, 'csv', callsKey, { filter: '{"transcriptContains":""}' })).status).toBe(200);
  });

  it('refuses a full-text search to a key without transcripts:read, and a search or condition it cannot run, before any row', async () => {
    const refused = await fetchExport(server, 'csv', callsKey, { filter: '{"transcriptMatches":"rendez-vous"}' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error.message).toBe('filter.transcriptMatches needs a key with the "transcripts:read" scope');
    const noWord = await fetchExport(server, 'csv', transcriptsKey, { filter: '{"transcriptMatches":"-"}' });
    expect(noWord.status).toBe(400);
    expect(JSON.parse(noWord.text).error.message).toMatch(/has no word to search for/);
    const twoOperators = await fetchExport(server, 'csv', transcriptsKey, { filter: '{"output":[{"path":["a"],"equals":1,"gt":0}]}' });
    expect(twoOperators.status).toBe(400);
    expect(JSON.parse(twoOperators.text).error.message).toMatch(/^filter\.output\[0\]: give exactly one operator/);
    const relevance = await fetchExport(server, 'ndjson', transcriptsKey, { orderBy: 'RELEVANCE' });
    expect(relevance.status).toBe(400);
    expect(JSON.parse(relevance.text).error.message).toMatch(/RELEVANCE .* filter\.transcriptMatches/);
  });

  it('keeps the Host and Origin rules of the API', async () => {
    const open = await startTestServer();
    try {
      const { head } = await rawExchange(
        open.port,
        'GET /export/call-attempts.csv HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
      );
      expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden/);
      const response = await fetch(`${open.url}/export/call-attempts.csv`, { headers: { origin: 'https://evil.example' } });
      expect(response.status).toBe(403);
      expect(((await response.json()) as any).error.code).toBe('origin_not_allowed');
      // Open mode, from this machine: served.
      expect((await fetch(`${open.url}/export/call-attempts.csv`)).status).toBe(200);
    } finally {
      await open.dispose();
    }
  });
});

describe('bad requests', () => {
  it.each([
    [{ filter: '{"result": [HUMAN]}' }, /^filter is not valid JSON: /],
    [{ filter: '' }, /^filter is not valid JSON: /],
    [{ filter: '["HUMAN"]' }, /^filter must be a JSON object \(a CallAttemptFilter\), got an array$/],
    [{ filter: '"HUMAN"' }, /^filter must be a JSON object \(a CallAttemptFilter\), got string$/],
    [{ filter: '{"result":["HUMANN"]}' }, /^filter\.result\[0\]: Value "HUMANN" does not exist in "CallResult" enum\.$/],
    [{ filter: '{"direction":["INBOUND"]}' }, /^filter: Field "direction" is not defined by type "CallAttemptFilter"\.$/],
    [{ filter: '{"endedAfter":"yesterday"}' }, /^filter\.endedAfter: .*ISO-8601/],
    [{ filter: '{"phoneNumber":42}' }, /^filter\.phoneNumber: String cannot represent a non string value: 42$/],
    [
      { filter: JSON.stringify({ transcriptContains: 'x'.repeat(201) }) },
      /^filter\.transcriptContains may hold at most 200 characters, got 201$/,
    ],
    [{ filter: JSON.stringify({ phoneNumber: '+'.repeat(101) }) }, /^filter\.phoneNumber may hold at most 100 characters, got 101$/],
    [{ orderBy: 'RELEVANCE_DESC' }, /^orderBy must be one of ENDED_AT_DESC, ENDED_AT_ASC, STARTED_AT_DESC, STARTED_AT_ASC/],
    [{ orderBy: '' }, /^orderBy must be one of /],
    [{ filtre: '{}' }, /^unknown query parameter "filtre": use filter and orderBy$/],
  ])('%o: 400 naming the problem, before any row', async (parameters, message) => {
    const { status, headers, text } = await fetchExport(server, 'csv', TOKEN, parameters);
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    const { error } = JSON.parse(text);
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(message);
  });

  it('400 for a parameter given twice', async () => {
    const response = await fetch(`${exportUrl(server, 'ndjson')}?orderBy=ENDED_AT_ASC&orderBy=ENDED_AT_DESC`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toBe('orderBy is given more than once');
  });

  it('lists a few of many mistakes', async () => {
    const { text } = await fetchExport(server, 'csv', TOKEN, { filter: JSON.stringify({ result: Array(50).fill('NOPE') }) });
    const { message } = JSON.parse(text).error;
    expect(message.split('; ')).toHaveLength(5);
    expect(message).toMatch(/\(and 45 more\)$/);
  });
});

describe('paths and methods', () => {
  /** Node's client sends the path exactly as given (fetch would normalise it). */
  const rawGet = (path: string, method = 'GET', token?: string) =>
    rawExchange(
      server.port,
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    );

  it.each([
    '/export/call-attempts.csv/',
    '//export/call-attempts.csv',
    '/EXPORT/call-attempts.csv',
    '/export/CALL-ATTEMPTS.CSV',
    '/export/call-attempts.csv%2F',
    '/export%2Fcall-attempts.csv',
    '/export/call%2Dattempts.csv',
    '/x/../export/call-attempts.ndjson/..',
    '/export/call-attempts.csv;.ndjson',
    '/export/call-attempts',
    '/export/',
  ])('%s serves nothing, with or without a token', async (path) => {
    for (const token of [undefined, TOKEN]) {
      const { head } = await rawGet(path, 'GET', token);
      expect(head).not.toMatch(/^HTTP\/1\.1 200/);
      expect(head).not.toMatch(/content-type: text\/csv|ndjson/i);
    }
  });

  it('the exact paths (dot segments resolve to them) need the token, whatever the query string', async () => {
    for (const path of [
      '/export/call-attempts.csv',
      '/export/call-attempts.ndjson?x=/health',
      '/export/call-attempts.csv?filter=%7B%7D',
      '/export/./call-attempts.csv',
      '/x/../export/call-attempts.csv',
    ]) {
      expect((await rawGet(path)).head).toMatch(/^HTTP\/1\.1 401 Unauthorized/);
    }
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s answers 405 with Allow, and nothing else', async (method) => {
    const { head } = await rawGet('/export/call-attempts.csv', method, TOKEN);
    expect(head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed/);
    expect(head).toMatch(/\r\nallow: GET, HEAD\r\n/i);
  });
});

/** Resolves once `read()` has returned the same value a few times in a row, polling every 50 ms. */
async function settled(read: () => number): Promise<number> {
  let value = read();
  for (let same = 0; same < 20; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = read();
    same = now === value ? same + 1 : 0;
    value = now;
  }
  return value;
}

/** The log line of the export that finished last, once there is one more than `before`. */
async function nextExportLog(before: number): Promise<string> {
  for (;;) {
    const lines = server.logs.filter((line) => line.includes('"event":"export.finished"'));
    if (lines.length > before) return lines.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const exportLogCount = () => server.logs.filter((line) => line.includes('"event":"export.finished"')).length;

describe('streaming', () => {
  let fullBatches: number;

  it('reads a heavy export in many batches of bounded size', async () => {
    const logs = exportLogCount();
    const before = batchReads();
    const { status, text } = await fetchExport(server, 'csv', transcriptsKey);
    expect(status).toBe(200);
    fullBatches = batchReads() - before;
    const rows = parseCsv(text).slice(1);
    expect(rows).toHaveLength(HEAVY_ATTEMPTS + 1);
    // ~25 MB, read about 512 KiB at a time.
    expect(text.length).toBeGreaterThan(HEAVY_ATTEMPTS * TURN.length);
    expect(fullBatches).toBeGreaterThan(text.length / (1024 * 1024));
    expect(await nextExportLog(logs)).toMatch(/"outcome":"complete"/);
  });

  it('stops reading when the client disconnects mid-export, and serves the next request', async () => {
    const logs = exportLogCount();
    const before = batchReads();
    const { request, response, chunks } = await openExport(server, 'ndjson', transcriptsKey);
    expect(response.statusCode).toBe(200);
    await nextChunk(chunks);
    request.destroy();
    expect(await nextExportLog(logs)).toMatch(/"format":"ndjson","key":"quality",.*"outcome":"client_gone"/);
    // A statement that was running when the client left is counted once it ends.
    const readByTheGoneExport = (await settled(batchReads)) - before;
    expect(readByTheGoneExport).toBeLessThan(fullBatches);
    // The next request is served: nothing holds the database.
    const next = await fetchExport(server, 'ndjson', callsKey, { filter: JSON.stringify({ phoneNumber: '+33699887766' }) });
    expect(parseNdjson(next.text).map((line) => line.revoxId)).toEqual(['abuse_secret']);
    // And the gone export read nothing more: the one batch read since is the request's own.
    expect(batchReads() - before).toBe(readByTheGoneExport + 1);
  });

  it('holds the reading while the client does not read (back-pressure), then completes', async () => {
    const before = batchReads();
    const { chunks } = await openExport(server, 'ndjson', transcriptsKey, { orderBy: 'STARTED_AT_ASC' });
    const received = [await nextChunk(chunks)];
    const readWhilePaused = (await settled(batchReads)) - before;
    // What socket buffers hold, a few batches: not the export.
    expect(readWhilePaused).toBeLessThan(fullBatches / 2);
    expect(await readRest(chunks, received)).toEqual({ complete: true });
    const ids = parseNdjson(Buffer.concat(received).toString('utf8')).map((line) => line.revoxId);
    expect(ids).toHaveLength(HEAVY_ATTEMPTS + 1);
    expect(ids.slice(0, HEAVY_ATTEMPTS)).toEqual(Array.from({ length: HEAVY_ATTEMPTS }, (_, i) => `heavy_${String(i).padStart(4, '0')}`));
  });

  it('lets ingest answer every delivery posted while an export streams', async () => {
    const logs = exportLogCount();
    const { chunks } = await openExport(server, 'csv', transcriptsKey);
    const received: Buffer[] = [];
    const makeDelivery = deliveryMaker('during_export');
    const statuses: number[] = [];
    // Three deliveries at once for each of the first chunks, the export's reading going on between them.
    for (let chunk = 0; chunk < 15; chunk++) {
      received.push(await nextChunk(chunks));
      const answers = await Promise.all([0, 1, 2].map(() => server.deliver(makeDelivery())));
      statuses.push(...answers.map((answer) => answer.status));
    }
    expect(exportLogCount()).toBe(logs);
    expect(statuses).toEqual(Array(45).fill(200));
    expect(await readRest(chunks, received)).toEqual({ complete: true });
    const ids = parseCsv(Buffer.concat(received).toString('utf8'))
      .slice(1)
      .map((row) => row[0]);
    expect(ids.filter((id) => id!.startsWith('heavy_'))).toHaveLength(HEAVY_ATTEMPTS);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await nextExportLog(logs)).toMatch(/"outcome":"complete"/);
  });

  it('cuts the export of a key revoked while it streams', async () => {
    const logs = exportLogCount();
    const key = await createKey(server, 'leaver', ['transcripts:read']);
    const { chunks } = await openExport(server, 'ndjson', key);
    const received = [await nextChunk(chunks)];
    await server.database.prisma.apiKey.update({ where: { name: 'leaver' }, data: { revokedAt: new Date() } });
    // The key watch checks keys every 2 s; the client reads nothing meanwhile, so the export cannot have ended.
    expect(await nextExportLog(logs)).toMatch(/"key":"leaver",.*"outcome":"key_ended"/);
    expect(await readRest(chunks, received)).toEqual({ complete: false });
  });

  // Last: it deletes the heavy attempts.
  it('cuts the connection, instead of ending the body, when the export fails half-way', async () => {
    const logs = exportLogCount();
    const { chunks } = await openExport(server, 'ndjson', transcriptsKey);
    const received = [await nextChunk(chunks)];
    await settled(batchReads);
    // Erased while the client waits: the row the next batch continues from is gone.
    await server.database.prisma.callAttempt.deleteMany({ where: { callOrder: { revoxId: 'call_heavy' } } });
    expect(await readRest(chunks, received)).toEqual({ complete: false });
    expect(await nextExportLog(logs)).toMatch(
      /"level":"error".*"outcome":"failed","error":"ExportCutError: an attempt the export had reached was deleted/,
    );
  });
});

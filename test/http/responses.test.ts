/**
 * What every HTTP answer looks like on the wire, read from a raw socket: a status line with its standard reason
 * phrase (`HTTP/1.1 200 OK`, never `HTTP/1.1 200 `), and, for an error, one of two bodies. Outside GraphQL:
 * `{"status":"error","error":{"code","message"}}` with a snake_case code. At /graphql: GraphQL's
 * `{"errors":[{"message","extensions":{"code"}}]}` with a SCREAMING_SNAKE code, as graphql-js and Yoga write them.
 */
import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { fixture, startTestServer, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';

const TOKEN = 'responses-token-0123456789';
const MAX_BODY_BYTES = 64 * 1024;
let server: TestServer;
let port: number;
let callsKey: string;

beforeAll(async () => {
  server = await startTestServer({
    apiTokens: [TOKEN],
    maxBodyBytes: MAX_BODY_BYTES,
    maxSseConnections: 1,
    corsOrigins: ['https://app.example'],
  });
  port = Number(new URL(server.url).port);
  callsKey = (await createKeyStore(server.database.prisma).create({ name: 'dashboard', scopes: ['calls:read'] })).key;
});
afterAll(() => server?.dispose());

interface Answer {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

/** One request on a fresh connection, written by hand; the answer as it came, its chunked body joined. */
function exchange(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
  const lines = Object.entries({
    host: `127.0.0.1:${port}`,
    connection: 'close',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  const request = `${method} ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const answer = (): Answer | undefined => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const [statusLine = '', ...fields] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        fields.map((field) => [field.slice(0, field.indexOf(':')).toLowerCase(), field.slice(field.indexOf(':') + 1).trim()]),
      );
      const rest = received.subarray(end + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        const chunks: Buffer[] = [];
        for (let at = 0; ; ) {
          const lineEnd = rest.indexOf('\r\n', at);
          if (lineEnd < 0) return undefined;
          const size = Number.parseInt(rest.subarray(at, lineEnd).toString(), 16);
          if (size === 0) return { statusLine, headers, body: Buffer.concat(chunks).toString() };
          if (rest.length < lineEnd + 2 + size) return undefined;
          chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
          at = lineEnd + 4 + size;
        }
      }
      const length = Number(headers['content-length'] ?? 0);
      return rest.length >= length ? { statusLine, headers, body: rest.subarray(0, length).toString() } : undefined;
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const complete = answer();
      if (complete) {
        socket.destroy();
        resolve(complete);
      }
    });
    socket.on('error', reject);
    socket.on('end', () => reject(new Error(`the connection ended before a whole answer: ${received.toString('latin1')}`)));
    socket.write(request);
  });
}

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const webhook = `/webhooks/revox?token=${WEBHOOK_SECRET}`;
const graphql = (query: string) => JSON.stringify({ query });

function expectReasonPhrase(answer: Answer) {
  const status = Number(answer.statusLine.split(' ')[1]);
  expect(answer.statusLine).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
  return status;
}

describe('every answer has its standard reason phrase', () => {
  it.each<[string, () => Promise<Answer>, number]>([
    ['GET /', () => exchange('GET', '/'), 200],
    ['GET /health', () => exchange('GET', '/health'), 200],
    ['GET /ready', () => exchange('GET', '/ready'), 200],
    ['GET /metrics', () => exchange('GET', '/metrics', bearer(TOKEN)), 200],
    [
      'a CORS preflight',
      () => exchange('OPTIONS', '/graphql', { origin: 'https://app.example', 'access-control-request-method': 'POST' }),
      204,
    ],
    [
      'a refused CORS preflight',
      () => exchange('OPTIONS', '/graphql', { origin: 'https://evil.example', 'access-control-request-method': 'POST' }),
      403,
    ],
    ['a GraphQL answer', () => exchange('POST', '/graphql', { ...json, ...bearer(TOKEN) }, graphql('{ callStats { attempts } }')), 200],
    ['a webhook delivery', () => exchange('POST', webhook, json, JSON.stringify(fixture('outbound-attempt-1-voicemail'))), 200],
  ])('%s', async (_name, send, status) => {
    const answer = await send();
    expect(expectReasonPhrase(answer)).toBe(status);
  });
});

describe('every HTTP error outside GraphQL has the same body, with a snake_case code', () => {
  it.each<[string, () => Promise<Answer>, number, string]>([
    ['an unknown path', () => exchange('GET', '/nope'), 404, 'not_found'],
    ['a POST to /health', () => exchange('POST', '/health'), 405, 'method_not_allowed'],
    ['a GET to the webhook', () => exchange('GET', webhook), 405, 'method_not_allowed'],
    ['/metrics without a token', () => exchange('GET', '/metrics'), 401, 'unauthorized'],
    ['/metrics with a calls:read key', () => exchange('GET', '/metrics', bearer(callsKey)), 403, 'forbidden'],
    [
      '/metrics from a refused page',
      () => exchange('GET', '/metrics', { ...bearer(TOKEN), origin: 'https://evil.example' }),
      403,
      'origin_not_allowed',
    ],
    ['a webhook with a wrong token', () => exchange('POST', '/webhooks/revox?token=wrong', json, '{}'), 401, 'unauthorized'],
    ['a webhook body that is not JSON', () => exchange('POST', webhook, json, '{"call":'), 400, 'malformed_body'],
    [
      'a webhook body that is not declared JSON',
      () => exchange('POST', webhook, { 'content-type': 'text/plain' }, '{}'),
      415,
      'unsupported_media_type',
    ],
    ['a webhook delivery without call.id', () => exchange('POST', webhook, json, '{}'), 422, 'invalid_delivery'],
    ['a webhook body over the limit', () => exchange('POST', webhook, json, `"${'x'.repeat(MAX_BODY_BYTES)}"`), 413, 'body_too_large'],
  ])('%s', async (_name, send, status, code) => {
    const answer = await send();
    expect(expectReasonPhrase(answer)).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(answer.body);
    expect(body).toMatchObject({ status: 'error', error: { code, message: expect.any(String) } });
    expect(body.error.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it('too many wrong webhook tokens: 429 with Retry-After', async () => {
    let answer = await exchange('POST', '/webhooks/revox?token=wrong', json, '{}');
    for (let tries = 0; tries < 25 && answer.statusLine.includes(' 401 '); tries += 1) {
      answer = await exchange('POST', '/webhooks/revox?token=wrong', json, '{}');
    }
    expect(expectReasonPhrase(answer)).toBe(429);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'error', error: { code: 'too_many_failed_tokens' } });
  });
});

describe('every HTTP error at /graphql is a GraphQL error body, with a SCREAMING_SNAKE code', () => {
  const post = (headers: Record<string, string>, body: string) => exchange('POST', '/graphql', { ...json, ...headers }, body);
  it.each<[string, () => Promise<Answer>, number, string]>([
    ['no token', () => post({}, graphql('{ callStats { attempts } }')), 401, 'UNAUTHENTICATED'],
    [
      'a refused page',
      () => post({ ...bearer(TOKEN), origin: 'https://evil.example' }, graphql('{ callStats { attempts } }')),
      403,
      'ORIGIN_NOT_ALLOWED',
    ],
    ['a body that is not JSON', () => post(bearer(TOKEN), '{"query":'), 400, 'BAD_REQUEST'],
    [
      'a body not sent as JSON',
      () => exchange('POST', '/graphql', { ...bearer(TOKEN), 'content-type': 'text/plain' }, graphql('{ __typename }')),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a method GraphQL does not use',
      () => exchange('PUT', '/graphql', { ...json, ...bearer(TOKEN) }, graphql('{ __typename }')),
      405,
      'BAD_REQUEST',
    ],
    [
      'a body over 1 MiB',
      () => exchange('POST', '/graphql', { ...json, ...bearer(TOKEN), 'content-length': String(2 ** 21) }),
      413,
      'REQUEST_ENTITY_TOO_LARGE',
    ],
  ])('%s', async (_name, send, status, code) => {
    const answer = await send();
    expect(expectReasonPhrase(answer)).toBe(status);
    const body = JSON.parse(answer.body);
    expect(body.errors[0]).toMatchObject({ message: expect.any(String), extensions: { code } });
    expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  });

  it('an event stream past SSE_MAX_CONNECTIONS: 503 with Retry-After', async () => {
    const stream = new AbortController();
    const first = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { ...json, ...bearer(TOKEN), accept: 'text/event-stream' },
      body: graphql('subscription { callCompleted { attempt { revoxId } } }'),
      signal: stream.signal,
    });
    expect(first.status).toBe(200);
    try {
      const answer = await post(
        { ...bearer(TOKEN), accept: 'text/event-stream' },
        graphql('subscription { callCompleted { attempt { revoxId } } }'),
      );
      expect(expectReasonPhrase(answer)).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      // The error as an event of the stream the client asked for, which an event stream reader parses.
      expect(answer.body).toContain('"extensions":{"code":"TOO_MANY_STREAMS"}');
    } finally {
      stream.abort();
    }
  });
});

/**
 * No data without a token, whatever the URL, method or transport: GraphQL is served at exactly /graphql, every
 * request that reaches GraphQL is authenticated before it is parsed, and unknown paths answer a JSON 404.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

const TOKEN = 'sweep-token-0123456789';
let server: TestServer;
let secrets: string[];

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [TOKEN] });
  const delivery = fixture('outbound-attempt-2-human-completed');
  expect((await server.deliver(delivery)).status).toBe(200);
  // What must never be served without a token: the numbers and a line of the transcript.
  secrets = [delivery.call.to_phone_number, delivery.call.from_phone_number, delivery.call_attempt.transcript[1].content];
});
afterAll(() => server?.dispose());

const QUERY = '{ callAttempts(first: 5) { nodes { phoneNumber transcript { content } callOrder { toPhoneNumber fromPhoneNumber } } } }';
const SUBSCRIPTION = 'subscription { callCompleted { attempt { phoneNumber } } }';

/** The path variants an attacker tries: trailing slash, double slash, prefixes, query tricks, case, encodings, dots. */
const PATHS = [
  '/graphql',
  '/graphql/',
  '//graphql',
  '///graphql',
  '/anything/graphql',
  '/graphql/anything',
  '/x?/graphql',
  '/GRAPHQL',
  '/GraphQL',
  '/graphql%2F',
  '/%2Fgraphql',
  '/gr%61phql',
  '/graphql%00',
  '/graphql;x=1',
  '/./graphql',
  '/graphql/.',
  '/x/../graphql',
  '/graphql/..;/',
  '/graphql?/health',
  '/graphql?x=/webhooks/revox',
  '/webhooks/revox/../../graphql',
];

/** A raw HTTP request: Node's client sends the path exactly as given (fetch would normalise it). */
function rawRequest(path: string, options: { method: string; headers?: Record<string, string>; body?: string }) {
  const { port } = new URL(server.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: options.method, headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        // An SSE stream that is (wrongly) open would never end: a little is enough to judge.
        if (body.length > 4096) response.destroy();
      });
      const done = () => resolve({ status: response.statusCode!, headers: response.headers, body });
      response.on('end', done);
      response.on('close', done);
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error(`no answer for ${options.method} ${path}`)));
    request.end(options.body);
  });
}

function withQuery(path: string, query: string) {
  return `${path}${path.includes('?') ? '&' : '?'}query=${encodeURIComponent(query)}`;
}

interface Variant {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const VARIANTS = PATHS.flatMap((path): Variant[] => [
  {
    name: `POST ${path}`,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  },
  { name: `GET ${path}`, path: withQuery(path, QUERY), method: 'GET', headers: { accept: 'application/json' } },
  { name: `SSE GET ${path}`, path: withQuery(path, SUBSCRIPTION), method: 'GET', headers: { accept: 'text/event-stream' } },
  {
    name: `SSE POST ${path}`,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: SUBSCRIPTION }),
  },
  {
    name: `graphql+json GET ${path}`,
    path: withQuery(path, QUERY),
    method: 'GET',
    headers: { accept: 'application/graphql-response+json' },
  },
  {
    name: `form POST ${path}`,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `query=${encodeURIComponent(QUERY)}`,
  },
  { name: `application/graphql POST ${path}`, path, method: 'POST', headers: { 'content-type': 'application/graphql' }, body: QUERY },
]);

describe('without a token, over HTTP and SSE', () => {
  it.each(VARIANTS)('$name: 401 or 404, and no data', async ({ path, method, headers, body }) => {
    const response = await rawRequest(path, { method, headers, body });
    expect([401, 404]).toContain(response.status);
    for (const secret of secrets) expect(response.body).not.toContain(secret);
    expect(response.body).not.toContain('"data"');
    expect(response.body).not.toMatch(/yoga/i);
  });

  it('the exact path answers 401 with a Bearer challenge; everything else answers a JSON 404', async () => {
    const exact = await rawRequest('/graphql', VARIANTS[0]!);
    expect(exact.status).toBe(401);
    expect(exact.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(exact.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');

    for (const path of ['/graphql/', '//graphql', '/anything/graphql', '/x?/graphql', '/favicon.ico']) {
      const response = await rawRequest(path, { method: 'GET', headers: { accept: 'text/html' } });
      expect(response.status, path).toBe(404);
      expect(response.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse(response.body).error.code).toBe('not_found');
    }
  });

  it('a wrong token, a token in the query string, or another scheme get nothing either', async () => {
    const attempts: Record<string, string>[] = [
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { 'x-api-key': TOKEN },
    ];
    for (const headers of attempts) {
      const response = await rawRequest('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: QUERY }),
      });
      expect(response.status).toBe(401);
    }
    const inQuery = await rawRequest(`/graphql?token=${TOKEN}&access_token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(inQuery.status).toBe(401);
  });

  it('with the token, the exact path serves data over HTTP and SSE', async () => {
    const response = await rawRequest('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toContain(secrets[0]);
    const sse = await rawRequest(withQuery('/graphql', QUERY), {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}` },
    });
    expect(sse.status).toBe(200);
    expect(sse.body).toContain(secrets[0]);
  });
});

describe('without a token, over WebSocket', () => {
  /** Opens a graphql-ws socket at `path`, sends connection_init with `payload`, and reports how it ended. */
  function tryWebSocket(path: string, payload: Record<string, unknown> = {}, subscribeAtOnce = true) {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}${path}`, 'graphql-transport-ws');
    const received: string[] = [];
    return new Promise<{ opened: boolean; code?: number; reason?: string; statusCode?: number; received: string[] }>((resolve) => {
      let opened = false;
      socket.on('unexpected-response', (_request, response) => {
        resolve({ opened, statusCode: response.statusCode, received });
        socket.terminate();
      });
      socket.on('error', () => resolve({ opened, received }));
      socket.on('open', () => {
        opened = true;
        socket.send(JSON.stringify({ type: 'connection_init', payload }));
        // Without waiting for connection_ack, as an attacker would.
        if (subscribeAtOnce) socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
      });
      socket.on('message', (data) => received.push(data.toString()));
      socket.on('close', (code, reason) => resolve({ opened, code, reason: reason.toString(), received }));
    });
  }

  it.each(PATHS.filter((path) => path !== '/graphql'))('%s: the upgrade is refused', async (path) => {
    const outcome = await tryWebSocket(path);
    if (outcome.opened) {
      // Only '/graphql?…' variants reach the endpoint; they still need a token (4401: subscribed before being
      // acknowledged; 4403: refused at connection_init).
      expect([4401, 4403]).toContain(outcome.code);
    } else {
      expect(outcome.statusCode ?? 400).toBeGreaterThanOrEqual(400);
    }
    for (const secret of secrets) expect(outcome.received.join('')).not.toContain(secret);
  });

  it.each([
    ['no connection params', {}],
    ['a wrong token', { authorization: 'Bearer wrong' }],
    ['a token without the Bearer scheme', { authorization: TOKEN }],
    ['a token under an unknown name', { token: TOKEN }],
  ])('/graphql with %s: closed with 4403, saying what is expected, and nothing is sent', async (_case, payload) => {
    const outcome = await tryWebSocket('/graphql', payload, false);
    expect(outcome.code).toBe(4403);
    expect(outcome.reason).toMatch(/authorization.*Bearer <token>/);
    expect(outcome.received).toEqual([]);
  });

  it.each([
    ['authorization', { authorization: `Bearer ${TOKEN}` }],
    ['Authorization', { Authorization: `Bearer ${TOKEN}` }],
    ["Apollo's headers.Authorization", { headers: { Authorization: `Bearer ${TOKEN}` } }],
    ['headers.authorization', { headers: { authorization: `Bearer ${TOKEN}` } }],
  ])('/graphql with the token as %s: connected', async (_case, payload) => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    try {
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload }));
      const first = await new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
      expect(JSON.parse(first)).toEqual({ type: 'connection_ack' });
    } finally {
      socket.terminate();
    }
  });
});

/**
 * Limits per transport: WebSocket connections (authenticated and not yet authenticated count separately, so
 * strangers cannot push dashboards out), operations per connection, Server-Sent Events streams; an operation's error
 * stays with the operation; unexpected errors are logged with the request id.
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_OPERATIONS_PER_CONNECTION, MAX_REQUEST_BODY_BYTES } from '../../src/limits/limits.ts';
import { databaseOnTcp } from '../../support/database.ts';
import { startProxy } from '../helpers/proxy.ts';
import { rawExchange, type TestServer } from '../../support/server.ts';
import { serversPerTest } from '../helpers/serversPerTest.ts';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

const EVENTS = 'subscription { callCompleted { attempt { revoxId } } }';
const { serverWith, cleanups } = serversPerTest();

/** Everything written to stderr from now until the test's cleanup (it is still written). */
function captureStderr(): string[] {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(String(chunk));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  cleanups.push(() => (process.stderr.write = write));
  return written;
}

/** A raw graphql-ws socket: `init` sends connection_init and waits for the acknowledgement. */
async function rawSocket(server: TestServer) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  cleanups.push(() => socket.terminate());
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    closed,
    async init() {
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await waitFor(() => messages.some((message) => message.type === 'connection_ack'));
    },
    send: (message: unknown) => socket.send(JSON.stringify(message)),
  };
}

describe('WebSocket connections', () => {
  it('strangers that never authenticate have a pool of their own and cannot push dashboards out', async () => {
    const server = await serverWith({ maxWebSocketConnections: 2 });
    const dashboards = [await rawSocket(server), await rawSocket(server)];
    for (const dashboard of dashboards) await dashboard.init();

    // Two sockets that never send connection_init fit in their own pool; a third is refused.
    await rawSocket(server);
    await rawSocket(server);
    const third = await rawSocket(server);
    expect((await third.closed).code).toBe(1013);

    // A third dashboard is refused too, but the two connected ones are untouched.
    const extra = await rawSocket(server);
    extra.send({ type: 'connection_init', payload: {} });
    expect((await extra.closed).code).toBe(1013);
    for (const dashboard of dashboards) expect(dashboard.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('a syntax or limit error answers that operation only; the socket stays open and nothing is printed', async () => {
    const server = await serverWith({});
    const stderr = captureStderr();

    const client = await rawSocket(server);
    await client.init();
    client.send({ id: 'syntax', type: 'subscribe', payload: { query: 'subscription { callCompleted { ' } });
    client.send({ id: 'unknown', type: 'subscribe', payload: { query: '{ nope }' } });
    client.send({ id: 'tokens', type: 'subscribe', payload: { query: `{ ${'callStats { attempts } '.repeat(2_000)} }` } });
    await waitFor(() => client.messages.filter((message) => message.type === 'error').length === 3);
    const errors = Object.fromEntries(client.messages.filter((m) => m.type === 'error').map((m) => [m.id, m.payload[0].message]));
    expect(errors.syntax).toMatch(/Syntax Error/);
    expect(errors.unknown).toMatch(/Cannot query field "nope"/);
    expect(errors.tokens).toMatch(/Token limit/i);

    client.send({ id: 'ok', type: 'subscribe', payload: { query: '{ callStats { attempts } }' } });
    await waitFor(() => client.messages.some((message) => message.id === 'ok' && message.type === 'complete'));
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(stderr.join('')).toBe('');
  });

  it(`runs at most ${MAX_OPERATIONS_PER_CONNECTION} operations at once on one connection`, async () => {
    const server = await serverWith({});
    const client = await rawSocket(server);
    await client.init();
    for (let id = 0; id < MAX_OPERATIONS_PER_CONNECTION; id++) client.send({ id: `s${id}`, type: 'subscribe', payload: { query: EVENTS } });
    await waitFor(() => server.events.subscriberCount() === MAX_OPERATIONS_PER_CONNECTION);
    client.send({ id: 'one-more', type: 'subscribe', payload: { query: EVENTS } });
    await waitFor(() => client.messages.some((message) => message.id === 'one-more'));
    const refused = client.messages.find((message) => message.id === 'one-more');
    expect(refused.type).toBe('error');
    expect(refused.payload[0].message).toMatch(`At most ${MAX_OPERATIONS_PER_CONNECTION} operations`);
    expect(server.events.subscriberCount()).toBe(MAX_OPERATIONS_PER_CONNECTION);
  });
});

describe('request size', () => {
  it(`a GraphQL body over ${MAX_REQUEST_BODY_BYTES} bytes is answered 413; a WebSocket message over 1 MiB closes the socket`, async () => {
    const server = await serverWith({});
    const padding = ' '.repeat(MAX_REQUEST_BODY_BYTES);
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ callStats { attempts } }${padding}` }),
    });
    expect(response.status).toBe(413);
    expect(JSON.stringify(await response.json())).not.toContain('"data"');

    const stderr = captureStderr();
    const client = await rawSocket(server);
    await client.init();
    client.send({ id: 'big', type: 'subscribe', payload: { query: `{ callStats { attempts } }${' '.repeat(1024 * 1024)}` } });
    expect((await client.closed).code).toBe(1009);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    // The client's error is logged as one JSON line, not printed as an internal error.
    expect(stderr.join('')).not.toMatch(/Internal error/);
    await waitFor(() => server.logs.some((line) => line.includes('"event":"websocket.client_error"')));
  });

  it('a body without a length (chunked) is counted as it arrives: refused with 413 past the cap, answered below it', async () => {
    const server = await serverWith({});
    const query = JSON.stringify({ query: '{ callStats { attempts } }' });
    const small = await postChunked(server.url, [query.slice(0, 10), query.slice(10)]);
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body)).toEqual({ data: { callStats: { attempts: 0 } } });

    // The first chunks fit; the one that crosses the cap is refused, and the rest is never read.
    const chunk = ' '.repeat(256 * 1024);
    const big = await postChunked(server.url, [`{"query": "{ callStats { attempts } }"${chunk}`, chunk, chunk, chunk, chunk, '}']);
    expect(big.status).toBe(413);
    expect(big.body).toContain('Request body too large');
    expect(big.body).not.toContain('"data"');
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });

  it('a malformed Content-Length, or one beside chunked, is refused by the HTTP parser before GraphQL sees it', async () => {
    const server = await serverWith({});
    const query = '{"query":"{ callStats { attempts } }"}';
    const head = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`;
    for (const lengthHeaders of [
      'Content-Length: 5, 5\r\n',
      'Content-Length: -1\r\n',
      'Content-Length: 10\r\nTransfer-Encoding: chunked\r\n',
    ]) {
      const answer = await rawExchange(server.port, `${head}${lengthHeaders}\r\n${query}`);
      expect(answer.head, lengthHeaders).toMatch(/^HTTP\/1\.1 400/);
      expect(answer.closedByServer).toBe(true);
    }
  });
});

/** POSTs a GraphQL body in chunks, with no Content-Length (so Transfer-Encoding: chunked). */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    // The server may answer (413) and close before every chunk is written.
    request.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

describe('Server-Sent Events streams', () => {
  it('beyond SSE_MAX_CONNECTIONS a stream is answered 503; a closed stream frees its place', async () => {
    const server = await serverWith({ maxSseConnections: 2 });
    const first = await subscribeSse(server.url, EVENTS);
    const second = await subscribeSse(server.url, EVENTS);
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await subscribeSse(server.url, EVENTS);
    cleanups.push(() => third.close());
    expect(third.status).toBe(503);
    expect(third.response.headers.get('retry-after')).toBe('5');

    await first.close();
    await waitFor(() => server.events.subscriberCount() === 1);
    await waitFor(async () => {
      const retry = await subscribeSse(server.url, EVENTS);
      cleanups.push(() => retry.close());
      return retry.status === 200;
    });
  });
});

describe('unexpected errors', () => {
  it('reach the client masked, and the log as one JSON line with the request id (a database that goes away)', async () => {
    const target = await databaseOnTcp();
    cleanups.push(() => target.dispose());
    const proxy = await startProxy(target.port, target.host);
    cleanups.push(() => proxy.close().catch(() => {}));
    const server = await serverWith(
      { databaseUrl: target.url(proxy.port) },
      { dataDir: target.dataDir, databaseUrl: target.url(proxy.port), dispose: async () => {} },
    );
    await proxy.goAway();

    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-unexpected-1' },
      body: JSON.stringify({ query: '{ callOrders(first: 1) { nodes { revoxId } } }' }),
    });
    const body = (await response.json()) as any;
    expect(body.errors[0].message).toBe('Unexpected error.');
    expect(JSON.stringify(body)).not.toMatch(/prisma|ECONN|SELECT/i);
    const logged = () => server.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'graphql.unexpected_error');
    expect(logged()).toEqual([
      expect.objectContaining({ level: 'error', requestId: 'trace-unexpected-1', transport: 'http', path: 'callOrders' }),
    ]);
    // One line naming the cause, without a statement or its values (they can hold filter values such as phone
    // numbers). The page is read in one statement straight through the pool (src/db/statements.ts).
    expect(logged()[0].error).toMatch(/^Error ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);

    // Over WebSocket too, named by the operation.
    const queryClient = wsClient(server.url);
    cleanups.push(() => queryClient.dispose());
    const query = await subscribeWs(queryClient, '{ callStats { attempts } }');
    expect((await query.next()).errors[0].message).toBe('Unexpected error.');
    await waitFor(() => logged().length === 2);
    expect(logged()[1]).toMatchObject({ transport: 'websocket', requestId: expect.stringMatching(/^ws-\d+-/) });
    await proxy.comeBack();
  });
});

/**
 * Access that must end, and limits that must hold, whatever the request looks like: every HTTP subscription is a
 * stream that the SSE limit counts and the key watch ends, whatever its Accept header or method; the open API closes
 * for every socket and stream once a key exists (on every instance) and only one first key can be made; strangers'
 * sockets from one address cannot keep others out; /metrics keeps its Host rule and its labels per key; a refused
 * origin gets no CORS header.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createKeyStore } from '../../src/access/keys.ts';
import { KEY_CHECK_INTERVAL_MS } from '../../src/access/keyWatch.ts';
import { MAX_OPERATION_NAMES_PER_CALLER } from '../../src/metrics.ts';
import { MAX_UNAUTHENTICATED_PER_ADDRESS } from '../../src/limits/limits.ts';
import { addressGroup, GRACE_MS } from '../../src/limits/waitingRoom.ts';
import { databaseOnTcp } from '../../support/database.ts';
import { fixture, type TestServer } from '../../support/server.ts';
import { serversPerTest } from '../helpers/serversPerTest.ts';
import { waitFor } from '../../support/subscriptions.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const EVENTS = 'subscription { callCompleted { attempt { revoxId phoneNumber } } }';
const { serverWith, cleanups } = serversPerTest();

interface StreamRequest {
  method?: 'GET' | 'POST';
  /** null: no Accept header at all (fetch would add one). */
  accept?: string | null;
  token?: string;
  query?: string;
}

/** Opens a subscription over HTTP exactly as asked (Node's client adds no header); the text received is kept. */
function openStream(server: TestServer, { method = 'GET', accept = null, token, query = EVENTS }: StreamRequest) {
  const body = method === 'POST' ? JSON.stringify({ query }) : undefined;
  const path = method === 'GET' ? `/graphql?query=${encodeURIComponent(query)}` : '/graphql';
  const headers: Record<string, string> = {
    ...(accept === null ? {} : { accept }),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  return new Promise<{ status: number; text: () => string; ended: Promise<void>; close: () => void }>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, path, method, headers }, (response) => {
      let text = '';
      const ended = new Promise<void>((done) => response.once('close', done));
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      resolve({ status: response.statusCode!, text: () => text, ended, close: () => request.destroy() });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A raw graphql-ws socket, from `localAddress` if given; `init` sends connection_init with this token. */
async function rawSocket(server: TestServer, localAddress?: string) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { localAddress });
  cleanups.push(() => socket.terminate());
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  let closedWith: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve((closedWith = { code, reason: reason.toString() }))),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    closed,
    closedCode: () => closedWith?.code,
    /** Sends connection_init; resolves with whether it was acknowledged (false: the socket was closed). */
    async init(token?: string): Promise<boolean> {
      socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} }));
      await waitFor(() => closedWith !== undefined || messages.some((message) => message.type === 'connection_ack'));
      return closedWith === undefined;
    },
    send: (message: unknown) => socket.send(JSON.stringify(message)),
  };
}

/** A delivery of a new order each time, to the phone number given. */
function newDelivery(id: string, phoneNumber: string) {
  const delivery = fixture('outbound-attempt-1-voicemail');
  delivery.call.id = `call_${id}`;
  delivery.call_attempt.id = `attempt_${id}`;
  delivery.call_attempt.phone_number = phoneNumber;
  delivery.call.to_phone_number = phoneNumber;
  delivery.call.call_attempts = [delivery.call_attempt];
  delivery.call.last_call_attempt = delivery.call_attempt;
  return delivery;
}

const CREATE_ADMIN_KEY = (name: string) => `mutation { createApiKey(name: "${name}", scopes: [ADMIN]) { key } }`;

/** Every way of asking for a subscription over HTTP that Yoga answers with an event stream. */
const STREAM_REQUESTS: StreamRequest[] = [
  { accept: 'text/event-stream' },
  { accept: '*/*' },
  { accept: null },
  { accept: 'text/*' },
  { accept: 'Text/Event-Stream' },
  { accept: 'application/json, text/*;q=0.1' },
  { method: 'POST', accept: '*/*' },
  { method: 'POST', accept: null },
];

describe('every HTTP subscription is a stream, whatever its Accept header or method', () => {
  it(
    'the streams of a revoked key all end, and none of them receives the next event',
    async () => {
      // With API_TOKENS the API is never open: a revoked key is refused, not taken for an open caller.
      const server = await serverWith({ apiTokens: ['full-access-token-0123456789'] });
      const { key } = await createKeyStore(server.database.prisma).create({ name: 'dashboard', scopes: ['calls:read'] });
      const streams = [];
      for (const request of STREAM_REQUESTS) {
        const stream = await openStream(server, { ...request, token: key });
        cleanups.push(() => stream.close());
        expect(stream.status, JSON.stringify(request)).toBe(200);
        streams.push(stream);
      }
      await waitFor(() => server.events.subscriberCount() === STREAM_REQUESTS.length);

      await createKeyStore(server.database.prisma).revoke('dashboard');
      expect((await server.graphql('{ callStats { attempts } }', undefined, key)).status).toBe(401);
      await Promise.all(streams.map((stream) => stream.ended));
      expect(server.events.subscriberCount()).toBe(0);

      expect((await server.deliver(newDelivery('after_revocation', '+33698765432'))).status).toBe(200);
      for (const stream of streams) expect(stream.text()).not.toContain('+33698765432');
    },
    5 * KEY_CHECK_INTERVAL_MS + 30_000,
  );

  it('SSE_MAX_CONNECTIONS counts them all', async () => {
    const server = await serverWith({ maxSseConnections: 2 });
    for (const request of [{ accept: 'text/*' }, { method: 'POST', accept: '*/*' }] as const) {
      const stream = await openStream(server, request);
      cleanups.push(() => stream.close());
      expect(stream.status).toBe(200);
    }
    for (const request of STREAM_REQUESTS) {
      const refused = await openStream(server, request);
      cleanups.push(() => refused.close());
      expect(refused.status, JSON.stringify(request)).toBe(503);
    }
    expect(server.events.subscriberCount()).toBe(2);
  });

  it('a subscription Yoga cannot stream for its Accept header is answered 406 and leaves no subscriber behind', async () => {
    const server = await serverWith({ maxSseConnections: 1 });
    for (const accept of ['application/json', 'application/graphql-response+json', 'multipart/mixed']) {
      const refused = await openStream(server, { accept });
      expect(refused.status, accept).toBe(406);
      await refused.ended;
    }
    await waitFor(() => server.events.subscriberCount() === 0);
    // Nor does it hold a place in the stream limit.
    const stream = await openStream(server, { accept: 'text/event-stream' });
    cleanups.push(() => stream.close());
    expect(stream.status).toBe(200);
  });
});

describe('the open API closes for everyone once a key exists', () => {
  it('on the instance that made the key: at once, for HTTP, every open socket and every open stream', async () => {
    const server = await serverWith({});
    const socket = await rawSocket(server);
    expect(await socket.init()).toBe(true);
    const stream = await openStream(server, { accept: '*/*' });
    cleanups.push(() => stream.close());
    expect(stream.status).toBe(200);

    const created = await server.graphql(CREATE_ADMIN_KEY('first'));
    expect(created.body.data.createApiKey.key).toMatch(/^cb_/);
    // Not a second later: now.
    expect((await server.graphql('{ callStats { attempts } }')).status).toBe(401);
    expect(await socket.closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/no longer open/) });
    await stream.ended;

    // The socket cannot be used to make another key: it is gone, and a new one needs a key.
    const again = await rawSocket(server);
    expect(await again.init()).toBe(false);
    expect((await again.closed).code).toBe(4403);
    expect(await createKeyStore(server.database.prisma).list()).toHaveLength(1);
  });

  it('a first key made over a WebSocket reaches its maker; then that socket is closed too', async () => {
    const server = await serverWith({});
    const socket = await rawSocket(server);
    expect(await socket.init()).toBe(true);
    socket.send({ id: 'create', type: 'subscribe', payload: { query: CREATE_ADMIN_KEY('first') } });
    expect((await socket.closed).code).toBe(4403);
    const answer = socket.messages.find((message) => message.id === 'create' && message.type === 'next');
    expect(answer.payload.data.createApiKey.key).toMatch(/^cb_/);
  });

  it('two first keys made at the same moment: one is made, the other refused', async () => {
    const server = await serverWith({});
    const results = await Promise.all(['one', 'two', 'three'].map((name) => server.graphql(CREATE_ADMIN_KEY(name))));
    const made = results.filter((result) => result.body.data?.createApiKey?.key);
    expect(made).toHaveLength(1);
    expect(await createKeyStore(server.database.prisma).list()).toHaveLength(1);
  });

  it(
    'on another instance sharing the database: within the key check, for HTTP, sockets and streams',
    async () => {
      const database = await databaseOnTcp();
      cleanups.push(() => database.dispose());
      const shared = { dataDir: database.dataDir, databaseUrl: database.url(database.port), dispose: async () => {} };
      const one = await serverWith({ databaseUrl: shared.databaseUrl }, shared);
      const two = await serverWith({ databaseUrl: shared.databaseUrl }, shared);
      const socket = await rawSocket(two);
      expect(await socket.init()).toBe(true);
      const stream = await openStream(two, { accept: 'text/event-stream' });
      cleanups.push(() => stream.close());
      expect(stream.status).toBe(200);

      expect((await one.graphql(CREATE_ADMIN_KEY('first'))).body.data.createApiKey.key).toMatch(/^cb_/);
      expect(await socket.closed).toMatchObject({ code: 4403 });
      await stream.ended;
      expect((await two.graphql('{ callStats { attempts } }')).status).toBe(401);
      // The other instance refuses to make a first key too.
      expect((await two.graphql(CREATE_ADMIN_KEY('second'))).status).toBe(401);
    },
    5 * KEY_CHECK_INTERVAL_MS + 30_000,
  );
});

describe('sockets that have not authenticated yet', () => {
  it('from one address cannot keep a client from another address, or one with a valid token, out', async () => {
    const token = 'dashboard-token-0123456789';
    const server = await serverWith({ apiTokens: [token], maxWebSocketConnections: 20 });
    // More strangers than the whole pool for sockets not yet authenticated, all from one address, none of them
    // sending connection_init (they would be dropped after 5 s; the clients below come well before).
    const strangers = await Promise.all(Array.from({ length: 30 }, () => rawSocket(server, '127.0.0.1')));
    // The pool is full of strangers that came at once: the ones past it are refused.
    await waitFor(() => strangers.filter((stranger) => stranger.closedCode() === 1013).length === 10);
    // Once they have idled past the grace, a client takes an idler's place, from another address or the same.
    await sleep(GRACE_MS);
    const elsewhere = await rawSocket(server, '127.0.0.2');
    expect(await elsewhere.init(token)).toBe(true);
    const sameAddress = await rawSocket(server, '127.0.0.1');
    expect(await sameAddress.init(token)).toBe(true);
    expect(strangers.filter((stranger) => stranger.closedCode() === 1013)).toHaveLength(12);
  });

  it(`from one address past ${MAX_UNAUTHENTICATED_PER_ADDRESS}: a newcomer takes the place of the oldest that has idled a second`, async () => {
    const server = await serverWith({ apiTokens: ['dashboard-token-0123456789'], maxWebSocketConnections: 100 });
    const first: Awaited<ReturnType<typeof rawSocket>>[] = [];
    for (let i = 0; i < MAX_UNAUTHENTICATED_PER_ADDRESS; i += 1) first.push(await rawSocket(server, '127.0.0.1'));
    await sleep(GRACE_MS);
    // A burst past the share is let in while nobody has idled long enough; then each newcomer evicts the oldest.
    const burst = [];
    for (let i = 0; i < 5; i += 1) burst.push(await rawSocket(server, '127.0.0.1'));
    await waitFor(() => first.filter((socket) => socket.closedCode() === 1013).length === 5);
    expect(first.slice(0, 5).every((socket) => socket.closedCode() === 1013)).toBe(true);
    expect(first.slice(5).every((socket) => socket.closedCode() === undefined)).toBe(true);
    expect(burst.every((socket) => socket.closedCode() === undefined)).toBe(true);
  });

  it('count an IPv4 address alone, and an IPv6 address with the rest of its /64', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    const group = addressGroup('2001:db8:0:1::1');
    expect(group).toBe('2001:db8:0:1::/64');
    for (const other of ['2001:db8::1:ffff:ffff:ffff:ffff', '2001:DB8:0:1:abcd::7', '2001:0db8:0000:0001:0:0:0:2%eth0']) {
      expect(addressGroup(other), other).toBe(group);
    }
    expect(addressGroup('2001:db8:0:2::1')).not.toBe(group);
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
  });
});

describe('/metrics', () => {
  it('in open mode, answers loopback Host names only (no DNS rebinding)', async () => {
    const server = await serverWith({});
    const scrape = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const request = http.get({ host: '127.0.0.1', port: server.port, path: '/metrics', headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode!);
        });
        request.on('error', reject);
      });
    expect(await scrape('attacker.example')).toBe(403);
    expect(await scrape(`attacker.example:${server.port}`)).toBe(403);
    expect(await scrape(`127.0.0.1:${server.port}`)).toBe(200);
    expect(await scrape(`localhost:${server.port}`)).toBe(200);
  });

  it('one key cannot take the operation-name labels of others', async () => {
    const server = await serverWith({});
    const store = createKeyStore(server.database.prisma);
    const admin = (await store.create({ name: 'prometheus', scopes: ['admin'] })).key;
    const noisy = (await store.create({ name: 'noisy', scopes: ['calls:read'] })).key;
    const dashboard = (await store.create({ name: 'dashboard', scopes: ['calls:read'] })).key;
    // More names than all the labels (200) together.
    for (let index = 0; index < 205; index++) await server.graphql(`query Noise${index} { callStats { attempts } }`, undefined, noisy);
    await server.graphql('query Dashboard { callStats { attempts } }', undefined, dashboard);
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(text).toMatch(/^callboard_graphql_operations_total\{type="query",name="Dashboard",result="ok"\} 1$/m);
    const noiseLabels = text.match(/^callboard_graphql_operations_total\{type="query",name="Noise\d+"/gm) ?? [];
    expect(noiseLabels).toHaveLength(MAX_OPERATION_NAMES_PER_CALLER);
  });
});

describe('CORS', () => {
  it('a refused origin gets no CORS header, in open mode and with CORS_ORIGINS', async () => {
    const token = 'cors-token-0123456789';
    for (const overrides of [{}, { apiTokens: [token], corsOrigins: ['https://dashboard.example'] }]) {
      const server = await serverWith(overrides);
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ callStats { attempts } }' }),
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});

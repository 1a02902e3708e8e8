/**
 * Scoped API keys against the real server: every scope against every guarded field, over HTTP, SSE and WebSocket;
 * creation, listing without the secret, revocation during an open subscription, expiry; API_TOKENS as full access.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore, hashKey } from '../../src/access/keys.ts';
import { KEY_CHECK_INTERVAL_MS } from '../../src/access/keyWatch.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

const FULL_ACCESS_TOKEN = 'legacy-token-0123456789';
let server: TestServer;
const keys: Record<'calls' | 'transcripts' | 'admin', string> = { calls: '', transcripts: '', admin: '' };
let delivery: any;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [FULL_ACCESS_TOKEN] });
  const store = createKeyStore(server.database.prisma);
  keys.calls = (await store.create({ name: 'dashboard', scopes: ['calls:read'] })).key;
  keys.transcripts = (await store.create({ name: 'analyst', scopes: 'transcripts:read' })).key;
  keys.admin = (await store.create({ name: 'ops', scopes: ['admin'] })).key;
  delivery = fixture('outbound-attempt-2-human-completed');
  expect((await server.deliver(delivery)).status).toBe(200);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await waitFor(() => server.events.subscriberCount() === 0);
});
afterAll(() => server?.dispose());

const transcriptLine = () => delivery.call_attempt.transcript[1].content as string;

/** The guarded reads, and the scope each needs. */
const READS = [
  {
    name: 'orders and attempts',
    scope: 'calls:read',
    query: '{ callOrders(first: 5) { nodes { revoxId toPhoneNumber lastAttempt { result durationSeconds } } } }',
  },
  { name: 'stats', scope: 'calls:read', query: '{ callStats { attempts answerRate } }' },
  { name: 'a transcript', scope: 'transcripts:read', query: '{ callAttempts(first: 5) { nodes { revoxId transcript { content } } } }' },
  { name: 'a recording URL', scope: 'transcripts:read', query: '{ callAttempts(first: 5) { nodes { recordingUrl } } }' },
  { name: 'structured output', scope: 'transcripts:read', query: '{ callAttempts(first: 5) { nodes { structuredOutput } } }' },
  {
    name: 'a transcript search',
    scope: 'transcripts:read',
    query: '{ callAttempts(first: 5, filter: { transcriptContains: "a" }) { totalCount } }',
  },
  {
    name: 'stats over a transcript search',
    scope: 'transcripts:read',
    query: '{ callStats(filter: { transcriptContains: "a" }) { attempts } }',
  },
  { name: 'the keys', scope: 'admin', query: '{ apiKeys { name keyPrefix } }' },
  { name: 'the erasures', scope: 'admin', query: '{ erasures { erasedAt } }' },
] as const;

const HOLDERS = [
  { key: 'calls', scopes: ['calls:read'] },
  { key: 'transcripts', scopes: ['calls:read', 'transcripts:read'] },
  { key: 'admin', scopes: ['calls:read', 'transcripts:read', 'admin'] },
] as const;

const CASES = HOLDERS.flatMap((holder) =>
  READS.map((read) => ({ ...read, holder: holder.key, allowed: (holder.scopes as readonly string[]).includes(read.scope) })),
);

function expectRefused(result: any, scope: string) {
  expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
  expect(result.errors[0]).toMatchObject({
    message: expect.stringContaining(`needs ${scope}, which this API key lacks`),
    extensions: { code: 'FORBIDDEN', missingScope: scope },
  });
  // Refused, never served: not even partly.
  expect(JSON.stringify(result.data ?? null)).not.toContain(transcriptLine());
  expect(JSON.stringify(result.data ?? null)).not.toContain('recordings.');
}

describe('every scope against every guarded read', () => {
  it.each(CASES)('over HTTP, the $holder key reading $name', async ({ holder, query, scope, allowed }) => {
    const { status, body } = await server.graphql(query, undefined, keys[holder]);
    expect(status).toBe(200);
    if (allowed) expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    else expectRefused(body, scope);
  });

  it.each(CASES)('over SSE, the $holder key reading $name', async ({ holder, query, scope, allowed }) => {
    const stream = await subscribeSse(server.url, query, undefined, keys[holder]);
    cleanups.push(() => stream.close());
    const result = await stream.next();
    if (allowed) expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    else expectRefused(result, scope);
  });

  it.each(CASES)('over WebSocket, the $holder key reading $name', async ({ holder, query, scope, allowed }) => {
    const client = wsClient(server.url, keys[holder]);
    cleanups.push(() => client.dispose());
    const result = await (await subscribeWs(client, query)).next();
    if (allowed) expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    else expectRefused(result.error ? { errors: result.error } : result, scope);
  });

  it('a transcript message fetched by its global id needs transcripts:read too', async () => {
    const { body } = await server.graphql('{ callAttempts(first: 1) { nodes { transcript { id } } } }', undefined, FULL_ACCESS_TOKEN);
    const id = body.data.callAttempts.nodes[0].transcript[0].id;
    const query = `{ node(id: "${id}") { ... on TranscriptMessage { content } } }`;
    expectRefused((await server.graphql(query, undefined, keys.calls)).body, 'transcripts:read');
    expect((await server.graphql(query, undefined, keys.transcripts)).body.data.node.content).toBeTypeOf('string');
  });

  it.each([
    ['WebSocket', 'ws'],
    ['SSE', 'sse'],
  ])('a calls:read subscription over %s gets its events, and each names the scope a transcript needs', async (_name, transport) => {
    const subscription = 'subscription { callCompleted { callOrder { revoxId } attempt { revoxId transcript { content } } } }';
    const light = 'subscription { callCompleted { attempt { revoxId result } } }';
    const open = async (query: string) => {
      if (transport === 'sse') {
        const stream = await subscribeSse(server.url, query, undefined, keys.calls);
        cleanups.push(() => stream.close());
        return stream;
      }
      const client = wsClient(server.url, keys.calls);
      cleanups.push(() => client.dispose());
      return subscribeWs(client, query);
    };
    const before = server.events.subscriberCount();
    const heavy = await open(subscription);
    const allowed = await open(light);
    await waitFor(() => server.events.subscriberCount() === before + 2);
    const next = fixture('outbound-attempt-1-voicemail');
    next.call.id = `call_scope_${transport}`;
    next.call_attempt.id = `attempt_scope_${transport}`;
    next.call.call_attempts = [next.call_attempt];
    next.call.last_call_attempt = next.call_attempt;
    expect((await server.deliver(next)).status).toBe(200);
    expectRefused(await heavy.next(), 'transcripts:read');
    expect((await allowed.next()).data.callCompleted.attempt.revoxId).toBe(next.call_attempt.id);
  });

  it('a key with only calls:read may not erase or manage keys', async () => {
    for (const mutation of [
      'mutation { eraseCalls(phoneNumber: "+33612345678", dryRun: true) { callOrders } }',
      'mutation { revokeApiKey(nameOrId: "ops") { name } }',
    ]) {
      expectRefused((await server.graphql(mutation, undefined, keys.transcripts)).body, 'admin');
    }
  });
});

describe('keys', () => {
  it('API_TOKENS keep working, with every scope', async () => {
    for (const read of READS) {
      const { body } = await server.graphql(read.query, undefined, FULL_ACCESS_TOKEN);
      expect(body.errors, read.name).toBeUndefined();
    }
  });

  it('are created with a cb_ prefix, stored only as a hash, and listed without their secret', async () => {
    const created = (
      await server.graphql(
        'mutation { createApiKey(name: "ci-bot", scopes: [CALLS_READ], expiresInDays: 30) { key apiKey { name scopes expiresAt } } }',
        undefined,
        keys.admin,
      )
    ).body.data.createApiKey;
    expect(created.key).toMatch(/^cb_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ name: 'ci-bot', scopes: ['calls:read'] });
    expect(Date.parse(created.apiKey.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const [row] = await server.database.prisma.$queryRaw<
      { row: string }[]
    >`SELECT row_to_json(k)::text AS row FROM api_keys k WHERE name = 'ci-bot'`;
    expect(row!.row).not.toContain(created.key);
    expect(row!.row).toContain(hashKey(created.key));

    const listed = JSON.stringify(
      (await server.graphql('{ apiKeys { name keyPrefix scopes lastUsedAt revokedAt } }', undefined, keys.admin)).body,
    );
    expect(listed).toContain('ci-bot');
    expect(listed).not.toContain(created.key);
    for (const key of Object.values(keys)) expect(listed).not.toContain(key);

    // Used once: lastUsedAt is set.
    expect((await server.graphql('{ callStats { attempts } }', undefined, created.key)).status).toBe(200);
    await waitFor(async () => (await server.database.prisma.apiKey.findUnique({ where: { name: 'ci-bot' } }))?.lastUsedAt !== null);

    const duplicate = (await server.graphql('mutation { createApiKey(name: "ci-bot", scopes: [ADMIN]) { key } }', undefined, keys.admin))
      .body;
    expect(duplicate.errors[0].message).toMatch(/a key named "ci-bot" exists already/);
  });

  it(
    'a revoked key stops working at once over HTTP, and its open subscriptions are closed within seconds (4403)',
    async () => {
      const store = createKeyStore(server.database.prisma);
      const { key } = await store.create({ name: 'to-revoke', scopes: ['calls:read'] });
      let closed: { code: number; reason: string } | undefined;
      const client = wsClient(server.url, key, (event) => (closed = event));
      cleanups.push(() => client.dispose());
      await subscribeWs(client, 'subscription { callCompleted { attempt { revoxId } } }');
      const stream = await subscribeSse(server.url, 'subscription { callCompleted { attempt { revoxId } } }', undefined, key);
      cleanups.push(() => stream.close());
      expect(stream.status).toBe(200);

      const revoked = (await server.graphql('mutation { revokeApiKey(nameOrId: "to-revoke") { revokedAt } }', undefined, keys.admin)).body;
      expect(revoked.data.revokeApiKey.revokedAt).toBeTruthy();
      const refused = await server.graphql('{ callStats { attempts } }', undefined, key);
      expect(refused.status).toBe(401);

      await waitFor(() => closed !== undefined);
      expect(closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/revoked or has expired/) });
      await stream.ended;
      expect(server.logs.some((line) => line.includes('"event":"access.key_closed"'))).toBe(true);
    },
    5 * KEY_CHECK_INTERVAL_MS + 30_000,
  );

  it('an expired key stops working, and its subscriptions are closed', async () => {
    const store = createKeyStore(server.database.prisma);
    const { key, id } = await store.create({ name: 'short-lived', scopes: ['calls:read'], expiresInDays: 1 });
    let closed: { code: number } | undefined;
    const client = wsClient(server.url, key, (event) => (closed = event));
    cleanups.push(() => client.dispose());
    await subscribeWs(client, 'subscription { callCompleted { attempt { revoxId } } }');
    expect((await server.graphql('{ callStats { attempts } }', undefined, key)).status).toBe(200);

    await server.database.prisma.apiKey.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    expect((await server.graphql('{ callStats { attempts } }', undefined, key)).status).toBe(401);
    await waitFor(() => closed !== undefined);
    expect(closed!.code).toBe(4403);
  });
});

describe('open mode', () => {
  it('is open until the first key is created, then needs a key', async () => {
    const open = await startTestServer();
    cleanups.push(() => open.dispose());
    expect((await open.graphql('{ callStats { attempts } }')).status).toBe(200);
    const { key } = await createKeyStore(open.database.prisma).create({ name: 'first', scopes: ['calls:read'] });
    await waitFor(async () => (await open.graphql('{ callStats { attempts } }')).status === 401);
    expect((await open.graphql('{ callStats { attempts } }', undefined, key)).status).toBe(200);
  });
});

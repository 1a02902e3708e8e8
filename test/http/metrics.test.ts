/** GET /metrics: Prometheus text format for an admin key, parsed with a Prometheus text parser; bounded labels. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../../support/subscriptions.ts';

let server: TestServer;
const keys = { admin: '', reader: '' };
beforeAll(async () => {
  server = await startTestServer();
  const store = createKeyStore(server.database.prisma);
  keys.admin = (await store.create({ name: 'prometheus', scopes: ['admin'] })).key;
  keys.reader = (await store.create({ name: 'dashboard', scopes: ['transcripts:read'] })).key;
  // The server notices within a second that keys exist, and stops being open.
  await waitFor(async () => (await fetch(`${server.url}/metrics`)).status === 401);
});
afterAll(() => server?.dispose());

async function scrape() {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const families = parsePrometheusTextFormat(text);
  return {
    families,
    value(name: string, labels: Record<string, string> = {}) {
      const family = families.find((candidate) => candidate.name === name);
      const sample = family?.metrics.find((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value));
      return sample === undefined ? undefined : Number(sample.value);
    },
    /** A histogram's observations over all its series, from their `_count` lines (the parser keeps one series). */
    observations(name: string) {
      const counts = [...text.matchAll(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))];
      return counts.reduce((sum, match) => sum + Number(match[1]), 0);
    },
  };
}

describe('GET /metrics', () => {
  it('needs a key with the admin scope', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const reader = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${keys.reader}` } });
    expect(reader.status).toBe(403);
    expect(await reader.text()).toMatch(/admin/);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}` } })).status).toBe(405);
  });

  it('counts webhook deliveries, GraphQL operations, subscribers and events', async () => {
    const client = wsClient(server.url, keys.reader);
    const subscription = await subscribeWs(client, 'subscription Dashboard { callCompleted { attempt { revoxId } } }');
    const stream = await subscribeSse(server.url, 'subscription { callCompleted { attempt { revoxId } } }', undefined, keys.reader);
    await waitFor(() => server.events.subscriberCount() === 2);

    const delivery = fixture('outbound-attempt-2-human-completed');
    expect((await server.deliver(delivery)).status).toBe(200);
    expect((await server.deliver(delivery)).body.duplicate).toBe(true);
    expect((await server.deliver(delivery, { token: 'wrong' })).status).toBe(401);
    // The delivery finishes both attempts of the order: two events.
    for (const received of [subscription, stream]) {
      await received.next();
      await received.next();
    }
    await server.graphql('query LatestCalls { callOrders(first: 1) { totalCount } }', undefined, keys.reader);
    // Executed, with an error: an unknown global id.
    await server.graphql('query Broken { node(id: "bm90LWEtdHlwZToxMjM=") { id } }', undefined, keys.reader);
    await server.graphql('{ callStats { attempts } }', undefined, keys.reader);

    const metrics = await scrape();
    expect(metrics.value('callboard_webhook_deliveries_total', { outcome: 'accepted', status: '200' })).toBe(1);
    expect(metrics.value('callboard_webhook_deliveries_total', { outcome: 'duplicate', status: '200' })).toBe(1);
    expect(metrics.value('callboard_webhook_deliveries_total', { outcome: 'unauthorized', status: '401' })).toBe(1);
    expect(metrics.observations('callboard_webhook_duration_seconds')).toBe(3);
    expect(metrics.value('callboard_graphql_operations_total', { type: 'query', name: 'LatestCalls', result: 'ok' })).toBe(1);
    expect(metrics.value('callboard_graphql_operations_total', { type: 'query', name: 'anonymous', result: 'ok' })).toBe(1);
    expect(metrics.value('callboard_graphql_operations_total', { type: 'query', name: 'Broken', result: 'error' })).toBe(1);
    expect(metrics.value('callboard_graphql_operations_total', { type: 'subscription', name: 'Dashboard', result: 'ok' })).toBe(1);
    expect(metrics.observations('callboard_graphql_operation_duration_seconds')).toBe(3);
    expect(metrics.value('callboard_subscribers', { transport: 'websocket' })).toBe(1);
    expect(metrics.value('callboard_subscribers', { transport: 'sse' })).toBe(1);
    expect(metrics.value('callboard_websocket_connections')).toBe(1);
    expect(metrics.value('callboard_events_published_total')).toBe(2);
    expect(metrics.value('callboard_events_sent_total', { transport: 'websocket' })).toBe(2);
    expect(metrics.value('callboard_events_sent_total', { transport: 'sse' })).toBe(2);
    expect(metrics.value('callboard_events_dropped_total')).toBe(0);
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // The pool gauge appears with a PostgreSQL server only; Redis only with REDIS_URL.
    expect(metrics.value('callboard_db_pool_connections', { state: 'total' }) === undefined).toBe(server.database.kind === 'embedded');
    expect(metrics.value('callboard_redis_connected', { role: 'publish' })).toBeUndefined();
    client.dispose();
    await stream.close();
  });

  it('keeps labels bounded: no ids, numbers or query text, and at most 200 operation names', async () => {
    for (let index = 0; index < 210; index++) await server.graphql(`query Name${index} { callStats { attempts } }`, undefined, keys.reader);
    await server.graphql('query { callOrder(revoxId: "call_01JD8Q3T9Y7W5V3T1R9P7N5M3K") { toPhoneNumber } }', undefined, keys.reader);
    const { families, value } = await scrape();
    const names = new Set(
      families.find((family) => family.name === 'callboard_graphql_operations_total')!.metrics.map((metric) => metric.labels!.name),
    );
    expect(names.size).toBeLessThanOrEqual(200 + 3);
    expect(value('callboard_graphql_operations_total', { name: 'other' })).toBeGreaterThanOrEqual(10);
    const text = JSON.stringify(families);
    expect(text).not.toMatch(/\+33|call_01|revoxId|callOrder\(/);
  });
});

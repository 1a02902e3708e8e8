/**
 * What one request may make the database do, against the real server and database: over-long arguments and
 * operations priced above the cost limit are refused before any SQL is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
/** Every SQL statement the server sent. */
const statements: string[] = [];
beforeAll(async () => {
  server = await startTestServer({}, undefined, { onQuery: (sql) => statements.push(sql) });
  expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
}, 60_000);
afterAll(() => server?.dispose());

/** Runs `query` and returns its only error, checking that no data came back and no SQL was sent for it. */
async function refusedBeforeSql(query: string, variables?: Record<string, unknown>) {
  const before = statements.length;
  const { body } = await server.graphql(query, variables);
  expect(body.data ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  expect(statements.slice(before)).toEqual([]);
  return body.errors[0];
}

describe('refused before any SQL', () => {
  it('a transcript search of 400 KB of escaped wildcards, naming the argument and the limit', async () => {
    const error = await refusedBeforeSql(
      'query($text: String) { callAttempts(filter: { transcriptContains: $text }) { totalCount nodes { revoxId } } }',
      { text: '%_'.repeat(200_000) },
    );
    expect(error.message).toBe('filter.transcriptContains may hold at most 200 characters, got 400000');
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('a phone number filter of 10,000 characters', async () => {
    const error = await refusedBeforeSql('query($n: String) { callOrders(filter: { phoneNumber: $n }) { totalCount } }', {
      n: '+'.repeat(10_000),
    });
    expect(error.message).toBe('filter.phoneNumber may hold at most 100 characters, got 10000');
  });

  it('nodes with 15,000 ids', async () => {
    const ids = Array.from({ length: 15_000 }, (_, i) => Buffer.from(`CallOrder:${i}`).toString('base64'));
    const error = await refusedBeforeSql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(error.message).toBe('ids may hold at most 100 items, got 15000');
  });

  it('20 aliased hourly series', async () => {
    const series = Array.from({ length: 20 }, (_, i) => `s${i}: series(bucket: HOUR, timeZone: "Europe/Paris") { start attempts }`);
    const error = await refusedBeforeSql(`{ callStats { ${series.join(' ')} } }`);
    expect(error.extensions.code).toBe('OPERATION_TOO_EXPENSIVE');
  });

  it('while a search of 200 characters of escaped wildcards, the most allowed, is answered', async () => {
    const { body } = await server.graphql('query($text: String) { callAttempts(filter: { transcriptContains: $text }) { totalCount } }', {
      text: '%_'.repeat(100),
    });
    expect(body).toEqual({ data: { callAttempts: { totalCount: 0 } } });
  });
});

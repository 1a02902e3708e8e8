/** A page of orders with their attempts and transcripts costs a fixed number of SQL statements, whatever its size. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBOARD_PAGE, CALLBOARD_SEARCH } from '../../bench/lib/documents.ts';
import { seedOrders } from '../helpers/seed.ts';
import { secretsScrubbed, startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
const statements: string[] = [];
// A token from API_TOKENS needs no database to check, so only the statements of the read itself are counted.
const TOKEN = 'n-plus-one-token-0123456789';
beforeAll(async () => {
  server = await startTestServer({ apiTokens: [TOKEN] }, undefined, { onQuery: (sql) => statements.push(sql) });
  await secretsScrubbed(server);
  await seedOrders(server.database.prisma, 60, 7);
}, 120_000);
afterAll(() => server?.dispose());

const PAGE = `query($first: Int!) {
  callOrders(first: $first) {
    totalCount
    nodes {
      revoxId direction
      lastAttempt { revoxId status durationSeconds transcript { role content } }
      attempts(first: 3) { totalCount nodes { revoxId result transcript { content } callOrder { revoxId } } }
    }
  }
}`;

async function statementsFor(query: string, variables: Record<string, unknown>) {
  statements.length = 0;
  const { body } = await server.graphql(query, variables, TOKEN);
  expect(body.errors).toBeUndefined();
  return { sql: [...statements], data: body.data };
}

describe('SQL statements per page', () => {
  it('are the same for 5 and 50 orders with their last attempt, attempts and transcripts', async () => {
    const small = await statementsFor(PAGE, { first: 5 });
    const large = await statementsFor(PAGE, { first: 50 });
    expect(small.data.callOrders.nodes).toHaveLength(5);
    expect(large.data.callOrders.nodes).toHaveLength(50);
    expect(large.data.callOrders.nodes.every((o: any) => o.lastAttempt.transcript.length > 0)).toBe(true);
    expect(large.sql.length, large.sql.join('\n')).toBe(small.sql.length);
    expect(large.sql.length).toBeLessThanOrEqual(10);
  });

  it('are the same for 5 and 50 attempts across orders, with a filter', async () => {
    const query = `query($first: Int!) { callAttempts(first: $first, filter: {status: [COMPLETED, ERROR]}) {
      totalCount nodes { revoxId transcript { content } callOrder { revoxId lastAttempt { revoxId } } } } }`;
    const small = await statementsFor(query, { first: 5 });
    const large = await statementsFor(query, { first: 50 });
    expect(large.data.callAttempts.nodes.length).toBeGreaterThan(5);
    expect(large.sql.length, large.sql.join('\n')).toBe(small.sql.length);
  });

  // The benchmark's own requests (bench/lib/documents.ts), word for word.
  it('the page of orders with their last attempt and its transcript is one statement', async () => {
    const { sql, data } = await statementsFor(CALLBOARD_PAGE, {});
    expect(data.callOrders.nodes).toHaveLength(50);
    expect(data.callOrders.nodes.every((o: any) => o.lastAttempt.transcript.length > 0)).toBe(true);
    expect(sql, sql.join('\n')).toHaveLength(1);
  });

  it('the transcript search is one statement', async () => {
    const { sql, data } = await statementsFor(CALLBOARD_SEARCH, {});
    expect(data.callAttempts.nodes.length).toBeGreaterThan(0);
    expect(data.callAttempts.nodes.every((a: any) => a.result === 'HUMAN')).toBe(true);
    expect(sql, sql.join('\n')).toHaveLength(1);
  });

  it('callStats is one statement', async () => {
    const { sql } = await statementsFor(
      '{ callStats { attempts answerRate p90DurationSeconds byResult { count } byStatus { count } } }',
      {},
    );
    expect(sql).toHaveLength(1);
  });
});

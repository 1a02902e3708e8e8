/**
 * What one request may make the database do, against the real server and database: over-long arguments and
 * operations priced above the cost limit are refused before any SQL is sent; on a PostgreSQL server, a request runs
 * at most two statements at once, each stopped by the server after API_STATEMENT_TIMEOUT_MS or as soon as the
 * client goes away, while /ready and other clients are served.
 *
 * The PostgreSQL tests make statements last by holding a lock on call_attempts from a connection of their own: the
 * statements wait for it, visibly, in pg_stat_activity.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_STATEMENT_TIMEOUT_MS, REQUEST_STATEMENTS_AT_ONCE } from '../../src/db/database.ts';
import { backend } from '../../support/database.ts';
import { fixture, graphql, startTestServer, type TestServer } from '../../support/server.ts';

const HOSTILE = 'hostile-token-0123456789abcdef';
const OTHER = 'other-token-0123456789abcdef';

let server: TestServer;
/** Every SQL statement the server sent. */
const statements: string[] = [];
beforeAll(async () => {
  server = await startTestServer({ apiTokens: [HOSTILE, OTHER] }, undefined, { onQuery: (sql) => statements.push(sql) });
  expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
}, 60_000);
afterAll(() => server?.dispose());

/**
 * Runs `query` and returns its only error, checking that no data came back and that no statement of the kind the
 * query would run (`sql`) was sent: the server reads api_keys and call_orders in the background.
 */
async function refusedBeforeSql(sql: RegExp, query: string, variables?: Record<string, unknown>) {
  const before = statements.length;
  const { body } = await server.graphql(query, variables, HOSTILE);
  expect(body.data ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  expect(statements.slice(before).filter((statement) => sql.test(statement))).toEqual([]);
  return body.errors[0];
}

describe('refused before any SQL', () => {
  it('a transcript search of 400 KB of escaped wildcards, naming the argument and the limit', async () => {
    const error = await refusedBeforeSql(
      /ILIKE/,
      'query($text: String) { callAttempts(filter: { transcriptContains: $text }) { totalCount nodes { revoxId } } }',
      { text: '%_'.repeat(200_000) },
    );
    expect(error.message).toBe('filter.transcriptContains may hold at most 200 characters, got 400000');
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('a phone number filter of 10,000 characters', async () => {
    const error = await refusedBeforeSql(/phone_number/, 'query($n: String) { callOrders(filter: { phoneNumber: $n }) { totalCount } }', {
      n: '+'.repeat(10_000),
    });
    expect(error.message).toBe('filter.phoneNumber may hold at most 100 characters, got 10000');
  });

  it('nodes with 15,000 ids', async () => {
    const ids = Array.from({ length: 15_000 }, (_, i) => Buffer.from(`CallOrder:${i}`).toString('base64'));
    const error = await refusedBeforeSql(/ IN /, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(error.message).toBe('ids may hold at most 100 items, got 15000');
  });

  it('20 aliased hourly series', async () => {
    const series = Array.from({ length: 20 }, (_, i) => `s${i}: series(bucket: HOUR, timeZone: "Europe/Paris") { start attempts }`);
    const error = await refusedBeforeSql(/date_trunc/, `{ callStats { ${series.join(' ')} } }`);
    expect(error.extensions.code).toBe('OPERATION_TOO_EXPENSIVE');
  });

  it('while a search of 200 characters of escaped wildcards, the most allowed, is answered', async () => {
    const { body } = await server.graphql(
      'query($text: String) { callAttempts(filter: { transcriptContains: $text }) { totalCount } }',
      { text: '%_'.repeat(100) },
      HOSTILE,
    );
    expect(body).toEqual({ data: { callAttempts: { totalCount: 0 } } });
  });
});

/** Nine statistics: nine statements over call_attempts, as many as the cost limit allows in one operation. */
const NINE_STATEMENTS = `{ ${Array.from({ length: 9 }, (_, i) => `s${i}: callStats { attempts }`).join(' ')} }`;

describe.runIf(backend === 'postgres')('on a PostgreSQL server, while call_attempts is locked', () => {
  let locker: pg.Client;
  let observer: pg.Client;
  beforeAll(async () => {
    locker = new pg.Client({ connectionString: server.testDatabase.databaseUrl });
    observer = new pg.Client({ connectionString: server.testDatabase.databaseUrl });
    await Promise.all([locker.connect(), observer.connect()]);
  });
  afterAll(async () => {
    await locker?.end();
    await observer?.end();
  });

  /** Holds the lock while `run` runs. */
  async function whileLocked(run: () => Promise<void>) {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE call_attempts IN ACCESS EXCLUSIVE MODE');
    try {
      await run();
    } finally {
      await locker.query('ROLLBACK');
    }
  }

  /** The server's statements waiting for the lock. */
  async function waitingStatements(): Promise<number> {
    const { rows } = await observer.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND pid NOT IN ($1, $2)`,
      [(locker as unknown as { processID: number }).processID, (observer as unknown as { processID: number }).processID],
    );
    return rows[0].n;
  }

  async function until(condition: () => Promise<boolean>, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('a request whose client goes away has its statements cancelled on the server', async () => {
    await whileLocked(async () => {
      const client = new AbortController();
      const request = fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${HOSTILE}` },
        body: JSON.stringify({ query: NINE_STATEMENTS }),
        signal: client.signal,
      }).catch(() => 'aborted');
      await until(async () => (await waitingStatements()) > 0, 10_000);
      client.abort();
      expect(await request).toBe('aborted');
      // The lock is still held: only a cancellation ends them.
      await until(async () => (await waitingStatements()) === 0, 5_000);
    });
  });

  it(`a request runs at most ${REQUEST_STATEMENTS_AT_ONCE.postgres} statements at once, and /ready and another key are answered meanwhile`, async () => {
    let hostile: Promise<{ body: any }[]> | undefined;
    await whileLocked(async () => {
      hostile = Promise.all(Array.from({ length: 4 }, () => graphql(server.url, NINE_STATEMENTS, undefined, HOSTILE)));
      const atOnce = 4 * REQUEST_STATEMENTS_AT_ONCE.postgres;
      await until(async () => (await waitingStatements()) === atOnce, 10_000);

      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      const other = await graphql(server.url, '{ callOrders(first: 5) { totalCount nodes { revoxId } } }', undefined, OTHER);
      expect(other.body).toEqual({ data: { callOrders: { totalCount: 1, nodes: [{ revoxId: expect.any(String) }] } } });
      expect(await waitingStatements()).toBe(atOnce);
    });
    // Once the lock is released, the hostile requests finish, with their data.
    for (const { body } of await hostile!) {
      expect(body.errors).toBeUndefined();
      expect(Object.values(body.data)).toEqual(Array(9).fill({ attempts: 2 }));
    }
  }, 40_000);

  it(
    `a statement still waiting after ${API_STATEMENT_TIMEOUT_MS} ms is stopped by the server`,
    async () => {
      await whileLocked(async () => {
        const { body } = await graphql(server.url, '{ callStats { attempts } }', undefined, OTHER);
        expect(body.errors?.[0]?.message).toBe('Unexpected error.');
        expect(await waitingStatements()).toBe(0);
      });
      expect(server.logs.some((line) => line.includes('statement timeout'))).toBe(true);
    },
    API_STATEMENT_TIMEOUT_MS + 15_000,
  );
});

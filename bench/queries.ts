/**
 * npx tsx bench/queries.ts [-- --scale 0.01]
 *
 * The SQL statements Callboard sends for one request of each benchmark scenario (Prisma query events, through
 * startServer's onQuery option), with the request's time: what to look at when a scenario falls short.
 * Same data set and PostgreSQL setup as npm run bench, at a small scale by default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startServer } from '../src/server.ts';
import { orderDelivery } from '../support/deliveries.ts';
import { waitFor, wsClient } from '../support/subscriptions.ts';
import { loadDataSet, SEARCH_WORD } from './lib/data.ts';
import { createDatabase, dropDatabase, obtainPostgres, withClient } from './lib/postgres.ts';
import { CALLBOARD_PAGE, CALLBOARD_SEARCH } from './lib/documents.ts';
import { WEBHOOK_SECRET } from './scenarios/http.ts';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '0.01' } } });
const postgres = await obtainPostgres();
const name = `callboard_queries_${Date.now().toString(36)}`;
const databaseUrl = await createDatabase(postgres.adminUrl, name);
const dataDir = mkdtempSync(path.join(tmpdir(), 'callboard-queries-'));
try {
  await loadDataSet(databaseUrl, Number(values.scale), () => {});
  let statements: string[] = [];
  const server = await startServer(
    { ...loadConfig({}), port: 0, dataDir, databaseUrl, webhookSecret: WEBHOOK_SECRET },
    { logger: createLogger(() => {}), onQuery: (sql) => statements.push(sql) },
  );
  const measure = async (label: string, request: () => Promise<Response>) => {
    // Once to warm up, then the measured request.
    await (await request()).text();
    statements = [];
    const started = performance.now();
    const response = await request();
    const bytes = (await response.text()).length;
    const ms = performance.now() - started;
    console.log(`\n## ${label}: ${response.status}, ${bytes} bytes, ${ms.toFixed(1)} ms, ${statements.length} SQL statements`);
    for (const sql of statements) {
      // The column lists are long and say little: show how many, then the rest of the statement.
      const flat = sql.replace(/\s+/g, ' ').replaceAll('"public".', '');
      const from = flat.indexOf(' FROM ');
      const shown =
        flat.startsWith('SELECT ') && from > 0 ? `SELECT <${flat.slice(7, from).split(',').length} columns>${flat.slice(from)}` : flat;
      console.log(`- ${shown.length > 900 ? `${shown.slice(0, 900)}...` : shown}`);
    }
  };
  const graphql = (query: string) => () =>
    fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  await measure('page', graphql(CALLBOARD_PAGE));
  await measure('search', graphql(CALLBOARD_SEARCH));
  let sequence = 0;
  await measure('ingest', () =>
    fetch(`${server.url}/webhooks/revox?token=${WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderDelivery(`queries_${sequence}`, [{ id: `queries_${sequence++}_a0`, result: 'human', turns: 50 }], 0)),
    }),
  );

  // Subscriptions: the statements one delivery causes with 10 callCompleted subscribers connected.
  const clients = Array.from({ length: 10 }, () => wsClient(server.url));
  let received = 0;
  for (const client of clients) {
    client.subscribe(
      { query: 'subscription { callCompleted { attempt { revoxId result } callOrder { revoxId } } }' },
      { next: () => void (received += 1), error: () => {}, complete: () => {} },
    );
  }
  await waitFor(() => server.events.subscriberCount() === clients.length);
  statements = [];
  const delivered = await fetch(`${server.url}/webhooks/revox?token=${WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(orderDelivery('queries_fanout', [{ id: 'queries_fanout_a0', result: 'human', turns: 10 }], 0)),
  });
  await delivered.text();
  await waitFor(() => received === clients.length);
  const storing = statements.indexOf('COMMIT') + 1;
  console.log(
    `\n## one delivery with ${clients.length} subscribers: ${statements.length} SQL statements (${storing} to store it, ${statements.length - storing} to deliver the events)`,
  );
  for (const sql of statements.slice(storing, storing + 4))
    console.log(`- ${sql.replace(/\s+/g, ' ').replaceAll('"public".', '').slice(0, 300)}`);
  for (const client of clients) await client.dispose();
  await server.stop();

  // Why the search is slow: Callboard's ORDER BY (ended_at DESC NULLS LAST) against the (ended_at DESC) index order.
  const filter = `a.result IN ('human') AND EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = a.id AND m.content ILIKE '%${SEARCH_WORD}%')`;
  await withClient(databaseUrl, async (client) => {
    for (const [label, sql] of [
      [
        'Callboard order: ended_at DESC NULLS LAST, id DESC',
        `SELECT a.id FROM call_attempts a WHERE ${filter} ORDER BY a.ended_at DESC NULLS LAST, a.id DESC LIMIT 21`,
      ],
      [
        'index order: ended_at DESC, id DESC (ended only)',
        `SELECT a.id FROM call_attempts a WHERE a.ended_at IS NOT NULL AND ${filter} ORDER BY a.ended_at DESC, a.id DESC LIMIT 21`,
      ],
    ] as const) {
      const plan = (await client.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${sql}`)).rows.map((row) => row['QUERY PLAN'] as string);
      console.log(`\n## EXPLAIN ANALYZE, ${label}\n${plan.map((line) => `    ${line}`).join('\n')}`);
    }
  });
} finally {
  await dropDatabase(postgres.adminUrl, name).catch(() => {});
  await postgres.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

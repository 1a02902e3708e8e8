/**
 * npm run hostile [-- --seconds 60 --scale 0.1]
 *
 * Findings 1, 3, 4, 9 and 10 of the third security round, all at once, against Callboard on PostgreSQL
 * (DATABASE_URL, or Debian's PostgreSQL started here on a private port), while a dashboard on another loopback
 * address asks /ready every 250 ms and runs a small query with its own key every second:
 *   1. SSE streams under odd Accept headers whose key is then revoked; and more `text/*` streams than
 *      SSE_MAX_CONNECTIONS.
 *   3. transcriptContains = "%_" x 200,000 with a transcripts:read key, three clients.
 *   4. 20 aliased callStats series per request, and nodes with 15,000 ids, four clients with a calls:read key.
 *      Each of these clients keeps one request in flight, at most 4 a second.
 *   9. 150 sockets without a token held open, while a client with a token connects every 2 s.
 *  10. slowloris: connections that send part of their headers and then nothing, 500 new ones a second, up to
 *      21,000 held (the server closes most of them).
 * It exits 1 when a /ready probe took over 1 s or failed, when an event reached a revoked key's stream, when a
 * stream past the limit was served, when a valid WebSocket client was refused, or when a statement outlived its
 * request. Not part of the test suite: it loads the machine for a minute.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadDataSet } from './lib/data.ts';
import { createDatabase, dropDatabase, obtainPostgres, withClient } from './lib/postgres.ts';
import { startProcess } from './lib/proc.ts';
import { fixture } from '../support/server.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, scale: { type: 'string', default: '0.1' } },
});
const seconds = Number(values.seconds);
const scale = Number(values.scale);
const WEBHOOK_SECRET = 'hostile-run-webhook-secret-0123456789';
const SSE_LIMIT = 20;
const WS_LIMIT = 100;
/** The dashboard's address: the attacks come from 127.0.0.1 and 127.0.0.3. */
const DASHBOARD_ADDRESS = '127.0.0.2';
const SLOWLORIS_ADDRESS = '127.0.0.3';
const READY_BUDGET_MS = 1_000;
const ATTACK_REQUESTS_PER_SECOND = 4;
/** New slowloris connections per second, up to SLOWLORIS_TARGET held at once. */
const SLOWLORIS_RATE = 500;
const SLOWLORIS_TARGET = 21_000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let running = true;
const cleanups: (() => Promise<unknown>)[] = [];

async function main(): Promise<boolean> {
  log(`Hostile run: ${seconds} s, data set scale ${scale}`);
  const postgres = await obtainPostgres();
  cleanups.push(() => postgres.stop());
  const dbName = `callboard_hostile_${Date.now().toString(36)}`;
  const databaseUrl = await createDatabase(postgres.adminUrl, dbName);
  cleanups.push(() => dropDatabase(postgres.adminUrl, dbName));
  log(`PostgreSQL ${postgres.version} (${postgres.source}); loading the data set`);
  const dataSet = await loadDataSet(databaseUrl, scale, log);
  log(`${dataSet.orders} orders, ${dataSet.attempts} attempts, ${dataSet.messages} transcript messages`);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'callboard-hostile-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startProcess('callboard', ['--import', 'tsx', 'src/main.ts'], {
    DATABASE_URL: databaseUrl,
    WEBHOOK_SECRET,
    DATA_DIR: dataDir,
    SSE_MAX_CONNECTIONS: String(SSE_LIMIT),
    WS_MAX_CONNECTIONS: String(WS_LIMIT),
  });
  cleanups.push(() => server.stop());
  const api = apiClient(server.url);
  // The API is open until the first key: that key is the admin's.
  const admin = await api.createKey(undefined, 'hostile-admin', ['ADMIN']);
  const callsKey = await api.createKey(admin, 'hostile-calls', ['CALLS_READ']);
  const transcriptsKey = await api.createKey(admin, 'hostile-transcripts', ['CALLS_READ', 'TRANSCRIPTS_READ']);
  const dashboardKey = await api.createKey(admin, 'hostile-dashboard', ['CALLS_READ']);
  log(`Callboard at ${server.url}; keys created; attacking for ${seconds} s`);

  const deadline = Date.now() + seconds * 1_000;
  // Each attacking client keeps one request in flight, at most ATTACK_REQUESTS_PER_SECOND: the findings are about
  // what one request costs; a flood of requests is a matter for rate limits.
  const until = async (work: () => Promise<unknown>) => {
    while (running && Date.now() < deadline) {
      const next = sleep(1_000 / ATTACK_REQUESTS_PER_SECOND);
      await work().catch(() => {});
      await next;
    }
  };
  const results = await Promise.all([
    probeDashboard(server.url, dashboardKey, deadline),
    revokedStreams(api, admin, server.url, deadline),
    streamLimit(server.url, callsKey),
    Promise.all(Array.from({ length: 3 }, () => until(() => api.graphql(transcriptsKey, HOSTILE_SEARCH, {}, 30_000)))),
    Promise.all(Array.from({ length: 4 }, (_, i) => until(() => api.graphql(callsKey, i % 2 ? MANY_NODES : MANY_SERIES, {}, 30_000)))),
    tokenlessSockets(server.url, callsKey, deadline),
    slowloris(Number(new URL(server.url).port), deadline),
  ]);
  const [probe, revoked, limit, , , sockets, slow] = results;
  await sleep(2_000);
  const outliving = await longRunningStatements(databaseUrl);

  log('\n| attack | outcome | verdict |\n|---|---|---|');
  const verdicts = [
    row(
      '/ready from another address, every 250 ms',
      `${probe.ready.length} probes, slowest ${Math.max(...probe.ready).toFixed(0)} ms, p99 ${percentile(probe.ready, 0.99).toFixed(0)} ms, ${probe.readyFailures} failed`,
      probe.readyFailures === 0 && Math.max(...probe.ready) <= READY_BUDGET_MS,
    ),
    row(
      "a dashboard key's small query, every second",
      `${probe.query.length} answered, slowest ${Math.max(...probe.query).toFixed(0)} ms, ${probe.queryFailures} failed`,
      probe.queryFailures === 0,
    ),
    row(
      '1. SSE streams (Accept */*, none, text/*, Text/Event-Stream) after revocation',
      `${revoked.rounds} rounds, ${revoked.leaked} events received after revocation, ${revoked.stillOpen} streams still open`,
      revoked.rounds > 0 && revoked.leaked === 0 && revoked.stillOpen === 0,
    ),
    row(
      `1. ${SSE_LIMIT + 5} text/* streams with SSE_MAX_CONNECTIONS=${SSE_LIMIT}`,
      `${limit.served} served, ${limit.refused} answered 503 (finding 1's revoked streams share the limit)`,
      limit.served <= SSE_LIMIT && limit.served + limit.refused === SSE_LIMIT + 5,
    ),
    row('3. transcriptContains "%_" x 200,000 (3 clients) and 4. 20 series, 15,000 nodes (4 clients)', statusSummary(api.statuses), true),
    row(
      '3./4. statements still running 2 s after the attacks stopped',
      `${outliving.length}${outliving.length ? `: ${outliving.join('; ')}` : ''}`,
      outliving.length === 0,
    ),
    row(
      '9. 150 tokenless sockets; a client with a token every 2 s',
      `${sockets.tokenless} tokenless opened; valid client: ${sockets.accepted} accepted, ${sockets.refused} refused`,
      sockets.refused === 0 && sockets.accepted > 0,
    ),
    row(
      `10. slowloris from one address, ${SLOWLORIS_RATE} new connections a second`,
      `${slow.opened} connections opened, at most ${slow.maxHeld} held at once, ${slow.closedByServer} closed by the server`,
      true,
    ),
  ];
  const logged = server.output().match(/"event":"http\.connection_refused"[^\n]*/g) ?? [];
  log(`\nServer log lines about refused connections: ${logged.length}${logged[0] ? ` (first: ${logged[0].slice(0, 160)})` : ''}`);
  return verdicts.every(Boolean);
}

function row(attack: string, outcome: string, held: boolean): boolean {
  log(`| ${attack} | ${outcome} | ${held ? 'held' : '**FAILED**'} |`);
  return held;
}

const HOSTILE_SEARCH = `{ callAttempts(first: 20, filter: { transcriptContains: "${'%_'.repeat(200_000)}" }) { nodes { id } } }`;
const MANY_SERIES = `{ callStats { ${Array.from({ length: 20 }, (_, i) => `s${i}: series(bucket: HOUR, timeZone: "Europe/Paris") { attempts answerRate p90DurationSeconds }`).join(' ')} } }`;
const MANY_NODES = `{ nodes(ids: [${Array.from({ length: 15_000 }, (_, i) => `"${Buffer.from(`CallOrder:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`).toString('base64')}"`).join(',')}]) { id } }`;

function apiClient(url: string) {
  const statuses = new Map<string, number>();
  const graphql = async (token: string | undefined, query: string, variables: Record<string, unknown> = {}, timeoutMs = 10_000) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((error: Error) => ({ status: error.name, json: async () => ({}) }));
    const body = (await response.json().catch(() => ({}))) as { data?: any; errors?: { extensions?: { code?: string } }[] };
    const outcome = `${response.status}${body.errors?.[0]?.extensions?.code ? ` ${body.errors[0].extensions.code}` : ''}`;
    statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
    return body;
  };
  return {
    statuses,
    graphql,
    async createKey(token: string | undefined, name: string, scopes: string[]): Promise<string> {
      const body = await graphql(
        token,
        'mutation($name: String!, $scopes: [ApiKeyScope!]!) { createApiKey(name: $name, scopes: $scopes) { key } }',
        { name, scopes },
      );
      const key = body.data?.createApiKey?.key;
      if (typeof key !== 'string')
        throw new Error(`could not create the key ${name}: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
      return key;
    },
    revoke: (token: string, name: string) =>
      graphql(token, 'mutation($name: String!) { revokeApiKey(nameOrId: $name) { name } }', { name }),
  };
}

function statusSummary(statuses: Map<string, number>): string {
  return [...statuses].map(([status, count]) => `${count} x ${status}`).join(', ');
}

/** GET /ready every 250 ms and a small query every second, from the dashboard's address. */
async function probeDashboard(url: string, key: string, deadline: number) {
  const ready: number[] = [];
  const query: number[] = [];
  let readyFailures = 0;
  let queryFailures = 0;
  const askReady = async () => {
    while (Date.now() < deadline) {
      const started = performance.now();
      const status = await get(url, '/ready').catch(() => 0);
      ready.push(performance.now() - started);
      if (status !== 200) readyFailures += 1;
      await sleep(250);
    }
  };
  const askQuery = async () => {
    while (Date.now() < deadline) {
      const started = performance.now();
      const status = await get(url, `/graphql?query=${encodeURIComponent('{ callOrders(first: 5) { nodes { revoxId } } }')}`, key).catch(
        () => 0,
      );
      query.push(performance.now() - started);
      if (status !== 200) queryFailures += 1;
      await sleep(1_000);
    }
  };
  await Promise.all([askReady(), askQuery()]);
  return { ready, readyFailures, query, queryFailures };
}

function get(url: string, target: string, token?: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path: target,
        localAddress: DASHBOARD_ADDRESS,
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.setTimeout(READY_BUDGET_MS * 5, () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

const SUBSCRIPTION = 'subscription { callCompleted { callOrder { revoxId toPhoneNumber } } }';
const ODD_ACCEPTS = ['*/*', undefined, 'text/*', 'Text/Event-Stream'];

/** An SSE stream opened with `accept`: its status, and every chunk of data it receives. */
async function openStream(url: string, token: string, accept: string | undefined) {
  const controller = new AbortController();
  const response = await fetch(`${url}/graphql?query=${encodeURIComponent(SUBSCRIPTION)}`, {
    headers: { authorization: `Bearer ${token}`, ...(accept === undefined ? {} : { accept }) },
    signal: controller.signal,
  });
  const chunks: string[] = [];
  let ended = false;
  const reading = (async () => {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value).toString());
    }
  })()
    .catch(() => {})
    .finally(() => (ended = true));
  return {
    status: response.status,
    chunks,
    ended: () => ended,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

/** Finding 1: a key's streams under odd Accept headers, the key revoked, then a delivery: nothing may arrive. */
async function revokedStreams(api: ReturnType<typeof apiClient>, admin: string, url: string, deadline: number) {
  let rounds = 0;
  let leaked = 0;
  let stillOpen = 0;
  let delivery = 0;
  while (Date.now() + 8_000 < deadline) {
    const name = `hostile-revoked-${rounds}`;
    const key = await api.createKey(admin, name, ['CALLS_READ']);
    const streams = await Promise.all(ODD_ACCEPTS.map((accept) => openStream(url, key, accept)));
    await sleep(500);
    await api.revoke(admin, name);
    // The key watch checks every 2 s.
    await sleep(3_000);
    const body = fixture('outbound-attempt-2-human-completed');
    body.call.id = `hostile_call_${(delivery += 1)}`;
    await fetch(`${url}/webhooks/revox?token=${WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await sleep(1_000);
    leaked += streams.filter((stream) => stream.chunks.some((chunk) => chunk.includes(body.call.id))).length;
    stillOpen += streams.filter((stream) => stream.status === 200 && !stream.ended()).length;
    await Promise.all(streams.map((stream) => stream.close()));
    rounds += 1;
  }
  return { rounds, leaked, stillOpen };
}

/** Finding 1: more `text/*` streams than SSE_MAX_CONNECTIONS; the ones past the limit get 503. */
async function streamLimit(url: string, key: string) {
  const streams = [];
  for (let i = 0; i < SSE_LIMIT + 5; i += 1) streams.push(await openStream(url, key, 'text/*'));
  const served = streams.filter((stream) => stream.status === 200).length;
  const refused = streams.filter((stream) => stream.status === 503).length;
  await Promise.all(streams.map((stream) => stream.close()));
  return { served, refused };
}

/** Finding 9: 150 sockets that never authenticate, reopened as the server closes them; a valid client every 2 s. */
async function tokenlessSockets(url: string, key: string, deadline: number) {
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  let tokenless = 0;
  let accepted = 0;
  let refused = 0;
  const holdOne = async () => {
    while (Date.now() < deadline) {
      tokenless += 1;
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('close', resolve));
    }
  };
  const validClient = async () => {
    while (Date.now() < deadline) {
      await sleep(2_000);
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { localAddress: DASHBOARD_ADDRESS });
      socket.on('error', () => {});
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
      const acknowledged = await new Promise<boolean>((resolve) => {
        socket.once('message', (data) => resolve(JSON.parse(String(data)).type === 'connection_ack'));
        socket.once('close', () => resolve(false));
        setTimeout(() => resolve(false), 5_000);
      });
      if (acknowledged) accepted += 1;
      else refused += 1;
      socket.close();
    }
  };
  await Promise.all([...Array.from({ length: 150 }, holdOne), validClient()]);
  return { tokenless, accepted, refused };
}

/** Finding 10: connections that send part of their headers, then nothing; reopened as the server closes them. */
async function slowloris(port: number, deadline: number) {
  let opened = 0;
  let held = 0;
  let maxHeld = 0;
  let closedByServer = 0;
  const sockets = new Set<Socket>();
  while (Date.now() < deadline) {
    for (let i = 0; i < SLOWLORIS_RATE / 10 && held < SLOWLORIS_TARGET; i += 1) {
      const socket = connect({ port, host: '127.0.0.1', localAddress: SLOWLORIS_ADDRESS });
      opened += 1;
      held += 1;
      sockets.add(socket);
      maxHeld = Math.max(maxHeld, held);
      socket.on('error', () => {});
      socket.once('connect', () => socket.write('GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
      socket.once('close', () => {
        held -= 1;
        sockets.delete(socket);
        if (running) closedByServer += 1;
      });
    }
    await sleep(100);
  }
  for (const socket of sockets) socket.destroy();
  return { opened, maxHeld, closedByServer };
}

/** Statements on the run's database, other than this check's own, that have run for more than 5 s. */
async function longRunningStatements(databaseUrl: string): Promise<string[]> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ seconds: number; query: string }>(
      `SELECT extract(epoch FROM now() - query_start)::float AS seconds, left(regexp_replace(query, 's+', ' ', 'g'), 80) AS query
         FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
          AND now() - query_start > interval '5 seconds'`,
    );
    return rows.map((row) => `${row.seconds.toFixed(0)} s: ${row.query}`);
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
} catch (error) {
  log(`Hostile run failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  running = false;
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
process.exit(exitCode);

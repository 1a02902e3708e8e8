/**
 * npm run bench [-- --scale 1 --soak --soak-minutes 10 --only page,search --rounds 3 --seconds 10 --subscribers 1000 --cpu-prof]
 * (--only takes: page, search, fts, output, ingest, export, fanout, fanout-redis, fanout-many, idle)
 *
 * Callboard against baselines measured in the same run, on the same PostgreSQL server and the same data:
 *   1. webhook ingest (50-turn deliveries, 32 connections) vs plain pg inserting the same rows in one transaction
 *   2. a page of 50 orders with last attempt and transcript vs PostGraphile v5 and vs one hand-written SQL statement
 *   3. filtered search (transcriptContains + result), the same three ways; full-text search by relevance with
 *      highlights (transcriptMatches), against one hand-written statement (ts_rank_cd, ts_headline); a
 *      structured-output condition with a breakdown by another key (byOutput), against one hand-written statement
 *   4. the export, every attempt as CSV (calls:read columns, then with transcripts), against PostgreSQL's COPY
 *   4. subscription fan-out (graphql-ws subscribers in another process, a webhook every 50 ms), one instance and
 *      two instances through Redis; then 10x the subscribers on one instance, a webhook every 250 ms; baseline: a
 *      GET /health round trip
 *   5. idle RSS after start-up, embedded database and PostgreSQL server, vs PGlite alone and bare Node
 *   6. with --soak only: memory over time under mixed load
 * Callboard runs as `npm start` runs it (compiled; built here first), each target is in bench/lib/report.ts.
 * PostgreSQL: DATABASE_URL, or Debian's PostgreSQL started on a private port. Writes bench/results/latest.json
 * and prints a Markdown table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis, redisServerPath } from '../support/redis.ts';
import { createKeyStore } from '../src/access/keys.ts';
import { openDatabase } from '../src/db/database.ts';
import { FTS_QUERY, loadDataSet, SEARCH_WORD } from './lib/data.ts';
import type { Timing } from './lib/load.ts';
import { obtainPostgres, createDatabase, dropDatabase, withClient } from './lib/postgres.ts';
import { BASELINE_ARGS, CALLBOARD_ARGS, POSTGRAPHILE_ARGS, startProcess, type ServerProcess } from './lib/proc.ts';
import { FTS_SQL, OUTPUT_SQL, SEARCH_SQL } from './lib/sql.ts';
import { OUTPUT_CONDITION, OUTPUT_GROUP_BY } from './lib/documents.ts';
import { fanoutScenario, type FanoutResult } from './scenarios/fanout.ts';
import { exportScenario } from './scenarios/export.ts';
import { ftsScenario, ingestScenario, outputScenario, pageScenario, searchScenario, WEBHOOK_SECRET } from './scenarios/http.ts';
import { idleScenario } from './scenarios/idle.ts';
import { soakScenario } from './scenarios/soak.ts';
import { renderMarkdown, type Report } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string', default: '10' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    subscribers: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    output: { type: 'string', default: 'bench/results/latest.json' },
  },
});
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 10)) throw new Error('--scale must be a number in (0, 10]');
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string) => !only || only.has(name);
const small = scale < 0.1;
const timing: Timing = {
  warmupSeconds: small ? 1 : scale < 0.5 ? 3 : 5,
  rounds: Number(values.rounds ?? (small ? 2 : 3)),
  roundSeconds: Number(values.seconds ?? (small ? 2 : scale < 0.5 ? 5 : 10)),
};
const subscribers = Number(values.subscribers ?? (small ? 100 : 1000));
const fanoutDeliveries = small ? 20 : 100;
/** The many-subscriber run: 10x the subscribers, a webhook every 250 ms so one subscriber process keeps up. */
const manySubscribers = subscribers * 10;
const manyDeliveries = small ? 10 : 40;
const idleSeconds = small ? 2 : 30;
const runId = Date.now().toString(36);
const log = (line: string) => console.log(line);

const fanoutLine = (result: FanoutResult) =>
  `  p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ${result.missing} missing, RSS ${result.peakRssMiB.map((r) => r.toFixed(0)).join('+')} MiB; ` +
  `CPU over ${result.cpuSeconds.wallSeconds.toFixed(1)} s: server ${result.cpuSeconds.servers.map((s) => s.toFixed(1)).join('+')} s, subscribers ${result.cpuSeconds.subscribers.toFixed(1)} s`;

const processes: ServerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
/** Each step gets 20 s, so one that hangs cannot keep the PostgreSQL server started here from being stopped. */
const bounded = (step: () => Promise<unknown>) =>
  Promise.race([step(), new Promise((resolve) => setTimeout(resolve, 20_000))]).catch((error) => console.error('cleanup:', error));
async function cleanup() {
  for (const server of processes.splice(0)) await bounded(() => server.stop());
  for (const step of cleanups.splice(0).reverse()) await bounded(step);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

async function main() {
  log(`Callboard benchmark suite, scale ${scale}${values.soak ? `, with a ${values['soak-minutes']}-minute soak` : ''}`);
  const postgres = await obtainPostgres();
  cleanups.push(() => postgres.stop());
  log(`PostgreSQL ${postgres.version} (${postgres.source})`);
  const dbName = `callboard_bench_${runId}`;
  const databaseUrl = await createDatabase(postgres.adminUrl, dbName);
  if (postgres.source === 'DATABASE_URL') cleanups.push(() => dropDatabase(postgres.adminUrl, dbName));
  log('Loading the data set');
  const dataSet = await loadDataSet(databaseUrl, scale, log);
  log(
    `Loaded ${dataSet.orders} orders, ${dataSet.attempts} attempts, ${dataSet.messages} transcript messages in ${dataSet.loadSeconds.toFixed(1)} s`,
  );

  const dataDir = mkdtempSync(path.join(tmpdir(), 'callboard-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const profileDir = path.resolve('bench/results/profiles');
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const callboardEnv = { DATABASE_URL: databaseUrl, WEBHOOK_SECRET, DATA_DIR: dataDir, WS_MAX_CONNECTIONS: String(manySubscribers + 100) };
  log('Building Callboard (npm run build)');
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const start = async (name: string, args: string[], env: Record<string, string>) => {
    const server = await startProcess(name, args, env);
    processes.push(server);
    return server;
  };
  const stop = async (server: ServerProcess) => {
    processes.splice(processes.indexOf(server), 1);
    await server.stop();
  };

  const report: Report = {
    date: new Date().toISOString(),
    scale,
    timing,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: postgres.version,
      postgresSource: postgres.source,
    },
    dataSet,
    http: [],
    fanout: [],
    exports: [],
    idle: [],
    failures: [],
    notes: [],
  };
  const attempt = async (scenario: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      console.error(`${scenario} failed: ${(error as Error).stack ?? error}`);
      report.failures.push({ scenario, error: String((error as Error).message ?? error).slice(0, 1000) });
    }
  };

  const profiling = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const callboard = await start('Callboard', [...profiling, ...CALLBOARD_ARGS], callboardEnv);
  const baseline = await start('baseline', BASELINE_ARGS, { DATABASE_URL: databaseUrl });
  let postgraphile: ServerProcess | undefined;
  if (wanted('page') || wanted('search')) {
    await attempt('PostGraphile start', async () => {
      postgraphile = await start('PostGraphile', POSTGRAPHILE_ARGS, { DATABASE_URL: databaseUrl });
    });
  }

  // Reads first, on the generated data alone; ingest and fan-out then add their own orders.
  if (wanted('page')) {
    await attempt('page', async () => {
      log(`\n## Read a page: callOrders(first: 50) with last attempt and transcript, 10 connections`);
      const sides = await pageScenario(callboard, postgraphile, baseline, timing, dataSet.orders);
      report.http.push({
        scenario: 'page',
        description: 'callOrders(first: 50) + lastAttempt + transcript',
        connections: 10,
        baseline: 'baseline: one SQL statement',
        sides,
      });
    });
  }
  if (wanted('search')) {
    await attempt('search', async () => {
      log(`\n## Filtered search: callAttempts(first: 20, filter: {transcriptContains: "${SEARCH_WORD}", result: [HUMAN]}), 10 connections`);
      const expected = await withClient(databaseUrl, async (client) => {
        const body = (await client.query(SEARCH_SQL, [`%${SEARCH_WORD}%`, ['human'], 20])).rows[0].body;
        return JSON.parse(body).data.callAttempts.nodes.length as number;
      });
      const sides = await searchScenario(callboard, postgraphile, baseline, timing, expected);
      report.http.push({
        scenario: 'search',
        description: `callAttempts(first: 20, transcriptContains "${SEARCH_WORD}", result HUMAN)`,
        connections: 10,
        baseline: 'baseline: one SQL statement',
        sides,
      });
    });
  }
  if (postgraphile) await stop(postgraphile);
  if (wanted('fts')) {
    await attempt('fts', async () => {
      log(
        `\n## Full-text search: callAttempts(first: 20, orderBy: RELEVANCE, transcriptMatches: "${FTS_QUERY}") + 3 highlights each, 10 connections`,
      );
      const expected = await withClient(databaseUrl, async (client) => {
        const body = (await client.query(FTS_SQL, [FTS_QUERY, 20])).rows[0].body;
        return JSON.parse(body).data.callAttempts.nodes.length as number;
      });
      report.http.push({
        scenario: 'fts',
        description: `callAttempts(first: 20, RELEVANCE, transcriptMatches "${FTS_QUERY}") + transcriptHighlights(first: 3)`,
        connections: 10,
        baseline: 'baseline: one SQL statement',
        sides: await ftsScenario(callboard, baseline, timing, expected),
      });
    });
  }
  if (wanted('output')) {
    await attempt('output', async () => {
      log('\n## Structured output: callStats(filter: appointment.confirmed = true) { byOutput(sentiment) }, 10 connections');
      const expected = await withClient(databaseUrl, async (client) => {
        const containment = OUTPUT_CONDITION.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), OUTPUT_CONDITION.equals);
        const body = (await client.query(OUTPUT_SQL, [JSON.stringify(containment), OUTPUT_GROUP_BY])).rows[0].body;
        return JSON.parse(body).data.callStats.byOutput.length as number;
      });
      report.http.push({
        scenario: 'output',
        description: 'callStats(output: appointment.confirmed = true) { byOutput(sentiment) }',
        connections: 10,
        baseline: 'baseline: one SQL statement',
        sides: await outputScenario(callboard, baseline, timing, expected),
      });
    });
  }
  if (wanted('ingest')) {
    await attempt('ingest', async () => {
      log(`\n## Webhook ingest: new deliveries with 50-turn transcripts, 32 connections`);
      const sides = await ingestScenario(callboard, baseline, timing, runId);
      report.http.push({
        scenario: 'ingest',
        description: 'POST /webhooks/revox, new order + attempt + 50-turn transcript',
        connections: 32,
        baseline: 'baseline: plain pg, one transaction',
        sides,
      });
    });
  }
  if (wanted('fanout')) {
    await attempt('fan-out, one instance', async () => {
      log(`\n## Fan-out: ${subscribers} graphql-ws subscribers on one instance, a webhook every 50 ms`);
      const result = await fanoutScenario({
        servers: [callboard],
        subscribers,
        deliveries: fanoutDeliveries,
        intervalMs: 50,
        runId,
        label: 'one',
      });
      report.fanout.push({ id: 'fanout-one', label: 'one instance', ...result });
      log(fanoutLine(result));
    });
  }
  await stop(callboard);

  if (wanted('export')) {
    await attempt('export', async () => {
      // Its own instance: the key it needs ends the open mode the other scenarios run in, and is deleted after.
      const server = await start('Callboard (export)', CALLBOARD_ARGS, callboardEnv);
      const database = await openDatabase({ dataDir, databaseUrl });
      try {
        const keys = createKeyStore(database.prisma);
        for (const [id, label, scope] of [
          ['export', 'every attempt as CSV, calls:read columns', 'calls:read'],
          ['export-content', 'every attempt as CSV with transcripts (transcripts:read)', 'transcripts:read'],
        ] as const) {
          const { key } = await keys.create({ name: `bench-${id}`, scopes: [scope] });
          log(`\n## Export: ${label}, one client`);
          report.exports.push(
            await exportScenario({
              id,
              label,
              callboard: server,
              token: key,
              baseline,
              withContent: id === 'export-content',
              rounds: timing.rounds,
              log,
            }),
          );
        }
      } finally {
        await database.prisma.apiKey.deleteMany({ where: { name: { startsWith: 'bench-export' } } });
        await database.close();
        await stop(server);
      }
    });
  }
  await stop(baseline);

  if (wanted('fanout-many')) {
    await attempt('fan-out, many subscribers', async () => {
      log(`\n## Fan-out: ${manySubscribers} graphql-ws subscribers on one fresh instance, a webhook every 250 ms`);
      const server = await start('Callboard (many subscribers)', [...profiling, ...CALLBOARD_ARGS], callboardEnv);
      const result = await fanoutScenario({
        servers: [server],
        subscribers: manySubscribers,
        deliveries: manyDeliveries,
        intervalMs: 250,
        runId,
        label: 'many',
      });
      report.fanout.push({ id: 'fanout-many', label: `one instance, ${manySubscribers.toLocaleString('en')} subscribers`, ...result });
      log(fanoutLine(result));
      await stop(server);
    });
  }

  if (wanted('fanout-redis')) {
    await attempt('fan-out, two instances through Redis', async () => {
      if (!redisServerPath) throw new Error('redis-server is not installed');
      const redis = await startRedis();
      // support/redis.ts's stop() waits for an exit that already happened when called twice: stop once only.
      let redisStopped: Promise<void> | undefined;
      const stopRedis = () => (redisStopped ??= redis.stop());
      cleanups.push(stopRedis);
      log(`\n## Fan-out: ${subscribers} subscribers over two instances through Redis, webhooks to the first`);
      const a = await start('Callboard A', CALLBOARD_ARGS, { ...callboardEnv, REDIS_URL: redis.url });
      const b = await start('Callboard B', CALLBOARD_ARGS, { ...callboardEnv, REDIS_URL: redis.url });
      const result = await fanoutScenario({
        servers: [a, b],
        subscribers,
        deliveries: fanoutDeliveries,
        intervalMs: 50,
        runId,
        label: 'redis',
      });
      report.fanout.push({ id: 'fanout-redis', label: 'two instances, Redis', ...result });
      log(fanoutLine(result));
      await stop(a);
      await stop(b);
      await stopRedis();
    });
  }

  if (wanted('idle')) {
    await attempt('idle', async () => {
      log(`\n## Idle RSS ${idleSeconds} s after start-up: embedded database (reopened) and PostgreSQL server`);
      report.idle = await idleScenario({ launch: start, stop, databaseUrl, idleSeconds, scratchDir: dataDir });
      for (const idle of report.idle) log(`  ${idle.label}: ${idle.callboardMiB.toFixed(0)} MiB`);
    });
  }

  if (values.soak) {
    await attempt('soak', async () => {
      const minutes = Number(values['soak-minutes']);
      log(`\n## Soak: ${minutes} minutes of mixed load, RSS every 5 s`);
      const server = await start('Callboard (soak)', CALLBOARD_ARGS, callboardEnv);
      report.soak = await soakScenario(server, minutes, runId);
      await stop(server);
    });
  }

  mkdirSync(path.dirname(values.output), { recursive: true });
  writeFileSync(values.output, `${JSON.stringify(report, null, 2)}\n`);
  log(`\n${renderMarkdown(report)}`);
  log(`\nWritten to ${values.output}`);
  return report.failures.length;
}

let failures = 1;
try {
  failures = await main();
} finally {
  await cleanup();
}
process.exit(failures > 0 ? 1 : 0);

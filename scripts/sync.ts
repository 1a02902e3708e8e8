/**
 * npm run sync -- --since <date> | --all
 * Imports calls from Revox's REST API through the webhook pipeline (src/revox/sync.ts); docs/revox-sync.md.
 * Exit codes: 0 done, 1 calls failed or the run stopped (run again to resume), 2 usage or configuration, 3 Revox
 * refused REVOX_API_KEY, 130 interrupted.
 */
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import { DataDirBusyError } from '../src/db/dataDirLock.ts';
import { openCommandDatabase } from '../src/cli.ts';
import type { Database } from '../src/db/database.ts';
import { createEventBus } from '../src/events/eventBus.ts';
import { redisTransportFromConfig } from '../src/events/redisTransport.ts';
import { createLogger } from '../src/log.ts';
import { revoxClientFromConfig } from '../src/revox/client.ts';
import { createSyncReporter } from '../src/revox/progress.ts';
import { runSync, SyncBusyError, syncExitCode } from '../src/revox/sync.ts';
import { parseIsoDateTime } from '../src/isoDateTime.ts';

const USAGE = 'Usage: npm run sync -- --since <date, e.g. 2026-10-01 or 2026-10-01T00:00:00Z> | --all';
/** How long the import waits for Redis before importing without publishing events. */
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function parseSince(args: string[]): Date | null {
  if (args.length === 1 && args[0] === '--all') return null;
  const value =
    args.length === 2 && args[0] === '--since' ? args[1]! : args.length === 1 ? /^--since=(.*)$/.exec(args[0]!)?.[1] : undefined;
  if (value === undefined)
    fail(args.length === 0 ? `Say how far back to import.\n${USAGE}` : `Unexpected arguments: ${args.join(' ')}\n${USAGE}`);
  const since = parseIsoDateTime(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (typeof since === 'string') fail(`--since ${since}\n${USAGE}`);
  return since;
}

const since = parseSince(process.argv.slice(2));
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(`Configuration error: ${error.message}`);
}
const apiKey = config.revoxApiKey ?? fail('REVOX_API_KEY is not set: create a key in Revox (Dashboard, API Keys) and set it.');

let database: Database;
try {
  // It may create the embedded database: importing history can come before the server's first start.
  database = await openCommandDatabase(config, { name: 'npm run sync', usage: USAGE, createsDatabase: true });
} catch (error) {
  if (!(error instanceof DataDirBusyError)) throw error;
  fail(`Cannot sync: ${error.message}`);
}
// Logs (Redis trouble) go to stderr: stdout carries the progress.
const logger = createLogger((line) => process.stderr.write(`${line}\n`));
const events = createEventBus(logger, { transport: redisTransportFromConfig(config, logger) });
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
process.once('SIGTERM', () => interrupt.abort());
let exitCode: number;
try {
  // With REDIS_URL, running servers' subscribers see the completions imported; without it nobody would.
  if (config.redisUrl) await events.ready(REDIS_CONNECT_TIMEOUT_MS);
  const reporter = createSyncReporter(process.stdout, process.stdout.isTTY === true);
  const summary = await runSync(database.prisma, revoxClientFromConfig(config, apiKey), {
    since,
    pageSize: config.revoxSearchPageSize,
    firstPage: config.revoxSearchFirstPage,
    signal: interrupt.signal,
    onProgress: (progress) => reporter.progress(progress),
    events,
  });
  reporter.finished(summary);
  exitCode = syncExitCode(summary);
} catch (error) {
  if (!(error instanceof SyncBusyError)) throw error;
  process.stderr.write(`Cannot sync: ${error.message}\n`);
  exitCode = 2;
} finally {
  await events.close();
  await database.close();
}
process.exit(exitCode);

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/prisma/client.ts';
import { acquireDataDirLock } from './dataDirLock.ts';
import { applyMigrations } from './migrations.ts';
import { makePrivateDirectory } from './privateDirectory.ts';
import { currentRequestWork, RequestGoneError, requestStatement } from './requestWork.ts';
import { routeStatementsToPool } from './statements.ts';
import { PGLITE_EXTENSIONS } from './pgliteExtensions.ts';

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  /** `embedded` (PGlite in a folder) or `postgres` (a server through DATABASE_URL). */
  kind: 'embedded' | 'postgres';
  /** Migrations this start applied. */
  appliedMigrations: string[];
  /** Both connection pools' state, added up (PostgreSQL server only; the embedded database has one connection). */
  poolStats(): { total: number; idle: number; waiting: number } | null;
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Called for every SQL statement Prisma sends; lets tests count statements. */
  onQuery?: (sql: string) => void;
}

/**
 * PGlite starts PostgreSQL with `-F` (fsync off) by default. A 200 from the webhook promises the delivery is stored,
 * so the embedded database keeps fsync on and synchronous commits: a commit has reached the operating system before
 * the answer goes out, which survives the process being killed (tested with SIGKILL). PGlite 0.5's Node filesystem
 * does not pass fsync on to the OS, so a power loss can still lose the last commits: production belongs on a
 * PostgreSQL server (DATABASE_URL).
 *
 * PGlite touches its whole buffer pool at start, so `shared_buffers` is resident memory from the first second:
 * PostgreSQL's 128 MB default costs ~140 MiB of RSS. The files underneath are read through the operating system's
 * page cache anyway, and the embedded database is the small, one-process case: 32 MB keeps it lean.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams.filter((param) => param !== '-F'), '-c', 'shared_buffers=32MB'];

/** How long a request may wait for a database connection before it is answered 503. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Connections of each pool: one for ingest and background work, one for API reads. */
export const POOL_SIZE = 10;
/**
 * How long PostgreSQL lets one statement of an API read run before cancelling it: below QUERY_TIMEOUT_MS, after which
 * the client gives up on a statement, so that the server stops the work it abandons. Ingest, migrations, erasure and
 * retention run on the other pool, without this limit.
 */
export const API_STATEMENT_TIMEOUT_MS = 15_000;
/** A server that does not answer a statement within this fails it (503) instead of leaving requests queued. */
const QUERY_TIMEOUT_MS = 30_000;
/**
 * Statements one API request may have running at once: on PostgreSQL, 2 of the read pool's 10 connections, so that
 * one request never holds the pool; on PGlite, whose one session runs one statement at a time, 1, so that the
 * statements of other requests take turns with it instead of queueing behind all of its own.
 */
export const REQUEST_STATEMENTS_AT_ONCE = { postgres: 2, embedded: 1 } as const;

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { adapter, kind, closeDriver, pool, poolStats } = options.databaseUrl
    ? postgresAdapter(options.databaseUrl)
    : await embeddedAdapter(options.dataDir);

  let appliedMigrations: string[];
  try {
    appliedMigrations = await applyMigrations(adapter);
  } catch (error) {
    await closeDriver();
    throw error;
  }

  const prisma = new PrismaClient({
    // On PostgreSQL, the pool bounds each request's statements (routeRequestStatements).
    adapter: kind === 'embedded' ? takingTurns(adapter, REQUEST_STATEMENTS_AT_ONCE.embedded) : adapter,
    // Whatever NODE_ENV says (in production Prisma would default to "minimal", dropping the details).
    errorFormat: 'colorless',
    ...(options.onQuery ? { log: [{ level: 'query', emit: 'event' }] as const } : {}),
  });
  if (options.onQuery) {
    const onQuery = options.onQuery;
    (prisma as unknown as QueryEventSource).$on('query', (event) => onQuery(event.query));
  }
  if (pool) routeStatementsToPool(prisma, { pool, ...(options.onQuery ? { onQuery: options.onQuery } : {}) });

  return {
    prisma,
    kind,
    appliedMigrations,
    poolStats: poolStats ?? (() => null),
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const query = prisma.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}

interface QueryEventSource {
  $on(event: 'query', listener: (event: { query: string }) => void): void;
}

interface OpenedAdapter {
  adapter: SqlDriverAdapterFactory;
  kind: Database['kind'];
  closeDriver: () => Promise<void>;
  pool?: pg.Pool;
  poolStats?: Database['poolStats'];
}

function postgresAdapter(connectionString: string): OpenedAdapter {
  const pool = newPool(connectionString, '');
  const readPool = newPool(connectionString, `-c statement_timeout=${API_STATEMENT_TIMEOUT_MS}`);
  const routed = routeRequestStatements(pool, readPool);
  // The same pg at run time; only the copies of @types/pg differ.
  const adapter = new PrismaPg(routed as unknown as ConstructorParameters<typeof PrismaPg>[0]);
  return {
    adapter,
    kind: 'postgres',
    closeDriver: async () => {
      await Promise.all([pool.end(), readPool.end()]);
    },
    pool: routed,
    poolStats: () => ({
      total: pool.totalCount + readPool.totalCount,
      idle: pool.idleCount + readPool.idleCount,
      waiting: pool.waitingCount + readPool.waitingCount,
    }),
  };
}

/** Our own pools, so that their use can be reported (metrics); PrismaPg leaves ending them to us. */
function newPool(connectionString: string, settings: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    max: POOL_SIZE,
    // Prisma's pg adapter sends and reads timestamps without their offset: a session in any zone but UTC would
    // shift every stored time.
    options: `-c TimeZone=UTC ${settings}`.trim(),
  });
  // An idle connection that the server ends (a restart, a failover, a dropped database) emits 'error' on the pool;
  // unheard, that would crash the process. The next query reconnects, or fails with its own error.
  pool.on('error', () => {});
  return pool;
}

/**
 * `pool`, except that a statement sent for an API request (src/db/requestWork.ts) runs on `readPool`, within the
 * request's bound of statements at once, and is cancelled on the server when the request goes. Transactions
 * (`connect`) are never an API read's and stay on `pool`.
 */
function routeRequestStatements(pool: pg.Pool, readPool: pg.Pool): pg.Pool {
  const query = (...args: Parameters<pg.Pool['query']>) => {
    const work = currentRequestWork();
    if (!work) return Reflect.apply(pool.query, pool, args);
    return work.run(REQUEST_STATEMENTS_AT_ONCE.postgres, () => cancellableQuery(readPool, pool, work.signal, args));
  };
  return new Proxy(pool, {
    get: (target, property) => (property === 'query' ? query : Reflect.get(target, property, target)),
  });
}

/**
 * Runs one statement on a connection of its own from `readPool`. When `signal` aborts, the statement is cancelled
 * (pg_cancel_backend, sent through `pool`) and the connection closed, not reused: the cancel could otherwise land on
 * the next statement it runs.
 */
async function cancellableQuery(readPool: pg.Pool, pool: pg.Pool, signal: AbortSignal, args: unknown[]) {
  const client = await readPool.connect();
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    // pg's Client keeps its backend's pid; @types/pg does not declare it.
    pool.query('SELECT pg_cancel_backend($1)', [(client as unknown as { processID: number }).processID]).catch(() => {});
  };
  signal.addEventListener('abort', cancel, { once: true });
  let failed = false;
  try {
    if (signal.aborted) throw new RequestGoneError();
    return (await Reflect.apply(client.query, client, args)) as pg.QueryResult;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
    // As pg's own pool.query does: a connection whose statement failed is closed rather than trusted again.
    client.release(failed || cancelled);
  }
}

/** `factory`, except that an API request's statements (src/db/requestWork.ts) run at most `maxAtOnce` at a time. */
function takingTurns(factory: SqlDriverAdapterFactory, maxAtOnce: number): SqlDriverAdapterFactory {
  return Object.assign(Object.create(factory) as SqlDriverAdapterFactory, {
    connect: async () => {
      const connection = await factory.connect();
      return Object.assign(Object.create(connection) as SqlDriverAdapter, {
        queryRaw: (query: SqlQuery) => requestStatement(maxAtOnce, () => connection.queryRaw(query)),
        executeRaw: (query: SqlQuery) => requestStatement(maxAtOnce, () => connection.executeRaw(query)),
      });
    },
  });
}

/** Where in DATA_DIR the embedded database keeps its files. */
const embeddedFiles = (dataDir: string) => path.join(dataDir, 'pgdata');

/** Whether DATA_DIR holds an embedded database already (opening one where there is none creates it). */
export function embeddedDatabaseExists(dataDir: string): boolean {
  return existsSync(path.join(embeddedFiles(dataDir), 'PG_VERSION'));
}

/** Throws DataDirBusyError (its message says who holds DATA_DIR and what to do) while another process has it open. */
async function embeddedAdapter(dataDir: string): Promise<OpenedAdapter> {
  await makePrivateDirectory(dataDir);
  const lock = await acquireDataDirLock(dataDir);
  let pglite: PGlite;
  try {
    const pgdata = embeddedFiles(dataDir);
    await mkdir(pgdata, { recursive: true, mode: 0o700 });
    pglite = await PGlite.create(pgdata, {
      extensions: PGLITE_EXTENSIONS,
      startParams: PGLITE_START_PARAMS,
      relaxedDurability: false,
    });
    // PGlite chmods the files of its initial cluster to 0666, and a few it writes at start to 0644, whatever the
    // umask; files it creates later follow the umask (src/main.ts).
    await makePrivateDirectory(pgdata);
  } catch (error) {
    await lock.release();
    throw error;
  }
  return {
    adapter: new PrismaPGlite(pglite),
    kind: 'embedded',
    async closeDriver() {
      await pglite.close();
      await lock.release();
    },
  };
}

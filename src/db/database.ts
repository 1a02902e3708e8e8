import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/prisma/client.ts';
import { acquireDataDirLock } from './dataDirLock.ts';
import { applyMigrations } from './migrations.ts';
import { makePrivateDirectory } from './privateDirectory.ts';
import { routeStatementsToPool } from './statements.ts';

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  /** `embedded` (PGlite in a folder) or `postgres` (a server through DATABASE_URL). */
  kind: 'embedded' | 'postgres';
  /** Migrations this start applied. */
  appliedMigrations: string[];
  /** The connection pool's state (PostgreSQL server only; the embedded database has one connection). */
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

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { adapter, kind, closeDriver, pool } = options.databaseUrl
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
    adapter,
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
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null),
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
}

function postgresAdapter(connectionString: string): OpenedAdapter {
  // Our own pool, so that its use can be reported (metrics); PrismaPg leaves ending it to us.
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A dead server must fail requests fast (503) instead of leaving them queued.
    query_timeout: 30_000,
    max: 10,
    // Prisma's pg adapter sends and reads timestamps without their offset: a session in any zone but UTC would
    // shift every stored time.
    options: '-c TimeZone=UTC',
  });
  // An idle connection that the server ends (a restart, a failover, a dropped database) emits 'error' on the pool;
  // unheard, that would crash the process. The next query reconnects, or fails with its own error.
  pool.on('error', () => {});
  // The same pg at run time; only the copies of @types/pg differ.
  const adapter = new PrismaPg(pool as unknown as ConstructorParameters<typeof PrismaPg>[0]);
  return { adapter, kind: 'postgres', closeDriver: () => pool.end(), pool };
}

/** Throws DataDirBusyError (its message says who holds DATA_DIR and what to do) while another process has it open. */
async function embeddedAdapter(dataDir: string): Promise<OpenedAdapter> {
  await makePrivateDirectory(dataDir);
  const lock = await acquireDataDirLock(dataDir);
  let pglite: PGlite;
  try {
    const pgdata = path.join(dataDir, 'pgdata');
    await mkdir(pgdata, { recursive: true, mode: 0o700 });
    pglite = await PGlite.create(pgdata, {
      extensions: { pg_trgm },
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

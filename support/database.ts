/**
 * Where a test's database lives. By default each test server gets its own embedded PGlite in a temporary folder;
 * with DATABASE_URL set (CI), each gets a fresh database on that PostgreSQL server, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { PGLITE_EXTENSIONS } from '../src/db/pgliteExtensions.ts';

export const serverUrl = process.env.DATABASE_URL;
export const backend = serverUrl ? 'postgres' : 'pglite';

export interface TestDatabase {
  dataDir: string;
  databaseUrl: string | undefined;
  dispose(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'callboard-test-'));
  if (!serverUrl) {
    return { dataDir, databaseUrl: undefined, dispose: () => rm(dataDir, { recursive: true, force: true, maxRetries: 5 }) };
  }
  const name = `callboard_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    async dispose() {
      await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

async function withAdminClient(run: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

export interface TcpDatabase {
  host: string;
  port: number;
  dataDir: string;
  /** The database's URL as reached through `port` (e.g. a proxy in front of it). */
  url: (port: number) => string;
  dispose(): Promise<void>;
}

/**
 * A database reachable over TCP, for tests that put something between it and the server or share it between
 * instances: the CI server's fresh database, or an in-memory PGlite served on a loopback socket.
 */
export async function databaseOnTcp(): Promise<TcpDatabase> {
  const database = await createTestDatabase();
  if (database.databaseUrl) {
    const url = new URL(database.databaseUrl);
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      dataDir: database.dataDir,
      url: (port) => Object.assign(new URL(database.databaseUrl!), { port: String(port) }).toString(),
      dispose: () => database.dispose(),
    };
  }
  const db = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  const socketServer = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 32 });
  await socketServer.start();
  const port = Number(socketServer.getServerConn().split(':').at(-1));
  return {
    host: '127.0.0.1',
    port,
    dataDir: database.dataDir,
    url: (p) => `postgres://postgres@127.0.0.1:${p}/postgres`,
    async dispose() {
      await socketServer.stop();
      await db.close();
      await database.dispose();
    },
  };
}

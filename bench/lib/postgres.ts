/**
 * The PostgreSQL server the suite measures on: the one named by DATABASE_URL, or Debian's PostgreSQL started here
 * on a private port (as .ci/run does), gone when the suite ends. Each run gets a fresh database on it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../support/ports.ts';

export interface PostgresServer {
  /** URL of the server's maintenance database (where databases are created). */
  adminUrl: string;
  version: string;
  /** How it was obtained, for the report. */
  source: 'DATABASE_URL' | 'started by the suite';
  stop(): Promise<void>;
}

function debianPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length ? path.join(root, versions.at(-1)!, 'bin') : undefined;
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

export async function obtainPostgres(): Promise<PostgresServer> {
  const given = process.env.DATABASE_URL;
  if (given) return { adminUrl: given, version: await serverVersion(given), source: 'DATABASE_URL', stop: async () => {} };

  const bin = debianPostgresBin();
  if (!bin) throw new Error("Set DATABASE_URL to a PostgreSQL server, or install Debian's postgresql package.");
  const asPostgres = (command: string) => execFileSync('su', ['postgres', '-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'callboard-bench-pg-'));
  const postgresUid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim());
  const postgresGid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim());
  chownSync(dataDir, postgresUid, postgresGid);
  const port = await freePort();
  asPostgres(`${bin}/initdb -D ${dataDir} -A trust -U postgres`);
  asPostgres(
    `${bin}/pg_ctl -D ${dataDir} -l ${dataDir}/server.log -w start -o '-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300'`,
  );
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      asPostgres(`${bin}/pg_ctl -D ${dataDir} stop -m fast`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  return { adminUrl, version: await serverVersion(adminUrl), source: 'started by the suite', stop };
}

export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh database on the server; returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

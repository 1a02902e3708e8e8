import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describe, expect, it } from 'vitest';
import { applyMigrations, diffMigrationsToFunctionSources, diffMigrationsToSchema } from '../../src/db/migrations.ts';
import { PGLITE_EXTENSIONS } from '../../src/db/pgliteExtensions.ts';

const migrationsDir = new URL('../../prisma/migrations/', import.meta.url);
const serverUrl = process.env.DATABASE_URL;

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

async function migrationNames(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
}

/** Applies every migration to an empty database, checks what it built, and checks a second run applies nothing. */
async function expectMigratesFreshDatabase(adapterFactory: SqlDriverAdapterFactory, query: Query): Promise<void> {
  const names = await migrationNames();
  expect(names.length).toBeGreaterThan(0);

  expect(await applyMigrations(adapterFactory)).toEqual(names);

  const recorded = await query(
    'SELECT migration_name FROM _prisma_migrations' + ' WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
  );
  expect(recorded.map((row) => row.migration_name)).toEqual(names);

  const tables = await query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
  expect(tables.map((row) => row.table_name)).toEqual(
    expect.arrayContaining(['call_attempts', 'call_orders', 'transcript_messages', 'webhook_deliveries']),
  );

  const trigramIndexes = await query(
    "SELECT indexname FROM pg_indexes WHERE tablename = 'transcript_messages'" + " AND indexdef LIKE '%USING gin (content gin_trgm_ops)%'",
  );
  expect(trigramIndexes).toHaveLength(1);

  expect(await applyMigrations(adapterFactory)).toEqual([]);
}

describe('migrations', () => {
  it('prisma/migrations/ matches prisma/schema.prisma', async () => {
    const pendingSql = await diffMigrationsToSchema();
    expect(
      pendingSql,
      'prisma/schema.prisma has changes that no migration in prisma/migrations/ makes. ' +
        'Run `npm run db:migration -- <name>` (e.g. add_call_tags), review the generated migration.sql and commit it.',
    ).toBe('');
  });

  it('prisma/migrations/ matches the database functions kept in src/', async () => {
    expect(
      await diffMigrationsToFunctionSources(),
      'A function kept in src/ (e.g. src/ingest/storeDelivery.sql) differs from the latest migration that defines it. ' +
        'Run `npm run db:migration -- <name>` (e.g. store_delivery_tags), review the generated migration.sql and commit it.',
    ).toBe('');
  });

  it('applies every migration to a fresh PGlite once', async () => {
    const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
    try {
      await expectMigratesFreshDatabase(
        new PrismaPGlite(pglite),
        async (sql) => (await pglite.query(sql)).rows as Record<string, unknown>[],
      );
    } finally {
      await pglite.close();
    }
  });

  it('applies nothing when a file-backed PGlite is reopened', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'callboard-migrations-'));
    try {
      const first = await PGlite.create(dataDir, { extensions: PGLITE_EXTENSIONS });
      expect(await applyMigrations(new PrismaPGlite(first))).toEqual(await migrationNames());
      await first.close();

      const reopened = await PGlite.create(dataDir, { extensions: PGLITE_EXTENSIONS });
      try {
        expect(await applyMigrations(new PrismaPGlite(reopened))).toEqual([]);
        const { rows } = await reopened.query("SELECT to_regclass('public.call_orders') IS NOT NULL AS exists");
        expect(rows).toEqual([{ exists: true }]);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!serverUrl)('applies every migration to a fresh PostgreSQL database once (DATABASE_URL)', async () => {
    const name = `callboard_migrations_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: url.toString() });
    try {
      await client.connect();
      await expectMigratesFreshDatabase(
        new PrismaPg({ connectionString: url.toString() }),
        async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
      );
    } finally {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

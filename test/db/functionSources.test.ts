/**
 * The database functions kept in src/ (src/db/functionSources.ts) reach the database through migrations only: the
 * next migration carries a source file's definition when the latest migration that defines the function says
 * otherwise, and `npm run db:migration` writes it there.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describe, expect, it } from 'vitest';
import { changedFunctionDefinitions } from '../../src/db/functionSources.ts';
import { applyMigrations, createMigration, diffMigrationsToFunctionSources } from '../../src/db/migrations.ts';
import { PGLITE_EXTENSIONS } from '../../src/db/pgliteExtensions.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const sourceFile = 'src/ingest/storeDelivery.sql';
const readSource = (root = repositoryRoot) => readFile(path.join(root, sourceFile), 'utf8');
const readMigration = (name: string) => readFile(path.join(repositoryRoot, 'prisma/migrations', name, 'migration.sql'), 'utf8');
/** The statement alone, without the comments above it. */
const statementOf = (sql: string) => sql.slice(sql.lastIndexOf('CREATE OR REPLACE FUNCTION'));

describe('a function source compared with the migrations', () => {
  const firstDefinition = () => readMigration('20261127150000_store_delivery_function');
  const latestDefinition = () => readMigration('20261202124538_erasure_forms_and_purges');
  /** Defines the other functions kept in src/, which these cases leave alone. */
  const otherFunctions = () => readMigration('20261206052745_transcript_search');

  it('agrees with the latest migration that defines the function, whatever migrations follow it', async () => {
    const migrations = [
      await firstDefinition(),
      await latestDefinition(),
      await otherFunctions(),
      'ALTER TABLE "call_orders" ADD COLUMN "tag" TEXT;\n',
    ];
    expect(await changedFunctionDefinitions(repositoryRoot, migrations)).toBe('');
  });

  it('agrees with a definition that says CREATE where the file says CREATE OR REPLACE', async () => {
    const asCreate = statementOf(await readSource()).replace('CREATE OR REPLACE FUNCTION', 'CREATE FUNCTION');
    expect(await changedFunctionDefinitions(repositoryRoot, [await otherFunctions(), asCreate])).toBe('');
  });

  it("differs from an earlier definition when it is the latest, and is then the file's definition", async () => {
    const source = await readSource();
    const pending = await changedFunctionDefinitions(repositoryRoot, [
      await otherFunctions(),
      await latestDefinition(),
      await firstDefinition(),
    ]);
    expect(pending.startsWith(`-- callboard_store_delivery, from ${sourceFile}.\n\n`)).toBe(true);
    expect(pending.endsWith(statementOf(source))).toBe(true);
    // The file's header, on how to change it, stays in the file.
    expect(pending).not.toContain(source.slice(0, source.indexOf('\n\n')));
    expect(await changedFunctionDefinitions(repositoryRoot, [await otherFunctions()])).toBe(pending);
  });
});

describe('npm run db:migration', () => {
  it('writes nothing while the file agrees, then carries an edit of it into the next migration', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'callboard-function-sources-'));
    try {
      await cp(path.join(repositoryRoot, 'prisma'), path.join(root, 'prisma'), { recursive: true });
      for (const file of [sourceFile, 'src/db/transcriptSearch.sql']) {
        await mkdir(path.dirname(path.join(root, file)), { recursive: true });
        await cp(path.join(repositoryRoot, file), path.join(root, file));
      }
      expect(await createMigration('nothing_changed', root)).toBeNull();

      const edited = (await readSource()).replace('\nBEGIN\n', '\nBEGIN\n  -- edited by functionSources.test.ts\n');
      await writeFile(path.join(root, sourceFile), edited);
      const directory = await createMigration('store_delivery_edited', root);
      expect(directory).not.toBeNull();
      const migration = await readFile(path.join(directory!, 'migration.sql'), 'utf8');
      expect(migration).toContain(statementOf(edited));
      expect(await diffMigrationsToFunctionSources(root)).toBe('');

      // The migration installs the edited function over the one the earlier migrations made.
      const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
      try {
        await applyMigrations(new PrismaPGlite(pglite));
        await pglite.exec(migration);
        const { rows } = await pglite.query<{ prosrc: string }>("SELECT prosrc FROM pg_proc WHERE proname = 'callboard_store_delivery'");
        expect(rows).toHaveLength(1);
        expect(rows[0]!.prosrc).toContain('-- edited by functionSources.test.ts');
      } finally {
        await pglite.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

/**
 * The hot statements (a page of reads, storing a delivery) are prepared once per connection on a PostgreSQL server,
 * under a bounded number of names: a client choosing ever-new selections cannot grow every connection's memory.
 * A session that already holds a name (PGlite's socket server keeps one session across connections) is covered by
 * test/webhook/resilience.test.ts, whose database comes back under a new connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/db/generated/prisma/client.ts';
import { MAX_PREPARED_STATEMENTS, preparedName, runStatement } from '../../src/db/statements.ts';
import { backend } from '../../support/database.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

describe('runStatement', () => {
  it.skipIf(backend === 'pglite')('prepares a statement under its name on the connection that runs it', async () => {
    const listPrepared = Prisma.sql`SELECT coalesce(array_agg(name::text), '{}') AS names FROM pg_prepared_statements`;
    const name = preparedName(listPrepared.text);
    expect(name).toMatch(/^callboard_\d+$/);
    const [row] = await runStatement<{ names: string[] }>(server.database.prisma, listPrepared);
    expect(row?.names).toContain(name);
  });

  it(`names at most ${MAX_PREPARED_STATEMENTS} distinct statements; past them new ones run unnamed, and every one answers`, async () => {
    const statements = Array.from({ length: MAX_PREPARED_STATEMENTS + 5 }, (_, i) => Prisma.sql`SELECT ${Prisma.raw(String(i))}::int AS n`);
    const names = statements.map((statement) => preparedName(statement.text));
    const named = names.filter((name) => name !== undefined);
    expect(new Set(named).size).toBe(named.length);
    expect(named.length).toBeLessThanOrEqual(MAX_PREPARED_STATEMENTS);
    expect(names.at(-1)).toBeUndefined();
    // The same text keeps its name.
    expect(statements.map((statement) => preparedName(statement.text))).toEqual(names);

    for (const [i, statement] of statements.entries()) {
      for (let run = 0; run < 2; run++) {
        expect(await runStatement<{ n: number }>(server.database.prisma, statement)).toEqual([{ n: i }]);
      }
    }
  });
});

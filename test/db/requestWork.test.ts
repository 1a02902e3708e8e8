/**
 * The embedded database's one session runs one statement at a time, in the order they arrive: a request may have
 * only one of its statements waiting there, so another request's statement takes its turn before the rest of the
 * first request's, and a request that is gone sends nothing more. A sequence numbers the statements as they run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { RequestGoneError, RequestWork, withRequestWork } from '../../src/db/requestWork.ts';
import { backend, createTestDatabase, type TestDatabase } from '../../support/database.ts';

describe.runIf(backend === 'pglite')('the statements of API requests on the embedded database', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase({ dataDir: testDatabase.dataDir, databaseUrl: undefined });
    await database.prisma.$executeRaw`CREATE SEQUENCE turn`;
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    await testDatabase?.dispose();
  });

  /** Sends `count` statements for `work` at once; each answers with its turn. */
  const statements = (work: RequestWork, count: number) =>
    Array.from({ length: count }, () =>
      // A Prisma query starts when it is awaited: within the work, as a resolver's does.
      withRequestWork(work, () =>
        database.prisma.$queryRaw<{ turn: bigint }[]>`SELECT nextval('turn') AS turn`.then(([row]) => Number(row!.turn)),
      ),
    );
  const restart = () => database.prisma.$executeRaw`ALTER SEQUENCE turn RESTART`;

  it("take turns with another request's instead of queueing all at once", async () => {
    await restart();
    const first = statements(new RequestWork(new AbortController().signal), 3);
    const [second] = statements(new RequestWork(new AbortController().signal), 1);
    expect(await Promise.all(first)).toEqual([1, 3, 4]);
    expect(await second).toBe(2);
  });

  it('are not run once their request is gone', async () => {
    await restart();
    const client = new AbortController();
    const gone = statements(new RequestWork(client.signal), 3);
    const [other] = statements(new RequestWork(new AbortController().signal), 1);
    client.abort();
    for (const statement of gone) await expect(statement).rejects.toThrow(RequestGoneError);
    expect(await other).toBe(1);
  });
});

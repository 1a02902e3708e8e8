/**
 * A delivery is stored by one statement, `SELECT callboard_store_delivery($1::jsonb)`: one round trip and one
 * transaction, which either stores all of the delivery or none of it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, databaseOnTcp } from '../../support/database.ts';
import { orderDeliveries, orderDelivery, type AttemptSpec } from '../../support/deliveries.ts';
import { startProxy } from '../helpers/proxy.ts';
import { secretsScrubbed, startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

const statements: string[] = [];
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, undefined, { onQuery: (sql) => statements.push(sql) });
  await secretsScrubbed(server);
});
afterAll(() => server?.dispose());

const attemptsOf = (prefix: string, count: number): AttemptSpec[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `${prefix}_a${i}`,
    status: i % 3 === 1 ? 'error' : 'completed',
    result: i === count - 1 ? 'human' : 'voicemail',
    turns: 3 + i,
  }));

/** The stored state with what depends on the order's id (its version keys hash it) or on storage times left out. */
async function comparableState(target: TestServer, revoxId: string, renamedTo: string) {
  const json = JSON.stringify(await storedOrder(target, revoxId), (key, value) => (key === 'versionKey' ? undefined : value));
  return JSON.parse(json.replaceAll(revoxId, renamedTo));
}

describe('statements per delivery', () => {
  it('is one, SELECT callboard_store_delivery, whatever the delivery does', async () => {
    const [first, second, third] = orderDeliveries('call_one_statement', attemptsOf('call_one_statement', 3));
    const cases = [
      { delivery: first, expected: { duplicate: false, attempts: { created: 1, updated: 0, unchanged: 0 } } },
      { delivery: third, expected: { duplicate: false, attempts: { created: 2, updated: 0, unchanged: 1 } } },
      // Late: older than what is stored.
      { delivery: second, expected: { duplicate: false, attempts: { created: 0, updated: 0, unchanged: 2 } } },
      { delivery: third, expected: { duplicate: true, attempts: { created: 0, updated: 0, unchanged: 3 } } },
    ];
    for (const { delivery, expected } of cases) {
      statements.length = 0;
      const response = await server.deliver(delivery);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject(expected);
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/^SELECT callboard_store_delivery\(\$1::jsonb\)/);
    }
  });
});

describe('an attempt that belongs to another order', () => {
  it('is refused with 422, and nothing of the delivery is stored', async () => {
    expect((await server.deliver(orderDelivery('call_owner', [{ id: 'att_owned' }], 0))).status).toBe(200);
    const intruder = orderDelivery('call_intruder', [{ id: 'att_free' }, { id: 'att_owned' }], 1);
    const response = await server.deliver(intruder);
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({
      code: 'invalid_delivery',
      path: 'call.call_attempts[0].id',
      message: expect.stringContaining('attempt "att_owned" belongs to call order "call_owner"'),
    });
    const prisma = server.database.prisma;
    expect(await prisma.callOrder.count({ where: { revoxId: 'call_intruder' } })).toBe(0);
    expect(await prisma.callAttempt.count({ where: { revoxId: 'att_free' } })).toBe(0);
    expect(await prisma.webhookDelivery.findMany({ where: { callRevoxId: 'call_intruder' }, select: { outcome: true } })).toEqual([
      { outcome: 'rejected' },
    ]);
  });
});

describe('many deliveries for one order at once', () => {
  it('end with the newest version of the order and of every attempt, each delivery stored once', async () => {
    const reference = 'call_many_ref';
    for (const delivery of orderDeliveries(reference, attemptsOf(reference, 6))) {
      expect((await server.deliver(delivery)).status).toBe(200);
    }
    const expected = await comparableState(server, reference, 'ORDER');

    const prefix = 'call_many';
    const deliveries = orderDeliveries(prefix, attemptsOf(prefix, 6));
    const burst = [...deliveries, ...deliveries, ...deliveries, ...deliveries].sort(() => Math.random() - 0.5);
    const responses = await Promise.all(burst.map((delivery) => server.deliver(delivery)));
    expect(responses.map((response) => response.status)).toEqual(burst.map(() => 200));
    expect(responses.filter((response) => !response.body.duplicate)).toHaveLength(deliveries.length);
    const created = responses.reduce((sum, response) => sum + response.body.attempts.created, 0);
    expect(created).toBe(6);
    expect(await comparableState(server, prefix, 'ORDER')).toEqual(expected);
  });
});

describe('a failure inside the transaction', () => {
  it('leaves what was stored before untouched: the order, attempts and transcripts written before it roll back', async () => {
    const prefix = 'call_fails_late';
    const [first, second] = orderDeliveries(prefix, attemptsOf(prefix, 2));
    expect((await server.deliver(first)).status).toBe(200);
    const before = await storedOrder(server, prefix);

    // The archive row is the function's last write: failing it comes after every other write of the delivery.
    const prisma = server.database.prisma;
    await prisma.$executeRawUnsafe(`CREATE FUNCTION test_refuse_accepted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.outcome = 'accepted' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await prisma.$executeRawUnsafe(`CREATE TRIGGER test_refuse_accepted BEFORE INSERT ON webhook_deliveries
      FOR EACH ROW EXECUTE FUNCTION test_refuse_accepted()`);
    try {
      const refused = await server.deliver(second);
      expect(refused.status).toBe(500);
      expect(refused.body.error.message).toContain('it is archived for replay');
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER test_refuse_accepted ON webhook_deliveries');
      await prisma.$executeRawUnsafe('DROP FUNCTION test_refuse_accepted()');
    }
    expect(await storedOrder(server, prefix)).toEqual(before);

    const retried = await server.deliver(second);
    expect(retried.body).toMatchObject({ duplicate: false, attempts: { created: 1, updated: 0, unchanged: 1 } });
    expect((await storedOrder(server, prefix))!.attempts).toHaveLength(2);
  });
});

describe('the database going away in the middle of a delivery', () => {
  // PGlite is a single session: nothing can hold a delivery half-way while the test looks on.
  it.skipIf(backend === 'pglite')('answers 503 and stores nothing of it', async () => {
    const target = await databaseOnTcp();
    const proxy = await startProxy(target.port, target.host);
    const direct = target.url(target.port);
    const viaProxy = await startTestServer(
      { databaseUrl: target.url(proxy.port) },
      { dataDir: target.dataDir, databaseUrl: target.url(proxy.port), dispose: async () => {} },
    );
    const blocker = new pg.Client({ connectionString: direct });
    const observer = new pg.Client({ connectionString: direct });
    try {
      await Promise.all([blocker.connect(), observer.connect()]);
      const prefix = 'call_goes_away';
      const [first, second] = orderDeliveries(prefix, attemptsOf(prefix, 2));
      // The first attempt finishes again with a longer transcript: storing it replaces rows, not only adds them.
      second!.call.call_attempts[1]!.transcript.push({ role: 'user', content: 'one more turn' });
      expect((await viaProxy.deliver(first)).status).toBe(200);
      const before = await storedOrder(viaProxy, prefix);

      // Inserting the archive row, the function's last write, waits for this lock.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE webhook_deliveries IN SHARE MODE');
      const answer = viaProxy.deliver(second);
      const pid = await waitingDelivery(observer);
      const { rows } = await observer.query(
        "SELECT DISTINCT relation::regclass::text AS name FROM pg_locks WHERE pid = $1 AND mode = 'RowExclusiveLock'",
        [pid],
      );
      // It has written the order, the attempts and the transcripts.
      expect(rows.map((row) => row.name)).toEqual(expect.arrayContaining(['call_orders', 'call_attempts', 'transcript_messages']));

      await proxy.goAway();
      const refused = await answer;
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('database_unavailable');
      // The database server loses the session (a crash, a failover) before the transaction could finish.
      await observer.query('SELECT pg_terminate_backend($1)', [pid]);
      await blocker.query('COMMIT');

      await proxy.comeBack();
      expect(await storedOrder(viaProxy, prefix)).toEqual(before);
      expect(await viaProxy.database.prisma.webhookDelivery.count({ where: { callRevoxId: prefix } })).toBe(1);

      const retried = await viaProxy.deliver(second);
      expect(retried.body).toMatchObject({ duplicate: false, attempts: { created: 1, updated: 1, unchanged: 0 } });
      const after = (await storedOrder(viaProxy, prefix))!;
      expect(after.attempts.map((attempt) => attempt.transcript.length)).toEqual([4, 4]);
    } finally {
      await Promise.all([blocker.end(), observer.end()]).catch(() => {});
      await viaProxy.dispose();
      await proxy.close().catch(() => {});
      await target.dispose();
    }
  });
});

/** The backend running callboard_store_delivery once it waits for a lock. */
async function waitingDelivery(observer: pg.Client): Promise<number> {
  for (;;) {
    const { rows } = await observer.query(
      "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT callboard_store_delivery%'",
    );
    if (rows[0]) return rows[0].pid as number;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

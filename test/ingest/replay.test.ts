/** Replaying archived deliveries: a delivery that failed because of a bug is stored once the bug is fixed. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayArchived } from '../../src/ingest/replay.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { fixture, startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

let database: TestDatabase;
let server: TestServer;
beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer({}, database);
});
afterAll(async () => {
  await server?.dispose();
  await database?.dispose();
});

/** Why the delivery with `created_at: 'not a time'` is rejected, each time it is replayed: where, never what. */
const INVALID_REASON = 'invalid_delivery at call.created_at';

/** Archives a delivery as the webhook would have when a bug made storing it fail. */
async function archiveAsFailed(delivery: unknown) {
  const body = JSON.stringify(delivery);
  return server.database.prisma.webhookDelivery.create({
    data: {
      requestId: 'req-failed-by-a-bug',
      body,
      bodyBytes: Buffer.byteLength(body),
      headers: { 'content-type': 'application/json' },
      outcome: 'failed',
      httpStatus: 500,
      error: 'TypeError: a bug',
    },
  });
}

describe('replayArchived', () => {
  it('stores what failed, leaves what is still invalid rejected, and changes nothing when run again', async () => {
    const accepted = fixture('inbound-custom-llm-with-api-key');
    expect((await server.deliver(accepted)).status).toBe(200);
    const invalid = orderDelivery('call_still_invalid', [{ id: 'inv_a0' }], 0);
    (invalid.call as any).created_at = 'not a time';
    expect((await server.deliver(invalid)).status).toBe(422);
    const failed = await archiveAsFailed(orderDelivery('call_failed_by_bug', [{ id: 'bug_a0', turns: 7 }], 0));

    const summary = await replayArchived(server.database.prisma, 'not-accepted');
    const stillInvalid = { id: expect.any(String), receivedAt: expect.any(Date), outcome: 'rejected', reason: INVALID_REASON };
    expect(summary).toEqual({ replayed: 2, stored: 1, stillRejected: 1, skipped: 0, unstored: [stillInvalid] });
    const order = await storedOrder(server, 'call_failed_by_bug');
    expect(order!.attempts[0]!.transcript).toHaveLength(7);
    const replayed = await server.database.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: failed.id } });
    expect(replayed).toMatchObject({ outcome: 'accepted', httpStatus: 200, error: null });
    expect(replayed.replayedAt).toBeInstanceOf(Date);

    expect(await replayArchived(server.database.prisma, 'not-accepted')).toEqual({
      replayed: 1,
      stored: 0,
      stillRejected: 1,
      skipped: 0,
      unstored: [{ ...stillInvalid, id: summary.unstored[0]!.id }],
    });

    // Replaying everything, the redacted custom-llm delivery included, leaves the stored records as they were.
    const before = await storedOrder(server, accepted.call.id);
    const all = await replayArchived(server.database.prisma, 'all');
    expect(all.stored).toBe(2);
    expect(await storedOrder(server, accepted.call.id)).toEqual(before);
    expect(await server.database.prisma.webhookDelivery.count()).toBe(3);
  });

  it('runs as npm run replay against the configured database, and prints no phone number', async () => {
    await archiveAsFailed(orderDelivery('call_replayed_by_cli', [{ id: 'cli_a0' }], 0));
    const invalid = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { outcome: 'rejected' } });
    const badNumber = orderDelivery('call_bad_number', [{ id: 'bad_number_a0' }], 0);
    badNumber.call.to_phone_number = '+33 6 12 34 56 78';
    expect((await server.deliver(badNumber)).status).toBe(422);
    const withNumber = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { callRevoxId: 'call_bad_number' } });
    // The embedded database admits one process at a time: stop the server, as the README says.
    await server.stop();
    const env = { ...process.env, DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], { env });
    expect(stdout).toBe(
      'Replayed 3 deliveries: 1 stored, 2 still rejected.\n' +
        `  rejected ${invalid.id} (received ${invalid.receivedAt.toISOString()}): ${INVALID_REASON}\n` +
        `  rejected ${withNumber.id} (received ${withNumber.receivedAt.toISOString()}): invalid_delivery at call.to_phone_number\n`,
    );

    const usage = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', '--bogus'], { env }).catch(
      (error) => error,
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: npm run replay');

    server = await startTestServer({}, database);
    expect(await storedOrder(server, 'call_replayed_by_cli')).not.toBeNull();
  });
});

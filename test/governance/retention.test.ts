/**
 * Retention on data with backdated timestamps: transcripts, recording URLs, structured output and unknown fields of
 * attempts older than RETENTION_DAYS go, archived bodies and errors older than ARCHIVE_RETENTION_DAYS go, orders and
 * attempts stay; newer data is untouched; a second run finds nothing; a copy of a purged attempt brings nothing back;
 * without a policy nothing is ever purged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { orderDelivery } from '../../support/deliveries.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const DAY_MS = 86_400_000;
const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.dispose();
});

/** An order whose single attempt ended `daysAgo` days ago, with a 5-turn transcript. */
function endedDaysAgo(orderId: string, daysAgo: number) {
  const delivery = orderDelivery(orderId, [{ id: `${orderId}_a`, turns: 5 }], 0);
  const ended = Date.now() - daysAgo * DAY_MS;
  Object.assign(delivery.call_attempt!, {
    started_at: new Date(ended - 60_000).toISOString(),
    answered_at: new Date(ended - 55_000).toISOString(),
    ended_at: new Date(ended).toISOString(),
  });
  delivery.call.created_at = new Date(ended - 120_000).toISOString();
  return delivery;
}

async function attemptState(server: TestServer, revoxId: string) {
  const attempt = await server.database.prisma.callAttempt.findUniqueOrThrow({
    where: { revoxId },
    select: { recordingUrl: true, structuredOutput: true, status: true, _count: { select: { transcript: true } } },
  });
  return {
    recordingUrl: attempt.recordingUrl !== null,
    structuredOutput: attempt.structuredOutput !== null,
    turns: attempt._count.transcript,
    status: attempt.status,
  };
}

describe('retention', () => {
  it('purges what is past its age, keeps the record that the call happened, and leaves newer data alone', async () => {
    const server = await startTestServer({ retentionDays: 30, archiveRetentionDays: 7 });
    servers.push(server);
    const old = endedDaysAgo('call_old', 45);
    for (const delivery of [old, endedDaysAgo('call_recent', 10), endedDaysAgo('call_new', 1)]) {
      expect((await server.deliver(delivery)).status).toBe(200);
    }
    // Archive rows by arrival: the old and the recent order's deliveries arrived days ago.
    await server.database.prisma
      .$executeRaw`UPDATE webhook_deliveries SET received_at = now() - interval '45 days' WHERE call_revox_id = 'call_old'`;
    await server.database.prisma
      .$executeRaw`UPDATE webhook_deliveries SET received_at = now() - interval '10 days' WHERE call_revox_id = 'call_recent'`;

    const purged = await server.purgeExpired();
    expect(purged).toEqual({ attempts: 1, transcriptMessages: 5, deliveryBodies: 2 });

    expect(await attemptState(server, 'call_old_a')).toEqual({
      recordingUrl: false,
      structuredOutput: false,
      turns: 0,
      status: 'completed',
    });
    expect(await attemptState(server, 'call_recent_a')).toEqual({
      recordingUrl: true,
      structuredOutput: true,
      turns: 5,
      status: 'completed',
    });
    expect(await attemptState(server, 'call_new_a')).toEqual({ recordingUrl: true, structuredOutput: true, turns: 5, status: 'completed' });
    expect(await server.database.prisma.callOrder.count()).toBe(3);

    const bodies = await server.database.prisma.webhookDelivery.findMany({ select: { callRevoxId: true, body: true, outcome: true } });
    expect(Object.fromEntries(bodies.map((row) => [row.callRevoxId, row.body !== null]))).toEqual({
      call_old: false,
      call_recent: false,
      call_new: true,
    });
    // The archive row itself stays, with its outcome.
    expect(bodies.every((row) => row.outcome === 'accepted')).toBe(true);
    expect(server.logs.some((line) => line.includes('"event":"retention.purged"') && line.includes('"transcriptMessages":5'))).toBe(true);

    // Nothing left to do; the same old delivery again is a duplicate and brings nothing back.
    expect(await server.purgeExpired()).toEqual({ attempts: 0, transcriptMessages: 0, deliveryBodies: 0 });
    expect((await server.deliver(old)).body.duplicate).toBe(true);
    expect(await attemptState(server, 'call_old_a')).toMatchObject({ turns: 0, recordingUrl: false });
  });

  it('purges unknown fields and archived errors too, and a later copy of a purged attempt brings nothing back', async () => {
    const server = await startTestServer({ retentionDays: 30, archiveRetentionDays: 7 });
    servers.push(server);
    const prisma = server.database.prisma;
    const old = endedDaysAgo('call_copied', 45) as any;
    old.call_attempt.assistants_used = ['node_greeting'];
    expect((await server.deliver(old)).status).toBe(200);
    // A rejection whose error quotes a value of the delivery.
    const invalid = endedDaysAgo('call_invalid', 45);
    invalid.call.to_phone_number = '+33 6 12 34 56 78';
    expect((await server.deliver(invalid)).status).toBe(422);
    await prisma.$executeRaw`UPDATE webhook_deliveries SET received_at = now() - interval '45 days'`;

    expect(await server.purgeExpired()).toEqual({ attempts: 1, transcriptMessages: 5, deliveryBodies: 2 });
    const attempt = await prisma.callAttempt.findUniqueOrThrow({ where: { revoxId: 'call_copied_a' } });
    expect(attempt.extra).toEqual({});
    expect(attempt.purgedAt).toBeInstanceOf(Date);
    const archived = await prisma.webhookDelivery.findMany({ select: { body: true, error: true } });
    expect(archived).toEqual([
      { body: null, error: null },
      { body: null, error: null },
    ]);

    // The same delivery with one more unknown field is not a duplicate, but it ended before the purge.
    old.call_attempt.handled_by_user = null;
    const copy = await server.deliver(old);
    expect(copy.status).toBe(200);
    expect(copy.body.duplicate).toBe(false);
    expect(await attemptState(server, 'call_copied_a')).toEqual({
      recordingUrl: false,
      structuredOutput: false,
      turns: 0,
      status: 'completed',
    });
    expect((await prisma.callAttempt.findUniqueOrThrow({ where: { revoxId: 'call_copied_a' } })).extra).toEqual({});
  });

  it('keeps everything when no retention is set', async () => {
    const server = await startTestServer();
    servers.push(server);
    expect((await server.deliver(endedDaysAgo('call_ancient', 3_000))).status).toBe(200);
    expect(await server.purgeExpired()).toBeNull();
    expect(await attemptState(server, 'call_ancient_a')).toMatchObject({ turns: 5, recordingUrl: true });
  });

  it('runs in the server on its own, soon after start', async () => {
    const first = await startTestServer();
    servers.push(first);
    expect((await first.deliver(endedDaysAgo('call_stale', 400))).status).toBe(200);
    await first.stop();
    servers.pop();
    const second = await startTestServer({ retentionDays: 365 }, first.testDatabase);
    servers.push(second);
    await waitForTurns(second, 'call_stale_a', 0);
    await first.testDatabase.dispose();
  });
});

async function waitForTurns(server: TestServer, revoxId: string, turns: number) {
  while ((await attemptState(server, revoxId)).turns !== turns) await new Promise((resolve) => setTimeout(resolve, 50));
}

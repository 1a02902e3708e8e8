/**
 * Deliveries at and past the limits: depth, size, counts, characters the database cannot hold. Each is refused with
 * a clear error, leaves exactly one archive row, and changes nothing stored; a 500 says truly what was archived.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayArchived } from '../../src/ingest/replay.ts';
import { deliveryMaker, orderDelivery } from '../../support/deliveries.ts';
import { rawExchange, startTestServer, storedOrder, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const delivery = deliveryMaker('limits');

/** The one archive row of a request (there must be exactly one). */
async function archiveRow(requestId: string) {
  const rows = await server.database.prisma.webhookDelivery.findMany({ where: { requestId } });
  expect(rows, `archive rows of ${requestId}`).toHaveLength(1);
  return rows[0]!;
}

/** Nested arrays, `levels` deep. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('depth', () => {
  // The body is level 1, call 2, metadata 3, metadata.a 4: `a` may nest 61 arrays to reach the 64-level limit.
  const withMetadataA = (levels: number, edit?: (d: any) => void) =>
    JSON.stringify(delivery(edit)).replace('"metadata":{"campaign":"test"}', `"metadata":{"a":${nested(levels)}}`);

  it('accepts 64 levels', async () => {
    const response = await server.deliver(null, { raw: withMetadataA(61) });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it.each([62, 100_000])('422 naming the path for %i nested arrays under call.metadata.a, archived as received', async (levels) => {
    const raw = withMetadataA(levels);
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'invalid_delivery', path: `call.metadata.a${'[0]'.repeat(61)}` });
    expect(response.body.error.message).toContain('deeper than 64 levels');
    expect(await archiveRow(response.body.requestId)).toMatchObject({ outcome: 'rejected', httpStatus: 422, body: raw });
    // The server is fine afterwards.
    expect((await server.deliver(delivery())).status).toBe(200);
  });

  it('a body too deep to remove secrets from is not archived when it may hold one', async () => {
    const raw = withMetadataA(100_000, (d) => (d.call.llm_model = { type: 'custom', api_key: 'sk-deep-0123456789' }));
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(422);
    const row = await archiveRow(response.body.requestId);
    expect(row.body).toBeNull();
    expect(row.error).toContain('body not archived');
  });
});

describe('characters the database cannot hold', () => {
  it('422 naming the string that holds an escaped NUL', async () => {
    const d = delivery();
    const raw = JSON.stringify(d).replace('"content":"att_limits', '"content":"\\u0000att_limits');
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(422);
    expect(response.body.error.path).toBe('call.last_call_attempt.transcript[0].content');
    expect(await archiveRow(response.body.requestId)).toMatchObject({ outcome: 'rejected', body: raw });
    expect(await storedOrder(server, d.call.id)).toBeNull();
  });

  it('a body with a raw NUL byte is archived without its body, and says so', async () => {
    const response = await server.deliver(null, { raw: '{"call": {"id": "nul\u0000"}}' });
    expect(response.status).toBe(400);
    const row = await archiveRow(response.body.requestId);
    expect(row).toMatchObject({ outcome: 'rejected', httpStatus: 400, body: null });
    expect(row.error).toContain('the database refused it');
  });
});

describe('body size', () => {
  it('413 for a Content-Length beyond any INT, archived with that size, and the connection closed', async () => {
    const requestId = `huge-${Date.now()}`;
    const { head, closedByServer } = await rawExchange(
      server.port,
      `POST /webhooks/revox?token=${WEBHOOK_SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `X-Request-Id: ${requestId}\r\nContent-Length: 9999999999\r\n\r\n{"call": {`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(head.toLowerCase()).toContain('connection: close');
    expect(closedByServer).toBe(true);
    expect(await archiveRow(requestId)).toMatchObject({ outcome: 'rejected', httpStatus: 413, body: null, bodyBytes: 9_999_999_999n });
  });
});

describe('counts', () => {
  it.each([1_000_000, 2 ** 31, 2 ** 53 - 1])('422 naming call.calls_count for %i', async (count) => {
    const d = delivery((x) => (x.call.calls_count = count));
    const response = await server.deliver(d);
    expect(response.status).toBe(422);
    expect(response.body.error.path).toBe('call.calls_count');
    expect(response.body.error.message).toContain('999999');
    expect((await archiveRow(response.body.requestId)).outcome).toBe('rejected');
  });

  it('stores a calls_count of 999999', async () => {
    const d = delivery((x) => (x.call.calls_count = 999_999));
    expect((await server.deliver(d)).status).toBe(200);
    expect((await storedOrder(server, d.call.id))!.callsCount).toBe(999_999);
  });

  it('stores 1000 attempts in one delivery and refuses 1001, changing nothing', async () => {
    const specs = Array.from({ length: 1_001 }, (_, i) => ({ id: `att_many_${i}`, turns: 0 }));
    const thousand = orderDelivery('call_many_attempts', specs.slice(0, 1_000), 999);
    const stored = await server.deliver(thousand);
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    expect(stored.body.attempts.created).toBe(1_000);
    const before = await storedOrder(server, 'call_many_attempts');
    expect(before!.attempts).toHaveLength(1_000);

    const tooMany = orderDelivery('call_many_attempts', specs, 1_000);
    const refused = await server.deliver(tooMany);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'invalid_delivery', path: 'call.call_attempts' });
    expect(refused.body.error.message).toContain('at most 1000 attempts, got 1001');
    expect(await archiveRow(refused.body.requestId)).toMatchObject({ outcome: 'rejected', httpStatus: 422 });
    expect(await storedOrder(server, 'call_many_attempts')).toEqual(before);
  });
});

describe('a delivery that cannot be stored although the database is up', () => {
  // A real database made to refuse one order (and, second, its archive row too), as a bug would.
  const prisma = () => server.database.prisma;
  const refuseOrder = (revoxId: string) =>
    prisma().$executeRawUnsafe(`ALTER TABLE call_orders ADD CONSTRAINT refuse_poison CHECK (revox_id <> '${revoxId}')`);
  afterAll(async () => {
    await prisma().$executeRawUnsafe('ALTER TABLE call_orders DROP CONSTRAINT IF EXISTS refuse_poison');
    await prisma().$executeRawUnsafe('ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS refuse_poison_archive');
  });

  it('500 saying it is archived for replay when it is, and replay stores it once the cause is gone', async () => {
    await refuseOrder('call_poison_1');
    const d: any = orderDelivery('call_poison_1', [{ id: 'att_poison_1' }], 0);
    const response = await server.deliver(d);
    expect(response.status).toBe(500);
    expect(response.body.error.message).toBe('the delivery could not be stored; it is archived for replay');
    const row = await archiveRow(response.body.requestId);
    expect(row).toMatchObject({ outcome: 'failed', httpStatus: 500 });
    expect(JSON.parse(row.body!)).toEqual(d);

    await prisma().$executeRawUnsafe('ALTER TABLE call_orders DROP CONSTRAINT refuse_poison');
    expect((await replayArchived(prisma(), 'not-accepted')).stored).toBeGreaterThanOrEqual(1);
    expect(await storedOrder(server, 'call_poison_1')).not.toBeNull();
  });

  it('500 that does not claim an archive when archiving failed too', async () => {
    await refuseOrder('call_poison_2');
    await prisma().$executeRawUnsafe(
      `ALTER TABLE webhook_deliveries ADD CONSTRAINT refuse_poison_archive CHECK (call_revox_id IS DISTINCT FROM 'call_poison_2')`,
    );
    const response = await server.deliver(orderDelivery('call_poison_2', [{ id: 'att_poison_2' }], 0));
    expect(response.status).toBe(500);
    expect(response.body.error.message).toBe('the delivery could not be stored; it could not be archived for replay either');
    expect(await prisma().webhookDelivery.count({ where: { requestId: response.body.requestId } })).toBe(0);
    expect(server.logs.some((line) => line.includes('"event":"webhook.store_failed"') && line.includes('"archived":false'))).toBe(true);
  });
});

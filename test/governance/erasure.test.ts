/**
 * Erasure of a person's calls: the dry run counts and changes nothing; the erasure leaves nothing about the number in
 * any text or JSON column of any table (archive bodies included), keeps the other people's calls (a mention of the
 * number in them redacted), and writes an audit row with a keyed hash, never the number; deliveries arriving during or
 * after it end in a consistent state. Written forms and the tombstone: erasureForms.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { phoneNumberHash } from '../../src/ingest/numberHashes.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { columnsWhere } from '../helpers/leftovers.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const PERSON = '+33611112222';
const OTHER = '+33633334444';
let server: TestServer;
let admin: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = (await createKeyStore(server.database.prisma).create({ name: 'privacy-officer', scopes: ['admin'] })).key;
});
afterAll(() => server?.dispose());

/** Every `table.column` of text or JSON that mentions `text` in some row. */
const mentions = (text: string) => columnsWhere(server, (column) => `${column} LIKE $1`, `%${text}%`);

const erase = (phoneNumber: string, dryRun: boolean, token = admin) =>
  server.graphql(
    'mutation($phone: String!, $dryRun: Boolean) { eraseCalls(phoneNumber: $phone, dryRun: $dryRun) { dryRun callOrders callAttempts transcriptMessages webhookDeliveries redactedRecords } }',
    { phone: phoneNumber, dryRun },
    token,
  );

describe('eraseCalls', () => {
  it('counts in a dry run, then removes everything about the number, and audits it without the number', async () => {
    // Two orders to the person (one over two attempts), someone else's where the person only appears in metadata, a
    // rejected delivery quoting the number, and another person's order.
    for (const delivery of [
      orderDelivery(
        'call_person_1',
        [
          { id: 'person_1a', turns: 3 },
          { id: 'person_1b', turns: 4 },
        ],
        0,
        PERSON,
      ),
      orderDelivery(
        'call_person_1',
        [
          { id: 'person_1a', turns: 3 },
          { id: 'person_1b', turns: 4 },
        ],
        1,
        PERSON,
      ),
      orderDelivery('call_person_2', [{ id: 'person_2a', turns: 2 }], 0, PERSON),
    ]) {
      expect((await server.deliver(delivery)).status).toBe(200);
    }
    const aboutPerson = orderDelivery('call_about_person', [{ id: 'about_a', turns: 2 }], 0, OTHER);
    aboutPerson.call.metadata = { campaign: 'test', callback_number: PERSON } as any;
    expect((await server.deliver(aboutPerson)).status).toBe(200);
    const rejected = orderDelivery('call_person_bad', [{ id: 'person_bad_a' }], 0, PERSON);
    (rejected.call as any).created_at = 'yesterday';
    expect((await server.deliver(rejected)).status).toBe(422);
    const other = orderDelivery('call_other', [{ id: 'other_a', turns: 2 }], 0, OTHER);
    expect((await server.deliver(other)).status).toBe(200);
    expect((await mentions(PERSON)).length).toBeGreaterThan(0);

    const dryRun = (await erase(PERSON, true)).body.data.eraseCalls;
    // 2 orders; 3 attempts; 3 + 4 + 2 turns; deliveries: 3 for the person's orders, 1 about them, 1 rejected; the
    // metadata of the order about them redacted.
    expect(dryRun).toEqual({
      dryRun: true,
      callOrders: 2,
      callAttempts: 3,
      transcriptMessages: 9,
      webhookDeliveries: 5,
      redactedRecords: 1,
    });
    expect(await server.database.prisma.callOrder.count()).toBe(4);
    expect(await server.database.prisma.erasure.count()).toBe(0);

    const erased = (await erase(PERSON, false)).body.data.eraseCalls;
    expect(erased).toEqual({ ...dryRun, dryRun: false });
    expect(await mentions(PERSON)).toEqual([]);
    // The other people's orders stay, the mention redacted; the unrelated one's archived delivery stays.
    const kept = await server.database.prisma.callOrder.findMany({
      select: { revoxId: true, metadata: true },
      orderBy: { revoxId: 'asc' },
    });
    expect(kept).toEqual([
      { revoxId: 'call_about_person', metadata: { campaign: 'test', callback_number: '[erased]' } },
      { revoxId: 'call_other', metadata: { campaign: 'test' } },
    ]);
    expect(await server.database.prisma.webhookDelivery.count({ where: { callRevoxId: 'call_other' } })).toBe(1);

    const audit = (
      await server.graphql(
        '{ erasures { erasedBy phoneNumberHash callOrders callAttempts transcriptMessages webhookDeliveries redactedRecords } }',
        undefined,
        admin,
      )
    ).body.data.erasures;
    expect(audit).toEqual([
      {
        erasedBy: 'privacy-officer',
        phoneNumberHash: await phoneNumberHash(server.database.prisma, PERSON),
        callOrders: 2,
        callAttempts: 3,
        transcriptMessages: 9,
        webhookDeliveries: 5,
        redactedRecords: 1,
      },
    ]);
    expect(audit[0].phoneNumberHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(audit)).not.toContain(PERSON.slice(1));

    // Erasing again finds nothing; a call made later is new data and is stored.
    expect((await erase(PERSON, false)).body.data.eraseCalls).toMatchObject({ callOrders: 0, webhookDeliveries: 0 });
    const later = orderDelivery('call_person_3', [{ id: 'person_3a' }], 0, PERSON);
    later.call.created_at = new Date().toISOString();
    expect((await server.deliver(later)).status).toBe(200);
    expect(await server.database.prisma.callOrder.count({ where: { toPhoneNumber: PERSON } })).toBe(1);
  });

  it('refuses a number that is not E.164, naming the problem', async () => {
    const { body } = await erase('0612345678', true);
    expect(body.errors[0]).toMatchObject({ message: expect.stringMatching(/E\.164/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('while deliveries for the same number arrive, ends with each order either whole or gone', async () => {
    const number = '+33655556666';
    const attempts = Array.from({ length: 4 }, (_, index) => ({ id: `race_a${index}`, turns: 20 }));
    const deliveries = attempts.map((_, upTo) => orderDelivery('call_race', attempts, upTo, number));
    expect((await server.deliver(deliveries[0])).status).toBe(200);

    const [erasure, ...answers] = await Promise.all([
      erase(number, false),
      ...deliveries.slice(1).map((delivery) => server.deliver(delivery)),
    ]);
    expect(erasure.body.errors).toBeUndefined();
    // Stored before the erasure, or refused after it (the order was created before).
    for (const answer of answers) {
      if (answer.status !== 200) expect([answer.status, answer.body.error.code]).toEqual([422, 'erased_number']);
    }

    // Whatever the interleaving: no attempt without its order, no transcript without its attempt, and no order: what
    // came before the erasure is erased, what came after is refused.
    const orphans = await server.database.prisma.$queryRaw<{ count: number }[]>`
      SELECT ((SELECT count(*) FROM call_attempts a WHERE NOT EXISTS (SELECT 1 FROM call_orders o WHERE o.id = a.call_order_id))
            + (SELECT count(*) FROM transcript_messages m WHERE NOT EXISTS (SELECT 1 FROM call_attempts a WHERE a.id = m.call_attempt_id)))::int AS count`;
    expect(orphans[0]!.count).toBe(0);
    const order = await server.database.prisma.callOrder.findUnique({
      where: { revoxId: 'call_race' },
      include: { attempts: { include: { transcript: true } } },
    });
    expect(order).toBeNull();
    expect(await mentions(number)).toEqual([]);
  });
});

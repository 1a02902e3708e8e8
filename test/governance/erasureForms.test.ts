/**
 * Erasure finds a number however it is written (spaces, dots, dashes, `00`, national format, JSON escapes) and
 * nothing that merely shares digits with it; it removes the person's records and archive rows, redacts the mentions
 * in other people's records and in sync runs; and its tombstone keeps a replay, a sync or a late webhook from storing
 * again what it removed, while a new call to the number is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseCalls } from '../../src/governance/erasure.ts';
import { mentionPattern } from '../../src/ingest/phoneNumbers.ts';
import { runSync } from '../../src/revox/sync.ts';
import { replayArchived } from '../../src/ingest/replay.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { columnsWhere } from '../helpers/leftovers.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { clientFor, restCall, startFakeRevox } from '../revox/fakeRevox.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const erase = (phoneNumber: string) => eraseCalls(server.database.prisma, { phoneNumber, dryRun: false, erasedBy: 'test' });

/** `call.to_phone_number` and every attempt's number replaced by `written` in the JSON text, as a sender may escape it. */
function withNumberWritten(delivery: unknown, number: string, written: string): string {
  return JSON.stringify(delivery).replaceAll(`"${number}"`, `"${written}"`);
}

/** Every `table.column` whose text, JSON escapes decoded, still mentions the number in any written form. */
const mentions = (number: string) => columnsWhere(server, (text) => `callboard_phone_text(${text}) ~ $1`, mentionPattern(number));

describe('a number in every written form', () => {
  const NUMBER = '+33612345678';
  const written = [
    '+33612345678',
    '+33 6 12 34 56 78',
    '+33.6.12.34.56.78',
    '+33-6-12-34-56-78',
    '+33 (0)6 12 34 56 78',
    '+33\u00a06\u202f12\u202f34\u202f56\u202f78',
    '0033612345678',
    '00 33 6 12 34 56 78',
    '06 12 34 56 78',
    '06.12.34.56.78',
    'call me on 0612345678, thanks',
    '\\u002b33612345678',
    '\\u002B33\\u00206\\u002012\\u002034\\u002056\\u002078',
    '\\u002b\\u0033\\u0033\\u0036\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038',
  ];
  const notIt = [
    '+336123456789',
    '1233612345678',
    '00336123456789',
    '06123456789',
    '+44612345678',
    '+3612345678',
    '+33612345679',
    '612345678',
    '0.0612345678',
    '06.12.34.56.78.90',
  ];

  it('matches each spelling in the database, JSON escapes included, and nothing that only shares digits', async () => {
    const rows = await server.database.prisma.$queryRaw<{ text: string; matches: boolean }[]>`
      SELECT text, callboard_phone_text(text) ~ ${mentionPattern(NUMBER)} AS matches
      FROM unnest(${[...written, ...notIt]}::text[]) AS text`;
    expect(rows.filter((row) => row.matches).map((row) => row.text)).toEqual(written);
  });

  it('is the same pattern in JavaScript', () => {
    const pattern = new RegExp(mentionPattern(NUMBER));
    expect(written.filter((text) => !text.includes('\\u')).every((text) => pattern.test(text))).toBe(true);
    expect(notIt.filter((text) => pattern.test(text))).toEqual([]);
  });
});

describe('erasing a number', () => {
  const PERSON = '+33611112222';
  const OTHER = '+33633334444';

  it('leaves no copy anywhere: archive bodies and errors, other records, sync runs', async () => {
    const prisma = server.database.prisma;
    expect((await server.deliver(orderDelivery('call_forms_person', [{ id: 'forms_person_a', turns: 3 }], 0, PERSON))).status).toBe(200);
    // Rejected deliveries holding the number as spaced text (quoted in the error) and as a JSON escape, each with a
    // full transcript.
    const spaced = orderDelivery('call_forms_spaced', [{ id: 'forms_spaced_a', turns: 7 }], 0, PERSON);
    expect((await server.deliver(undefined, { raw: withNumberWritten(spaced, PERSON, '+33 6 11 11 22 22') })).status).toBe(422);
    const escaped = orderDelivery('call_forms_escaped', [{ id: 'forms_escaped_a', turns: 7 }], 0, PERSON);
    (escaped.call as any).created_at = 'yesterday';
    expect((await server.deliver(undefined, { raw: withNumberWritten(escaped, PERSON, '\\u002b33611112222') })).status).toBe(422);
    // Someone else's order that mentions the person in its metadata, an attempt's structured output and unknown fields.
    const other = orderDelivery('call_forms_other', [{ id: 'forms_other_a', turns: 2 }], 0, OTHER) as any;
    other.call.metadata = { campaign: 'test', callback: '0033611112222' };
    other.call_attempt.structured_output = { note: 'rappeler le 06 11 11 22 22 demain', amount: 0.0611112222 };
    other.call_attempt.contact = { phone: '+33.6.11.11.22.22' };
    other.call.call_attempts = [other.call_attempt];
    other.call.last_call_attempt = other.call_attempt;
    expect((await server.deliver(other)).status).toBe(200);
    // A sync run that failed on a call with the number spelled out.
    await prisma.revoxSyncRun.create({
      data: {
        kind: 'sync',
        status: 'failed',
        owner: 'test:1',
        failures: [{ revoxId: 'call_x', error: 'invalid_delivery: got "+33 6 11 11 22 22"' }],
        lastError: 'call.to_phone_number: got "06-11-11-22-22"',
      },
    });
    expect(await mentions(PERSON)).not.toEqual([]);

    expect(await erase(PERSON)).toEqual({
      dryRun: false,
      callOrders: 1,
      callAttempts: 1,
      transcriptMessages: 3,
      webhookDeliveries: 4,
      redactedRecords: 3,
    });
    expect(await mentions(PERSON)).toEqual([]);

    // The other person's records stay, with the mentions replaced (and a JSON number that merely holds the digits left).
    const kept = await prisma.callOrder.findUniqueOrThrow({
      where: { revoxId: 'call_forms_other' },
      include: { attempts: { include: { transcript: true } } },
    });
    expect(kept.metadata).toEqual({ campaign: 'test', callback: '[erased]' });
    expect(kept.attempts[0]!.structuredOutput).toEqual({ note: 'rappeler le [erased] demain', amount: 0.0611112222 });
    expect(kept.attempts[0]!.extra).toMatchObject({ contact: { phone: '[erased]' } });
    expect(kept.attempts[0]!.transcript).toHaveLength(2);
    const run = await prisma.revoxSyncRun.findFirstOrThrow({ where: { owner: 'test:1' } });
    expect(run.failures).toEqual([{ revoxId: 'call_x', error: 'invalid_delivery: got "[erased]"' }]);
    expect(run.lastError).toBe('call.to_phone_number: got "[erased]"');
  });
});

describe('the tombstone', () => {
  const PERSON = '+33655550000';

  it('the reported resurrection: a rejected delivery with the number escaped, erased, then replayed, stores nothing', async () => {
    const prisma = server.database.prisma;
    expect((await server.deliver(orderDelivery('call_res_order', [{ id: 'res_attempt', turns: 2 }], 0, PERSON))).status).toBe(200);
    // The same attempt in another order is refused (the attempt belongs to call_res_order), and archived.
    const stolen = orderDelivery('call_res_other', [{ id: 'res_attempt', turns: 7 }], 0, PERSON);
    const refused = await server.deliver(undefined, { raw: withNumberWritten(stolen, PERSON, '\\u002B33655550000') });
    expect(refused.status).toBe(422);

    await erase(PERSON);
    await replayArchived(prisma, 'all');
    expect(await prisma.transcriptMessage.count({ where: { callAttempt: { revoxId: 'res_attempt' } } })).toBe(0);
    expect(await prisma.callOrder.count({ where: { revoxId: { in: ['call_res_order', 'call_res_other'] } } })).toBe(0);
  });

  it('refuses old data from a replay, a sync or a late webhook without archiving it, and stores a new call', async () => {
    const prisma = server.database.prisma;
    const old = orderDelivery('call_tomb_old', [{ id: 'tomb_old_a', turns: 7 }], 0, PERSON);
    await erase(PERSON);

    // A late copy through the webhook: refused, and the archive keeps no body.
    const late = await server.deliver(old);
    expect(late.status).toBe(422);
    expect(late.body.error).toMatchObject({ code: 'erased_number' });
    const archived = await prisma.webhookDelivery.findFirstOrThrow({ where: { callRevoxId: 'call_tomb_old' } });
    expect(archived).toMatchObject({ outcome: 'rejected', body: null, contentHash: null });

    // An archive row the erasure never saw (restored from a backup), written with the other person mentioned only in
    // the metadata of their order, replayed.
    const mentioning = orderDelivery('call_tomb_mention', [{ id: 'tomb_mention_a', turns: 7 }], 0, '+33699990000') as any;
    mentioning.call.metadata = { callback: '06 55 55 00 00' };
    const body = JSON.stringify(mentioning);
    await prisma.webhookDelivery.create({
      data: {
        requestId: 'req-restored',
        body,
        bodyBytes: body.length,
        headers: { 'content-type': 'application/json' },
        outcome: 'failed',
        httpStatus: 500,
      },
    });
    const replay = await replayArchived(prisma, 'not-accepted');
    expect(replay.stored).toBe(0);
    expect(replay.unstored.map((unstored) => unstored.reason)).toContain('erased_number');
    expect(await prisma.callOrder.count({ where: { revoxId: { in: ['call_tomb_old', 'call_tomb_mention'] } } })).toBe(0);

    // The same old call read from Revox by a sync.
    const revox = await startFakeRevox();
    try {
      revox.put(restCall('call_tomb_old', [{ id: 'tomb_old_a', turns: 7 }], 0, { phoneNumber: PERSON }));
      const summary = await runSync(prisma, clientFor(revox, { maxRetries: 0 }), {
        since: null,
        pageSize: 10,
        firstPage: 0,
        events: server.events,
      });
      expect(summary).toMatchObject({ stored: 0, failed: 1 });
      expect(summary.failures[0]!.error).toMatch(/^erased_number: /);
    } finally {
      await revox.close();
    }
    expect(await prisma.transcriptMessage.count({ where: { callAttempt: { revoxId: 'tomb_old_a' } } })).toBe(0);

    // A call made after the erasure is new data.
    const fresh = orderDelivery('call_tomb_new', [{ id: 'tomb_new_a', turns: 2 }], 0, PERSON);
    fresh.call.created_at = new Date().toISOString();
    expect((await server.deliver(fresh)).status).toBe(200);
  });
});

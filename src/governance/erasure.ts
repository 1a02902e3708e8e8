/**
 * Erasure of one person's calls (GDPR article 17), in one transaction:
 * - removed: every order involving the phone number (its from or to number, or an attempt's number) with its
 *   attempts and transcripts, and every archived delivery for those orders or mentioning the number anywhere in its
 *   body or error, in any written form (src/ingest/phoneNumbers.ts);
 * - redacted: the number's mentions in other people's records (orders' metadata and unknown fields, attempts'
 *   structured output and unknown fields) and in the sync runs' failures and last errors become `[erased]`; the
 *   records themselves stay. A number spoken in someone else's transcript is part of that person's record and stays.
 *
 * An audit row keeps when, by whom and how much, and a keyed hash of the number, never the number itself. It is also
 * the tombstone: a delivery for an order created before the erasure of a number it mentions (a replay, a sync, a late
 * or repeated webhook) is refused, so nothing brings the erased data back. A call Revox makes to the number later is
 * a new order, new data, and is stored.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import { phoneNumberHash } from '../ingest/numberHashes.ts';
import { mentionPattern } from '../ingest/phoneNumbers.ts';

export interface ErasureCounts {
  callOrders: number;
  callAttempts: number;
  transcriptMessages: number;
  webhookDeliveries: number;
  /** Other people's records (orders, attempts, sync runs) where a mention of the number was redacted. */
  redactedRecords: number;
}

export interface ErasureResult extends ErasureCounts {
  dryRun: boolean;
}

export class ErasureError extends Error {
  override name = 'ErasureError';
}

const E164 = /^\+[1-9]\d{1,14}$/;
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 120_000 } as const;
/** What replaces a mention of the number in other people's records. */
const REDACTED = '[erased]';

export async function eraseCalls(
  prisma: PrismaClient,
  { phoneNumber, dryRun, erasedBy }: { phoneNumber: string; dryRun: boolean; erasedBy: string },
): Promise<ErasureResult> {
  if (!E164.test(phoneNumber)) {
    throw new ErasureError(`phoneNumber must be an E.164 number such as +33612345678, got "${phoneNumber.slice(0, 32)}"`);
  }
  const pattern = mentionPattern(phoneNumber);
  return prisma.$transaction(async (tx) => {
    const involved = () => tx.$queryRaw<{ id: string; revox_id: string }[]>`
      SELECT o.id, o.revox_id FROM call_orders o
      WHERE o.from_phone_number = ${phoneNumber} OR o.to_phone_number = ${phoneNumber}
         OR EXISTS (SELECT 1 FROM call_attempts a WHERE a.call_order_id = o.id AND a.phone_number = ${phoneNumber})
      ORDER BY o.revox_id`;
    // The same per-order locks as ingest, in a fixed order: a delivery being stored for one of these orders finishes
    // first, and is erased with the rest.
    for (const order of await involved()) {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${order.revox_id}, 0))`;
    }
    const orders = await involved();
    const orderIds = orders.map((order) => order.id);
    const revoxIds = orders.map((order) => order.revox_id);
    const deliveryWhere = Prisma.sql`call_revox_id = ANY(${revoxIds}::text[])
      OR callboard_phone_text(body) ~ ${pattern} OR callboard_phone_text(error) ~ ${pattern}`;
    const otherOrdersWhere = Prisma.sql`id <> ALL(${orderIds}::uuid[]) AND (metadata::text ~ ${pattern} OR extra::text ~ ${pattern})`;
    const otherAttemptsWhere = Prisma.sql`call_order_id <> ALL(${orderIds}::uuid[])
      AND (structured_output::text ~ ${pattern} OR extra::text ~ ${pattern})`;
    const runsWhere = Prisma.sql`failures::text ~ ${pattern} OR callboard_phone_text(last_error) ~ ${pattern}`;
    const [counts] = await tx.$queryRaw<{ attempts: number; messages: number; deliveries: number; redacted: number }[]>`
      SELECT (SELECT count(*) FROM call_attempts WHERE call_order_id = ANY(${orderIds}::uuid[]))::int AS attempts,
             (SELECT count(*) FROM transcript_messages m JOIN call_attempts a ON a.id = m.call_attempt_id
               WHERE a.call_order_id = ANY(${orderIds}::uuid[]))::int AS messages,
             (SELECT count(*) FROM webhook_deliveries WHERE ${deliveryWhere})::int AS deliveries,
             ((SELECT count(*) FROM call_orders WHERE ${otherOrdersWhere})
               + (SELECT count(*) FROM call_attempts WHERE ${otherAttemptsWhere})
               + (SELECT count(*) FROM revox_sync_runs WHERE ${runsWhere}))::int AS redacted`;
    const result: ErasureResult = {
      dryRun,
      callOrders: orders.length,
      callAttempts: counts?.attempts ?? 0,
      transcriptMessages: counts?.messages ?? 0,
      webhookDeliveries: counts?.deliveries ?? 0,
      redactedRecords: counts?.redacted ?? 0,
    };
    if (dryRun) return result;

    await tx.$executeRaw`DELETE FROM webhook_deliveries WHERE ${deliveryWhere}`;
    // Attempts and transcripts go with their orders (ON DELETE CASCADE).
    await tx.$executeRaw`DELETE FROM call_orders WHERE id = ANY(${orderIds}::uuid[])`;
    const redactJson = (column: string) =>
      Prisma.sql`${Prisma.raw(column)} = callboard_redact_jsonb(${Prisma.raw(column)}, ${pattern}, ${REDACTED})`;
    await tx.$executeRaw`UPDATE call_orders SET ${redactJson('metadata')}, ${redactJson('extra')} WHERE ${otherOrdersWhere}`;
    await tx.$executeRaw`UPDATE call_attempts SET ${redactJson('structured_output')}, ${redactJson('extra')} WHERE ${otherAttemptsWhere}`;
    await tx.$executeRaw`UPDATE revox_sync_runs SET ${redactJson('failures')},
      last_error = regexp_replace(callboard_phone_text(last_error), ${pattern}, ${REDACTED}, 'g') WHERE ${runsWhere}`;
    await tx.erasure.create({
      data: {
        erasedBy,
        phoneNumberHash: await phoneNumberHash(tx, phoneNumber),
        callOrders: result.callOrders,
        callAttempts: result.callAttempts,
        transcriptMessages: result.transcriptMessages,
        webhookDeliveries: result.webhookDeliveries,
        redactedRecords: result.redactedRecords,
      },
    });
    return result;
  }, TRANSACTION_OPTIONS);
}

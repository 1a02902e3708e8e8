/**
 * Erasure of one person's calls (GDPR article 17): every order involving a phone number, with its attempts and
 * transcripts, and every archived delivery that mentions the number, removed in one transaction. An audit row keeps
 * when, by whom and how much, and a keyed hash of the number, never the number itself, so that "was this number
 * erased?" can be answered later by whoever holds the database.
 *
 * An order involves the number when it is the order's from or to number, an attempt's number, or appears in the
 * order's metadata or unknown fields. A number merely spoken in someone else's call is part of that other person's
 * record and stays. A delivery that arrives after the erasure is new data and is stored again.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';

export interface ErasureCounts {
  callOrders: number;
  callAttempts: number;
  transcriptMessages: number;
  webhookDeliveries: number;
}

export interface ErasureResult extends ErasureCounts {
  dryRun: boolean;
}

export class ErasureError extends Error {
  override name = 'ErasureError';
}

const E164 = /^\+[1-9]\d{1,14}$/;
const HASH_KEY_SETTING = 'erasure_hash_key';
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 120_000 } as const;

export async function eraseCalls(
  prisma: PrismaClient,
  { phoneNumber, dryRun, erasedBy }: { phoneNumber: string; dryRun: boolean; erasedBy: string },
): Promise<ErasureResult> {
  if (!E164.test(phoneNumber)) {
    throw new ErasureError(`phoneNumber must be an E.164 number such as +33612345678, got "${phoneNumber.slice(0, 32)}"`);
  }
  // The number is digits after a plus: nothing in it is special to LIKE.
  const mentioned = `%${phoneNumber}%`;
  return prisma.$transaction(async (tx) => {
    const involved = () => tx.$queryRaw<{ id: string; revox_id: string }[]>`
      SELECT o.id, o.revox_id FROM call_orders o
      WHERE o.from_phone_number = ${phoneNumber} OR o.to_phone_number = ${phoneNumber}
         OR EXISTS (SELECT 1 FROM call_attempts a WHERE a.call_order_id = o.id AND a.phone_number = ${phoneNumber})
         OR o.metadata::text LIKE ${mentioned} OR o.extra::text LIKE ${mentioned}
      ORDER BY o.revox_id`;
    // The same per-order locks as ingest, in a fixed order: a delivery being stored for one of these orders finishes
    // first, and is erased with the rest.
    for (const order of await involved()) {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${order.revox_id}, 0))`;
    }
    const orders = await involved();
    const orderIds = orders.map((order) => order.id);
    const revoxIds = orders.map((order) => order.revox_id);
    const [counts] = await tx.$queryRaw<{ attempts: number; messages: number }[]>`
      SELECT (SELECT count(*) FROM call_attempts WHERE call_order_id = ANY(${orderIds}::uuid[]))::int AS attempts,
             (SELECT count(*) FROM transcript_messages m JOIN call_attempts a ON a.id = m.call_attempt_id
               WHERE a.call_order_id = ANY(${orderIds}::uuid[]))::int AS messages`;
    const deliveryWhere = Prisma.sql`call_revox_id = ANY(${revoxIds}::text[]) OR body LIKE ${mentioned} OR error LIKE ${mentioned}`;
    const [{ deliveries } = { deliveries: 0 }] = await tx.$queryRaw<{ deliveries: number }[]>`
      SELECT count(*)::int AS deliveries FROM webhook_deliveries WHERE ${deliveryWhere}`;
    const result: ErasureResult = {
      dryRun,
      callOrders: orders.length,
      callAttempts: counts?.attempts ?? 0,
      transcriptMessages: counts?.messages ?? 0,
      webhookDeliveries: deliveries,
    };
    if (dryRun) return result;

    await tx.$executeRaw`DELETE FROM webhook_deliveries WHERE ${deliveryWhere}`;
    // Attempts and transcripts go with their orders (ON DELETE CASCADE).
    await tx.$executeRaw`DELETE FROM call_orders WHERE id = ANY(${orderIds}::uuid[])`;
    await tx.erasure.create({
      data: {
        erasedBy,
        phoneNumberHash: await phoneNumberHash(tx, phoneNumber),
        callOrders: result.callOrders,
        callAttempts: result.callAttempts,
        transcriptMessages: result.transcriptMessages,
        webhookDeliveries: result.webhookDeliveries,
      },
    });
    return result;
  }, TRANSACTION_OPTIONS);
}

/** HMAC-SHA256 of the number with a key generated once per database, shared by every instance. */
export async function phoneNumberHash(db: Prisma.TransactionClient, phoneNumber: string): Promise<string> {
  await db.setting.createMany({ data: [{ name: HASH_KEY_SETTING, value: randomBytes(32).toString('base64url') }], skipDuplicates: true });
  const { value } = await db.setting.findUniqueOrThrow({ where: { name: HASH_KEY_SETTING } });
  return createHmac('sha256', value).update(phoneNumber).digest('hex');
}

/**
 * Stores one delivery in one transaction: its archive entry, the order, every attempt and their transcripts. The
 * transaction is one database function, callboard_store_delivery, called in one statement: this module builds its
 * argument from the validated records and reads its answer. The function's source is storeDelivery.sql, beside this
 * file; migrations install it (that file's header says how to change it).
 *
 * Deliveries for the same order are serialised by a transaction-scoped advisory lock, so concurrent deliveries end
 * in the state they would reach one by one. Each record keeps the highest `versionKey` it has seen: an older
 * delivery arriving late changes nothing, and the content hash in the key makes the end state independent of
 * arrival order.
 *
 * A delivery for an order created before the erasure of a number it mentions is refused whole (ErasedNumberError):
 * erased data never comes back through a replay, a sync or a late copy.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import { runStatement } from '../db/statements.ts';
import { deliveryNumberHashes } from './numberHashes.ts';
import type { CallCompletedPayload } from '../events/eventBus.ts';
import type { Delivery } from './payload.ts';
import { PayloadError } from './payloadError.ts';
import { FINISHED_ATTEMPT_STATUSES } from './statuses.ts';

/** What the archive keeps of a delivery, whatever became of it. */
export interface ArchiveEntry {
  requestId: string;
  /** The body without third parties' secrets (see redact.ts); null when it was not read (too large) or withheld. */
  body: string | null;
  /** As received, or as announced by Content-Length when the body was refused unread. */
  bodyBytes: bigint;
  headers: Record<string, string>;
  contentHash: string | null;
  callRevoxId: string | null;
  /** Unset: `webhook` (the column's default). */
  source?: DeliverySource;
  /** Set when replaying: the archived delivery to update instead of adding a new one. */
  replayOf?: string;
}

/** How a delivery came: POSTed by Revox, or a call read from Revox's REST API by the sync or the reconciliation. */
export type DeliverySource = 'webhook' | 'sync';

export interface StoredDelivery {
  deliveryId: string;
  duplicate: boolean;
  callOrderId: string;
  /** Whether the order's own record was created or replaced by this delivery. */
  order: 'created' | 'updated' | 'unchanged';
  attempts: { created: number; updated: number; unchanged: number };
  /** One event per attempt this delivery stored in a finished status for the first time. */
  completed: CallCompletedPayload[];
}

/** Nothing was stored: the order was created before the erasure of a number the delivery mentions. */
export class ErasedNumberError extends Error {
  override name = 'ErasedNumberError';
  constructor() {
    super('the call was created before the erasure of a phone number it mentions, and is not stored again');
  }
}

/** What callboard_store_delivery returns (storeDelivery.sql). */
type StoreResult =
  | { foreignAttempt: { index: number; ownerRevoxId: string } }
  | { erased: true }
  | {
      duplicate: boolean;
      deliveryId: string;
      order: OrderFacts & { change: StoredDelivery['order'] };
      /** One per attempt of the delivery, in its order; empty for a duplicate. */
      attempts: { id: string; change: keyof StoredDelivery['attempts']; previousStatus: string | null }[];
    };

/** The facts about the order that events carry, as stored once this delivery is applied. */
interface OrderFacts {
  id: string;
  direction: string;
  isCompleted: boolean;
  fromPhoneNumber: string;
  toPhoneNumber: string;
}

/**
 * One statement, one round trip: the database function does the whole transaction (lock, duplicate check, version
 * comparisons, writes, archive row), and autocommit makes the statement that transaction, durable when it answers.
 */
export async function storeDelivery(prisma: PrismaClient, delivery: Delivery, entry: ArchiveEntry): Promise<StoredDelivery> {
  // The function reads the records' fields by the names payload.ts gives them (dates as ISO strings): a field
  // renamed on one side only would be stored as NULL, which test/ingest/fieldRoundTrip.test.ts catches.
  const argument = JSON.stringify({
    order: delivery.order,
    // `path` is for error messages only.
    attempts: delivery.attempts.map(({ path: _path, ...attempt }) => attempt),
    numberHashes: await deliveryNumberHashes(prisma, delivery),
    archive: { ...entry, bodyBytes: entry.bodyBytes.toString() },
  });
  const [stored] = await runStatement<{ result: StoreResult }>(
    prisma,
    Prisma.sql`SELECT callboard_store_delivery(${argument}::jsonb) AS result`,
  );
  const result = stored!.result;
  if ('erased' in result) throw new ErasedNumberError();
  if ('foreignAttempt' in result) {
    const { index, ownerRevoxId } = result.foreignAttempt;
    const attempt = delivery.attempts[index]!;
    throw new PayloadError(`${attempt.path}.id`, `attempt "${attempt.revoxId}" belongs to call order "${ownerRevoxId}"`);
  }

  const { order } = result;
  const counts = { created: 0, updated: 0, unchanged: result.duplicate ? delivery.attempts.length : 0 };
  const completed: CallCompletedPayload[] = [];
  result.attempts.forEach(({ id, change, previousStatus }, index) => {
    counts[change] += 1;
    const attempt = delivery.attempts[index]!;
    const wasFinished = previousStatus !== null && FINISHED_ATTEMPT_STATUSES.has(previousStatus);
    if (change === 'unchanged' || wasFinished || !FINISHED_ATTEMPT_STATUSES.has(attempt.status)) return;
    completed.push({
      attemptId: id,
      callOrderId: order.id,
      callRevoxId: delivery.order.revoxId,
      phoneNumbers: [...new Set([order.fromPhoneNumber, order.toPhoneNumber, attempt.phoneNumber])],
      direction: order.direction,
      result: attempt.result,
      orderCompleted: order.isCompleted,
    });
  });
  return {
    deliveryId: result.deliveryId,
    duplicate: result.duplicate,
    callOrderId: order.id,
    order: order.change,
    attempts: counts,
    completed,
  };
}

/**
 * Archives a delivery that was not stored, outside any transaction, so the rejection itself is never lost. A body
 * the database refuses (PostgreSQL text cannot hold U+0000) must not cost the row: it is archived without it.
 */
export async function archiveRejection(
  prisma: PrismaClient,
  entry: ArchiveEntry,
  rejection: { httpStatus: number; error: string; outcome?: 'rejected' | 'failed' },
): Promise<{ deliveryId: string; bodyArchived: boolean }> {
  const result = { outcome: rejection.outcome ?? 'rejected', httpStatus: rejection.httpStatus, error: rejection.error } as const;
  try {
    return { deliveryId: await archive(prisma, entry, result), bodyArchived: entry.body !== null };
  } catch (error) {
    if (entry.body === null) throw error;
    const refused = `${result.error}; body not archived: the database refused it`;
    return { deliveryId: await archive(prisma, { ...entry, body: null }, { ...result, error: refused }), bodyArchived: false };
  }
}

async function archive(
  prisma: PrismaClient,
  entry: ArchiveEntry,
  result: { outcome: 'rejected' | 'failed'; httpStatus: number; error: string },
): Promise<string> {
  const data = {
    requestId: entry.requestId,
    body: entry.body,
    bodyBytes: entry.bodyBytes,
    headers: entry.headers,
    contentHash: entry.contentHash,
    callRevoxId: entry.callRevoxId,
    source: entry.source,
    ...result,
  };
  if (entry.replayOf) {
    await prisma.webhookDelivery.update({ where: { id: entry.replayOf }, data: { ...data, replayedAt: new Date() }, select: { id: true } });
    return entry.replayOf;
  }
  const created = await prisma.webhookDelivery.create({ data, select: { id: true } });
  return created.id;
}

/**
 * Stores one delivery in one transaction: its archive entry, the order, every attempt and their transcripts.
 *
 * Deliveries for the same order are serialised by a transaction-scoped advisory lock, so concurrent deliveries end
 * in the state they would reach one by one. Each record keeps the highest `versionKey` it has seen: an older
 * delivery arriving late changes nothing, and the content hash in the key makes the end state independent of
 * arrival order.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import type { CallCompletedPayload } from '../events/eventBus.ts';
import type { Json } from './json.ts';
import { FINISHED_ATTEMPT_STATUSES, PayloadError, type AttemptRecord, type Delivery, type OrderRecord } from './payload.ts';

type Transaction = Prisma.TransactionClient;

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

const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;

export async function storeDelivery(prisma: PrismaClient, delivery: Delivery, entry: ArchiveEntry): Promise<StoredDelivery> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${delivery.order.revoxId}, 0))`;

    const earlier = await tx.webhookDelivery.findFirst({
      where: {
        contentHash: entry.contentHash,
        outcome: { in: ['accepted', 'duplicate'] },
        ...(entry.replayOf ? { id: { not: entry.replayOf } } : {}),
      },
      select: { id: true },
    });
    const order = await upsertOrder(tx, delivery.order);
    if (earlier) {
      const deliveryId = await archive(tx, entry, { outcome: 'duplicate', httpStatus: 200, error: null });
      const unchanged = delivery.attempts.length;
      return {
        deliveryId,
        duplicate: true,
        callOrderId: order.id,
        order: order.change,
        attempts: { created: 0, updated: 0, unchanged },
        completed: [],
      };
    }

    const existing = await tx.callAttempt.findMany({
      where: { revoxId: { in: delivery.attempts.map((attempt) => attempt.revoxId) } },
      select: { id: true, revoxId: true, status: true, versionKey: true, callOrderId: true },
    });
    const existingByRevoxId = new Map(existing.map((attempt) => [attempt.revoxId, attempt]));
    const counts = { created: 0, updated: 0, unchanged: 0 };
    const completed: CallCompletedPayload[] = [];

    for (const attempt of delivery.attempts) {
      const stored = existingByRevoxId.get(attempt.revoxId);
      if (stored && stored.callOrderId !== order.id) await rejectForeignAttempt(tx, attempt, stored.callOrderId);
      if (stored && stored.versionKey >= attempt.versionKey) {
        counts.unchanged += 1;
        continue;
      }
      const id = stored ? await updateAttempt(tx, stored.id, attempt) : await createAttempt(tx, order.id, attempt);
      counts[stored ? 'updated' : 'created'] += 1;
      const wasFinished = stored !== undefined && FINISHED_ATTEMPT_STATUSES.has(stored.status);
      if (!wasFinished && FINISHED_ATTEMPT_STATUSES.has(attempt.status)) {
        completed.push({
          attemptId: id,
          callOrderId: order.id,
          callRevoxId: delivery.order.revoxId,
          phoneNumbers: [...new Set([order.fromPhoneNumber, order.toPhoneNumber, attempt.phoneNumber])],
          direction: order.direction,
          result: attempt.result,
          orderCompleted: order.isCompleted,
        });
      }
    }

    const deliveryId = await archive(tx, entry, { outcome: 'accepted', httpStatus: 200, error: null });
    return { deliveryId, duplicate: false, callOrderId: order.id, order: order.change, attempts: counts, completed };
  }, TRANSACTION_OPTIONS);
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
  db: Transaction,
  entry: ArchiveEntry,
  result: { outcome: 'accepted' | 'duplicate' | 'rejected' | 'failed'; httpStatus: number; error: string | null },
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
    await db.webhookDelivery.update({ where: { id: entry.replayOf }, data: { ...data, replayedAt: new Date() }, select: { id: true } });
    return entry.replayOf;
  }
  const created = await db.webhookDelivery.create({ data, select: { id: true } });
  return created.id;
}

/** Revox attempt ids are unique across orders: one claimed by another order means the delivery is wrong. */
async function rejectForeignAttempt(tx: Transaction, attempt: AttemptRecord, ownerId: string): Promise<never> {
  const owner = await tx.callOrder.findUniqueOrThrow({ where: { id: ownerId }, select: { revoxId: true } });
  throw new PayloadError(`${attempt.path}.id`, `attempt "${attempt.revoxId}" belongs to call order "${owner.revoxId}"`);
}

/** The facts about the order that events carry, as stored once this delivery is applied. */
const ORDER_FACTS = { id: true, direction: true, isCompleted: true, fromPhoneNumber: true, toPhoneNumber: true } as const;

async function upsertOrder(tx: Transaction, order: OrderRecord) {
  const stored = await tx.callOrder.findUnique({ where: { revoxId: order.revoxId }, select: { ...ORDER_FACTS, versionKey: true } });
  if (!stored) return { ...(await tx.callOrder.create({ data: orderData(order), select: ORDER_FACTS })), change: 'created' as const };
  if (stored.versionKey >= order.versionKey) return { ...stored, change: 'unchanged' as const };
  return {
    ...(await tx.callOrder.update({ where: { id: stored.id }, data: orderData(order), select: ORDER_FACTS })),
    change: 'updated' as const,
  };
}

function orderData(order: OrderRecord) {
  return {
    ...order,
    metadata: jsonOrNull(order.metadata),
    retryConfig: jsonOrNull(order.retryConfig),
    llmModel: jsonOrNull(order.llmModel),
  } satisfies Prisma.CallOrderCreateInput;
}

async function createAttempt(tx: Transaction, callOrderId: string, attempt: AttemptRecord): Promise<string> {
  const created = await tx.callAttempt.create({ data: { ...attemptData(attempt), callOrderId }, select: { id: true } });
  await createTranscript(tx, created.id, attempt);
  return created.id;
}

async function updateAttempt(tx: Transaction, id: string, attempt: AttemptRecord): Promise<string> {
  await tx.callAttempt.update({ where: { id }, data: attemptData(attempt), select: { id: true } });
  await tx.transcriptMessage.deleteMany({ where: { callAttemptId: id } });
  await createTranscript(tx, id, attempt);
  return id;
}

function attemptData({ transcript: _transcript, path: _path, ...attempt }: AttemptRecord) {
  return { ...attempt, structuredOutput: jsonOrNull(attempt.structuredOutput) };
}

/**
 * One INSERT for the whole transcript, with one array parameter per column: Prisma's createMany spends about 40 ms
 * on a 200-turn transcript, this about 10 (bench/ingest.ts).
 */
async function createTranscript(tx: Transaction, callAttemptId: string, attempt: AttemptRecord): Promise<void> {
  const turns = attempt.transcript;
  if (turns.length === 0) return;
  const json = (value: Json | null) => (value === null ? null : JSON.stringify(value));
  await tx.$executeRaw`
    INSERT INTO transcript_messages (call_attempt_id, position, role, content, tool_name, tool_arguments, tool_is_error, extra)
    SELECT ${callAttemptId}::uuid, * FROM unnest(
      ${turns.map((turn) => turn.position)}::int[],
      ${turns.map((turn) => turn.role)}::text[],
      ${turns.map((turn) => turn.content)}::text[],
      ${turns.map((turn) => turn.toolName)}::text[],
      ${turns.map((turn) => json(turn.toolArguments))}::jsonb[],
      ${turns.map((turn) => turn.toolIsError)}::boolean[],
      ${turns.map((turn) => json(turn.extra))}::jsonb[]
    )`;
}

/** Prisma distinguishes a JSON `null` value from SQL NULL; a missing object is stored as SQL NULL. */
function jsonOrNull(value: Json | null): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

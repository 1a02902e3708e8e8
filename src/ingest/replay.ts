/**
 * Re-processes archived deliveries through the same pipeline as the webhook, so a delivery rejected or failed by a
 * bug is stored once the bug is fixed. Replaying an accepted delivery is harmless: it changes nothing.
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { ingest, IngestFailure } from './pipeline.ts';
import type { DeliverySource } from './store.ts';

export type ReplaySelection = 'not-accepted' | 'all';

/** A replayed delivery that was not stored this time either, and why. */
export interface UnstoredDelivery {
  /** The archive row replayed (webhook_deliveries.id). */
  id: string;
  receivedAt: Date;
  outcome: 'rejected' | 'failed';
  /**
   * Why, without the delivery's content (a value quoted in an error can be a phone number): the rejection's code and
   * the field at fault, or the kind of failure. The archive row's `error` says more.
   */
  reason: string;
}

export interface ReplaySummary {
  replayed: number;
  stored: number;
  /** Replayed deliveries that were not stored: rejected as invalid, or failed again. */
  stillRejected: number;
  /** Deliveries that had no body to replay (over the size limit). */
  skipped: number;
  /** Each of the `stillRejected`, oldest first. */
  unstored: UnstoredDelivery[];
}

const BATCH = 100;

export async function replayArchived(prisma: PrismaClient, selection: ReplaySelection): Promise<ReplaySummary> {
  const summary: ReplaySummary = { replayed: 0, stored: 0, stillRejected: 0, skipped: 0, unstored: [] };
  const where = selection === 'all' ? {} : { outcome: { in: ['rejected', 'failed'] } };
  let after: string | undefined;
  for (;;) {
    const batch = await prisma.webhookDelivery.findMany({
      where: { ...where, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take: BATCH,
      select: { id: true, requestId: true, receivedAt: true, body: true, headers: true, source: true },
    });
    if (batch.length === 0) return summary;
    for (const delivery of batch) {
      if (delivery.body === null) {
        summary.skipped += 1;
        continue;
      }
      summary.replayed += 1;
      const unstored = await replayOne(prisma, delivery as typeof delivery & { body: string });
      if (unstored) {
        summary.stillRejected += 1;
        summary.unstored.push(unstored);
      } else {
        summary.stored += 1;
      }
    }
    after = batch.at(-1)!.id;
  }
}

/** Replays one archived delivery; null when it is now stored, otherwise why not. */
async function replayOne(
  prisma: PrismaClient,
  delivery: { id: string; requestId: string; receivedAt: Date; body: string; headers: unknown; source: string },
): Promise<UnstoredDelivery | null> {
  const unstored = (outcome: UnstoredDelivery['outcome'], reason: string) => ({
    id: delivery.id,
    receivedAt: delivery.receivedAt,
    outcome,
    reason,
  });
  try {
    const result = await ingest(prisma, {
      requestId: delivery.requestId,
      bytes: Buffer.from(delivery.body, 'utf8'),
      headers: delivery.headers as Record<string, string>,
      // A replay is marked by `replayedAt`; the row keeps saying how the delivery first came.
      source: delivery.source as DeliverySource,
      replayOf: delivery.id,
    });
    if (result.kind === 'stored') return null;
    const { code, path } = result.rejection;
    return unstored('rejected', path ? `${code} at ${path}` : code);
  } catch (error) {
    // A delivery that still fails (a bug not fixed yet) must not stop the others; a database that cannot even
    // archive the failure is down, and replaying the rest would fail too.
    if (error instanceof IngestFailure && error.archivedForReplay) return unstored('failed', failureKind(error.cause));
    throw error;
  }
}

/** An error's name and code (`PrismaClientKnownRequestError P2002`), never its message. */
function failureKind(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  return 'code' in error && typeof error.code === 'string' ? `${error.name} ${error.code}` : error.name;
}

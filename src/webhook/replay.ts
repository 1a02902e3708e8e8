/**
 * Re-processes archived deliveries through the same pipeline as the webhook, so a delivery rejected or failed by a
 * bug is stored once the bug is fixed. Replaying an accepted delivery is harmless: it changes nothing.
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { ingest } from './ingest.ts';
import type { DeliverySource } from './store.ts';

export type ReplaySelection = 'not-accepted' | 'all';

export interface ReplaySummary {
  replayed: number;
  stored: number;
  stillRejected: number;
  /** Deliveries that had no body to replay (over the size limit). */
  skipped: number;
}

const BATCH = 100;

export async function replayArchived(prisma: PrismaClient, selection: ReplaySelection): Promise<ReplaySummary> {
  const summary: ReplaySummary = { replayed: 0, stored: 0, stillRejected: 0, skipped: 0 };
  const where = selection === 'all' ? {} : { outcome: { in: ['rejected', 'failed'] } };
  let after: string | undefined;
  for (;;) {
    const batch = await prisma.webhookDelivery.findMany({
      where: { ...where, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take: BATCH,
      select: { id: true, requestId: true, body: true, headers: true, source: true },
    });
    if (batch.length === 0) return summary;
    for (const delivery of batch) {
      if (delivery.body === null) {
        summary.skipped += 1;
        continue;
      }
      const result = await ingest(prisma, {
        requestId: delivery.requestId,
        bytes: Buffer.from(delivery.body, 'utf8'),
        headers: delivery.headers as Record<string, string>,
        // A replay is marked by `replayedAt`; the row keeps saying how the delivery first came.
        source: delivery.source as DeliverySource,
        replayOf: delivery.id,
      });
      summary.replayed += 1;
      summary[result.kind === 'stored' ? 'stored' : 'stillRejected'] += 1;
    }
    after = batch.at(-1)!.id;
  }
}

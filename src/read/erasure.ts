/** Reading the erasure audit. */
import type { PrismaClient } from '../db/generated/prisma/client.ts';

/** How many erasures the audit lists: the most recent ones. */
export const LISTED_ERASURES = 100;

/** The most recent erasures, newest first; `query` is Pothos's selection. */
export function recentErasures(prisma: PrismaClient, query: object) {
  return prisma.erasure.findMany({ ...query, orderBy: { erasedAt: 'desc' }, take: LISTED_ERASURES });
}

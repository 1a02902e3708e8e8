/** What `syncStatus` reports: the latest run of each kind, as stored by runs.ts. */
import type { PrismaClient, RevoxSyncRun } from '../db/generated/prisma/client.ts';
import type { RunKind } from './runs.ts';

export interface SyncStatus {
  lastSync: RevoxSyncRun | null;
  lastReconcile: RevoxSyncRun | null;
}

export async function readSyncStatus(prisma: PrismaClient): Promise<SyncStatus> {
  const latest = (kind: RunKind) => prisma.revoxSyncRun.findFirst({ where: { kind }, orderBy: { startedAt: 'desc' } });
  const [lastSync, lastReconcile] = await Promise.all([latest('sync'), latest('reconcile')]);
  return { lastSync, lastReconcile };
}

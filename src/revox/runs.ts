/**
 * Runs of the sync and of the reconciliation, kept in `revox_sync_runs`: what `syncStatus` reports, where an
 * interrupted sync resumes, and the lease that keeps two processes (or two server instances) from running the same
 * kind of work at once.
 *
 * A run is claimed in one short transaction under a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`,
 * which PGlite has too): the lock makes the claim atomic across processes, and the `running` row it leaves is the
 * lease. A lease ends when its run finishes, or when its process is known dead (same host, pid gone) or has given no
 * news for `LEASE_MS`. A session-level lock held for the whole run would need a connection of its own for as long,
 * which the embedded database (one connection) cannot spare.
 */
import { hostname } from 'node:os';
import { processIsRunning } from '../db/dataDirLock.ts';
import type { PrismaClient, RevoxSyncRun } from '../db/generated/prisma/client.ts';

export type RunKind = 'sync' | 'reconcile';
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunCounts {
  seen: number;
  stored: number;
  unchanged: number;
  healed: number;
  failed: number;
}

export interface CallFailure {
  revoxId: string;
  error: string;
}

/** How many failed calls a run names; the count goes on. */
export const MAX_FAILURES_KEPT = 100;

/** A running run that has given no news for this long belongs to a process that died or hangs. */
export const LEASE_MS = 5 * 60_000;

/** This process, as the owner of the runs it claims. */
export const THIS_PROCESS = `${hostname()}:${process.pid}`;

export type Claim = { run: RevoxSyncRun; resumed: boolean } | { busy: RevoxSyncRun | null };

/** Sync only: which interrupted or failed run a new one continues. */
export interface ResumeScope {
  since: Date | null;
  pageSize: number;
  firstPage: number;
}

/**
 * Starts a run of `kind`, unless one is running elsewhere (`busy`, with that run when known). With `resume`, the
 * latest run of the kind continues when it stopped unfinished with the same scope.
 */
export async function claimRun(prisma: PrismaClient, kind: RunKind, resume?: ResumeScope): Promise<Claim> {
  return prisma.$transaction(async (tx) => {
    const [{ locked }] = await tx.$queryRaw<[{ locked: boolean }]>`
      SELECT pg_try_advisory_xact_lock(hashtextextended(${`callboard:revox:${kind}`}, 0)) AS locked`;
    if (!locked) return { busy: null };

    const latest = await tx.revoxSyncRun.findFirst({ where: { kind }, orderBy: { startedAt: 'desc' } });
    if (latest?.status === 'running') {
      if (isAlive(latest)) return { busy: latest };
      await tx.revoxSyncRun.update({
        where: { id: latest.id },
        data: {
          status: 'interrupted',
          finishedAt: new Date(),
          lastError: latest.lastError ?? 'its process stopped before the run finished',
        },
      });
      latest.status = 'interrupted';
    }
    const now = new Date();
    if (
      resume &&
      latest &&
      (latest.status === 'interrupted' || latest.status === 'failed') &&
      latest.since?.getTime() === resume.since?.getTime() &&
      latest.pageSize === resume.pageSize
    ) {
      const run = await tx.revoxSyncRun.update({
        where: { id: latest.id },
        data: { status: 'running', owner: THIS_PROCESS, heartbeatAt: now, finishedAt: null },
      });
      return { run, resumed: true };
    }
    const run = await tx.revoxSyncRun.create({
      data: {
        kind,
        status: 'running',
        owner: THIS_PROCESS,
        startedAt: now,
        heartbeatAt: now,
        ...(resume ? { since: resume.since, pageSize: resume.pageSize, nextPage: resume.firstPage } : {}),
      },
    });
    return { run, resumed: false };
  });
}

/** Saves a running run's progress; it is also the run's sign of life. */
export async function recordProgress(
  prisma: PrismaClient,
  runId: string,
  progress: RunCounts & { failures: CallFailure[]; nextPage?: number },
): Promise<void> {
  await prisma.revoxSyncRun.update({
    where: { id: runId },
    data: { ...progress, failures: progress.failures.slice(0, MAX_FAILURES_KEPT) as object[], heartbeatAt: new Date() },
    select: { id: true },
  });
}

export async function finishRun(prisma: PrismaClient, runId: string, status: Exclude<RunStatus, 'running'>, lastError: string | null) {
  const now = new Date();
  await prisma.revoxSyncRun.update({
    where: { id: runId },
    data: { status, finishedAt: now, heartbeatAt: now, ...(lastError === null ? {} : { lastError }) },
    select: { id: true },
  });
}

/** Reconcile runs kept for `syncStatus` and for looking back; older ones are deleted as new ones start. */
export const RECONCILE_RUNS_KEPT_MS = 30 * 24 * 3_600_000;

export async function pruneReconcileRuns(prisma: PrismaClient): Promise<void> {
  await prisma.revoxSyncRun.deleteMany({
    where: { kind: 'reconcile', status: { not: 'running' }, startedAt: { lt: new Date(Date.now() - RECONCILE_RUNS_KEPT_MS) } },
  });
}

function isAlive(run: RevoxSyncRun): boolean {
  const separator = run.owner.lastIndexOf(':');
  const [host, pid] = [run.owner.slice(0, separator), Number(run.owner.slice(separator + 1))];
  if (host === hostname() && Number.isInteger(pid) && !processIsRunning(pid)) return false;
  return Date.now() - run.heartbeatAt.getTime() < LEASE_MS;
}

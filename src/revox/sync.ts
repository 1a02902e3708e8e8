/**
 * Imports calls from Revox's search, newest first, page by page, through the webhook pipeline (ingestCall).
 *
 * Search has no date filter, so `since` is applied here: calls created before it are skipped, and the import stops
 * after the first page that reaches one. Progress is saved after every page; a run that stops (an error, Ctrl-C, a
 * crash) is continued by the next run with the same `since` and page size, from the page it had not finished. New
 * calls arriving meanwhile push older ones onto later pages, so a resumed run may read some calls twice (which
 * changes nothing) but skips none.
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describeError } from '../log.ts';
import { parseTimestamp } from '../ingest/revoxTimestamps.ts';
import type { CallEventPublisher } from '../events/eventBus.ts';
import { RevoxAuthError, RevoxError, type RevoxClient } from './client.ts';
import { callLabel, ingestCall } from './ingestCall.ts';
import { claimRun, finishRun, recordProgress, type CallFailure, type RunCounts } from './runs.ts';

export interface SyncOptions {
  /** Import calls created at or after this; null: every call. */
  since: Date | null;
  pageSize: number;
  /** The number of search's first page (0 or 1). */
  firstPage: number;
  /** Aborting stops the run after the call in hand; it ends `interrupted` and resumes next time. */
  signal?: AbortSignal;
  onProgress?: (progress: SyncProgress) => void;
  /** Where the calls it stores publish their completions, like webhook deliveries. */
  events: CallEventPublisher;
}

export interface SyncProgress extends RunCounts {
  runId: string;
  resumed: boolean;
  /** The page just read. */
  page: number;
  /** What search reported: an upper bound of what the run reads. */
  totalCount: number;
  /** Calls seen by this process (the counts include those of the runs it resumes). */
  seenThisRun: number;
}

export interface SyncSummary extends RunCounts {
  runId: string;
  resumed: boolean;
  status: 'completed' | 'failed' | 'interrupted';
  /** The first failed calls (the count is in `failed`). */
  failures: CallFailure[];
  /** Why the run stopped early. */
  lastError: string | null;
  /** The run stopped because Revox refused the key. */
  authFailed: boolean;
}

/** Another sync holds the lease. */
export class SyncBusyError extends Error {
  override name = 'SyncBusyError';
}

export async function runSync(prisma: PrismaClient, client: RevoxClient, options: SyncOptions): Promise<SyncSummary> {
  const claim = await claimRun(prisma, 'sync', { since: options.since, pageSize: options.pageSize, firstPage: options.firstPage });
  if ('busy' in claim) {
    const other = claim.busy;
    throw new SyncBusyError(
      other
        ? `another sync is running (process ${other.owner}, started ${other.startedAt.toISOString()}, last progress ${other.heartbeatAt.toISOString()})`
        : 'another sync is starting right now',
    );
  }
  const { run, resumed } = claim;
  const counts: RunCounts = { seen: run.seen, stored: run.stored, unchanged: run.unchanged, healed: run.healed, failed: run.failed };
  const failures = [...(run.failures as unknown as CallFailure[])];
  let page = run.nextPage;
  const seenBefore = run.seen;
  const summary = (status: SyncSummary['status'], lastError: string | null, authFailed = false): SyncSummary => ({
    runId: run.id,
    resumed,
    status,
    ...counts,
    failures,
    lastError,
    authFailed,
  });

  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { calls, totalCount } = await client.searchCalls(page, options.pageSize, options.signal);
      let reachedSince = false;
      for (const [index, call] of calls.entries()) {
        const createdAt = parseTimestamp(call.created_at);
        if (options.since && createdAt instanceof Date && createdAt < options.since) {
          reachedSince = true;
          continue;
        }
        counts.seen += 1;
        const outcome = await ingestCall(prisma, call);
        if (outcome.kind === 'failed') {
          counts.failed += 1;
          failures.push({ revoxId: callLabel(call, `page ${page}, calls[${index}]`), error: outcome.error });
        } else {
          counts[outcome.kind] += 1;
          options.events.publishCallCompleted(outcome.stored.completed);
        }
      }
      page += 1;
      await recordProgress(prisma, run.id, { ...counts, failures, nextPage: page });
      options.onProgress?.({ runId: run.id, resumed, page: page - 1, totalCount, seenThisRun: counts.seen - seenBefore, ...counts });
      const lastPage = calls.length === 0 || (page - options.firstPage) * options.pageSize >= totalCount;
      if (reachedSince || lastPage) break;
    }
  } catch (error) {
    const interrupted = options.signal?.aborted === true;
    const lastError = interrupted ? 'interrupted' : error instanceof RevoxError ? error.message : describeError(error);
    const status = interrupted ? 'interrupted' : 'failed';
    await finishRun(prisma, run.id, status, lastError);
    return summary(status, lastError, error instanceof RevoxAuthError);
  }
  await finishRun(prisma, run.id, 'completed', null);
  return summary('completed', null);
}

/** 0: everything imported; 1: some calls failed, or the run stopped on an error; 3: Revox refused the key; 130: Ctrl-C. */
export function syncExitCode(summary: SyncSummary): number {
  if (summary.authFailed) return 3;
  if (summary.status === 'interrupted') return 130;
  return summary.status === 'completed' && summary.failed === 0 ? 0 : 1;
}

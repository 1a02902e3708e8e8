/**
 * Heals orders whose webhooks never came, inside the server: every `intervalMs`, orders that are not finished and
 * either have had no news for `staleAfterMs` or are past their `next_call_at` with no news since, are re-read with
 * `GET /call/{id}` and fed through the webhook pipeline, so what changed is stored and fires its events as if the
 * webhook had come.
 *
 * Bounded: calls are read at most `maxPerMinute` a minute, and a run reads no more than that rate allows until the
 * next run. Only one instance reconciles at a time (the lease of runs.ts). "News" is the latest archived delivery for
 * the order, a reconciliation's own read included (a failed read too, through the run's failures), so an order Revox
 * has not moved on is re-read once per `staleAfterMs`, not at every run.
 */
import type { Config } from '../config.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describeError, type Logger } from '../log.ts';
import { FINISHED_ORDER_STATUSES } from '../ingest/statuses.ts';
import type { CallEventPublisher } from '../events/eventBus.ts';
import type { StoredDelivery } from '../ingest/store.ts';
import { revoxClientFromConfig, RevoxError, RevoxNotFoundError, sleep, type RevoxClient } from './client.ts';
import { ingestCall } from './ingestCall.ts';
import { claimRun, finishRun, pruneReconcileRuns, recordProgress, type CallFailure, type RunCounts } from './runs.ts';

export interface ReconcilerOptions {
  prisma: PrismaClient;
  client: RevoxClient;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  maxPerMinute: number;
  /** Where the calls it stores publish their completions, like webhook deliveries. */
  events: CallEventPublisher;
}

export interface ReconcileSummary extends RunCounts {
  runId: string;
  status: 'completed' | 'failed' | 'interrupted';
  lastError: string | null;
}

export interface Reconciler {
  /** Runs at once, then `intervalMs` after each run ends. */
  start(): void;
  /** Stops the schedule and the run in progress (which ends `interrupted`), and waits for it. */
  stop(): Promise<void>;
  /** One run now; null when another instance is reconciling. */
  runOnce(): Promise<ReconcileSummary | null>;
}

/** The reconciler the configuration asks for: none without an API key or with REVOX_RECONCILE_INTERVAL=0. */
export function reconcilerFromConfig(
  config: Config,
  { prisma, logger, events }: Pick<ReconcilerOptions, 'prisma' | 'logger' | 'events'>,
): Reconciler | undefined {
  if (config.revoxApiKey === undefined || config.revoxReconcileIntervalMs === 0) return undefined;
  return createReconciler({
    prisma,
    logger,
    events,
    client: revoxClientFromConfig(config, config.revoxApiKey),
    intervalMs: config.revoxReconcileIntervalMs,
    staleAfterMs: config.revoxReconcileStaleAfterMs,
    maxPerMinute: config.revoxReconcileMaxPerMinute,
  });
}

/**
 * The re-read brought what the webhooks missed: an attempt not stored before, or one that has finished since. A
 * change of equal version (the REST copy's extra fields winning the content-hash tie-break) is stored, not healed.
 */
function movedOn(stored: StoredDelivery): boolean {
  return stored.attempts.created > 0 || stored.completed.length > 0;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { prisma, client, logger } = options;
  const gapMs = 60_000 / options.maxPerMinute;
  const perRun = Math.max(1, Math.floor((options.maxPerMinute * Math.max(options.intervalMs, 60_000)) / 60_000));
  let timer: NodeJS.Timeout | undefined;
  let stopping: AbortController | undefined;
  let current: Promise<unknown> = Promise.resolve();

  async function stuckOrders(): Promise<string[]> {
    const staleBefore = new Date(Date.now() - options.staleAfterMs);
    const rows = await prisma.$queryRaw<{ revoxId: string }[]>`
      SELECT o.revox_id AS "revoxId"
      FROM call_orders o
      CROSS JOIN LATERAL (
        SELECT COALESCE(max(d.received_at), o.updated_at) AS at FROM webhook_deliveries d WHERE d.call_revox_id = o.revox_id
      ) news
      WHERE NOT o.is_completed
        AND o.is_cancelled IS NOT TRUE
        AND (o.status IS NULL OR o.status <> ALL(${[...FINISHED_ORDER_STATUSES]}::text[]))
        AND (news.at < ${staleBefore} OR (o.next_call_at < now() AND news.at < o.next_call_at))
        -- A read that failed (Revox no longer has the call) is news too: not again before the threshold.
        AND NOT EXISTS (
          SELECT 1 FROM revox_sync_runs r CROSS JOIN LATERAL jsonb_array_elements(r.failures) failure
          WHERE r.kind = 'reconcile' AND r.started_at >= ${staleBefore} AND failure->>'revoxId' = o.revox_id
        )
      ORDER BY news.at ASC
      LIMIT ${perRun}`;
    return rows.map((row) => row.revoxId);
  }

  async function run(signal: AbortSignal): Promise<ReconcileSummary | null> {
    const claim = await claimRun(prisma, 'reconcile');
    if ('busy' in claim) return null;
    const runId = claim.run.id;
    const counts: RunCounts = { seen: 0, stored: 0, unchanged: 0, healed: 0, failed: 0 };
    const failures: CallFailure[] = [];
    let status: ReconcileSummary['status'] = 'completed';
    let lastError: string | null = null;
    try {
      await pruneReconcileRuns(prisma);
      for (const [index, revoxId] of (await stuckOrders()).entries()) {
        if (index > 0) await sleep(gapMs, signal);
        counts.seen += 1;
        try {
          const outcome = await ingestCall(prisma, await client.retrieveCall(revoxId, signal));
          if (outcome.kind === 'failed') {
            counts.failed += 1;
            failures.push({ revoxId, error: outcome.error });
          } else {
            counts[outcome.kind] += 1;
            if (movedOn(outcome.stored)) counts.healed += 1;
            options.events.publishCallCompleted(outcome.stored.completed);
          }
        } catch (error) {
          // An order Revox no longer has is this order's problem; any other error (the key, Revox down, the
          // database) would fail every order alike, so the run stops.
          if (!(error instanceof RevoxNotFoundError)) throw error;
          counts.failed += 1;
          failures.push({ revoxId, error: error.message });
        }
        await recordProgress(prisma, runId, { ...counts, failures });
      }
    } catch (error) {
      status = signal.aborted ? 'interrupted' : 'failed';
      lastError = signal.aborted
        ? 'interrupted: the server is stopping'
        : error instanceof RevoxError
          ? error.message
          : describeError(error);
    }
    await recordProgress(prisma, runId, { ...counts, failures });
    await finishRun(prisma, runId, status, lastError ?? failures.at(-1)?.error ?? null);
    const fields = { runId, status, ...counts, ...(lastError ? { error: lastError } : {}) };
    if (status === 'failed' || counts.failed > 0) logger.warn('revox.reconciled', fields);
    else logger.info('revox.reconciled', fields);
    return { runId, status, lastError, ...counts };
  }

  function schedule(delayMs: number) {
    timer = setTimeout(() => {
      const controller = stopping!;
      current = run(controller.signal)
        .catch((error: unknown) => logger.error('revox.reconcile_failed', { error: describeError(error) }))
        .finally(() => {
          if (!controller.signal.aborted) schedule(options.intervalMs);
        });
    }, delayMs);
  }

  return {
    start() {
      if (stopping && !stopping.signal.aborted) return;
      stopping = new AbortController();
      schedule(0);
    },
    async stop() {
      stopping?.abort(new Error('the reconciliation is stopping'));
      clearTimeout(timer);
      await current;
    },
    runOnce: () => run(new AbortController().signal),
  };
}

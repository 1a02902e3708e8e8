/**
 * Retention: transcripts, recording URLs, structured output and unknown fields of attempts older than RETENTION_DAYS,
 * and archived delivery bodies and errors older than ARCHIVE_RETENTION_DAYS (RETENTION_DAYS when unset), are deleted.
 * Orders and attempts stay, as a record that the call happened. An attempt's age counts from its end (from when it
 * was first stored if it never ended); a delivery's from its arrival. A purged attempt records when: a copy of it
 * that ended before then, delivered again, brings nothing back (callboard_store_delivery).
 *
 * The purge runs inside the server on a schedule, in small batches of short transactions that skip rows being
 * written (so ingest never waits for it), under an advisory lock so that one instance at a time runs it.
 */
import { describeError, type Logger } from '../log.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';

export interface RetentionPolicy {
  /** Unset: keep forever. */
  retentionDays: number | undefined;
  archiveRetentionDays: number | undefined;
}

export interface PurgeCounts {
  attempts: number;
  transcriptMessages: number;
  /** Archived deliveries whose body and error were deleted. */
  deliveryBodies: number;
}

export const PURGE_INTERVAL_MS = 10 * 60_000;
const ATTEMPTS_PER_BATCH = 200;
const DELIVERIES_PER_BATCH = 500;
/** A run stops after this many batches and goes on at the next one, so it never holds the lock for long. */
const MAX_BATCHES_PER_RUN = 500;
/** Distinct from the per-order locks of ingest, which hash a Revox id into the same 64-bit space. */
const PURGE_LOCK = 7_141_857_300_001n;
const DAY_MS = 86_400_000;

export function createRetention(prisma: PrismaClient, policy: RetentionPolicy, logger: Logger) {
  const archiveDays = policy.archiveRetentionDays ?? policy.retentionDays;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PurgeCounts | null> | undefined;

  /** One batch in one transaction; null when another instance holds the purge lock. */
  const batch = async (cutoffs: { attempts?: Date; deliveries?: Date }): Promise<PurgeCounts | null> =>
    prisma.$transaction(async (tx) => {
      const [{ locked } = { locked: false }] = await tx.$queryRaw<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_xact_lock(${PURGE_LOCK}) AS locked`;
      if (!locked) return null;
      const counts: PurgeCounts = { attempts: 0, transcriptMessages: 0, deliveryBodies: 0 };
      if (cutoffs.attempts) {
        const [purged] = await tx.$queryRaw<{ attempts: number; messages: number }[]>`
          WITH batch AS (
            SELECT a.id FROM call_attempts a
            WHERE COALESCE(a.ended_at, a.first_stored_at) < ${cutoffs.attempts}
              AND (a.recording_url IS NOT NULL OR a.structured_output IS NOT NULL OR a.extra <> '{}'
                   OR EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = a.id))
            LIMIT ${ATTEMPTS_PER_BATCH}
            FOR UPDATE SKIP LOCKED
          ), messages AS (
            DELETE FROM transcript_messages m USING batch WHERE m.call_attempt_id = batch.id RETURNING 1
          ), attempts AS (
            UPDATE call_attempts a SET recording_url = NULL, structured_output = NULL, extra = '{}', purged_at = now()
            FROM batch WHERE a.id = batch.id RETURNING 1
          )
          SELECT (SELECT count(*) FROM attempts)::int AS attempts, (SELECT count(*) FROM messages)::int AS messages`;
        counts.attempts = purged?.attempts ?? 0;
        counts.transcriptMessages = purged?.messages ?? 0;
      }
      if (cutoffs.deliveries) {
        counts.deliveryBodies = await tx.$executeRaw`
          WITH batch AS (
            SELECT id FROM webhook_deliveries
            WHERE received_at < ${cutoffs.deliveries} AND (body IS NOT NULL OR error IS NOT NULL)
            LIMIT ${DELIVERIES_PER_BATCH}
            FOR UPDATE SKIP LOCKED
          )
          -- A rejection's error can quote the body (a field's value).
          UPDATE webhook_deliveries d SET body = NULL, error = NULL FROM batch WHERE d.id = batch.id`;
      }
      return counts;
    });

  /** Purges everything past its retention now; null when nothing is to be kept for a limited time or another instance is purging. */
  const purge = async (): Promise<PurgeCounts | null> => {
    if (policy.retentionDays === undefined && archiveDays === undefined) return null;
    const now = Date.now();
    const cutoffs = {
      attempts: policy.retentionDays === undefined ? undefined : new Date(now - policy.retentionDays * DAY_MS),
      deliveries: archiveDays === undefined ? undefined : new Date(now - archiveDays * DAY_MS),
    };
    const total: PurgeCounts = { attempts: 0, transcriptMessages: 0, deliveryBodies: 0 };
    for (let round = 0; round < MAX_BATCHES_PER_RUN; round++) {
      const counts = await batch(cutoffs);
      if (counts === null) return round === 0 ? null : total;
      total.attempts += counts.attempts;
      total.transcriptMessages += counts.transcriptMessages;
      total.deliveryBodies += counts.deliveryBodies;
      if (counts.attempts === 0 && counts.deliveryBodies === 0) break;
    }
    if (total.attempts + total.deliveryBodies > 0) logger.info('retention.purged', { ...total });
    return total;
  };

  /** One run at a time in this process; a failed run is logged and the next one tries again. */
  const runNow = (): Promise<PurgeCounts | null> => {
    running ??= purge()
      .catch((error: unknown) => {
        logger.error('retention.failed', { error: describeError(error) });
        return null;
      })
      .finally(() => (running = undefined));
    return running;
  };

  return {
    runNow,
    start(intervalMs = PURGE_INTERVAL_MS) {
      if (policy.retentionDays === undefined && archiveDays === undefined) return;
      const loop = () => {
        timer = setTimeout(() => runNow().finally(() => timer && loop()), intervalMs);
        timer.unref();
      };
      void runNow();
      loop();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;

/**
 * Aggregates over call attempts, computed by PostgreSQL in one statement each: no rows are loaded into the server.
 * `callStats` gives the counters of every matching attempt; `callStatsSeries` the same counters per hour, day or week
 * of the attempts' end times, in a time zone, with empty buckets included.
 *
 * Both take the filter as an SQL condition on `call_attempts a`, so that this module knows nothing of GraphQL.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import { FINISHED_ATTEMPT_STATUSES } from '../ingest/statuses.ts';
import { OPERATION_LIMITS } from '../limits/limits.ts';
import { outputValueCountsSql } from './outputConditions.ts';
import { ReadRequestError } from './readRequestError.ts';

export interface StatsCounters {
  attempts: number;
  callOrders: number;
  completedCallOrders: number;
  finishedAttempts: number;
  humanAnswers: number;
  averageDurationSeconds: number | null;
  p50DurationSeconds: number | null;
  p90DurationSeconds: number | null;
  byResult: { raw: string | null; count: number }[];
  byStatus: { raw: string; count: number }[];
}

export type StatsBucket = 'hour' | 'day' | 'week';

/** How a series cuts its buckets. */
export interface StatsBucketing {
  bucket: StatsBucket;
  /** An IANA time zone name such as Europe/Paris: buckets start at its local hours, midnights and Mondays. */
  timeZone: string;
}

export interface StatsSeriesOptions extends StatsBucketing {
  /** The filter's range (`endedAfter` inclusive, `endedBefore` exclusive); where absent, the data's own range. */
  endedAfter: Date | null | undefined;
  endedBefore: Date | null | undefined;
}

export interface StatsSeriesEntry extends StatsCounters {
  /** The bucket's local start, as an instant. */
  start: Date;
}

/** Most buckets one series may hold: 41 days of hours, 2.7 years of days, 19 years of weeks. */
export const MAX_SERIES_BUCKETS = 1_000;

/** A request the statistics cannot answer (unknown time zone, too many buckets); the message says why. */
export class StatsRequestError extends ReadRequestError {
  override name = 'StatsRequestError';
}

const FINISHED = Prisma.sql`(${Prisma.join([...FINISHED_ATTEMPT_STATUSES])})`;

const EMPTY: StatsCounters = {
  attempts: 0,
  callOrders: 0,
  completedCallOrders: 0,
  finishedAttempts: 0,
  humanAnswers: 0,
  averageDurationSeconds: null,
  p50DurationSeconds: null,
  p90DurationSeconds: null,
  byResult: [],
  byStatus: [],
};

/**
 * The matching attempts, each with its group (`bucket`), then the counters and both breakdowns of every group as the
 * CTEs `counters`, `by_result` and `by_status`, keyed by `bucket`.
 */
function groupedCounters(where: Prisma.Sql, bucket: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    matched AS (
      SELECT ${bucket} AS bucket, a.call_order_id, o.is_completed AS order_completed, a.status, a.result,
             EXTRACT(EPOCH FROM (a.ended_at - a.answered_at))::float8 AS duration
      FROM call_attempts a JOIN call_orders o ON o.id = a.call_order_id
      WHERE ${where}
    ),
    counters AS (
      SELECT m.bucket, json_build_object(
        'attempts', count(*),
        'callOrders', count(DISTINCT m.call_order_id),
        'completedCallOrders', count(DISTINCT m.call_order_id) FILTER (WHERE m.order_completed),
        'finishedAttempts', count(*) FILTER (WHERE m.status IN ${FINISHED}),
        'humanAnswers', count(*) FILTER (WHERE m.status IN ${FINISHED} AND m.result = 'human'),
        'averageDurationSeconds', avg(m.duration),
        'p50DurationSeconds', percentile_cont(0.5) WITHIN GROUP (ORDER BY m.duration),
        'p90DurationSeconds', percentile_cont(0.9) WITHIN GROUP (ORDER BY m.duration)
      ) AS totals
      FROM matched m GROUP BY m.bucket
    ),
    by_result AS (
      SELECT bucket, json_agg(json_build_object('raw', result, 'count', n) ORDER BY n DESC, result) AS list
      FROM (SELECT bucket, result, count(*) AS n FROM matched GROUP BY bucket, result) r GROUP BY bucket
    ),
    by_status AS (
      SELECT bucket, json_agg(json_build_object('raw', status, 'count', n) ORDER BY n DESC, status) AS list
      FROM (SELECT bucket, status, count(*) AS n FROM matched GROUP BY bucket, status) s GROUP BY bucket
    )`;
}

type CountersRow = {
  totals: Omit<StatsCounters, 'byResult' | 'byStatus'> | null;
  by_result: StatsCounters['byResult'] | null;
  by_status: StatsCounters['byStatus'] | null;
};

function counters(row: CountersRow | undefined): StatsCounters {
  if (!row?.totals) return EMPTY;
  return { ...row.totals, byResult: row.by_result ?? [], byStatus: row.by_status ?? [] };
}

/** How often each JSON value at a path of the structured output occurs: `null` for a missing path or a JSON null. */
export interface OutputValueCount {
  value: unknown;
  count: number;
}

type OutputCountsRow = { bucket: Date | number; counts: OutputValueCount[]; too_large: boolean };

/** The rows of `outputValueCountsSql`, unless their values are more than an answer may hold. */
async function outputCountRows(prisma: PrismaClient, sql: Prisma.Sql): Promise<OutputCountsRow[]> {
  const rows = await prisma.$queryRaw<OutputCountsRow[]>`${sql}`;
  if (rows.some((row) => row.too_large)) {
    throw new ReadRequestError(
      `byOutput: the values at this path come to more than the ${OPERATION_LIMITS.maxResponseBytes / 1024 / 1024} MiB ` +
        'an answer may hold: ask for a path deeper in the structured output, or for fewer values with first.',
    );
  }
  return rows;
}

/** The `first` most frequent values at `path` among the attempts matching `where`, in one statement. */
export async function callStatsByOutput(
  prisma: PrismaClient,
  where: Prisma.Sql,
  path: string[],
  first: number,
): Promise<OutputValueCount[]> {
  const [row] = await outputCountRows(prisma, outputValueCountsSql(where, Prisma.sql`0`, path, first));
  return row?.counts ?? [];
}

/**
 * The `first` most frequent values at `path` in each bucket of a series (as `callStatsSeries` cuts them), in one
 * statement for the whole series: keyed by the bucket's start in epoch milliseconds; an empty bucket is absent.
 */
export async function callStatsSeriesByOutput(
  prisma: PrismaClient,
  where: Prisma.Sql,
  bucketing: StatsBucketing,
  path: string[],
  first: number,
): Promise<Map<number, OutputValueCount[]>> {
  const rows = await outputCountRows(prisma, outputValueCountsSql(endedWhere(where), bucketStart(bucketing), path, first));
  return new Map(rows.map((row) => [new Date(row.bucket).getTime(), row.counts]));
}

/** The counters over every attempt matching `where` (a condition on `call_attempts a`). */
export async function callStats(prisma: PrismaClient, where: Prisma.Sql): Promise<StatsCounters> {
  const [row] = await prisma.$queryRaw<CountersRow[]>`
    WITH ${groupedCounters(where, Prisma.sql`0`)}
    SELECT c.totals, r.list AS by_result, s.list AS by_status
    FROM counters c LEFT JOIN by_result r USING (bucket) LEFT JOIN by_status s USING (bucket)
  `;
  return counters(row);
}

/** The start of the bucket of attempt `a`'s end time. */
function bucketStart({ bucket, timeZone }: StatsBucketing): Prisma.Sql {
  return Prisma.sql`date_trunc(${bucket}, a.ended_at, ${timeZone})`;
}

/** An attempt that has not ended is in no bucket. */
function endedWhere(where: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`${where} AND a.ended_at IS NOT NULL`;
}

const STEP: Readonly<Record<StatsBucket, { interval: string; seconds: number }>> = {
  hour: { interval: '1 hour', seconds: 3_600 },
  day: { interval: '1 day', seconds: 86_400 },
  week: { interval: '1 week', seconds: 604_800 },
};

/**
 * A time zone name as the IANA database spells them (Europe/Paris, America/Argentina/Buenos_Aires, UTC, Etc/GMT+3).
 * PostgreSQL would also take POSIX strings such as `UTC+3`, which mean three hours *behind* UTC: refused, as nobody
 * means that.
 */
const TIME_ZONE_NAME = /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/;

/**
 * The counters of the attempts matching `where`, per bucket of their end time (attempts that have not ended are in
 * no bucket), from the range's first bucket to its last, empty buckets included.
 *
 * Buckets are cut in local time: `date_trunc(unit, ended_at, zone)` gives an attempt's bucket. Days and weeks
 * (starting on Monday) are listed as local timestamps and converted to instants, so a daylight-saving day lasts 23
 * or 25 hours; hours are listed as instants one real hour apart, so the repeated autumn hour is two buckets and the
 * skipped spring hour none.
 */
export async function callStatsSeries(prisma: PrismaClient, where: Prisma.Sql, options: StatsSeriesOptions): Promise<StatsSeriesEntry[]> {
  const { bucket, timeZone } = options;
  if (!TIME_ZONE_NAME.test(timeZone)) throw unknownTimeZone(timeZone);
  const step = STEP[bucket];
  const starts =
    bucket === 'hour'
      ? Prisma.sql`SELECT generate_series(bounds.first, bounds.list_until, ${step.interval}::interval) AS start`
      : Prisma.sql`SELECT local AT TIME ZONE ${timeZone} AS start
          FROM generate_series(bounds.first AT TIME ZONE ${timeZone}, bounds.list_until AT TIME ZONE ${timeZone}, ${step.interval}::interval) AS local`;

  let rows: (CountersRow & { bucket_count: number | null; start: Date | null })[];
  try {
    rows = await prisma.$queryRaw`
      WITH ${groupedCounters(endedWhere(where), bucketStart(options))},
      range AS (
        SELECT coalesce(date_trunc(${bucket}, ${options.endedAfter ?? null}::timestamptz, ${timeZone}), min(bucket)) AS first,
               coalesce(date_trunc(${bucket}, ${options.endedBefore ?? null}::timestamptz - interval '1 millisecond', ${timeZone}), max(bucket)) AS last
        FROM matched
      ),
      -- Counted before any bucket is listed (none is past the cap), so an absurd range costs nothing. Rounding
      -- absorbs the hours daylight saving adds or removes.
      counted AS (
        SELECT first, last, (round(EXTRACT(EPOCH FROM last - first) / ${step.seconds}) + 1)::int AS bucket_count FROM range
      ),
      bounds AS (
        SELECT first, bucket_count, CASE WHEN bucket_count <= ${MAX_SERIES_BUCKETS} THEN last END AS list_until FROM counted
      )
      SELECT bounds.bucket_count, b.start, c.totals, r.list AS by_result, s.list AS by_status
      FROM bounds
      LEFT JOIN LATERAL (${starts}) b ON TRUE
      LEFT JOIN counters c ON c.bucket = b.start
      LEFT JOIN by_result r ON r.bucket = b.start
      LEFT JOIN by_status s ON s.bucket = b.start
      ORDER BY b.start
    `;
  } catch (error) {
    if (isUnknownTimeZoneError(error)) throw unknownTimeZone(timeZone);
    throw error;
  }
  const count = rows[0]?.bucket_count ?? 0;
  if (count > MAX_SERIES_BUCKETS) {
    throw new StatsRequestError(
      `The range holds ${count} ${bucket} buckets, more than the ${MAX_SERIES_BUCKETS} a series may hold: ` +
        'narrow it with endedAfter/endedBefore or use a larger bucket.',
    );
  }
  return rows.flatMap((row) => (row.start === null ? [] : [{ start: row.start, ...counters(row) }]));
}

function unknownTimeZone(timeZone: string): StatsRequestError {
  return new StatsRequestError(
    `Unknown time zone "${timeZone.slice(0, 64)}": use an IANA time zone name such as Europe/Paris or America/New_York.`,
  );
}

/** PostgreSQL's `time zone "..." not recognized` (SQLSTATE 22023), however the driver adapter wraps it. */
function isUnknownTimeZoneError(error: unknown): boolean {
  return error instanceof Error && /time zone .* not recognized/.test(error.message);
}

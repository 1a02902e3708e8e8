/** Aggregates over call attempts: the GraphQL face of src/read/stats.ts, which computes them in PostgreSQL. */
import type { PrismaClient } from '../../db/generated/prisma/client.ts';
import {
  AGGREGATE_STATEMENT_COST,
  databaseWork,
  DEFAULT_PAGE_SIZE,
  listSize,
  MAX_IDENTIFIER_LENGTH,
  MAX_OUTPUT_VALUE_COUNTS,
  maxLength,
} from '../../limits/index.ts';
import { checkedPath } from '../../read/outputConditions.ts';
import {
  callStats,
  callStatsByOutput,
  callStatsSeries,
  callStatsSeriesByOutput,
  MAX_SERIES_BUCKETS,
  type OutputValueCount as ReadOutputValueCount,
  type StatsBucket,
  type StatsBucketing,
  type StatsCounters,
  type StatsSeriesEntry,
} from '../../read/stats.ts';
import { builder } from '../builder.ts';
import { callAttemptCondition, type CallAttemptFilter as ReadCallAttemptFilter } from '../../read/callAttempt.ts';
import { attemptFilterAuth, CallAttemptFilter, callAttemptFilter } from './callAttempt.ts';
import { CallAttemptStatus, CallResult } from './enums.ts';
import { OUTPUT_PATH_DESCRIPTION, OutputValueCount } from './outputCondition.ts';

const DEFAULT_TIME_ZONE = 'UTC';

/** What `callStats` resolves to: the filter, and its totals computed once, only if a field asks for them. */
class StatsRequest {
  private totals: Promise<StatsCounters> | undefined;
  constructor(
    readonly prisma: PrismaClient,
    readonly filter: ReadCallAttemptFilter | undefined,
  ) {}

  get where() {
    return callAttemptCondition(this.filter);
  }

  counters(): Promise<StatsCounters> {
    return (this.totals ??= callStats(this.prisma, this.where));
  }

  byOutput(path: string[], first: number): Promise<ReadOutputValueCount[]> {
    return callStatsByOutput(this.prisma, this.where, path, first);
  }
}

/**
 * One `series` of a `callStats`, which each of its buckets points to: the buckets' `byOutput` with the same path and
 * `first` share one statement over the whole series, run when the first bucket asks.
 */
class SeriesRequest {
  private readonly byOutputCounts = new Map<string, Promise<Map<number, ReadOutputValueCount[]>>>();
  constructor(
    readonly stats: StatsRequest,
    readonly bucketing: StatsBucketing,
  ) {}

  async byOutput(bucketStart: Date, path: string[], first: number): Promise<ReadOutputValueCount[]> {
    const key = JSON.stringify([path, first]);
    let counts = this.byOutputCounts.get(key);
    if (!counts) {
      counts = callStatsSeriesByOutput(this.stats.prisma, this.stats.where, this.bucketing, path, first);
      this.byOutputCounts.set(key, counts);
    }
    return (await counts).get(bucketStart.getTime()) ?? [];
  }
}

type SeriesBucket = StatsSeriesEntry & { series: SeriesRequest };

/** `byOutput`, on `CallStats` and on each `CallStatsBucket`, whose values `counts` reads; `work` as `databaseWork`. */
function byOutputField<Parent>(
  t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Parent>,
  work: number,
  counts: (parent: Parent, path: string[], first: number) => Promise<ReadOutputValueCount[]>,
) {
  return t.field({
    type: [OutputValueCount],
    description:
      'The attempts grouped by the JSON value at `path` in their structuredOutput (objects and arrays compared whole): ' +
      "the `first` most frequent values, most frequent first, ties by the value's JSON text (byte order); attempts " +
      'where the path is missing or holds null count under `value: null`. Values past the size of an answer (as JSON ' +
      'text) are an error.',
    authScopes: { 'transcripts:read': true },
    args: {
      path: t.arg.stringList({ required: true, description: OUTPUT_PATH_DESCRIPTION }),
      first: t.arg.int({ defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_OUTPUT_VALUE_COUNTS}.` }),
    },
    extensions: { ...listSize((args) => (args.first as number | null) ?? DEFAULT_PAGE_SIZE), ...databaseWork(work) },
    resolve: (parent, { path, first }) => counts(parent, checkedPath(path, 'byOutput.path'), first ?? DEFAULT_PAGE_SIZE),
  });
}

const ResultCount = builder.objectRef<StatsCounters['byResult'][number]>('CallResultCount').implement({
  fields: (t) => ({
    result: t.field({
      type: CallResult.ref,
      nullable: true,
      description: 'Null for attempts with no result.',
      resolve: (r) => (r.raw === null ? null : CallResult.fromRaw(r.raw)),
    }),
    resultRaw: t.exposeString('raw', { nullable: true }),
    count: t.exposeInt('count'),
  }),
});

const StatusCount = builder.objectRef<StatsCounters['byStatus'][number]>('CallAttemptStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: CallAttemptStatus.ref, resolve: (s) => CallAttemptStatus.fromRaw(s.raw) }),
    statusRaw: t.exposeString('raw'),
    count: t.exposeInt('count'),
  }),
});

/** The counters both `CallStats` and each `CallStatsBucket` show, read from their parent by `counters`. */
function counterFields<Parent>(
  t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Parent>,
  counters: (parent: Parent) => StatsCounters | Promise<StatsCounters>,
) {
  const read =
    <T>(pick: (c: StatsCounters) => T) =>
    async (parent: Parent) =>
      pick(await counters(parent));
  return {
    attempts: t.int({ resolve: read((c) => c.attempts) }),
    callOrders: t.int({ description: 'Distinct orders the attempts belong to.', resolve: read((c) => c.callOrders) }),
    completedCallOrders: t.int({ description: 'Of those orders, the finished ones.', resolve: read((c) => c.completedCallOrders) }),
    byResult: t.field({ type: [ResultCount], resolve: read((c) => c.byResult) }),
    byStatus: t.field({ type: [StatusCount], resolve: read((c) => c.byStatus) }),
    answerRate: t.float({
      nullable: true,
      description: 'Attempts a human answered, over finished attempts (COMPLETED or ERROR); null when none finished.',
      resolve: read((c) => (c.finishedAttempts === 0 ? null : c.humanAnswers / c.finishedAttempts)),
    }),
    averageDurationSeconds: t.float({
      nullable: true,
      description: 'Over answered attempts that ended.',
      resolve: read((c) => c.averageDurationSeconds),
    }),
    p50DurationSeconds: t.float({ nullable: true, resolve: read((c) => c.p50DurationSeconds) }),
    p90DurationSeconds: t.float({ nullable: true, resolve: read((c) => c.p90DurationSeconds) }),
  };
}

const StatsBucketEnum = builder.enumType('StatsBucket', {
  description: 'The length of a bucket of a stats series, in local time.',
  values: {
    HOUR: {
      value: 'hour',
      description: 'A local hour: the repeated hour of a daylight-saving change is two buckets, the skipped one none.',
    },
    DAY: { value: 'day', description: 'A local day, from midnight: 23 or 25 hours on daylight-saving days.' },
    WEEK: { value: 'week', description: 'A local week, from Monday midnight.' },
  } satisfies Record<string, { value: StatsBucket; description: string }>,
});

const CallStatsBucket = builder.objectRef<SeriesBucket>('CallStatsBucket').implement({
  description: 'The counters of the attempts that ended in one bucket.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: "The bucket's local start, as an instant." }),
    ...counterFields(t, (entry) => entry),
    // One statement serves the whole series: the cost model, which counts a bucket's fields once per bucket a series
    // may hold, charges each bucket its share.
    byOutput: byOutputField(t, AGGREGATE_STATEMENT_COST / MAX_SERIES_BUCKETS, (entry, path, first) =>
      entry.series.byOutput(entry.start, path, first),
    ),
  }),
});

const CallStats = builder.objectRef<StatsRequest>('CallStats').implement({
  description: 'Aggregates over the attempts that match a filter.',
  fields: (t) => ({
    ...counterFields(t, (request) => request.counters()),
    byOutput: byOutputField(t, AGGREGATE_STATEMENT_COST, (request, path, first) => request.byOutput(path, first)),
    series: t.field({
      type: [CallStatsBucket],
      description:
        "The counters per bucket of the attempts' end times (attempts that have not ended are in none), oldest first, " +
        "empty buckets included: from the bucket holding the filter's `endedAfter` to the one holding the last instant " +
        'before its `endedBefore`, each bound taken from the first or last matching attempt when not given. ' +
        `At most ${MAX_SERIES_BUCKETS} buckets; a longer range is an error.`,
      args: {
        bucket: t.arg({ type: StatsBucketEnum, required: true }),
        timeZone: t.arg.string({
          defaultValue: DEFAULT_TIME_ZONE,
          description: 'An IANA time zone name, such as Europe/Paris (null: UTC).',
          extensions: maxLength(MAX_IDENTIFIER_LENGTH),
        }),
      },
      extensions: { ...listSize(MAX_SERIES_BUCKETS), ...databaseWork(AGGREGATE_STATEMENT_COST) },
      resolve: async (request, { bucket, timeZone }) => {
        const series = new SeriesRequest(request, { bucket, timeZone: timeZone ?? DEFAULT_TIME_ZONE });
        const entries = await callStatsSeries(request.prisma, request.where, {
          ...series.bucketing,
          endedAfter: request.filter?.endedAfter,
          endedBefore: request.filter?.endedBefore,
        });
        return entries.map((entry) => ({ ...entry, series }));
      },
    }),
  }),
});

builder.queryField('callStats', (t) =>
  t.field({
    type: CallStats,
    args: { filter: t.arg({ type: CallAttemptFilter }) },
    // The counters' statement; each series is one more.
    extensions: databaseWork(AGGREGATE_STATEMENT_COST),
    ...attemptFilterAuth,
    resolve: (_root, { filter }, { prisma }) => new StatsRequest(prisma, callAttemptFilter(filter)),
  }),
);

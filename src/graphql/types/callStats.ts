/** Aggregates over call attempts: the GraphQL face of src/read/stats.ts, which computes them in PostgreSQL. */
import type { PrismaClient } from '../../db/generated/prisma/client.ts';
import { AGGREGATE_STATEMENT_COST, databaseWork, listSize, MAX_IDENTIFIER_LENGTH, maxLength } from '../../limits/index.ts';
import {
  callStats,
  callStatsSeries,
  MAX_SERIES_BUCKETS,
  type StatsBucket,
  type StatsCounters,
  type StatsSeriesEntry,
} from '../../read/stats.ts';
import { builder } from '../builder.ts';
import { callAttemptCondition, type CallAttemptFilter as ReadCallAttemptFilter } from '../../read/callAttempt.ts';
import { attemptFilterAuth, CallAttemptFilter, callAttemptFilter } from './callAttempt.ts';
import { CallAttemptStatus, CallResult } from './enums.ts';

const DEFAULT_TIME_ZONE = 'UTC';

/** What `callStats` resolves to: the filter, and its totals computed once, only if a field asks for them. */
class StatsRequest {
  private totals: Promise<StatsCounters> | undefined;
  constructor(
    readonly prisma: PrismaClient,
    readonly filter: ReadCallAttemptFilter | undefined,
  ) {}

  counters(): Promise<StatsCounters> {
    return (this.totals ??= callStats(this.prisma, callAttemptCondition(this.filter)));
  }
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

const CallStatsBucket = builder.objectRef<StatsSeriesEntry>('CallStatsBucket').implement({
  description: 'The counters of the attempts that ended in one bucket.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: "The bucket's local start, as an instant." }),
    ...counterFields(t, (entry) => entry),
  }),
});

const CallStats = builder.objectRef<StatsRequest>('CallStats').implement({
  description: 'Aggregates over the attempts that match a filter.',
  fields: (t) => ({
    ...counterFields(t, (request) => request.counters()),
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
      resolve: ({ prisma, filter }, { bucket, timeZone }) =>
        callStatsSeries(prisma, callAttemptCondition(filter), {
          bucket,
          timeZone: timeZone ?? DEFAULT_TIME_ZONE,
          endedAfter: filter?.endedAfter,
          endedBefore: filter?.endedBefore,
        }),
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

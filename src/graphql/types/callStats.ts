/** Aggregates over call attempts, computed by PostgreSQL: no rows are loaded into the server. */
import { Prisma, type PrismaClient } from '../../db/generated/prisma/client.ts';
import { builder } from '../builder.ts';
import { attemptFilterScopes, CallAttemptFilter, callAttemptSql, type CallAttemptFilterInput } from './callAttempt.ts';
import { CallAttemptStatus, CallResult } from './enums.ts';

interface Totals {
  attempts: number;
  callOrders: number;
  completedCallOrders: number;
  finishedAttempts: number;
  humanAnswers: number;
  averageDurationSeconds: number | null;
  p50DurationSeconds: number | null;
  p90DurationSeconds: number | null;
}

interface Stats extends Totals {
  byResult: { raw: string | null; count: number }[];
  byStatus: { raw: string; count: number }[];
}

const FINISHED = Prisma.sql`('completed', 'error')`;

async function computeStats(prisma: PrismaClient, filter: CallAttemptFilterInput | null | undefined): Promise<Stats> {
  const where = callAttemptSql(filter);
  // One statement: the filtered attempts once, the totals and both breakdowns from them.
  const [row] = await prisma.$queryRaw<[{ totals: Totals; by_result: Stats['byResult'] | null; by_status: Stats['byStatus'] | null }]>`
    WITH matched AS (
      SELECT a.call_order_id, a.status, a.result,
             EXTRACT(EPOCH FROM (a.ended_at - a.answered_at))::float8 AS duration
      FROM call_attempts a
      WHERE ${where}
    )
    SELECT
      (SELECT json_build_object(
         'attempts', count(*),
         'callOrders', count(DISTINCT m.call_order_id),
         'completedCallOrders', (SELECT count(*) FROM call_orders o WHERE o.is_completed AND o.id IN (SELECT call_order_id FROM matched)),
         'finishedAttempts', count(*) FILTER (WHERE m.status IN ${FINISHED}),
         'humanAnswers', count(*) FILTER (WHERE m.status IN ${FINISHED} AND m.result = 'human'),
         'averageDurationSeconds', avg(m.duration),
         'p50DurationSeconds', percentile_cont(0.5) WITHIN GROUP (ORDER BY m.duration),
         'p90DurationSeconds', percentile_cont(0.9) WITHIN GROUP (ORDER BY m.duration)
       ) FROM matched m) AS totals,
      (SELECT json_agg(json_build_object('raw', result, 'count', n) ORDER BY n DESC, result)
       FROM (SELECT result, count(*) AS n FROM matched GROUP BY result) r) AS by_result,
      (SELECT json_agg(json_build_object('raw', status, 'count', n) ORDER BY n DESC, status)
       FROM (SELECT status, count(*) AS n FROM matched GROUP BY status) s) AS by_status
  `;
  return { ...row.totals, byResult: row.by_result ?? [], byStatus: row.by_status ?? [] };
}

const ResultCount = builder.objectRef<Stats['byResult'][number]>('CallResultCount').implement({
  fields: (t) => ({
    result: t.field({ type: CallResult.ref, nullable: true, description: 'Null for attempts with no result.', resolve: (r) => (r.raw === null ? null : CallResult.fromRaw(r.raw)) }),
    resultRaw: t.exposeString('raw', { nullable: true }),
    count: t.exposeInt('count'),
  }),
});

const StatusCount = builder.objectRef<Stats['byStatus'][number]>('CallAttemptStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: CallAttemptStatus.ref, resolve: (s) => CallAttemptStatus.fromRaw(s.raw) }),
    statusRaw: t.exposeString('raw'),
    count: t.exposeInt('count'),
  }),
});

const CallStats = builder.objectRef<Stats>('CallStats').implement({
  description: 'Aggregates over the attempts that match a filter.',
  fields: (t) => ({
    attempts: t.exposeInt('attempts'),
    callOrders: t.exposeInt('callOrders', { description: 'Distinct orders the attempts belong to.' }),
    completedCallOrders: t.exposeInt('completedCallOrders', { description: 'Of those orders, the finished ones.' }),
    byResult: t.field({ type: [ResultCount], resolve: (s) => s.byResult }),
    byStatus: t.field({ type: [StatusCount], resolve: (s) => s.byStatus }),
    answerRate: t.float({
      nullable: true,
      description: 'Attempts a human answered, over finished attempts (COMPLETED or ERROR); null when none finished.',
      resolve: (s) => (s.finishedAttempts === 0 ? null : s.humanAnswers / s.finishedAttempts),
    }),
    averageDurationSeconds: t.exposeFloat('averageDurationSeconds', { nullable: true, description: 'Over answered attempts that ended.' }),
    p50DurationSeconds: t.exposeFloat('p50DurationSeconds', { nullable: true }),
    p90DurationSeconds: t.exposeFloat('p90DurationSeconds', { nullable: true }),
  }),
});

builder.queryField('callStats', (t) =>
  t.field({
    type: CallStats,
    args: { filter: t.arg({ type: CallAttemptFilter }) },
    authScopes: (_root, { filter }) => attemptFilterScopes(filter),
    resolve: (_root, { filter }, { prisma }) => computeStats(prisma, filter),
  }),
);

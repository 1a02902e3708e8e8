/** Reading call attempts: the filter and the order, as Prisma and as SQL, and the reads themselves. */
import { Prisma, type CallAttempt, type PrismaClient } from '../db/generated/prisma/client.ts';
import { runStatement } from '../db/statements.ts';
import {
  column,
  escapeLike,
  prismaWhere,
  rawValueCondition,
  sqlWhere,
  type Condition,
  type RawValueSelection,
  type SqlOnlyCondition,
} from './filter.ts';
import { fieldKey, pageWindow, readPage, type PrismaPageQuery, type RowShape, type SortKey } from './onePage.ts';
import { outputConditionSql, type OutputCondition } from './outputConditions.ts';
import { ReadRequestError } from './readRequestError.ts';
import { relevance, transcriptMatchCondition } from './transcriptSearch.ts';

/** Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive. */
export interface CallAttemptFilter {
  status?: RawValueSelection;
  result?: RawValueSelection;
  phoneNumber?: string;
  endedAfter?: Date;
  endedBefore?: Date;
  /** Text in any transcript turn, case-insensitive, matched literally (% and _ are no wildcards). */
  transcriptContains?: string;
  /** A full-text search in web-search syntax over the whole transcript (src/read/transcriptSearch.ts). */
  transcriptMatches?: string;
  /** Conditions on the structured output, all of which must hold (src/read/outputConditions.ts). */
  output?: OutputCondition[];
}

/**
 * An attempt that has not ended (or started) yet sorts as the most recent: PostgreSQL's own null placement.
 * `relevance`: best match of `transcriptMatches` first, then as `endedAt` descending.
 */
export interface CallAttemptOrder {
  field: 'endedAt' | 'startedAt' | 'relevance';
  direction: 'asc' | 'desc';
}

/** The alias the SQL form of the filter reads `call_attempts` under. */
const ATTEMPT_ALIAS = 'a';

type AttemptCondition = Condition<Prisma.CallAttemptWhereInput> | SqlOnlyCondition;

function conditions(filter: CallAttemptFilter | undefined): AttemptCondition[] {
  if (!filter) return [];
  const a = (name: string) => column(ATTEMPT_ALIAS, name);
  const list: AttemptCondition[] = [];
  if (filter.status) list.push(rawValueCondition('status', a('status'), filter.status));
  if (filter.result) list.push(rawValueCondition('result', a('result'), filter.result));
  if (filter.phoneNumber !== undefined) {
    list.push({ prisma: { phoneNumber: filter.phoneNumber }, sql: Prisma.sql`${a('phone_number')} = ${filter.phoneNumber}` });
  }
  if (filter.endedAfter)
    list.push({ prisma: { endedAt: { gte: filter.endedAfter } }, sql: Prisma.sql`${a('ended_at')} >= ${filter.endedAfter}` });
  if (filter.endedBefore)
    list.push({ prisma: { endedAt: { lt: filter.endedBefore } }, sql: Prisma.sql`${a('ended_at')} < ${filter.endedBefore}` });
  if (filter.transcriptContains !== undefined) {
    // Prisma passes `contains` to ILIKE between two %, unescaped: the text is escaped for both forms alike.
    const escaped = escapeLike(filter.transcriptContains);
    list.push({
      prisma: { transcript: { some: { content: { contains: escaped, mode: 'insensitive' } } } },
      sql: Prisma.sql`EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = ${a('id')} AND m.content ILIKE ${`%${escaped}%`})`,
    });
  }
  if (filter.transcriptMatches !== undefined) list.push(transcriptMatchCondition(ATTEMPT_ALIAS, filter.transcriptMatches));
  for (const condition of filter.output ?? []) list.push(outputConditionSql(ATTEMPT_ALIAS, condition));
  return list;
}

/** The same filter as an SQL condition on `call_attempts a`. */
export function callAttemptCondition(filter: CallAttemptFilter | undefined): Prisma.Sql {
  return sqlWhere(conditions(filter));
}

/** The order's keys (then the id): a relevance order ranks by the filter's search, which it needs. */
function sortKeys({ field }: CallAttemptOrder, filter: CallAttemptFilter | undefined): SortKey[] {
  if (field !== 'relevance') return [fieldKey(field, true)];
  const query = filter?.transcriptMatches;
  if (query === undefined) {
    throw new ReadRequestError('The RELEVANCE order ranks attempts by their match of filter.transcriptMatches: give that filter too.');
  }
  return [{ value: (alias) => relevance(alias, query), nullable: false }, fieldKey('endedAt', true)];
}

/** Seconds from answer to end; null unless the call was answered and has ended. GraphQL and the export show it. */
export function durationSeconds({ answeredAt, endedAt }: { answeredAt: Date | null; endedAt: Date | null }): number | null {
  return answeredAt && endedAt ? (endedAt.getTime() - answeredAt.getTime()) / 1000 : null;
}

export function findCallAttempt(prisma: PrismaClient, query: object, revoxId: string) {
  return prisma.callAttempt.findUnique({ ...query, where: { revoxId } });
}

/** The attempt with this id (Callboard's own), which must exist: an event names attempts it has committed. */
export function findCallAttemptById(prisma: PrismaClient, query: object, id: string) {
  return prisma.callAttempt.findUniqueOrThrow({ ...query, where: { id } });
}

export async function countCallAttempts(prisma: PrismaClient, filter: CallAttemptFilter | undefined): Promise<number> {
  const [row] = await runStatement<{ count: number }>(
    prisma,
    Prisma.sql`SELECT count(*)::int AS count FROM call_attempts ${Prisma.raw(ATTEMPT_ALIAS)} WHERE ${callAttemptCondition(filter)}`,
  );
  return row?.count ?? 0;
}

export interface CallAttemptPage {
  filter: CallAttemptFilter | undefined;
  order: CallAttemptOrder;
  /** Pothos's query: the selection as Prisma `select`/`include`, and the page as `take`, `skip` and `cursor`. */
  query: Prisma.CallAttemptFindManyArgs & PrismaPageQuery;
  /** What the GraphQL selection reads, when one statement can read all of it; null: read the Prisma way. */
  shape: RowShape | null;
}

/**
 * A page of attempts: in one statement when the shape allows, otherwise through Prisma; the same rows either way.
 * What Prisma cannot filter or order by (a full-text search, its relevance) is read in SQL as the page's ids, and
 * Prisma then reads those rows with the selection.
 */
export async function findCallAttempts(prisma: PrismaClient, { filter, order, query, shape }: CallAttemptPage) {
  const page = (rowShape: RowShape) =>
    readPage<CallAttempt>(prisma, {
      model: 'CallAttempt',
      shape: rowShape,
      alias: ATTEMPT_ALIAS,
      where: callAttemptCondition(filter),
      sort: { keys: sortKeys(order, filter), direction: order.field === 'relevance' ? 'desc' : order.direction },
      window: pageWindow(query),
    });
  if (shape) return page(shape);
  const where = prismaWhere(conditions(filter));
  if (where && order.field !== 'relevance') {
    return prisma.callAttempt.findMany({ ...query, where, orderBy: [{ [order.field]: order.direction }, { id: order.direction }] });
  }
  const ids = (await page({ fields: ['id'], relations: {} })).map((row) => row.id);
  const { take: _take, skip: _skip, cursor: _cursor, ...selection } = query;
  const rows = await prisma.callAttempt.findMany({ ...selection, where: { id: { in: ids } } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

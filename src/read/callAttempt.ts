/** Reading call attempts: the filter and the order, as Prisma and as SQL, and the reads themselves. */
import { Prisma, type CallAttempt, type PrismaClient } from '../db/generated/prisma/client.ts';
import { column, escapeLike, prismaWhere, rawValueCondition, sqlWhere, type Condition, type RawValueSelection } from './filter.ts';
import { pageWindow, readPage, type PrismaPageQuery, type RowShape } from './onePage.ts';

/** Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive. */
export interface CallAttemptFilter {
  status?: RawValueSelection;
  result?: RawValueSelection;
  phoneNumber?: string;
  endedAfter?: Date;
  endedBefore?: Date;
  /** Text in any transcript turn, case-insensitive, matched literally (% and _ are no wildcards). */
  transcriptContains?: string;
}

/** An attempt that has not ended (or started) yet sorts as the most recent: PostgreSQL's own null placement. */
export interface CallAttemptOrder {
  field: 'endedAt' | 'startedAt';
  direction: 'asc' | 'desc';
}

/** The alias the SQL form of the filter reads `call_attempts` under. */
const ATTEMPT_ALIAS = 'a';

function conditions(filter: CallAttemptFilter | undefined): Condition<Prisma.CallAttemptWhereInput>[] {
  if (!filter) return [];
  const a = (name: string) => column(ATTEMPT_ALIAS, name);
  const list: Condition<Prisma.CallAttemptWhereInput>[] = [];
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
  return list;
}

export function callAttemptWhere(filter: CallAttemptFilter | undefined): Prisma.CallAttemptWhereInput {
  return prismaWhere(conditions(filter));
}

/** The same filter as an SQL condition on `call_attempts a`. */
export function callAttemptCondition(filter: CallAttemptFilter | undefined): Prisma.Sql {
  return sqlWhere(conditions(filter));
}

function prismaOrder({ field, direction }: CallAttemptOrder): Prisma.CallAttemptOrderByWithRelationInput[] {
  return [{ [field]: direction }, { id: direction }];
}

export function findCallAttempt(prisma: PrismaClient, query: object, revoxId: string) {
  return prisma.callAttempt.findUnique({ ...query, where: { revoxId } });
}

/** The attempt with this id (Callboard's own), which must exist: an event names attempts it has committed. */
export function findCallAttemptById(prisma: PrismaClient, query: object, id: string) {
  return prisma.callAttempt.findUniqueOrThrow({ ...query, where: { id } });
}

export function countCallAttempts(prisma: PrismaClient, filter: CallAttemptFilter | undefined) {
  return prisma.callAttempt.count({ where: callAttemptWhere(filter) });
}

export interface CallAttemptPage {
  filter: CallAttemptFilter | undefined;
  order: CallAttemptOrder;
  /** Pothos's query: the selection as Prisma `select`/`include`, and the page as `take`, `skip` and `cursor`. */
  query: Prisma.CallAttemptFindManyArgs & PrismaPageQuery;
  /** What the GraphQL selection reads, when one statement can read all of it; null: read the Prisma way. */
  shape: RowShape | null;
}

/** A page of attempts: in one statement when the shape allows, otherwise through Prisma; the same rows either way. */
export function findCallAttempts(prisma: PrismaClient, { filter, order, query, shape }: CallAttemptPage) {
  if (shape) {
    return readPage<CallAttempt>(prisma, {
      model: 'CallAttempt',
      shape,
      alias: ATTEMPT_ALIAS,
      where: callAttemptCondition(filter),
      sort: { ...order, nullable: true },
      window: pageWindow(query),
    });
  }
  return prisma.callAttempt.findMany({ ...query, where: callAttemptWhere(filter), orderBy: prismaOrder(order) });
}

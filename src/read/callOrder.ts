/** Reading call orders: the filter and the order, as Prisma and as SQL, and the reads themselves. */
import { Prisma, type CallOrder, type PrismaClient } from '../db/generated/prisma/client.ts';
import { column, prismaWhere, rawValueCondition, sqlWhere, type Condition, type RawValueSelection } from './filter.ts';
import { fieldKey, pageWindow, readPage, type PrismaPageQuery, type RowShape } from './onePage.ts';

/** Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive. */
export interface CallOrderFilter {
  direction?: RawValueSelection;
  isCompleted?: boolean;
  /** The order's from or to number. */
  phoneNumber?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** By creation time; the id breaks ties between equal creation times, so every row has one place in the order. */
export type CallOrderOrder = 'asc' | 'desc';

/** The alias the SQL form of the filter reads `call_orders` under. */
const ORDER_ALIAS = 'o';

function conditions(filter: CallOrderFilter | undefined): Condition<Prisma.CallOrderWhereInput>[] {
  if (!filter) return [];
  const o = (name: string) => column(ORDER_ALIAS, name);
  const list: Condition<Prisma.CallOrderWhereInput>[] = [];
  if (filter.direction) list.push(rawValueCondition('direction', o('direction'), filter.direction));
  if (filter.isCompleted !== undefined) {
    list.push({ prisma: { isCompleted: filter.isCompleted }, sql: Prisma.sql`${o('is_completed')} = ${filter.isCompleted}` });
  }
  if (filter.phoneNumber !== undefined) {
    list.push({
      prisma: { OR: [{ fromPhoneNumber: filter.phoneNumber }, { toPhoneNumber: filter.phoneNumber }] },
      sql: Prisma.sql`(${o('from_phone_number')} = ${filter.phoneNumber} OR ${o('to_phone_number')} = ${filter.phoneNumber})`,
    });
  }
  if (filter.createdAfter) {
    list.push({ prisma: { createdAt: { gte: filter.createdAfter } }, sql: Prisma.sql`${o('created_at')} >= ${filter.createdAfter}` });
  }
  if (filter.createdBefore) {
    list.push({ prisma: { createdAt: { lt: filter.createdBefore } }, sql: Prisma.sql`${o('created_at')} < ${filter.createdBefore}` });
  }
  return list;
}

export function callOrderWhere(filter: CallOrderFilter | undefined): Prisma.CallOrderWhereInput {
  return prismaWhere(conditions(filter));
}

export function findCallOrder(prisma: PrismaClient, query: object, revoxId: string) {
  return prisma.callOrder.findUnique({ ...query, where: { revoxId } });
}

/** The order with this id (Callboard's own), which must exist: an event names orders it has committed. */
export function findCallOrderById(prisma: PrismaClient, query: object, id: string) {
  return prisma.callOrder.findUniqueOrThrow({ ...query, where: { id } });
}

export function countCallOrders(prisma: PrismaClient, filter: CallOrderFilter | undefined) {
  return prisma.callOrder.count({ where: callOrderWhere(filter) });
}

export interface CallOrderPage {
  filter: CallOrderFilter | undefined;
  order: CallOrderOrder;
  /** Pothos's query: the selection as Prisma `select`/`include`, and the page as `take`, `skip` and `cursor`. */
  query: Prisma.CallOrderFindManyArgs & PrismaPageQuery;
  /** What the GraphQL selection reads, when one statement can read all of it; null: read the Prisma way. */
  shape: RowShape | null;
}

/** A page of orders: in one statement when the shape allows, otherwise through Prisma; the same rows either way. */
export function findCallOrders(prisma: PrismaClient, { filter, order, query, shape }: CallOrderPage) {
  if (shape) {
    return readPage<CallOrder>(prisma, {
      model: 'CallOrder',
      shape,
      alias: ORDER_ALIAS,
      where: sqlWhere(conditions(filter)),
      sort: { keys: [fieldKey('createdAt', false)], direction: order },
      window: pageWindow(query),
    });
  }
  return prisma.callOrder.findMany({
    ...query,
    where: callOrderWhere(filter),
    orderBy: [{ createdAt: order }, { id: order }],
  });
}

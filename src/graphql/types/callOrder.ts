import { DEFAULT_PAGE_SIZE, MAX_IDENTIFIER_LENGTH, MAX_PAGE_SIZE, maxLength } from '../../limits/index.ts';
import { ATTEMPTS_MOST_RECENT_FIRST } from '../../read/onePage.ts';
import { countCallOrders, findCallOrder, findCallOrders, type CallOrderFilter as ReadCallOrderFilter } from '../../read/callOrder.ts';
import { builder } from '../builder.ts';
import { connectionShape, reads, readsRelation } from '../readShape.ts';
import { CallAttempt } from './callAttempt.ts';
import { CallDirection, CallOrderOutcome, CallOrderStatus, revoxEnumFields } from './enums.ts';
import { LlmModel } from './llmModel.ts';
import { CallRetryConfig } from './retryConfig.ts';
import { jsonObject } from './scalars.ts';

export const CallOrder = builder.prismaNode('CallOrder', {
  id: { field: 'id' },
  description: 'A call order: one request to Revox to reach a number, resolved over one or more attempts.',
  fields: (t) => ({
    revoxId: t.exposeString('revoxId', { description: "Revox's id for the order." }),
    fromPhoneNumber: t.exposeString('fromPhoneNumber'),
    toPhoneNumber: t.exposeString('toPhoneNumber'),
    ...revoxEnumFields(t, 'direction', CallDirection, { rawDescription: 'The direction exactly as Revox sent it.' }),
    isCompleted: t.exposeBoolean('isCompleted', { description: 'The order is finished: no more attempts will be made.' }),
    isCancelled: t.exposeBoolean('isCancelled', { nullable: true }),
    callsCount: t.exposeInt('callsCount', { description: 'Attempts made so far.' }),
    nextCallAt: t.expose('nextCallAt', { type: 'DateTime', nullable: true }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When Revox created the order.' }),
    ...revoxEnumFields(t, 'status', CallOrderStatus, { nullable: true }),
    ...revoxEnumFields(t, 'outcome', CallOrderOutcome, { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true, description: 'Key-value pairs set by whoever created the order.' }),
    retryConfig: t.field({
      type: CallRetryConfig,
      nullable: true,
      extensions: reads('retryConfig'),
      resolve: (order) => jsonObject(order.retryConfig),
    }),
    llmModel: t.field({ type: LlmModel, nullable: true, extensions: reads('llmModel'), resolve: (order) => jsonObject(order.llmModel) }),
    lastAttempt: t.field({
      type: CallAttempt,
      nullable: true,
      description: 'The most recent attempt.',
      extensions: readsRelation('lastAttempt'),
      select: (_args, _context, nestedSelection) => ({
        attempts: nestedSelection({ orderBy: ATTEMPTS_MOST_RECENT_FIRST, take: 1 }),
      }),
      resolve: (order) => order.attempts[0] ?? null,
    }),
    attempts: t.relatedConnection('attempts', {
      cursor: 'id',
      description: 'Every attempt, most recent first.',
      totalCount: true,
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      query: { orderBy: ATTEMPTS_MOST_RECENT_FIRST },
    }),
  }),
});

const CallOrderFilter = builder.inputType('CallOrderFilter', {
  description: 'Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive.',
  fields: (t) => ({
    direction: t.field({ type: [CallDirection.ref], required: false }),
    isCompleted: t.boolean({ required: false }),
    phoneNumber: t.string({
      required: false,
      description: "Matches the order's from or to number (E.164).",
      extensions: maxLength(MAX_IDENTIFIER_LENGTH),
    }),
    createdAfter: t.field({ type: 'DateTime', required: false }),
    createdBefore: t.field({ type: 'DateTime', required: false }),
  }),
});

const CallOrderOrderBy = builder.enumType('CallOrderOrderBy', {
  values: { CREATED_AT_DESC: { value: 'desc' }, CREATED_AT_ASC: { value: 'asc' } } as const,
});

/** The GraphQL filter as the read model's (an empty number is no condition, as it always was). */
function callOrderFilter(input: typeof CallOrderFilter.$inferInput | null | undefined): ReadCallOrderFilter | undefined {
  if (!input) return undefined;
  return {
    ...(input.direction ? { direction: CallDirection.selection(input.direction) } : {}),
    ...(input.isCompleted !== null && input.isCompleted !== undefined ? { isCompleted: input.isCompleted } : {}),
    ...(input.phoneNumber ? { phoneNumber: input.phoneNumber } : {}),
    ...(input.createdAfter ? { createdAfter: input.createdAfter } : {}),
    ...(input.createdBefore ? { createdBefore: input.createdBefore } : {}),
  };
}

builder.queryFields((t) => ({
  callOrder: t.prismaField({
    type: 'CallOrder',
    authScopes: { 'calls:read': true },
    nullable: true,
    description: 'A call order by its Revox id.',
    args: { revoxId: t.arg.string({ required: true, extensions: maxLength(MAX_IDENTIFIER_LENGTH) }) },
    resolve: (query, _root, { revoxId }, { prisma }) => findCallOrder(prisma, query, revoxId),
  }),
  callOrders: t.prismaConnection(
    {
      type: 'CallOrder',
      authScopes: { 'calls:read': true },
      cursor: 'id',
      description: 'Call orders, newest first unless `orderBy` says otherwise.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: {
        filter: t.arg({ type: CallOrderFilter }),
        orderBy: t.arg({ type: CallOrderOrderBy, defaultValue: 'desc' }),
      },
      totalCount: (_connection, { filter }, { prisma }) => countCallOrders(prisma, callOrderFilter(filter)),
      resolve: (query, _root, args, { prisma, oneStatementReads }, info) =>
        findCallOrders(prisma, {
          filter: callOrderFilter(args.filter),
          order: args.orderBy ?? 'desc',
          query,
          shape: oneStatementReads ? connectionShape(info, 'CallOrder') : null,
        }),
    },
    { name: 'CallOrderConnection' },
    { name: 'CallOrderEdge' },
  ),
}));

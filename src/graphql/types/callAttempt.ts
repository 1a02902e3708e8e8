import { Prisma } from '../../db/generated/prisma/client.ts';
import { ASSUMED_TRANSCRIPT_TURNS, DEFAULT_PAGE_SIZE, listSize, MAX_PAGE_SIZE } from '../../limits/index.ts';
import { builder } from '../builder.ts';
import { CallAttemptStatus, CallEndedBy, CallResult, DialError, type RawSelection } from './enums.ts';

/** Most recent first; attempts not started yet (null) come first, as they are the newest. */
export const ATTEMPTS_MOST_RECENT_FIRST = [
  { startedAt: { sort: 'desc', nulls: 'first' } },
  { id: 'desc' },
] satisfies Prisma.CallAttemptOrderByWithRelationInput[];

export const CallAttempt = builder.prismaNode('CallAttempt', {
  id: { field: 'id' },
  description: 'One phone call made for an order.',
  fields: (t) => ({
    revoxId: t.exposeString('revoxId', { description: "Revox's id for the attempt." }),
    phoneNumber: t.exposeString('phoneNumber'),
    status: t.field({ type: CallAttemptStatus.ref, resolve: (attempt) => CallAttemptStatus.fromRaw(attempt.status) }),
    statusRaw: t.exposeString('status'),
    result: t.field({
      type: CallResult.ref,
      nullable: true,
      resolve: (attempt) => (attempt.result === null ? null : CallResult.fromRaw(attempt.result)),
    }),
    resultRaw: t.exposeString('result', { nullable: true }),
    dialError: t.field({
      type: DialError.ref,
      nullable: true,
      resolve: (attempt) => (attempt.dialError === null ? null : DialError.fromRaw(attempt.dialError)),
    }),
    dialErrorRaw: t.exposeString('dialError', { nullable: true }),
    endedBy: t.field({
      type: CallEndedBy.ref,
      nullable: true,
      resolve: (attempt) => (attempt.endedBy === null ? null : CallEndedBy.fromRaw(attempt.endedBy)),
    }),
    endedByRaw: t.exposeString('endedBy', { nullable: true }),
    endReason: t.exposeString('endReason', { nullable: true, description: 'Open-ended: tool_end_call, voicemail, transfer, ...' }),
    recordingUrl: t.exposeString('recordingUrl', { nullable: true, authScopes: { 'transcripts:read': true } }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    answeredAt: t.expose('answeredAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    durationSeconds: t.float({
      nullable: true,
      description: 'Seconds from answer to end; null unless the call was answered and has ended.',
      select: { answeredAt: true, endedAt: true },
      resolve: ({ answeredAt, endedAt }) => (answeredAt && endedAt ? (endedAt.getTime() - answeredAt.getTime()) / 1000 : null),
    }),
    handledByAi: t.exposeBoolean('handledByAi', { nullable: true }),
    handledByHuman: t.exposeBoolean('handledByHuman', { nullable: true }),
    structuredOutput: t.expose('structuredOutput', {
      type: 'JSON',
      nullable: true,
      description: 'Data extracted from the call, keys chosen by the customer.',
      authScopes: { 'transcripts:read': true },
    }),
    transcript: t.relation('transcript', {
      authScopes: { 'transcripts:read': true },
      description: 'The conversation, turn by turn.',
      query: { orderBy: { position: 'asc' } },
      // Not paged: the cost limit counts a long call's turns for it.
      extensions: listSize(ASSUMED_TRANSCRIPT_TURNS),
    }),
    callOrder: t.relation('callOrder'),
  }),
});

export const CallAttemptFilter = builder.inputType('CallAttemptFilter', {
  description: 'Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive.',
  fields: (t) => ({
    status: t.field({ type: [CallAttemptStatus.ref], required: false }),
    result: t.field({ type: [CallResult.ref], required: false }),
    phoneNumber: t.string({ required: false, description: 'The number the attempt called or was called from (E.164).' }),
    endedAfter: t.field({ type: 'DateTime', required: false }),
    endedBefore: t.field({ type: 'DateTime', required: false }),
    transcriptContains: t.string({ required: false, description: 'Text in any transcript turn, case-insensitive.' }),
  }),
});
export type CallAttemptFilterInput = typeof CallAttemptFilter.$inferInput;

/** Searching transcripts reads them, so `transcriptContains` needs the scope that reading them needs. */
export function attemptFilterScopes(filter: CallAttemptFilterInput | null | undefined) {
  return filter?.transcriptContains ? { 'transcripts:read': true } : { 'calls:read': true };
}

/** The filter as Prisma conditions, for connections. `callAttemptSql` below must select the same rows. */
export function callAttemptWhere(filter: CallAttemptFilterInput | null | undefined): Prisma.CallAttemptWhereInput {
  if (!filter) return {};
  const and: Prisma.CallAttemptWhereInput[] = [];
  const rawIn = (field: 'status' | 'result', { known, other, allKnown }: RawSelection) =>
    and.push({ OR: [{ [field]: { in: known } }, ...(other ? [{ [field]: { notIn: allKnown } }] : [])] });
  if (filter.status) rawIn('status', CallAttemptStatus.selection(filter.status));
  if (filter.result) rawIn('result', CallResult.selection(filter.result));
  if (filter.phoneNumber) and.push({ phoneNumber: filter.phoneNumber });
  if (filter.endedAfter) and.push({ endedAt: { gte: filter.endedAfter } });
  if (filter.endedBefore) and.push({ endedAt: { lt: filter.endedBefore } });
  if (filter.transcriptContains) {
    // Prisma passes `contains` to ILIKE unescaped: % and _ in the text must not act as wildcards.
    and.push({ transcript: { some: { content: { contains: escapeLike(filter.transcriptContains), mode: 'insensitive' } } } });
  }
  return { AND: and };
}

/** The same filter as an SQL condition on `call_attempts a`, for aggregates computed in SQL. */
export function callAttemptSql(filter: CallAttemptFilterInput | null | undefined): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  const rawIn = (column: Prisma.Sql, { known, other, allKnown }: RawSelection) => {
    const inKnown = known.length ? Prisma.sql`${column} IN (${Prisma.join(known)})` : Prisma.sql`FALSE`;
    conditions.push(other ? Prisma.sql`(${inKnown} OR ${column} NOT IN (${Prisma.join(allKnown)}))` : inKnown);
  };
  if (filter?.status) rawIn(Prisma.sql`a.status`, CallAttemptStatus.selection(filter.status));
  if (filter?.result) rawIn(Prisma.sql`a.result`, CallResult.selection(filter.result));
  if (filter?.phoneNumber) conditions.push(Prisma.sql`a.phone_number = ${filter.phoneNumber}`);
  if (filter?.endedAfter) conditions.push(Prisma.sql`a.ended_at >= ${filter.endedAfter}`);
  if (filter?.endedBefore) conditions.push(Prisma.sql`a.ended_at < ${filter.endedBefore}`);
  if (filter?.transcriptContains) {
    const pattern = `%${escapeLike(filter.transcriptContains)}%`;
    conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = a.id AND m.content ILIKE ${pattern})`);
  }
  return Prisma.join(conditions, ' AND ');
}

/** Text for a LIKE pattern that matches itself literally (backslash is PostgreSQL's default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const CallAttemptOrderBy = builder.enumType('CallAttemptOrderBy', {
  description: 'An attempt that has not ended (or started) yet counts as the most recent: first when DESC, last when ASC.',
  values: {
    ENDED_AT_DESC: { value: 'ENDED_AT_DESC' },
    ENDED_AT_ASC: { value: 'ENDED_AT_ASC' },
    STARTED_AT_DESC: { value: 'STARTED_AT_DESC' },
    STARTED_AT_ASC: { value: 'STARTED_AT_ASC' },
  } as const,
});

/** PostgreSQL's own null placement, so the (time DESC, id DESC) indexes serve every order, both ways. */
function attemptOrder(orderBy: string | null | undefined): Prisma.CallAttemptOrderByWithRelationInput[] {
  const [field, sort] = {
    ENDED_AT_DESC: ['endedAt', 'desc'],
    ENDED_AT_ASC: ['endedAt', 'asc'],
    STARTED_AT_DESC: ['startedAt', 'desc'],
    STARTED_AT_ASC: ['startedAt', 'asc'],
  }[orderBy ?? 'ENDED_AT_DESC'] as ['endedAt' | 'startedAt', 'asc' | 'desc'];
  return [{ [field]: sort }, { id: sort }];
}

builder.queryFields((t) => ({
  callAttempt: t.prismaField({
    type: 'CallAttempt',
    authScopes: { 'calls:read': true },
    nullable: true,
    description: 'A call attempt by its Revox id.',
    args: { revoxId: t.arg.string({ required: true }) },
    resolve: (query, _root, { revoxId }, { prisma }) => prisma.callAttempt.findUnique({ ...query, where: { revoxId } }),
  }),
  callAttempts: t.prismaConnection(
    {
      type: 'CallAttempt',
      authScopes: (_root, { filter }) => attemptFilterScopes(filter),
      cursor: 'id',
      description: 'Call attempts across all orders, most recently ended first unless `orderBy` says otherwise.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: {
        filter: t.arg({ type: CallAttemptFilter }),
        orderBy: t.arg({ type: CallAttemptOrderBy, defaultValue: 'ENDED_AT_DESC' }),
      },
      totalCount: (_connection, { filter }, { prisma }) => prisma.callAttempt.count({ where: callAttemptWhere(filter) }),
      resolve: (query, _root, args, { prisma }) =>
        prisma.callAttempt.findMany({ ...query, where: callAttemptWhere(args.filter), orderBy: attemptOrder(args.orderBy) }),
    },
    { name: 'CallAttemptConnection' },
    { name: 'CallAttemptEdge' },
  ),
}));

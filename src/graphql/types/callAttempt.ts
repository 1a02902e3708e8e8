import type { ForbiddenResult } from '@pothos/plugin-scope-auth';
import type { GraphQLResolveInfo } from 'graphql';
import {
  AGGREGATE_STATEMENT_COST,
  ASSUMED_TRANSCRIPT_TURNS,
  databaseWork,
  DEFAULT_PAGE_SIZE,
  listSize,
  MAX_IDENTIFIER_LENGTH,
  MAX_PAGE_SIZE,
  MAX_SEARCH_TEXT_LENGTH,
  maxLength,
} from '../../limits/index.ts';
import {
  countCallAttempts,
  durationSeconds,
  findCallAttempt,
  findCallAttempts,
  type CallAttemptFilter as ReadCallAttemptFilter,
  type CallAttemptOrder,
} from '../../read/callAttempt.ts';
import { TURNS_IN_ORDER } from '../../read/onePage.ts';
import { outputConditions } from '../../read/outputConditions.ts';
import { builder } from '../builder.ts';
import { fieldName, scopeError } from '../scopes.ts';
import { connectionShape, reads, readsRelation } from '../readShape.ts';
import { CallAttemptStatus, CallEndedBy, CallResult, DialError, revoxEnumFields } from './enums.ts';
import { OutputCondition } from './outputCondition.ts';

export const CallAttempt = builder.prismaNode('CallAttempt', {
  id: { field: 'id' },
  description: 'One phone call made for an order.',
  fields: (t) => ({
    revoxId: t.exposeString('revoxId', { description: "Revox's id for the attempt." }),
    phoneNumber: t.exposeString('phoneNumber'),
    ...revoxEnumFields(t, 'status', CallAttemptStatus),
    ...revoxEnumFields(t, 'result', CallResult, { nullable: true }),
    ...revoxEnumFields(t, 'dialError', DialError, { nullable: true }),
    ...revoxEnumFields(t, 'endedBy', CallEndedBy, { nullable: true }),
    endReason: t.exposeString('endReason', { nullable: true, description: 'Open-ended: tool_end_call, voicemail, transfer, ...' }),
    recordingUrl: t.exposeString('recordingUrl', { nullable: true, authScopes: { 'transcripts:read': true } }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    answeredAt: t.expose('answeredAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    durationSeconds: t.float({
      nullable: true,
      description: 'Seconds from answer to end; null unless the call was answered and has ended.',
      select: { answeredAt: true, endedAt: true },
      extensions: reads('answeredAt', 'endedAt'),
      resolve: durationSeconds,
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
      query: { orderBy: TURNS_IN_ORDER },
      // Not paged: the cost limit counts a long call's turns for it.
      extensions: { ...listSize(ASSUMED_TRANSCRIPT_TURNS), ...readsRelation('transcript') },
    }),
    callOrder: t.relation('callOrder', { extensions: readsRelation('callOrder') }),
  }),
});

export const CallAttemptFilter = builder.inputType('CallAttemptFilter', {
  description: 'Every condition given must hold. Time ranges are half-open: `...After` inclusive, `...Before` exclusive.',
  fields: (t) => ({
    status: t.field({ type: [CallAttemptStatus.ref], required: false }),
    result: t.field({ type: [CallResult.ref], required: false }),
    phoneNumber: t.string({
      required: false,
      description: 'The number the attempt called or was called from (E.164).',
      extensions: maxLength(MAX_IDENTIFIER_LENGTH),
    }),
    endedAfter: t.field({ type: 'DateTime', required: false }),
    endedBefore: t.field({ type: 'DateTime', required: false }),
    transcriptContains: t.string({
      required: false,
      description: `Text in any transcript turn, case-insensitive; at most ${MAX_SEARCH_TEXT_LENGTH} characters.`,
      extensions: maxLength(MAX_SEARCH_TEXT_LENGTH),
    }),
    transcriptMatches: t.string({
      required: false,
      description:
        'Full-text search in web-search syntax over the whole transcript: words (all must occur, in any turns), ' +
        '"a quoted phrase", `a OR b`, `-word` (excluded). Case- and accent-insensitive; ' +
        `at most ${MAX_SEARCH_TEXT_LENGTH} characters.`,
      extensions: maxLength(MAX_SEARCH_TEXT_LENGTH),
    }),
    output: t.field({
      type: [OutputCondition],
      required: false,
      description: 'Conditions on structuredOutput, all of which must hold.',
    }),
  }),
});
export type CallAttemptFilterInput = typeof CallAttemptFilter.$inferInput;

type FilterArgs = { filter?: CallAttemptFilterInput | null };

/** The filter's conditions that read transcript content (and structured output), so need `transcripts:read`. */
const CONTENT_CONDITIONS = ['transcriptContains', 'transcriptMatches', 'output'] as const satisfies (keyof CallAttemptFilterInput)[];

/**
 * The argument that makes this filter a read of content (`filter.transcriptContains`), if any: such a filter needs
 * `transcripts:read`, and a refusal names that argument. GraphQL and the export ask the same question here.
 */
export function contentConditionOf(filter: CallAttemptFilterInput | null | undefined): string | undefined {
  // An empty text is no condition (see callAttemptFilter).
  const name = CONTENT_CONDITIONS.find((condition) => !([undefined, null, ''] as unknown[]).includes(filter?.[condition]));
  return name && `filter.${name}`;
}

/**
 * Searching transcripts reads them, so a content condition needs the scope that reading them needs; a refusal names
 * the argument, since the field without it needs only `calls:read`. Spread into each field that takes the filter.
 */
export const attemptFilterAuth = {
  authScopes: (_root: unknown, { filter }: FilterArgs) =>
    contentConditionOf(filter) ? { 'transcripts:read': true } : { 'calls:read': true },
  unauthorizedError: (_root: unknown, { filter }: FilterArgs, _context: unknown, info: GraphQLResolveInfo, { failure }: ForbiddenResult) =>
    scopeError(failure, contentConditionOf(filter) ?? fieldName(info)),
};

function hasSearch(args: Record<string, unknown>): boolean {
  const filter = args.filter as CallAttemptFilterInput | null | undefined;
  return Boolean(filter?.transcriptContains || filter?.transcriptMatches || filter?.output?.length);
}

/** The GraphQL filter as the read model's (an empty text or number is no condition, as it always was). */
export function callAttemptFilter(input: CallAttemptFilterInput | null | undefined): ReadCallAttemptFilter | undefined {
  if (!input) return undefined;
  return {
    ...(input.status ? { status: CallAttemptStatus.selection(input.status) } : {}),
    ...(input.result ? { result: CallResult.selection(input.result) } : {}),
    ...(input.phoneNumber ? { phoneNumber: input.phoneNumber } : {}),
    ...(input.endedAfter ? { endedAfter: input.endedAfter } : {}),
    ...(input.endedBefore ? { endedBefore: input.endedBefore } : {}),
    ...(input.transcriptContains ? { transcriptContains: input.transcriptContains } : {}),
    // An empty search is an error that says so, not every attempt.
    ...(typeof input.transcriptMatches === 'string' ? { transcriptMatches: input.transcriptMatches } : {}),
    ...(input.output ? { output: outputConditions(input.output) } : {}),
  };
}

export const CallAttemptOrderBy = builder.enumType('CallAttemptOrderBy', {
  description: 'An attempt that has not ended (or started) yet counts as the most recent: first when DESC, last when ASC.',
  values: {
    ENDED_AT_DESC: { value: 'ENDED_AT_DESC' },
    ENDED_AT_ASC: { value: 'ENDED_AT_ASC' },
    STARTED_AT_DESC: { value: 'STARTED_AT_DESC' },
    STARTED_AT_ASC: { value: 'STARTED_AT_ASC' },
    RELEVANCE: {
      value: 'RELEVANCE',
      description: 'Best match of `filter.transcriptMatches` first (which it needs), ties by end time, newest first.',
    },
  } as const,
});

/** Each `CallAttemptOrderBy` as the read model's order (the export names orders the same way). */
export const ATTEMPT_ORDERS: Record<typeof CallAttemptOrderBy.$inferType, CallAttemptOrder> = {
  ENDED_AT_DESC: { field: 'endedAt', direction: 'desc' },
  ENDED_AT_ASC: { field: 'endedAt', direction: 'asc' },
  STARTED_AT_DESC: { field: 'startedAt', direction: 'desc' },
  STARTED_AT_ASC: { field: 'startedAt', direction: 'asc' },
  RELEVANCE: { field: 'relevance', direction: 'desc' },
};

builder.queryFields((t) => ({
  callAttempt: t.prismaField({
    type: 'CallAttempt',
    authScopes: { 'calls:read': true },
    nullable: true,
    description: 'A call attempt by its Revox id.',
    args: { revoxId: t.arg.string({ required: true, extensions: maxLength(MAX_IDENTIFIER_LENGTH) }) },
    resolve: (query, _root, { revoxId }, { prisma }) => findCallAttempt(prisma, query, revoxId),
  }),
  callAttempts: t.prismaConnection(
    {
      type: 'CallAttempt',
      ...attemptFilterAuth,
      cursor: 'id',
      description: 'Call attempts across all orders, most recently ended first unless `orderBy` says otherwise.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: {
        filter: t.arg({ type: CallAttemptFilter }),
        orderBy: t.arg({ type: CallAttemptOrderBy, defaultValue: 'ENDED_AT_DESC' }),
      },
      // A transcript search (or a condition on structured output) reads every turn (or attempt) that may match, for the
      // page and for its count alike.
      extensions: databaseWork((args) => (hasSearch(args) ? AGGREGATE_STATEMENT_COST : 0)),
      totalCount: (_connection, { filter }, { prisma }) => countCallAttempts(prisma, callAttemptFilter(filter)),
      resolve: (query, _root, args, { prisma, oneStatementReads }, info) =>
        findCallAttempts(prisma, {
          filter: callAttemptFilter(args.filter),
          order: ATTEMPT_ORDERS[args.orderBy ?? 'ENDED_AT_DESC'],
          query,
          shape: oneStatementReads ? connectionShape(info, 'CallAttempt') : null,
        }),
    },
    { name: 'CallAttemptConnection' },
    { name: 'CallAttemptEdge' },
  ),
}));

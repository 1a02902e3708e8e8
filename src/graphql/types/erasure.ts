/** Erasure of a person's calls, and its audit trail, for the `admin` scope. */
import { GraphQLError } from 'graphql';
import { eraseCalls, ErasureError, type ErasureResult } from '../../governance/erasure.ts';
import { LISTED_ERASURES, recentErasures } from '../../read/erasure.ts';
import { builder } from '../builder.ts';

const EraseCallsResult = builder.objectRef<ErasureResult>('EraseCallsResult').implement({
  description: 'What was removed, or with dryRun what would be.',
  fields: (t) => ({
    dryRun: t.exposeBoolean('dryRun'),
    callOrders: t.exposeInt('callOrders'),
    callAttempts: t.exposeInt('callAttempts'),
    transcriptMessages: t.exposeInt('transcriptMessages'),
    webhookDeliveries: t.exposeInt('webhookDeliveries', { description: 'Archived deliveries that mentioned the number.' }),
    redactedRecords: t.exposeInt('redactedRecords', {
      description: "Other people's orders and attempts, and sync runs, where a mention of the number was replaced by [erased].",
    }),
  }),
});

builder.prismaObject('Erasure', {
  description: 'One erasure: when, by whom, how much, and a keyed hash of the number (never the number).',
  fields: (t) => ({
    id: t.exposeID('id'),
    erasedAt: t.expose('erasedAt', { type: 'DateTime' }),
    erasedBy: t.exposeString('erasedBy', { description: 'The API key, API_TOKENS, open or cli.' }),
    phoneNumberHash: t.exposeString('phoneNumberHash'),
    callOrders: t.exposeInt('callOrders'),
    callAttempts: t.exposeInt('callAttempts'),
    transcriptMessages: t.exposeInt('transcriptMessages'),
    webhookDeliveries: t.exposeInt('webhookDeliveries'),
    redactedRecords: t.exposeInt('redactedRecords'),
  }),
});

builder.queryField('erasures', (t) =>
  t.prismaField({
    type: ['Erasure'],
    authScopes: { admin: true },
    description: `The ${LISTED_ERASURES} most recent erasures, newest first.`,
    resolve: (query, _root, _args, { prisma }) => recentErasures(prisma, query),
  }),
);

builder.mutationField('eraseCalls', (t) =>
  t.field({
    type: EraseCallsResult,
    authScopes: { admin: true },
    description:
      "Removes every order involving the number (from, to, an attempt's number) with its attempts and transcripts, and archived deliveries mentioning it in any written form; replaces its mentions in other people's records by [erased]; in one transaction, with an audit row that also refuses any later delivery for an order created before the erasure. A new call to the number is stored.",
    args: {
      phoneNumber: t.arg.string({ required: true, description: 'E.164, e.g. +33612345678.' }),
      dryRun: t.arg.boolean({ required: false, defaultValue: false, description: 'Count only; nothing is removed or audited.' }),
    },
    resolve: async (_root, { phoneNumber, dryRun }, { prisma, principal }) => {
      try {
        return await eraseCalls(prisma, { phoneNumber, dryRun: dryRun ?? false, erasedBy: principal?.name ?? 'unknown' });
      } catch (error) {
        if (error instanceof ErasureError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } });
        throw error;
      }
    },
  }),
);

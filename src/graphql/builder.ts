/** The Pothos builder: plugins, scalars and context. It defines no types; each lives in its own file in ./types. */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import type { AccessContext } from '../access/useAccess.ts';
import type { CallEventSource } from '../events/eventBus.ts';
import type PrismaTypes from '../db/generated/pothos-types.ts';
import { getDatamodel } from '../db/generated/pothos-types.ts';
import { databaseWork, listSize, MAX_NODE_IDS, maxLength, NODE_LOOKUP_COST } from '../limits/index.ts';
import { SCOPES, type Scope } from '../access/scopes.ts';
import { fieldName, scopeError } from './scopes.ts';

export interface Context extends AccessContext {
  readonly prisma: PrismaClient;
  readonly events: CallEventSource;
  /** Names the request or WebSocket operation in logs. */
  readonly requestId: string;
  readonly transport: Transport;
  /**
   * Whether connections read a page in one SQL statement when its selection allows (src/read/onePage.ts). On in the
   * server; tests turn it off to compare with the Prisma path's answer to the same request.
   */
  readonly oneStatementReads: boolean;
}

/** How an operation arrived. A subscription cut off for falling behind lets its transport tell the client why. */
export interface Transport {
  readonly name: 'http' | 'sse' | 'websocket';
  cutOff?(): void;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: Record<Scope, boolean>;
}>({
  defaultFieldNullability: false,
  // Scope checks wrap resolvers before the other plugins do, so nothing runs for a caller without the scope.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    // A subscription without the scope is refused when it starts, not at its first event.
    authorizeOnSubscribe: true,
    authScopes: ({ principal }) =>
      Object.fromEntries(SCOPES.map((scope) => [scope, principal?.scopes.has(scope) ?? false])) as Record<Scope, boolean>,
    unauthorizedError: (_parent, _context, info, result) => scopeError(result.failure, fieldName(info)),
  },
  prisma: {
    // The client differs per server instance, so it is taken from the request context.
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: true,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    nodeQueryOptions: { authScopes: { 'calls:read': true }, extensions: databaseWork(NODE_LOOKUP_COST) },
    // The cost limit counts one node, and one lookup, per id asked for.
    nodesQueryOptions: {
      authScopes: { 'calls:read': true },
      extensions: { ...listSize(idCount), ...databaseWork((args) => idCount(args) * NODE_LOOKUP_COST) },
      args: { ids: { extensions: maxLength(MAX_NODE_IDS) } },
    },
  },
});

function idCount(args: Record<string, unknown>): number {
  return Array.isArray(args.ids) ? args.ids.length : 0;
}

builder.queryType({});
builder.subscriptionType({});
builder.mutationType({});

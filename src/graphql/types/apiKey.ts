/** API keys over GraphQL, for the `admin` scope: list them (never their secret), create one (shown once), revoke one. */
import { GraphQLError } from 'graphql';
import { createKeyStore, KeyError, type ApiKeyInfo } from '../../access/keys.ts';
import { builder } from '../builder.ts';

const ApiKeyScope = builder.enumType('ApiKeyScope', {
  description:
    'CALLS_READ: orders, attempts, stats, events. TRANSCRIPTS_READ: adds transcripts, recording URLs, structured output. ADMIN: adds erasure and keys.',
  values: {
    CALLS_READ: { value: 'calls:read' },
    TRANSCRIPTS_READ: { value: 'transcripts:read' },
    ADMIN: { value: 'admin' },
  } as const,
});

const ApiKey = builder.objectRef<ApiKeyInfo>('ApiKey').implement({
  description: 'An API key, without its secret.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    keyPrefix: t.exposeString('keyPrefix', { description: 'The first characters of the key, to recognise it.' }),
    scopes: t.exposeStringList('scopes'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'To the minute.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; apiKey: ApiKeyInfo }>('CreatedApiKey').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key itself, `cb_...`: shown this once, never stored. Keep it secret.' }),
    apiKey: t.field({ type: ApiKey, resolve: ({ apiKey }) => apiKey }),
  }),
});

/** A KeyError is the caller's mistake (a taken name, a bad expiry): its message goes to the client. */
async function userErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof KeyError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } });
    throw error;
  }
}

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKey],
    authScopes: { admin: true },
    description: 'Every API key, oldest first, revoked ones included.',
    resolve: (_root, _args, { prisma }) => createKeyStore(prisma).list(),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { admin: true },
    args: {
      name: t.arg.string({ required: true }),
      scopes: t.arg({ type: [ApiKeyScope], required: true }),
      expiresInDays: t.arg.int({ required: false }),
    },
    // The first key, made without a token while the API is open, closes it: from then on every caller needs a key.
    resolve: (_root, { name, scopes, expiresInDays }, { prisma, principal, keyCreated }) =>
      userErrors(async () => {
        const first = principal?.open === true;
        const { key, ...apiKey } = await createKeyStore(prisma).create({ name, scopes, expiresInDays, first });
        keyCreated();
        return { key, apiKey };
      }),
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    authScopes: { admin: true },
    description: 'Stops the key at once; its open subscriptions are closed within seconds.',
    args: { nameOrId: t.arg.string({ required: true }) },
    resolve: (_root, { nameOrId }, { prisma }) => userErrors(() => createKeyStore(prisma).revoke(nameOrId)),
  }),
}));

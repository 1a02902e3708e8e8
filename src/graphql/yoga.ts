/**
 * GraphQL over HTTP: the schema served by Yoga at /graphql, GraphiQL for browsers, bearer-token auth, and limits
 * on what one operation may ask for.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { bearerToken, tokenIsAccepted } from '../auth.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import type { CallEventSource } from '../events/eventBus.ts';
import { useOperationLimits } from '../limits/index.ts';
import type { Context } from './builder.ts';
import { schema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

export interface GraphQLOptions {
  prisma: PrismaClient;
  events: CallEventSource;
  /** Empty: the API is open (the configuration only allows that on a loopback host). */
  apiTokens: readonly string[];
  /** Plugins for the rest of the HTTP surface, which shares Yoga's server. */
  plugins: Plugin[];
}

const EXAMPLE_QUERY = `# Welcome to Callboard. Press the run button (or Ctrl-Enter) to see the latest calls.
# With API_TOKENS set, add {"Authorization": "Bearer <token>"} in the Headers tab below.
query LatestCalls {
  callOrders(first: 10) {
    totalCount
    nodes {
      revoxId
      direction
      toPhoneNumber
      isCompleted
      createdAt
      lastAttempt {
        status
        result
        durationSeconds
        transcript {
          role
          content
        }
      }
    }
  }
}
`;

export function createGraphQL(options: GraphQLOptions) {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context: () => ({ prisma: options.prisma, events: options.events }),
    logging: false,
    // Errors from resolvers reach clients as "Unexpected error." with no stack or SQL; GraphQLErrors we throw
    // on purpose (bad arguments) keep their message.
    maskedErrors: true,
    graphiql: { title: 'Callboard', defaultQuery: EXAMPLE_QUERY },
    // GraphiQL's scripts, styles and editor workers are inlined in the page: nothing comes from a CDN, so it works
    // offline and behind firewalls. The page (about 9 MB) is rendered once.
    renderGraphiQL: renderGraphiQLOnce,
    healthCheckEndpoint: '/health',
    plugins: [...options.plugins, requireToken(options.apiTokens), useOperationLimits(), countSentEvents(options.events)],
  });
}

/** Tells the event bus when a subscription result has been produced, over WebSocket and SSE alike. */
function countSentEvents(events: CallEventSource): Plugin {
  return { onSubscribe: () => ({ onSubscribeResult: () => ({ onNext: () => events.eventSent() }) }) };
}

let graphiqlPage: string | undefined;
function renderGraphiQLOnce(options: Parameters<typeof renderGraphiQL>[0]): string {
  graphiqlPage ??= renderGraphiQL(options);
  return graphiqlPage;
}

/**
 * With API tokens configured, every GraphQL request needs one. Yoga answers a browser's request for the GraphiQL
 * page before this runs; the page holds no data, and the queries it sends need the token like any other.
 */
function requireToken(apiTokens: readonly string[]): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (apiTokens.length === 0 || url.pathname !== GRAPHQL_PATH) return;
      if (tokenIsAccepted(bearerToken(request.headers.get('authorization')), apiTokens)) return;
      endResponse(
        Response.json(
          { errors: [{ message: 'Missing or invalid API token: send Authorization: Bearer <token>', extensions: { code: 'UNAUTHENTICATED' } }] },
          { status: 401, headers: { 'www-authenticate': 'Bearer' } },
        ),
      );
    },
  };
}

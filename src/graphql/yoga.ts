/**
 * GraphQL over HTTP: the schema served by Yoga at /graphql (POST, GET and Server-Sent Events). This file sets Yoga up
 * and composes its plugins, each in a file of its own: access control (../access), GraphiQL for browsers, limits on
 * what one request and one operation may ask for (../limits) and on open event streams, a log line for every
 * unexpected error, and metrics (./plugins).
 */
import { createYoga } from 'graphql-yoga';
import type { Authenticator } from '../access/principal.ts';
import type { KeyWatch } from '../access/keyWatch.ts';
import type { OriginPolicy } from '../access/origins.ts';
import { useAccess } from '../access/useAccess.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import type { CallEventSource } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { requestIdOf } from '../http/requestId.ts';
import type { Context } from './builder.ts';
import type { GraphQLServerContext } from './context.ts';
import { MAX_REQUEST_BODY_BYTES, useOperationLimits, useRequestBodyLimit } from '../limits/index.ts';
import { useErrorLogging } from './plugins/useErrorLogging.ts';
import { useGraphiQLPage } from './plugins/useGraphiQLPage.ts';
import { useHttpSubscriptionStreams } from './plugins/useHttpSubscriptionStreams.ts';
import { useOperationMetrics } from './plugins/useOperationMetrics.ts';
import { useSentEventCount } from './plugins/useSentEventCount.ts';
import { useSseLimit } from './plugins/useSseLimit.ts';
import { useUnsupportedMediaType } from './plugins/useUnsupportedMediaType.ts';
import { schema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

export interface GraphQLOptions {
  prisma: PrismaClient;
  events: CallEventSource;
  authenticate: Authenticator;
  origins: OriginPolicy;
  keyWatch: KeyWatch;
  /** Server-Sent Events streams allowed at once; more are answered 503. */
  maxSseConnections: number;
  logger: Logger;
  metrics: Metrics;
  /** Given to every operation as Context.oneStatementReads. */
  oneStatementReads: boolean;
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
  return createYoga<GraphQLServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context: ({ request, requestId, transport, subscriptionHub }: GraphQLServerContext & { request: Request }) => ({
      prisma: options.prisma,
      events: subscriptionHub ?? options.events,
      requestId: requestId ?? requestIdOf(request),
      keyCreated: options.authenticate.keyCreated,
      // An HTTP subscription becomes 'sse' when it starts (useHttpSubscriptionStreams), whatever its Accept header.
      transport: transport ?? { name: 'http' },
      oneStatementReads: options.oneStatementReads,
    }),
    logging: false,
    // Errors from resolvers reach clients as "Unexpected error." with no stack or SQL (useErrorLogging logs them);
    // GraphQLErrors we throw on purpose (bad arguments) keep their message.
    maskedErrors: true,
    // Served by useGraphiQLPage, with security headers and compression.
    graphiql: false,
    // useAccess sets CORS headers: Yoga's default reflects any origin and allows credentials.
    cors: false,
    landingPage: false,
    // Only requests for exactly /graphql reach Yoga (src/http/router.ts serves /health). Yoga's own health check
    // answers any URL that ends with its endpoint, even /graphql?x=/health; a URL's text never ends with a space.
    healthCheckEndpoint: ' ',
    // useRequestBodyLimit below does, more cheaply.
    maxRequestBodySize: false,
    multipart: false,
    plugins: [
      // First: the plugins below read an HTTP subscription's transport as 'sse'.
      useHttpSubscriptionStreams(),
      useAccess({ authenticate: options.authenticate, origins: options.origins, keyWatch: options.keyWatch }),
      useGraphiQLPage({ title: 'Callboard', defaultQuery: EXAMPLE_QUERY }),
      useRequestBodyLimit(MAX_REQUEST_BODY_BYTES),
      useUnsupportedMediaType(),
      useOperationLimits(),
      useSseLimit({ maxStreams: options.maxSseConnections }),
      useErrorLogging({ logger: options.logger }),
      useOperationMetrics({ metrics: options.metrics }),
      useSentEventCount({ events: options.events, metrics: options.metrics }),
    ],
  });
}

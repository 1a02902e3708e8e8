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
import { maskErrors } from './userErrors.ts';

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

/**
 * The document GraphiQL opens with, the README's example: its first operation and the subscription need only
 * calls:read, so that any key can run them; what needs transcripts:read is an operation of its own.
 */
export const EXAMPLE_QUERY = `# Welcome to Callboard. Ctrl-Enter runs the operation under the cursor; the run button offers each of them.
# Once an API key exists (npm run keys -- create --name <name> --scope calls:read) or API_TOKENS is set, every
# request needs one: paste it after "Bearer " in the Headers tab below.
# LatestHumanAnswers and Dashboard need the calls:read scope; Transcripts needs transcripts:read.
query LatestHumanAnswers {
  callAttempts(first: 20, filter: { result: HUMAN }) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      revoxId
      phoneNumber
      endedAt
      durationSeconds
      callOrder {
        revoxId
        isCompleted
      }
    }
  }
  callStats(filter: { endedAfter: "2026-11-01T00:00:00Z" }) {
    attempts
    answerRate
    p90DurationSeconds
    byResult {
      result
      count
    }
    series(bucket: DAY, timeZone: "Europe/Paris") {
      start
      attempts
      answerRate
    }
  }
}

query Transcripts($search: String! = "rendez-vous -annulé") {
  callAttempts(first: 20, orderBy: RELEVANCE, filter: { transcriptMatches: $search }) {
    totalCount
    nodes {
      revoxId
      result
      transcriptHighlights(query: $search) {
        position
        role
        snippet
        matches {
          start
          end
        }
      }
    }
  }
  callStats {
    byOutput(path: ["confirmed"]) {
      value
      count
    }
    series(bucket: DAY, timeZone: "Europe/Paris") {
      start
      byOutput(path: ["confirmed"]) {
        value
        count
      }
    }
  }
}

subscription Dashboard {
  callCompleted(filter: { orderCompleted: true }) {
    callOrder {
      revoxId
      toPhoneNumber
    }
    attempt {
      result
      durationSeconds
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
    // GraphQLErrors we throw on purpose (bad arguments) and reads that cannot be answered as asked keep their message.
    maskedErrors: maskErrors,
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
      useGraphiQLPage({
        title: 'Callboard',
        defaultQuery: EXAMPLE_QUERY,
        // Where a key goes, in view from the start. An empty token is no token, so the open API still answers.
        defaultHeaders: '{"Authorization": "Bearer "}',
        defaultEditorToolsVisibility: 'headers',
      }),
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

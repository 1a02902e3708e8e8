/**
 * GraphQL over HTTP: the schema served by Yoga at /graphql (POST, GET and Server-Sent Events), GraphiQL for browsers,
 * access control, limits on what one operation may ask for, and a log line for every unexpected error.
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { createGraphQLError, createYoga, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { Authenticator } from '../access/principal.ts';
import type { KeyWatch } from '../access/keyWatch.ts';
import type { OriginPolicy } from '../access/origins.ts';
import { useAccess } from '../access/useAccess.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import type { CallEventSource } from '../events/eventBus.ts';
import { describeError, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { requestIdOf } from '../http/requestId.ts';
import type { Context, Transport } from './builder.ts';
import { useGraphiQLPage } from './graphiql.ts';
import { useOperationLimits, useRequestBodyLimit } from '../limits/index.ts';
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

/** What the WebSocket server passes in for each operation; HTTP requests carry none of it. */
export interface GraphQLServerContext {
  /** The Node request (for WebSocket, the upgrade request). */
  req?: IncomingMessage;
  requestId?: string;
  transport?: Transport;
  /**
   * Set when a subscription hub runs the operation once for all its members: the hub's own stream of events. The hub
   * counts the events it writes to each member itself.
   */
  subscriptionHub?: CallEventSource;
}

/** Largest GraphQL request body; a document is limited to a few thousand tokens anyway. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

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
      useHttpSubscriptionStreams(),
      useAccess({ authenticate: options.authenticate, origins: options.origins, keyWatch: options.keyWatch }),
      useGraphiQLPage({ title: 'Callboard', defaultQuery: EXAMPLE_QUERY }),
      useRequestBodyLimit(MAX_REQUEST_BODY_BYTES),
      useOperationLimits(),
      useSseLimit(options.maxSseConnections),
      useErrorLogging(options.logger),
      useOperationMetrics(options.metrics),
      useSentEventCount(options.events, options.metrics),
    ],
  });
}

/**
 * Tells the event bus (and the metrics) when a subscription result has been produced for its subscriber. A
 * subscription hub's result is not one subscriber's: the hub counts what it writes to each.
 */
function useSentEventCount(events: CallEventSource, metrics: Metrics): Plugin<Context> {
  return {
    onSubscribe: ({ args }) =>
      (args.contextValue as Context & GraphQLServerContext).subscriptionHub
        ? undefined
        : {
            onSubscribeResult: () => ({
              onNext: () => {
                events.eventSent();
                metrics.eventSent(args.contextValue.transport.name);
              },
            }),
          },
  };
}

type OperationArgs = Pick<ExecutionArgs, 'document' | 'operationName'> & { contextValue: Context };

/** Counts operations by type, name and result, and times queries and mutations; new names count against their caller. */
function useOperationMetrics(metrics: Metrics): Plugin<Context> {
  const describe = ({ document, operationName, contextValue }: OperationArgs) => {
    const operation = getOperationAST(document, operationName);
    return {
      type: operation?.operation ?? 'unknown',
      name: operation?.name?.value ?? operationName,
      caller: contextValue.principal?.name ?? 'nobody',
    };
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const { type, name, caller } = describe(args);
      return {
        onExecuteDone({ result }) {
          const failed = 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.graphqlOperation(type, name, caller, failed ? 'error' : 'ok', (performance.now() - started) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const { type, name, caller } = describe(args);
      return {
        onSubscribeResult({ result }) {
          metrics.graphqlOperation(type, name, caller, isAsyncIterableResult(result) ? 'ok' : 'error');
        },
        onSubscribeError: () => metrics.graphqlOperation(type, name, caller, 'error'),
      };
    },
  };
}

/**
 * Over HTTP, Yoga serves a subscription's events as Server-Sent Events for any Accept header that admits
 * `text/event-stream` (none, any type, `text/*`, any case; GET or POST), and answers 406 for the others. So every HTTP
 * subscription is named an SSE stream when it starts, before anything reads its transport: the stream limit, the key
 * watch and the metrics count it whatever its headers. One that Yoga answers 406 is ended, since nothing reads it.
 */
function useHttpSubscriptionStreams(): Plugin<Context> {
  return {
    onSubscribe({ args, extendContext }) {
      if (args.contextValue.transport.name === 'http') extendContext({ transport: { name: 'sse' } });
    },
    onResultProcess({ result, resultProcessor }) {
      // Yoga's own result processors ran before this hook: none chose to stream this result.
      if (!resultProcessor && isAsyncIterableResult(result)) void (result as AsyncIterator<unknown>).return?.();
    },
  };
}

/** Caps the Server-Sent Events streams open at once (WebSocket connections have their own cap). */
function useSseLimit(maxStreams: number): Plugin<Context> {
  let open = 0;
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (args.contextValue.transport.name !== 'sse') return;
      if (open >= maxStreams) {
        setResultAndStopExecution({
          errors: [
            createGraphQLError(`Too many event streams are open (${maxStreams}); try again later`, {
              extensions: { code: 'TOO_MANY_STREAMS', http: { status: 503, headers: { 'retry-after': '5' } } },
            }),
          ],
        });
        return;
      }
      open += 1;
      let closed = false;
      const release = () => {
        if (!closed) open -= 1;
        closed = true;
      };
      return {
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterableResult(result)) release();
          return { onEnd: release };
        },
        onSubscribeError: release,
      };
    },
  };
}

function isAsyncIterableResult(result: unknown): boolean {
  return typeof result === 'object' && result !== null && Symbol.asyncIterator in result;
}

/**
 * Logs every error that Yoga masks as "Unexpected error." (a resolver's exception, a database failure) as one JSON
 * line with the request id: the client learns nothing, the operator everything but the stack, which can hold SQL
 * parameters. It sees results before the masking plugin, which Yoga runs after user plugins.
 */
function useErrorLogging(logger: Logger): Plugin<Context> {
  const logUnexpected = (errors: readonly GraphQLError[] | undefined, context: Context) => {
    for (const error of errors ?? []) {
      const cause = error.originalError;
      if (!cause || cause instanceof GraphQLError) continue;
      logger.error('graphql.unexpected_error', {
        requestId: context.requestId,
        transport: context.transport.name,
        path: error.path?.join('.'),
        error: describeError(cause),
      });
    }
  };
  const onDone = (context: Context) => (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result }) => logUnexpected(result.errors, context));
  return {
    onExecute: ({ args }) => ({ onExecuteDone: onDone(args.contextValue) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: onDone(args.contextValue) }),
  };
}

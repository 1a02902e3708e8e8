/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the HTTP server's port and path, executing through Yoga's
 * envelop so operations see the same schema, context and error masking as over HTTP.
 */
import type { Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, tokenIsAccepted } from '../auth.ts';
import type { Logger } from '../log.ts';

export interface WebSocketOptions {
  apiTokens: readonly string[];
  maxConnections: number;
  logger: Logger;
}

/** Unsent data a connection may hold before it is closed as too slow: its events stop piling up in memory. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Pings every 12 s; a client that has not answered by the next ping is dropped. */
const KEEP_ALIVE_MS = 12_000;
/** A client must send connection_init within this time. */
const CONNECTION_INIT_TIMEOUT_MS = 5_000;

export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_TRY_AGAIN_LATER = 1013;

// biome-ignore lint: Yoga's instance type is generic over contexts this module does not need to know.
type AnyYoga = YogaServerInstance<any, any>;

export function attachWebSocket(server: Server, yoga: AnyYoga, options: WebSocketOptions) {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: 1024 * 1024 });

  wss.on('connection', (socket: WebSocket) => {
    if (wss.clients.size > options.maxConnections) {
      options.logger.warn('websocket.refused', { reason: 'connection limit', limit: options.maxConnections });
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many connections');
    }
  });

  const graphqlWs = useServer(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: ({ connectionParams }) => {
        if (options.apiTokens.length === 0) return true;
        const authorization = connectionParams?.authorization;
        // false closes the socket with 4403 Forbidden.
        return tokenIsAccepted(bearerToken(typeof authorization === 'string' ? authorization : null), options.apiTokens);
      },
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
      onNext: (ctx) => {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          options.logger.warn('websocket.slow_consumer', { bufferedBytes: socket.bufferedAmount });
          socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: events are not being read');
        }
      },
    },
    wss,
    KEEP_ALIVE_MS,
  );

  return {
    connections: () => wss.clients.size,
    /** Waits (briefly) for queued events to flush, then closes every socket with 1001 Going Away. */
    async close(): Promise<void> {
      const deadline = Date.now() + 2_000;
      while ([...wss.clients].some((socket) => socket.bufferedAmount > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Closes every socket with 1001 Going Away, then the server.
      await graphqlWs.dispose();
    },
  };
}

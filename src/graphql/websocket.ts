/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the HTTP server's port and path, executing through Yoga's
 * envelop so operations see the same schema, limits, access checks and error masking as over HTTP.
 *
 * Subscriptions join a subscription hub (../events/subscriptionHub.ts): sockets subscribed to the same operation
 * with the same scopes share one execution per event, and the hub writes each result's JSON, serialised once, into
 * every member's `next` frame. graphql-ws still runs the protocol (subscribe, complete, close) around it.
 */
import type { IncomingMessage, Server } from 'node:http';
import { type DocumentNode, getOperationAST, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KeyWatch } from '../access/keyWatch.ts';
import type { OriginPolicy } from '../access/origins.ts';
import { credentialsFromConnectionParams, type Authenticator, type Principal } from '../access/principal.ts';
import { hubKey, type StartExecution, type SubscriptionHubs } from '../events/subscriptionHub.ts';
import { createWaitingRoom } from '../limits/waitingRoom.ts';
import { describeError, throttledWarning, type Logger } from '../log.ts';
import type { GraphQLServerContext } from './context.ts';

export interface WebSocketOptions {
  authenticate: Authenticator;
  /** Closes the connections of a key that is revoked or expires, and the tokenless ones once the API closes. */
  keyWatch: KeyWatch;
  origins: OriginPolicy;
  /** Authenticated connections allowed at once; as many more may be waiting to authenticate (a few per address). */
  maxConnections: number;
  /** Where subscriptions share their executions. */
  subscriptionHubs: SubscriptionHubs;
  /** Told of every subscription event written to a socket (metrics). */
  onEventSent: () => void;
  logger: Logger;
}

/** Unsent data a connection may hold before it is closed as too slow: its events stop piling up in memory. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Largest message a client may send (a document is limited to a few thousand tokens anyway). */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Operations one connection may run at once; a dashboard needs a handful. */
export const MAX_OPERATIONS_PER_CONNECTION = 100;
/** Pings every 12 s; a client that has not answered by the next ping is dropped. */
const KEEP_ALIVE_MS = 12_000;
/** A client must send connection_init within this time. */
const CONNECTION_INIT_TIMEOUT_MS = 5_000;
/**
 * Sockets from one address (an IPv6 /64) that may wait for connection_init at once. Past that, a newcomer closes the
 * address's oldest waiting socket (1013) once it has waited a second (../limits/waitingRoom.ts): strangers from one
 * address cannot fill the pool of waiting sockets, nor keep a client of theirs out.
 */
export const MAX_UNAUTHENTICATED_PER_ADDRESS = 10;

export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TRY_AGAIN_LATER = 1013;

// Yoga's instance type is generic over contexts this module does not need to know.
type AnyYoga = YogaServerInstance<any, any>;

export function attachWebSocket(server: Server, path: string, yoga: AnyYoga, options: WebSocketOptions) {
  const { logger } = options;
  const wss = new WebSocketServer({
    server,
    path,
    maxPayload: MAX_MESSAGE_BYTES,
    // The same Host and Origin rules as HTTP: browsers do not apply CORS to WebSockets, so this is the only guard.
    verifyClient: ({ req }, done) => {
      const refused = options.origins.refusal(req.headers.host ?? null, req.headers.origin ?? null);
      if (refused) return done(false, 403, `Forbidden: ${refused.code}`);
      done(true);
    },
  });

  const principals = new WeakMap<WebSocket, Principal>();
  let authenticated = 0;
  /** Sockets that have not sent connection_init yet. */
  const refused = throttledWarning(logger, 'websocket.refused');
  const waiting = createWaitingRoom<WebSocket>({
    perAddress: MAX_UNAUTHENTICATED_PER_ADDRESS,
    total: options.maxConnections,
    evict: (socket, reason) => {
      if (reason === 'address')
        refused('too many unauthenticated connections from one address', { limit: MAX_UNAUTHENTICATED_PER_ADDRESS });
      else refused('too many unauthenticated connections', { limit: options.maxConnections });
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many connections waiting to authenticate');
    },
  });
  let connectionIds = 0;
  const connectionIdOf = new WeakMap<WebSocket, number>();
  let hubIds = 0;

  const cutOff = (socket: WebSocket) => socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: events are not being read');
  const closeIfBehind = (socket: WebSocket) => {
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      logger.warn('websocket.slow_consumer', { bufferedBytes: socket.bufferedAmount });
      cutOff(socket);
    }
  };
  /** Writes a hub's frame as graphql-ws writes its own: resolves once the socket has taken it. */
  const send = (socket: WebSocket, frame: string) =>
    new Promise<void>((resolve, reject) => {
      closeIfBehind(socket);
      if (socket.readyState !== socket.OPEN) return reject(new Error('socket closed'));
      socket.send(frame, (error) => {
        if (error) return reject(error);
        options.onEventSent();
        resolve();
      });
    });

  const graphqlWs = useServer(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async ({ connectionParams, extra }) => {
        waiting.leave(extra.socket);
        const principal = await options.authenticate(credentialsFromConnectionParams(connectionParams));
        if (!principal) {
          extra.socket.close(CLOSE_FORBIDDEN, 'Forbidden: send connectionParams {"authorization": "Bearer <token>"}');
          return false;
        }
        if (authenticated >= options.maxConnections) {
          refused('connection limit', { limit: options.maxConnections });
          extra.socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many connections');
          return false;
        }
        principals.set(extra.socket, principal);
        authenticated += 1;
        const unwatch = options.keyWatch.watch(principal, (reason) => extra.socket.close(CLOSE_FORBIDDEN, `Forbidden: ${reason}`));
        extra.socket.once('close', unwatch);
        return true;
      },
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, id, params) => {
        const socket = ctx.extra.socket;
        if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_CONNECTION) {
          return [new GraphQLError(`At most ${MAX_OPERATIONS_PER_CONNECTION} operations may run at once on one connection`)];
        }
        const principal = principals.get(socket);
        const serverContext: GraphQLServerContext & Record<string, unknown> = {
          req: ctx.extra.request,
          socket,
          params,
          principal,
          requestId: `ws-${connectionIdOf.get(socket)}-${id}`.slice(0, 128),
          transport: { name: 'websocket', cutOff: () => cutOff(socket) },
        };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(serverContext);
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (error) {
          // A syntax error or a parse limit concerns this operation only: the socket stays open.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const operation = { schema, operationName: params.operationName, document, variableValues: params.variables };
        // A socket always has a principal (onConnect refuses the others); without one, useAccess refuses below.
        if (principal && getOperationAST(document, params.operationName)?.operation === 'subscription') {
          // Resolved by the hub's own execution: no context is made for this subscriber.
          const key = hubKey({
            document: params.query,
            operationName: params.operationName,
            variables: params.variables,
            scopes: principal.scopes,
          });
          const frameStart = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
          const member = {
            transport: 'websocket',
            send: (resultJson: string) => send(socket, `${frameStart}${resultJson}}`),
            cutOff: () => cutOff(socket),
          };
          const startExecution: StartExecution = async (hub) => {
            const hubContext: GraphQLServerContext & Record<string, unknown> = {
              // The scopes are part of the hub's key, the key itself is not: no key id, whose revocation would end
              // the hub for every member. The name of the member that starts it counts its operation name (metrics).
              principal: { name: principal.name, scopes: principal.scopes },
              requestId: `ws-hub-${(hubIds += 1)}`,
              transport: { name: 'websocket', cutOff: hub.cutOff },
              subscriptionHub: hub.events,
            };
            const enveloped = yoga.getEnveloped(hubContext);
            return enveloped.subscribe({ ...operation, schema: enveloped.schema, contextValue: await enveloped.contextFactory() });
          };
          return { ...operation, rootValue: { subscribe: () => options.subscriptionHubs.join(key, startExecution, member) } };
        }
        return { ...operation, contextValue: await contextFactory(), rootValue: { execute, subscribe } };
      },
      onNext: (ctx) => closeIfBehind(ctx.extra.socket),
    },
    wss,
    KEEP_ALIVE_MS,
  );

  // graphql-ws prints errors to stderr as internal ones and closes with 4500. A socket's error is the client's (an
  // oversized or malformed frame), and ws has already closed it with the right code (1009, 1002): log one JSON line.
  wss.removeAllListeners('error');
  wss.on('error', (error) => logger.error('websocket.server_error', { error: describeError(error) }));
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.warn('websocket.client_error', { error: describeError(error) }));
    connectionIdOf.set(socket, (connectionIds += 1));
    socket.once('close', () => {
      if (principals.delete(socket)) authenticated -= 1;
    });
    // Sockets that have not authenticated yet have a pool of their own, so they can never push dashboards out.
    if (!waiting.enter(socket, request.socket.remoteAddress)) {
      refused('too many unauthenticated connections', { limit: options.maxConnections });
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many connections');
      return;
    }
    socket.once('close', () => waiting.leave(socket));
  });

  return {
    /** Authenticated connections. */
    connections: () => authenticated,
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

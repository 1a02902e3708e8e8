/**
 * What runs on an admitted GraphQL WebSocket (./admission.ts): each operation is parsed, validated and executed
 * through Yoga's envelop, so it sees the same schema, limits, access checks and error masking as over HTTP.
 *
 * Subscriptions join a subscription hub (../../events/subscriptionHub.ts): sockets subscribed to the same operation
 * with the same scopes share one execution per event, and the hub writes each result's JSON, serialised once, into
 * every member's `next` frame. A socket whose unsent data piles up past a bound is cut off as too slow.
 */
import { type DocumentNode, getOperationAST, GraphQLError } from 'graphql';
import type { ConnectionInitMessage, ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import { hubKey, type StartExecution, type SubscriptionHubs } from '../../events/subscriptionHub.ts';
import { MAX_OPERATIONS_PER_CONNECTION, MAX_UNSENT_BYTES_PER_SOCKET } from '../../limits/limits.ts';
import type { Logger } from '../../log.ts';
import type { GraphQLServerContext } from '../context.ts';
import type { Admission } from './admission.ts';

export interface OperationOptions {
  /** Where subscriptions share their executions. */
  subscriptionHubs: SubscriptionHubs;
  /** Told of every subscription event written to a socket (metrics). */
  onEventSent: () => void;
  logger: Logger;
}

export const CLOSE_SLOW_CONSUMER = 4008;

// Yoga's instance type is generic over contexts this module does not need to know.
export type AnyYoga = YogaServerInstance<any, any>;

/** graphql-ws's hooks for subscribe, complete and each result, for sockets that `admission` has let in. */
export function routeOperations(yoga: AnyYoga, admission: Pick<Admission, 'principalOf' | 'connectionIdOf'>, options: OperationOptions) {
  const { logger } = options;
  let hubIds = 0;

  const cutOff = (socket: WebSocket) => socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: events are not being read');
  const closeIfBehind = (socket: WebSocket) => {
    if (socket.bufferedAmount > MAX_UNSENT_BYTES_PER_SOCKET) {
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

  return {
    execute: (args: any) => args.rootValue.execute(args),
    subscribe: (args: any) => args.rootValue.subscribe(args),
    onSubscribe: async (ctx, id, params) => {
      const socket = ctx.extra.socket;
      if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_CONNECTION) {
        return [new GraphQLError(`At most ${MAX_OPERATIONS_PER_CONNECTION} operations may run at once on one connection`)];
      }
      const principal = admission.principalOf(socket);
      const serverContext: GraphQLServerContext & Record<string, unknown> = {
        req: ctx.extra.request,
        socket,
        params,
        principal,
        requestId: `ws-${admission.connectionIdOf(socket)}-${id}`.slice(0, 128),
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
      // A socket always has a principal (admission refuses the others at connection_init); without one, useAccess refuses below.
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
  } satisfies ServerOptions<ConnectionInitMessage['payload'], Extra>;
}

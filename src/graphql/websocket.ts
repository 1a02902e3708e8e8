/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the HTTP server's port and path. Two halves, wired here:
 * ./websocket/admission.ts decides who may hold a connection open (origin, waiting room, connection_init, limits),
 * ./websocket/operations.ts runs what an admitted connection asks for (through Yoga's envelop, and the subscription
 * hubs). graphql-ws runs the protocol (subscribe, complete, keep-alive, close) around both.
 */
import type { IncomingMessage, Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../limits/limits.ts';
import { describeError } from '../log.ts';
import { type AdmissionOptions, createAdmission, KEEP_ALIVE_MS } from './websocket/admission.ts';
import { type AnyYoga, type OperationOptions, routeOperations } from './websocket/operations.ts';

export type WebSocketOptions = AdmissionOptions & OperationOptions;

export function attachWebSocket(server: Server, path: string, yoga: AnyYoga, options: WebSocketOptions) {
  const { logger } = options;
  const admission = createAdmission(options);
  const wss = new WebSocketServer({ server, path, maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES, verifyClient: admission.verifyClient });
  const graphqlWs = useServer({ ...admission.connectionInit, ...routeOperations(yoga, admission, options) }, wss, KEEP_ALIVE_MS);

  // graphql-ws prints errors to stderr as internal ones and closes with 4500. A socket's error is the client's (an
  // oversized or malformed frame), and ws has already closed it with the right code (1009, 1002): log one JSON line.
  wss.removeAllListeners('error');
  wss.on('error', (error) => logger.error('websocket.server_error', { error: describeError(error) }));
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.warn('websocket.client_error', { error: describeError(error) }));
    admission.enter(socket, request);
  });

  return {
    /** Authenticated connections. */
    connections: admission.connections,
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

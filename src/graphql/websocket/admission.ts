/**
 * Who may hold a GraphQL WebSocket open: the Host and Origin rules at the upgrade, a waiting room for sockets that
 * have not sent connection_init, authentication at connection_init, a cap on authenticated connections, and the key
 * watch that closes a connection once its key may no longer be used. What runs on an admitted connection is
 * ./operations.ts's business.
 */
import type { IncomingMessage } from 'node:http';
import type { ConnectionInitMessage, ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { VerifyClientCallbackAsync, WebSocket } from 'ws';
import type { KeyWatch } from '../../access/keyWatch.ts';
import type { OriginPolicy } from '../../access/origins.ts';
import { credentialsFromConnectionParams, type Authenticator, type Principal } from '../../access/principal.ts';
import { CONNECTION_INIT_TIMEOUT_MS, MAX_UNAUTHENTICATED_PER_ADDRESS } from '../../limits/limits.ts';
import { createWaitingRoom } from '../../limits/waitingRoom.ts';
import { throttledWarning, type Logger } from '../../log.ts';

export interface AdmissionOptions {
  authenticate: Authenticator;
  /** Closes the connections of a key that is revoked or expires, and the tokenless ones once the API closes. */
  keyWatch: KeyWatch;
  origins: OriginPolicy;
  /** Authenticated connections allowed at once; as many more may be waiting to authenticate (a few per address). */
  maxConnections: number;
  logger: Logger;
}

/** Pings every 12 s; a client that has not answered by the next ping is dropped. */
export const KEEP_ALIVE_MS = 12_000;

export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TRY_AGAIN_LATER = 1013;

export type Admission = ReturnType<typeof createAdmission>;

export function createAdmission(options: AdmissionOptions) {
  const principals = new WeakMap<WebSocket, Principal>();
  let authenticated = 0;
  let connectionIds = 0;
  const connectionIdOf = new WeakMap<WebSocket, number>();
  const refused = throttledWarning(options.logger, 'websocket.refused');
  /** Sockets that have not sent connection_init yet. */
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

  /** The same Host and Origin rules as HTTP: browsers do not apply CORS to WebSockets, so this is the only guard. */
  const verifyClient: VerifyClientCallbackAsync = ({ req }, done) => {
    const refusal = options.origins.refusal(req.headers.host ?? null, req.headers.origin ?? null);
    if (refusal) return done(false, 403, `Forbidden: ${refusal.code}`);
    done(true);
  };

  /** graphql-ws's hooks for connection_init: the socket leaves the waiting room, authenticated or closed. */
  const connectionInit = {
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
  } satisfies ServerOptions<ConnectionInitMessage['payload'], Extra>;

  /** A new socket is numbered, then waits for connection_init in a pool of its own, so it can never push dashboards out. */
  const enter = (socket: WebSocket, request: IncomingMessage) => {
    connectionIdOf.set(socket, (connectionIds += 1));
    socket.once('close', () => {
      if (principals.delete(socket)) authenticated -= 1;
    });
    if (!waiting.enter(socket, request.socket.remoteAddress)) {
      refused('too many unauthenticated connections', { limit: options.maxConnections });
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many connections');
      return;
    }
    socket.once('close', () => waiting.leave(socket));
  };

  return {
    verifyClient,
    connectionInit,
    enter,
    /** Who the socket authenticated as at connection_init. */
    principalOf: (socket: WebSocket) => principals.get(socket),
    /** The socket's number, which names its operations in logs. */
    connectionIdOf: (socket: WebSocket) => connectionIdOf.get(socket),
    /** Authenticated connections. */
    connections: () => authenticated,
  };
}
